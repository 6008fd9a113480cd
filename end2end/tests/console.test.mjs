// End-to-end tests: the release build in Debian's Chromium.
// The server is started here on a fresh SQLite database and stopped at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.PF_BIN ?? join(root, 'target', 'release', 'pathfinder-admin');
const port = 3100 + Math.floor(Math.random() * 800);
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), 'pf-e2e-'));
// Two-factor sign-in is required of no role here, so that the other tests sign in
// with a password; the TOTP test below sets it up for an admin of its own (the
// requirement itself is tested over HTTP, server/tests/http.rs).
const env = {
  ...process.env,
  PF_DATABASE_URL: `sqlite:${join(dir, 'pf.db')}`,
  PF_ADMIN_PASSWORD: 'e2e-password-123',
  PF_MFA_REQUIRED_ROLES: 'none',
  // Every browser here signs in from 127.0.0.1: the throttle's default would
  // refuse the suite's sign-ins (it is tested over HTTP).
  PF_SIGN_IN_BURST: '1000',
  RUST_LOG: 'warn',
};
const ADMIN = { username: 'admin', password: 'e2e-password-123' };

let server;
let browser;

function cli(...args) {
  return execFileSync(bin, args, { env, encoding: 'utf8' });
}

// The SVG a chart image shows (the server drew it), once the browser has drawn it too.
async function chartOf(page, testId) {
  const selector = `[data-test-id=${testId}]`;
  const src = await page.getAttribute(selector, 'src');
  const [type, svg] = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return [r.headers.get('content-type'), await r.text()];
  }, src);
  assert.equal(type, 'image/svg+xml');
  assert.match(svg, /^<svg/);
  await page.waitForFunction((s) => document.querySelector(s)?.naturalWidth > 0, selector);
  return svg;
}

// A query of the test's database, as an operator's sqlite3 would send it.
function sql(q) {
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', join(dir, 'pf.db'), q], { encoding: 'utf8' }).trim();
}

