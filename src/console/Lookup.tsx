// May we call this customer now, and if not, why and what can we do: the user's state on one
// business number, the decision a call would get now with every check, and a permission request.
import { useMemo, useState } from 'preact/hooks';
import { ApiError, seg, type Api, type Report } from './api.js';
import { CustomerCalls } from './Activity.js';
import { CapBar } from './Numbers.js';
import { MetaView } from './MetaView.js';
import { usePoll, type Load } from './poll.js';
import { RequestPermission } from './RequestPermission.js';
import { formatDateTime, formatRelative, formatWait } from './format.js';
import type { Decision, NumberView, UserView } from './types.js';
import { REASON_ADVICE, checkWords, noPermissionCause, permissionSource } from './words.js';
import { CallButton, type Phone } from './Phone.js';
import { NumberSelect, Problem } from './fields.js';

interface Subject {
  number: string;
  /** As typed: the edge normalises it as it would a dialled number. */
  user: string;
}

interface Result {
  decision: Decision;
  view: UserView;
}

/** An answer about the request itself (bad number, unknown number) rather than about the edge. */
const isAboutInput = (e: unknown): e is ApiError => e instanceof ApiError && (e.status === 400 || e.status === 404);

export function Lookup({ numbers, api, report, phone }: { numbers: NumberView[]; api: Api; report: Report; phone?: Phone }) {
  const [number, setNumber] = useState(numbers[0]?.number ?? '');
  const [user, setUser] = useState('');
  const [subject, setSubject] = useState<Subject | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  // One loop per subject: looking up another customer aborts the previous one's requests, so its
  // answer can never arrive after, and replace, the new one.
  const load = useMemo<Load | null>(
    () =>
      subject &&
      (async (signal) => {
        try {
          // The decision normalises the user as the PBX would dial them; the view then uses that E.164.
          const decision = await api<Decision>('GET', `/v1/decisions?from=${seg(subject.number)}&to=${seg(subject.user)}`, undefined, signal);
          const view = await api<UserView>('GET', `/v1/numbers/${seg(decision.from)}/users/${seg(decision.to)}`, undefined, signal);
          if (signal.aborted) return;
          setResult({ decision, view });
          setProblem(null);
        } catch (e) {
          if (signal.aborted) return;
          if (isAboutInput(e)) {
            setResult(null);
            setProblem(e.message);
          } else report(e);
        }
      }),
    [api, report, subject],
  );
  const refresh = usePoll(load);

  const submit = (ev: Event) => {
    ev.preventDefault();
    const typed = user.trim();
    if (!typed) {
      setProblem('Enter the WhatsApp user’s phone number, e.g. +447911123456.');
      return;
    }
    setResult(null);
    setProblem(null);
    setSubject({ number, user: typed });
  };

  return (
    <section aria-labelledby="lookup-title">
      <h2 id="lookup-title">Customer lookup</h2>
      <form class="lookup" onSubmit={submit}>
        <NumberSelect id="lookup-number" label="Business number" numbers={numbers} value={number} onChange={setNumber} />
        <div class="field">
          <label for="lookup-user">WhatsApp user</label>
          <input
            id="lookup-user"
            type="text"
            inputMode="tel"
            autocomplete="off"
            placeholder="+447911123456"
            aria-describedby="lookup-user-help"
            value={user}
            onInput={(e) => setUser(e.currentTarget.value)}
          />
          <small id="lookup-user-help">International number, as the PBX would dial it (+44…, 0044…).</small>
        </div>
        <button type="submit" disabled={numbers.length === 0}>
          Look up
        </button>
      </form>
      <Problem text={problem} />
      {result && <UserResult result={result} api={api} report={report} phone={phone} onChanged={refresh} />}
    </section>
  );
}

function UserResult({ result, api, report, phone, onChanged }: { result: Result; api: Api; report: Report; phone?: Phone; onChanged: () => void }) {
  const { decision, view } = result;
  return (
    <div class="result" aria-live="polite">
      <h3>
        {view.user} <span class="muted">on</span> {view.number}
      </h3>
      <DecisionBox decision={decision} />
      <CallButton phone={phone} decision={decision} />
      <MetaView meta={decision.meta} />
      <div class="facts">
        <dl>
          <dt>Permission</dt>
          <dd>
            <Permission view={view} />
          </dd>
          <dt>Unanswered in a row</dt>
          <dd>
            <Unanswered view={view} />
          </dd>
          <dt>Connected with this customer in 24 h</dt>
          <dd>
            <CapBar value={view.connected24h} cap={view.limits.connected24h} label="Connected calls with this customer in 24 h" />
          </dd>
          <MetaHolds view={view} />
          <dt>Permission requests left</dt>
          <dd>
            {view.permissionRequests.remaining24h} today <span class="muted">(of {view.limits.permissionRequests.per24h} a day)</span>,{' '}
            {view.permissionRequests.remaining7d} this week <span class="muted">(of {view.limits.permissionRequests.per7d} in 7 days)</span>
          </dd>
        </dl>
        <RequestPermission key={`${view.number} ${view.user}`} view={view} api={api} report={report} onChanged={onChanged} />
      </div>
      <CustomerCalls key={`${view.number} ${view.user}`} number={view.number} user={view.user} api={api} report={report} />
    </div>
  );
}

