// POST /v1/numbers/{number}/permissions (SPEC §4): seed many permissions, each row on its own.
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, T0 } from '../helpers/state.js';
import { recentPermissionEvents } from '../../src/state/records.js';
import { SEED_BODY_LIMIT_BYTES } from '../../src/http/seedRows.js';
import { useHttpFixtures, TOKEN, type HttpFixture } from './fixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeEach(async () => {
  f = await openFixture();
});

const URL = `/v1/numbers/${BUSINESS}/permissions`;
const OTHER = '+447911123457';
const BSUID = 'GB.13491208655302741918';
const iso = (ms: number) => new Date(ms).toISOString();
const csv = (text: string) => f.app.inject({ method: 'POST', url: URL, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' }, payload: text });

describe('POST /v1/numbers/{number}/permissions (JSON)', () => {
  it('applies every valid row through the grant script and lists each row', async () => {
    const res = await f.api('POST', URL, [
      { user: USER, kind: 'permanent', source: 'crm' },
      { user: OTHER.slice(1), kind: 'temporary', expiresAt: (T0 + DAY) / 1000 },
      { user: BSUID, kind: 'temporary' },
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      granted: 3,
      kept: 0,
      invalid: 0,
      failed: 0,
      rows: [
        { row: 1, user: USER, result: 'granted', permission: { kind: 'permanent', source: 'crm' } },
        { row: 2, user: OTHER, result: 'granted', permission: { kind: 'temporary', expiresAt: iso(T0 + DAY), source: 'seed' } },
        { row: 3, user: BSUID, result: 'granted', permission: { kind: 'temporary', expiresAt: iso(T0 + 7 * DAY), source: 'seed' } },
      ],
    });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'crm' });
    expect((await recentPermissionEvents(f.redis, 10)).map((e) => e.event)).toEqual(['granted', 'granted', 'granted']);
  });

  it('a malformed row is reported and never stops the others', async () => {
    const res = await f.api('POST', URL, [
      { user: '+4479', kind: 'permanent' },
      { user: USER, kind: 'forever' },
      'not an object',
      { user: USER, kind: 'permanent', expiresAt: (T0 + DAY) / 1000 },
      { user: USER, kind: 'temporary', expiresAt: (T0 - DAY) / 1000 },
      { user: USER, kind: 'temporary', source: 'Free text!' },
      { user: OTHER, kind: 'permanent', extra: 1 },
      { user: OTHER, kind: 'permanent' },
    ]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ granted: 1, invalid: 7 });
    expect(body.rows.map((r: { result: string }) => r.result)).toEqual([...Array(7).fill('invalid'), 'granted']);
    expect(body.rows[0].error).toMatch(/user: neither a possible E.164 number/);
    expect(body.rows[3].error).toMatch(/expiresAt: a permanent permission has no expiry/);
    expect(body.rows[4].error).toMatch(/must be in the future/);
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none' });
  });

  it('is idempotent: the same seed twice writes nothing the second time, and never weakens what the edge holds', async () => {
    const rows = [
      { user: USER, kind: 'temporary', expiresAt: (T0 + DAY) / 1000 },
      { user: OTHER, kind: 'temporary' },
    ];
    expect((await f.api('POST', URL, rows)).json()).toMatchObject({ granted: 2, kept: 0 });
    const again = (await f.api('POST', URL, rows)).json();
    expect(again).toMatchObject({ granted: 0, kept: 2 });
    expect(again.rows[1]).toEqual({ row: 2, user: OTHER, result: 'kept', permission: { kind: 'temporary', expiresAt: iso(T0 + 7 * DAY), source: 'seed' } });
    expect(await recentPermissionEvents(f.redis, 10)).toHaveLength(2);

    // A webhook's permanent permission is not turned into a seeded temporary one.
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    const weaker = (await f.api('POST', URL, [{ user: USER, kind: 'temporary', expiresAt: (T0 + 2 * DAY) / 1000 }])).json();
    expect(weaker.rows[0]).toMatchObject({ result: 'kept', permission: { kind: 'permanent', source: 'webhook' } });
    // A longer temporary one extends it.
    const longer = (await f.api('POST', URL, [{ user: OTHER, kind: 'temporary', expiresAt: (T0 + 8 * DAY) / 1000 }])).json();
    expect(longer.rows[0]).toMatchObject({ result: 'granted', permission: { expiresAt: iso(T0 + 8 * DAY) } });
  });

  it('rows naming the same user apply in the order given', async () => {
    const res = (await f.api('POST', URL, [
      { user: USER, kind: 'temporary' },
      { user: OTHER, kind: 'permanent' },
      { user: USER.slice(1), kind: 'permanent' },
      { user: USER, kind: 'temporary', expiresAt: (T0 + DAY) / 1000 },
    ])).json();
    expect(res.rows.map((r: { result: string }) => r.result)).toEqual(['granted', 'granted', 'granted', 'kept']);
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'seed' });
  });

  it('a BSUID known to be a phone number is seeded under the number', async () => {
    await f.permissions.link(BUSINESS, BSUID, USER);
    const res = (await f.api('POST', URL, [{ user: BSUID, kind: 'permanent' }])).json();
    expect(res.rows[0]).toMatchObject({ user: USER, result: 'granted' });
    expect(await f.permissions.read(BUSINESS, USER)).toMatchObject({ kind: 'permanent' });
  });

  it('refuses a body that is not an array, an unknown number, and no token', async () => {
    expect((await f.api('POST', URL, { user: USER, kind: 'permanent' })).statusCode).toBe(400);
    expect((await f.api('POST', '/v1/numbers/+447400000001/permissions', [])).json()).toMatchObject({ error: 'unknown_number' });
    expect((await f.app.inject({ method: 'POST', url: URL, payload: [] })).statusCode).toBe(401);
  });

  it(`refuses a body over ${SEED_BODY_LIMIT_BYTES} bytes with 413, JSON or CSV, before any row is applied`, async () => {
    const row = { user: USER, kind: 'permanent' };
    const rows = Array.from({ length: Math.ceil(SEED_BODY_LIMIT_BYTES / JSON.stringify(row).length) + 1 }, () => row);
    const res = await f.api('POST', URL, rows);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'payload_too_large' });
    const big = await csv(`${USER},permanent\n`.repeat(Math.ceil(SEED_BODY_LIMIT_BYTES / 24) + 1));
    expect(big.statusCode).toBe(413);
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none' });
  });
});

