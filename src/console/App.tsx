// Sign-in, the connection state and the refresh loop; the sections below show what it loads.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Aborted, ApiError, EdgeUnreachable, createApi, type Api, type Report } from './api.js';
import { formatTime } from './format.js';
import { REFRESH_MS, usePoll } from './poll.js';
import type { Device, NumberView, TenantSummary } from './types.js';
import { TenantPanel, TenantPicker } from './Tenants.js';
import { Numbers } from './Numbers.js';
import { Lookup } from './Lookup.js';
import { SeedPermissions } from './SeedPermissions.js';
import { Calls, Softphones } from './Activity.js';
import { PhonePanel, usePhone } from './Phone.js';
import { Problem } from './fields.js';

/** Kept for the browser tab only (SPEC §4a): gone when the tab closes. */
const TOKEN_KEY = 'wa-edge-admin-token';

interface Data {
  numbers: NumberView[];
  devices: Device[];
  /** The tenants this token sees (SPEC §2a): all for the operator, its own for a tenant's token. */
  tenants: TenantSummary[];
}

/** GET /v1/tenants; an edge without tenants answers 404: none. */
async function loadTenants(api: Api, signal: AbortSignal): Promise<TenantSummary[]> {
  try {
    return (await api<{ tenants: TenantSummary[] }>('GET', '/v1/tenants', undefined, signal)).tenants;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

/** How the last request to the edge went, said on the page. */
export type Link =
  | { kind: 'ok'; at: number }
  | { kind: 'unreachable'; since: number; lastOk?: number }
  | { kind: 'state'; since: number }
  | { kind: 'error'; message: string };

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function App() {
  const [token, setToken] = useState<string | null>(readToken);
  const [notice, setNotice] = useState<string | null>(null);

  // Stable across renders: the refresh loop restarts only when the token changes.
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const signIn = useCallback((t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setNotice(null);
    setToken(t);
  }, []);
  const signOut = useCallback((why: string | null) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setNotice(why);
    setToken(null);
  }, []);

  return (
    <>
      <header class="top">
        <h1>wa-sip-edge console</h1>
        {token && (
          <button type="button" class="secondary" onClick={() => signOut(null)}>
            Sign out
          </button>
        )}
      </header>
      {api ? <Console api={api} signOut={signOut} /> : <SignIn notice={notice} onSignedIn={signIn} />}
    </>
  );
}

function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const token = value.trim();
    if (!token) {
      setError('Enter the admin token (http.adminToken in the edge configuration).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await createApi(token)('GET', '/v1/numbers');
      onSignedIn(token);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setError('This admin token was not accepted by the edge. Check http.adminToken (WA_EDGE_ADMIN_TOKEN) and try again.');
      else if (e instanceof EdgeUnreachable) setError(`The edge is not answering (${e.message}). Check that it is running, then try again.`);
      else if (e instanceof ApiError) setError(`The edge answered ${e.status} ${e.code}: ${e.message}`);
      else setError(String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form onSubmit={submit} aria-describedby="signin-help">
        <h2>Sign in</h2>
        {notice && (
          <p class="banner warn" role="alert">
            {notice}
          </p>
        )}
        <p id="signin-help">The token is kept in this browser tab only, and forgotten when the tab closes.</p>
        <label for="admin-token">Admin token</label>
        <input id="admin-token" type="password" autocomplete="off" spellcheck={false} value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        <Problem text={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Console({ api, signOut }: { api: Api; signOut: (why: string | null) => void }) {
  const [data, setData] = useState<Data | null>(null);
  const [link, setLink] = useState<Link>({ kind: 'ok', at: Date.now() });
  const lastOk = useRef<number | undefined>(undefined);
  const audio = useRef<HTMLAudioElement>(null);

  const report: Report = useCallback(
    (e: unknown) => {
      if (e instanceof Aborted) return;
      if (e instanceof ApiError && e.status === 401) {
        signOut('The edge no longer accepts this admin token (it was changed, or the edge restarted with another one). Sign in again.');
      } else if (e instanceof EdgeUnreachable) {
        setLink((l) => (l.kind === 'unreachable' ? l : { kind: 'unreachable', since: Date.now(), lastOk: lastOk.current }));
      } else if (e instanceof ApiError && e.code === 'state_unavailable') {
        setLink((l) => (l.kind === 'state' ? l : { kind: 'state', since: Date.now() }));
      } else {
        setLink({ kind: 'error', message: e instanceof ApiError ? `${e.status} ${e.code}: ${e.message}` : String(e) });
      }
    },
    [signOut],
  );

  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const [n, d, t] = await Promise.all([
          api<{ numbers: NumberView[] }>('GET', '/v1/numbers', undefined, signal),
          api<{ devices: Device[] }>('GET', '/v1/devices', undefined, signal),
          loadTenants(api, signal),
        ]);
        if (signal.aborted) return;
        setData({ numbers: n.numbers, devices: d.devices, tenants: t });
        lastOk.current = Date.now();
        setLink({ kind: 'ok', at: lastOk.current });
      } catch (e) {
        report(e);
      }
    },
    [api, report],
  );
  const refresh = usePoll(load);
  const [picked, setPicked] = useState('');
  // The operator's tenant picker narrows every section to that tenant; a tenant's token sees its own only.
  const tenants = data?.tenants ?? [];
  const tenant = tenants.find((t) => t.name === picked) ?? tenants[0];
  const numbers = data === null ? [] : tenants.length > 1 && tenant ? data.numbers.filter((n) => tenant.numbers.includes(n.number)) : data.numbers;
  // The operator sees a tenant's softphones as `alice@acme`, tenant default's as `alice`.
  const ofTenant = (username: string) => (tenant?.name === 'default' ? !username.includes('@') : username.endsWith(`@${tenant?.name}`));
  const devices = data === null ? [] : tenants.length > 1 ? data.devices.filter((d) => ofTenant(d.username)) : data.devices;
  // A single-business deployment (tenant default alone) shows no tenant section at all.
  const showTenant = tenant !== undefined && (tenants.length > 1 || tenant.source === 'api');

  // With sip.webrtc: the phone of this tab (its own sign-in, as a device). The operator's phone
  // offers the picked tenant's devices; a tenant's token gets its own only (GET /v1/phone).
  const phone = usePhone(api, report, audio, tenants.length > 1 ? tenant?.name : undefined);

  // After sign-in, keyboard and screen-reader users start at the first section, not at the top of the page.
  const placedFocus = useRef(false);
  useEffect(() => {
    if (data === null || placedFocus.current) return;
    placedFocus.current = true;
    document.getElementById('numbers-title')?.focus();
  }, [data]);

  return (
    <main>
      <LinkState link={link} />
      {data === null ? (
        <p aria-live="polite">Loading…</p>
      ) : (
        <>
          <TenantPicker tenants={tenants} value={tenant?.name ?? ''} onChange={setPicked} />
          <Numbers numbers={numbers} api={api} report={report} onChanged={refresh} />
          <Lookup numbers={numbers} api={api} report={report} phone={phone} />
          {phone && <PhonePanel phone={phone} audio={audio} />}
          <SeedPermissions numbers={numbers} api={api} report={report} />
          <Calls api={api} report={report} />
          <Softphones devices={devices} />
          {showTenant && <TenantPanel tenant={tenant} operator={tenants.length > 1} api={api} report={report} onChanged={refresh} />}
        </>
      )}
    </main>
  );
}

function LinkState({ link }: { link: Link }) {
  if (link.kind === 'ok') {
    return (
      <p class="status" aria-live="polite">
        Connected to the edge · updated {formatTime(link.at)} · refreshes every {REFRESH_MS / 1000} s
      </p>
    );
  }
  if (link.kind === 'unreachable') {
    return (
      <p class="banner error" role="alert">
        The edge is not answering (since {formatTime(link.since)}).{' '}
        {link.lastOk ? `The figures below are from ${formatTime(link.lastOk)}.` : 'Nothing could be loaded.'} Retrying every {REFRESH_MS / 1000} s.
      </p>
    );
  }
  if (link.kind === 'error') {
    return (
      <p class="banner error" role="alert">
        The edge gave an unexpected answer ({link.message}). Retrying every {REFRESH_MS / 1000} s.
      </p>
    );
  }
  return (
    <p class="banner error" role="alert">
      The edge answers, but its shared state (Redis) is unavailable since {formatTime(link.since)}: the figures below may be old, and outbound calls are
      refused (503 state_unavailable). Retrying every {REFRESH_MS / 1000} s.
    </p>
  );
}
