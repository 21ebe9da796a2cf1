// The operator console (SPEC §4a) in a real browser (Debian's Chromium through playwright-core)
// against a real edge HTTP server over a real Redis: what an operator and an agent see and do.
import type { Page } from 'playwright-core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BUSINESS, USER } from '../helpers/config.js';
import { describeWithChromium, pageProblems } from '../helpers/chromium.js';
import { useRedisServer } from '../helpers/redis.js';
import { newCallId } from '../helpers/state.js';
import { TOKEN, numbersWithId, useHttpFixtures } from '../http/fixture.js';
import { startFakeMeta } from '../http/fakeMeta.js';
import { openConsoleEdge, useConsoleInChromium, type ConsoleEdge } from './edge.js';
import { DE_NUMBER, OTHER_USER, SEEDED_DEVICES, SEEDED_NUMBERS, US_NUMBER, seedEdge } from './seed.js';
import { END_REASONS } from '../../src/domain/endReasons.js';
import { REFRESH_MS } from '../../src/console/poll.js';

/** Generous: the box is shared, and the console refreshes every 5 s. */
const WAIT_MS = 20_000;

describeWithChromium('operator console in Chromium', () => {
  const redis = useRedisServer();
  const openFixture = useHttpFixtures(redis);
  const ui = useConsoleInChromium(WAIT_MS);
  let edge: ConsoleEdge;
  let page: Page;
  /** Uncaught exceptions and CSP violations: none may happen. */
  let problems: string[];

  beforeEach(async () => {
    edge = await openConsoleEdge(openFixture, ui.consoleDir, { numbers: SEEDED_NUMBERS, devices: SEEDED_DEVICES });
    page = await ui.browser.context.newPage();
    problems = pageProblems(page);
  });
  afterEach(async () => {
    await page.close();
    expect(problems).toEqual([]);
  });

  /** A request through the edge's HTTP API, as curl would send it. */
  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${edge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  async function signIn(p: Page = page) {
    await p.goto(`${edge.url}/console`);
    await p.getByLabel('Admin token').fill(TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Numbers' }).waitFor();
  }

  async function lookUp(user: string, number = BUSINESS) {
    await page.getByLabel('Business number').selectOption(number);
    await page.getByLabel('WhatsApp user').fill(user);
    await page.getByRole('button', { name: 'Look up' }).click();
  }

  const numberRow = (number: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: number, exact: true }) });
  const verdict = () => page.locator('.verdict');
  const checkRows = () => page.locator('.checks li');

  it('sign-in: a wrong token is refused in words; the right one opens the console and is kept for this tab only', async () => {
    await page.goto(`${edge.url}/console`);
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This admin token was not accepted by the edge' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Numbers' }).count()).toBe(0);

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Numbers' }).waitFor();
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('wa-edge-admin-token'), local: localStorage.length, cookie: document.cookie }));
    expect(stored).toEqual({ session: TOKEN, local: 0, cookie: '' });

    await page.reload();
    await page.getByRole('heading', { name: 'Numbers' }).waitFor(); // the same tab keeps it
    const other = await ui.browser.context.newPage();
    await other.goto(`${edge.url}/console`);
    await other.getByLabel('Admin token').waitFor(); // another tab does not have it
    await other.close();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it("numbers: every configured number with its switch, region, eligibility, active calls and connected calls (Meta's cap is per customer, none per number by default); refreshes by itself", async () => {
    await signIn();
    expect(await page.locator('tbody th[scope=row]').allTextContents()).toEqual(SEEDED_NUMBERS.map((n) => n.number));
    const gb = numberRow(BUSINESS);
    expect(await gb.locator('.calling').textContent()).toBe('Calling: on — Turn off');
    expect(await gb.textContent()).toContain('United Kingdom (GB)');
    expect(await gb.textContent()).toContain('Allowed');
    expect(await gb.textContent()).toContain('0 (no cap)');
    expect(await gb.textContent()).toContain('Cap: 100 per customer');
    const us = numberRow(US_NUMBER);
    expect(await us.locator('.calling').textContent()).toBe('Calling: off — Turn on');
    expect(await us.textContent()).toContain('Not allowed in this region');
    expect(await numberRow(DE_NUMBER).textContent()).toContain('Germany (DE)');

    // A call connects and one is in progress: the table shows it without a reload.
    await edge.f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    const done = newCallId();
    await edge.f.calls.admitOutbound({ business: BUSINESS, user: USER, callId: done, regionBlocked: false });
    await edge.f.calls.settle(BUSINESS, USER, done, 'connected');
    await gb.filter({ hasText: '1 (no cap)' }).waitFor();
    expect(await gb.getByRole('cell').nth(3).textContent()).toBe('1 of 1,000');
    expect(await gb.getByRole('meter').count()).toBe(0);
  });

  it("Meta's restriction: a banner on the number with its end date, the warning before it, and the lookup's check in words", async () => {
    const until = Date.now() + 3 * 86_400_000;
    await edge.f.permissions.restrictions.apply({ kind: 'warning', numbers: [BUSINESS], text: 'Meta reported a policy violation (SCAM): a restriction of business-initiated calls may follow' }, 'meta');
    await signIn();
    await page.getByRole('status').filter({ hasText: `Warning from Meta for ${BUSINESS}` }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Warning from Meta' }).textContent()).toContain('policy violation (SCAM)');

    await edge.f.permissions.restrictions.apply({ kind: 'restriction', numbers: [BUSINESS], until, expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }, 'meta');
    const banner = page.getByRole('alert').filter({ hasText: `Meta has restricted business-initiated calls from ${BUSINESS}` });
    await banner.waitFor();
    const shown = await page.evaluate((ms) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(ms), until);
    expect(await banner.textContent()).toContain(`until ${shown}`);
    expect(await banner.textContent()).toContain('403 account_restricted');

    await edge.f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    await lookUp(USER);
    await verdict().filter({ hasText: 'account_restricted' }).waitFor();
    expect(await checkRows().allTextContents()).toContainEqual(expect.stringContaining('Meta has restricted business-initiated calls from this number'));

    expect((await api('DELETE', `/v1/numbers/${BUSINESS}/restriction`)).body).toEqual({ number: BUSINESS, lifted: true });
    await banner.waitFor({ state: 'detached' });
  });

  it('lookup: no_permission with every check in words, then allowed once a permission is granted through the API', async () => {
    await signIn();
    await lookUp(USER);
    await verdict().filter({ hasText: 'A call now would be refused' }).waitFor();
    expect(await verdict().textContent()).toContain('480 no_permission');
    expect(await checkRows().count()).toBe(9);
    expect(await page.locator('.checks .words').allTextContents()).not.toContain('Passes.'); // every check has its words
    const failing = checkRows().filter({ hasText: 'fail' });
    expect(await failing.count()).toBe(1);
    expect(await failing.textContent()).toContain('The customer has not given permission to be called');
    expect(await failing.locator('code').textContent()).toBe('no_permission');
    expect(await checkRows().filter({ hasText: 'pass' }).locator('code').count()).toBe(0); // a passing check keeps its words, no code
    expect(await page.getByText('What to do:').locator('..').textContent()).toContain('Send a permission request');
    expect(await page.locator('dd').first().textContent()).toBe('None: never given');

    const granted = await api('PUT', `/v1/numbers/${BUSINESS}/users/${USER}/permission`, { kind: 'temporary' });
    expect(granted.status).toBe(200);
    await verdict().filter({ hasText: 'A call now would be placed' }).waitFor(); // the next refresh, no click
    expect(await checkRows().filter({ hasText: 'pass' }).count()).toBe(9);
    expect(await page.locator('.checks code').count()).toBe(0);
    const permission = await page.locator('dd').first().textContent();
    expect(permission).toContain('Temporary, recorded through the API; expires');
    expect(permission).toContain('(in 7 days)');
  });

  it("lookup after Meta refused a call for want of a permission: \"ask again\" with Meta's words, and the pair's hold Meta's cap left", async () => {
    const { f } = edge;
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    const sentAt = f.clock.now + 1;
    f.clock.now += 10;
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'no_permission', text: 'No Approved Call Permission Found' }, sentAt, 60);
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'daily_limit', text: 'Connected Call Per Day Limit Hit' }, sentAt, 60);
    await signIn();
    await lookUp(USER);
    await verdict().filter({ hasText: 'A call now would be refused' }).waitFor();
    expect(await verdict().textContent()).toContain('480 no_permission');
    expect(await page.locator('dd').first().textContent()).toBe('None: Meta refused the last call for want of it; ask again (send a permission request) (Meta: “No Approved Call Permission Found”)');
    const hold = page.locator('dt', { hasText: "Held by Meta's refusal" }).locator('+ dd');
    expect(await hold.textContent()).toContain("Meta said this customer's daily call cap is reached: calls wait until");
    expect(await checkRows().filter({ hasText: 'fail' }).locator('code').allTextContents()).toEqual(['no_permission', 'daily_limit']);
  });

  it('lookup: a number dialled as 0044… is the same user; a word that is no number is refused in words', async () => {
    await signIn();
    await lookUp(`00${USER.slice(1)}`);
    await page.getByRole('heading', { name: `${USER} on ${BUSINESS}` }).waitFor();
    await lookUp('bob');
    await page.getByRole('alert').filter({ hasText: 'not a valid phone number' }).waitFor();
    expect(await verdict().count()).toBe(0);
  });

  it('request permission without a Cloud API: "not sent" as a warning and nothing counted; recorded only when the agent says they sent one; then the wait, on a disabled button', async () => {
    await signIn();
    await lookUp(USER);
    const request = page.getByRole('button', { name: 'Request permission' });
    const record = page.getByRole('button', { name: 'Record a request sent from my WhatsApp tool' });
    const answer = page.locator('.request [role=status]');
    await page.getByText("The edge cannot send requests from this number (neither Telnyx's API nor a WhatsApp Cloud API is configured for it)").waitFor();
    await request.click();
    await answer.filter({ hasText: 'Not sent: no Cloud API configured; send it from your WhatsApp tool' }).waitFor();
    expect(await answer.getAttribute('class')).toBe('answer warn');
    expect((await api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).body.permissionRequests).toMatchObject({ last24h: 0, remaining24h: 1 });
    expect(await page.locator('dd').filter({ hasText: 'today' }).textContent()).toContain('1 today');

    await record.click();
    await answer.filter({ hasText: 'Recorded: a permission request sent from your WhatsApp tool' }).waitFor();
    await page.locator('dd').filter({ hasText: '0 today' }).waitFor();
    expect((await api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).body.permissionRequests).toMatchObject({ last24h: 1, remaining24h: 0 });
    // The wait shows before any click, and the button cannot be used while it runs.
    await page.locator('#request-why').filter({ hasText: /the next request is allowed in (24 h|23 h 59 min) \(/ }).waitFor();
    expect(await request.isDisabled()).toBe(true);
    expect(await request.textContent()).toMatch(/^Request permission · in (24 h|23 h 59 min)$/);
    expect(await record.count()).toBe(0);

    await api('PUT', `/v1/numbers/${BUSINESS}/users/${USER}/permission`, { kind: 'permanent' });
    await page.locator('#request-why').filter({ hasText: 'Not needed: the customer has given permanent permission.' }).waitFor();
    expect(await request.isDisabled()).toBe(true);
  });

  it('request permission through the Cloud API: sent with its message id; a refusal by Meta is said and uses nothing up', async () => {
    const meta = await startFakeMeta();
    try {
      edge = await openConsoleEdge(openFixture, ui.consoleDir, { numbers: numbersWithId(), whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: 'meta-token-xyz', timeoutMs: 2000 } } });
      meta.answer = { status: 500, body: { error: { message: 'Service temporarily unavailable', code: 2 } } };
      await signIn();
      await lookUp(USER);
      const request = page.getByRole('button', { name: 'Request permission' });
      const answer = page.locator('.request [role=status]');
      await request.click();
      await answer.filter({ hasText: 'Not sent: Cloud API answered 500' }).waitFor();
      expect((await api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).body.permissionRequests.remaining24h).toBe(1);

      meta.answer = { status: 200, body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.HBgLNDQ3OTExMTIzNDU2' }] } };
      await request.click();
      await answer.filter({ hasText: 'Permission request sent through the WhatsApp Cloud API (message wamid.HBgLNDQ3OTExMTIzNDU2)' }).waitFor();
      expect(meta.requests).toHaveLength(2);
      await page.locator('#request-why').filter({ hasText: 'the next request is allowed in' }).waitFor();
      expect(await request.isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Record a request sent from my WhatsApp tool' }).count()).toBe(0);
    } finally {
      await meta.close();
    }
  });

  it('the calling state reads "Calling: on — Turn off"; the action asks first, naming the number, and round-trips through the API', async () => {
    await signIn();
    const row = numberRow(BUSINESS);
    const calling = async () => (await api('GET', '/v1/numbers')).body.numbers.find((n: { number: string }) => n.number === BUSINESS).calling;

    await row.getByRole('button', { name: `Turn off calling for ${BUSINESS}` }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').textContent()).toBe(`Turn calling off for ${BUSINESS}?`);
    expect(await dialog.textContent()).toContain(`refuse calls from ${BUSINESS}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await calling()).toBe(true);

    await row.getByRole('button', { name: `Turn off calling for ${BUSINESS}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: `Turn off ${BUSINESS}` }).click();
    await row.locator('.calling').filter({ hasText: 'Calling: off — Turn on' }).waitFor();
    expect(await calling()).toBe(false);
    expect((await api('GET', `/v1/decisions?from=${encodeURIComponent(BUSINESS)}&to=${encodeURIComponent(USER)}`)).body.reason).toBe('calling_disabled');

    await row.getByRole('button', { name: `Turn on calling for ${BUSINESS}` }).click();
    expect(await page.getByRole('dialog').getByRole('heading').textContent()).toBe(`Turn calling on for ${BUSINESS}?`);
    await page.getByRole('dialog').getByRole('button', { name: `Turn on ${BUSINESS}` }).click();
    await row.locator('.calling').filter({ hasText: 'Calling: on — Turn off' }).waitFor();
    expect(await calling()).toBe(true);
  });

  it('keyboard only: sign in, look up, and the switch dialog (Escape cancels, Enter confirms); every field has a label', async () => {
    await page.goto(`${edge.url}/console`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('admin-token');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Numbers' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'numbers-title'); // focus moves to the first section
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`Turn off calling for ${SEEDED_NUMBERS[0]?.number}`);

    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')].filter((el) => (el as HTMLInputElement).labels?.length === 0).map((el) => el.outerHTML),
    );
    expect(unlabelled).toEqual([]);

    await page.getByLabel('WhatsApp user').focus();
    await page.keyboard.type(USER);
    await page.keyboard.press('Enter');
    await verdict().filter({ hasText: 'no_permission' }).waitFor();

    const turnOff = numberRow(BUSINESS).getByRole('button', { name: `Turn off calling for ${BUSINESS}` });
    await turnOff.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(`Turn off ${BUSINESS}`);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await numberRow(BUSINESS).locator('.calling').textContent()).toBe('Calling: on — Turn off');
    await turnOff.focus();
    await page.keyboard.press('Space');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Enter');
    await numberRow(BUSINESS).locator('.calling').filter({ hasText: 'Calling: off' }).waitFor();
  });

  it('recent calls and softphones; what the API returns is shown as text, never as markup', async () => {
    await seedEdge(edge.f, edge.registry);
    const hostile = '<img src=x onerror="window.__owned=1">';
    // Written as an older edge (or anything with stream access) could have: a free-form reason.
    const fields = { callId: newCallId(), direction: 'inbound', number: BUSINESS, user: hostile, outcome: 'failed', sipStatus: 486, reason: '<b>busy</b>', startedAt: Date.now(), endedAt: Date.now() };
    await edge.f.redis.xadd('wa:calls', '*', ...Object.entries(fields).flatMap(([k, v]) => [k, String(v)]));
    await signIn();
    const calls = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent calls' }) });
    const row = calls.getByRole('row').filter({ hasText: hostile });
    await row.waitFor();
    expect(await row.textContent()).toContain('<b>busy</b>');
    expect(await calls.locator('img, b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
    // And the page could not turn a string into markup if it tried: the CSP requires Trusted Types.
    const tried = await page.evaluate((html) => {
      try {
        document.body.insertAdjacentHTML('beforeend', html);
        return 'inserted';
      } catch (e) {
        return e instanceof TypeError ? 'blocked' : String(e);
      }
    }, hostile);
    expect(tried).toBe('blocked');
    expect(problems.splice(0)).toEqual([expect.stringContaining("requires 'TrustedHTML' assignment")]);
    const unanswered = calls.getByRole('row').filter({ hasText: 'SIP 487' });
    expect(await unanswered.textContent()).toContain('to WhatsApp');
    expect(await unanswered.textContent()).toContain('unanswered');

    const phones = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Softphones' }) });
    const alice = phones.locator('li').filter({ hasText: 'alice' }).first();
    expect(await alice.locator('li').count()).toBe(2);
    expect(await alice.textContent()).toContain('sip:alice@192.168.1.20:5060 from 203.0.113.40:41022 over UDP · Zoiper rv2.10.20.5 · registration expires in 50 minutes');
    expect(await phones.locator('li').filter({ hasText: 'bob' }).first().textContent()).toContain('Not registered.');
  });

  it("recent calls: the outcome in the end-reason table's words, duration, local time with its zone, a call id to copy, and a filter by customer", async () => {
    await seedEdge(edge.f, edge.registry);
    await ui.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: edge.url });
    await signIn();
    const calls = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent calls', exact: true }) });
    const row = (text: string) => calls.getByRole('row').filter({ hasText: text });
    await row('SIP 486').waitFor();
    // 480, 486 and 503 no longer read alike (SPEC §7: 480 unanswered, 486 declined).
    expect(await row('SIP 480').first().locator('.outcome').textContent()).toBe(END_REASONS.unanswered.words);
    expect(await row('SIP 486').locator('.outcome').textContent()).toBe(END_REASONS.declined.words);
    expect(await row('SIP 487').locator('.outcome').textContent()).toBe(END_REASONS.canceled.words);
    expect(await row('SIP 503').locator('.outcome').textContent()).toBe('refused by Telnyx/Meta');
    const talked = row(OTHER_USER);
    expect(await talked.locator('.outcome').textContent()).toBe(END_REASONS.bye_from_callee.words);
    expect(await talked.locator('td[data-label=Duration]').textContent()).toBe('4:56'); // answered 4 s in, ended 5 min after the start
    expect(await row('SIP 486').locator('td[data-label=Duration]').textContent()).toBe('not answered; ended after 0:30');
    expect(await talked.locator('td[data-label=Started]').textContent()).toMatch(/^\d{1,2} [A-Z][a-z]{2}, \d\d:\d\d:\d\d UTC$/);

    const id = (await talked.locator('.callid code').textContent()) ?? '';
    expect(id.length).toBeGreaterThan(8);
    await talked.getByRole('button', { name: `Copy call id ${id}` }).click();
    await talked.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(id);

    await page.getByRole('textbox', { name: 'Customer', exact: true }).fill(USER.slice(1));
    await page.getByRole('button', { name: 'Show calls' }).click();
    await expect.poll(async () => new Set(await calls.locator('td[data-label=Customer]').allTextContents())).toEqual(new Set([USER]));
    expect(await calls.getByRole('row').count()).toBe(5); // a header and USER's four calls
    await page.getByRole('textbox', { name: 'Customer', exact: true }).fill('bob');
    await page.getByRole('button', { name: 'Show calls' }).click();
    await calls.getByRole('alert').filter({ hasText: 'Enter the customer as an international number' }).waitFor();
    await page.getByRole('button', { name: 'Show all customers' }).click();
    await row(OTHER_USER).waitFor();
  });

  it("the lookup shows that customer's recent calls on the number, in words", async () => {
    await seedEdge(edge.f, edge.registry);
    await signIn();
    await lookUp(USER);
    const mine = page.locator('.customer-calls');
    await mine.getByRole('table').waitFor();
    expect(new Set(await mine.locator('td[data-label=Customer]').allTextContents())).toEqual(new Set([USER]));
    expect(await mine.locator('tbody tr').count()).toBe(4);
    expect(await mine.locator('.outcome').allTextContents()).toEqual([END_REASONS.unanswered.words, END_REASONS.canceled.words, END_REASONS.declined.words, END_REASONS.unanswered.words]);
    await lookUp(OTHER_USER);
    await mine.locator('td[data-label=Customer]').filter({ hasText: OTHER_USER }).first().waitFor();
    expect(await mine.locator('tbody tr').count()).toBe(1);
  });

  it("a late answer about the previous customer never replaces the current one (the old lookup's requests are aborted)", async () => {
    await signIn();
    const FIRST = '+447700900001';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let heldRequest: import('playwright-core').Request | undefined;
    await page.route('**/v1/decisions?*', async (route) => {
      if (!decodeURIComponent(route.request().url()).includes(FIRST)) return route.continue();
      heldRequest = route.request();
      await held;
      await route.continue().catch(() => {}); // the page may have aborted it meanwhile
    });
    await lookUp(FIRST);
    await expect.poll(() => heldRequest !== undefined).toBe(true);
    const aborted = page.waitForEvent('requestfailed', (r) => r === heldRequest);
    await lookUp(USER);
    await page.getByRole('heading', { name: `${USER} on ${BUSINESS}` }).waitFor();
    expect((await aborted).failure()?.errorText).toMatch(/abort/i);
    release();
    // And after the next refresh of the current customer, still the current customer.
    await page.waitForResponse((r) => r.url().includes('/v1/decisions') && decodeURIComponent(r.url()).includes(USER));
    expect(await page.locator('.result h3').textContent()).toBe(`${USER} on ${BUSINESS}`);
    expect(await page.getByRole('heading', { name: FIRST }).count()).toBe(0);
  });

  it('each refresh starts only after the previous one finished, however slow the edge', async () => {
    await page.clock.install({ time: Date.now() });
    await signIn();
    let numbersRequests = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/v1/numbers', async (route) => {
      numbersRequests += 1;
      if (numbersRequests === 1) await held;
      await route.continue();
    });
    await page.clock.runFor(REFRESH_MS + 100);
    await expect.poll(() => numbersRequests).toBe(1);
    // More than an interval passes while the edge has not answered (but less than the 10 s fetch timeout, which ends a run).
    await page.clock.runFor(REFRESH_MS + 3000);
    expect(numbersRequests).toBe(1);
    release();
    await expect
      .poll(async () => {
        await page.clock.runFor(1000);
        return numbersRequests;
      })
      .toBe(2);
  });

  it('a token the edge stops accepting signs out with a plain notice', async () => {
    await signIn();
    edge.f.config.current = { ...edge.f.config.current, http: { ...edge.f.config.current.http, adminToken: 'a-new-admin-token-9876543210' } };
    await page.getByRole('alert').filter({ hasText: 'The edge no longer accepts this admin token' }).waitFor();
    await page.getByLabel('Admin token').waitFor();
  });

  it('lost state and a lost edge are said plainly, and the page recovers from the first', async () => {
    await signIn();
    await redis.server.kill();
    try {
      await page.getByRole('alert').filter({ hasText: 'shared state (Redis) is unavailable' }).waitFor();
    } finally {
      await redis.server.start();
    }
    await page.getByText('Connected to the edge').waitFor();
    expect(await page.getByRole('heading', { name: 'Numbers' }).count()).toBe(1);

    await edge.f.app.close();
    await page.getByRole('alert').filter({ hasText: 'The edge is not answering' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/The figures below are from \d\d:\d\d:\d\d/);
    expect(await numberRow(BUSINESS).count()).toBe(1); // the last figures stay
  });

  it.each([
    [1280, 900],
    [390, 844],
  ])('readable at %i px: nothing wider than the screen, no table to scroll sideways', async (width, height) => {
    await seedEdge(edge.f, edge.registry);
    await page.setViewportSize({ width, height });
    await signIn();
    await lookUp(USER);
    await verdict().waitFor();
    await page.locator('.customer-calls table').waitFor();
    await page.getByRole('heading', { name: 'Softphones' }).waitFor();
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - window.innerWidth,
      tables: [...document.querySelectorAll('.table-wrap')].map((t) => t.scrollWidth - t.clientWidth),
    }));
    expect(overflow.page).toBe(0);
    expect(overflow.tables.length).toBeGreaterThanOrEqual(3); // numbers, the customer's calls, recent calls
    expect(overflow.tables.every((t) => t === 0)).toBe(true);
  });
});
