// Code.gs under Node with fake SpreadsheetApp / UrlFetchApp / ScriptApp / PropertiesService.
// Run: node --test tests/apps_script/   (pytest runs it from tests/test_apps_script.py)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');

const CODE = path.join(__dirname, '..', '..', 'sheet_templates', 'apps_script', 'Code.gs');
const MANIFEST = path.join(__dirname, '..', '..', 'sheet_templates', 'apps_script', 'appsscript.json');

function load(mocks) {
  const ctx = vm.createContext({ ...mocks, console, JSON, encodeURIComponent, Error, String });
  vm.runInContext(fs.readFileSync(CODE, 'utf8'), ctx, { filename: 'Code.gs' });
  return ctx;
}

function fakes({ status = 202, body = { job_id: 'j1', state: 'queued', joined: false }, url = 'https://sync.example/',
                 token = 'header.payload.sig', throws = null, sheets = ['Targets', 'Scorecard'], lastJob = null,
                 bodies = null } = {}) {
  const rec = { menu: [], fetch: [], toasts: [], alerts: [], active: null, docProps: {}, sleeps: [] };
  if (lastJob) rec.docProps.SYNC_LAST_JOB_ID = lastJob;
  const menu = {
    createMenu(n) { rec.menu.push(['menu', n]); return menu; },
    addItem(l, f) { rec.menu.push(['item', l, f]); return menu; },
    addSeparator() { rec.menu.push(['sep']); return menu; },
    addToUi() { rec.menu.push(['toUi']); },
  };
  const ui = { createMenu: menu.createMenu, alert: (...a) => rec.alerts.push(a), ButtonSet: { OK: 'OK' } };
  const ss = {
    getId: () => 'SID123',
    toast: (...a) => rec.toasts.push(a),
    getSheetByName: (n) => (sheets.includes(n) ? { name: n } : null),
    setActiveSheet: (s) => { rec.active = s.name; return s; },
  };
  const mocks = {
    SpreadsheetApp: { getUi: () => ui, getActiveSpreadsheet: () => ss },
    PropertiesService: {
      getScriptProperties: () => ({ getProperty: (k) => (k === 'SYNC_WEBHOOK_URL' ? url : null) }),
      getDocumentProperties: () => ({
        getProperty: (k) => rec.docProps[k] || null,
        setProperty: (k, v) => { rec.docProps[k] = v; },
      }),
    },
    ScriptApp: { getIdentityToken: () => token },
    Utilities: { sleep: (ms) => rec.sleeps.push(ms) },
    UrlFetchApp: {
      fetch: (u, opts) => {
        rec.fetch.push([u, opts]);
        if (throws) throw new Error(throws);
        const current = bodies ? bodies[Math.min(rec.fetch.length - 1, bodies.length - 1)] : body;
        const text = typeof current === 'string' ? current : JSON.stringify(current);
        return { getResponseCode: () => status, getContentText: () => text };
      },
    },
  };
  return { rec, mocks };
}

test('onOpen builds the KPI menu', () => {
  const { rec, mocks } = fakes();
  load(mocks).onOpen({});
  assert.deepEqual(rec.menu, [['menu', 'KPI'], ['item', 'Sync now', 'syncNow'], ['item', 'Sync status', 'syncStatus'],
    ['sep'], ['item', 'Open review', 'openReview'], ['toUi']]);
});

test('Sync now posts the spreadsheet id with the identity token and toasts the job state', () => {
  const { rec, mocks } = fakes();
  const jobId = load(mocks).syncNow();
  assert.equal(jobId, 'j1');
  const [url, opts] = rec.fetch[0];
  assert.equal(url, 'https://sync.example/v1/sync');
  assert.equal(opts.method, 'post');
  assert.equal(opts.muteHttpExceptions, true);
  assert.equal(opts.contentType, 'application/json');
  assert.equal(opts.headers.Authorization, 'Bearer header.payload.sig');
  assert.deepEqual(JSON.parse(opts.payload), { spreadsheet_id: 'SID123' });
  assert.deepEqual(rec.toasts, [['Sync queued.', 'KPI', 8]]);
  assert.equal(rec.docProps.SYNC_LAST_JOB_ID, 'j1');
  assert.equal(rec.alerts.length, 0);
});

test('a joined sync says so', () => {
  const { rec, mocks } = fakes({ body: { job_id: 'j1', state: 'running', joined: true, attempts: 1 } });
  load(mocks).syncNow();
  assert.match(rec.toasts[0][0], /Sync running/);
});

const ERRORS = [
  [403, 'not_allowed', /not allowed to sync this workbook/],
  [401, 'token_expired', /sign-in expired/],
  [404, 'workbook_not_found', /does not know this spreadsheet/],
  [503, 'queue_unavailable', /Try again in a minute/],
];
for (const [status, code, words] of ERRORS) {
  test(`HTTP ${status} ${code} is explained in words`, () => {
    const { rec, mocks } = fakes({ status, body: { error: { code, message: 'x' } } });
    assert.equal(load(mocks).syncNow(), null);
    assert.equal(rec.toasts.length, 0);
    assert.match(rec.alerts[0][1], words);
    assert.match(rec.alerts[0][1], new RegExp(`${code}, HTTP ${status}`));
  });
}

test('an unknown error or a non-JSON body still reads well', () => {
  const { rec, mocks } = fakes({ status: 502, body: '<html>Bad gateway</html>' });
  load(mocks).syncNow();
  assert.equal(rec.alerts[0][1], 'The sync service answered HTTP 502.');
});

