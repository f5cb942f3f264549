// The add-on's code under Node (node:test): menu, languages, error words, manifest. No network: UrlFetchApp
// is faked here. The end-to-end flow against the real webhook is tests/test_addon.py.
// Run: node --test tests/addon/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { runtime, ADDON } = require('./gas.js');

function answering(status, body, log = []) {
  return (url, opts) => {
    log.push([url, opts]);
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return { getResponseCode: () => status, getContentText: () => text };
  };
}

function addon({ locale = 'en', status = 200, body = {}, log = [], url = 'https://sync.example/', docProps } = {}) {
  return runtime({ locale, url, token: 'h.p.s', spreadsheetId: 'SID1234567890', sheets: ['Scorecard', 'Sync Log'],
                   fetch: answering(status, body, log), docProps });
}

const catalogues = (() => {
  const { ctx } = addon();
  return { en: ctx.STRINGS_EN, zh: ctx.STRINGS_ZH, es: ctx.STRINGS_ES };
})();

const placeholders = (text) => new Set([...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]));

test('the three catalogues have the same keys and the same placeholders', () => {
  const keys = Object.keys(catalogues.en).sort();
  assert.ok(keys.length > 50);
  for (const lang of ['zh', 'es']) {
    assert.deepEqual(Object.keys(catalogues[lang]).sort(), keys, lang);
    for (const k of keys) {
      assert.deepEqual(placeholders(catalogues[lang][k]), placeholders(catalogues.en[k]), `${lang}.${k}`);
      assert.ok(String(catalogues[lang][k]).trim(), `${lang}.${k} is empty`);
    }
  }
});

