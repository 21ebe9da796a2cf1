// Every error the HTTP API answers, in one table (SPEC §4): `{"error":"<code>","message":"..."}`.
// Handlers throw `HttpError`; only the error handler in server.ts turns it into a response.
import { z } from 'zod';

export const HTTP_ERRORS = {
  invalid_request: { status: 400, message: 'the request does not match the schema' },
  unauthorized: { status: 401, message: 'missing or wrong bearer token' },
  invalid_signature: { status: 401, message: 'X-Hub-Signature-256 is missing or does not match the body' },
  invalid_telnyx_signature: { status: 401, message: 'telnyx-signature-ed25519 is missing, does not match the body, or telnyx-timestamp is more than 300 s away' },
  verification_failed: { status: 403, message: 'hub.mode or hub.verify_token is wrong' },
  not_found: { status: 404, message: 'no such route' },
  unknown_number: { status: 404, message: 'not a configured business number' },
  webhook_not_configured: { status: 404, message: 'whatsapp.webhook is not configured' },
  telnyx_webhook_not_configured: { status: 404, message: 'telnyx.webhook is not configured' },
  permission_exists: { status: 409, message: 'the user has granted a permanent permission: no request is needed (Meta refuses one, error 138017); nothing was counted' },
  phone_number_id_missing: { status: 409, message: 'the number has no phoneNumberId, so the Cloud API cannot send from it' },
  cloud_api_not_configured: {
    status: 409,
    message: 'not sent: the edge has no WhatsApp Cloud API configured (whatsapp.cloudApi); send the request from your WhatsApp tool, then record it with {"sentElsewhere": true}',
  },
  payload_too_large: { status: 413, message: 'the body is too large' },
  unsupported_media_type: { status: 415, message: 'unsupported Content-Type' },
  permission_request_limited: { status: 429, message: 'permission request limit reached for this business number and user' },
  internal_error: { status: 500, message: 'internal error' },
  upstream_failed: { status: 502, message: 'the WhatsApp Cloud API did not accept the request' },
  state_unavailable: { status: 503, message: 'shared state (Redis) is unavailable' },
  console_not_built: { status: 503, message: 'the operator console was not built (npm run build)' },
} as const satisfies Record<string, { status: number; message: string }>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string = HTTP_ERRORS[code].message,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.status = HTTP_ERRORS[code].status;
  }
}

export const errorBody = z
  .object({ error: z.enum(Object.keys(HTTP_ERRORS) as [HttpErrorCode, ...HttpErrorCode[]]), message: z.string() })
  .describe('Every error: a stable code and a human-readable message');

/** Adds the error shape to a route's documented responses. */
export function withErrors<R extends Record<number, z.ZodType>>(responses: R) {
  return { ...responses, '4xx': errorBody, '5xx': errorBody };
}
