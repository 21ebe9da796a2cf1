// What happened and who is there: recent call records (SPEC §6), all or one customer's, and
// registered softphones.
import { useCallback, useState } from 'preact/hooks';
import { ApiError, seg, type Api, type Report } from './api.js';
import { formatDuration, formatRelative, formatZonedDateTime } from './format.js';
import { usePoll } from './poll.js';
import type { CallRecord, Device } from './types.js';
import { callReasonWords, outcomeWords } from './words.js';
import { Problem } from './fields.js';

const RECENT = 20;

/** The newest calls, or one customer's (GET /v1/calls?user=), refreshed with the page. */
export function Calls({ api, report }: { api: Api; report: Report }) {
  const [typed, setTyped] = useState('');
  const [customer, setCustomer] = useState<string | null>(null);
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const filter = customer ? `&user=${seg(customer)}` : '';
        const r = await api<{ calls: CallRecord[] }>('GET', `/v1/calls?limit=${RECENT}${filter}`, undefined, signal);
        if (signal.aborted) return;
        setCalls(r.calls);
        setProblem(null);
      } catch (e) {
        if (e instanceof ApiError && e.status === 400) {
          setCalls(null);
          setProblem('Enter the customer as an international number (+447911123456) or a business-scoped user id.');
        } else report(e);
      }
    },
    [api, report, customer],
  );
  usePoll(load);

  const submit = (ev: Event) => {
    ev.preventDefault();
    const value = typed.trim();
    setCalls(null);
    setCustomer(value === '' ? null : value);
  };

  return (
    <section aria-labelledby="calls-title">
      <h2 id="calls-title">Recent calls</h2>
      <form class="lookup" onSubmit={submit} role="search" aria-label="Filter recent calls">
        <div class="field">
          <label for="calls-customer">Customer</label>
          <input id="calls-customer" type="text" inputMode="tel" autocomplete="off" placeholder="+447911123456" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </div>
        <button type="submit" class="secondary">
          Show calls
        </button>
        {customer && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setTyped('');
              setCalls(null);
              setCustomer(null);
            }}
          >
            Show all customers
          </button>
        )}
      </form>
      <Problem text={problem} />
      {calls === null ? !problem && <p aria-live="polite">Loading…</p> : <CallTable calls={calls} empty={customer ? `No call with ${customer} among the recent records.` : 'No call recorded yet.'} />}
    </section>
  );
}

/** In a lookup: the customer's recent calls on this number. */
export function CustomerCalls({ number, user, api, report }: { number: string; user: string; api: Api; report: Report }) {
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const r = await api<{ calls: CallRecord[] }>('GET', `/v1/calls?limit=5&user=${seg(user)}&number=${seg(number)}`, undefined, signal);
        if (!signal.aborted) setCalls(r.calls);
      } catch (e) {
        report(e);
      }
    },
    [api, report, number, user],
  );
  usePoll(load);
  return (
    <div class="customer-calls">
      <h4>Recent calls with this customer</h4>
      {calls === null ? <p aria-live="polite">Loading…</p> : <CallTable calls={calls} empty="No call with this customer among the recent records." />}
    </div>
  );
}

/** Call records as a table (one card per call at a phone's width). */
export function CallTable({ calls, empty }: { calls: CallRecord[]; empty: string }) {
  if (calls.length === 0) return <p>{empty}</p>;
  return (
    <div class="table-wrap">
      <table class="cards calls">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Direction</th>
            <th scope="col">Number</th>
            <th scope="col">Customer</th>
            <th scope="col">Outcome</th>
            <th scope="col">Duration</th>
            <th scope="col">Call id</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((c) => (
            <tr key={c.id}>
              <td data-label="Started">{c.startedAt !== undefined ? formatZonedDateTime(c.startedAt) : ''}</td>
              <td data-label="Direction">{c.direction === 'outbound' ? 'to WhatsApp' : c.direction === 'inbound' ? 'from WhatsApp' : (c.direction ?? '')}</td>
              <td data-label="Number">{c.number}</td>
              <td data-label="Customer">{c.user}</td>
              <td data-label="Outcome">
                <Outcome call={c} />
              </td>
              <td data-label="Duration">
                <Duration call={c} />
              </td>
              <td data-label="Call id">{c.callId && <CallId id={c.callId} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The words of the end-reason table; the outcome word and SIP status for support beside them. */
function Outcome({ call }: { call: CallRecord }) {
  const words = callReasonWords(call.reason);
  return (
    <span>
      <span class={`outcome ${call.outcome ?? ''}`}>{words ?? outcomeWords(call.outcome)}</span>
      <small class="block">
        {outcomeWords(call.outcome)}
        {call.sipStatus !== undefined && <> · SIP {call.sipStatus}</>}
        {call.reason && !words && (
          <>
            {' '}
            · <code>{call.reason}</code>
          </>
        )}
      </small>
    </span>
  );
}

function Duration({ call }: { call: CallRecord }) {
  if (call.endedAt === undefined) return null;
  if (call.answeredAt !== undefined) return <span>{formatDuration(call.endedAt - call.answeredAt)}</span>;
  if (call.startedAt === undefined) return <span class="muted">not answered</span>;
  return <span class="muted">not answered; ended after {formatDuration(call.endedAt - call.startedAt)}</span>;
}

/** The SIP Call-ID to quote to support: one click copies it (or selects it where the clipboard is not allowed). */
function CallId({ id }: { id: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (ev: Event) => {
    try {
      await navigator.clipboard.writeText(id);
      setCopied('Copied');
    } catch {
      const code = (ev.currentTarget as HTMLElement).parentElement?.querySelector('code');
      if (code) window.getSelection()?.selectAllChildren(code);
      setCopied('Selected: press Ctrl+C');
    }
  };
  return (
    <span class="callid">
      <code>{id}</code>
      <button type="button" class="secondary small" aria-label={`Copy call id ${id}`} onClick={copy}>
        Copy
      </button>
      {copied && (
        <span role="status" class="muted">
          {copied}
        </span>
      )}
    </span>
  );
}

export function Softphones({ devices }: { devices: Device[] }) {
  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">Softphones</h2>
      {devices.length === 0 ? (
        <p>No softphone is configured (devices[] in the edge configuration).</p>
      ) : (
        <ul class="devices">
          {devices.map((d) => (
            <li key={d.username}>
              <p>
                <strong>{d.username}</strong> <span class="muted">calls as {d.numbers.join(', ')}</span>
              </p>
              {d.contacts.length === 0 ? (
                <p class="muted">Not registered.</p>
              ) : (
                <ul>
                  {d.contacts.map((c) => (
                    <li key={c.uri}>
                      <code>{c.uri}</code> from {c.source.address}:{c.source.port} over {c.source.transport.toUpperCase()}
                      {c.userAgent && <> · {c.userAgent}</>} · registration expires {formatRelative(c.expiresAt)}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
