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

/** `numbers[].inboundRoutes`: the targets of a call whose button or deep link carried `payload`. */
export interface InboundRoute {
  payload: string;
  targets: InboundTarget[];
}

/**
 * Where a user's call rings (SPEC §2): the route whose payload equals the call button's payload,
 * else the deep link's, else the number's plain `inbound` list. `route` names the payload that chose.
 */
export function chooseInboundTargets(
  number: { inbound: InboundTarget[]; inboundRoutes: readonly InboundRoute[] },
  payloads: { ctaPayload?: string; deeplinkPayload?: string },
): { targets: InboundTarget[]; route?: string } {
  for (const payload of [payloads.ctaPayload, payloads.deeplinkPayload]) {
    if (payload === undefined) continue;
    const route = number.inboundRoutes.find((r) => r.payload === payload);
    if (route) return { targets: route.targets, route: route.payload };
  }
  return { targets: number.inbound };
}
