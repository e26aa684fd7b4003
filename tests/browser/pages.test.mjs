// The visit page, the pages on paper and the pages on a phone, in Debian's headless chromium against the small demo
// county (`demo.mjs`).
// - The visit page is reached from a household's visit table and must show what that table summarises.
// - Printing: Chromium's print-to-PDF (print media, A4, no backgrounds) of the village, household, visit, helper and
//   overview pages, read back with pdfinfo/pdftotext: page count (a village's 12 households on at most two A4
//   pages), page numbers, the title block (area, village, period, print date), the signature lines, and none of the
//   words of the navigation, the filter forms or the ledger links.
// - A phone's width (390 px): nothing wider than the screen except inside a sideways-scrolling `.scroll` box, and
//   names, numbers and IDs on one line. Screenshots at 390 px and 1280 px go to tests/out/ (phone-*, desktop-*).
// Every request stays on 127.0.0.1 and no page logs a console error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo, signIn, today, readPdf, out } from './demo.mjs';

let demo;
let url;
let page;
/** Paths of the pages the tests visit, found by following links as a supervisor would. */
const at = {};

before(async () => {
  mkdirSync(out, { recursive: true });
  demo = await startDemo();
  url = demo.url;
  page = await demo.context.newPage();
  await signIn(page, url);
  at.overview = '/overview';
  at.villages = await page.$$eval('#by-village tbody a', (as) => as.map((a) => a.getAttribute('href')));
  at.helpers = await page.$$eval('#by-helper tbody a', (as) => as.map((a) => a.getAttribute('href')));
  at.problemHouseholds = await page.$$eval('#problems tbody a[href^="/household/"]', (as) => as.map((a) => a.getAttribute('href')));
  at.village = at.villages[0];
  at.helper = at.helpers[0];
  await page.goto(url + at.village);
  at.households = await page.$$eval('a.hh', (as) => as.map((a) => a.getAttribute('href')));
  at.household = at.households[0];
  await page.goto(url + at.household);
  at.visit = await page.locator('a.visit-link').first().getAttribute('href');
});

after(async () => {
  if (demo) await demo.close();
});

/** The cells of a household's visit table row, as the visit page must repeat them. */
async function visitRow(row) {
  return {
    href: await row.locator('a.visit-link').getAttribute('href'),
    date: (await row.locator('td').nth(0).textContent()).trim(),
    visitor: (await row.locator('td').nth(2).textContent()).trim(),
    marks: await row.locator('.mark').evaluateAll((ms) => ms.map((m) => m.getAttribute('aria-label'))),
    problems: (await row.locator('td').nth(4).textContent()).trim(),
    thumbs: await row.locator('a.attachment img').evaluateAll((is) => is.map((i) => i.getAttribute('alt'))),
  };
}

/** The visit page's six assurances as "name：status" (as the household page's marks say them) and their notes. */
async function assurances() {
  return page.$$eval('#assurances tbody tr', (rows) => rows.map((r) => ({
    label: `${r.cells[0].textContent.trim()}：${r.cells[1].textContent.replace(/^\s*[✓✗–?]\s*/, '').trim()}`,
    symbol: r.cells[1].querySelector('.mark').textContent.trim(),
    name: r.cells[0].textContent.trim(),
    note: r.cells[2].textContent.trim(),
  })));
}