function DecisionBox({ decision }: { decision: Decision }) {
  return (
    <div class={decision.admitted ? 'decision allowed' : 'decision refused'}>
      <p class="verdict">
        {decision.admitted ? (
          <>A call now would be placed: every check passes.</>
        ) : (
          <>
            A call now would be refused: <code>{decision.code}</code> <code>{decision.reason}</code>
          </>
        )}
      </p>
      {!decision.admitted && decision.reason && REASON_ADVICE[decision.reason] && (
        <p>
          <strong>What to do:</strong> {REASON_ADVICE[decision.reason]}
          {decision.retryAfter !== undefined && ` Possible again in ${formatWait(decision.retryAfter)}.`}
        </p>
      )}
      <ol class="checks" aria-label="Checks, in the order the edge runs them">
        {decision.checks.map((c) => (
          <li key={c.check} class={c.result}>
            <span class="mark" aria-hidden="true">
              {c.result === 'pass' ? '✓' : '✗'}
            </span>
            <span class="result-word">{c.result}</span>
            <span class="words">{checkWords(c.check, c.result)}</span>
            {c.result === 'fail' && <code>{c.check}</code>}
          </li>
        ))}
      </ol>
    </div>
  );
}

function Permission({ view }: { view: UserView }) {
  const p = view.permission;
  if (p.kind === 'none') {
    return (
      <span>
        None: {noPermissionCause(p.cause)}
        {p.text && <> (Meta: “{p.text}”)</>}
      </span>
    );
  }
  const source = permissionSource(p.source);
  if (p.kind === 'permanent') return <span>Permanent{source && `, ${source}`}; it does not expire</span>;
  const expires = p.expiresAt ? Date.parse(p.expiresAt) : undefined;
  return (
    <span>
      Temporary{source && `, ${source}`}
      {expires !== undefined && (
        <>
          ; expires <time dateTime={p.expiresAt}>{formatDateTime(expires)}</time> ({formatRelative(expires)})
        </>
      )}
    </span>
  );
}

/** Holds Meta's relayed refusals put in place (shown only while one lasts). */
function MetaHolds({ view }: { view: UserView }) {
  const { pairCapUntil, numberRateUntil } = view.metaHolds;
  if (!pairCapUntil && !numberRateUntil) return null;
  const until = (iso: string) => {
    const at = Date.parse(iso);
    return (
      <time dateTime={iso}>
        {formatDateTime(at)} ({formatRelative(at)})
      </time>
    );
  };
  return (
    <>
      <dt>Held by Meta's refusal</dt>
      <dd>
        {pairCapUntil && <div>Meta said this customer's daily call cap is reached: calls wait until {until(pairCapUntil)}</div>}
        {numberRateUntil && <div>Meta said this number's call rate is reached: calls wait until {until(numberRateUntil)}</div>}
      </dd>
    </>
  );
}

function Unanswered({ view }: { view: UserView }) {
  const { nudgeAt, revokeAt, stopAt } = view.limits.unanswered;
  const n = view.consecutiveUnanswered;
  const thresholds = [
    nudgeAt !== null && `Meta nudges the customer at ${nudgeAt}`,
    revokeAt !== null && `the permission is revoked at ${revokeAt}`,
    stopAt !== null && `the edge stops calling at ${stopAt}`,
  ].filter(Boolean);
  return (
    <span class="capbar">
      {revokeAt !== null && (
        // Green below the nudge, amber from it, red at the revoke threshold.
        <meter min={0} max={revokeAt} value={Math.min(n, revokeAt)} low={(nudgeAt ?? revokeAt) - 0.5} high={revokeAt - 0.5} optimum={0} aria-label="Unanswered calls in a row against the revoke threshold" />
      )}
      <span>
        {n} {revokeAt !== null && <span class="muted">of {revokeAt}</span>}
        {thresholds.length > 0 && <small class="block">{thresholds.join('; ')}.</small>}
      </span>
    </span>
  );
}
