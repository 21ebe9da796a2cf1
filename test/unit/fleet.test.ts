// SPEC §2a: the file is tenant default; stored tenants join it in one merged configuration, where a
// number has one tenant and a tenant's softphone has a name no other tenant's can have.
import { describe, expect, it } from 'vitest';
import { BUSINESS, testConfig } from '../helpers/config.js';
import { fleetOf, mergeTenants } from '../../src/tenants/fleet.js';
import { tenantSchema } from '../../src/tenants/schema.js';

const A = '+447418600001';
const acme = tenantSchema.parse({
  name: 'acme',
  domain: 'Acme.SIP.example',
  numbers: [{ number: A, inbound: ['device:alice', 'sip:100@pbx.acme.example'], inboundRoutes: [{ payload: 'sales', targets: ['device:alice'] }] }],
  devices: [{ username: 'alice', password: 'p-1', numbers: [A] }],
});

describe('the merged configuration', () => {
  it('a configuration never merged is tenant default alone, unchanged', () => {
    const file = testConfig({ devices: [{ username: 'alice', password: 'p-0', numbers: [BUSINESS] }] });
    const fleet = fleetOf(file);
    expect([...fleet.tenants.keys()]).toEqual(['default']);
    expect(fleet.ofNumber(BUSINESS)).toBe('default');
    expect(fleet.device('default', 'alice')?.password).toBe('p-0');
    expect(fleet.forHost('anything.example').name).toBe('default');
  });

  it("adds a tenant's entries, its softphones under qualified names, found by the AOR's domain (any case)", () => {
    const file = testConfig({ devices: [{ username: 'alice', password: 'p-0', numbers: [BUSINESS] }] });
    const { config, problems } = mergeTenants(file, [acme]);
    expect(problems).toEqual([]);
    expect(config.devices.map((d) => d.username)).toEqual(['alice', 'alice@acme']);
    expect(config.numbers.find((n) => n.number === A)?.inbound).toEqual([{ kind: 'device', name: 'alice@acme' }, { kind: 'sip', uri: 'sip:100@pbx.acme.example' }]);
    expect(config.numbers.find((n) => n.number === A)?.inboundRoutes).toEqual([{ payload: 'sales', targets: [{ kind: 'device', name: 'alice@acme' }] }]);
    const fleet = fleetOf(config);
    expect(fleet.ofNumber(A)).toBe('acme');
    expect(fleet.forHost('ACME.sip.example').name).toBe('acme');
    expect(fleet.device('acme', 'alice')?.password).toBe('p-1');
    expect(fleet.device('default', 'alice')?.password).toBe('p-0');
    expect(fleet.ofDevice('alice@acme')).toBe('acme');
    expect(Object.isFrozen(config.numbers)).toBe(true);
  });

  it('a number the file took from a tenant stays the file\'s, and the tenant\'s entry is reported', () => {
    const file = testConfig({ numbers: [{ number: BUSINESS }, { number: A }] });
    const { config, problems } = mergeTenants(file, [acme]);
    expect(problems).toEqual([`tenant acme: ${A} belongs to tenant default; left out`]);
    expect(config.numbers.filter((n) => n.number === A)).toHaveLength(1);
    expect(fleetOf(config).ofNumber(A)).toBe('default');
  });

  it("a file edited into a tenant's trunk range (the API refuses it, the file cannot be): the file's trunk takes those calls, and it is reported", () => {
    const withTrunk = tenantSchema.parse({ name: 'acme', numbers: [{ number: A }], trunks: [{ name: 'pbx', sources: ['10.1.0.0/24'], numbers: [A] }] });
    const file = testConfig({ trunks: [{ name: 'main', sources: ['127.0.0.1/32', '10.1.0.5'], numbers: [BUSINESS] }] });
    const { config, problems } = mergeTenants(file, [withTrunk]);
    expect(problems).toEqual(["tenant acme: trunk pbx's 10.1.0.0/24 overlaps the file's trunk main (10.1.0.5): calls from there are the file's"]);
    expect(config.trunks.map((t) => t.name)).toEqual(['main', 'pbx']);
    expect(mergeTenants(testConfig({ trunks: [{ name: 'main', sources: ['10.1.1.0/24'], numbers: [BUSINESS] }] }), [withTrunk]).problems).toEqual([]);
  });
});
