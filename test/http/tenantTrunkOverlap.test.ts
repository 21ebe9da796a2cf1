// SPEC §2a: a trunk is told apart by its source address, so two tenants' trunks never share a source
// range. A create or update through /v1/tenants/{t}/trunks (or a whole tenant) whose ranges overlap
// another tenant's trunk, the file's tenant default included, is refused 409 trunk_overlap and
// nothing changes anywhere; the operator is told whose range it is, a tenant's token is not. Within
// one tenant ranges may overlap, as in the file. Two instances creating overlapping tenants at once:
// exactly one wins (tenant_write.lua writes only at the version the change was validated against).
// Real Redis.
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { TENANT_KEYS } from '../../src/tenants/store.js';
import { useTenantFixtures, type TenantFixture } from './tenantFixture.js';

const A_NUMBER = '+447418600001';
const B_NUMBER = '+447418600101';

const redis = useRedisServer();
const fixtures = useTenantFixtures(redis);
const fixture = fixtures.another;
let f: TenantFixture;
beforeEach(async () => {
  f = await fixtures.fresh();
});

const tenant = (name: string, number: string, sources: string[]) => ({ name, numbers: [{ number }], trunks: [{ name: 'pbx', sources, numbers: [number] }] });
const acme = tenant('acme', A_NUMBER, ['10.1.0.0/24', '2001:db8:1::/48']);

/** Every stored tenant and the version: what "nothing changed" compares. */
async function stored() {
  return { version: await f.redis.get(TENANT_KEYS.version), docs: await f.redis.hgetall(TENANT_KEYS.tenants) };
}

async function bravoToken(): Promise<string> {
  expect((await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.2.0.0/24']))).statusCode).toBe(201);
  const res = await f.api('POST', '/v1/tenants/bravo/tokens', { name: 'test' });
  return res.json().token as string;
}

describe('the operator', () => {
  it("creating a tenant whose trunk lies inside another tenant's range (a /32 in a /24) is refused, naming that tenant's trunk and range; nothing is written", async () => {
    expect((await f.api('POST', '/v1/tenants', acme)).statusCode).toBe(201);
    const before = await stored();
    const res = await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.9.0.0/24', '10.1.0.7']));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'trunk_overlap', message: "trunks[0].sources[1]: 10.1.0.7 overlaps 10.1.0.0/24 of tenant acme's trunk pbx" });
    expect(await stored()).toEqual(before);
    expect((await f.api('GET', '/v1/tenants/bravo')).statusCode).toBe(404);
  });

  it("a range holding another tenant's (a /16 around a /24), IPv6 too, or the file's trunk (tenant default) is refused; a neighbouring range is not", async () => {
    expect((await f.api('POST', '/v1/tenants', acme)).statusCode).toBe(201);
    const around = await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.1.0.0/16']));
    expect(around.json().message).toBe("trunks[0].sources[0]: 10.1.0.0/16 overlaps 10.1.0.0/24 of tenant acme's trunk pbx");
    const v6 = await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['2001:db8:1:2::/64']));
    expect(v6.json()).toEqual({ error: 'trunk_overlap', message: "trunks[0].sources[0]: 2001:db8:1:2::/64 overlaps 2001:db8:1::/48 of tenant acme's trunk pbx" });
    // The test configuration file's trunk `acme` comes from 127.0.0.1/32.
    const file = await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['127.0.0.0/8']));
    expect(file.json()).toEqual({ error: 'trunk_overlap', message: "trunks[0].sources[0]: 127.0.0.0/8 overlaps 127.0.0.1/32 of tenant default's trunk acme (the configuration file)" });
    expect((await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.1.1.0/24', '2001:db8:2::/48']))).statusCode).toBe(201);
  });

  it('a range stored as one comma-separated item is read as the file reads it', async () => {
    expect((await f.api('POST', '/v1/tenants', tenant('acme', A_NUMBER, ['10.7.0.0/24, 10.8.0.0/24']))).statusCode).toBe(201);
    const res = await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.8.0.9']));
    expect(res.json().message).toBe("trunks[0].sources[0]: 10.8.0.9 overlaps 10.8.0.0/24 of tenant acme's trunk pbx");
  });

  it("within one tenant ranges may overlap (as in the file); a removed trunk's range is free again", async () => {
    expect((await f.api('POST', '/v1/tenants', acme)).statusCode).toBe(201);
    expect((await f.api('POST', '/v1/tenants/acme/trunks', { name: 'office', sources: ['10.1.0.128/25'], numbers: [A_NUMBER] })).statusCode).toBe(201);
    expect((await f.api('DELETE', '/v1/tenants/acme/trunks/pbx')).statusCode).toBe(204);
    expect((await f.api('DELETE', '/v1/tenants/acme/trunks/office')).statusCode).toBe(204);
    expect((await f.api('POST', '/v1/tenants', tenant('bravo', B_NUMBER, ['10.1.0.7']))).statusCode).toBe(201);
  });
});

