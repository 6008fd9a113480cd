// Feature flags in Chromium and through real OpenFeature clients: the evaluation
// API (OFREP) for a server-side and a client-side provider, a flag created and
// overridden in the console, and a group's members and overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { HYDRATED, startConsole, textOf } from '../support.mjs';

const c = startConsole();

test('an OpenFeature client evaluates flags through the OFREP API', async () => {
  // A key made as an operator would, its secret read from the command's output.
  const secret = c.cli('api-key', 'create', '--name', 'e2e-openfeature').trim().split('\n').pop();
  assert.match(secret, /^pfk_[0-9a-f]{64}$/);
  // Fixtures written beside the running server: three flags, a user's own
  // overrides, a group's override (flag editing in the console is tested on its own).
  const [a, b] = c.sql(
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
  c.sql(
    flag('01E2EFLAGCHECKOUT000000000', 'e2e.checkout', 'boolean', 'false') +
      flag('01E2EFLAGBANNER00000000000', 'e2e.banner', 'string', 'plain') +
      flag('01E2EFLAGLIMITS00000000000', 'e2e.limits', 'json', '{"max": 5}') +
      override('01E2EOVERRIDE0000000000001', a[0], null, '01E2EFLAGCHECKOUT000000000', 'true') +
      override('01E2EOVERRIDE0000000000002', a[0], null, '01E2EFLAGLIMITS00000000000', '{"max": 50}') +
      override('01E2EOVERRIDE0000000000003', null, b[2], '01E2EFLAGBANNER00000000000', 'holiday'),
  );

  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: c.base, headers: { 'X-API-Key': secret } }));
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

test('a client-side OpenFeature provider polls every flag with an ETag and sees a change on the next poll', async () => {
  const secret = c.cli('api-key', 'create', '--name', 'e2e-web').trim().split('\n').pop();
  const username = c.sql("SELECT username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username LIMIT 1");
  const t = '2026-01-01 00:00:00.000000';
  c.sql(`INSERT INTO pf_feature_flags (flag_id, flag_key, flag_name, flag_type, default_value, created_at, updated_at)
       VALUES ('01E2EFLAGWEB00000000000000', 'e2e.web', 'e2e.web', 'boolean', 'false', '${t}', '${t}')`);
  // What the provider sent and got: each bulk request, its If-None-Match, its status.
  const calls = [];
  const fetchImplementation = async (req) => {
    const r = await fetch(req);
    calls.push({ status: r.status, ifNoneMatch: req.headers.get('If-None-Match') });
    return r;
  };
  const provider = new OFREPWebProvider({
    baseUrl: c.base,
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
    c.sql("UPDATE pf_feature_flags SET default_value = 'true' WHERE flag_key = 'e2e.web'");
    await waitFor('the change', () => changed);
    assert.equal(client.getBooleanValue('e2e.web', false), true);
    assert.equal(calls.at(-1).status, 200);
  } finally {
    await WebOpenFeature.close();
  }
});

test('an administrator creates a flag, overrides it for a user until tomorrow, and sees the value, its reason and the history', async () => {
  const page = await c.signedInPage();
  const [userId, username] = c.sql("SELECT user_id || '|' || username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username DESC LIMIT 1").split('|');

  await page.goto(`${c.base}/flags`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.fill('[data-test-id=flag-form] input[name=key]', 'e2e.ui_banner');
  await page.fill('[data-test-id=flag-form] input[name=name]', 'Banner style');
  await page.selectOption('[data-test-id=flag-form] select[name=flag_type]', 'string');
  await page.fill('[data-test-id=flag-form] input[name=default_value]', 'plain');
  await page.click('[data-test-id=flag-form] button');
  await page.waitForSelector('[data-test-id=flag-created]');
  await page.waitForSelector('[data-test-id=flags-table] >> text=e2e.ui_banner');

  // Before: the flag's default (listed among all the flags, not among the user's own).
  await page.goto(`${c.base}/users/${userId}?flags=all`);
  await page.waitForSelector('[data-test-id="user-flag-e2e.ui_banner"]');
  assert.match(await page.textContent('[data-test-id="user-flag-e2e.ui_banner"]'), /"plain".*the flag's default/);

  // An override with a reason and an expiry tomorrow.
  await page.goto(`${c.base}/flags/e2e.ui_banner`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
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

  // After: the user's page says what and why, among the values of their own.
  await page.goto(`${c.base}/users/${userId}`);
  await page.waitForSelector('[data-test-id="user-flag-e2e.ui_banner"]');
  assert.match(await page.textContent('[data-test-id="user-flag-e2e.ui_banner"]'), /"bold".*the user's own override \(e2e pilot\), until/);
  await page.close();
});

test('an administrator manages a group: one member, everyone a users filter matches, and its overrides', async () => {
  const page = await c.signedInPage();
  await page.goto(`${c.base}/groups`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  await page.fill('form:has(button:text("Create")) input[name=name]', 'e2e_pilots');
  await page.fill('form:has(button:text("Create")) input[name=priority]', '40');
  await page.click('button:text("Create")');
  await page.waitForSelector('input[value=e2e_pilots]');
  const groupId = c.sql("SELECT group_id FROM pf_user_groups WHERE group_name = 'e2e_pilots'");

  await page.goto(`${c.base}/groups/${groupId}`);
  await page.waitForSelector('body[data-hydrated=true]', HYDRATED);
  assert.equal(await page.textContent('[data-test-id=group-size]'), '0');
  // One member by username.
  const one = c.sql("SELECT username FROM pf_users WHERE username NOT LIKE 'admin%' ORDER BY username DESC LIMIT 1");
  await page.fill('[data-test-id=member-add] input[name=username]', one);
  await page.click('[data-test-id=member-add] button');
  await page.waitForSelector(`[data-test-id=members-table] >> text=${one}`);
  assert.equal(await page.textContent('[data-test-id=group-size]'), '1');
  // Everyone whose name starts with two letters: counted first, then added.
  // (Not the administrator's own two letters: a bulk change leaves its author out.)
  const prefix = c.sql("SELECT substr(username, 1, 2) FROM pf_users WHERE username NOT LIKE 'ad%' ORDER BY username LIMIT 1");
  const expected = Number(c.sql(`SELECT COUNT(*) FROM pf_users WHERE username LIKE '${prefix}%'`));
  const size = Number(c.sql(`SELECT COUNT(*) FROM pf_users WHERE username LIKE '${prefix}%' OR username = '${one}'`));
  await page.click('[data-test-id=bulk-add] summary');
  await page.fill('[data-test-id=bulk-add] input[name=q]', prefix);
  await page.selectOption('[data-test-id=bulk-add] select[name=mode]', 'prefix');
  await page.click('[data-test-id=bulk-add-count]');
  assert.match(await (await page.waitForSelector('[data-test-id=bulk-add-preview]')).textContent(), new RegExp(`^${expected} users match`));
  await page.click('[data-test-id=bulk-add] button[type=submit]');
  assert.match(await (await page.waitForSelector('[data-test-id=bulk-add-outcome]')).textContent(), new RegExp(`^${expected} added`));
  await page.waitForFunction((n) => document.querySelector('[data-test-id=group-size]')?.textContent === String(n), size);
  // One audit row per member moved, each naming the user.
  const rows = Number(c.sql(`SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user.group.bulk' AND error_message LIKE '%e2e_pilots%'`));
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
  assert.equal(c.sql(`SELECT COUNT(*) FROM pf_users WHERE username = '${one}' AND feature_group_id IS NULL`), '1');
  await page.close();
});
