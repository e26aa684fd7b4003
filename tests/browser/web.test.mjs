// Doorstep's pages in a real browser: Debian's headless chromium driven by playwright-core, against the real
// `doorstep-server demo --size small` on a loopback port. A supervisor signs in, opens the overview, follows a
// village to a household, switches the language and downloads a ledger. Screenshots go to tests/out/. Every
// request the browser makes is recorded, and none may leave 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { out, startDemo } from './demo.mjs';

let demo;
let url;
let context;
let requests;

before(async () => {
  mkdirSync(out, { recursive: true });
  // A phone's width: the pages must read there.
  demo = await startDemo({ viewport: { width: 412, height: 900 }, acceptDownloads: true });
  ({ url, context, requests } = demo);
});

after(async () => {
  if (demo) await demo.close();
});

test('a supervisor signs in, follows a village to a household, switches language and downloads a ledger', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${url}/overview`);
  assert.match(page.url(), /\/login$/, 'not signed in: sent to the sign-in page');
  assert.equal(await page.locator('h1').textContent(), '入户帮扶');
  await page.fill('input[name=user]', 'county');
  await page.fill('input[name=password]', 'supervise-2026');
  await Promise.all([page.waitForURL(/\/overview$/), page.click('button[type=submit]')]);
  assert.equal(await page.locator('main h1').textContent(), '总览');
  assert.match(await page.locator('#coverage-total').textContent(), /本月走访覆盖率/);
  assert.ok((await page.locator('#by-village svg').count()) > 0, 'trend charts are drawn');
  await page.screenshot({ path: join(out, 'overview.png'), fullPage: true });

  // Follow the first village of the coverage table, then its first household.
  const village = (await page.locator('#by-village tbody a').first().textContent()).trim();
  await Promise.all([page.waitForURL(/\/village\//), page.locator('#by-village tbody a').first().click()]);
  assert.equal((await page.locator('main h1').textContent()).trim(), `行政村: ${village}`);
  await page.screenshot({ path: join(out, 'village.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/household\//), page.locator('a.hh').first().click()]);
  assert.match(await page.locator('main h1').textContent(), /^农户 /);
  assert.ok((await page.locator('#members tbody tr').count()) > 0, 'members are listed');
  const nid = (await page.locator('td.nid').first().textContent()).trim();
  assert.equal(nid.length, 18, 'a supervisor sees the full national ID');
  await page.screenshot({ path: join(out, 'household.png'), fullPage: true });

  // Switch to English: the same household, in English, and the choice sticks.
  await Promise.all([page.waitForURL(/lang=en/), page.click('#lang-switch')]);
  assert.match(await page.locator('main h1').textContent(), /^Household /);
  assert.ok(await page.locator('text=Field history').count());
  await page.screenshot({ path: join(out, 'household-en.png'), fullPage: true });
  await page.goto(`${url}/overview`);
  assert.equal(await page.locator('main h1').textContent(), 'Overview');

  // Download the household ledger of the current filter.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ledgers a[href^="/ledger/households.csv"]')]);
  const file = join(out, 'households.csv');
  await download.saveAs(file);
  const bytes = readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a byte-order mark');
  const lines = bytes.subarray(3).toString('utf8').trim().split('\n');
  assert.match(lines[0], /^Number,Township,Village/);
  assert.ok(lines.length > 72, `one line per member: ${lines.length}`);
  await page.screenshot({ path: join(out, 'overview-en.png'), fullPage: true });

  assert.deepEqual(problems, [], 'no console errors (a CSP violation would show here)');
  const outside = requests.filter((r) => !r.startsWith('http://127.0.0.1:'));
  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
  assert.ok(requests.some((r) => r.endsWith('/static/style.css')), 'the embedded stylesheet is loaded');
});

test('an admin names a person, resets a password and the person must change it; the admin pages read in Chinese', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  // Sign out whoever is signed in, then sign in as the admin.
  await page.goto(`${url}/overview?lang=zh`);
  if (!page.url().endsWith('/login')) {
    await Promise.all([page.waitForURL(/\/login$/), page.click('header form button[type=submit]')]);
  }
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', 'admin-2026');
  await Promise.all([page.waitForURL(/\/overview$/), page.click('button[type=submit]')]);

  // The person's page: name and unit, devices with app version and last sync.
  await page.goto(`${url}/admin/users/helper02`);
  assert.match(await page.locator('#devices tbody').textContent(), /doorstep\/\d+\.\d+\.\d+/, 'each device shows its app version');
  await page.fill('#profile input[name=display_name]', '周晓燕');
  await page.fill('#profile input[name=unit]', '青山乡人民政府扶贫办');
  await Promise.all([page.waitForURL(/saved=1/), page.click('#profile button[type=submit]')]);
  assert.match(await page.locator('main h1').textContent(), /周晓燕/);
  await page.screenshot({ path: join(out, 'web-admin-user.png'), fullPage: true });
  await page.fill('#reset-password input[name=password]', 'temporary-2026');
  await Promise.all([page.waitForURL(/saved=1/), page.click('#reset-password button[type=submit]')]);
  assert.match(await page.locator('#account').textContent(), /待改密码/);

  // The rules page: statuses that need visits, the day a change takes effect, the versions.
  await page.goto(`${url}/admin/rules`);
  assert.equal(await page.locator('#visit-statuses input[type=checkbox]:checked').count(), 4, 'four statuses need monthly visits');
  assert.ok(!(await page.locator('#visit-statuses input[name=status_ordinary]').isChecked()), 'ordinary households do not');
  assert.ok((await page.locator('#rule-versions tbody tr').count()) >= 1);
  await page.screenshot({ path: join(out, 'web-admin-rules.png'), fullPage: true });

  // The audit log in words, and the review with its total.
  await page.goto(`${url}/admin/audit`);
  const audit = await page.locator('#audit tbody').textContent();
  assert.ok(audit.includes('重置密码') && audit.includes('周晓燕（helper02）'), 'the audit log reads as sentences');
  assert.ok(!/user\.|grant\.|role=/.test(audit), 'no codes in the text');
  await page.goto(`${url}/admin/review`);
  assert.match(await page.locator('#review-total').textContent(), /合计/);
  await page.screenshot({ path: join(out, 'web-admin-review.png'), fullPage: true });

  // The person signs in with the reset password and lands on the change form, nothing else.
  await Promise.all([page.waitForURL(/\/login$/), page.click('header form button[type=submit]')]);
  await page.fill('input[name=user]', 'helper02');
  await page.fill('input[name=password]', 'temporary-2026');
  await Promise.all([page.waitForURL(/\/password$/), page.click('button[type=submit]')]);
  assert.match(await page.locator('main').textContent(), /管理员重置了您的密码/);
  await page.screenshot({ path: join(out, 'web-password.png'), fullPage: true });
  await page.goto(`${url}/overview`);
  assert.match(page.url(), /\/password$/, 'other pages wait until the password is changed');
  await page.fill('input[name=current]', 'temporary-2026');
  await page.fill('input[name=new]', 'my-own-2026');
  await page.fill('input[name=again]', 'my-own-2026');
  await Promise.all([page.waitForURL(/saved=1/), page.click('#password button[type=submit]')]);
  await page.goto(`${url}/overview`);
  assert.match(page.url(), /\/overview$/);
  assert.deepEqual(problems, []);
  await page.close();
});
