// The /v1 answers the console reads (SPEC §4), as src/http/routes/* declare them.

export interface NumberView {
  number: string;
  calling: boolean;
  region: string | null;
  businessInitiatedEligible: boolean;
  activeCalls: number;
  connected24h: number;
  limits: { activeCalls: number; connected24h: number | null; connected24hPerUser?: number | null };
  /** Meta's cap in force, from the last permission lookup that named one. */
  metaCap?: { connected24hPerUser: number; seenAt: string; configuredAbove: boolean } | null;
}

export interface UserView {
  number: string;
  user: string;
  permission: { kind: 'none' | 'temporary' | 'permanent'; expiresAt?: string; source?: string; cause?: string };
  consecutiveUnanswered: number;
  connected24h: number;
  permissionRequests: { last24h: number; last7d: number; remaining24h: number; remaining7d: number };
  limits: {
    connected24h: number | null;
    unanswered: { nudgeAt: number | null; revokeAt: number | null; stopAt: number | null };
    permissionRequests: { per24h: number; per7d: number };
  };
}

export interface Check {
  check: string;
  result: 'pass' | 'fail';
}

export interface Decision {
  from: string;
  to: string;
  admitted: boolean;
  reason: string | null;
  code: number | null;
  retryAfter?: number;
  checks: Check[];
  meta?: MetaDecisionView;
}

/** Meta's call_permissions beside the edge's checks (GET /v1/decisions `meta`). */
export interface MetaDecisionView {
  asked: boolean;
  why?: string;
  result?: 'allowed' | 'refused' | 'error';
  permission?: { status: 'no_permission' | 'temporary' | 'permanent'; expiresAt?: string };
  startCall?: { canPerform: boolean; limits: { timePeriod: string; maxAllowed: number; currentUsage: number; freesAt?: string }[] };
  reason?: string;
  error?: string;
  at?: string;
  differs: boolean;
  note?: string;
}

/** A `wa:calls` record (SPEC §6); times in epoch ms. */
export interface CallRecord {
  id: string;
  callId?: string;
  direction?: string;
  number?: string;
  user?: string;
  outcome?: string;
  sipStatus?: number;
  reason?: string;
  startedAt?: number;
  answeredAt?: number;
  endedAt?: number;
}

export interface Device {
  username: string;
  numbers: string[];
  contacts: { uri: string; source: { address: string; port: number; transport: string }; userAgent?: string; expiresAt: number }[];
}

export interface PermissionRequestSent {
  sent: boolean;
  messageId?: string;
}
