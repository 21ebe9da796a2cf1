// Every business number: its calling state and the action that changes it (with a confirmation
// naming the number), Meta's restriction (a banner with its end date) and warning, region,
// eligibility, active calls, and connected calls in 24 h against the caps (Meta's is per customer).
import { useEffect, useRef, useState } from 'preact/hooks';
import { seg, type Api, type Report } from './api.js';
import { formatCount, formatDateTime, formatRegion } from './format.js';
import type { NumberView } from './types.js';
import { MetaCapLine } from './MetaView.js';

export function Numbers({ numbers, api, report, onChanged }: { numbers: NumberView[]; api: Api; report: Report; onChanged: () => void }) {
  const [asking, setAsking] = useState<NumberView | null>(null);
  return (
    <section aria-labelledby="numbers-title">
      <h2 id="numbers-title" tabIndex={-1}>
        Numbers
      </h2>
      {numbers.map((n) => (
        <MetaNotice key={n.number} n={n} />
      ))}
      {numbers.length === 0 ? (
        <p>No business number is configured (numbers[] in the edge configuration).</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">Calling</th>
                <th scope="col">Region</th>
                <th scope="col">Business-initiated calls</th>
                <th scope="col">Active calls</th>
                <th scope="col">Connected in 24 h</th>
              </tr>
            </thead>
            <tbody>
              {numbers.map((n) => (
                <tr key={n.number}>
                  <th scope="row" data-label="Number">
                    {n.number}
                  </th>
                  <td data-label="Calling">
                    <CallingState number={n} onAsk={() => setAsking(n)} />
                  </td>
                  <td data-label="Region">{formatRegion(n.region)}</td>
                  <td data-label="Business-initiated calls">{n.businessInitiatedEligible ? 'Allowed' : 'Not allowed in this region'}</td>
                  <td data-label="Active calls">
                    <span>
                      {formatCount(n.activeCalls)} <span class="muted">of {formatCount(n.limits.activeCalls)}</span>
                    </span>
                  </td>
                  <td data-label="Connected in 24 h">
                    <CapBar value={n.connected24h} cap={n.limits.connected24h} label={`Connected calls in 24 h for ${n.number}`} />
                    <div class="muted">{n.limits.connected24hPerUser === null ? 'No cap per customer' : `Cap: ${formatCount(n.limits.connected24hPerUser)} per customer`}</div>
                    <MetaCapLine n={n} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {asking && (
        <ConfirmCalling
          number={asking}
          onCancel={() => setAsking(null)}
          onConfirm={async () => {
            try {
              await api('PUT', `/v1/numbers/${seg(asking.number)}/calling`, { enabled: !asking.calling });
              setAsking(null);
              onChanged();
            } catch (e) {
              setAsking(null);
              report(e);
            }
          }}
        />
      )}
    </section>
  );
}

/**
 * Meta's restriction of business-initiated calls on a number (with its end date), or the warning
 * that comes before one. Lifting it by hand is an API call (DELETE /v1/numbers/{n}/restriction).
 */
function MetaNotice({ n }: { n: NumberView }) {
  if (n.restriction) {
    return (
      <p class="banner error" role="alert">
        Meta has restricted business-initiated calls from {n.number} until {formatDateTime(Date.parse(n.restriction.until))}: calls to WhatsApp users are refused (403 account_restricted)
        until then. Customers can still call you.
      </p>
    );
  }
  if (n.warning) {
    return (
      <p class="banner warn" role="status">
        Warning from Meta for {n.number} ({formatDateTime(Date.parse(n.warning.at))}): {n.warning.text}.
      </p>
    );
  }
  return null;
}

/** The state in words, then the action: "Calling: on — Turn off". */
function CallingState({ number, onAsk }: { number: NumberView; onAsk: () => void }) {
  const action = number.calling ? 'Turn off' : 'Turn on';
  return (
    <span class={number.calling ? 'calling on' : 'calling off'}>
      <span class="calling-state">Calling: {number.calling ? 'on' : 'off'}</span>
      <TelnyxSwitchLine number={number} />
      <span aria-hidden="true"> — </span>
      <button type="button" class="secondary" aria-label={`${action} calling for ${number.number}`} onClick={onAsk}>
        {action}
      </button>
    </span>
  );
}

/** With telnyx.api: what Telnyx's switch says and, when its API did not answer, that this is the last known state. */
function TelnyxSwitchLine({ number }: { number: NumberView }) {
  const t = number.telnyxCalling;
  if (!t) return null;
  const state = t.enabled === null ? 'not read yet' : t.enabled ? 'on' : 'off';
  return (
    <span class="muted telnyx-switch">
      {' '}
      (at Telnyx: {state}
      {t.error ? `; Telnyx's API did not answer (${t.error}): the last known state stands` : ''})
    </span>
  );
}

/** A figure against its cap, as a bar and in words; no bar when the cap is off. */
export function CapBar({ value, cap, label }: { value: number; cap: number | null; label: string }) {
  if (cap === null) {
    return (
      <span>
        {formatCount(value)} <span class="muted">(no cap)</span>
      </span>
    );
  }
  return (
    <span class="capbar">
      <meter min={0} max={cap} value={Math.min(value, cap)} low={cap * 0.8} high={cap * 0.95} optimum={0} aria-label={label} />
      <span>
        {formatCount(value)} <span class="muted">of {formatCount(cap)}</span>
      </span>
    </span>
  );
}

/** A modal <dialog>: focus moves into it, Escape cancels, nothing changes until confirmed. */
function ConfirmCalling({ number, onCancel, onConfirm }: { number: NumberView; onCancel: () => void; onConfirm: () => Promise<void> }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const turningOff = number.calling;
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={onCancel}>
      <h3 id="confirm-title">{turningOff ? `Turn calling off for ${number.number}?` : `Turn calling on for ${number.number}?`}</h3>
      <p>
        {turningOff
          ? `Every edge instance will refuse calls from ${number.number} to WhatsApp users (403 calling_disabled) until calling is turned on again. Calls in progress continue.`
          : `Every edge instance will place calls from ${number.number} again, subject to the other checks.`}
      </p>
      {number.telnyxCalling && (
        <p class="warn-line">
          This changes WhatsApp calling for {number.number} at Telnyx itself: Mission Control shows the change too{turningOff ? ', and WhatsApp users cannot call the number while it is off' : ''}.
        </p>
      )}
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await onConfirm();
          }}
        >
          {turningOff ? `Turn off ${number.number}` : `Turn on ${number.number}`}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
