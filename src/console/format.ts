// Times and counts in words, in the browser's locale (dates) and in English (the page's language).

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const shortDateTime = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const zonedDateTime = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const regions = new Intl.DisplayNames(['en'], { type: 'region' });
const count = new Intl.NumberFormat('en');

export const formatDateTime = (ms: number) => dateTime.format(ms);
export const formatTime = (ms: number) => time.format(ms);
/** "28 Nov, 04:29": recent calls, where the year is plain. */
export const formatShortDateTime = (ms: number) => shortDateTime.format(ms);
export const formatCount = (n: number) => count.format(n);
/** "6 Dec, 03:20:41 UTC": the browser's local time, with its zone, so a time quoted to support is unambiguous. */
export const formatZonedDateTime = (ms: number) => zonedDateTime.format(ms);

/** A call's length: "0:42", "12:05", "1:02:09". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "in 3 days", "2 hours ago", "now". */
export function formatRelative(ms: number, now: number = Date.now()): string {
  const diff = ms - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(diff) >= size || unit === 'second') return relative.format(Math.round(diff / size), unit);
  }
  return '';
}

/** A wait: "3 d 4 h", "23 h 59 min", "5 min", "40 s" (hours up to two days). */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = s >= 2 * 86_400 ? Math.floor(s / 86_400) : 0;
  const h = Math.floor((s - d * 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** "United Kingdom (GB)". */
export function formatRegion(region: string | null): string {
  if (!region) return 'unknown';
  try {
    const name = regions.of(region);
    return name && name !== region ? `${name} (${region})` : region;
  } catch {
    return region;
  }
}
