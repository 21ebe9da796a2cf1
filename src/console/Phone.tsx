// The console's phone panel (SPEC §4a Phone): sign in as a device with its own password (kept for
// this tab only, never the admin token), its registration state, an incoming call to answer or
// decline, and the call in progress: timer, mute, keypad (RFC 4733), hang up, how it ended.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, Report } from './api.js';
import type { Call, PhoneLine, PhoneState } from './phoneLine.js';
import { phoneEndWords, EDGE_REASON_WORDS } from './phoneWords.js';
import type { Decision } from './types.js';
import { Problem } from './fields.js';

/** A device the phone may sign in as (GET /v1/phone): `username` at `domain`, which names its tenant. */
export interface PhoneDevice {
  username: string;
  tenant: string;
  domain: string;
  numbers: string[];
  callerId: string;
}

export interface PhoneInfo {
  enabled: boolean;
  url?: string;
  media: boolean;
  devices: PhoneDevice[];
}

/** The phone of this tab, shared by the panel and the lookup's Call button. */
export interface Phone {
  info: PhoneInfo;
  line: PhoneLine;
  state: PhoneState;
  /** The devices offered for sign-in: the picked tenant's (the operator), else all this token sees. */
  offered: PhoneDevice[];
  /** The signed-in device, once signed in. */
  device?: PhoneDevice;
  /** Business numbers the signed-in device may call from. */
  numbers: string[];
}

/** A device's address, `alice@acme.sip.example`: unique across tenants (each has its own domain). */
export const deviceAddress = (d: { username: string; domain: string }) => `${d.username}@${d.domain}`;

const PASSWORD_KEY = 'wa-edge-phone-device';
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/**
 * Loads GET /v1/phone and keeps one PhoneLine for the tab; undefined while loading or without
 * sip.webrtc. The SIP stack (JsSIP, most of the bundle) is fetched only when there is a phone.
 * `tenant`: the tenant the operator picked; its devices are the ones offered (a device signed in
 * stays signed in when the operator picks another tenant: its calls and its ringing go on).
 */
export function usePhone(api: Api, report: Report, audio: { current: HTMLAudioElement | null }, tenant?: string): Phone | undefined {
  const [info, setInfo] = useState<PhoneInfo | undefined>();
  const [line, setLine] = useState<PhoneLine | undefined>();
  const [state, setState] = useState<PhoneState>({ registration: { kind: 'signed-out' } });
  useEffect(() => {
    api<PhoneInfo>('GET', '/v1/phone').then(setInfo, report);
  }, [api, report]);
  useEffect(() => {
    if (!info?.enabled) return;
    let gone = false;
    let made: PhoneLine | undefined;
    import('./phoneLine.js').then(({ PhoneLine }) => {
      if (gone) return;
      made = new PhoneLine((stream) => {
        const el = audio.current;
        if (!el) return;
        el.srcObject = stream;
        if (stream) void el.play().catch(() => {});
      }, phoneEndWords);
      setLine(made);
    }, report);
    return () => {
      gone = true;
      made?.signOut();
    };
  }, [info, audio, report]);
  useEffect(() => {
    if (!line) return;
    const unsubscribe = line.subscribe(setState);
    return () => void unsubscribe();
  }, [line]);
  // Signed in before a reload of this tab: sign in again with what the tab kept.
  useEffect(() => {
    if (!line || !info?.url) return;
    const kept = readKept();
    const url = info.url;
    if (kept && info.devices.some((d) => d.username === kept.username && d.domain === kept.domain)) line.signIn({ url, ...kept });
  }, [info, line]);
  if (!info?.enabled || !line) return undefined;
  const device = info.devices.find((d) => d.username === state.device && d.domain === state.domain);
  const offered = tenant === undefined ? info.devices : info.devices.filter((d) => d.tenant === tenant);
  return { info, line, state, offered, ...(device ? { device } : {}), numbers: device?.numbers ?? [] };
}

