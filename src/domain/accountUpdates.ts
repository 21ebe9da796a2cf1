// Meta's account_update webhook and Telnyx's whatsapp.account.* events → what they mean for each
// configured business number: a restriction of business-initiated calling until a time, or a
// warning to show. Pure: no I/O; the clock and the configured numbers are passed in.
//
// Documented shape (Meta's account_update webhook reference; the same in Meta's own example as
// SDKs carry it, e.g. whatsapp-business-java-api's accountRestricted.json):
//   { object: "whatsapp_business_account", entry: [{ id: <WABA id>, time, changes: [{
//     field: "account_update", value: { phone_number, event: "ACCOUNT_RESTRICTION",
//     restriction_info: [{ restriction_type, expiration }] } }] }] }
//   ACCOUNT_VIOLATION: value.violation_info.violation_type.
// Not documented, read tolerantly: the calling restriction's type (RESTRICTED_BIZ_INITIATED_CALLING
// per Meta's 2026 calling pages, any type naming CALL that is not user-initiated is taken), the
// form of `expiration` (ISO 8601, with or without a colon in the offset, or Unix seconds/ms), and
// what Telnyx's whatsapp.account.restricted carries (documented: data.payload.waba_id; read here
// also a Meta envelope or an account_update value anywhere in the payload, restrictions[] with
// type/expires_at, phone_numbers[]).
import { normaliseDialled } from './numbers.js';

/** Why an account update could not be applied to any number (the log-once and metric reason). */
export const UNREADABLE_ACCOUNT_UPDATE = ['unknown_business_number', 'unknown_account', 'malformed'] as const;
export type UnreadableAccountUpdate = (typeof UNREADABLE_ACCOUNT_UPDATE)[number];

/** What the parser needs of a configured business number (numbers[] in the configuration). */
export interface AccountNumbers {
  number: string;
  phoneNumberId?: string | undefined;
  wabaId?: string | undefined;
}

export interface RestrictionNotice {
  kind: 'restriction';
  /** Configured business numbers (E.164) whose business-initiated calls it stops. */
  numbers: string[];
  /** Epoch ms the restriction ends. */
  until: number;
  /** true when the update stated no usable expiration (whatsapp.accountRestrictionHours applies). */
  expiryDefaulted: boolean;
  /** The restriction types as Meta named them. */
  types: string[];
}

export interface WarningNotice {
  kind: 'warning';
  numbers: string[];
  /** What Meta said, in words: a violation, or a restriction of something other than calling. */
  text: string;
}

export type AccountNotice = RestrictionNotice | WarningNotice;

export interface AccountUpdates {
  notices: AccountNotice[];
  unreadable: { reason: UnreadableAccountUpdate; why: string }[];
}

/** One account event, whatever carried it. */
interface AccountEvent {
  event: string | undefined;
  wabaId: string | undefined;
  phones: string[];
  phoneNumberIds: string[];
  /** undefined: the event carried no restriction list at all. */
  restrictions: { type: string; expiration: unknown }[] | undefined;
  violation: string | undefined;
}

