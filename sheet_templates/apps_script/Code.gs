/**
 * sheets-sync: the "KPI" menu of the team workbook.
 *
 * Sync now   → POST {spreadsheet_id} to the webhook with the user's Google ID token; toast the job state.
 * Sync status → GET the last job's state from the webhook and toast it; while the sync runs, the toast
 *               refreshes every few seconds with its stage (reading the sheet, fetching reports 3/8, waiting
 *               for Amazon, computing, writing) until it is done or failed.
 * Open review → activate the Scorecard tab.
 *
 * No business logic here: the service does the work. Set the script property SYNC_WEBHOOK_URL to the
 * service's base URL (e.g. https://sync.example.com). See docs/webhook.md.
 */
var WEBHOOK_PROP = 'SYNC_WEBHOOK_URL';
var LAST_JOB_PROP = 'SYNC_LAST_JOB_ID';
var TITLE = 'KPI';
var STATUS_POLL_MS = 4000;       // how often Sync status refreshes a running sync
var STATUS_WATCH_MS = 120000;    // and for how long (an Apps Script call may run 6 minutes)

// Every word the menu shows, in one place (a later version translates them).
var STRINGS = {
  menu: 'KPI',
  syncNow: 'Sync now',
  syncStatus: 'Sync status',
  openReview: 'Open review',
  stages: {
    reading: 'reading the sheet',
    fetching: 'fetching reports',
    waiting: 'waiting for Amazon',
    computing: 'computing',
    writing: 'writing'
  }
};

function onOpen(e) {
  SpreadsheetApp.getUi()
    .createMenu(STRINGS.menu)
    .addItem(STRINGS.syncNow, 'syncNow')
    .addItem(STRINGS.syncStatus, 'syncStatus')
    .addSeparator()
    .addItem(STRINGS.openReview, 'openReview')
    .addToUi();
}

function baseUrl_() {
  var url = PropertiesService.getScriptProperties().getProperty(WEBHOOK_PROP);
  if (!url) {
    throw new Error('The sync service address is not set. In Extensions → Apps Script → Project Settings → ' +
                    'Script properties, add ' + WEBHOOK_PROP + ' with the service URL.');
  }
  return String(url).replace(/\/+$/, '');
}

function call_(method, path, body) {
  var options = {
    method: method,
    headers: { Authorization: 'Bearer ' + ScriptApp.getIdentityToken() },
    muteHttpExceptions: true
  };
  if (body !== undefined) {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(body);
  }
  var resp = UrlFetchApp.fetch(baseUrl_() + path, options);
  var code = resp.getResponseCode();
  var data = {};
  try { data = JSON.parse(resp.getContentText() || '{}'); } catch (err) { data = {}; }
  return { code: code, data: data };
}

var MESSAGES_ = {
  auth_required: 'The sync service did not receive your Google sign-in. Reload the sheet and try again.',
  token_expired: 'Your Google sign-in expired. Reload the sheet and try again.',
  token_audience: 'The sync service does not trust this script yet. Ask the admin to add its client id to the service audience.',
  token_invalid: 'The sync service could not verify your Google sign-in.',
  tokens_disabled: 'The sync service does not accept Google sign-ins. Ask the admin to configure its audience.',
  email_not_verified: 'Your Google account email is not verified.',
  not_allowed: 'Your account is not allowed to sync this workbook. Ask the admin to add you to its allowlist.',
  workbook_not_found: 'The sync service does not know this spreadsheet. Ask the admin to add it to service.yaml.',
  job_not_found: 'The sync service has no record of the last sync.',
  queue_unavailable: 'The sync service is busy or restarting. Try again in a minute.',
  internal_error: 'The sync service had an unexpected error. The admin can find details in its log.'
};

function describeError_(res) {
  var err = (res.data && res.data.error) || {};
  var words = MESSAGES_[err.code] || err.message || ('The sync service answered HTTP ' + res.code + '.');
  return words + (err.code ? ' (' + err.code + ', HTTP ' + res.code + ')' : '');
}

function describeStage_(progress) {
  if (!progress || !progress.stage) return '';
  var text = STRINGS.stages[progress.stage] || progress.stage;
  if (progress.total) text += ' ' + (progress.done || 0) + '/' + progress.total;
  return text;
}

function describeJob_(job) {
  var state = job.state;
  if (state === 'queued') return job.joined ? 'A sync was already queued; you joined it.' : 'Sync queued.';
  if (state === 'running') {
    var stage = describeStage_(job.progress);
    return 'Sync running' + (stage ? ': ' + stage : '') + ' (attempt ' + (job.attempts || 1) + ').';
  }
  if (state === 'done') return 'Sync done. ' + ((job.summary || [])[0] || '');
  if (state === 'failed') return 'Sync failed: ' + ((job.errors || []).slice(-1)[0] || 'see the Sync Log tab');
  return 'Sync state: ' + state;
}

function report_(ss, text, isError) {
  if (isError) {
    SpreadsheetApp.getUi().alert(TITLE + ' sync', text, SpreadsheetApp.getUi().ButtonSet.OK);
  } else {
    ss.toast(text, TITLE, 8);
  }
}

function syncNow() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var res;
  try {
    res = call_('post', '/v1/sync', { spreadsheet_id: ss.getId() });
  } catch (err) {
    report_(ss, 'Could not reach the sync service: ' + err.message, true);
    return null;
  }
  if (res.code === 202) {
    PropertiesService.getDocumentProperties().setProperty(LAST_JOB_PROP, res.data.job_id);
    report_(ss, describeJob_(res.data), false);
    return res.data.job_id;
  }
  report_(ss, describeError_(res), true);
  return null;
}

function syncStatus() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var jobId = PropertiesService.getDocumentProperties().getProperty(LAST_JOB_PROP);
  if (!jobId) {
    report_(ss, 'No sync has been started from this sheet yet. Use KPI → Sync now.', false);
    return null;
  }
  var waited = 0;
  while (true) {
    var res;
    try {
      res = call_('get', '/v1/jobs/' + encodeURIComponent(jobId));
    } catch (err) {
      report_(ss, 'Could not reach the sync service: ' + err.message, true);
      return null;
    }
    if (res.code !== 200) {
      report_(ss, describeError_(res), true);
      return null;
    }
    var state = res.data.state;
    var active = state === 'queued' || state === 'running';
    report_(ss, describeJob_(res.data), false);
    if (!active || waited >= STATUS_WATCH_MS) return state;
    Utilities.sleep(STATUS_POLL_MS);         // the toast stays up; refresh it with the next stage
    waited += STATUS_POLL_MS;
  }
}

function openReview() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = ss.getSheetByName('Scorecard');
  if (!sheet) {
    report_(ss, 'This workbook has no Scorecard tab yet. Run KPI → Sync now first.', true);
    return false;
  }
  ss.setActiveSheet(sheet);
  return true;
}
