// Meta's view beside the edge's (whatsapp.cloudApi.permissionLookup): what Meta's call_permissions
// says about a customer, whether it differs from what the edge holds, and Meta's call cap next to
// the configured one. Reads only what /v1/decisions and /v1/numbers answer.
import { formatCount, formatDateTime, formatWait } from './format.js';
import type { MetaDecisionView, NumberView } from './types.js';

const STATUS_WORDS: Record<string, string> = {
  no_permission: 'no permission',
  temporary: 'a temporary permission',
  permanent: 'a permanent permission',
};

/** The lookup's box under the decision; nothing when Meta is not asked (the lookup is off). */
export function MetaView({ meta }: { meta: MetaDecisionView | undefined }) {
  if (!meta?.asked) return null;
  if (meta.result === 'error') {
    return (
      <div class="meta-view" role="note">
        <p>
          <strong>Meta’s view:</strong> Meta did not answer usably ({meta.error}); the edge’s answer stands.
        </p>
      </div>
    );
  }
  const expires = meta.permission?.expiresAt;
  const used = meta.startCall?.limits.find((l) => l.currentUsage >= l.maxAllowed);
  return (
    <div class={meta.differs ? 'meta-view differs' : 'meta-view'} role="note">
      <p>
        <strong>Meta’s view:</strong> Meta holds {STATUS_WORDS[meta.permission?.status ?? 'no_permission']}
        {expires && ` until ${formatDateTime(Date.parse(expires))}`}
        {meta.startCall && (meta.startCall.canPerform ? '; a call can be placed' : '; a call cannot be placed now')}
        {used && ` (${formatCount(used.currentUsage)} of ${formatCount(used.maxAllowed)} per ${used.timePeriod}${used.freesAt ? `, free again in ${formatWait((Date.parse(used.freesAt) - Date.now()) / 1000)}` : ''})`}.
      </p>
      {meta.differs ? (
        <p>
          <strong>Meta and the edge differ:</strong> {meta.note}
        </p>
      ) : (
        <p class="muted">Meta and the edge agree on the permission.</p>
      )}
    </div>
  );
}

/** Meta's cap per customer in 24 h next to the configured one, flagged when the configured one is higher. */
export function MetaCapLine({ n }: { n: NumberView }) {
  if (!n.metaCap) return null;
  const configured = n.limits.connected24hPerUser;
  return (
    <small class={n.metaCap.configuredAbove ? 'block meta-cap above' : 'block meta-cap'}>
      Per customer: Meta {formatCount(n.metaCap.connected24hPerUser)}, configured {configured === null || configured === undefined ? 'no cap' : formatCount(configured)}
      {n.metaCap.configuredAbove && ' — above Meta’s: lower whatsapp.connectedCallsPer24h.perUser'}
    </small>
  );
}