const RESTRICTION = 'ACCOUNT_RESTRICTION';
const VIOLATION = 'ACCOUNT_VIOLATION';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const first = (o: Obj, ...keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined && v !== null);
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** A restriction of business-initiated calling (not of messaging, not of users' calls). */
export function restrictsBusinessCalling(type: string): boolean {
  const t = type.toUpperCase();
  return t.includes('CALL') && !/(CUSTOMER|USER|CONSUMER)_INITIATED/.test(t);
}

/**
 * Meta's `expiration` as epoch ms: Unix seconds (or ms) as a number or digits, or an ISO 8601 date
 * (`2026-10-30T13:38:04+0000` included). undefined when absent or unreadable.
 */
export function expirationMs(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) return raw > 1e11 ? raw : raw * 1000;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const s = raw.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return expirationMs(Number(s));
  // Date.parse wants the offset's colon (+00:00); Meta's Graph API writes +0000.
  const ms = Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

function restrictionsOf(value: Obj): AccountEvent['restrictions'] {
  const raw = first(value, 'restriction_info', 'restrictionInfo', 'restrictions');
  if (raw === undefined) return undefined;
  return listOf(raw).flatMap((r) => {
    if (!isObj(r)) return [];
    const type = text(first(r, 'restriction_type', 'restrictionType', 'type'));
    return type ? [{ type, expiration: first(r, 'expiration', 'expires_at', 'expiresAt', 'expiration_time', 'expiration_timestamp') }] : [];
  });
}

function phonesOf(value: Obj): { phones: string[]; ids: string[] } {
  const phones: string[] = [];
  const ids: string[] = [];
  const add = (v: unknown) => {
    const t = text(v);
    if (t) phones.push(t);
  };
  add(first(value, 'phone_number', 'phoneNumber', 'display_phone_number'));
  const metadata = value.metadata;
  if (isObj(metadata)) add(metadata.display_phone_number);
  for (const v of [value.phone_number_id, value.phoneNumberId, isObj(metadata) ? metadata.phone_number_id : undefined]) {
    const t = text(v);
    if (t) ids.push(t);
  }
  for (const p of listOf(first(value, 'phone_numbers', 'phoneNumbers'))) {
    if (isObj(p)) {
      add(first(p, 'phone_number', 'display_phone_number', 'phoneNumber'));
      const id = text(first(p, 'id', 'phone_number_id'));
      if (id) ids.push(id);
    } else add(p);
  }
  return { phones, ids };
}

/** An account_update value (Meta's, or the same fields in a relay's payload). */
function eventOf(value: Obj, wabaFallback: string | undefined, eventFallback?: string): AccountEvent {
  const { phones, ids } = phonesOf(value);
  const wabaInfo = value.waba_info;
  const violationInfo = first(value, 'violation_info', 'violationInfo', 'violation');
  return {
    event: text(first(value, 'event', 'update_event', 'updateEvent')) ?? eventFallback,
    wabaId: text(first(value, 'waba_id', 'wabaId', 'business_account_id', 'whatsapp_business_account_id')) ?? (isObj(wabaInfo) ? text(wabaInfo.waba_id) : undefined) ?? wabaFallback,
    phones,
    phoneNumberIds: ids,
    restrictions: restrictionsOf(value),
    violation: isObj(violationInfo) ? text(first(violationInfo, 'violation_type', 'violationType', 'type')) : text(violationInfo),
  };
}

/** The configured numbers an event concerns, or why none. */
function targetsOf(ev: AccountEvent, numbers: readonly AccountNumbers[]): { numbers: string[] } | { reason: UnreadableAccountUpdate; why: string } {
  if (ev.phones.length + ev.phoneNumberIds.length > 0) {
    const named = new Set<string>();
    for (const p of ev.phones) {
      const e164 = normaliseDialled(p)?.e164;
      if (e164 && numbers.some((n) => n.number === e164)) named.add(e164);
    }
    for (const id of ev.phoneNumberIds) for (const n of numbers) if (n.phoneNumberId === id) named.add(n.number);
    if (named.size > 0) return { numbers: [...named] };
    return { reason: 'unknown_business_number', why: `names no configured number (${[...ev.phones, ...ev.phoneNumberIds].join(', ')})` };
  }
  // No number named: the whole account. Without any configured wabaId that is every number.
  const mapped = numbers.filter((n) => n.wabaId !== undefined);
  if (mapped.length === 0) return { numbers: numbers.map((n) => n.number) };
  const ofAccount = mapped.filter((n) => n.wabaId === ev.wabaId).map((n) => n.number);
  if (ofAccount.length > 0) return { numbers: ofAccount };
  return { reason: 'unknown_account', why: `names no number, and its account (${ev.wabaId ?? 'no WABA id'}) is no configured number's wabaId` };
}

const day = (ms: number) => new Date(ms).toISOString();

function noticesOf(ev: AccountEvent, numbers: readonly AccountNumbers[], nowMs: number, defaultMs: number, out: AccountUpdates): void {
  if (ev.event !== RESTRICTION && ev.event !== VIOLATION) return; // other account events: nothing for calls
  const targets = targetsOf(ev, numbers);
  if ('reason' in targets) return void out.unreadable.push({ reason: targets.reason, why: `${ev.event} ${targets.why}` });
  if (ev.event === VIOLATION) {
    out.notices.push({ kind: 'warning', numbers: targets.numbers, text: `Meta reported a policy violation${ev.violation ? ` (${ev.violation})` : ''}: a restriction of business-initiated calls may follow` });
    return;
  }
  if (ev.restrictions === undefined || ev.restrictions.length === 0) {
    // Restricted, but not said what: shown, not enforced (the edge refuses only what Meta said).
    out.notices.push({ kind: 'warning', numbers: targets.numbers, text: 'Meta restricted the account without saying what (no restriction_info): calls are not refused for it' });
    out.unreadable.push({ reason: 'malformed', why: 'ACCOUNT_RESTRICTION without restriction_info: shown as a warning, not enforced' });
    return;
  }
  const calling = ev.restrictions.filter((r) => restrictsBusinessCalling(r.type));
  for (const r of ev.restrictions.filter((x) => !restrictsBusinessCalling(x.type))) {
    const until = expirationMs(r.expiration);
    out.notices.push({ kind: 'warning', numbers: targets.numbers, text: `Meta restricted ${r.type}${until ? ` until ${day(until)}` : ''} (calls are not refused for it)` });
  }
  if (calling.length === 0) return;
  const ends = calling.map((r) => expirationMs(r.expiration));
  const stated = ends.filter((e): e is number => e !== undefined);
  const until = stated.length === ends.length ? Math.max(...stated) : Math.max(nowMs + defaultMs, ...stated);
  if (until <= nowMs) return; // already over when it arrived
  out.notices.push({ kind: 'restriction', numbers: targets.numbers, until, expiryDefaulted: stated.length !== ends.length, types: calling.map((r) => r.type) });
}

/** Meta's webhook envelope: every account_update change of every entry, each on its own. */
export function parseMetaAccountUpdates(payload: unknown, numbers: readonly AccountNumbers[], nowMs: number, defaultMs: number): AccountUpdates {
  const out: AccountUpdates = { notices: [], unreadable: [] };
  if (!isObj(payload) || payload.object !== 'whatsapp_business_account') return out;
  for (const entry of listOf(payload.entry)) {
    if (!isObj(entry)) continue;
    const wabaId = text(entry.id);
    for (const change of listOf(entry.changes)) {
      if (!isObj(change) || !isObj(change.value)) continue;
      const field = text(change.field);
      const event = text(change.value.event);
      if (field !== 'account_update' && event !== RESTRICTION && event !== VIOLATION) continue;
      noticesOf(eventOf(change.value, wabaId), numbers, nowMs, defaultMs, out);
    }
  }
  return out;
}

/** Telnyx's account event types, and the Meta event each stands for. */
export const TELNYX_ACCOUNT_EVENTS: Record<string, string> = {
  'whatsapp.account.restricted': RESTRICTION,
  'whatsapp.account.violation': VIOLATION,
};

const MAX_DEPTH = 6;

/**
 * The payload of a Telnyx whatsapp.account.* event (data.payload). A Meta envelope inside is read
 * as Meta's; otherwise the payload's own fields are read as an account_update value, the event
 * implied by Telnyx's event type when the payload does not name it.
 */
export function parseTelnyxAccountEvent(eventType: string, payload: unknown, numbers: readonly AccountNumbers[], nowMs: number, defaultMs: number): AccountUpdates {
  const implied = TELNYX_ACCOUNT_EVENTS[eventType];
  const out: AccountUpdates = { notices: [], unreadable: [] };
  if (!implied) return out;
  const envelope = findEnvelope(payload, 0);
  if (envelope) return parseMetaAccountUpdates(envelope, numbers, nowMs, defaultMs);
  if (!isObj(payload)) {
    out.unreadable.push({ reason: 'malformed', why: `${eventType} without a payload object` });
    return out;
  }
  // Meta's value may sit one level down (payload.value, payload.account_update, payload.data).
  const inner = [payload.value, payload.account_update, payload.data].find(isObj);
  const ev = eventOf(inner ? { ...payload, ...inner } : payload, undefined, implied);
  if (ev.event !== implied && ev.event !== RESTRICTION && ev.event !== VIOLATION) ev.event = implied;
  noticesOf(ev, numbers, nowMs, defaultMs, out);
  return out;
}

function findEnvelope(v: unknown, depth: number): Obj | undefined {
  if (depth > MAX_DEPTH || !isObj(v)) return undefined;
  if (v.object === 'whatsapp_business_account' && Array.isArray(v.entry)) return v;
  for (const child of Object.values(v)) {
    const found = findEnvelope(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}
