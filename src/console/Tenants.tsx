// Tenants in the console (SPEC §2a, §4a): the operator picks a tenant and manages its numbers,
// trunks, devices and tokens; a tenant's token sees its own tenant only (the API answers nothing
// else). Entries are written as JSON shaped like the configuration file's, and the edge's answer
// (`trunks[1].sources[0]: not a CIDR`) is shown as it comes.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, seg, type Api, type Report } from './api.js';
import { Problem } from './fields.js';
import type { TenantSummary, TokenView } from './types.js';

type Collection = 'numbers' | 'trunks' | 'devices';
const KEY: Record<Collection, string> = { numbers: 'number', trunks: 'name', devices: 'username' };
// Not "Numbers": that is the section above, and a heading is how a screen reader user finds it.
const HEADING: Record<Collection, string> = { numbers: 'Number entries', trunks: 'Trunk entries', devices: 'Device entries' };
const EXAMPLE: Record<Collection, string> = {
  numbers: '{ "number": "+447418600001", "inbound": ["device:alice"] }',
  trunks: '{ "name": "pbx", "sources": ["203.0.113.0/24"], "numbers": ["+447418600001"] }',
  devices: '{ "username": "alice", "password": "…", "numbers": ["+447418600001"] }',
};

/** The problem an answer names, for the page; a lost edge or token goes to `report`. */
function problemOf(e: unknown, report: Report): string | null {
  if (e instanceof ApiError && e.status !== 401 && e.code !== 'state_unavailable') return `${e.code}: ${e.message}`;
  report(e);
  return null;
}

/** The tenant picker: shown when the token sees more than one tenant (the operator's). */
export function TenantPicker({ tenants, value, onChange }: { tenants: TenantSummary[]; value: string; onChange: (t: string) => void }) {
  if (tenants.length < 2) return null;
  return (
    <div class="field tenant-picker">
      <label for="tenant">Tenant</label>
      <select id="tenant" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {tenants.map((t) => (
          <option key={t.name} value={t.name}>
            {t.name}
            {t.domain ? ` (${t.domain})` : ''}
          </option>
        ))}
      </select>
    </div>
  );
}

export function TenantPanel({ tenant, operator, api, report, onChanged }: { tenant: TenantSummary; operator: boolean; api: Api; report: Report; onChanged: () => void }) {
  const fromFile = tenant.source === 'file';
  return (
    <section aria-labelledby="tenant-title">
      <h2 id="tenant-title">Tenant {tenant.name}</h2>
      <p class="muted">
        {tenant.domain ? `Softphones register to ${tenant.domain}. ` : ''}
        Limits: {tenant.limits.maxConcurrentCalls ?? 'no'} concurrent calls, {tenant.limits.callsPerSecond ?? 'no'} calls per second, {tenant.limits.devices ?? 'no'} devices
        {fromFile ? ' · its numbers, trunks and devices come from the configuration file' : ''}.
      </p>
      {(['numbers', 'trunks', 'devices'] as const).map((c) => (
        <Entries key={`${tenant.name}-${c}`} tenant={tenant.name} collection={c} editable={!fromFile && (c !== 'numbers' || operator)} api={api} report={report} onChanged={onChanged} />
      ))}
      <Tokens key={`${tenant.name}-tokens`} tenant={tenant.name} api={api} report={report} />
    </section>
  );
}

function Entries({ tenant, collection, editable, api, report, onChanged }: { tenant: string; collection: Collection; editable: boolean; api: Api; report: Report; onChanged: () => void }) {
  const [entries, setEntries] = useState<Record<string, unknown>[] | null>(null);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const r = await api<Record<Collection, Record<string, unknown>[]>>('GET', `/v1/tenants/${seg(tenant)}/${collection}`);
      setEntries(r[collection]);
    } catch (e) {
      setProblem(problemOf(e, report));
    }
  }, [api, report, tenant, collection]);
  useEffect(() => void load(), [load]);

  const write = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    setProblem(null);
    try {
      await api(method, path, body);
      setText('');
      await load();
      onChanged();
    } catch (e) {
      setProblem(problemOf(e, report));
    }
  };
  const add = (ev: Event) => {
    ev.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      setProblem('Not JSON: write the entry as the configuration file has it, in JSON.');
      return;
    }
    void write('POST', `/v1/tenants/${seg(tenant)}/${collection}`, body);
  };
  const id = `${collection}-add`;
  return (
    <div class="tenant-entries">
      <h3>{HEADING[collection]}</h3>
      {entries === null ? (
        <p class="muted">Loading…</p>
      ) : entries.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul>
          {entries.map((e) => {
            const key = String(e[KEY[collection]]);
            return (
              <li key={key}>
                <code>{key}</code> <span class="muted">{JSON.stringify({ ...e, [KEY[collection]]: undefined })}</span>{' '}
                {editable && (
                  <button type="button" class="secondary small" aria-label={`Remove ${key}`} onClick={() => void write('DELETE', `/v1/tenants/${seg(tenant)}/${collection}/${seg(key)}`)}>
                    Remove
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {editable && (
        <form onSubmit={add}>
          <label for={id}>Add to {collection} (JSON)</label>
          <textarea id={id} rows={2} placeholder={EXAMPLE[collection]} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </form>
      )}
      <Problem text={problem} />
    </div>
  );
}

function Tokens({ tenant, api, report }: { tenant: string; api: Api; report: Report }) {
  const [tokens, setTokens] = useState<TokenView[] | null>(null);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setTokens((await api<{ tokens: TokenView[] }>('GET', `/v1/tenants/${seg(tenant)}/tokens`)).tokens);
    } catch (e) {
      setProblem(problemOf(e, report));
    }
  }, [api, report, tenant]);
  useEffect(() => void load(), [load]);

  const make = async (ev: Event) => {
    ev.preventDefault();
    setProblem(null);
    try {
      const made = await api<TokenView & { token: string }>('POST', `/v1/tenants/${seg(tenant)}/tokens`, { name: name.trim() });
      setSecret(made.token);
      setName('');
      await load();
    } catch (e) {
      setProblem(problemOf(e, report));
    }
  };
  const revoke = async (id: string) => {
    setProblem(null);
    try {
      await api('DELETE', `/v1/tenants/${seg(tenant)}/tokens/${seg(id)}`);
      await load();
    } catch (e) {
      setProblem(problemOf(e, report));
    }
  };
  return (
    <div class="tenant-entries">
      <h3>API tokens</h3>
      {tokens !== null && tokens.length === 0 && <p class="muted">None.</p>}
      {tokens !== null && tokens.length > 0 && (
        <ul>
          {tokens.map((t) => (
            <li key={t.id}>
              <strong>{t.name}</strong> <span class="muted">made {t.createdAt}{t.expiresAt ? `, expires ${t.expiresAt}` : ''}</span>{' '}
              <button type="button" class="secondary small" aria-label={`Revoke token ${t.name}`} onClick={() => void revoke(t.id)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      {secret && (
        <p class="banner warn" role="status">
          New token (shown this once, copy it now): <code>{secret}</code>
        </p>
      )}
      <form onSubmit={make}>
        <label for="token-name">New token for</label>
        <input id="token-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        <button type="submit">Make token</button>
      </form>
      <Problem text={problem} />
    </div>
  );
}
