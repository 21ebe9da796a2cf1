// Import permissions the edge has not seen (POST /v1/numbers/{number}/permissions): paste or pick
// a CSV `user,kind,expiresAt,source`; the edge validates each row and says what it did with it.
import { useState } from 'preact/hooks';
import { ApiError, RawBody, seg, type Api, type Report } from './api.js';
import type { NumberView, SeedAnswer } from './types.js';
import { NumberSelect, Problem } from './fields.js';


export function SeedPermissions({ numbers, api, report }: { numbers: NumberView[]; api: Api; report: Report }) {
  const [number, setNumber] = useState(numbers[0]?.number ?? '');
  const [csv, setCsv] = useState('');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<SeedAnswer | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const pick = async (ev: Event) => {
    const file = (ev.currentTarget as HTMLInputElement).files?.[0];
    if (file) setCsv(await file.text());
  };

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      setAnswer(await api<SeedAnswer>('POST', `/v1/numbers/${seg(number)}/permissions`, new RawBody(csv, 'text/csv')));
    } catch (e) {
      setAnswer(null);
      if (e instanceof ApiError && e.status < 500) setProblem(`Not imported: ${e.message}`);
      else report(e);
    } finally {
      setBusy(false);
    }
  };

  const problems = answer?.rows.filter((r) => r.result === 'invalid' || r.result === 'failed') ?? [];
  return (
    <details class="seed">
      <summary>Import permissions (CSV)</summary>
      <p class="muted">
        Permissions customers gave before the edge saw them: one row per customer, <code>user,kind,expiresAt,source</code> (kind temporary or permanent; expiresAt
        optional). A row never weakens a permission the edge holds; importing the same file twice changes nothing.
      </p>
      <form onSubmit={submit}>
        <NumberSelect id="seed-number" label="Import for" numbers={numbers} value={number} onChange={setNumber} />
        <div class="field">
          <label for="seed-file">CSV file</label>
          <input id="seed-file" type="file" accept=".csv,text/csv" onChange={pick} />
        </div>
        <div class="field">
          <label for="seed-csv">Rows</label>
          <textarea id="seed-csv" rows={5} value={csv} placeholder={'user,kind,expiresAt,source\n+447911123456,permanent,,crm'} onInput={(e) => setCsv(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={busy || csv.trim() === '' || numbers.length === 0}>
          Import
        </button>
      </form>
      <Problem text={problem} />
      {answer && (
        <div role="status">
          <p>
            {answer.granted} granted, {answer.kept} already held, {answer.invalid} invalid{answer.failed > 0 && `, ${answer.failed} not applied (Redis did not answer: import again)`}.
          </p>
          {problems.length > 0 && (
            <ul class="seed-problems">
              {problems.map((r) => (
                <li key={r.row}>
                  Row {r.row}
                  {r.user && ` (${r.user})`}: {r.error}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </details>
  );
}
