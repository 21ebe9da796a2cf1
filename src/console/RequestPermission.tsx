// "Request permission" for one customer: says before the click when it cannot be used (a permanent
// permission, the wait SPEC §7 imposes), and after it whether anything reached the customer. A
// request the edge cannot send (no Cloud API) is not counted unless the agent records one sent from
// their own WhatsApp tool: an explicit second action, never a side effect.
import { useState } from 'preact/hooks';
import { ApiError, EdgeUnreachable, seg, type Api, type Report } from './api.js';
import { formatDateTime, formatWait } from './format.js';
import type { PermissionRequestSent, UserView } from './types.js';

type Answer = { tone: 'ok' | 'warn' | 'error'; text: string };

/** Answers about this request; anything else (a lost edge, lost state, a refused token) is the page's to say. */
const ABOUT_THE_REQUEST = new Set([400, 404, 409, 422, 429, 502, 504]);

export function RequestPermission({ view, api, report, onChanged }: { view: UserView; api: Api; report: Report; onChanged: () => void }) {
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const { waitSeconds, via, last } = view.permissionRequests;
  const viaCloudApi = via !== null;
  const limits = view.limits.permissionRequests;
  const permanent = view.permission.kind === 'permanent';
  const why = permanent
    ? 'Not needed: the customer has given permanent permission.'
    : waitSeconds > 0
      ? `Meta allows ${limits.per24h} a day and ${limits.per7d} a week: the next request is allowed in ${formatWait(waitSeconds)} (${formatDateTime(Date.now() + waitSeconds * 1000)}).`
      : null;

  const post = async (sentElsewhere: boolean) => {
    setBusy(true);
    try {
      const url = `/v1/numbers/${seg(view.number)}/users/${seg(view.user)}/permission-requests`;
      const r = await api<PermissionRequestSent>('POST', url, sentElsewhere ? { sentElsewhere: true } : undefined);
      setAnswer(r.sent ? { tone: 'ok', text: sentWords(r) } : { tone: 'ok', text: 'Recorded: a permission request sent from your WhatsApp tool. It counts against the allowance.' });
      onChanged();
    } catch (e) {
      setAnswer(failure(e, limits));
      if (!(e instanceof ApiError && ABOUT_THE_REQUEST.has(e.status))) report(e);
      onChanged();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="request">
      <button type="button" onClick={() => void post(false)} disabled={busy || why !== null} aria-describedby="request-why">
        Request permission
        {!permanent && waitSeconds > 0 && <span class="wait"> · in {formatWait(waitSeconds)}</span>}
      </button>
      {why !== null ? (
        <p id="request-why" class="muted">
          {why}
        </p>
      ) : (
        !viaCloudApi && (
          <p id="request-why" class="muted">
            The edge cannot send requests from this number (neither Telnyx's API nor a WhatsApp Cloud API is configured for it): send one from your WhatsApp tool, then record it.
          </p>
        )
      )}
      {last && <LastRequest last={last} />}
      {answer && (
        <p class={`answer ${answer.tone}`} role="status">
          {answer.text}
        </p>
      )}
      {!viaCloudApi && !permanent && waitSeconds === 0 && (
        <button type="button" class="secondary" onClick={() => void post(true)} disabled={busy}>
          Record a request sent from my WhatsApp tool
        </button>
      )}
    </div>
  );
}

function sentWords(r: PermissionRequestSent): string {
  const id = r.messageId ? ` (message ${r.messageId})` : '';
  if (r.channel !== 'telnyx') return `Permission request sent through the WhatsApp Cloud API${id}. The customer answers in WhatsApp.`;
  const what = r.kind === 'template' ? 'the approved template (outside the 24 h window)' : 'an interactive request (inside the 24 h window)';
  return `Permission request sent through Telnyx: ${what}${id}. The customer answers in WhatsApp.`;
}

const DELIVERY_WORDS = { sent: 'sent', delivered: 'delivered', failed: 'failed', unconfirmed: 'not confirmed' } as const;

/** The last request and what Telnyx reported of it (SPEC §4a). */
function LastRequest({ last }: { last: NonNullable<UserView['permissionRequests']['last']> }) {
  const delivery = last.delivery ? `: ${DELIVERY_WORDS[last.delivery.status]}${last.delivery.error ? ` (${last.delivery.error})` : ''}` : '';
  const via = last.channel === 'elsewhere' ? 'recorded as sent elsewhere' : `sent through ${last.channel === 'telnyx' ? 'Telnyx' : 'the Cloud API'}`;
  return (
    <p class="muted last-request">
      Last request {formatDateTime(Date.parse(last.sentAt))}, {via}
      {last.kind ? ` (${last.kind})` : ''}
      {delivery}
    </p>
  );
}

function failure(e: unknown, limits: UserView['limits']['permissionRequests']): Answer {
  if (e instanceof ApiError && e.code === 'cloud_api_not_configured') {
    return { tone: 'warn', text: 'Not sent: no Cloud API configured; send it from your WhatsApp tool, then record it here. Nothing was counted.' };
  }
  if (e instanceof ApiError && e.code === 'permission_request_limited') {
    const wait = e.retryAfter;
    const at = wait !== undefined ? ` (${formatDateTime(Date.now() + wait * 1000)})` : '';
    return { tone: 'warn', text: `Not sent: Meta allows ${limits.per24h} a day and ${limits.per7d} a week. The next request is allowed in ${wait !== undefined ? formatWait(wait) : 'a while'}${at}.` };
  }
  if (e instanceof ApiError && e.code === 'permission_exists') return { tone: 'ok', text: 'Not needed: the customer has given permanent permission.' };
  if (e instanceof ApiError && (e.code === 'telnyx_refused' || e.code === 'telnyx_unauthorized' || e.code === 'upstream_timeout')) return { tone: 'error', text: `Not sent: ${e.message}` };
  if (e instanceof ApiError) return { tone: 'error', text: `Not sent: ${e.message}` };
  if (e instanceof EdgeUnreachable) return { tone: 'error', text: 'Not sent: the edge is not answering.' };
  return { tone: 'error', text: `Not sent: ${String(e)}` };
}
