// A tenant as the API stores it (SPEC §2a): its numbers, trunks and devices are the very schema
// pieces of the configuration file (src/config/schema.ts), held to the same cross-checks
// (checkBusinessEntries), so a problem is reported with the same key path (`trunks[0].sources[1]:
// not a CIDR`). What only a tenant has: a name, a SIP domain, limits.
import { z } from 'zod';
import { checkBusinessEntries, cloudApiSchema, deviceSchema, metaWebhookSchema, numberSchema, telnyxApiSchema, telnyxWebhookSchema, trunkSchema } from '../config/schema.js';

/** The tenant of the configuration file's trunks, devices and numbers. */
export const DEFAULT_TENANT = 'default';

// Starts with a letter: the tenant's Redis keys (`wa:t{name}:…`) then never share a hash tag with a
// number's (digits) or a device's (`dev:…`).
export const tenantName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter (at most 63)')
  .meta({ description: 'The tenant\'s name, as in its URLs', example: 'acme' });

const hostname = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'not a DNS name'));

const limit = z.number().int().min(1).nullable();

export const tenantLimitsSchema = z
  .object({
    /** Active calls of all the tenant's numbers together, placed and received (SPEC §3 tenant_limit). */
    maxConcurrentCalls: limit.default(null),
    /** Admissions per second (a sliding second), placed and received, all its numbers together. */
    callsPerSecond: limit.default(null),
    /** How many softphones the tenant may configure. */
    devices: limit.default(null),
  })
  .strict()
  .meta({ description: 'null: no limit beyond the platform\'s own (whatsapp.maxConcurrentCalls per number)' });

/**
 * A tenant's own Meta app and Telnyx account (SPEC §2a), each block the file's own schema piece.
 * A block left out is the file's: a webhook naming the tenant's numbers verifies against the file's
 * secret or the tenant's; its permission requests and calling switch use the tenant's API
 * credentials when set, else the file's (src/tenants/fleet.ts credentialsFor).
 */
export const tenantCredentialsSchema = z
  .object({
    whatsapp: z.object({ webhook: metaWebhookSchema.optional(), cloudApi: cloudApiSchema.optional() }).strict().prefault({}),
    telnyx: z.object({ webhook: telnyxWebhookSchema.optional(), api: telnyxApiSchema.optional() }).strict().prefault({}),
  })
  .strict();

export const tenantSchema = z
  .object({
    name: tenantName,
    // The SIP domain its softphones register to and call from (REGISTER To host, INVITE From host);
    // also the digest realm they are challenged with (src/tenants/fleet.ts).
    domain: hostname.optional(),
    limits: tenantLimitsSchema.prefault({}),
    trunks: z.array(trunkSchema).default([]),
    devices: z.array(deviceSchema).default([]),
    numbers: z.array(numberSchema).default([]),
    credentials: tenantCredentialsSchema.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    checkBusinessEntries(t, ctx);
    if (t.limits.devices !== null && t.devices.length > t.limits.devices) {
      ctx.addIssue({ code: 'custom', path: ['devices'], message: `more devices than limits.devices (${t.limits.devices})` });
    }
  });

/** A tenant as stored: the input form, so what is read back validates exactly as what was written. */
export type StoredTenant = z.input<typeof tenantSchema>;
export type Tenant = z.output<typeof tenantSchema>;
export type TenantLimits = Tenant['limits'];
export type TenantCredentials = z.output<typeof tenantCredentialsSchema>;
