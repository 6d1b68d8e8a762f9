'use strict';
/*
 * fleet.js -- the browser half of `make test-ui` (tests/ui/fleet.sh starts
 * the system and passes it in UI_* variables): Debian's /usr/bin/chromium,
 * headless, driven by puppeteer-core (no browser is downloaded), a fresh
 * profile.  It loads the fleet page and checks:
 *   - the answer's headers (text/html, a Content-Security-Policy with
 *     default-src 'none', nosniff, Cache-Control: no-store);
 *   - the token form: a password field, no dialog, no API call before a
 *     token; a wrong token typed and Enter pressed brings the form back
 *     with its alert and keeps nothing;
 *   - the read token typed and Enter pressed: after the page's own refresh
 *     the DOM shows exactly the live pods (UI_PODS) and, in each pod's
 *     card, the agents the API says it runs with their fences (compared
 *     with the API as it is at that moment), the backoff agent with its
 *     last error, and one takeover row per agent the killed pod ran;
 *   - a reload keeps the token for the tab (no form);
 *   - every request went to the page's own origin, every /api/ request
 *     carried the bearer token, no Content-Security-Policy violation, no
 *     script error;
 * and saves a full-page screenshot (UI_SHOT; the refused-token form in
 * UI_SHOT with -login before .png).  Exits 1 naming what failed.
 */
const puppeteer = require('puppeteer-core');

function need(k) {
  const v = process.env[k];
  if (!v) throw new Error(k + ' is not set');
  return v;
}
const PAGE_URL = need('UI_URL');
const TOKEN = need('UI_TOKEN');
const PODS = need('UI_PODS').split(' ').sort();
const TAKEN = need('UI_TAKEN').split(' ').sort();
const BACKOFF = need('UI_BACKOFF');
const BACKOFF_ERROR = need('UI_BACKOFF_ERROR');
const PROFILE = need('UI_PROFILE');
const SHOT = need('UI_SHOT');
const ORIGIN = new URL(PAGE_URL).origin;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(ok, what) {
  if (!ok) throw new Error(what);
}

async function api(path) {
  const r = await fetch(ORIGIN + path, { headers: { Authorization: 'Bearer ' + TOKEN } });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

/* What the API says now: live pods and each one's agents with fences. */
async function truth() {
  const pods = (await api('/api/pods')).pods.map((p) => p.name).sort();
  const agents = {};
  for (const p of pods) {
    const l = await api('/api/agents?running_on=' + encodeURIComponent(p) + '&limit=200');
    agents[p] = l.agents.map((a) => a.id + '@' + a.fence).sort();
  }
  return { pods, agents };
}

/* What the page shows (rows as their visible text). */
function dom(page) {
  return page.evaluate(() => {
    const rows = (root) => Array.from(root.querySelectorAll('tr[data-agent]')).map((r) => ({
      id: r.dataset.agent, fence: r.dataset.fence, text: r.innerText,
    }));
    const pods = {};
    for (const c of document.querySelectorAll('#pods [data-pod]')) {
      pods[c.dataset.pod] = { rows: rows(c), text: c.innerText };
    }
    return {
      pods,
      backoff: rows(document.getElementById('backoff')),
      takeovers: rows(document.getElementById('takeovers')),
      legend: document.getElementById('legend').innerText,
    };
  });
}

/* The differences between the page and the API (empty: none). */
function differences(d, t) {
  const out = [];
  const shown = Object.keys(d.pods).sort();
  if (shown.join() !== PODS.join()) out.push('pods shown ' + shown + ', want ' + PODS);
  if (t.pods.join() !== PODS.join()) out.push('the API lists pods ' + t.pods);
  for (const p of PODS) {
    const card = d.pods[p];
    if (!card) continue;
    if (!card.text.includes(p)) out.push(p + ': its name is not shown');
    const got = card.rows.map((r) => r.id + '@' + r.fence).sort();
    const want = (t.agents[p] || []);
    if (got.join() !== want.join()) out.push(p + ': agents ' + got + ', the API says ' + want);
    for (const r of card.rows) {
      const cells = r.text.split('\t').map((s) => s.trim());
      if (cells[0] !== r.id || !cells.includes(String(r.fence))) {
        out.push(p + ': row of ' + r.id + ' does not show its id and fence ' + r.fence + ': ' + r.text);
      }
    }
  }
  const b = d.backoff.filter((r) => r.id === BACKOFF);
  if (b.length !== 1) out.push('backoff rows of ' + BACKOFF + ': ' + b.length);
  else if (!b[0].text.includes(BACKOFF_ERROR)) out.push('backoff row lacks the error: ' + b[0].text);
  const tk = d.takeovers.map((r) => r.id).sort();
  if (tk.join() !== TAKEN.join()) out.push('takeover rows ' + tk + ', want ' + TAKEN + ' once each');
  for (const r of d.takeovers) {
    if (!r.text.includes(r.id) || !/pod-[ab]/.test(r.text) || !r.text.includes('after failure')) {
      out.push('takeover row incomplete: ' + r.text);
    }
  }
  return out;
}

/* A signal (the harness stopping): Chromium closed, then exit 1; killed
 * if it does not close within 3 s. */
let browser = null;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    const b = browser;
    setTimeout(() => {
      const p = b && b.process();
      if (p) p.kill('SIGKILL');
      process.exit(1);
    }, 3000).unref();
    (b ? b.close() : Promise.resolve()).catch(() => {}).finally(() => process.exit(1));
  });
}

