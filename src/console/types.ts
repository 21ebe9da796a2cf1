// The /v1 answers the console reads (SPEC §4), as src/http/routes/* declare them.

export interface NumberView {
  number: string;
  calling: boolean;
  region: string | null;
  businessInitiatedEligible: boolean;
  activeCalls: number;
  connected24h: number;
  limits: { activeCalls: number; connected24h: number | null };
}

export interface UserView {
  number: string;
  user: string;
  permission: { kind: 'none' | 'temporary' | 'permanent'; expiresAt?: string; source?: string; cause?: string };
  consecutiveUnanswered: number;
  connected24h: number;
  permissionRequests: {
    last24h: number;
    last7d: number;
    remaining24h: number;
    remaining7d: number;
    /** Seconds until another request is allowed; 0: now. */
    waitSeconds: number;
    /** The edge sends requests through the Cloud API; false: they are sent elsewhere and recorded. */
    viaCloudApi: boolean;
  };
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
