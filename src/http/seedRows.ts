// The rows of a permission seed (POST /v1/numbers/{number}/permissions, SPEC §4): a JSON array of
// objects, or CSV `user,kind,expiresAt,source`. Pure: each row is validated on its own, with the
// number rule of SPEC §3 (BSUIDs accepted), and a bad row becomes a reported error, never an
// exception that would stop the others.
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { parseUserIdentity, type UserIdentity } from '../domain/identity.js';
import { expiresAtSchema } from './params.js';

/** Documented in SPEC §4 and docs/permissions.md: a larger body is refused 413 before parsing. */
export const SEED_BODY_LIMIT_BYTES = 1024 * 1024;

export const SEED_COLUMNS = ['user', 'kind', 'expiresAt', 'source'] as const;

export interface SeedRow {
  user: UserIdentity;
  kind: 'temporary' | 'permanent';
  /** Epoch ms; temporary only. Absent: now + whatsapp.temporaryPermissionHours. */
  expiresAt?: number;
  source: string;
}

/** One input row: valid, or why not. `row` counts from 1 (JSON: array index + 1; CSV: the line). */
export type SeedInput = { row: number; user?: string; ok: true; value: SeedRow } | { row: number; user?: string; ok: false; error: string };

export const DEFAULT_SEED_SOURCE = 'seed';

const userField = z.string().transform((s, ctx): UserIdentity => {
  const parsed = parseUserIdentity(s);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'neither a possible E.164 number (`+` optional) nor a business-scoped user id (CC.digits)' });
    return z.NEVER;
  }
  return parsed;
});

/** Lower-case word: it lands in the permission's `source` and in wa:permissions, so no free text. */
const sourceField = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'a lower-case word (a-z, 0-9, _), at most 32 characters')
  .optional();

const rowSchema = z
  .object({
    user: userField,
    kind: z.enum(['temporary', 'permanent']),
    expiresAt: expiresAtSchema.optional(),
    source: sourceField,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.kind === 'permanent' && r.expiresAt !== undefined) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'a permanent permission has no expiry' });
  });

const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`).join('; ');

/** Validates one row; `now` rejects a temporary permission that has already expired. */
export function seedRow(row: number, raw: unknown, now: number): SeedInput {
  const user = typeof raw === 'object' && raw !== null && typeof (raw as { user?: unknown }).user === 'string' ? (raw as { user: string }).user : undefined;
  const r = rowSchema.safeParse(raw);
  if (!r.success) return { row, user, ok: false, error: issues(r.error) };
  const { expiresAt, source, ...rest } = r.data;
  if (expiresAt !== undefined && expiresAt <= now) return { row, user, ok: false, error: 'expiresAt: must be in the future' };
  return { row, user, ok: true, value: { ...rest, ...(expiresAt !== undefined ? { expiresAt } : {}), source: source ?? DEFAULT_SEED_SOURCE } };
}

export function jsonSeedRows(body: unknown[], now: number): SeedInput[] {
  return body.map((raw, i) => seedRow(i + 1, raw, now));
}

/** An epoch-seconds cell arrives as text: a CSV number becomes a number so both forms are accepted. */
function csvCell(column: string, cell: string | undefined): unknown {
  if (cell === undefined || cell === '') return undefined;
  if (column === 'expiresAt' && /^\d+$/.test(cell)) return Number(cell);
  return cell;
}

/**
 * CSV with or without the header line `user,kind,expiresAt,source` (columns in that order when
 * absent, trailing ones optional). A line the CSV parser cannot read (a stray quote) is reported
 * under its line number; the parser carries on with the next one.
 */
export function csvSeedRows(text: string, now: number): SeedInput[] {
  const out: SeedInput[] = [];
  const records = parseCsv(text, {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      if (err) out.push({ row: Number(err.lines), ok: false, error: `not CSV: ${err.message}` });
      return undefined;
    },
  }) as unknown as { record: string[]; info: { lines: number } }[];
  let columns: readonly string[] = SEED_COLUMNS;
  records.forEach(({ record, info }, i) => {
    if (i === 0 && record[0]?.toLowerCase() === 'user') {
      columns = record;
      return;
    }
    if (record.length > columns.length) {
      out.push({ row: info.lines, user: record[0], ok: false, error: `${record.length} cells, at most ${columns.length} (${columns.join(',')})` });
      return;
    }
    const raw: Record<string, unknown> = {};
    columns.forEach((c, j) => {
      const v = csvCell(c, record[j]);
      if (v !== undefined) raw[c] = v;
    });
    out.push(seedRow(info.lines, raw, now));
  });
  return out.sort((a, b) => a.row - b.row);
}
