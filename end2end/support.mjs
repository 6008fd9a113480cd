// What the browser tests share: a console of their own (the release build on a
// fresh SQLite database with a small generated dataset), Debian's Chromium, and
// waits for the state a test asserts (never for a URL or a fixed time).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const root = resolve(import.meta.dirname, '..');
export const bin = process.env.PF_BIN ?? join(root, 'target', 'release', 'pathfinder-admin');
export const ADMIN = { username: 'admin', password: 'e2e-password-123' };
/** How long a page may take to hydrate (its code may load on demand). */
export const HYDRATED = { timeout: 20000 };

/**
 * Starts a console for the test file (stopped when the file's tests are over): a
 * first admin and 300 generated people, the oldest with a provisioned table set.
 * Two-factor sign-in is required of no role here, so that the tests sign in with a
 * password; the TOTP test sets it up for an admin of its own (the requirement itself
 * is tested over HTTP, server/tests/http/mfa.rs).
 */
export function startConsole() {
  const dir = mkdtempSync(join(tmpdir(), 'pf-e2e-'));
  const env = {
    ...process.env,
    PF_DATABASE_URL: `sqlite:${join(dir, 'pf.db')}`,
    PF_ADMIN_PASSWORD: ADMIN.password,
    PF_MFA_REQUIRED_ROLES: 'none',
    // Every browser here signs in from 127.0.0.1: the throttle's default would
    // refuse the suite's sign-ins (it is tested over HTTP).
    PF_SIGN_IN_BURST: '1000',
    RUST_LOG: 'warn',
  };
  const c = {
    // Set once the server says where it listens (the kernel picks the port: two
    // test files picking the same one would share a console).
    base: null,
    env,
    dir,
    browser: null,
    server: null,
    /** Runs the console's command line on the test database. */
    cli: (...args) => execFileSync(bin, args, { env, encoding: 'utf8' }),
    /** A query of the test's database, as an operator's sqlite3 would send it. */
    sql: (q) => execFileSync('sqlite3', ['-cmd', '.timeout 5000', join(dir, 'pf.db'), q], { encoding: 'utf8' }).trim(),
    /** Another console administrator, with a password of its own. */
    addAdmin: (account, email) =>
      execFileSync(bin, ['create-admin', '--username', account.username, '--email', email], {
        env: { ...env, PF_ADMIN_PASSWORD: account.password },
      }),
    /** A page signed in as `account` (with a second factor's `code`), on the overview. */
    async signedInPage(account = ADMIN, code = '') {
      const page = await c.browser.newPage();
      await page.goto(`${c.base}/login`);
      await page.fill('input[name=username]', account.username);
      await page.fill('input[name=password]', account.password);
      await page.fill('[data-test-id=code]', code);
      await page.click('[data-test-id=sign-in]');
      await page.waitForSelector(`[data-test-id=whoami]:text-is("${account.username}")`);
      return page;
    },
  };
  before(async () => {
    assert.ok(existsSync(bin), `build the release binary first: ${bin}`);
    c.cli('migrate');
    c.cli('create-admin', '--username', ADMIN.username, '--email', 'admin@example.com');
    c.cli('generate', '--users', '300', '--audit-events', '3000', '--provisioned', '1', '--seed', '7');
    c.server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--site-root', join(root, 'target', 'site')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let exited = null;
    c.server.on('exit', (code) => { exited = code; });
    let said = '';
    c.server.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      said += chunk;
      const bound = said.match(/serving at (http:\/\/127\.0\.0\.1:\d+)/);
      if (bound && !c.base) c.base = bound[1];
    });
    for (let i = 0; ; i++) {
      try {
        if (c.base && (await fetch(`${c.base}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) break;
      } catch {}
      if (exited !== null) throw new Error(`the server exited (${exited}) before it was ready`);
      if (i > 300) throw new Error('server did not become ready in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    c.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await c.browser?.close();
    if (c.server && c.server.exitCode === null && c.server.signalCode === null) {
      const gone = new Promise((r) => c.server.once('exit', r));
      c.server.kill('SIGTERM');
      const late = setTimeout(() => c.server.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(late);
    }
    // The test file's database goes with it (PF_E2E_KEEP=1 keeps it to look into).
    if (!process.env.PF_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  });
  return c;
}

/**
 * Waits until the element `selector` says `expected` (a string: its whole text,
 * trimmed; a RegExp: a match), and returns its text.
 */
export async function textOf(page, selector, expected, timeout = 15000) {
  const wanted = expected instanceof RegExp ? { source: expected.source, flags: expected.flags } : { text: expected };
  try {
    await page.waitForFunction(
      ([sel, w]) => {
        const t = document.querySelector(sel)?.textContent?.trim();
        if (t === undefined) return false;
        return w.text !== undefined ? t === w.text : new RegExp(w.source, w.flags).test(t);
      },
      [selector, wanted],
      { timeout },
    );
  } catch (e) {
    const now = await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => '(absent)');
    throw new Error(`${selector} never said ${expected}; it says ${JSON.stringify(now)}`, { cause: e });
  }
  return (await page.textContent(selector)).trim();
}

/**
 * Follows a keyset pager's link (`link`, a selector) and waits until the list
 * (`list`, a selector) shows the page the link names: its `data-page` becomes
 * `after:<cursor>` or `before:<cursor>`. The rows of the page before stay until
 * then (the list's frame is a Transition), so they are never read by mistake.
 */
export async function followPager(page, link, list) {
  const href = await page.getAttribute(link, 'href');
  const query = new URL(href, 'http://x').searchParams;
  const key = query.has('before') ? `before:${query.get('before')}` : `after:${query.get('after')}`;
  await page.click(link);
  await page.waitForFunction(([sel, k]) => document.querySelector(sel)?.getAttribute('data-page') === k, [list, key]);
}

/** Opens a page from the navigation: its section's menu, then its link. */
export async function viaNav(page, section, label) {
  await page.click(`[data-test-id=menu-${section}] summary`);
  await page.click(`[data-test-id=menu-${section}] .menu-items >> text="${label}"`);
}

/** The SVG a chart image shows (the server drew it), once the browser has drawn it too. */
export async function chartOf(page, testId) {
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

/** RFC 6238 with SHA-1, six digits, 30-second steps: what an authenticator app does. */
export function totp(base32, unixSeconds) {
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

/**
 * Waits until `check()` (a reading of the database, say) returns something truthy,
 * and returns it: for state the page does not show.
 */
export async function eventually(check, what, timeout = 15000) {
  const until = Date.now() + timeout;
  for (;;) {
    const got = check();
    if (got) return got;
    if (Date.now() > until) throw new Error(`waited ${timeout} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
