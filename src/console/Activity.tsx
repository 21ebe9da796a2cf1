// What happened and who is there: recent call records (SPEC §6) and registered softphones.
import { formatRelative, formatShortDateTime, formatTime } from './format.js';
import type { CallRecord, Device } from './types.js';
import { CALL_REASON_WORDS, outcomeWords } from './words.js';

export function Calls({ calls }: { calls: CallRecord[] }) {
  return (
    <section aria-labelledby="calls-title">
      <h2 id="calls-title">Recent calls</h2>
      {calls.length === 0 ? (
        <p>No call recorded yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Direction</th>
                <th scope="col">Number</th>
                <th scope="col">User</th>
                <th scope="col">Outcome</th>
                <th scope="col">SIP status</th>
                <th scope="col">Reason</th>
                <th scope="col">Answered</th>
                <th scope="col">Ended</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={c.id}>
                  <td data-label="Started" class="nowrap">
                    {c.startedAt !== undefined ? formatShortDateTime(c.startedAt) : ''}
                  </td>
                  <td data-label="Direction">{c.direction === 'outbound' ? 'to WhatsApp' : c.direction === 'inbound' ? 'from WhatsApp' : (c.direction ?? '')}</td>
                  <td data-label="Number">{c.number}</td>
                  <td data-label="User">{c.user}</td>
                  <td data-label="Outcome">
                    <span class={`outcome ${c.outcome ?? ''}`}>{outcomeWords(c.outcome)}</span>
                  </td>
                  <td data-label="SIP status">{c.sipStatus}</td>
                  <td data-label="Reason">
                    {c.reason && (
                      <span>
                        {CALL_REASON_WORDS[c.reason] && <span class="block-words">{CALL_REASON_WORDS[c.reason]} </span>}
                        <code>{c.reason}</code>
                      </span>
                    )}
                  </td>
                  <td data-label="Answered">{c.answeredAt !== undefined ? formatTime(c.answeredAt) : '—'}</td>
                  <td data-label="Ended">{c.endedAt !== undefined ? formatTime(c.endedAt) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
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