before(async () => {
  assert.ok(existsSync(bin), `build the release binary first: ${bin}`);
  cli('migrate');
  cli('create-admin', '--username', ADMIN.username, '--email', 'admin@example.com');
  // 300 generated people; the oldest (first by creation time) has a provisioned table set.
  cli('generate', '--users', '300', '--audit-events', '3000', '--provisioned', '1', '--seed', '7');
  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--site-root', join(root, 'target', 'site')], { env, stdio: 'inherit' });
  let exited = null;
  server.on('exit', (code) => { exited = code; });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {}
    if (exited !== null) throw new Error(`the server exited (${exited}) before it was ready`);
    if (i > 300) throw new Error('server did not become ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

async function signedInPage(account = ADMIN, code = '') {
  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', account.username);
  await page.fill('input[name=password]', account.password);
  await page.fill('[data-test-id=code]', code);
  await page.click('[data-test-id=sign-in]');
  await page.waitForURL(`${base}/`);
  return page;
}

// RFC 6238 with SHA-1, six digits, 30-second steps: what an authenticator app does.
function totp(base32, unixSeconds) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

test('wrong password is refused with one sentence', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', ADMIN.username);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('[data-test-id=sign-in]');
  await page.waitForURL(/error=credentials/);
  assert.equal(await page.textContent('[data-test-id=login-message]'), 'The username, password or two-factor code is incorrect.');
  await page.close();
});

test('the password toggle works once hydrated', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  const input = page.locator('[data-test-id=password]');
  assert.equal(await input.getAttribute('type'), 'password');
  await page.click('[data-test-id=toggle-password]');
  assert.equal(await input.getAttribute('type'), 'text');
  assert.equal((await page.textContent('[data-test-id=toggle-password]')).trim(), 'Hide');
  await page.close();
});

test('sign in shows the overview', async () => {
  const page = await signedInPage();
  await page.waitForSelector('[data-test-id=overview]');
  assert.equal(await page.textContent('[data-test-id=backend]'), 'sqlite');
  assert.equal(await page.textContent('[data-test-id=schema-version]'), '19');
  assert.ok(Number(await page.textContent('[data-test-id=users-total]')) >= 301);
  // The counts are refreshed in the background: this sign-in shows up within seconds.
  for (let i = 0; Number(await page.textContent('[data-test-id=active-sessions]')) < 1; i++) {
    assert.ok(i < 50, 'the new session is counted within 5 s');
    await new Promise((r) => setTimeout(r, 100));
    await page.reload();
  }
  assert.ok(Number(await page.textContent('[data-test-id=audit-24h]')) >= 1);
  // The statistics were refreshed when the server started (the job's first round).
  assert.match(await page.textContent('[data-test-id=stats-refreshed]'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  assert.equal(await page.textContent('[data-test-id=whoami]'), 'admin');
  await page.close();
});

test('users search, pagination and detail', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/users?sort=created_at`);
  const oldest = (await page.locator('[data-test-id=users-table] tbody tr a').first().textContent()).trim();
  await page.fill('[data-test-id=user-search]', oldest.toUpperCase());
  await page.press('[data-test-id=user-search]', 'Enter');
  await page.waitForURL(/q=/);
  const rows = page.locator('[data-test-id=users-table] tbody tr');
  assert.equal(await rows.count(), 1);
  await rows.first().locator('a').click();
  await page.waitForSelector('[data-test-id=user-name]');
  assert.equal(await page.textContent('[data-test-id=user-name]'), oldest);
  // User-supplied text is isolated from its surroundings (bidirectional overrides).
  for (const sel of ['[data-test-id=user-name]', '[data-test-id=user-tables] td']) {
    assert.equal(await page.locator(sel).first().evaluate((el) => getComputedStyle(el).unicodeBidi), 'isolate', sel);
  }
  assert.ok(await page.locator('[data-test-id=user-tables]').count() === 1, 'the oldest user has a table set');
  assert.match(await page.textContent('[data-test-id=user-tables]'), new RegExp(`pf_user_${oldest}_experiences\\s*3`));
  // What the set's career summary and the user statistics say about them.
  assert.equal(await page.textContent('[data-test-id=career-positions]'), '3');
  assert.match(await page.textContent('[data-test-id=activity-events]'), /^\d+$/);
  assert.match(await page.textContent('[data-test-id=stats-refreshed]'), /UTC$/);

  // "Starts with": each row listed has a field that starts with the text, and the
  // page lists exactly what the search answers (its fields read from the API).
  const prefix = oldest.slice(0, 3);
  await page.goto(`${base}/users?q=${prefix}&match=prefix`);
  const shown = (await page.locator('[data-test-id=users-table] tbody tr a').allTextContents()).map((t) => t.trim());
  assert.ok(shown.length >= 1);
  const answer = await page.evaluate(async (q) => {
    const r = await fetch('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `q=${q}&mode=prefix&status=&sort=&dir=&after=`,
    });
    return r.json();
  }, prefix);
  assert.deepEqual(answer.items.map((u) => u.username), shown);
  for (const u of answer.items) {
    const fields = [u.username, u.email, u.first_name ?? '', u.last_name ?? ''].map((f) => f.toLowerCase());
    assert.ok(fields.some((f) => f.startsWith(prefix)), `${u.username} has no field starting with ${prefix}: ${fields}`);
  }
  // The bulk panel counts on request (not on every page load) and offers the groups.
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=bulk] summary');
  await page.click('[data-test-id=bulk-count-button]');
  const counted = await page.textContent('[data-test-id=bulk-count]');
  assert.ok(Number(counted.split(' ')[0]) >= shown.length - 1, counted);
  assert.ok(await page.locator('[data-test-id=bulk-group-form] select option').count() > 1, 'the groups are offered');

  await page.goto(`${base}/users`);
  assert.equal(await page.locator('[data-test-id=users-table] tbody tr').count(), 25);
  const firstShown = await page.textContent('[data-test-id=users-table] tbody tr');
  await page.click('[data-test-id=next-page]');
  await page.waitForURL(/after=/);
  // The next page's rows replace the first's once they arrive.
  await page.waitForFunction(
    (first) => document.querySelector('[data-test-id=users-table] tbody tr')?.textContent !== first,
    firstShown,
  );
  assert.equal(await page.locator('[data-test-id=users-table] tbody tr').count(), 25);
  await page.close();
});

test('an administrator changes a status (a plain form post) and bad input is explained', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/users?sort=created_at&dir=desc&status=active`);
  // The newest active user other than the admin.
  const link = page.locator('[data-test-id=users-table] tbody tr a', { hasNotText: ADMIN.username }).first();
  const name = (await link.textContent()).trim();
  await link.click();
  await page.waitForSelector('[data-test-id=user-status]');
  const detail = page.url();
  assert.equal(await page.textContent('[data-test-id=user-status]'), 'active');
  await page.selectOption('[data-test-id=status-form] select', 'suspended');
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=status-form] button')]);
  assert.equal(page.url().replace(/\?$/, ''), detail, 'back on the same page');
  assert.equal(await page.textContent('[data-test-id=user-status]'), 'suspended', `${name} is suspended`);
  await page.reload();
  assert.equal(await page.textContent('[data-test-id=user-status]'), 'suspended', `${name} stays suspended`);

  // A value the form would never send: refused with a sentence, nothing changed.
  await page.evaluate(() => { document.querySelector('[data-test-id=status-form] select option').value = 'frozen'; });
  await page.selectOption('[data-test-id=status-form] select', 'frozen');
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=status-form] button')]);
  // The error comes back to the page by its code only (never as text in the URL).
  assert.match(await page.textContent('[data-test-id=error]'), /a value was not accepted/);
  assert.equal(await page.textContent('[data-test-id=user-status]'), 'suspended');
  await page.close();
});

