// drachtio-srf's gaps, typed in one place. Its bundled types miss what this edge relies on
// (req.canceled, srf.endSession, connect options for reconnect/ping, cbFinalizedUac, passFailure,
// the error object of a failed UAC). Everything else imports SIP types from here only.
import SrfModule from 'drachtio-srf';

type SipMessage = SrfModule.SipMessage;

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
}

export interface SipRequest extends SipMessage {
  method: string;
  uri: string;
  callId: string;
  headers: Record<string, string>;
  /** Set (by trackCancel) once the caller CANCELed; checked after every await before answering. */
  canceled?: boolean;
  getHeaderName(name: string): string | undefined;
  on(event: 'cancel', fn: (cancel: SipMessage) => void): this;
  /** A request the edge sent (srf.request): each response, provisional ones included. */
  on(event: 'response', fn: (res: SipResponse) => void): this;
  off(event: 'cancel', fn: (cancel: SipMessage) => void): this;
}

export interface SipResponse extends SipMessage {
  status: number;
  reason: string;
  finalResponseSent: boolean;
  send(status: number, opts?: SendOptions): void;
  send(status: number, reason: string | undefined, opts?: SendOptions): void;
}

export interface Dialog {
  id: string;
  /** Ours: false once the dialog is destroyed, so it is not destroyed twice. */
  connected?: boolean;
  sip: { callId: string; localTag: string; remoteTag: string };
  local: { uri: string; sdp: string };
  remote: { uri: string; sdp: string };
  destroy(opts?: SendOptions): Promise<void>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SipResponse>;
  on(event: 'destroy', fn: (bye?: SipRequest) => void): this;
  on(event: 'modify' | 'update' | 'info' | 'refer' | 'options' | 'message' | 'notify', fn: (req: SipRequest, res: SipResponse) => void): this;
  on(event: 'refresh' | 'ack', fn: (req: SipRequest) => void): this;
}

export interface ConnectOptions {
  host: string;
  port: number;
  secret: string;
  /** drachtio-srf's own reconnect with exponential back-off, capped. */
  reconnect?: { retryMaxDelay?: number; maxAttempts?: number };
  enablePing?: boolean;
  pingInterval?: number;
}

export interface UacOptions {
  headers?: Record<string, string>;
  proxy?: string;
  auth?: { username: string; password: string };
  callingNumber?: string;
  localSdpB?: string | ((sdp: string) => string | Promise<string>);
  localSdpA?: string | ((sdp: string, res: SipResponse) => string | Promise<string>);
  proxyRequestHeaders?: string[];
  proxyResponseHeaders?: string[];
  responseHeaders?: Record<string, string> | ((uacRes: SipResponse, headers: Record<string, string>) => Record<string, string> | null);
  passFailure?: boolean;
  passProvisionalResponses?: boolean;
}

/** What a failed createUAC/createB2BUA rejects with: a SipError carrying the final response. */
export interface SipError extends Error {
  status?: number;
  reason?: string;
  res?: SipResponse;
}

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  proxy?: string;
  /** Digest credentials drachtio-srf answers a 401/407 with (once). */
  auth?: { username: string; password: string };
}

export interface B2buaCallbacks {
  cbRequest?: (err: Error | null, req: SipRequest & { cancel(opts?: object): void }) => void;
  cbProvisional?: (res: SipResponse) => void;
  cbFinalizedUac?: (uac: Dialog) => void;
}

export interface Srf {
  connect(opts: ConnectOptions): void;
  disconnect(): void;
  on(event: 'connect', listener: (err: Error | null, hostport: string, serverVersion?: string) => void): this;
  on(event: 'error' | 'reconnecting' | 'close', listener: (err?: Error) => void): this;
  on(event: string, listener: (...args: never[]) => void): this;
  use(method: string, fn: (req: SipRequest, res: SipResponse, next: () => void) => void): void;
  invite(fn: (req: SipRequest, res: SipResponse) => void): void;
  options(fn: (req: SipRequest, res: SipResponse) => void): void;
  register(fn: (req: SipRequest, res: SipResponse) => void): void;
  createB2BUA(req: SipRequest, res: SipResponse, uri: string, opts: UacOptions, cbs?: B2buaCallbacks): Promise<{ uas: Dialog; uac: Dialog }>;
  createUAC(uri: string, opts: UacOptions & { localSdp?: string }, cbs?: Omit<B2buaCallbacks, 'cbFinalizedUac'>): Promise<Dialog>;
  createUAS(req: SipRequest, res: SipResponse, opts: { localSdp: string | ((...a: never[]) => unknown); headers?: Record<string, string> }): Promise<Dialog>;
  endSession(req: SipRequest): void;
  /**
   * A request outside a dialog; resolves once sent. With `auth`, drachtio-srf answers one 401/407
   * itself (lib/digest-client.js) and moves the 'response' listeners to the authenticated request,
   * so a 401/407 that still reaches them means the credentials were refused. drachtio-srf writes
   * CSeq, Call-ID and From into `headers` for that retry: pass a fresh object each time.
   * Attach 'response' listeners in the callback form: drachtio-srf can read the "sent" confirmation
   * and a fast answer from one socket chunk, and emits the answer before a promise's `then` runs.
   */
  request(uri: string, opts: RequestOptions): Promise<SipRequest>;
  request(uri: string, opts: RequestOptions, callback: (err: Error | null, req: SipRequest) => void): this;
}

export function createSrf(): Srf {
  return new SrfModule() as unknown as Srf;
}

interface SetupMessage {
  method?: string;
  socket?: unknown;
  stackDialogId?: string;
  agent?: unknown;
  get(name: string): string | undefined;
}

/**
 * drachtio-srf's Dialog keeps the INVITE and the final response that created it (`req`, `res`:
 * parsed headers, and through their listeners the closures of createB2BUA) for the whole call,
 * about 7 KB a call for the two legs (bench/sip/heldCalls.ts). Once it exists it reads only four
 * things of them (drachtio-srf 5.0 lib/dialog.js: `id`, `dialogType`, `socket`, `subscribeEvent`),
 * so an established dialog keeps just those and the messages can be collected.
 */
export function releaseSetupMessages(dialog: Dialog): void {
  const d = dialog as unknown as { req: SetupMessage; res: SetupMessage };
  const { method, socket } = d.req;
  const event = method === 'SUBSCRIBE' ? d.req.get('Event') : undefined;
  const { stackDialogId, agent } = d.res;
  d.req = { method, socket, get: event === undefined ? noHeader : (name) => (name.toLowerCase() === 'event' ? event : undefined) };
  d.res = { stackDialogId, agent, get: noHeader };
}

const noHeader = (): undefined => undefined;
