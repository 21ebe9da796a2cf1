// What the local drachtio-server prints: kept for `output()` and handed to the edge's log as
// entries with a level read off their words (drachtio-server prints none).
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export type EngineLogLevel = 'error' | 'warn' | 'info' | 'debug';

const MAX_LINES = 2000;
const TIMESTAMPED = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ /;

/** drachtio-server prints no level: read it off the words, so failures stand out in the edge's log. */
export function engineLogLevel(text: string): EngineLogLevel {
  if (/\b(error|failed|failure|unable|cannot|can't|invalid|exception)\b/i.test(text)) return 'error';
  if (/\bwarn(ing)?\b/i.test(text)) return 'warn';
  if (/Starting drachtio|listening for applications|creating transport|Received SIG/i.test(text)) return 'info';
  return 'debug';
}

/**
 * What drachtio-server prints: the last lines kept for `output()`, and log entries handed on.
 * An entry starts at a timestamped line; the untimestamped lines after it (a SIP message, a
 * config dump) belong to it, so an entry is handed on at the next timestamp or after 20 ms quiet.
 */
export class EngineOutput {
  private readonly lines: string[] = [];
  private entry: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly onLog: ((level: EngineLogLevel, text: string) => void) | undefined) {}

  /** Reads a stream line by line (node:readline) until it ends. */
  read(stream: Readable | null): void {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.line(line));
  }

  /** A line of the edge's own about the engine (spawn, exit), kept beside drachtio-server's. */
  note(text: string): void {
    this.keep(`--- ${text}`);
  }

  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.entry.length === 0) return;
    const text = this.entry.join('\n');
    this.entry = [];
    this.onLog?.(engineLogLevel(text), text);
  }

  tail(n: number): string {
    return this.lines.slice(-n).join('\n');
  }

  all(): string {
    return this.lines.join('\n');
  }

  private line(line: string): void {
    this.keep(line);
    if (TIMESTAMPED.test(line)) {
      this.flush();
      this.entry.push(line.replace(TIMESTAMPED, ''));
    } else if (line.trim() !== '') this.entry.push(line);
    this.flushTimer ??= setTimeout(() => this.flush(), 20);
  }

  private keep(line: string): void {
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
  }
}
