// POST /v1/numbers/{number}/permissions (SPEC §4): seed permissions the edge has not seen (granted
// before it was installed, while its webhook was unreachable, or to another app's webhook).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError, withErrors } from '../errors.js';
import { configuredNumber, numberParams } from '../params.js';
import { stateCall } from '../state.js';
import { csvSeedRows, jsonSeedRows, SEED_BODY_LIMIT_BYTES, type SeedInput } from '../seedRows.js';
import type { HttpDeps } from '../server.js';

const rowResult = z.object({
  row: z.number().int().meta({ description: 'JSON: position in the array from 1; CSV: line number' }),
  user: z.string().optional().meta({ description: 'The key the permission is held under (the phone number once a BSUID is linked to one); as sent for an invalid row' }),
  result: z.enum(['granted', 'kept', 'invalid', 'failed']).meta({
    description: 'granted: written; kept: the edge already holds as much (nothing written); invalid: the row is malformed (error says why); failed: Redis did not answer for this row (send it again)',
  }),
  permission: z
    .object({ kind: z.enum(['none', 'temporary', 'permanent']), expiresAt: z.string().optional(), source: z.string().optional() })
    .optional()
    .meta({ description: 'What the edge holds for the pair after this row' }),
  error: z.string().optional(),
});

export const seedAnswer = z.object({
  granted: z.number().int(),
  kept: z.number().int(),
  invalid: z.number().int(),
  failed: z.number().int(),
  rows: z.array(rowResult),
});

type RowResult = z.output<typeof rowResult>;

/** Rows in flight at once: enough to fill ioredis's pipeline, few enough to leave Redis to the calls. */
const SEED_CONCURRENCY = 32;

export function permissionsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    // CSV arrives as text, parsed row by row in the handler (csv-parse) so that one bad line is
    // reported, not a 400 for the whole body. JSON keeps fastify's parser.
    app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string', bodyLimit: SEED_BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));

    app.post(
      '/numbers/:number/permissions',
      {
        bodyLimit: SEED_BODY_LIMIT_BYTES,
        schema: {
          summary: 'Seed permissions: each row validated and applied on its own, idempotent',
          description:
            'Body: a JSON array of {user, kind: temporary|permanent, expiresAt?, source?} or text/csv with the columns user,kind,expiresAt,source (header line optional). ' +
            `A row never weakens what the edge holds (result kept). Bodies over ${SEED_BODY_LIMIT_BYTES} bytes are refused with 413.`,
          params: numberParams,
          body: z.union([z.array(z.unknown()), z.string()]).meta({ description: 'JSON array, or CSV text (Content-Type: text/csv)' }),
          response: withErrors({ 200: seedAnswer }),
        },
      },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        const now = deps.clock();
        const isCsv = typeof req.body === 'string';
        if (isCsv && !/^(text|application)\/csv\b/i.test(req.headers['content-type'] ?? '')) {
          throw new HttpError('invalid_request', 'body: a JSON array, or CSV with Content-Type: text/csv');
        }
        const inputs: SeedInput[] = isCsv ? csvSeedRows(req.body as string, now) : jsonSeedRows(req.body as unknown[], now);
        const rows: RowResult[] = new Array(inputs.length);
        const count = { granted: 0, kept: 0, invalid: 0, failed: 0 };
        let lastFailure: unknown;
        const applyRow = async (input: SeedInput): Promise<RowResult> => {
          if (!input.ok) {
            count.invalid++;
            return { row: input.row, ...(input.user !== undefined ? { user: input.user } : {}), result: 'invalid', error: input.error };
          }
          const { user, kind, expiresAt, source } = input.value;
          try {
            const r = await state(() => deps.permissions.seed(number, user.key, kind, source, expiresAt));
            count[r.status]++;
            const { expiresAt: until, ...p } = r.permission;
            return { row: input.row, user: r.user, result: r.status, permission: { kind: p.kind, ...(until !== undefined ? { expiresAt: new Date(until).toISOString() } : {}), ...(p.source ? { source: p.source } : {}) } };
          } catch (err) {
            // One row's Redis failure is that row's answer; the others are still tried.
            lastFailure = err;
            count.failed++;
            return { row: input.row, user: user.key, result: 'failed', error: 'shared state (Redis) did not answer' };
          }
        };
        // Rows run SEED_CONCURRENCY at a time (ioredis pipelines them); rows naming the same user
        // run one after the other, in the order given, so the last row for a user wins as written.
        const lastOfUser = new Map<string, Promise<unknown>>();
        let next = 0;
        const worker = async () => {
          while (next < inputs.length) {
            const i = next++;
            const input = inputs[i] as SeedInput;
            const key = input.ok ? input.value.user.key : undefined;
            const before = key !== undefined ? lastOfUser.get(key) : undefined;
            const done = (before ?? Promise.resolve()).then(() => applyRow(input));
            if (key !== undefined) lastOfUser.set(key, done);
            rows[i] = await done;
          }
        };
        await Promise.all(Array.from({ length: Math.min(SEED_CONCURRENCY, inputs.length) }, worker));
        // Nothing applied and Redis down: the whole request failed, as any other route's would.
        if (count.failed > 0 && count.granted + count.kept === 0) throw lastFailure;
        if (count.failed > 0) req.log.warn({ err: lastFailure, number, failed: count.failed }, 'permission seed: rows not applied, Redis did not answer');
        req.log.info({ number, ...count }, 'permission seed applied');
        return { ...count, rows };
      },
    );
  };
}