test('sign out ends the session', async () => {
  const page = await signedInPage();
  await page.click('[data-test-id=sign-out]');
  await page.waitForURL(/signed_out=1/);
  await page.goto(`${base}/users`);
  await page.waitForURL(`${base}/login`);
  await page.close();
});

test('revoked sessions show on request (hydrated toggle on the detail page)', async () => {
  // A session of its own to revoke, whatever ran before.
  const other = await signedInPage();
  await other.click('[data-test-id=sign-out]');
  await other.waitForURL(/signed_out=1/);
  await other.close();
  const page = await signedInPage();
  await page.goto(`${base}/users?q=admin`);
  await page.locator('[data-test-id=users-table] tbody tr a').first().click();
  await page.waitForSelector('[data-test-id=user-name]');
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  const rows = page.locator('[data-test-id=sessions] tbody tr');
  const before = await rows.count();
  const toggle = page.locator('[data-test-id=toggle-inactive]');
  assert.match(await toggle.textContent(), /^Show \d+ revoked$/, 'the session signed out above');
  await toggle.click();
  assert.ok((await rows.count()) > before, 'revoked sessions appear');
  assert.match(await toggle.textContent(), /^Hide \d+ revoked$/);
  await page.close();
});

test('an administrator reveals, changes and re-keys encrypted fields; the key inventory lists the keys', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/keys`);
  await page.waitForSelector('[data-test-id=keys-table]');
  assert.ok(Number(await page.textContent('[data-test-id=keys-total]')) >= 100, 'generated phone numbers are encrypted');
  assert.equal(await page.textContent('[data-test-id=keys-overdue]'), '0');
  // The key longest without rotation leads the list.
  const link = page.locator('[data-test-id=keys-table] tbody tr a').first();
  const name = (await link.textContent()).trim();
  await link.click();
  await page.waitForSelector('[data-test-id=user-name]');
  assert.equal(await page.textContent('[data-test-id=user-name]'), name);
  assert.notEqual(await page.textContent('[data-test-id=sensitive-present]'), 'none stored');
  assert.equal(await page.locator('[data-test-id=sensitive-form]').count(), 0, 'values only on request');

  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=reveal]');
  await page.waitForSelector('[data-test-id=sensitive-form]');
  await page.fill('[data-test-id=phone_number]', '+1 555 0142');
  await page.fill('[data-test-id=nationality]', 'Icelandic');
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=sensitive-form] button')]);
  assert.match(await page.textContent('[data-test-id=sensitive-present]'), /phone number.*nationality/);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=reveal]');
  await page.waitForSelector('[data-test-id=sensitive-form]');
  assert.equal(await page.inputValue('[data-test-id=phone_number]'), '+1 555 0142');
  assert.equal(await page.inputValue('[data-test-id=nationality]'), 'Icelandic');

  const version = Number(await page.textContent('[data-test-id=key-version]'));
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=rotate-form] button')]);
  assert.equal(Number(await page.textContent('[data-test-id=key-version]')), version + 1);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=reveal]');
  await page.waitForSelector('[data-test-id=sensitive-form]');
  assert.equal(await page.inputValue('[data-test-id=phone_number]'), '+1 555 0142', 'readable after rotation');

  // Each reveal is in the audit log (three above).
  const reads = Number(sql("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user.sensitive.read'"));
  assert.equal(reads, 3);
  await page.close();
});

test('pages hydrate under their Content-Security-Policy (no inline script without the nonce)', async () => {
  const page = await signedInPage();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  for (const path of ['/', '/users', '/keys']) {
    const response = await page.goto(`${base}${path}`);
    const csp = response.headers()['content-security-policy'] ?? '';
    const scripts = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '';
    assert.match(scripts, /'nonce-[^']+'/, `${path}: ${csp}`);
    assert.doesNotMatch(scripts, /unsafe-inline/, path);
    await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  }
  // A page whose code loads on demand (a split chunk) hydrates too.
  await page.goto(`${base}/users`);
  await page.locator('[data-test-id=users-table] tbody tr a').first().click();
  await page.waitForSelector('[data-test-id=user-name]');
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  assert.deepEqual(violations, []);
  await page.close();
});

test('an administrator sets up two-factor sign-in with a QR code and signs in with a code', async () => {
  const second = { username: 'totp_admin', password: 'totp-password-123' };
  execFileSync(bin, ['create-admin', '--username', second.username, '--email', 'totp@example.com'], {
    env: { ...env, PF_ADMIN_PASSWORD: second.password },
  });
  const page = await signedInPage(second);
  await page.click('[data-test-id=whoami]');
  await page.waitForSelector('[data-test-id=mfa-off]');
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=mfa-start]');
  await page.waitForSelector('.qr svg');
  const secret = (await page.textContent('[data-test-id=mfa-secret]')).trim();
  await page.fill('[data-test-id=mfa-code]', totp(secret, Date.now() / 1000));
  await page.click('[data-test-id=mfa-confirm-form] button[type=submit]');
  await page.waitForSelector('[data-test-id=recovery-codes]');
  const codes = await page.locator('[data-test-id=recovery-codes] li').allTextContents();
  assert.equal(codes.length, 10);
  await page.close();

  // A password alone no longer signs in; the next code does, and a recovery code once.
  const refused = await browser.newPage();
  await refused.goto(`${base}/login`);
  await refused.fill('input[name=username]', second.username);
  await refused.fill('input[name=password]', second.password);
  await refused.click('[data-test-id=sign-in]');
  await refused.waitForURL(/error=credentials/);
  await refused.close();
  const withCode = await signedInPage(second, totp(secret, Date.now() / 1000 + 30));
  await withCode.close();
  const withRecovery = await signedInPage(second, codes[0].trim());
  await withRecovery.close();
});

test('an invitation is accepted in the browser: the invitee makes their account and signs in', async () => {
  const admin = await signedInPage();
  await admin.goto(`${base}/invitations`);
  await admin.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await admin.fill('[data-test-id=invite-form] input[name=email]', 'e2e-invitee@example.com');
  await admin.selectOption('[data-test-id=invite-form] select[name=role]', 'sre');
  await admin.click('[data-test-id=invite-form] button[type=submit]');
  await admin.waitForSelector('[data-test-id=invitation-link] code');
  const link = (await admin.textContent('[data-test-id=invitation-link] code')).trim();
  assert.match(link, /\/invite\/[0-9a-f]{64}$/);
  await admin.close();

  const page = await browser.newPage();
  await page.goto(link);
  assert.match(await page.textContent('[data-test-id=invite-for]'), /e2e-invitee@example\.com/);
  await page.fill('[data-test-id=invite-username]', 'e2e_invitee');
  await page.fill('[data-test-id=invite-password]', 'invitee-password-1');
  await page.click('[data-test-id=accept]');
  await page.waitForURL(/\/login\?invited=1/);
  assert.equal(await page.textContent('[data-test-id=login-message]'), 'Your account is ready: sign in.');
  // The link is used up: its page says so, with the status 410.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  await page.waitForSelector('[data-test-id=error]');
  assert.match(await page.textContent('[data-test-id=error]'), /used already/);
  await page.close();
  const invitee = await signedInPage({ username: 'e2e_invitee', password: 'invitee-password-1' });
  assert.equal(await invitee.textContent('[data-test-id=whoami]'), 'e2e_invitee');
  await invitee.close();
});

test('an administrator unlocks an account locked by wrong passwords', async () => {
  const target = { username: 'lock_target', password: 'lock-target-password-1' };
  execFileSync(bin, ['create-admin', '--username', target.username, '--email', 'lock@example.com'], {
    env: { ...env, PF_ADMIN_PASSWORD: target.password },
  });
  const guesser = await browser.newPage();
  for (let i = 0; i < 5; i++) {
    await guesser.goto(`${base}/login`);
    await guesser.fill('input[name=username]', target.username);
    await guesser.fill('input[name=password]', `wrong guess ${i}`);
    await guesser.click('[data-test-id=sign-in]');
    await guesser.waitForURL(/error=credentials/);
  }
  await guesser.close();

  const admin = await signedInPage();
  await admin.goto(`${base}/users?q=${target.username}`);
  await admin.locator('[data-test-id=users-table] tbody tr a', { hasText: target.username }).first().click();
  await admin.waitForSelector('[data-test-id=sign-in-lock]');
  assert.match(await admin.textContent('[data-test-id=sign-in-lock]'), /^locked until/);
  await Promise.all([admin.waitForNavigation(), admin.click('[data-test-id=unlock-form] button')]);
  assert.equal(await admin.textContent('[data-test-id=sign-in-lock]'), 'not locked');
  await admin.close();

  const holder = await signedInPage(target);
  assert.equal(await holder.textContent('[data-test-id=whoami]'), target.username);
  await holder.close();
});

test('a compliance reviewer searches the audit log, pages both ways, opens an event, exports CSV and verifies the chain', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/audit`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  // The browser's offset from UTC is said once hydrated.
  assert.match(await page.textContent('[data-test-id=audit-tz]'), /UTC/);
  // Filter by actor and action: only their sign-ins.
  await page.fill('[data-test-id=audit-actor]', ADMIN.username);
  await page.fill('[data-test-id=audit-action]', 'login.success');
  await page.click('[data-test-id=audit-search]');
  await page.waitForURL(/actor=admin/);
  const rows = page.locator('[data-test-id=audit-table] tbody tr');
  assert.ok(await rows.count() >= 1);
  for (const row of await rows.all()) {
    assert.equal((await row.locator('td').nth(1).textContent()).trim(), ADMIN.username);
    assert.equal((await row.locator('td').nth(2).textContent()).trim(), 'login.success');
  }
  assert.match(await page.textContent('[data-test-id=audit-total]'), /^\d+ events$/);
  // Page forward and back through a larger set (the generated events).
  await page.goto(`${base}/audit?action=profile.view&size=50`);
  const firstPage = await page.locator('[data-test-id=event-link]').allTextContents();
  const firstIds = await page.locator('[data-test-id=event-link]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.equal(firstIds.length, 50);
  await page.click('[data-test-id=next-page]');
  await page.waitForURL(/after=/);
  const secondIds = await page.locator('[data-test-id=event-link]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.equal(secondIds.length, 50);
  assert.ok(!secondIds.some((id) => firstIds.includes(id)), 'the next page holds other events');
  await page.click('[data-test-id=previous-page]');
  await page.waitForURL(/before=/);
  const backIds = await page.locator('[data-test-id=event-link]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(backIds, firstIds, 'back where we started');
  assert.ok(firstPage.length === 50);
  // The chart is an image the server drew.
  const chart = page.locator('[data-test-id=audit-chart]');
  await chart.evaluate((img) => img.complete || new Promise((r) => { img.onload = r; img.onerror = r; }));
  assert.ok(await chart.evaluate((img) => img.naturalWidth > 0), 'the chart loads');
  // One event, every column.
  const href = firstIds[0];
  await page.click(`[data-test-id=event-link][href="${href}"]`);
  await page.waitForSelector('[data-test-id=audit-event]');
  assert.equal(await page.textContent('[data-test-id=event-action]'), 'profile.view');
  // The CSV of exactly the filter.
  await page.goto(`${base}/audit?action=profile.view`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test-id=audit-export-csv]')]);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.match(lines[0], /^id,created_at,user_id,action,/);
  assert.ok(lines.length > 51, `${lines.length} lines`);
  assert.ok(lines.slice(1).every((l) => l.includes(',profile.view,')), 'only the filter\'s events');
  // Verify the chain in the background, and see it end.
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('[data-test-id=verify-button]');
  await page.waitForSelector('[data-test-id=job-state][data-outcome=ok]', { timeout: 30000 });
  assert.match(await page.textContent('[data-test-id=job-state]'), /intact/);
  await page.close();
});

test('an OpenFeature client evaluates flags through the OFREP API', async () => {
  // A key made as an operator would, its secret read from the command's output.
  const secret = cli('api-key', 'create', '--name', 'e2e-openfeature').trim().split('\n').pop();
  assert.match(secret, /^pfk_[0-9a-f]{64}$/);
  // Fixtures written beside the running server: three flags, a user's own
  // overrides, a group's override (flag editing in the console is tested on its own).
  const [a, b] = sql(
    `SELECT u.user_id || '|' || u.username || '|' || g.group_id || '|' || g.group_name FROM pf_users u
     JOIN pf_user_groups g ON g.group_id = u.feature_group_id ORDER BY u.username LIMIT 2`,
  ).split('\n').map((line) => line.split('|'));
  const t = '2026-01-01 00:00:00.000000';
  const flag = (id, key, type, dflt) =>
    `INSERT INTO pf_feature_flags (flag_id, flag_key, flag_name, flag_type, default_value, created_at, updated_at)
     VALUES ('${id}', '${key}', '${key}', '${type}', '${dflt}', '${t}', '${t}');`;
  const override = (id, user, group, flagId, value) =>
    `INSERT INTO pf_user_feature_flags (override_id, user_id, group_id, flag_id, override_value, reason, created_at)
     VALUES ('${id}', ${user ? `'${user}'` : 'NULL'}, ${group ? `'${group}'` : 'NULL'}, '${flagId}', '${value}', 'e2e', '${t}');`;
  sql(
    flag('01E2EFLAGCHECKOUT000000000', 'e2e.checkout', 'boolean', 'false') +
      flag('01E2EFLAGBANNER00000000000', 'e2e.banner', 'string', 'plain') +
      flag('01E2EFLAGLIMITS00000000000', 'e2e.limits', 'json', '{"max": 5}') +
      override('01E2EOVERRIDE0000000000001', a[0], null, '01E2EFLAGCHECKOUT000000000', 'true') +
      override('01E2EOVERRIDE0000000000002', a[0], null, '01E2EFLAGLIMITS00000000000', '{"max": 50}') +
      override('01E2EOVERRIDE0000000000003', null, b[2], '01E2EFLAGBANNER00000000000', 'holiday'),
  );

  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: base, headers: { 'X-API-Key': secret } }));
  const client = OpenFeature.getClient();
  try {
    const own = await client.getBooleanDetails('e2e.checkout', false, { targetingKey: a[1] });
    assert.equal(own.value, true);
    assert.equal(own.reason, 'TARGETING_MATCH');
    assert.equal(own.variant, 'user-override');
    const json = await client.getObjectDetails('e2e.limits', {}, { targetingKey: a[1] });
    assert.deepEqual(json.value, { max: 50 });
    const grouped = await client.getStringDetails('e2e.banner', 'fallback', { targetingKey: b[0] });
    assert.equal(grouped.value, 'holiday');
    assert.equal(grouped.variant, `group:${b[3]}`);
    const plain = await client.getStringDetails('e2e.banner', 'fallback', { targetingKey: 'nobody-at-all' });
    assert.equal(plain.value, 'plain');
    assert.equal(plain.reason, 'STATIC');
    const missing = await client.getBooleanDetails('e2e.nothing', true, { targetingKey: a[1] });
    assert.equal(missing.value, true, 'the caller\'s default for an unknown flag');
    assert.equal(missing.errorCode, 'FLAG_NOT_FOUND');
  } finally {
    await OpenFeature.close();
  }
});


