/**
 * sheets-sync: the "KPI sync" Editor add-on (install once for the domain; then in any sheet
 * Extensions → KPI sync → Set up this sheet).
 *
 * Menu        → Set up this sheet / Sync now / Sync status / Open review.
 * Sidebar     → checks the service, sets the sheet up (the service adds the template tabs and registers the
 *               sheet), edits its settings, starts a sync and shows its progress and result.
 *
 * No business logic here: every decision is the service's (docs/addon.md). The service's address is the
 * add-on's script property SYNC_WEBHOOK_URL, set once by whoever deploys the add-on. Texts come from
 * Strings_en.gs / Strings_zh.gs / Strings_es.gs (same keys), chosen from the user's Google locale.
 */
var WEBHOOK_PROP = 'SYNC_WEBHOOK_URL';
var LAST_JOB_PROP = 'KPI_SYNC_LAST_JOB_ID';

// ------------------------------------------------------------------------------------------ language

function language_() {
  var locale = '';
  try { locale = String(Session.getActiveUserLocale() || ''); } catch (err) { locale = ''; }
  var lang = locale.toLowerCase().slice(0, 2);
  return (lang === 'zh' || lang === 'es') ? lang : 'en';
}

function strings_(lang) {
  var all = { en: STRINGS_EN, zh: STRINGS_ZH, es: STRINGS_ES };
  return all[lang || language_()] || STRINGS_EN;
}

/** The text of `key` in the user's language with its {placeholders} filled. */
function t_(key, vars) {
  var text = strings_()[key];
  if (text === undefined) text = STRINGS_EN[key] || key;
  return String(text).replace(/\{(\w+)\}/g, function (m, name) {
    return (vars && vars[name] !== undefined && vars[name] !== null) ? String(vars[name]) : m;
  });
}

// ---------------------------------------------------------------------------------------------- menu

function onInstall(e) {
  onOpen(e);
}

function onOpen(e) {
  SpreadsheetApp.getUi().createAddonMenu()
    .addItem(t_('menu_setup'), 'showSetup')
    .addItem(t_('menu_sync'), 'menuSyncNow')
    .addItem(t_('menu_status'), 'showStatus')
    .addSeparator()
    .addItem(t_('menu_review'), 'openReview')
    .addToUi();
}

function showSetup() { return showSidebar_('setup'); }
function showStatus() { return showSidebar_('status'); }

function showSidebar_(view) {
  var tpl = HtmlService.createTemplateFromFile('Sidebar');
  tpl.view = view;
  tpl.lang = language_();
  tpl.stringsJson = JSON.stringify(strings_());
  SpreadsheetApp.getUi().showSidebar(tpl.evaluate().setTitle(t_('title')));
  return view;
}

/** Extensions → KPI sync → Sync now: start a sync, toast the answer (an alert for an error). */
function menuSyncNow() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var res = startSync();
  if (res.ok) {
    ss.toast(res.message, t_('title'), 8);
  } else {
    SpreadsheetApp.getUi().alert(t_('title'), res.message, SpreadsheetApp.getUi().ButtonSet.OK);
  }
  return res;
}

function openReview() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = ss.getSheetByName('Scorecard');
  if (!sheet) {
    SpreadsheetApp.getUi().alert(t_('title'), t_('no_scorecard'), SpreadsheetApp.getUi().ButtonSet.OK);
    return false;
  }
  ss.setActiveSheet(sheet);
  return true;
}

// ------------------------------------------------------------------------------------------ the service

function baseUrl_() {
  var url = PropertiesService.getScriptProperties().getProperty(WEBHOOK_PROP);
  if (!url) throw new Error(t_('no_url', { prop: WEBHOOK_PROP }));
  return String(url).replace(/\/+$/, '');
}

function call_(method, path, body, anonymous) {
  var options = { method: method, muteHttpExceptions: true, headers: {} };
  if (!anonymous) options.headers.Authorization = 'Bearer ' + ScriptApp.getIdentityToken();
  if (body !== undefined) {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(body);
  }
  var resp = UrlFetchApp.fetch(baseUrl_() + path, options);
  var data = {};
  try { data = JSON.parse(resp.getContentText() || '{}'); } catch (err) { data = {}; }
  return { code: resp.getResponseCode(), data: data };
}

