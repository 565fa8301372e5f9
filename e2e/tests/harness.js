// Starts the real api (fresh SQLite, local gateway, demo data) serving the
// built SPA, and a headless Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
export const ADMIN = { email: 'e2e-admin@example.com', password: 'e2e-admin-password' };

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on('error', fail);
  });
}

export async function startApi() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'immersion-e2e-'));
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const child = spawn(join(target, 'debug', 'immersion'), ['serve'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, 'e2e.db')}?mode=rwc`,
      BIND_ADDR: `127.0.0.1:${port}`,
      JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e',
      ADMIN_EMAILS: ADMIN.email,
      DEMO_DATA: 'true',
      // Every test's browser shares 127.0.0.1: the per-address limit on
      // held seats is the api tests' own (rate_limit.rs).
      HOLDS_PER_ADDRESS: '1000000',
      WEB_DIST: join(root, 'web', 'dist'),
      RUST_LOG: 'info',
      // One JSON line per event: mails (logged without SMTP_URL) are read
      // from it by `mailedLink`.
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  // Waiters on the log: each is called as output arrives.
  const waiters = new Set();
  const onData = (chunk) => {
    log += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  /// Resolves with the first match of `re` in the api's log, as soon as
  /// the line is written (mails are logged there without SMTP_URL).
  const waitForLog = (re, timeoutMs = 20000) => new Promise((ok, fail) => {
    const check = () => {
      const m = log.match(re);
      if (m) { waiters.delete(check); clearTimeout(timer); ok(m); }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      fail(new Error(`not in the api log: ${re}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
  // The server logs "listening" once bound: wait for that line.
  await new Promise((ok, fail) => {
    waitForLog(/listening/).then(ok, fail);
    child.on('exit', (code) => fail(new Error(`api exited (${code}):\n${log}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill(), log: () => log, waitForLog };
}

/// The link to `page` last mailed to `email`, from the api's log: the mail
/// worker logs each mail it sends, one JSON line each (no SMTP_URL here).
/// `count`: how many such mails to wait for (a resent mail replaces the
/// first one's link).
export async function mailedLink(api, email, page, { count = 1 } = {}) {
  const escaped = email.replace(/[.+]/g, '\\$&');
  const re = new RegExp(`"to":"${escaped}"[^\\n]*?(/${page}#token=[0-9a-f]{64})`, 'g');
  const enough = new RegExp(Array(count).fill(re.source).join('[\\s\\S]*'));
  await api.waitForLog(enough);
  const all = [...api.log().matchAll(re)];
  return `${api.base}${all[all.length - 1][1]}`;
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/// Runs `fn(page)`; on failure saves a screenshot under e2e/artifacts.
export async function withPage(browser, name, fn) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await fn(page, errors);
  } catch (e) {
    const dir = join(root, 'e2e', 'artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

/// Registers before/after hooks that start the api and the browser for the
/// tests of one file, and stop them; returns where they will be.
export function useApiAndBrowser({ before, after }) {
  const env = { api: null, browser: null };
  before(async () => {
    env.api = await startApi();
    env.browser = await startBrowser();
  });
  after(async () => {
    await env.browser?.close();
    env.api?.stop();
  });
  return env;
}

/// Creates an account through /inscription (names, e-mail, password) and
/// waits for the page it leads to (the catalog, or `next`).
export async function register(page, base, email, {
  password = 'un mot de passe solide', next, first = 'Camille', last = 'Durand',
} = {}) {
  await page.goto(`${base}/inscription${next ? `?suite=${next}` : ''}`);
  await page.getByLabel('Prénom').fill(first);
  await page.getByLabel('Nom', { exact: true }).fill(last);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Mot de passe').fill(password);
  await page.getByRole('button', { name: 'Créer mon compte' }).click();
  await page.waitForURL(next ? new RegExp(`${next}$`) : /\/immersion-elite$/);
}

/// Registers the address of ADMIN_EMAILS and follows its verification
/// link: the account is an admin from then on. Ends on /admin, which the
/// menu's link loads (the administration is a bundle of its own).
export async function signInAsAdmin(page, api) {
  await register(page, api.base, ADMIN.email, { password: ADMIN.password, next: '/mon-compte' });
  await page.getByRole('heading', { name: 'Adresse e-mail à confirmer' }).waitFor();
  await page.goto(await mailedLink(api, ADMIN.email, 'verifier-email'));
  await page.getByText('est confirmée.').waitFor();
  await page.getByRole('link', { name: 'Administration' }).click();
  await page.waitForURL(/\/admin$/);
}
