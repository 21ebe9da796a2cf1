// The static part of outbound admission (SPEC §3): what can be decided from the request and the
// configuration alone, with no I/O. The state checks follow in one Redis script.
import { buildDialString } from './dialString.js';
import { isRegionBlocked, normaliseDialled, type PhoneNumber } from './numbers.js';
import { refusal, type Refusal } from './reasons.js';

/** A trunk or an authenticated softphone: who may call, from which numbers. */
export interface OutboundCaller {
  name: string;
  numbers: readonly string[];
  defaultRegion?: string;
  /**
   * A softphone's number when its identity headers name none of `numbers` (default: the first).
   * Set for softphones only: a trunk calls as its From user and nothing else (SPEC §3).
   */
  softphone?: { callerId?: string };
}

/**
 * The business number a softphone calls as (SPEC §1): the first of P-Preferred-Identity,
 * P-Asserted-Identity and the From user that is one of its numbers, else its `callerId`, else its
 * first number. A real softphone puts its own address-of-record in From (`sip:alice@edge`), so
 * that never stops it from calling.
 */
export function softphoneCallingNumber(identityUsers: readonly (string | undefined)[], caller: OutboundCaller): string {
  for (const candidate of identityUsers) {
    if (candidate === undefined || candidate === '') continue;
    const n = normaliseDialled(candidate, caller.defaultRegion);
    if (n && caller.numbers.includes(n.e164)) return n.e164;
  }
  return caller.softphone?.callerId ?? caller.numbers[0] ?? '';
}

export interface OutboundPlan {
  business: PhoneNumber;
  user: PhoneNumber;
  regionBlocked: boolean;
  dialString: string;
}

export interface OutboundRules {
  blockedRegions: readonly string[];
  dialDomain: string;
}

/** `invalid_destination` and `number_not_enabled`; region blocking is ordered later, by the state script. */
export function planOutbound(requestUriUser: string, fromUser: string, caller: OutboundCaller, rules: OutboundRules): OutboundPlan | Refusal {
  const user = normaliseDialled(requestUriUser, caller.defaultRegion);
  if (!user) return refusal('invalid_destination');
  const business = normaliseDialled(fromUser, caller.defaultRegion);
  if (!business || !caller.numbers.includes(business.e164)) return refusal('number_not_enabled');
  return {
    business,
    user,
    regionBlocked: isRegionBlocked(business, rules.blockedRegions),
    dialString: buildDialString(user, business, rules.dialDomain),
  };
}

export function isRefusal(x: OutboundPlan | Refusal): x is Refusal {
  return 'reason' in x;
}