/** Words for an error answer, in the user's language, with the code for the operator. */
function describeError_(res) {
  var err = (res.data && res.data.error) || {};
  var vars = { email: err.service_account || '?', field: fieldLabel_(err.field), detail: err.detail || err.message,
               code: res.code };
  var key = 'err_' + err.code;
  var words = err.code && strings_()[key] !== undefined ? t_(key, vars) : (err.message || t_('http_error', vars));
  return words + (err.code ? ' (' + err.code + ', HTTP ' + res.code + ')' : '');
}

function fieldLabel_(field) {
  var keys = { source: 'source_label', reports: 'reports_label', amazon_credentials: 'credentials_label',
               marketplaces: 'marketplaces_label', timezone: 'timezone_label', schedule: 'schedule_label',
               allow_emails: 'allow_emails_label', allow_domains: 'allow_domains_label' };
  return keys[field] ? t_(keys[field]) : (field || '');
}

function failure_(res) {
  return { ok: false, code: (res.data && res.data.error && res.data.error.code) || null, status: res.code,
           message: describeError_(res) };
}

function unreachable_(err) {
  return { ok: false, code: 'unreachable', status: 0, message: t_('unreachable', { detail: err.message }) };
}

function sheetId_() {
  return SpreadsheetApp.getActiveSpreadsheet().getId();
}

// ------------------------------------------------------------------ what the sidebar calls (google.script.run)

/** The sidebar's first call: is the service up, is this sheet set up, with which settings. */
function getState() {
  var state = { ok: true, lang: language_(), spreadsheetId: sheetId_(), service: null, registered: false,
                managed: false, registration: null, choices: null, serviceAccount: null, message: '',
                lastJobId: PropertiesService.getDocumentProperties().getProperty(LAST_JOB_PROP) };
  var health;
  try {
    health = call_('get', '/healthz', undefined, true);
  } catch (err) {
    state.ok = false;
    state.message = t_('service_down', { detail: err.message });
    return state;
  }
  if (health.code !== 200) {
    state.ok = false;
    state.message = t_('service_down', { detail: describeError_(health) });
    return state;
  }
  state.service = health.data;
  var res = call_('get', '/v1/addon/settings?spreadsheet_id=' + encodeURIComponent(state.spreadsheetId));
  var code = res.data && res.data.error && res.data.error.code;
  if (res.code === 200) {
    state.registered = true;
    state.registration = res.data.registration;
    state.choices = res.data.choices;
    state.serviceAccount = res.data.service_account;
    state.message = t_('service_ok');
  } else if (code === 'not_registered') {
    state.message = t_('not_set_up');
  } else if (code === 'registered_by_operator') {
    state.managed = true;
    state.message = t_('managed');
  } else {
    state.ok = false;
    state.message = describeError_(res);
  }
  return state;
}

/** Set up this sheet: the service checks who you are and that it can open the sheet, adds the template's
 * tabs and registers the sheet (you become its first allowed user). A new registration also needs proof that
 * you can edit the sheet: the service hands out a claim, which is written into the sheet as developer
 * metadata (only editors can) for the service to read back. */
function setupSheet() {
  var res;
  try {
    res = call_('post', '/v1/addon/setup', { spreadsheet_id: sheetId_() });
    var err = res.data && res.data.error;
    if (res.code === 428 && err && err.code === 'claim_required' && err.claim) {
      try {
        writeClaim_(err.metadata_key || 'sheets_sync_claim', err.claim);
      } catch (e) {
        return { ok: false, code: 'claim_not_written', status: 0, message: t_('claim_not_written', { detail: e.message }) };
      }
      res = call_('post', '/v1/addon/setup', { spreadsheet_id: sheetId_() });
    }
  } catch (err2) {
    return unreachable_(err2);
  }
  if (res.code !== 200 && res.code !== 201) return failure_(res);
  var tabs = res.data.tabs_created || [];
  return { ok: true, created: res.data.created, tabsCreated: tabs, registration: res.data.registration,
           choices: res.data.choices, serviceAccount: res.data.service_account,
           message: res.data.created ? t_('setup_done', { n: tabs.length }) : t_('setup_already', { n: tabs.length }) };
}