function readKept(): { username: string; domain: string; password: string } | undefined {
  try {
    const v = JSON.parse(sessionStorage.getItem(PASSWORD_KEY) ?? 'null') as { username?: unknown; domain?: unknown; password?: unknown } | null;
    return typeof v?.username === 'string' && typeof v.domain === 'string' && typeof v.password === 'string' ? { username: v.username, domain: v.domain, password: v.password } : undefined;
  } catch {
    return undefined;
  }
}

/** `alice@acme.sip.example` → its username and domain (a username has no `@`: the last one splits). */
function splitAddress(address: string): { username: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { username: address.slice(0, at), domain: address.slice(at + 1) };
}

export function PhonePanel({ phone, audio }: { phone: Phone; audio: { current: HTMLAudioElement | null } }) {
  const { state, line, info } = phone;
  const signedIn = state.registration.kind !== 'signed-out';
  return (
    <section aria-labelledby="phone-title" class="phone">
      <h2 id="phone-title">Phone</h2>
      {/* The other side's voice. */}
      <audio ref={audio} autoplay />
      {!info.media && (
        <p class="banner warn" role="alert">
          The edge has no media relay configured (media.anchor): browser calls are refused until rtpengine is set up.
        </p>
      )}
      {/* A new list of devices (the operator picked another tenant) starts the form afresh. */}
      {signedIn ? <Registered phone={phone} /> : <PhoneSignIn key={phone.offered.map(deviceAddress).join(' ')} phone={phone} />}
      {state.call && <CallView call={state.call} line={line} />}
    </section>
  );
}

