// Time to hydration in Chromium, per page, with a cold cache (a new browser
// context: nothing kept) and a warm one (the same context, the page visited
// again), and what crossed the wire from /pkg each time. Prints a Markdown table
// for BENCHMARKS.md. Starts its own console on a small generated database, on
// loopback; needs the release build.
//
//   node end2end/bench/hydration.mjs [runs per page, default 5]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.PF_BIN ?? join(root, 'target', 'release', 'pathfinder-admin');
const runs = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'pf-hydration-'));
const admin = { username: 'admin', password: 'bench-hydration-1' };
const env = {
  ...process.env,
  PF_DATABASE_URL: `sqlite:${join(dir, 'pf.db')}`,
  PF_ADMIN_PASSWORD: admin.password,
  PF_MFA_REQUIRED_ROLES: 'none',
  PF_SIGN_IN_BURST: '1000',
  RUST_LOG: 'warn',
};
const cli = (...args) => execFileSync(bin, args, { env, encoding: 'utf8' });
cli('migrate');
cli('create-admin', '--username', admin.username, '--email', 'admin@example.com');
cli('generate', '--users', '2000', '--audit-events', '20000', '--provisioned', '2', '--seed', '7');
const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--site-root', process.env.PF_SITE_ROOT ?? join(root, 'target', 'site')], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((ok) => {
  let said = '';
  server.stdout.on('data', (chunk) => {
    said += chunk;
    const bound = said.match(/serving at (http:\/\/127\.0\.0\.1:\d+)/);
    if (bound) ok(bound[1]);
  });
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});

// When the page's frame marks the body hydrated, as the page's own clock saw it.
const watch = () => {
  new MutationObserver((_, o) => {
    if (document.body?.dataset.hydrated === 'true') {
      window.__hydratedAt = performance.now();
      o.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
};

// A session made over HTTP, so that no page is cached before the one measured.
const session = await (async () => {
  const r = await fetch(`${base}/auth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ username: admin.username, password: admin.password, code: '' }),
  });
  const cookie = (r.headers.get('set-cookie') ?? '').match(/pf_session=([^;]+)/);
  if (!cookie) throw new Error(`sign-in failed: ${r.status}`);
  return cookie[1];
})();

/** A new context (an empty cache), holding the session unless for the sign-in page. */
async function freshContext(signedIn) {
  const context = await browser.newContext();
  await context.addInitScript(watch);
  if (signedIn) await context.addCookies([{ name: 'pf_session', value: session, url: base }]);
  return context;
}

async function visit(context, path) {
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30000 });
  const at = await page.evaluate(() => window.__hydratedAt);
  const wire = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((r) => r.name.includes('/pkg/'))
    .reduce((n, r) => n + r.transferSize, 0));
  await page.close();
  return { at, wire };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pages = ['/login', '/', '/users', '/audit', '/flags', '/analytics', '/access-reviews'];
console.log('| page | cold: hydrated (ms, median of ' + runs + ') | cold: /pkg bytes on the wire | warm: hydrated (ms) | warm: /pkg bytes |');
console.log('|---|---:|---:|---:|---:|');
for (const path of pages) {
  const cold = [], warm = [];
  for (let i = 0; i < runs; i++) {
    const context = await freshContext(path !== '/login');
    cold.push(await visit(context, path));
    warm.push(await visit(context, path));
    await context.close();
  }
  console.log(`| \`${path}\` | ${median(cold.map((r) => r.at)).toFixed(0)} | ${median(cold.map((r) => r.wire))} | ${median(warm.map((r) => r.at)).toFixed(0)} | ${median(warm.map((r) => r.wire))} |`);
}
await browser.close();
server.kill('SIGTERM');
