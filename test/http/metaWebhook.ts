// Meta's webhook envelope around one call_permission_reply (the shape of Meta's webhook reference),
// for the tests that deliver one to POST /v1/webhooks/whatsapp.
import { BUSINESS, USER } from '../helpers/config.js';
import { T0 } from '../helpers/state.js';
import { PHONE_NUMBER_ID } from './fixture.js';

export type Reply = { response: 'accept' | 'reject'; is_permanent?: boolean; expiration_timestamp?: number | string };

/** Meta's envelope around one call_permission_reply message. */
export function permissionReply(reply: Reply, opts: { id?: string; from?: string; metadata?: Record<string, string> } = {}) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA_ID',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: opts.metadata ?? { display_phone_number: BUSINESS.slice(1), phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Ada' }, wa_id: USER.slice(1) }],
              messages: [
                {
                  context: { from: BUSINESS.slice(1), id: 'wamid.REQUEST' },
                  from: opts.from ?? USER.slice(1),
                  id: opts.id ?? 'wamid.REPLY1',
                  timestamp: String(T0 / 1000),
                  type: 'interactive',
                  interactive: { type: 'call_permission_reply', call_permission_reply: { ...reply, response_source: 'user_action' } },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

