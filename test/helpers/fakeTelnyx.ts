// A stand-in for Telnyx's REST API and its webhooks: a real HTTP server on 127.0.0.1 (its own port)
// speaking the shapes Telnyx's OpenAPI-generated SDK documents (team-telnyx/telnyx-node:
// messages.ts MessageWhatsappParams/Response, phone-numbers.ts conversation_window,
// calling-settings.ts), including its error envelope {"errors":[{code,title,detail}]}. It records
// every request, checks the bearer key, refuses what Telnyx/Meta refuse (an unknown template, a
// free-form message outside the 24 h window), and signs webhooks to the edge with its own Ed25519
// key, as Telnyx does (telnyx-signature-ed25519 over `${telnyx-timestamp}|${raw body}`).
// Guessed, not documented: the error codes and texts (Telnyx's 10009 for a wrong key, 40008 its
// WhatsApp catch-all with Meta's code in the detail), and where Telnyx puts a call_permission_reply
// in a message.received (payload.body.interactive, as Meta's message).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';

export interface TelnyxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

/** What an operation answers instead of its normal answer: a status and body, no answer ever, or a late one. */
export type Fault = { status: number; body: unknown } | 'hang' | { delayMs: number };
export type Operation = 'send' | 'conversation_window' | 'calling_settings_get' | 'calling_settings_patch';

export interface FakeTelnyx {
  /** Telnyx's API base as telnyx.api.baseUrl takes it (…/v2). */
  baseUrl: string;
  key: string;
  /** telnyx.webhook.publicKey: the raw 32-byte Ed25519 key, base64, as Mission Control shows it. */
  publicKey: string;
  requests: TelnyxRequest[];
  /** Approved templates by name (any language). */
  templates: Set<string>;
  /** Open 24 h windows: "business|user". */
  openWindows: Set<string>;
  /** Calling switch per business number (Mission Control's); absent: on. */
  calling: Map<string, boolean>;
  faults: Partial<Record<Operation, Fault>>;
  /** Where the stand-in delivers its webhooks (the edge's POST /v1/webhooks/telnyx); none: it sends none. */
  webhookUrl?: string;
  /** After an accepted send, deliver message.sent then message.finalized with this status (webhookUrl needed). */
  autoDelivery?: 'delivered' | 'delivery_failed';
  sent(): TelnyxRequest[];
  /** Signs and POSTs one webhook body to webhookUrl; answers the edge's status and body. */
  deliver(body: unknown, opts?: { timestamp?: number }): Promise<{ status: number; body: unknown }>;
  /** Headers Telnyx would sign `raw` with. */
  signatureHeaders(raw: string, timestamp?: number): Record<string, string>;
  close(): Promise<void>;
}

const errors = (code: string, title: string, detail: string) => ({ errors: [{ code, title, detail }] });

