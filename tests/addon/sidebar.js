// The add-on's sidebar (Sidebar.html) under Node: the page as HtmlService renders it from Code.gs's
// template, its script run against a small fake DOM, and google.script.run calling the add-on's functions
// (asynchronously, through JSON, as Apps Script does) — which talk real HTTP to the webhook (gas.js).
//
// node sidebar.js '<json>' clicks through: Set up this sheet → fill and save Settings → Sync now → wait for
// the result, and prints what the sidebar shows at each step. The JSON: {url, token, locale, spreadsheetId,
// sheets, settings: {elementId: value}, pollMs}.
'use strict';
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');
const { runtime, ADDON } = require('./gas.js');

class El {
  constructor(id, tag, doc) {
    this.id = id; this.tagName = tag; this.doc = doc; this.textContent = ''; this.value = ''; this.checked = false;
    this.children = []; this.hidden = false; this.onclick = null; this.href = ''; this.selected = false;
    const el = this;
    this.classList = {
      toggle(cls, on) { if (cls === 'hidden') el.hidden = on === undefined ? !el.hidden : !!on; },
      contains(cls) { return cls === 'hidden' ? el.hidden : false; },
    };
  }
  set innerHTML(v) { this.children = []; this.textContent = String(v); }
  get innerHTML() { return this.textContent; }
  appendChild(c) {
    this.children.push(c);
    if (this.tagName === 'select' && c.selected) this.value = c.value;
    if (this.tagName === 'select' && this.children.length === 1 && !this.value) this.value = c.value;
    return c;
  }
  insertRow() { return this.appendChild(new El('', 'tr', this.doc)); }
  insertCell() { return this.appendChild(new El('', 'td', this.doc)); }
  text() { return [this.textContent, ...this.children.map((c) => c.text())].filter(Boolean).join(' '); }
}

function renderTemplate(html, vars) {
  return html.replace(/<\?!?=([\s\S]*?)\?>/g, (m, expr) => String(new Function(...Object.keys(vars),
    `return (${expr});`)(...Object.values(vars))));
}

function sidebar(opts) {
  const gas = runtime(opts);
  gas.ctx.showSetup();                                       // what the menu item does: the template and its vars
  const page = gas.rec.sidebars[0];
  const html = renderTemplate(fs.readFileSync(path.join(ADDON, gas.rec.template + '.html'), 'utf8'), page.vars);
  const doc = { els: {} };
  for (const m of html.matchAll(/<(\w+)[^>]*\bid="([\w-]+)"[^>]*>/g)) {
    const el = new El(m[2], m[1].toLowerCase(), doc);
    el.hidden = /class="[^"]*\bhidden\b/.test(m[0]);
    const value = m[0].match(/value="([^"]*)"/);
    if (value) el.value = value[1];
    doc.els[m[2]] = el;
  }
  // <select><option value=…> children, so that .value reflects the first option as in a browser
  for (const m of html.matchAll(/<select[^>]*id="([\w-]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const first = m[2].match(/value="([^"]*)"/);
    if (first) doc.els[m[1]].value = first[1];
  }
  const calls = [];
  const run = {
    withSuccessHandler(ok) {
      const runner = { ok, fail: (e) => { throw e; } };
      runner.withFailureHandler = (fail) => { runner.fail = fail; return proxy(runner); };
      return proxy(runner);
    },
  };
  function proxy(runner) {
    return new Proxy(runner, { get(target, name) {
      if (name in target) return target[name];
      return (...args) => {
        calls.push(name);
        setImmediate(() => {
          let value;
          try { value = JSON.parse(JSON.stringify(gas.ctx[name](...JSON.parse(JSON.stringify(args))) ?? null)); }
          catch (err) { return runner.fail({ message: err.message }); }
          runner.ok(value);
        });
      };
    } });
  }
  const google = { script: { run: new Proxy(run, { get(t, name) {
    if (name in t) return t[name];
    return proxy({ ok: () => {}, fail: () => {} })[name];
  } }) } };
  const ctx = vm.createContext({
    document: {
      getElementById: (id) => doc.els[id] || null,
      createElement: (tag) => new El('', tag, doc),
      createTextNode: (t) => { const n = new El('', '#text', doc); n.textContent = t; return n; },
    },
    google, console, setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, opts.pollMs || 200)), clearTimeout,
  });
  const script = html.match(/<script>([\s\S]*?)<\/script>/)[1];
  vm.runInContext(script, ctx, { filename: 'Sidebar.html' });
  return { ctx, els: doc.els, calls, gas };
}

async function until(pred, what, timeoutMs = 120000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error('timed out waiting for ' + what);
}

module.exports = { sidebar, until };

if (require.main === module) {
  (async () => {
    const spec = JSON.parse(process.argv[2]);
    const sb = sidebar(spec);
    const el = sb.els;
    const shown = () => ({
      message: el.message.textContent, error: false, setup: !el.setup.hidden, settings: !el.settings.hidden,
      sync: !el.sync.hidden });
    const steps = {};
    await until(() => el.message.textContent !== JSON.parse(sb.gas.rec.sidebars[0].vars.stringsJson).checking,
                'getState');
    steps.opened = shown();
    steps.labels = { setup: el['setup-button'].textContent, sync: el['sync-button'].textContent,
                     save: el['save-button'].textContent };
    sb.ctx.setup();                                            // the button's onclick="setup()"
    await until(() => !el.settings.hidden || el.message.textContent.includes('HTTP'), 'setup');
    steps.setUp = shown();
    for (const [id, value] of Object.entries(spec.settings || {})) {
      if (typeof value === 'boolean') el[id].checked = value; else el[id].value = value;
    }
    const before = el.message.textContent;
    sb.ctx.save();
    await until(() => el.message.textContent !== before && !el.message.textContent.endsWith('…'), 'save');
    steps.saved = shown();
    sb.ctx.syncNow();
    await until(() => !el.result.hidden || /HTTP|failed|失败|falló/.test(el.progress.textContent + el.message.textContent),
                'the result');
    const rows = el.scores.children.map((r) => r.children.map((c) => c.textContent));
    const problems = el.problems.children.map((li) => ({ link: li.children[0].href, text: li.text() }));
    steps.synced = { ...shown(), progress: el.progress.textContent, through: el.through.textContent, rows,
                     problemsTitle: el['problems-title'].textContent, problems };
    if (problems.length) {
      el.problems.children[0].children[0].onclick({ preventDefault() {} });
      await until(() => sb.gas.rec.range, 'showSyncLogRow');
      steps.clicked = sb.gas.rec.range;
    }
    steps.calls = sb.calls;
    process.stdout.write(JSON.stringify(steps));
  })().catch((err) => { process.stderr.write(String(err.stack || err)); process.exit(1); });
}