test('the visit page, from a household visit table: assurances with notes, problems, record, attachments, device', async () => {
  // A household with an open problem, and on its page the visit that found it (a ✗ among its marks).
  let row;
  let head;
  for (const hh of at.problemHouseholds) {
    await page.goto(url + hh);
    const rows = page.locator('#visits tbody tr').filter({ has: page.locator('.mark.problem') });
    if (await rows.count()) {
      row = await visitRow(rows.first());
      head = (await page.locator('#head').textContent()).trim();
      break;
    }
  }
  assert.ok(row, `a visit with a problem among the households with open problems: ${at.problemHouseholds}`);
  const household = new URL(page.url()).pathname;
  await Promise.all([page.waitForURL(/\/visit\//), page.click(`a.visit-link[href="${row.href}"]`)]);
  assert.equal(new URL(page.url()).pathname, row.href);
  assert.equal((await page.locator('main h1').textContent()).trim(), `走访记录 ${row.date} · ${head}`);

  const six = await assurances();
  assert.deepEqual(six.map((a) => a.name), ['不愁吃', '不愁穿', '义务教育', '基本医疗', '住房安全', '饮水安全']);
  assert.deepEqual(six.map((a) => a.label), row.marks, 'the page says what the marks of the visit table said');
  const found = six.filter((a) => a.symbol === '✗');
  assert.ok(found.length >= 1, 'the problem is marked ✗');
  for (const a of found) assert.ok(a.note.length > 0 && row.problems.includes(a.note), `the note of ${a.name} is the problem: ${a.note}`);
  const problems = await page.$$eval('#visit-problems tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim())));
  assert.ok(problems.length >= 1, 'problems are listed');
  for (const [description, assurance, status] of problems) {
    assert.ok(row.problems.includes(`${description} [${status}]`), `${description} [${status}] is in the visit table: ${row.problems}`);
    assert.ok(found.some((a) => a.name === assurance), `the problem's assurance ${assurance} is the one marked ✗`);
  }

  assert.match(await page.locator('#visit-date').textContent(), new RegExp(`^${row.date} \\d{2}:\\d{2}$`));
  assert.match(await page.locator('#visitor').textContent(), new RegExp(`^${row.visitor} · 帮扶责任人$`));
  assert.match(await page.locator('#device').textContent(), /\S/, 'the device that recorded it');
  assert.match(await page.locator('#received').textContent(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, 'when the server first had it');
  assert.match(await page.locator('#satisfaction').textContent(), /^(非常满意|满意|一般|不满意)$/);
  assert.match(await page.locator('#note').textContent(), /^(入户走访，了解生产生活情况|动态调整核查)$/);
  assert.match(await page.locator('#measures').textContent(), /\S/);
  assert.equal(await page.locator('#visit-facts a').first().getAttribute('href'), household, 'a link back to the household');

  // A visit with a photo: its thumbnails on the visit page are the ones of the visit table, and they load.
  let shot;
  search: for (const v of at.villages) {
    await page.goto(url + v);
    const households = await page.$$eval('a.hh', (as) => as.map((a) => a.getAttribute('href')));
    for (const hh of households) {
      await page.goto(url + hh);
      const rows = page.locator('#visits tbody tr').filter({ has: page.locator('a.attachment img') });
      if (await rows.count()) { shot = await visitRow(rows.first()); break search; }
    }
  }
  assert.ok(shot, 'a visit with an attachment in the county');
  await page.goto(url + shot.href);
  const imgs = page.locator('#visit-attachments img');
  assert.deepEqual(await imgs.evaluateAll((is) => is.map((i) => i.getAttribute('alt'))), shot.thumbs);
  await imgs.first().scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll('#visit-attachments img')].every((i) => i.complete));
  const widths = await imgs.evaluateAll((is) => is.map((i) => i.naturalWidth));
  assert.ok(widths.every((w) => w > 0), `every thumbnail loads: ${widths}`);
  await page.screenshot({ path: join(out, 'visit.png'), fullPage: true });

  // The same page in English.
  await page.goto(`${url}${row.href}?lang=en`);
  assert.match(await page.locator('main h1').textContent(), new RegExp(`^Visit ${row.date} · `));
  assert.equal((await page.locator('#assurances h2').textContent()).trim(), 'Six assurances');
  assert.equal(await page.locator('#assurances tbody tr').count(), 6);
  await page.goto(`${url}${row.href}?lang=zh`);
});

/** Prints the page at `path` to tests/out/print-NAME.pdf as Chromium prints it, and reads the PDF back. */
async function print(name, path) {
  await page.goto(url + path);
  await page.emulateMedia({ media: 'print' });
  const file = join(out, `print-${name}.pdf`);
  await page.pdf({ path: file, format: 'A4', printBackground: false });
  await page.emulateMedia({ media: 'screen' });
  return { file, ...readPdf(file) };
}

/** What every printed page has, and what none has. */
function assertPrinted(name, pdf, { lang = 'zh', maxPages, extraForbidden = [] }) {
  const day = today();
  assert.match(pdf.size, /\(A4\)/, `${name}: A4`);
  assert.ok(pdf.pages >= 1 && pdf.pages <= maxPages, `${name}: ${pdf.pages} pages, at most ${maxPages}`);
  for (let i = 1; i <= pdf.pages; i++) assert.match(pdf.text, new RegExp(`(^|\\s)${i}\\s*/\\s*${pdf.pages}\\s*$`, 'm'), `${name}: page number ${i} / ${pdf.pages}`);
  const [app, printed, sign, forbidden] = lang === 'zh'
    ? ['入户帮扶', `打印日期: ${day}`, /走访人:\s+审核人:\s+日期:/, ['退出', '筛选', '台账下载', '农户台账', '走访台账', 'English', '动态调整', '互查授权', '走访规则', '督导']]
    : ['Doorstep', `Printed on: ${day}`, /Visited by:\s+Reviewed by:\s+Date:/, ['Sign out', 'Apply', 'Ledgers (CSV)', 'Household ledger', '中文', 'Dynamic review', 'Inspector grants', 'Schedule rules', 'Supervisor']];
  assert.ok(pdf.text.includes(app), `${name}: the app's name`);
  assert.ok(pdf.text.includes(printed), `${name}: the print date (${printed})`);
  assert.match(pdf.text, sign, `${name}: the signature lines`);
  for (const word of [...forbidden, ...extraForbidden]) assert.ok(!pdf.text.includes(word), `${name}: no "${word}" (navigation, forms, ledger links) on paper`);
}

test('printed: a title with area, village, period and print date, page numbers, signature lines, no navigation', async () => {
  const month = today().slice(0, 7);
  const timings = [];
  const t0 = Date.now();

  await page.goto(url + at.village);
  const village = (await page.locator('main h1').textContent()).replace(/^行政村: /, '').trim();
  assert.equal(await page.locator('#households tbody tr').count(), 12, 'the demo village has 12 households');
  const v = await print('village', at.village);
  assertPrinted('village', v, { maxPages: 2, extraForbidden: ['总览'] });
  assert.match(v.text, /负责区域: \S+/, 'the account\'s area');
  assert.ok(v.text.includes(`行政村: ${village} · 月份: ${month}`), 'the village and month in the title');
  for (const hh of ['4306220040001', '4306220040012']) assert.ok(v.text.includes(hh), `household ${hh} is printed`);
  timings.push(['village', v.pages]);

  await page.goto(url + at.household);
  const number = (await page.locator('#facts td').first().textContent()).trim();
  const h = await print('household', at.household);
  assertPrinted('household', h, { maxPages: 3, extraForbidden: ['总览'] });
  assert.ok(h.text.includes(`农户: ${number}`), 'the household in the title');
  assert.ok(h.text.includes(`行政村: ${village}`), 'its village in the title');
  timings.push(['household', h.pages]);

  const vis = await print('visit', at.visit);
  assertPrinted('visit', vis, { maxPages: 1, extraForbidden: ['总览'] });
  assert.ok(vis.text.includes('两不愁三保障'), 'the six assurances are printed');
  assert.match(vis.text, new RegExp(`行政村: ${village} · 农户: \\d+ \\S+ · 日期: \\d{4}-\\d{2}-\\d{2}`), 'village, household and date in the title');
  timings.push(['visit', vis.pages]);

  const hp = await print('helper', at.helper);
  assertPrinted('helper', hp, { maxPages: 2, extraForbidden: ['总览'] });
  assert.ok(hp.text.includes(`月份: ${month}`));
  timings.push(['helper', hp.pages]);

  // The overview's own title is 总览, so that word is not forbidden there; the filter's choices are.
  const o = await print('overview', at.overview);
  assertPrinted('overview', o, { maxPages: 4, extraForbidden: ['截至日期', '全部'] });
  assert.ok(o.text.includes(`月份: ${month}`));
  timings.push(['overview', o.pages]);

  // In English, with the same limits.
  const en = await print('village-en', `${at.village}?lang=en`);
  assertPrinted('village-en', en, { lang: 'en', maxPages: 2, extraForbidden: ['Overview'] });
  assert.ok(en.text.includes(`Village: ${village} · Month: ${month}`));
  await page.goto(`${url}${at.village}?lang=zh`);
  timings.push(['village-en', en.pages]);
  console.log(`printed (pages): ${timings.map(([n, p]) => `${n} ${p}`).join(', ')} in ${Date.now() - t0} ms`);

  // On screen the print-only title and signature lines stay hidden.
  assert.equal(await page.locator('.print-head').isVisible(), false);
  assert.equal(await page.locator('.print-sign').isVisible(), false);
});

/** What sticks out of the screen sideways, outside the `.scroll` boxes that are meant to scroll. */
function overflow() {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const bad = [];
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.closest('.scroll');
      if (box && box !== el) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > width + 0.5 || r.left < -0.5) {
        bad.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${el.textContent.trim().slice(0, 20)}": ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
    }
    return { width, scrollWidth: document.documentElement.scrollWidth, bad };
  });
}

