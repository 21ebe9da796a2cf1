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
  // Tenants (SPEC §2a, src/http/routes/tenants.ts).
  unknown_tenant: { status: 404, message: 'no such tenant' },
  unknown_entry: { status: 404, message: 'no such entry in this tenant' },
  invalid_config: { status: 400, message: 'the tenant would not validate as the configuration file does' },
  operator_only: { status: 403, message: 'only the operator token (http.adminToken) may do this' },
  managed_by_file: { status: 409, message: 'tenant default\'s trunks, devices and numbers come from the configuration file: change the file' },
  already_exists: { status: 409, message: 'already exists' },
  number_taken: { status: 409, message: 'the number belongs to another tenant' },
  domain_taken: { status: 409, message: 'the SIP domain is another tenant\'s' },
  trunk_overlap: { status: 409, message: 'a trunk source range overlaps one of another tenant\'s trunks (a call from there could not be told apart)' },
  webhook_not_configured: { status: 404, message: 'whatsapp.webhook is not configured' },
  telnyx_webhook_not_configured: { status: 404, message: 'telnyx.webhook is not configured' },
  permission_exists: { status: 409, message: 'the user has granted a permanent permission: no request is needed (Meta refuses one, error 138017); nothing was counted' },
  phone_number_id_missing: { status: 409, message: 'the number has no phoneNumberId, so the Cloud API cannot send from it' },
  permission_template_missing: { status: 409, message: 'the number has no permissionTemplate, so telnyx.api cannot ask a user outside the 24 h window' },
  cloud_api_not_configured: {
    status: 409,
    message: 'not sent: the edge has no WhatsApp Cloud API configured (whatsapp.cloudApi); send the request from your WhatsApp tool, then record it with {"sentElsewhere": true}',
  },
  payload_too_large: { status: 413, message: 'the body is too large' },
  unsupported_media_type: { status: 415, message: 'unsupported Content-Type' },
  telnyx_refused: { status: 422, message: 'Telnyx (or Meta behind it) refused the request; nothing was counted' },
  permission_request_limited: { status: 429, message: 'permission request limit reached for this business number and user' },
  internal_error: { status: 500, message: 'internal error' },
  upstream_failed: { status: 502, message: 'the WhatsApp Cloud API did not accept the request' },
  telnyx_unauthorized: { status: 502, message: "Telnyx refused the edge's API key (telnyx.api.key); nothing was counted" },
  upstream_timeout: { status: 504, message: 'the upstream API did not answer in time; nothing was counted' },
  state_unavailable: { status: 503, message: 'shared state (Redis) is unavailable' },
  console_not_built: { status: 503, message: 'the operator console was not built (npm run build)' },
} as const satisfies Record<string, { status: number; message: string }>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** What an upstream API (Telnyx) answered, when its refusal is the error. */
export const upstreamBody = z
  .object({
    service: z.literal('telnyx'),
    status: z.number().int().optional().meta({ description: 'Its HTTP status; absent on a timeout or an unreachable API' }),
    code: z.string().optional().meta({ description: "Its error code (Telnyx's errors[0].code)" }),
    metaCode: z.string().optional().meta({ description: "Meta's error code it quoted (131047, 138009, 138017...)" }),
  })
  .meta({ description: 'The upstream refusal behind the error' });
export type Upstream = z.output<typeof upstreamBody>;

export class HttpError extends Error {
  readonly status: number;
  readonly upstream?: Upstream;
  constructor(
    readonly code: HttpErrorCode,
    message: string = HTTP_ERRORS[code].message,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown; upstream?: Upstream },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.status = HTTP_ERRORS[code].status;
    if (options?.upstream) this.upstream = options.upstream;
  }
}

export const errorBody = z
  .object({ error: z.enum(Object.keys(HTTP_ERRORS) as [HttpErrorCode, ...HttpErrorCode[]]), message: z.string(), upstream: upstreamBody.optional() })
  .describe('Every error: a stable code and a human-readable message');

/** Adds the error shape to a route's documented responses. */
export function withErrors<R extends Record<number, z.ZodType>>(responses: R) {
  return { ...responses, '4xx': errorBody, '5xx': errorBody };
}
