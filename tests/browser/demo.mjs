// What the browser tests share: the small demo county on a loopback port, Debian's headless chromium with a fresh
// profile, the sign-in, a record of every request and console error, and reading a printed PDF with poppler's
// pdfinfo and pdftotext.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const out = join(root, 'tests', 'out');
const bin = process.env.DOORSTEP_SERVER_BIN || join(root, 'target', 'debug', 'doorstep-server');

// On this closed network chromium must not try to reach outside hosts (docs STACK notes).
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts the demo county and chromium; `close()` ends both and removes their directories. */
export async function startDemo({ viewport = { width: 1280, height: 900 }, acceptDownloads = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'doorstep-browser-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'doorstep-chromium-'));
  const server = spawn(bin, ['demo', '--size', 'small', '--listen', '127.0.0.1:0', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout });
    lines.on('line', (line) => {
      const m = line.match(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`demo exited with ${code} before serving`)));
  });
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    acceptDownloads,
    args: chromiumArgs,
  });
  const requests = [];
  const problems = [];
  context.on('request', (r) => requests.push(r.url()));
  context.on('page', (page) => {
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e}`));
  });
  return {
    url,
    context,
    requests,
    problems,
    async close() {
      await context.close();
      server.kill('SIGKILL');
      for (const d of [dataDir, profileDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Signs `user` in on `page` (the session cookie then serves every page of the context). */
export async function signIn(page, url, user = 'county', password = 'supervise-2026') {
  await page.goto(`${url}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/overview$/), page.click('button[type=submit]')]);
}

/** The server's day and month on this machine's clock (the server's `today`, local time). */
export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A PDF's page count and its text laid out as printed (pdfinfo and pdftotext from poppler-utils). */
export function readPdf(file) {
  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  const pages = Number(info.match(/^Pages:\s+(\d+)$/m)[1]);
  const size = info.match(/^Page size:\s+(.*)$/m)[1];
  const text = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  return { pages, size, text };
}