/** For each cell the selector finds: its text and how many lines it takes. */
function lines(selector) {
  return page.$$eval(selector, (cells) => cells.map((c) => {
    const range = document.createRange();
    range.selectNodeContents(c);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    // The text's own height (the cell may be taller: its row's other cells set the row's height).
    const height = range.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight);
    return { text: c.textContent.trim(), lines: tops.size, height };
  }));
}

async function assertOneLine(name, selector, atLeast = 1) {
  const cells = await lines(selector);
  assert.ok(cells.length >= atLeast, `${name}: ${selector} finds ${cells.length} cells`);
  for (const c of cells) {
    assert.ok(c.lines === 1 && c.height <= 1.5, `${name}: "${c.text}" (${selector}) is on one line, not ${c.lines} (${c.height.toFixed(2)} line heights)`);
  }
}

test('at 390 px: nothing wider than the screen outside .scroll boxes, names on one line; screenshots at 390 and 1280 px', async () => {
  const pages = {
    overview: { path: at.overview, cells: ['#by-village tbody td:first-child', '#by-helper tbody td:first-child'] },
    village: { path: at.village, cells: ['#households tbody td:nth-child(1)', '#households tbody td:nth-child(2)', '#households tbody td:nth-child(3)'] },
    household: { path: at.household, cells: ['#members tbody td:first-child', '#members td.nid', '#visits tbody td:first-child', '#head'] },
    visit: { path: at.visit, cells: ['#assurances tbody td:first-child', '#visit-date'] },
    helper: { path: at.helper, cells: ['#households tbody td:nth-child(2)', '#households tbody td:nth-child(3)'] },
  };
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    const kind = width === 390 ? 'phone' : 'desktop';
    for (const [name, p] of Object.entries(pages)) {
      await page.goto(url + p.path);
      const o = await overflow();
      assert.deepEqual(o.bad, [], `${kind} ${name}: everything outside .scroll boxes fits in ${o.width} px`);
      assert.ok(o.scrollWidth <= o.width, `${kind} ${name}: the page does not scroll sideways (${o.scrollWidth} > ${o.width})`);
      for (const s of p.cells) await assertOneLine(`${kind} ${name}`, s);
      await page.screenshot({ path: join(out, `${kind}-${name}.png`), fullPage: true });
      await page.screenshot({ path: join(out, `web-${name}-${kind}.png`) });
    }
  }
  // At 390 px the member table is wider than the screen: it scrolls sideways within its box, whole.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(url + at.household);
  await page.locator('#members').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(out, 'web-household-members-phone.png') });
  const box = await page.locator('#members .scroll').evaluate((b) => ({ client: b.clientWidth, scroll: b.scrollWidth }));
  assert.ok(box.scroll > box.client && box.client <= 390, `the member table scrolls within its box: ${JSON.stringify(box)}`);
  await page.locator('#members .scroll').evaluate((b) => { b.scrollLeft = b.scrollWidth; });
  const last = await page.locator('#members thead th').last().boundingBox();
  assert.ok(last.x + last.width <= 390.5, 'its last column can be scrolled into view');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('no console errors, and no request leaves 127.0.0.1', () => {
  assert.deepEqual(demo.problems, [], 'no console errors (a CSP violation would show here)');
  const outside = demo.requests.filter((r) => !r.startsWith('http://127.0.0.1:'));
  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
  assert.ok(demo.requests.some((r) => r.endsWith('/static/style.css')), 'the embedded stylesheet is loaded');
});
