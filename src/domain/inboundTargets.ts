// Where a user-initiated call for a business number rings (SPEC §2 `numbers[].inbound`): a SIP
// URI, or `device:NAME`, every registered contact of that device at once. Read once, by the
// configuration schema; the INVITE path sees the typed value.

export type InboundTarget = { kind: 'sip'; uri: string } | { kind: 'device'; name: string };

const DEVICE = /^device:([A-Za-z0-9._-]+)$/;

/** A target as written in the configuration, or undefined when it is neither form. */
export function parseInboundTarget(text: string): InboundTarget | undefined {
  const device = DEVICE.exec(text);
  if (device) return { kind: 'device', name: device[1] as string };
  // Any sip:/sips: text: drachtio-server, not the edge, decides what it can reach (a target it
  // cannot reach fails at call time and the next one rings).
  if (/^sips?:.+$/.test(text)) return { kind: 'sip', uri: text };
  return undefined;
}

/** The target as the configuration writes it (logs, messages). */
export function inboundTargetText(target: InboundTarget): string {
  return target.kind === 'device' ? `device:${target.name}` : target.uri;
}
