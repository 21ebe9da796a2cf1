// The /v1 answers the console reads (SPEC §4): derived from the routes' own zod schemas, so the
// page cannot drift from what the edge sends. Type-only imports: nothing of the server (nor zod)
// reaches the browser bundle.
import type { z } from 'zod';
import type { numberView } from '../http/routes/numbers.js';
import type { userView, requestAccepted } from '../http/routes/users.js';
import type { decision } from '../http/routes/decisions.js';
import type { device } from '../http/routes/devices.js';

export type NumberView = z.output<typeof numberView>;
export type UserView = z.output<typeof userView>;
export type Decision = z.output<typeof decision>;
export type Check = Decision['checks'][number];
export type Device = z.output<typeof device>;
export type PermissionRequestSent = z.output<typeof requestAccepted>;

/**
 * A `wa:calls` record (SPEC §6); times in epoch ms. The route declares records as loose string and
 * number fields (older edges wrote other ones), so the fields the page reads are named here, all optional.
 */
export interface CallRecord {
  id: string;
  callId?: string;
  direction?: string;
  number?: string;
  user?: string;
  outcome?: string;
  sipStatus?: number;
  /** From the end-reason table (src/domain/endReasons.ts), or an older edge's free string. */
  reason?: string;
  startedAt?: number;
  answeredAt?: number;
  endedAt?: number;
}
