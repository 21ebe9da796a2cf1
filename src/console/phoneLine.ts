// The console's phone (SPEC §4a Phone) as plain state: one JsSIP user agent signed in as a device
// over the edge's WebSocket, at most one call at a time. JsSIP, not a hand-written SIP stack: it
// does the registration, digest, INVITE/BYE/CANCEL and DTMF (RFC 4733 through RTCDTMFSender).
import { UA, WebSocketInterface } from 'jssip';
import type { EndEvent, IceCandidateEvent, PeerConnectionEvent, RTCSession } from 'jssip/lib/RTCSession.js';
import type { IncomingResponse } from 'jssip/lib/SIPMessage.js';
import type { RTCSessionEvent } from 'jssip/lib/UA.js';

export type Registration =
  | { kind: 'signed-out'; problem?: string }
  | { kind: 'connecting' }
  | { kind: 'registered' }
  /** The WebSocket dropped or the registration lapsed: JsSIP retries by itself. */
  | { kind: 'lost'; problem: string };

export interface Call {
  direction: 'outgoing' | 'incoming';
  /** The WhatsApp user. */
  peer: string;
  /** The business number the call is on (outgoing: as placed; incoming: as Telnyx called it). */
  business?: string;
  state: 'calling' | 'ringing' | 'incoming' | 'connected' | 'ended';
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  muted: boolean;
  /** How it ended, in words (phoneWords.ts), and the SIP code and edge reason behind them. */
  end?: { words: string; code?: number; reason?: string };
  /** Digits sent, as the agent typed them. */
  dtmf: string;
  /** The far end accepted no telephone-event: the keypad cannot send tones in this call. */
  dtmfUnavailable?: boolean;
}

export interface PhoneState {
  /** The username signed in with, and the domain of its address (which names its tenant). */
  device?: string;
  domain?: string;
  registration: Registration;
  call?: Call;
}

export interface SignIn {
  url: string;
  domain: string;
  username: string;
  password: string;
}

const PC_CONFIG: RTCConfiguration = { iceServers: [], rtcpMuxPolicy: 'require', bundlePolicy: 'balanced' };

/** The `text="…"` of the edge's Reason header (SPEC §3), and its cause code. */
export function edgeReason(reasonHeader: string | undefined): { code?: number; reason?: string } {
  if (!reasonHeader) return {};
  const cause = /cause=(\d{3})/.exec(reasonHeader)?.[1];
  const text = /text="([^"]*)"/.exec(reasonHeader)?.[1];
  return { ...(cause ? { code: Number(cause) } : {}), ...(text ? { reason: text } : {}) };
}

const userOf = (uri: string | undefined): string => /^sips?:([^@;]+)@/.exec(uri ?? '')?.[1] ?? uri ?? '';

export class PhoneLine {
  private ua: UA | undefined;
  private session: RTCSession | undefined;
  private state: PhoneState = { registration: { kind: 'signed-out' } };
  private domain = '';
  private readonly listeners = new Set<(s: PhoneState) => void>();

  constructor(
    /** Plays the other side; the page's <audio> element. */
    private readonly attachAudio: (stream: MediaStream | null) => void,
    /** Words for an ended call (phoneWords.ts). */
    private readonly endWords: (end: { cause: string; code?: number; reason?: string; originator: string }) => string,
  ) {}