test('an administrator creates a flag, overrides it for a user until tomorrow, and sees the value, its reason and the history', async () => {
  const page = await signedInPage();
  const [userId, username] = sql("SELECT user_id || '|' || username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username DESC LIMIT 1").split('|');

  await page.goto(`${base}/flags`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.fill('[data-test-id=flag-form] input[name=key]', 'e2e.ui_banner');
  await page.fill('[data-test-id=flag-form] input[name=name]', 'Banner style');
  await page.selectOption('[data-test-id=flag-form] select[name=flag_type]', 'string');
  await page.fill('[data-test-id=flag-form] input[name=default_value]', 'plain');
  await page.click('[data-test-id=flag-form] button');
  await page.waitForSelector('[data-test-id=flag-created]');
  await page.waitForSelector('[data-test-id=flags-table] >> text=e2e.ui_banner');

  // Before: the flag's default.
  await page.goto(`${base}/users/${userId}`);
  await page.waitForSelector('[data-test-id="user-flag-e2e.ui_banner"]');
  assert.match(await page.textContent('[data-test-id="user-flag-e2e.ui_banner"]'), /"plain".*the flag's default/);

  // An override with a reason and an expiry tomorrow.
  await page.goto(`${base}/flags/e2e.ui_banner`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 16);
  await page.fill('[data-test-id=override-form] input[name=user]', username);
  await page.fill('[data-test-id=override-form] input[name=value]', 'bold');
  await page.fill('[data-test-id=override-form] input[name=reason]', 'e2e pilot');
  await page.fill('[data-test-id=override-form] input[name=expires_at]', tomorrow);
  await page.click('[data-test-id=override-form] button');
  await page.waitForSelector(`[data-test-id=overrides-table] >> text=${username}`);
  // The evaluator agrees.
  await page.fill('[data-test-id=evaluator] input[name=user]', username);
  await page.click('[data-test-id=evaluator] button');
  assert.match(await (await page.waitForSelector('[data-test-id=evaluation]')).textContent(), /"bold" from the user's own override \(e2e pilot\), until/);
  // History: the creation and the override, with before and after.
  await page.reload();
  const history = await page.textContent('[data-test-id=flag-history]');
  assert.match(history, /flag\.override\.set/);
  assert.match(history, /flag\.create/);
  assert.match(history, /"after":\{[^}]*"value":"bold"/);

  // After: the user's page says what and why.
  await page.goto(`${base}/users/${userId}`);
  await page.waitForSelector('[data-test-id="user-flag-e2e.ui_banner"]');
  assert.match(await page.textContent('[data-test-id="user-flag-e2e.ui_banner"]'), /"bold".*the user's own override \(e2e pilot\), until/);
  await page.close();
});

test('a client-side OpenFeature provider polls every flag with an ETag and sees a change on the next poll', async () => {
  const secret = cli('api-key', 'create', '--name', 'e2e-web').trim().split('\n').pop();
  const username = sql("SELECT username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username LIMIT 1");
  const t = '2026-01-01 00:00:00.000000';
  sql(`INSERT INTO pf_feature_flags (flag_id, flag_key, flag_name, flag_type, default_value, created_at, updated_at)
       VALUES ('01E2EFLAGWEB00000000000000', 'e2e.web', 'e2e.web', 'boolean', 'false', '${t}', '${t}')`);
  // What the provider sent and got: each bulk request, its If-None-Match, its status.
  const calls = [];
  const fetchImplementation = async (req) => {
    const r = await fetch(req);
    calls.push({ status: r.status, ifNoneMatch: req.headers.get('If-None-Match') });
    return r;
  };
  const provider = new OFREPWebProvider({
    baseUrl: base,
    headers: [['X-API-Key', secret]],
    pollInterval: 200,
    cacheMode: 'disabled',
    disableVisibilityRefresh: true,
    fetchImplementation,
  });
  const waitFor = async (what, check) => {
    for (let i = 0; !check(); i++) {
      if (i > 100) throw new Error(`waited too long for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await WebOpenFeature.setContext({ targetingKey: username });
    await WebOpenFeature.setProviderAndWait(provider);
    const client = WebOpenFeature.getClient();
    assert.equal(client.getBooleanValue('e2e.web', true), false, 'the flag\'s default, from the bulk answer');
    assert.equal(client.getBooleanDetails('e2e.web', true).reason, 'STATIC');
    // Polls with the ETag it got, and the unchanged flags answer 304.
    await waitFor('a 304', () => calls.some((c) => c.status === 304));
    assert.ok(calls.filter((c) => c.status === 304).every((c) => c.ifNoneMatch), 'a 304 answers an If-None-Match');
    // A change applies at the next poll: a new ETag, a new body, an event.
    let changed = false;
    client.addHandler(ProviderEvents.ConfigurationChanged, () => { changed = true; });
    sql("UPDATE pf_feature_flags SET default_value = 'true' WHERE flag_key = 'e2e.web'");
    await waitFor('the change', () => changed);
    assert.equal(client.getBooleanValue('e2e.web', false), true);
    assert.equal(calls.at(-1).status, 200);
  } finally {
    await WebOpenFeature.close();
  }
});

test('an administrator manages a group: one member, everyone a users filter matches, and its overrides', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/groups`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.fill('form:has(button:text("Create")) input[name=name]', 'e2e_pilots');
  await page.fill('form:has(button:text("Create")) input[name=priority]', '40');
  await page.click('button:text("Create")');
  await page.waitForSelector('input[value=e2e_pilots]');
  const groupId = sql("SELECT group_id FROM pf_user_groups WHERE group_name = 'e2e_pilots'");

  await page.goto(`${base}/groups/${groupId}`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  assert.equal(await page.textContent('[data-test-id=group-size]'), '0');
  // One member by username.
  const one = sql("SELECT username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username DESC LIMIT 1");
  await page.fill('[data-test-id=member-add] input[name=username]', one);
  await page.click('[data-test-id=member-add] button');
  await page.waitForSelector(`[data-test-id=members-table] >> text=${one}`);
  assert.equal(await page.textContent('[data-test-id=group-size]'), '1');
  // Everyone whose name starts with two letters: counted first, then added.
  // (Not the administrator's own two letters: a bulk change leaves its author out.)
  const prefix = sql("SELECT substr(username, 1, 2) FROM pf_users WHERE username NOT LIKE 'ad%' ORDER BY username LIMIT 1");
  const expected = Number(sql(`SELECT COUNT(*) FROM pf_users WHERE username LIKE '${prefix}%'`));
  const size = Number(sql(`SELECT COUNT(*) FROM pf_users WHERE username LIKE '${prefix}%' OR username = '${one}'`));
  await page.click('[data-test-id=bulk-add] summary');
  await page.fill('[data-test-id=bulk-add] input[name=q]', prefix);
  await page.selectOption('[data-test-id=bulk-add] select[name=mode]', 'prefix');
  await page.click('[data-test-id=bulk-add-count]');
  assert.match(await (await page.waitForSelector('[data-test-id=bulk-add-preview]')).textContent(), new RegExp(`^${expected} users match`));
  await page.click('[data-test-id=bulk-add] button[type=submit]');
  assert.match(await (await page.waitForSelector('[data-test-id=bulk-add-outcome]')).textContent(), new RegExp(`^${expected} added`));
  await page.waitForFunction((n) => document.querySelector('[data-test-id=group-size]')?.textContent === String(n), size);
  // One audit row per member moved, each naming the user.
  const rows = Number(sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user.group.bulk' AND error_message LIKE '%e2e_pilots%'`));
  assert.equal(rows, expected);
  // An override for the whole group.
  await page.fill('[data-test-id=override-form] input[name=key]', 'search_v2');
  await page.fill('[data-test-id=override-form] input[name=value]', 'true');
  await page.fill('[data-test-id=override-form] input[name=reason]', 'pilot group');
  await page.click('[data-test-id=override-form] button');
  await page.waitForSelector('[data-test-id=overrides-table] >> text=search_v2');
  // The first member leaves.
  await page.click(`[data-test-id=members-table] tr:has-text("${one}") button`);
  await page.waitForFunction((n) => document.querySelector('[data-test-id=group-size]')?.textContent === String(n), size - 1);
  assert.equal(sql(`SELECT COUNT(*) FROM pf_users WHERE username = '${one}' AND feature_group_id IS NULL`), '1');
  await page.close();
});

test('the Pool page shows the pool now and its charts as SVG images with labelled axes; the Queries page its operations', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/pool`);
  await page.waitForSelector('[data-test-id=pool-now]');
  assert.match(await page.textContent('[data-test-id=pool-now]'), /sqlite/);
  assert.match(await page.textContent('[data-test-id=pool-database]'), /Write-ahead log/);
  // The sampler takes its first sample at the start: the page has one by now.
  assert.match(await page.textContent('[data-test-id=pool-open]'), /^\d+$/);
  const svg = await chartOf(page, 'pool-chart');
  assert.match(svg, /\nConnections\n/, 'the y axis is labelled');
  assert.match(svg, /\nUTC\n/, 'the x axis is labelled');
  // The storage operations by name, from the nav: the page hydrated whole, so the
  // router moves on without reloading.
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.click('nav >> text=Queries');
  await page.waitForURL(`${base}/queries`);
  await page.waitForSelector('[data-test-id=operations] tbody tr');
  assert.match(await page.textContent('[data-test-id=operations]'), /users::search_users|sessions::|users::/);
  await page.close();
});

test('the Storage page shows the sample and its growth chart as an SVG with labelled axes; a sample on demand is audited; Diagnostics checks the schema', async () => {
  const page = await signedInPage();
  await page.goto(`${base}/storage`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  // The upkeep job samples at the start; a sample asked for now is another, audited.
  const before = Number(sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'storage.sample'`));
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=sample-now] button')]);
  assert.equal(page.url().replace(/\?$/, ''), `${base}/storage`, 'back on the page');
  await page.waitForSelector('[data-test-id=storage-tables] tbody tr');
  assert.equal(Number(sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'storage.sample'`)), before + 1);
  assert.match(await page.textContent('[data-test-id=storage-used]'), /\d+(\.\d)? (B|KiB|MiB|GiB) of /);
  assert.match(await page.textContent('[data-test-id=storage-tables]'), /pf_audit_log/);
  const svg = await chartOf(page, 'storage-chart');
  assert.match(svg, /\n(B|KiB|MiB|GiB|TiB)\n/, 'the y axis is labelled with its unit');
  assert.match(svg, /\nUTC\n/, 'the x axis is labelled');
  // Diagnostics, from the nav; its schema check runs in the page (hydrated).
  await page.click('nav >> text=Diagnostics');
  await page.waitForURL(`${base}/diagnostics`);
  await page.waitForSelector('[data-test-id=migrations] tbody tr');
  assert.match(await page.textContent('[data-test-id=database-version]'), /^SQLite 3\./);
  assert.match(await page.textContent('[data-test-id=settings]'), /PF_STORAGE_WARNING_PERCENT\s*80\s*default/);
  assert.match(await page.textContent('[data-test-id=settings]'), /PF_JWT_SECRET\s*(set|unset)/);
  await page.click('[data-test-id=schema-check]');
  await page.waitForSelector('[data-test-id=schema-check-result]');
  assert.equal(await page.textContent('[data-test-id=schema-check-result]'), 'The schema matches the migrations.');
  await page.close();
});

test('an administrator adds a retention policy and a dry run says what a run would delete; the Backups page lists a verified backup', async () => {
  // A backup taken and verified with the CLI, as a scheduler would.
  cli('backup', 'create');
  cli('backup', 'verify');
  const page = await signedInPage();
  await page.goto(`${base}/retention`);
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  await page.fill('[data-test-id=retention-new] input[name=table_pattern]', 'pf_user_sessions');
  await page.fill('[data-test-id=retention-new] input[name=retention_days]', '1');
  await Promise.all([page.waitForNavigation(), page.click('[data-test-id=retention-new] button')]);
  await page.waitForSelector('[data-test-id=retention-policy]');
  assert.match(await page.textContent('[data-test-id=retention-policies]'), /pf_user_sessions/);
  assert.equal(sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'retention.policy.create'`), '1');
  // The dry run answers in the page (hydrated) and changes nothing.
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 20000 });
  const sessions = sql('SELECT COUNT(*) FROM pf_user_sessions');
  await page.click('[data-test-id=retention-dry-run-form] button');
  await page.waitForSelector('[data-test-id=retention-dry-run]');
  assert.match(await page.textContent('[data-test-id=retention-dry-run]'), /Retention \(dry run\): would archive 0 rows, would delete \d+\./);
  assert.match(await page.textContent('[data-test-id=retention-dry-run-tables]'), /pf_user_sessions/);
  assert.equal(sql('SELECT COUNT(*) FROM pf_user_sessions'), sessions, 'a dry run deletes nothing');
  // The backup, from the nav, with its verification.
  await page.click('nav >> text=Backups');
  await page.waitForURL(`${base}/backups`);
  await page.waitForSelector('[data-test-id=backup-row]');
  assert.match(await page.textContent('[data-test-id=backup-verified]'), /^ok \(/);
  await page.close();
});
