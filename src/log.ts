// pino JSON logs. Secrets never reach a log line: the config's secret paths are redacted wherever they appear.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'adminToken',
  '*.adminToken',
  'token',
  '*.token',
  '*.*.token',
  'appSecret',
  '*.appSecret',
  '*.*.appSecret',
  'verifyToken',
  '*.verifyToken',
  '*.*.verifyToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'Authorization',
  '*.Authorization',
  'Proxy-Authorization',
  '*["Proxy-Authorization"]',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'wa-sip-edge' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };

type Level = 'debug' | 'info' | 'warn' | 'error';

/** The part of a logger a call and its state queue write through. */
export interface LineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A call's logger: its fields are merged into each line when the line is written. A pino child
 * serialises them up front and keeps that, its own copy of the level methods and its bindings
 * for as long as the call is up, about 1 KB a held call (bench/sip/heldCalls.ts); a call writes
 * two or three lines in its life, so merging then costs less memory and less CPU.
 */
export class CallLogger implements LineLogger {
  constructor(
    private readonly logger: Logger,
    private readonly fields: Readonly<Record<string, unknown>>,
  ) {}

  debug(obj: object, msg?: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: object | string, msg?: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.write('error', obj, msg);
  }

  private write(level: Level, obj: object | string, msg: string | undefined): void {
    if (!this.logger.isLevelEnabled(level)) return;
    if (typeof obj === 'string') this.logger[level](this.fields, obj);
    else this.logger[level]({ ...this.fields, ...obj }, msg);
  }
}
