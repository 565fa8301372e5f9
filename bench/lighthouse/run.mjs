// Lighthouse (its mobile defaults: a mid-range phone on a slow 4G link,
// simulated) on the catalog, a session page and the subscription page of
// the api serving the built SPA with demo data, in Debian's Chromium.
// Prints each page's four scores and its LCP; a benchmark, not a test.
//
//   cargo build -p api && cargo xtask build-web
//   (cd e2e && npm ci)   # the harness that starts the api uses playwright-core
//   cd bench/lighthouse && npm ci && node run.mjs
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

import { startApi } from '../../e2e/tests/harness.js';

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];

const api = await startApi();
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
try {
  const sessions = await (await fetch(`${api.base}/api/sessions`)).json();
  const pages = [
    ['catalog', '/immersion-elite'],
    ['session page', `/immersion-elite/${sessions[0].id}`],
    ['subscription', '/abonnement'],
  ];
  console.log('page            perf  a11y  b.p.  seo   LCP');
  let worst = 100;
  for (const [name, path] of pages) {
    const { lhr } = await lighthouse(`${api.base}${path}`, {
      port: chrome.port,
      onlyCategories: CATEGORIES,
      logLevel: 'error',
    });
    const scores = CATEGORIES.map((c) => Math.round(lhr.categories[c].score * 100));
    worst = Math.min(worst, ...scores);
    const lcp = lhr.audits['largest-contentful-paint'].numericValue / 1000;
    console.log(`${name.padEnd(15)} ${scores.map((s) => String(s).padEnd(5)).join(' ')} ${lcp.toFixed(1)} s`);
    const ms = (id) => `${(lhr.audits[id].numericValue / 1000).toFixed(1)} s`;
    const element = lhr.audits['lcp-breakdown-insight']?.details?.items?.find((i) => i.type === 'node')?.selector;
    console.log(`    FCP ${ms('first-contentful-paint')}, speed index ${ms('speed-index')}, TBT ${ms('total-blocking-time')}, CLS ${lhr.audits['cumulative-layout-shift'].displayValue}; LCP element: ${element ?? '?'}`);
    for (const c of CATEGORIES) {
      for (const ref of lhr.categories[c].auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 0.9) {
          console.log(`    ${c}: ${audit.title} (${audit.displayValue ?? audit.score})`);
        }
      }
    }
  }
  console.log(`lowest score: ${worst} (target 95)`);
} finally {
  await chrome.kill();
  api.stop();
}