/** Replace this sheet's developer metadata `key` with `value` (document-visible: the service account reads it). */
function writeClaim_(key, value) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var old = ss.createDeveloperMetadataFinder().withKey(key).find();
  for (var i = 0; i < old.length; i++) old[i].remove();
  ss.addDeveloperMetadata(key, value, SpreadsheetApp.DeveloperMetadataVisibility.DOCUMENT);
}

/** Save the settings form: {source, reports, amazon_credentials, marketplaces, timezone, schedule,
 * allow_emails, allow_domains}. The service validates and answers with what it stored. */
function saveSettings(form) {
  var body = { spreadsheet_id: sheetId_() };
  var keys = ['source', 'reports', 'amazon_credentials', 'marketplaces', 'timezone', 'schedule', 'allow_emails',
              'allow_domains'];
  for (var i = 0; i < keys.length; i++) {
    if (form && form[keys[i]] !== undefined) body[keys[i]] = form[keys[i]];
  }
  var res;
  try {
    res = call_('put', '/v1/addon/settings', body);
  } catch (err) {
    return unreachable_(err);
  }
  if (res.code !== 200) return failure_(res);
  return { ok: true, registration: res.data.registration, choices: res.data.choices, message: t_('saved') };
}

/** Sync now: queue a sync of this sheet (or join the one already queued). */
function startSync() {
  var res;
  try {
    res = call_('post', '/v1/sync', { spreadsheet_id: sheetId_() });
  } catch (err) {
    return unreachable_(err);
  }
  if (res.code !== 202) return failure_(res);
  PropertiesService.getDocumentProperties().setProperty(LAST_JOB_PROP, res.data.job_id);
  return { ok: true, jobId: res.data.job_id, state: res.data.state,
           message: res.data.joined ? t_('sync_joined') : t_('sync_queued') };
}

/** Progress of a sync (the last one started from this sheet when no id is given), and its result. */
function getProgress(jobId) {
  jobId = jobId || PropertiesService.getDocumentProperties().getProperty(LAST_JOB_PROP);
  if (!jobId) return { ok: true, state: null, done: true, message: t_('no_sync_yet'), result: null };
  var res;
  try {
    res = call_('get', '/v1/addon/status?spreadsheet_id=' + encodeURIComponent(sheetId_()) +
                '&job_id=' + encodeURIComponent(jobId));
  } catch (err) {
    return unreachable_(err);
  }
  if (res.code !== 200) return failure_(res);
  var job = res.data.job || {};
  var state = job.state;
  var out = { ok: true, jobId: jobId, state: state, stage: res.data.stage || null, attempts: job.attempts,
              done: state === 'done' || state === 'failed', result: res.data.result || null };
  if (state === 'queued') out.message = t_('sync_queued');
  else if (state === 'running') out.message = t_('sync_running', { stage: out.stage || t_('stage_running') });
  else if (state === 'done') out.message = t_('sync_done');
  else if (state === 'failed') out.message = t_('sync_failed', { error: (job.errors || [])[0] || job.error_code || '?' });
  else out.message = String(state);
  if (out.result) out.result.problems = linkProblems_(out.result.problems || []);
  return out;
}

/** A link per Sync Log row (the sidebar also offers showSyncLogRow, which selects the row in place). */
function linkProblems_(problems) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = ss.getSheetByName('Sync Log');
  var base = ss.getUrl() + '#gid=' + (sheet ? sheet.getSheetId() : 0);
  for (var i = 0; i < problems.length; i++) problems[i].link = base + '&range=A' + problems[i].row;
  return problems;
}

/** Select a row of the Sync Log tab (a problem's line). */
function showSyncLogRow(row) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = ss.getSheetByName('Sync Log');
  if (!sheet) return false;
  ss.setActiveSheet(sheet);
  sheet.setActiveRange(sheet.getRange(Number(row), 1, 1, 8));
  return true;
}
