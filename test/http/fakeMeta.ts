// A local HTTP server on 127.0.0.1 that plays the WhatsApp Cloud API: records each request and
// answers what the test says. Never the internet.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** `delayMs`: answer that late (a slow Meta); 'hang': never answer (the client's deadline ends it). */
export type MetaAnswer = { status: number; body: unknown; delayMs?: number } | 'hang';

export interface FakeMeta {
  baseUrl: string;
  requests: ReceivedRequest[];
  answer: MetaAnswer;
  close(): Promise<void>;
}

export async function startFakeMeta(): Promise<FakeMeta> {
  const requests: ReceivedRequest[] = [];
  const fake = { answer: { status: 200, body: {} } as MetaAnswer };
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
      const a = fake.answer;
      if (a === 'hang') return; // the client's timeout has to end it
      const send = () => {
        if (!res.destroyed) res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/v23.0`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  });
}