function PhoneSignIn({ phone }: { phone: Phone }) {
  const { info, line, state, offered } = phone;
  // The device's address (sip:alice@acme.sip.example): its domain names its tenant and is its realm.
  const [address, setAddress] = useState(offered[0] ? deviceAddress(offered[0]) : '');
  const [password, setPassword] = useState('');
  const problem = state.registration.kind === 'signed-out' ? state.registration.problem : undefined;
  const submit = (ev: Event) => {
    ev.preventDefault();
    if (!info.url || !address) return;
    const { username, domain } = splitAddress(address);
    // For this tab only (like the admin token): gone when the tab closes.
    sessionStorage.setItem(PASSWORD_KEY, JSON.stringify({ username, domain, password }));
    line.signIn({ url: info.url, domain, username, password });
    setPassword('');
  };
  if (offered.length === 0) {
    return <p>No devices to sign in as: the phone signs in as one of this tenant's devices (devices[] in the configuration file, or Device entries under the tenant, which needs a SIP domain).</p>;
  }
  // A tenant's devices are shown by address (alice@acme.sip.example, whose domain names the tenant);
  // the file's by name alone, as in a single-business deployment.
  const ofTenant = offered.some((d) => d.tenant !== 'default');
  return (
    <form class="lookup" onSubmit={submit}>
      <div class="field">
        <label for="phone-device">Device</label>
        <select id="phone-device" value={address} onChange={(e) => setAddress(e.currentTarget.value)}>
          {offered.map((d) => (
            <option key={deviceAddress(d)} value={deviceAddress(d)}>
              {ofTenant ? deviceAddress(d) : d.username} ({d.numbers.join(', ')})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="phone-password">Device password</label>
        <input id="phone-password" type="password" autocomplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        <small>The device's own SIP password (devices[].password), kept in this tab only. Not the admin token.</small>
      </div>
      <button type="submit" disabled={!info.url}>
        Sign in to phone
      </button>
      <Problem text={problem} />
    </form>
  );
}

function Registered({ phone }: { phone: Phone }) {
  const { state, line } = phone;
  const r = state.registration;
  const words = r.kind === 'registered' ? 'registered: calls can be placed and received' : r.kind === 'connecting' ? 'connecting…' : r.kind === 'lost' ? `not registered: ${r.problem}` : '';
  return (
    <p class={r.kind === 'lost' ? 'banner warn' : 'status'} role="status">
      Signed in as <strong>{phone.device && phone.device.tenant !== 'default' ? deviceAddress(phone.device) : state.device}</strong> ({phone.numbers.join(', ')}) · <span class="phone-state">{words}</span>{' '}
      <button
        type="button"
        class="secondary"
        onClick={() => {
          sessionStorage.removeItem(PASSWORD_KEY);
          line.signOut();
        }}
      >
        Sign out of phone
      </button>
    </p>
  );
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

const mmss = (ms: number) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

const CALL_STATE_WORDS: Record<Call['state'], string> = {
  calling: 'Calling…',
  ringing: 'Ringing…',
  incoming: 'Incoming WhatsApp call',
  connected: 'In call',
  ended: 'Call ended',
};

function CallView({ call, line }: { call: Call; line: PhoneLine }) {
  const now = useNow(call.state === 'connected');
  const keypad = useRef<HTMLDivElement>(null);
  return (
    <div class={`call ${call.state}`} aria-live="polite">
      <p class="call-title">
        <strong class="call-state">{CALL_STATE_WORDS[call.state]}</strong> {call.direction === 'incoming' ? 'from' : 'to'} <strong>{call.peer}</strong>
        {call.business && <span class="muted"> on {call.business}</span>}
        {call.state === 'connected' && call.answeredAt && (
          <span class="timer" aria-label="Call time">
            {' '}
            {mmss(now - call.answeredAt)}
          </span>
        )}
        {call.state === 'ended' && call.answeredAt && call.endedAt && <span class="muted"> · lasted {mmss(call.endedAt - call.answeredAt)}</span>}
      </p>
      {call.state === 'ended' && call.end && (
        <p class="end-reason" role="status">
          {call.end.words}
          {call.end.code && (
            <>
              {' '}
              <code>{call.end.code}</code>
            </>
          )}
          {call.end.reason && (
            <>
              {' '}
              <code>{call.end.reason}</code>
            </>
          )}
        </p>
      )}
      <div class="call-actions">
        {call.state === 'incoming' && (
          <>
            <button type="button" onClick={() => line.answer()}>
              Answer
            </button>
            <button type="button" class="danger" onClick={() => line.hangUp()}>
              Decline
            </button>
          </>
        )}
        {(call.state === 'calling' || call.state === 'ringing' || call.state === 'connected') && (
          <button type="button" class="danger" onClick={() => line.hangUp()}>
            Hang up
          </button>
        )}
        {call.state === 'connected' && (
          <button type="button" class="secondary" aria-pressed={call.muted} onClick={() => line.toggleMute()}>
            {call.muted ? 'Unmute' : 'Mute'}
          </button>
        )}
      </div>
      {call.state === 'connected' && (
        <div class="keypad" ref={keypad} role="group" aria-label="Keypad (tones to the customer)">
          {KEYS.map((k) => (
            <button key={k} type="button" class="secondary" aria-label={`Key ${k}`} onClick={() => line.dtmf(k)}>
              {k}
            </button>
          ))}
          {call.dtmf && <output class="dtmf">Sent: {call.dtmf}</output>}
          {call.dtmfUnavailable && (
            <small class="muted" role="status">
              Tones cannot be sent in this call: the other side accepted no telephone-event (RFC 4733).
            </small>
          )}
        </div>
      )}
    </div>
  );
}

/** The lookup's Call button: enabled only when the decision allows the call and the phone can place it. */
export function CallButton({ phone, decision }: { phone: Phone | undefined; decision: Decision }) {
  if (!phone) return null;
  const { state, line } = phone;
  const busy = state.call && state.call.state !== 'ended';
  const why = !decision.admitted
    ? `The decision refuses this call: ${(decision.reason && EDGE_REASON_WORDS[decision.reason]) ?? decision.reason ?? 'refused'}`
    : state.registration.kind !== 'registered'
      ? 'Sign in to the phone first (Phone, below).'
      : !phone.numbers.includes(decision.from)
        ? `Device ${state.device} may not call from ${decision.from}.`
        : busy
          ? 'A call is in progress.'
          : undefined;
  return (
    <div class="call-button">
      <button type="button" disabled={why !== undefined} aria-describedby="call-why" onClick={() => line.call(decision.to, decision.from)}>
        Call {decision.to}
      </button>
      {why && (
        <small id="call-why" class="muted">
          {why}
        </small>
      )}
    </div>
  );
}
