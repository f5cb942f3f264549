// A stand-in for the Apps Script runtime around the add-on's code (sheet_templates/addon/*.gs), for tests.
//
// Everything the add-on touches is faked here except the network: UrlFetchApp.fetch makes a real,
// synchronous HTTP request (a child Node process running fetch()), so the add-on talks to the real Flask
// webhook on 127.0.0.1. The user's document properties can be kept in a JSON file between calls, as Apps
// Script keeps them between executions.
'use strict';
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ADDON = path.join(__dirname, '..', '..', 'sheet_templates', 'addon');
const SOURCES = ['Strings_en.gs', 'Strings_zh.gs', 'Strings_es.gs', 'Code.gs'];

const FETCH_CHILD = `
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  try {
    const resp = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body,
                                        signal: AbortSignal.timeout(30000) });
    process.stdout.write(JSON.stringify({ status: resp.status, text: await resp.text() }));
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String((err.cause && err.cause.code) || err.message) }));
  }
});`;

/** One synchronous HTTP request: {status, text} or {error}. */
function httpSync(req) {
  const proc = spawnSync(process.execPath, ['-e', FETCH_CHILD], { input: JSON.stringify(req), encoding: 'utf8',
                                                                 timeout: 40000 });
  return JSON.parse(proc.stdout || '{"error": "no answer"}');
}

/** UrlFetchApp.fetch(url, params) as Apps Script does it, over real HTTP (synchronously). */
function realFetch(log) {
  return (url, params) => {
    params = params || {};
    const method = String(params.method || 'get').toUpperCase();
    const headers = { ...(params.headers || {}) };
    if (params.contentType) headers['Content-Type'] = params.contentType;
    const req = { url, method, headers, body: params.payload === undefined ? undefined : String(params.payload) };
    log.push({ url, method, headers, payload: req.body });
    const out = httpSync(req);
    if (out.error) throw new Error('Address unavailable: ' + url + ' (' + out.error + ')');
    if (!params.muteHttpExceptions && out.status >= 400) {
      throw new Error('Request failed for ' + url + ' returned code ' + out.status);
    }
    return { getResponseCode: () => out.status, getContentText: () => out.text };
  };
}

/**
 * The spreadsheet's developer metadata as the user sees it (Spreadsheet.createDeveloperMetadataFinder,
 * addDeveloperMetadata): through the Sheets API with the user's own access (`api`: {base, token}), so a user
 * who cannot edit the sheet is refused as Apps Script would refuse them; in memory when `api` is not given.
 */
function developerMetadata(api, spreadsheetId, memory) {
  const call = (method, suffix, body) => {
    const out = httpSync({ url: api.base + '/v4/spreadsheets/' + spreadsheetId + suffix, method,
                           headers: { Authorization: 'Bearer ' + api.token, 'Content-Type': 'application/json' },
                           body: body === undefined ? undefined : JSON.stringify(body) });
    if (out.error || out.status >= 400) {
      throw new Error('You do not have permission to access the requested document. (' + (out.status || out.error) + ')');
    }
    return JSON.parse(out.text);
  };
  const batch = (request) => (api ? call('POST', ':batchUpdate', { requests: [request] }) : null);
  const list = () => (api ? call('GET', '?fields=developerMetadata(metadataId,metadataKey,metadataValue)')
    .developerMetadata || [] : memory);
  return {
    finder: () => {
      const f = { key: null, withKey(k) { f.key = k; return f; }, find() {
        return list().filter((m) => f.key === null || m.metadataKey === f.key).map((m) => ({
          getKey: () => m.metadataKey, getValue: () => m.metadataValue,
          remove() {
            batch({ deleteDeveloperMetadata: { dataFilter: { developerMetadataLookup: { metadataId: m.metadataId } } } });
            if (!api) memory.splice(memory.indexOf(m), 1);
          },
        }));
      } };
      return f;
    },
    add(key, value, visibility) {
      batch({ createDeveloperMetadata: { developerMetadata: { metadataKey: key, metadataValue: value,
        location: { spreadsheet: true }, visibility } } });
      if (!api) memory.push({ metadataId: memory.length + 1, metadataKey: key, metadataValue: value });
    },
  };
}

/**
 * Build the runtime. Options: url (SYNC_WEBHOOK_URL), token (the ID token), locale, spreadsheetId,
 * sheets (tab names the active spreadsheet has), docProps (object, mutated), fetch (replace the real one),
 * sheetsApi ({base, token}: the user's access to the Sheets API, for developer metadata).
 */