  subscribe(fn: (s: PhoneState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  private set(next: Partial<PhoneState>) {
    this.state = { ...this.state, ...next };
    for (const fn of this.listeners) fn(this.state);
  }

  private setCall(patch: Partial<Call>) {
    if (this.state.call) this.set({ call: { ...this.state.call, ...patch } });
  }

  signIn(s: SignIn): void {
    this.signOut();
    this.domain = s.domain;
    const ua = new UA({
      sockets: [new WebSocketInterface(s.url)],
      uri: `sip:${s.username}@${s.domain}`,
      password: s.password,
      register: true,
      register_expires: 300,
      // The edge answers re-INVITEs locally and sends no Session-Expires towards Meta: no refreshes.
      session_timers: false,
      user_agent: 'wa-sip-edge console phone',
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    this.ua = ua;
    this.set({ device: s.username, domain: s.domain, registration: { kind: 'connecting' }, call: undefined });
    ua.on('registered', () => this.ua === ua && this.set({ registration: { kind: 'registered' } }));
    ua.on('registrationFailed', (e) => {
      if (this.ua !== ua) return;
      const res = e.response as IncomingResponse | undefined;
      const { reason } = edgeReason(res?.getHeader('Reason'));
      if (res && (res.status_code === 403 || res.status_code === 401 || e.cause === 'Authentication Error')) {
        // A wrong password: retrying would only get the tab's address banned by the edge.
        this.stop();
        this.set({ registration: { kind: 'signed-out', problem: `The edge refused the password for device ${s.username} (${res.status_code}${reason ? ` ${reason}` : ''}). Check the password and sign in again.` } });
        return;
      }
      this.set({ registration: { kind: 'lost', problem: res ? `registration refused: ${res.status_code} ${res.reason_phrase}${reason ? ` (${reason})` : ''}` : `registration failed: ${e.cause ?? 'no answer'}` } });
    });
    ua.on('disconnected', (e) => {
      if (this.ua !== ua) return;
      this.set({ registration: { kind: 'lost', problem: `the edge's WebSocket ${s.url} is not answering${e.code ? ` (code ${e.code})` : ''}; retrying` } });
    });
    ua.on('newRTCSession', (e: RTCSessionEvent) => {
      if (e.originator !== 'remote') return; // our own calls are wired in call()
      if (this.session) {
        e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        return;
      }
      // The edge addresses its leg To the business number the customer called (src/sip/inbound.ts);
      // a To that is no number (another registrar's leg to this contact) names none.
      const to = userOf(e.request.to?.uri?.toString());
      const business = /^\+?\d{6,15}$/.test(to) ? to : undefined;
      this.track(e.session, { direction: 'incoming', peer: userOf(e.request.from?.uri?.toString()), ...(business ? { business } : {}), state: 'incoming', startedAt: Date.now(), muted: false, dtmf: '' });
    });
    ua.start();
  }

  private stop() {
    const ua = this.ua;
    this.ua = undefined;
    this.session = undefined;
    this.attachAudio(null);
    if (ua) {
      ua.removeAllListeners();
      ua.stop();
    }
  }

  signOut(): void {
    this.session?.terminate();
    this.stop();
    this.set({ device: undefined, domain: undefined, registration: { kind: 'signed-out' }, call: undefined });
  }

  /** Places a call to `user` as `business` (P-Preferred-Identity: the edge takes it when the device may use it, SPEC §1). */
  call(user: string, business: string): void {
    if (!this.ua || this.session) return;
    const session = this.ua.call(`sip:${user}@${this.domain}`, {
      mediaConstraints: { audio: true, video: false },
      pcConfig: PC_CONFIG,
      extraHeaders: [`P-Preferred-Identity: <sip:${business}@${this.domain}>`],
    });
    this.track(session, { direction: 'outgoing', peer: user, business, state: 'calling', startedAt: Date.now(), muted: false, dtmf: '' });
  }

  answer(): void {
    this.session?.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: PC_CONFIG });
  }

  /** Declines a ringing call, or hangs up. */
  hangUp(): void {
    const s = this.session;
    if (!s) return;
    if (this.state.call?.state === 'incoming') s.terminate({ status_code: 603, reason_phrase: 'Decline' });
    else s.terminate();
  }

  toggleMute(): void {
    const s = this.session;
    if (!s || this.state.call?.state !== 'connected') return;
    if (s.isMuted().audio) s.unmute({ audio: true });
    else s.mute({ audio: true });
    this.setCall({ muted: !!s.isMuted().audio });
  }

  /** One key of the keypad, as RFC 4733 telephone-events in the media (never SIP INFO: Telnyx takes these). */
  dtmf(key: string): void {
    const s = this.session;
    if (!s || this.state.call?.state !== 'connected' || !/^[0-9*#]$/.test(key)) return;
    const sender = s.connection?.getSenders().find((x) => x.track?.kind === 'audio');
    if (!sender?.dtmf?.canInsertDTMF) {
      this.setCall({ dtmfUnavailable: true });
      return;
    }
    s.sendDTMF(key, { transportType: 'RFC2833' as never, duration: 160, interToneGap: 70 });
    this.setCall({ dtmf: (this.state.call?.dtmf ?? '') + key });
  }

  /** Bytes of audio received so far (tests, and the "no sound" hint). */
  async receivedAudioPackets(): Promise<number> {
    const pc = this.session?.connection;
    if (!pc) return 0;
    let packets = 0;
    (await pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
    });
    return packets;
  }

  private track(session: RTCSession, call: Call) {
    this.session = session;
    this.set({ call });
    const attach = (pc: RTCPeerConnection) => {
      pc.addEventListener('track', (ev) => this.attachAudio(ev.streams[0] ?? new MediaStream([ev.track])));
    };
    if (session.connection) attach(session.connection);
    else session.on('peerconnection', (e: PeerConnectionEvent) => attach(e.peerconnection));
    // Loopback and LAN candidates come at once; no need to wait for the gathering's own end.
    session.on('icecandidate', (e: IceCandidateEvent) => {
      if (e.candidate.type === 'host' || e.candidate.type === 'srflx') e.ready();
    });
    session.on('progress', () => this.session === session && call.direction === 'outgoing' && this.setCall({ state: 'ringing' }));
    session.on('confirmed', () => this.session === session && this.setCall({ state: 'connected', answeredAt: Date.now() }));
    const ended = (e: EndEvent) => {
      if (this.session !== session) return;
      const msg = e.message as { status_code?: number; getHeader?: (n: string) => string | undefined } | undefined;
      const header = msg?.getHeader?.('Reason');
      const { code, reason } = edgeReason(header);
      const status = code ?? msg?.status_code;
      this.session = undefined;
      this.attachAudio(null);
      this.setCall({ state: 'ended', endedAt: Date.now(), end: { words: this.endWords({ cause: e.cause, code: status, reason, originator: e.originator }), ...(status ? { code: status } : {}), ...(reason ? { reason } : {}) } });
    };
    session.on('ended', ended);
    session.on('failed', ended);
  }
}
