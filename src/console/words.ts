// SPEC §3's checks and reasons in words a support agent understands; the code stays next to them.
import { endReasonWords } from '../domain/endReasons.js';

/** For each state check of GET /v1/decisions: what passing and failing mean. */
export const CHECK_WORDS: Record<string, { pass: string; fail: string }> = {
  calling_disabled: {
    pass: 'Calling is switched on for this business number.',
    fail: 'Calling is switched off for this business number (the Calling switch in Numbers; with Telnyx\'s API, also WhatsApp Calling in Mission Control).',
  },
  account_restricted: {
    pass: 'Meta has not restricted business-initiated calls from this number.',
    fail: 'Meta has restricted business-initiated calls from this number for a while (after negative feedback from customers).',
  },
  region_blocked: {
    pass: "Meta allows business-initiated calls from this number's country.",
    fail: "Meta does not allow business-initiated calls from this number's country.",
  },
  no_permission: {
    pass: 'The customer has given permission to be called.',
    fail: 'The customer has not given permission to be called, or it expired or was revoked.',
  },
  unanswered_guard: {
    pass: 'Not stopped by unanswered calls.',
    fail: 'Too many calls in a row went unanswered: calling this customer is stopped.',
  },
  user_busy: {
    pass: 'No other call with this customer is in progress on this number.',
    fail: 'A call with this customer is already in progress on this number.',
  },
  concurrency_limit: {
    pass: 'The number is below its limit of simultaneous calls.',
    fail: 'The number is at its limit of simultaneous calls.',
  },
  daily_limit: {
    pass: 'Below the cap of connected calls with this customer in 24 hours (and the number\'s own cap, when one is set).',
    fail: 'This customer has had as many connected calls in 24 hours as Meta allows (or the number reached a cap of its own).',
  },
  attempt_limit: {
    pass: 'Below the cap of call attempts in 24 hours.',
    fail: 'The number has made as many call attempts in 24 hours as Meta allows.',
  },
  tenant_limit: {
    pass: "Your organisation is below its limits of simultaneous calls and calls per second.",
    fail: "Your organisation is at its limit of simultaneous calls or calls per second (set by the platform's operator).",
  },
};

export function checkWords(check: string, result: 'pass' | 'fail'): string {
  return CHECK_WORDS[check]?.[result] ?? (result === 'pass' ? 'Passes.' : 'Fails.');
}

/** What the agent can do about a refusal. */
export const REASON_ADVICE: Record<string, string> = {
  calling_disabled: 'Ask an operator to switch calling on for this number (in Numbers, or in Mission Control when the edge reads Telnyx\'s switch).',
  account_restricted: 'Wait until the restriction ends (the date is on the number), or call from another business number. The customer can still call you.',
  region_blocked: 'Call from a business number of another country.',
  no_permission: 'Send a permission request; the customer accepts it in WhatsApp. A call from the customer also gives permission.',
  unanswered_guard: 'Wait for the customer to call, or send a permission request.',
  user_busy: 'Wait until the current call ends.',
  concurrency_limit: 'Wait until a call on this number ends.',
  daily_limit: 'Wait until the 24-hour window frees a call.',
  attempt_limit: 'Wait until the 24-hour window frees an attempt.',
  tenant_limit: 'Wait until another call of your organisation ends, or ask the operator to raise its limits.',
};

export function permissionSource(source: string | undefined): string {
  switch (source) {
    case 'webhook':
      return 'granted by the customer in WhatsApp';
    case 'callback':
      return 'the customer called this number';
    case 'api':
      return 'recorded through the API';
    case 'meta':
      return 'Meta said the customer gave permanent permission';
    case undefined:
      return '';
    default:
      return `source: ${source}`;
  }
}

export function noPermissionCause(cause: string | undefined): string {
  switch (cause) {
    case 'user':
      return 'the customer revoked it';
    case 'api':
      return 'revoked through the API';
    case 'unanswered':
      return 'revoked after calls in a row went unanswered';
    case 'expired':
      return 'it expired';
    case 'meta_refused':
      return 'Meta refused the last call for want of it; ask again (send a permission request)';
    case undefined:
      return 'never given';
    default:
      return cause;
  }
}

export function outcomeWords(outcome: string | undefined): string {
  switch (outcome) {
    case 'connected':
      return 'connected';
    case 'unanswered':
      return 'unanswered';
    case 'failed':
      return 'failed';
    default:
      return outcome ?? '';
  }
}

/** A call record's reason in words, from the end-reason table; a reason it does not know stays a code. */
export function callReasonWords(reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : endReasonWords(reason);
}