describe("a tenant's token", () => {
  it("adding or changing its trunk into another tenant's range is refused without naming that tenant, its trunk or its range; nothing changes", async () => {
    expect((await f.api('POST', '/v1/tenants', acme)).statusCode).toBe(201);
    const token = await bravoToken();
    const before = await stored();
    const add = await f.as(token, 'POST', '/v1/tenants/bravo/trunks', { name: 'wide', sources: ['10.0.0.0/8'], numbers: [B_NUMBER] });
    expect(add.statusCode).toBe(409);
    expect(add.json()).toEqual({ error: 'trunk_overlap', message: "trunks[1].sources[0]: 10.0.0.0/8 overlaps a source range of another tenant's trunk; the platform's operator can say which" });
    const put = await f.as(token, 'PUT', '/v1/tenants/bravo/trunks/pbx', { sources: ['10.2.0.0/24', '10.1.0.5'], numbers: [B_NUMBER] });
    expect(put.statusCode).toBe(409);
    for (const body of [add.body, put.body]) {
      expect(body).not.toContain('acme');
      expect(body).not.toContain('10.1.0.0/24');
      expect(body).not.toContain('trunk pbx');
    }
    expect(await stored()).toEqual(before);
    expect((await f.as(token, 'GET', '/v1/tenants/bravo/trunks/pbx')).json().sources).toEqual(['10.2.0.0/24']);
    // Its own range, moved somewhere free, is fine.
    expect((await f.as(token, 'PUT', '/v1/tenants/bravo/trunks/pbx', { sources: ['10.3.0.0/24'], numbers: [B_NUMBER] })).statusCode).toBe(200);
  });
});

it('two instances creating overlapping tenants at the same moment: exactly one is stored, the other refused trunk_overlap', async () => {
  const other = await fixture();
  for (let round = 0; round < 5; round++) {
    const [x, y] = [`x${round}`, `y${round}`];
    const answers = await Promise.all([
      f.api('POST', '/v1/tenants', tenant(x, `+4474186002${round}0`, [`10.5${round}.0.0/16`])),
      other.api('POST', '/v1/tenants', tenant(y, `+4474186002${round}1`, [`10.5${round}.1.0/24`])),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json().error).toBe('trunk_overlap');
    const docs = await f.redis.hkeys(TENANT_KEYS.tenants);
    expect(docs.filter((n) => n === x || n === y)).toHaveLength(1);
  }
});

it('OpenAPI documents the refusal on the trunk routes', async () => {
  const doc = (await f.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  for (const route of [doc.paths['/v1/tenants/{tenant}/trunks'].post, doc.paths['/v1/tenants/{tenant}/trunks/{key}'].put]) {
    expect(route.description).toContain('409 trunk_overlap');
  }
  expect(JSON.stringify(doc)).toContain('"trunk_overlap"');
});
