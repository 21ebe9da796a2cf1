// rtpengine's ng protocol through npm `rtpengine-client` (bencode over UDP), typed in one place.
// The package ships no types, prints to the console on a late reply and emits 'error' events that
// would crash the process unheard; everything else imports ng types from here only.
import { createRequire } from 'node:module';

import type { NgAddress } from '../domain/ngAddress.js';

export type { NgAddress };

const require = createRequire(import.meta.url);

export interface NgStreamStats {
  packets: number;
  bytes: number;
  errors: number;
}

export interface NgStream {
  'local port'?: number;
  'local address'?: string;
  endpoint?: { address: string; port: number };
  'last packet'?: number;
  flags?: string[];
  stats?: NgStreamStats;
  SSRC?: number;
}

export interface NgMosEntry {
  MOS?: number;
  jitter?: number;
  'packet loss'?: number;
  'round-trip time'?: number;
}

export interface NgSsrcEntry {
  'cumulative loss'?: number;
  'average MOS'?: NgMosEntry;
  packets?: number;
  bytes?: number;
}

export interface NgQuery {
  result: string;
  'error-reason'?: string;
  created?: number;
  tags?: Record<string, { tag: string; medias?: { index: number; type: string; streams?: NgStream[]; flags?: string[] }[] }>;
  SSRC?: Record<string, NgSsrcEntry>;
  totals?: { RTP?: NgStreamStats; RTCP?: NgStreamStats };
}

export interface NgSdpReply {
  result: string;
  'error-reason'?: string;
  sdp?: string;
}

/** The ng dictionary of an offer or answer; keys as rtpengine spells them. */
export type NgParams = Record<string, string | number | string[]>;

interface RawClient {
  on(event: 'error', fn: (err: unknown) => void): void;
  close(): void;
  ping(dest: NgAddress): Promise<{ result: string }>;
  offer(dest: NgAddress, params: NgParams): Promise<NgSdpReply>;
  answer(dest: NgAddress, params: NgParams): Promise<NgSdpReply>;
  delete(dest: NgAddress, params: NgParams): Promise<{ result: string; 'error-reason'?: string }>;
  query(dest: NgAddress, params: NgParams): Promise<NgQuery>;
  list(dest: NgAddress, params: NgParams): Promise<{ result: string; calls?: string[] }>;
  statistics(dest: NgAddress, params?: NgParams): Promise<{ result: string; statistics?: { totalstatistics?: { relayedpackets?: number } } }>;
  messages: Map<string, unknown>;
  _onParsedMessage(obj: { id: string; data: unknown }): void;
}

const { Client } = require('rtpengine-client') as { Client: new (opts: { timeout: number }) => RawClient };

/** An ng answer whose `result` is `error`: rtpengine heard us and refused. */
export class NgRefused extends Error {}

function ok<T extends { result: string; 'error-reason'?: string }>(command: string, r: T): T {
  if (r.result === 'error') throw new NgRefused(`rtpengine refused ${command}: ${r['error-reason'] ?? 'no reason given'}`);
  return r;
}

/**
 * One UDP socket for every rtpengine this edge talks to; a command that gets no answer within
 * `timeoutMs` rejects (rtpengine is down or unreachable: UDP says nothing else).
 */
export class NgClient {
  private readonly raw: RawClient;

  constructor(timeoutMs: number, onError: (err: unknown) => void) {
    this.raw = new Client({ timeout: timeoutMs });
    this.raw.on('error', onError);
    // A reply after its timeout matches no request: the package would console.log it and emit
    // an 'error'. It is only late, so it is dropped here.
    const parsed = this.raw._onParsedMessage.bind(this.raw);
    this.raw._onParsedMessage = (obj) => {
      if (this.raw.messages.has(obj.id)) parsed(obj);
    };
  }

  async ping(to: NgAddress): Promise<void> {
    const r = await this.raw.ping(to);
    if (r.result !== 'pong') throw new NgRefused(`rtpengine answered ping with ${r.result}`);
  }

  async offer(to: NgAddress, params: NgParams): Promise<string> {
    const r = ok('offer', await this.raw.offer(to, params));
    if (!r.sdp) throw new NgRefused('rtpengine answered offer without SDP');
    return r.sdp;
  }

  async answer(to: NgAddress, params: NgParams): Promise<string> {
    const r = ok('answer', await this.raw.answer(to, params));
    if (!r.sdp) throw new NgRefused('rtpengine answered answer without SDP');
    return r.sdp;
  }

  async query(to: NgAddress, callId: string): Promise<NgQuery> {
    return ok('query', await this.raw.query(to, { 'call-id': callId }));
  }

  /** Deletes at once (no `delete-delay`): the edge is rtpengine's only client for this call. */
  async delete(to: NgAddress, callId: string): Promise<void> {
    ok('delete', await this.raw.delete(to, { 'call-id': callId, 'delete delay': 0 }));
  }

  /** Every call id rtpengine holds (its `list` stops at 32 unless given a limit). */
  async list(to: NgAddress): Promise<string[]> {
    return ok('list', await this.raw.list(to, { limit: 1_000_000 })).calls ?? [];
  }

  /** Packets rtpengine relayed since it started (ng `statistics`). */
  async relayedPackets(to: NgAddress): Promise<number> {
    const r = ok('statistics', await this.raw.statistics(to));
    return Number(r.statistics?.totalstatistics?.relayedpackets ?? NaN);
  }

  close(): void {
    this.raw.close();
  }
}