test('a network failure is reported, not thrown', () => {
  const { rec, mocks } = fakes({ throws: 'DNS error: sync.example' });
  assert.equal(load(mocks).syncNow(), null);
  assert.match(rec.alerts[0][1], /Could not reach the sync service: DNS error/);
});

test('a missing webhook URL tells the user where to set it', () => {
  const { rec, mocks } = fakes({ url: null });
  load(mocks).syncNow();
  assert.match(rec.alerts[0][1], /Script properties, add SYNC_WEBHOOK_URL/);
  assert.equal(rec.fetch.length, 0);
});

test('Sync status reads the last job', () => {
  const { rec, mocks } = fakes({ status: 200, lastJob: 'abc', body: { state: 'done', summary: ['3 tabs written'] } });
  assert.equal(load(mocks).syncStatus(), 'done');
  const [url, opts] = rec.fetch[0];
  assert.equal(url, 'https://sync.example/v1/jobs/abc');
  assert.equal(opts.method, 'get');
  assert.equal(opts.payload, undefined);
  assert.equal(opts.headers.Authorization, 'Bearer header.payload.sig');
  assert.deepEqual(rec.toasts[0].slice(0, 2), ['Sync done. 3 tabs written', 'KPI']);
});

test('Sync status follows a running sync stage by stage until it is done', () => {
  const running = (progress) => ({ state: 'running', attempts: 1, progress });
  const { rec, mocks } = fakes({ status: 200, lastJob: 'abc', bodies: [
    { state: 'queued' },
    running({ stage: 'reading' }),
    running({ stage: 'fetching', done: 3, total: 8 }),
    running({ stage: 'waiting', done: 5, total: 8 }),
    running({ stage: 'writing' }),
    { state: 'done', summary: ['12 targets, 2 owners'] },
  ] });
  assert.equal(load(mocks).syncStatus(), 'done');
  assert.deepEqual(rec.toasts.map((t) => t[0]), [
    'Sync queued.',
    'Sync running: reading the sheet (attempt 1).',
    'Sync running: fetching reports 3/8 (attempt 1).',
    'Sync running: waiting for Amazon 5/8 (attempt 1).',
    'Sync running: writing (attempt 1).',
    'Sync done. 12 targets, 2 owners',
  ]);
  assert.equal(rec.fetch.length, 6);
  assert.equal(rec.sleeps.length, 5);
});

test('Sync status stops refreshing after a while', () => {
  const { rec, mocks } = fakes({ status: 200, lastJob: 'abc', body: { state: 'running', attempts: 2 } });
  assert.equal(load(mocks).syncStatus(), 'running');
  assert.ok(rec.fetch.length > 2 && rec.fetch.length < 100);
  assert.match(rec.toasts.slice(-1)[0][0], /^Sync running \(attempt 2\)\.$/);
});

test('Sync status of a failed job shows the last error', () => {
  const { rec, mocks } = fakes({ status: 200, lastJob: 'abc', body: { state: 'failed', errors: ['a', 'Targets!H12: bad'] } });
  load(mocks).syncStatus();
  assert.equal(rec.toasts[0][0], 'Sync failed: Targets!H12: bad');
});

test('Sync status before any sync', () => {
  const { rec, mocks } = fakes();
  assert.equal(load(mocks).syncStatus(), null);
  assert.equal(rec.fetch.length, 0);
  assert.match(rec.toasts[0][0], /No sync has been started/);
});

test('Open review activates the Scorecard tab', () => {
  const { rec, mocks } = fakes();
  assert.equal(load(mocks).openReview(), true);
  assert.equal(rec.active, 'Scorecard');
  const f = fakes({ sheets: ['Targets'] });
  assert.equal(load(f.mocks).openReview(), false);
  assert.match(f.rec.alerts[0][1], /no Scorecard tab/);
});

test('the manifest asks for the scopes getIdentityToken and UrlFetchApp need', () => {
  const m = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  for (const s of ['openid', 'https://www.googleapis.com/auth/userinfo.email',
    'https://www.googleapis.com/auth/script.external_request']) {
    assert.ok(m.oauthScopes.includes(s), s);
  }
  assert.equal(m.runtimeVersion, 'V8');
});

// Contract with the Python webhook (driven by tests/test_apps_script.py): record the request the script
// builds with a real ID token, and, given the real server's answer, what the user is shown.
const CONTRACT = process.env.SHEETS_SYNC_CONTRACT_DIR;
test('contract with the live webhook', { skip: !CONTRACT && 'run from tests/test_apps_script.py' }, () => {
  const token = fs.readFileSync(path.join(CONTRACT, 'token.txt'), 'utf8').trim();
  const url = fs.readFileSync(path.join(CONTRACT, 'url.txt'), 'utf8').trim();
  const respFile = path.join(CONTRACT, 'response.json');
  const resp = fs.existsSync(respFile) ? JSON.parse(fs.readFileSync(respFile, 'utf8')) : { status: 202, body: {} };
  const { rec, mocks } = fakes({ url, token, status: resp.status, body: resp.body });
  load(mocks).syncNow();
  fs.writeFileSync(path.join(CONTRACT, 'request.json'), JSON.stringify({ url: rec.fetch[0][0], options: rec.fetch[0][1] }));
  fs.writeFileSync(path.join(CONTRACT, 'shown.json'), JSON.stringify({ toasts: rec.toasts, alerts: rec.alerts }));
});