export async function startFakeTelnyx(opts: { key?: string; now?: () => number } = {}): Promise<FakeTelnyx> {
  const key = opts.key ?? 'KEY-TEST-telnyx-0123456789';
  const now = opts.now ?? Date.now;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const requests: TelnyxRequest[] = [];
  const pending = new Set<Promise<unknown>>();

  const signatureHeaders = (raw: string, timestamp = Math.floor(now() / 1000)) => {
    const ts = String(timestamp);
    return { 'telnyx-signature-ed25519': sign(null, Buffer.from(`${ts}|${raw}`), privateKey).toString('base64'), 'telnyx-timestamp': ts, 'content-type': 'application/json' };
  };

  const fake: FakeTelnyx = {
    baseUrl: '',
    key,
    publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64'),
    requests,
    templates: new Set(),
    openWindows: new Set(),
    calling: new Map(),
    faults: {},
    sent: () => requests.filter((r) => r.method === 'POST' && r.path === '/v2/messages/whatsapp'),
    signatureHeaders,
    async deliver(body, o = {}) {
      if (!fake.webhookUrl) throw new Error('fakeTelnyx: no webhookUrl');
      const raw = JSON.stringify(body);
      const res = await fetch(fake.webhookUrl, { method: 'POST', headers: signatureHeaders(raw, o.timestamp), body: raw });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    close: async () => {
      await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      });
    },
  };

  const event = (eventType: string, payload: Record<string, unknown>) => ({
    data: { record_type: 'event', id: randomUUID(), event_type: eventType, occurred_at: new Date(now()).toISOString(), payload },
    meta: { attempt: 1, delivered_to: fake.webhookUrl },
  });

  /** Telnyx's delivery events of an accepted message, in order, like its messaging does. */
  const deliverLater = (id: string, from: string, to: string) => {
    const status = fake.autoDelivery;
    if (!status || !fake.webhookUrl) return;
    const outbound = (s: string, extra: Record<string, unknown> = {}) => ({
      record_type: 'message', direction: 'outbound', id, type: 'WHATSAPP', from: { phone_number: from }, to: [{ phone_number: to, status: s }], ...extra,
    });
    const p = (async () => {
      await fake.deliver(event('message.sent', outbound('sent', { sent_at: new Date(now()).toISOString() })));
      const failed = status === 'delivery_failed';
      await fake.deliver(event('message.finalized', outbound(status, { completed_at: new Date(now()).toISOString(), errors: failed ? [{ code: '40008', title: 'Meta error', detail: 'Message undeliverable (131026)' }] : [] })));
    })().catch(() => {});
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  type Answer = { status: number; body: unknown };
  const route = (method: string, path: string, query: URLSearchParams, body: unknown): [Operation | undefined, () => Answer] => {
    const phone = /^\/v2\/whatsapp\/phone_numbers\/([^/]+)\/(conversation_window|calling_settings)$/.exec(path);
    if (method === 'POST' && path === '/v2/messages/whatsapp') {
      return ['send', () => {
        const b = body as { from?: string; to?: string; whatsapp_message?: { type?: string; template?: { name?: string; language?: { code?: string } }; interactive?: { type?: string } } } | undefined;
        if (!b?.from || !b.to || !b.whatsapp_message) return { status: 422, body: errors('10015', 'Bad Request', 'from, to and whatsapp_message are required') };
        const m = b.whatsapp_message;
        if (m.type === 'template') {
          if (!m.template?.name || !m.template.language?.code) return { status: 422, body: errors('10015', 'Bad Request', 'template.name and template.language.code are required') };
          if (!fake.templates.has(m.template.name)) return { status: 400, body: errors('40008', 'Meta error', `Template name does not exist in the translation (132001): ${m.template.name}`) };
        } else if (m.type === 'interactive') {
          if (!fake.openWindows.has(`${b.from}|${b.to}`)) {
            return { status: 400, body: errors('40008', 'Meta error', 'Re-engagement message: more than 24 hours have passed since the recipient last replied (131047)') };
          }
        } else {
          return { status: 422, body: errors('10015', 'Bad Request', `unsupported whatsapp_message.type ${String(m.type)}`) };
        }
        const id = randomUUID();
        deliverLater(id, b.from, b.to);
        return {
          status: 200,
          body: { data: { id, record_type: 'message', direction: 'outbound', type: 'WHATSAPP', from: { phone_number: b.from }, to: [{ phone_number: b.to, status: 'queued' }], body: m, received_at: new Date(now()).toISOString() } },
        };
      }];
    }
    if (phone && phone[2] === 'conversation_window' && method === 'GET') {
      const business = decodeURIComponent(phone[1]!);
      return ['conversation_window', () => {
        const user = query.get('destination_number');
        if (!user) return { status: 422, body: errors('10015', 'Bad Request', 'destination_number is required') };
        const active = fake.openWindows.has(`${business}|${user}`);
        return {
          status: 200,
          body: { data: { window_active: active, window_expires_at: active ? new Date(now() + 3_600_000).toISOString() : null, last_user_message_at: active ? new Date(now() - 60_000).toISOString() : null, ...(active ? { window_type: '24h' } : {}) } },
        };
      }];
    }
    if (phone && phone[2] === 'calling_settings' && (method === 'GET' || method === 'PATCH')) {
      const business = decodeURIComponent(phone[1]!);
      return [method === 'GET' ? 'calling_settings_get' : 'calling_settings_patch', () => {
        if (method === 'PATCH') {
          const enabled = (body as { enabled?: unknown } | undefined)?.enabled;
          if (typeof enabled !== 'boolean') return { status: 422, body: errors('10015', 'Bad Request', 'enabled must be a boolean') };
          fake.calling.set(business, enabled);
        }
        return { status: 200, body: { data: { record_type: 'whatsapp_calling_settings', phone_number: business, updated_at: new Date(now()).toISOString(), enabled: fake.calling.get(business) ?? true } } };
      }];
    }
    return [undefined, () => ({ status: 404, body: errors('10005', 'Resource not found', `${method} ${path}`) })];
  };

  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake-telnyx');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body, at: now() });
      const send = (a: Answer) => {
        if (!res.destroyed) res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
      };
      if (req.headers.authorization !== `Bearer ${key}`) return send({ status: 401, body: errors('10009', 'Authentication failed', 'The API key is not valid') });
      const [op, answer] = route(req.method ?? '', url.pathname, url.searchParams, body);
      const fault = op ? fake.faults[op] : undefined;
      if (fault === 'hang') return; // the client's deadline has to end it
      if (fault && 'status' in fault) return send(fault);
      if (fault && 'delayMs' in fault) return void setTimeout(() => send(answer()), fault.delayMs);
      send(answer());
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v2`;
  return fake;
}

/** A WhatsApp user's call_permission_reply as Telnyx forwards it in message.received (payload.body: the sender and Meta's message content). */
export function telnyxPermissionReply(p: { business: string; user: string; reply: Record<string, unknown>; id?: string; at?: number }) {
  const id = p.id ?? randomUUID();
  return {
    data: {
      record_type: 'event',
      id: randomUUID(),
      event_type: 'message.received',
      occurred_at: new Date(p.at ?? Date.now()).toISOString(),
      payload: {
        record_type: 'message',
        direction: 'inbound',
        id,
        type: 'WHATSAPP',
        from: { phone_number: p.user },
        to: [{ phone_number: p.business, status: 'webhook_delivered' }],
        body: {
          from: p.user.slice(1),
          type: 'interactive',
          interactive: { type: 'call_permission_reply', call_permission_reply: { response_source: 'user_action', ...p.reply } },
        },
      },
    },
    meta: { attempt: 1 },
  };
}
