// The console as a whole in Chromium: the overview, the navigation (by role, at a
// wide and a narrow screen), pages hydrating under their Content-Security-Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, HYDRATED, startConsole, textOf, viaNav } from '../support.mjs';

const c = startConsole();

test('sign in shows the overview', async () => {
  const page = await c.signedInPage();
  await page.waitForSelector('[data-test-id=overview]');
  assert.equal(await page.textContent('[data-test-id=backend]'), 'sqlite');
  assert.equal(await page.textContent('[data-test-id=schema-version]'), c.sql('SELECT MAX(version) FROM pf_schema_version'));
  assert.ok(Number(await page.textContent('[data-test-id=users-total]')) >= 301);
  // The counts are refreshed in the background: this sign-in shows up within seconds
  // (read again until it does).
  for (let i = 0; Number(await page.textContent('[data-test-id=active-sessions]')) < 1; i++) {
    assert.ok(i < 100, 'the new session is counted within seconds');
    await page.reload();
    await page.waitForSelector('[data-test-id=active-sessions]');
  }
  assert.ok(Number(await page.textContent('[data-test-id=audit-24h]')) >= 1);
  // The statistics were refreshed when the server started (the job's first round).
  assert.match(await page.textContent('[data-test-id=stats-refreshed]'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  assert.equal(await page.textContent('[data-test-id=whoami]'), 'admin');
  await page.close();
});

test('pages hydrate under their Content-Security-Policy (no inline script without the nonce)', async () => {
  const page = await c.signedInPage();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  for (const path of ['/', '/users', '/keys']) {
    const response = await page.goto(`${c.base}${path}`);
    const csp = response.headers()['content-security-policy'] ?? '';
    const scripts = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '';
    assert.match(scripts, /'nonce-[^']+'/, `${path}: ${csp}`);
    assert.doesNotMatch(scripts, /unsafe-inline/, path);
    await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  }
  // A page whose code loads on demand (a split chunk) hydrates too.
  const id = c.sql('SELECT user_id FROM pf_users ORDER BY username LIMIT 1');
  await page.goto(`${c.base}/users/${id}`);
  await page.waitForSelector('[data-test-id=user-name]');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  assert.deepEqual(violations, []);
  await page.close();
});

/** Where an element is on the screen, or null when it is not shown. */
const box = (page, selector) => page.locator(selector).first().boundingBox();

test('the navigation groups the pages in a few sections that fit a 1280 px screen and stay usable at 800 px', async () => {
  const page = await c.signedInPage();
  for (const width of [1280, 800]) {
    await page.setViewportSize({ width, height: 800 });
    await page.goto(`${c.base}/`);
    await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
    const sections = await page.locator('[data-test-id=nav] details.menu summary').allTextContents();
    assert.deepEqual(sections.map((t) => t.trim()), ['People', 'Flags', 'Compliance', 'Operations'], `${width} px`);
    // The signed-in user and Sign out are whole and on the screen, as is every section.
    for (const sel of ['[data-test-id=whoami]', '[data-test-id=sign-out]', '[data-test-id=nav] summary >> nth=-1']) {
      const b = await box(page, sel);
      assert.ok(b && b.x >= 0 && b.x + b.width <= width && b.y >= 0, `${sel} at ${width} px: ${JSON.stringify(b)}`);
    }
    const bar = await box(page, 'header.topbar');
    if (width === 1280) assert.ok(bar.height < 60, `one line at 1280 px: ${bar.height} px`);
    // A section opens as a menu of its pages, which lead there and close the menu.
    await page.click('[data-test-id=menu-people] summary');
    const items = await page.locator('[data-test-id=menu-people] .menu-items a').allTextContents();
    assert.deepEqual(items, ['Users', 'Console accounts', 'Sessions', 'Dormant users', 'Invitations', 'Skills catalog', 'Career paths']);
    const link = await box(page, '[data-test-id=menu-people] .menu-items a >> text="Invitations"');
    assert.ok(link && link.x + link.width <= width, `the menu is on the screen at ${width} px`);
    await page.click('[data-test-id=menu-people] .menu-items a >> text="Invitations"');
    await page.waitForSelector('[data-test-id=invite-form]');
    await page.waitForFunction(() => !document.querySelector('[data-test-id=menu-people]').open);
  }
  await page.close();
});

test('each role sees the sections its work needs', async () => {
  const sre = { username: 'nav_sre', password: 'nav-sre-password-1' };
  const reviewer = { username: 'nav_compliance', password: 'nav-compliance-password-1' };
  for (const [account, role] of [[sre, 'sre'], [reviewer, 'compliance']]) {
    c.addAdmin(account, `${account.username}@example.com`);
    const id = c.sql(`SELECT user_id FROM pf_users WHERE username = '${account.username}'`);
    c.sql(`UPDATE pf_console_roles SET role = '${role}' WHERE user_id = '${id}'`);
  }
  const seen = async (account) => {
    const page = await c.signedInPage(account);
    const links = await page.locator('[data-test-id=nav] a').evaluateAll((as) => as.map((a) => a.textContent.trim()));
    await page.close();
    return links;
  };
  assert.deepEqual(await seen(sre), ['Overview', 'Analytics', 'Skills catalog', 'Career paths', 'Flags', 'Groups', 'Pool', 'Queries', 'Storage', 'Diagnostics', 'Backups']);
  assert.deepEqual(await seen(reviewer), ['Overview', 'Skills catalog', 'Career paths', 'Audit log', 'CPA PERT', 'Encryption keys', 'Security review', 'Access reviews']);
  const admin = await seen(ADMIN);
  assert.equal(admin.length, 22);
});

test('the bundle crosses the wire compressed and within its budget, and a second visit downloads none of it', async () => {
  const page = await c.browser.newPage();
  const first = page.waitForResponse((r) => /\/pkg\/[0-9a-f]{16}\/pkg\/pathfinder\.wasm$/.test(r.url()));
  await page.goto(`${c.base}/login`);
  const wasm = await first;
  assert.equal(wasm.headers()['content-encoding'], 'br');
  assert.equal(wasm.headers()['cache-control'], 'public, max-age=31536000, immutable');
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const bundle = () => page.evaluate(() => performance.getEntriesByType('resource')
    .filter((r) => r.name.includes('/pkg/'))
    .map((r) => ({ name: r.name.replace(/^.*\/pkg\//, ''), wire: r.transferSize, body: r.encodedBodySize })));
  const cold = await bundle();
  // The first page's budget (300 KB), counted as it crossed the wire (the preload and
  // the instantiation are two entries of one download: the second is served by the first).
  const sent = cold.filter((r) => r.name.endsWith('pathfinder.wasm') && r.wire > 0);
  assert.equal(sent.length, 1, JSON.stringify(cold));
  assert.ok(sent[0].body > 0 && sent[0].body <= 300000, JSON.stringify(cold));
  await page.goto(`${c.base}/login`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  const warm = await bundle();
  assert.ok(warm.length >= 3, JSON.stringify(warm));
  assert.deepEqual(warm.filter((r) => r.wire > 0), [], 'every file from the cache');
  await page.close();
  // A lazy page's HTML asks for its own module ahead (the split manifest is read
  // under the build's path too).
  const users = await c.signedInPage();
  await users.goto(`${c.base}/users`);
  const preloads = await users.locator('link[rel=preload][href*="/pkg/"][href*="split_"], link[rel=modulepreload][href*="__wasm_split"]').count();
  assert.ok(preloads >= 1, `${preloads} preloads of the page's modules`);
  await users.close();
});