async function main() {
  const t0 = Date.now();
  browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: false, /* the flag below: Chromium's own headless mode */
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    userDataDir: PROFILE,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           '--disable-dev-shm-usage', '--window-size=1360,900'],
    defaultViewport: { width: 1360, height: 900 },
    timeout: 30000,
  });
  const problems = [];
  const requests = [];
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(15000);
    page.on('dialog', (d) => { problems.push('a dialog: ' + d.message()); d.dismiss(); });
    page.on('pageerror', (e) => problems.push('script error: ' + e.message));
    page.on('console', (m) => {
      const text = m.text();
      /* the wrong token's 401s are expected */
      if (m.type() === 'error' && !/status of 401/.test(text)) problems.push('console: ' + text);
    });
    page.on('request', (r) => requests.push({ url: r.url(), auth: r.headers().authorization || '' }));
    page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
    await page.evaluateOnNewDocument(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
      });
    });

    const res = await page.goto(PAGE_URL, { waitUntil: 'load' });
    const h = res.headers();
    check(res.status() === 200, 'GET /ui: HTTP ' + res.status());
    check(/^text\/html/.test(h['content-type'] || ''), 'content-type ' + h['content-type']);
    check(/^default-src 'none'; /.test(h['content-security-policy'] || ''), 'CSP ' + h['content-security-policy']);
    check(h['x-content-type-options'] === 'nosniff', 'nosniff missing');
    check(/no-store/.test(h['cache-control'] || ''), 'cache-control ' + h['cache-control']);

    /* the form first, nothing read yet */
    await page.waitForSelector('#token', { visible: true });
    check(await page.$eval('#token', (e) => e.type) === 'password', 'the token field is not a password field');
    check(await page.$eval('#fleet', (e) => e.hidden), 'the fleet shows before a token');
    check(!requests.some((r) => r.url.includes('/api/')), 'the API was called before a token');

    /* a wrong token: refused, the form again, nothing kept */
    await page.type('#token', 'wrong-token-0123456789');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.getElementById('login').hidden &&
      !document.getElementById('login-alert').hidden && document.getElementById('fleet').hidden);
    check(requests.some((r) => r.url.includes('/api/')), 'a wrong token was not tried');
    check(await page.evaluate(() => sessionStorage.length) === 0, 'a refused token was kept');
    await page.screenshot({ path: SHOT.replace(/\.png$/, '-login.png') });

    /* the read token */
    await page.type('#token', TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#pods [data-pod]').length > 0);
    const firstRound = requests.filter((r) => r.url.endsWith('/api/pods')).length;
    /* the page's own refresh, then the page and the API must agree */
    let diff = ['not compared yet'];
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (requests.filter((r) => r.url.endsWith('/api/pods')).length > firstRound) {
        await sleep(300); /* that round rendered */
        diff = differences(await dom(page), await truth());
        if (!diff.length) break;
      }
      await sleep(250);
    }
    check(!diff.length, 'the page does not show the fleet:\n  ' + diff.join('\n  '));
    const d = await dom(page);
    check(/upper bound/.test(d.legend), 'the legend does not explain the lock validity bound');
    check(await page.evaluate(() => sessionStorage.length) === 1, 'the token is not kept for the tab');

    /* a reload: the token kept, no form */
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#pods [data-pod]').length > 0);
    check(await page.$eval('#login', (e) => e.hidden), 'the form came back after a reload');

    /* requests, policy, errors */
    for (const r of requests) {
      const u = new URL(r.url);
      check(u.origin === ORIGIN, 'a request left the origin: ' + r.url);
      check(u.pathname === '/ui' || u.pathname.startsWith('/api/'), 'an unexpected request: ' + r.url);
      if (u.pathname.startsWith('/api/')) check(/^Bearer \S+/.test(r.auth), 'no bearer token: ' + r.url);
    }
    const csp = await page.evaluate(() => window.__csp);
    check(!csp.length, 'CSP violations: ' + csp.join('; '));
    check(!problems.length, problems.join('\n  '));

    /* let the status line settle, then the picture */
    await sleep(200);
    await page.screenshot({ path: SHOT, fullPage: true });
    const apiCalls = requests.filter((r) => r.url.includes('/api/')).length;
    console.log('   chromium: ' + PODS.length + ' pods, ' +
      Object.values(d.pods).reduce((n, c) => n + c.rows.length, 0) + ' agents with fences, backoff ' +
      BACKOFF + ', ' + d.takeovers.length + ' takeovers shown; ' + apiCalls + ' API calls, all with the token; ' +
      (Date.now() - t0) + ' ms');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error('   ' + (e && e.message ? e.message : e));
  process.exit(1);
});
