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