describe('POST /v1/numbers/{number}/permissions (text/csv)', () => {
  it('reads user,kind,expiresAt,source with a header, reporting each line by its number', async () => {
    const res = await csv(
      [
        'user,kind,expiresAt,source',
        `${USER},temporary,${iso(T0 + DAY)},crm`,
        `"${OTHER}",permanent,,`,
        '',
        'bad"quote,permanent',
        `${BSUID},temporary,${(T0 + 2 * DAY) / 1000}`,
        `${USER},permanent,,crm,extra`,
        '12,permanent',
      ].join('\n'),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      granted: 3,
      invalid: 3,
      rows: [
        { row: 2, user: USER, result: 'granted', permission: { kind: 'temporary', expiresAt: iso(T0 + DAY), source: 'crm' } },
        { row: 3, user: OTHER, result: 'granted', permission: { kind: 'permanent', source: 'seed' } },
        { row: 5, result: 'invalid', error: expect.stringMatching(/^not CSV/) },
        { row: 6, user: BSUID, result: 'granted', permission: { expiresAt: iso(T0 + 2 * DAY) } },
        { row: 7, result: 'invalid', error: expect.stringMatching(/5 cells, at most 4/) },
        { row: 8, user: '12', result: 'invalid' },
      ],
    });
  });

  it('takes the columns in order when there is no header line', async () => {
    const res = await csv(`${USER},permanent\n${OTHER},temporary,${(T0 + DAY) / 1000},import\n`);
    expect(res.json()).toMatchObject({ granted: 2, rows: [{ row: 1, user: USER }, { row: 2, user: OTHER, permission: { source: 'import' } }] });
  });
});
