// Every business number: the calling switch (with a confirmation), region, eligibility, active
// calls, and connected calls in 24 h against the cap.
import { useEffect, useRef, useState } from 'preact/hooks';
import { seg, type Api } from './api.js';
import { formatCount, formatRegion } from './format.js';
import type { NumberView } from './types.js';
import type { Report } from './App.js';
import { MetaCapLine } from './MetaView.js';

export function Numbers({ numbers, api, report, onChanged }: { numbers: NumberView[]; api: Api; report: Report; onChanged: () => Promise<void> }) {
  const [asking, setAsking] = useState<NumberView | null>(null);
  return (
    <section aria-labelledby="numbers-title">
      <h2 id="numbers-title" tabIndex={-1}>
        Numbers
      </h2>
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
                    <button type="button" role="switch" class={n.calling ? 'switch on' : 'switch off'} aria-checked={n.calling} aria-label={`Calling for ${n.number}`} onClick={() => setAsking(n)}>
                      {n.calling ? 'On' : 'Off'}
                    </button>
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
              await onChanged();
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
      <h3 id="confirm-title">{turningOff ? `Switch calling off for ${number.number}?` : `Switch calling on for ${number.number}?`}</h3>
      <p>
        {turningOff
          ? 'Every edge instance will refuse calls from this number to WhatsApp users (403 calling_disabled) until it is switched on again. Calls in progress continue.'
          : 'Every edge instance will place calls from this number again, subject to the other checks.'}
      </p>
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await onConfirm();
          }}
        >
          {turningOff ? 'Switch off' : 'Switch on'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