function runtime(opts) {
  const rec = { menu: [], toasts: [], alerts: [], sidebars: [], active: null, range: null, fetch: [] };
  const docProps = opts.docProps || {};
  const sheets = opts.sheets || [];
  const menu = {
    addItem(label, fn) { rec.menu.push(['item', label, fn]); return menu; },
    addSeparator() { rec.menu.push(['sep']); return menu; },
    addToUi() { rec.menu.push(['toUi']); },
  };
  const ui = {
    createAddonMenu() { rec.menu.push(['addonMenu']); return menu; },
    createMenu(name) { rec.menu.push(['menu', name]); return menu; },
    alert: (...a) => rec.alerts.push(a),
    showSidebar: (html) => rec.sidebars.push(html),
    ButtonSet: { OK: 'OK' },
  };
  const sheet = (name, i) => ({
    getName: () => name, getSheetId: () => 1000 + i,
    getRange: (row, col, rows, cols) => ({ a1: { row, col, rows, cols } }),
    setActiveRange: (r) => { rec.range = { sheet: name, ...r.a1 }; return r; },
  });
  rec.metadata = [];
  const md = developerMetadata(opts.sheetsApi, opts.spreadsheetId, rec.metadata);
  const ss = {
    createDeveloperMetadataFinder: md.finder,
    addDeveloperMetadata: (key, value, visibility) => md.add(key, value, visibility),
    getId: () => opts.spreadsheetId,
    getUrl: () => 'https://docs.google.com/spreadsheets/d/' + opts.spreadsheetId + '/edit',
    toast: (...a) => rec.toasts.push(a),
    getSheetByName: (n) => (sheets.includes(n) ? sheet(n, sheets.indexOf(n)) : null),
    setActiveSheet: (s) => { rec.active = s.getName(); return s; },
  };
  const template = () => {
    const tpl = { evaluate() { return { vars: { ...tpl }, setTitle(t) { this.title = t; return this; } }; } };
    return tpl;
  };
  const mocks = {
    SpreadsheetApp: { getUi: () => ui, getActiveSpreadsheet: () => ss,
                      DeveloperMetadataVisibility: { DOCUMENT: 'DOCUMENT', PROJECT: 'PROJECT' } },
    Session: { getActiveUserLocale: () => (opts.locale === undefined ? 'en' : opts.locale) },
    ScriptApp: { getIdentityToken: () => opts.token },
    PropertiesService: {
      getScriptProperties: () => ({ getProperty: (k) => (k === 'SYNC_WEBHOOK_URL' ? (opts.url || null) : null) }),
      getDocumentProperties: () => ({
        getProperty: (k) => (k in docProps ? docProps[k] : null),
        setProperty: (k, v) => { docProps[k] = String(v); },
      }),
    },
    UrlFetchApp: { fetch: opts.fetch || realFetch(rec.fetch) },
    HtmlService: { createTemplateFromFile: (name) => { rec.template = name; return template(); } },
  };
  const ctx = vm.createContext({ ...mocks, console, JSON, encodeURIComponent, Error, String, Number, Object });
  for (const file of SOURCES) {
    vm.runInContext(fs.readFileSync(path.join(ADDON, file), 'utf8'), ctx, { filename: file });
  }
  return { ctx, rec, docProps };
}

module.exports = { runtime, ADDON, SOURCES };

// Command line (tests/test_addon.py): node gas.js '<json>' → calls one add-on function, prints
// {"value": <its return value>, "ui": {...}, "fetch": [...]}. The JSON: {fn, args, url, token, locale,
// spreadsheetId, sheets, propsFile, sheetsApi: {base, token} (the user's own access to the Sheets API)}.
if (require.main === module) {
  const spec = JSON.parse(process.argv[2]);
  const docProps = spec.propsFile && fs.existsSync(spec.propsFile)
    ? JSON.parse(fs.readFileSync(spec.propsFile, 'utf8')) : {};
  const { ctx, rec } = runtime({ ...spec, docProps });
  const fn = ctx[spec.fn];
  if (typeof fn !== 'function') {
    process.stderr.write('no function ' + spec.fn + ' in the add-on\n');
    process.exit(2);
  }
  const value = fn.apply(null, spec.args || []);
  if (spec.propsFile) fs.writeFileSync(spec.propsFile, JSON.stringify(docProps));
  process.stdout.write(JSON.stringify({ value: value === undefined ? null : value, ui: rec }));
}
