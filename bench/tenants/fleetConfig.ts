// The bench config of the tenant benchmarks: tenant t with `numbers` business numbers, a trunk for
// them (its own /24) and a softphone, as the API takes it.

/** +4474TTTTTNN: a GB mobile number, 12 digits, unique per tenant and index. */
export const numberOf = (t: number, n: number) => `+4474${String(t).padStart(5, '0')}${String(n).padStart(2, '0')}`;

export const tenantDoc = (t: number, numbers: number) => ({
  name: `t${t}`,
  domain: `t${t}.sip.example`,
  numbers: Array.from({ length: numbers }, (_, n) => ({ number: numberOf(t, n), inbound: ['device:agent'] })),
  trunks: [{ name: 'pbx', sources: [`10.${t >> 8}.${t & 255}.0/24`], numbers: Array.from({ length: numbers }, (_, n) => numberOf(t, n)) }],
  devices: [{ username: 'agent', password: 'agent-password', numbers: [numberOf(t, 0)] }],
});
