// Meta's own refusals of a business-initiated call, as Telnyx relays them in its final response
// (SPEC §3 "Outcome"): what each teaches the edge, so the next call is refused locally instead of
// being sent to be refused again. Pure: the SIP layer hands in the response's texts, the
// configuration its patterns (whatsapp.upstreamRefusals), and gets back what to learn.
//
// Where Meta puts the words: its SIP guide's sample error response carries the text twice, in the
// reason phrase and in `Warning: 399 wa.meta.vc "<text>"`; integrators quote
// `SIP/2.0 403 No Approved Call Permission Found`. Whether Telnyx passes the phrase on unchanged,
// moves it to a `Reason` header or replaces it is not documented, so all three places are read
// and the patterns are configuration (docs/operations.md says how to capture a real one).

/** The refusal the edge gives from now on, in the refusal table's words (reasons.ts). */
export type UpstreamLesson = 'no_permission' | 'daily_limit' | 'attempt_limit';

export const UPSTREAM_LESSONS: readonly UpstreamLesson[] = ['no_permission', 'daily_limit', 'attempt_limit'];

export interface UpstreamRefusalPatterns {
  /** Meta: no approved call permission (138006): the pair's permission is gone. */
  noPermission: readonly string[];
  /** Meta: the connected-calls cap of the business+user pair is reached (138012). */
  pairCap: readonly string[];
  /** Meta: the business number's call-start rate (138005, 10,000 per 24 h). */
  numberRate: readonly string[];
}

/** The parts of Telnyx's final response that may carry Meta's words. */
export interface FinalResponseText {
  status: number;
  reasonPhrase?: string;
  /** Every `Reason` header value (RFC 3326), as received. */
  reason?: readonly string[];
  /** Every `Warning` header value (RFC 3261 §20.43), as received. */
  warning?: readonly string[];
  /** The `Retry-After` header value, as received. */
  retryAfter?: string;
}

export interface UpstreamRefusal {
  lesson: UpstreamLesson;
  /** Meta's words as they arrived (kept with the permission, shown by the API and the console). */
  text: string;
  /** Seconds from Retry-After, when Telnyx gave one (only a number rate uses it). */
  retryAfterSeconds?: number;
}

/** Compiled once per configuration (src/config/derived.ts perConfig); case-insensitive. */
export interface CompiledPatterns {
  lessons: { lesson: UpstreamLesson; patterns: RegExp[] }[];
}

export function compileUpstreamPatterns(p: UpstreamRefusalPatterns): CompiledPatterns {
  const compile = (list: readonly string[]) => list.map((s) => new RegExp(s, 'i'));
  // Most specific first: a text that names both a permission and a limit is about the permission.
  return {
    lessons: [
      { lesson: 'no_permission', patterns: compile(p.noPermission) },
      { lesson: 'daily_limit', patterns: compile(p.pairCap) },
      { lesson: 'attempt_limit', patterns: compile(p.numberRate) },
    ],
  };
}

/** A pattern the configuration may hold: undefined when it compiles, else why not. */
export function patternProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'i');
    return undefined;
  } catch (err) {
    return `not a regular expression: ${(err as Error).message}`;
  }
}

/** `text="..."` of a Reason header (RFC 3326), else the whole value. */
function reasonText(value: string): string {
  const m = /;\s*text\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(value);
  return m ? (m[1] as string).replace(/\\(.)/g, '$1') : value.trim();
}

/** The quoted text of a Warning (`399 wa.meta.vc "text"`), else the whole value. */
function warningText(value: string): string {
  const m = /^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(value);
  return m ? (m[1] as string).replace(/\\(.)/g, '$1') : value.trim();
}

/** Retry-After's delta-seconds (RFC 3261 §20.33: digits, then an optional comment or parameters). */
export function retryAfterSeconds(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^\s*(\d{1,9})/.exec(value);
  if (!m) return undefined;
  const s = Number(m[1]);
  return s > 0 ? s : undefined;
}

/** Splits a header value that holds several comma-separated entries, keeping quoted commas. */
function entries(values: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    let current = '';
    let quoted = false;
    for (let i = 0; i < v.length; i++) {
      const c = v[i] as string;
      if (c === '\\' && quoted && i + 1 < v.length) {
        current += c + (v[++i] as string);
        continue;
      }
      if (c === '"') quoted = !quoted;
      if (c === ',' && !quoted) {
        out.push(current);
        current = '';
      } else current += c;
    }
    out.push(current);
  }
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * What a final non-2xx response from Telnyx teaches, or undefined when it names none of Meta's
 * refusals (a plain 403 "Forbidden" teaches nothing). Only call it for a response that came from
 * Telnyx (not one the local SIP stack made up) to a call that was neither cancelled nor timed out.
 */
export function readUpstreamRefusal(res: FinalResponseText, compiled: CompiledPatterns): UpstreamRefusal | undefined {
  if (res.status < 300) return undefined;
  const texts = [
    ...(res.reasonPhrase ? [res.reasonPhrase.trim()] : []),
    ...entries(res.reason).map(reasonText),
    ...entries(res.warning).map(warningText),
  ].filter((t) => t !== '');
  for (const { lesson, patterns } of compiled.lessons) {
    const text = texts.find((t) => patterns.some((p) => p.test(t)));
    if (text === undefined) continue;
    const found: UpstreamRefusal = { lesson, text: text.slice(0, 200) };
    const wait = retryAfterSeconds(res.retryAfter);
    if (lesson === 'attempt_limit' && wait !== undefined) found.retryAfterSeconds = wait;
    return found;
  }
  return undefined;
}
