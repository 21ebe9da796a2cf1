// The /v1 answers the console reads (SPEC §4): derived from the zod schemas the routes answer with,
// so the page and the API cannot drift apart. Type-only imports: nothing of the server is bundled.
import type { z } from 'zod';
import type { callRecord } from '../http/routes/calls.js';
import type { decision } from '../http/routes/decisions.js';
import type { device } from '../http/routes/devices.js';
import type { numberView } from '../http/routes/numbers.js';
import type { seedAnswer } from '../http/routes/permissions.js';
import type { requestAccepted, userView } from '../http/routes/users.js';

export type NumberView = z.output<typeof numberView>;
export type UserView = z.output<typeof userView>;
export type Decision = z.output<typeof decision>;
export type Check = Decision['checks'][number];
/** A `wa:calls` record (SPEC §6); times in epoch ms. */
export type CallRecord = z.output<typeof callRecord>;
export type Device = z.output<typeof device>;
export type PermissionRequestSent = z.output<typeof requestAccepted>;
/** Meta's call_permissions beside the edge's checks (whatsapp.cloudApi.permissionLookup). */
export type MetaDecisionView = Decision['meta'];
export type SeedAnswer = z.output<typeof seedAnswer>;
import type { tenantSummary, tokenView } from '../http/routes/tenants.js';
/** A tenant as GET /v1/tenants lists it (SPEC §2a). */
export type TenantSummary = z.output<typeof tenantSummary>;
export type TokenView = z.output<typeof tokenView>;