test('every text the code and the sidebar use exists', () => {
  const code = fs.readFileSync(path.join(ADDON, 'Code.gs'), 'utf8');
  const sidebar = fs.readFileSync(path.join(ADDON, 'Sidebar.html'), 'utf8');
  const used = new Set([...code.matchAll(/t_\('(\w+)'/g), ...sidebar.matchAll(/\bt(?:ext)?\((?:'[\w-]+', )?'(\w+)'/g)]
    .map((m) => m[1]));
  assert.ok(used.size > 30, `only ${used.size} keys found`);
  for (const k of used) assert.ok(k in catalogues.en, k);
});

test('every error code of the webhook that a user can meet has words in each language', () => {
  const codes = ['auth_required', 'token_expired', 'token_audience', 'token_invalid', 'tokens_disabled',
    'email_not_verified', 'not_allowed', 'addon_not_allowed', 'not_registered', 'registered_by_operator', 'claim_required',
    'sheet_not_shared', 'service_misconfigured', 'google_unavailable', 'queue_unavailable', 'workbook_not_found',
    'job_not_found', 'invalid_field', 'internal_error'];
  for (const lang of ['en', 'zh', 'es']) for (const c of codes) assert.ok(catalogues[lang]['err_' + c], `${lang} ${c}`);
});

for (const [locale, items] of [
  ['en', ['Set up this sheet', 'Sync now', 'Sync status', 'Open review']],
  ['zh_CN', ['设置此表格', '立即同步', '同步状态', '打开复盘']],
  ['es_MX', ['Configurar esta hoja', 'Sincronizar ahora', 'Estado de la sincronización', 'Abrir revisión']],
  ['es_419', ['Configurar esta hoja', 'Sincronizar ahora', 'Estado de la sincronización', 'Abrir revisión']],
  ['fr_FR', ['Set up this sheet', 'Sync now', 'Sync status', 'Open review']],
]) {
  test(`the add-on menu in ${locale}`, () => {
    const { ctx, rec } = addon({ locale });
    ctx.onInstall({ authMode: 'FULL' });
    assert.deepEqual(rec.menu, [['addonMenu'], ['item', items[0], 'showSetup'], ['item', items[1], 'menuSyncNow'],
      ['item', items[2], 'showStatus'], ['sep'], ['item', items[3], 'openReview'], ['toUi']]);
  });
}

test('the menu still builds when the locale cannot be read (AuthMode.NONE)', () => {
  const { ctx, rec } = addon();
  ctx.Session.getActiveUserLocale = () => { throw new Error('Authorization is required'); };
  ctx.onOpen({ authMode: 'NONE' });
  assert.equal(rec.menu[1][1], 'Set up this sheet');
});

test('the sidebar opens with the strings of the user\'s language', () => {
  const { ctx, rec } = addon({ locale: 'zh_TW' });
  assert.equal(ctx.showSetup(), 'setup');
  assert.equal(rec.template, 'Sidebar');
  const html = rec.sidebars[0];
  assert.equal(html.title, 'KPI 同步');
  assert.equal(html.vars.lang, 'zh');
  assert.equal(JSON.parse(html.vars.stringsJson).setup_button, '设置此表格');
});

test('Sync now sends the spreadsheet id with the identity token and remembers the job', () => {
  const log = [];
  const docProps = {};
  const { ctx } = addon({ status: 202, body: { job_id: 'j9', state: 'queued', joined: false }, log, docProps });
  const res = ctx.startSync();
  assert.deepEqual({ ok: res.ok, jobId: res.jobId, message: res.message }, { ok: true, jobId: 'j9', message: 'Sync queued.' });
  const [url, opts] = log[0];
  assert.equal(url, 'https://sync.example/v1/sync');
  assert.equal(opts.method, 'post');
  assert.equal(opts.headers.Authorization, 'Bearer h.p.s');
  assert.equal(opts.muteHttpExceptions, true);
  assert.deepEqual(JSON.parse(opts.payload), { spreadsheet_id: 'SID1234567890' });
  assert.equal(docProps.KPI_SYNC_LAST_JOB_ID, 'j9');
});

test('progress shows the stage the job store records, else the state', () => {
  let { ctx } = addon({ locale: 'es', body: { job: { state: 'running', attempts: 1 }, stage: 'reading reports', result: null } });
  let p = ctx.getProgress('j1');
  assert.equal(p.message, 'Sincronizando: reading reports');
  assert.equal(p.done, false);
  ({ ctx } = addon({ locale: 'es', body: { job: { state: 'running' }, stage: null, result: null } }));
  assert.equal(ctx.getProgress('j1').message, 'Sincronizando: en proceso');
  ({ ctx } = addon({ body: { job: { state: 'failed', errors: ['Targets!H12: "abc" — expected a number'] }, result: null } }));
  p = ctx.getProgress('j1');
  assert.equal(p.message, 'Sync failed: Targets!H12: "abc" — expected a number');
  assert.equal(p.done, true);
});

test('problems get links to their Sync Log rows', () => {
  const result = { scorecard: [], data_through: {}, problems: [{ row: 4, severity: 'warning', text: 'x' }] };
  const { ctx } = addon({ body: { job: { state: 'done' }, result } });
  const p = ctx.getProgress('j1');
  assert.equal(p.result.problems[0].link, 'https://docs.google.com/spreadsheets/d/SID1234567890/edit#gid=1001&range=A4');
});

test('getProgress before any sync does not call the service', () => {
  const log = [];
  const { ctx } = addon({ log, locale: 'zh' });
  const p = ctx.getProgress();
  assert.equal(p.message, '尚未从此表格发起过同步。');
  assert.equal(log.length, 0);
});

test('errors read as words in the user\'s language, with the code', () => {
  const body = { error: { code: 'sheet_not_shared', message: 'x', service_account: 'sync@p.iam.gserviceaccount.com' } };
  const { ctx } = addon({ locale: 'es_MX', status: 409, body });
  const res = ctx.setupSheet();
  assert.equal(res.ok, false);
  assert.equal(res.message, 'El servicio no puede abrir esta hoja. Compártala con sync@p.iam.gserviceaccount.com ' +
    'como Editor e inténtelo de nuevo. (sheet_not_shared, HTTP 409)');
  const bad = { error: { code: 'invalid_field', message: 'schedule: x', field: 'schedule', detail: 'bad "x"' } };
  const zh = addon({ locale: 'zh', status: 400, body: bad }).ctx.saveSettings({ schedule: ['x'] });
  assert.equal(zh.message, '设置无效 — 定时同步：bad "x" (invalid_field, HTTP 400)');
  const html = addon({ status: 502, body: '<html>Bad gateway</html>' }).ctx.startSync();
  assert.equal(html.message, 'The sync service answered HTTP 502.');
});

test('a missing service address or an unreachable service is said, not thrown', () => {
  const { ctx } = runtime({ locale: 'en', url: null, token: 't', spreadsheetId: 'S', fetch: answering(200, {}) });
  const res = ctx.startSync();
  assert.equal(res.ok, false);
  assert.match(res.message, /sets the script property SYNC_WEBHOOK_URL/);
  const down = runtime({ locale: 'en', url: 'https://x/', token: 't', spreadsheetId: 'S',
                         fetch: () => { throw new Error('DNS error: x'); } }).ctx.getState();
  assert.equal(down.ok, false);
  assert.equal(down.message, 'The sync service cannot be reached: DNS error: x');
});

test('the manifest is an Editor add-on with the narrowest scopes, and the fetch allowlist', () => {
  const m = JSON.parse(fs.readFileSync(path.join(ADDON, 'appsscript.json'), 'utf8'));
  assert.deepEqual([...m.oauthScopes].sort(), [
    'https://www.googleapis.com/auth/script.container.ui',
    'https://www.googleapis.com/auth/script.external_request',
    'https://www.googleapis.com/auth/spreadsheets.currentonly',
    'https://www.googleapis.com/auth/userinfo.email',
    'openid',
  ]);
  assert.equal(m.runtimeVersion, 'V8');
  assert.ok(m.urlFetchWhitelist.every((u) => /^https:\/\/[^/]+\/.*/.test(u)), 'https prefixes with a path');
  assert.equal(m.addOns, undefined, 'addOns is the card-based Workspace add-on section, not an Editor add-on');
});

test('a new registration writes the service\'s claim into the sheet, then sets up again', () => {
  const answers = [
    [428, { error: { code: 'claim_required', message: 'x', claim: '1700000000.abc', metadata_key: 'sheets_sync_claim' } }],
    [201, { created: true, tabs_created: ['Settings', 'Targets'], registration: { owner: 'a@example.com' }, choices: {} }],
  ];
  const log = [];
  const fetch = (url, opts) => {
    log.push([url, opts]);
    const [status, body] = answers.shift();
    return { getResponseCode: () => status, getContentText: () => JSON.stringify(body) };
  };
  const { ctx, rec } = runtime({ locale: 'en', url: 'https://sync.example/', token: 't', spreadsheetId: 'S', fetch });
  rec.metadata.push({ metadataId: 7, metadataKey: 'sheets_sync_claim', metadataValue: 'stale' });
  const res = ctx.setupSheet();
  assert.equal(res.ok, true);
  assert.equal(res.message, 'Sheet set up: 2 tab(s) added.');
  assert.equal(log.length, 2);
  assert.deepEqual(rec.metadata.map((m) => [m.metadataKey, m.metadataValue]), [['sheets_sync_claim', '1700000000.abc']]);
});
