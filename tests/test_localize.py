"""The review in the team's language: every generated tab, header and value in zh / es; input in any language;
the clean template with drop-downs on both backends; charts and colours that do not depend on the language."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheets_sync.i18n import LANGUAGES, catalog, placeholders
from sheets_sync.inputs import SETTING_KEYS, read_inputs
from sheets_sync.kpis import CATALOG
from sheets_sync.localize import display_width, finish_tabs, labels, translator
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sheets.base import STATUS_COLOURS, ChartIntent, GeneratedTab
from sheets_sync.sheets.google.build import content_requests, seed_requests
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook
from sheets_sync.template import GENERATED_TABS, load_template
from sheets_sync.testing.sheets_server import SID
from sheets_sync.words import normalise_language

pytest_plugins = ["google_fixtures"]

PERIOD = parse_period("2026-11")
THROUGH = dt.date(2026, 11, 29)
# Words that stay as they are in every language: acronyms and Amazon's own names sellers use untranslated.
ALLOWED = {"acos", "tacos", "roas", "asin", "asins", "kpi", "kpis", "gmv", "sku", "fba", "fbm", "cvr", "ctr", "cpc",
           "odr", "bsr", "usd", "mxn", "iva", "cfdi", "rfc", "fda", "lmdi", "utc", "api", "prime", "listing",
           "buy", "box", "a-to-z", "sync", "log", "sheets-sync", "init", "json", "tsv", "csv", "xlsx", "gz",
           "sponsored", "products", "targets", "settings", "manual", "actuals", "daily", "benchmarks", "calendar",
           "tiers", "bonus", "amazon", "d"}
# Columns that hold what people or Amazon wrote (names, product titles, file names, what Targets names as a
# scope: a category, a campaign): never translated.
DATA = {"owner", "requested_by", "asin", "sku", "title", "started_at", "scope_value", "portfolio", "campaign",
        "ad_group"}


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reports")
    write_demo_reports(root, PERIOD.previous(1), {"US": PERIOD.previous(1).end, "MX": PERIOD.previous(1).end},
                       seed=8)
    write_demo_reports(root, PERIOD, {"US": THROUGH, "MX": THROUGH}, seed=7)
    return root


def _synced(tmp: Path, reports: Path, language: str) -> dict[str, list[list]]:
    path = tmp / f"review-{language}.xlsx"
    wb = XlsxWorkbook(path)
    init_workbook(wb, today=PERIOD.start, examples=True, language=language)
    res = sync_workbook(wb, ReportFilesSource(reports), period=PERIOD.label,
                        now=dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC))
    assert res.ok and res.language == language
    return XlsxWorkbook(path).read_tabs(list(GENERATED_TABS))


def english_words() -> set[str]:
    """Every word of the English catalogues and of the generated tabs' contract names."""
    text = [*labels("en").values(), *catalog("en").values()]
    text += [c.name.replace("_", " ") for t in load_template().generated for c in t.columns]
    return {w.lower() for s in text for w in re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]*", s)}


def own_words(language: str) -> set[str]:
    text = [*labels(language).values(), *catalog(language).values()]
    text += [k.zh if language == "zh" else k.es for k in CATALOG.values()]
    text += [c.label(language) for t in load_template().generated for c in t.columns]
    text = [re.sub(r"\{[^}]*\}", " ", s) for s in text]        # placeholder names are not words of the text
    return {w.lower() for s in text for w in re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]*", s)}


@pytest.mark.parametrize("language", ["zh", "es"])
def test_every_generated_tab_reads_in_the_language(language, tmp_path, demo_reports):
    tabs = _synced(tmp_path, demo_reports, language)
    english = english_words() - own_words(language) - ALLOWED
    template = load_template()
    left: list[str] = []
    for name in GENERATED_TABS:
        table = tabs[name]
        spec = template.tab(name)
        expected = [c.label(language) for c in spec.columns]
        if name == "Daily":   # its columns are reordered around the charts' blank column (see the first-screen test)
            assert sorted(h for h in table[1] if h) == sorted(expected), name
        else:
            assert table[1][:len(spec.columns)] == expected, name
        assert all(c.label(language) != c.name or c.name in ("asin", "sku") or c.label(language).isupper()
                   for c in spec.columns), f"{name}: a column without a {language} label"
        data_cols = {j for j, c in enumerate(spec.columns) if c.name in DATA}
        for r, row in enumerate(table):
            for j, v in enumerate(row):
                if not isinstance(v, str) or j in data_cols:
                    continue
                v = re.sub(r'"[^"]*"', "", v)                    # what people typed, quoted in a Sync Log line
                v = re.sub(r"“[^”]*”", "", v)                     # a campaign's or product's own name, quoted
                v = re.sub(r"\S+\.(json|tsv|csv|txt|xlsx)(\.gz)?", "", v)   # file names
                for w in re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]*", v):
                    if w.lower() in english and not w.isupper():
                        left.append(f"{name}!{chr(65 + j)}{r + 1}: {w!r} in {v[:90]!r}")
    assert not left, "\n".join(left[:30])


@pytest.mark.parametrize("language", ["zh", "es"])
def test_colours_follow_the_canonical_status_not_the_words(language, tmp_path, demo_reports):
    _synced(tmp_path, demo_reports, language)
    ws = openpyxl.load_workbook(tmp_path / f"review-{language}.xlsx")["Attainment"]
    rules = {r.formula[0].strip('"'): r.dxf.fill.bgColor.rgb[-6:]
             for cf in ws.conditional_formatting for r in cf.rules}
    tr = translator(language)
    assert rules == {tr.value(k): v for k, v in STATUS_COLOURS.items()}
    assert set(rules) & {"进度正常", "en camino"}


def test_label_catalogues_have_the_same_keys_and_placeholders():
    en = labels("en")
    for lang in LANGUAGES:
        other = labels(lang)
        assert set(other) == set(en), lang
        for key, text in en.items():
            assert placeholders(other[key]) == placeholders(text), (lang, key)


def test_every_generated_column_has_zh_and_es_labels():
    for tab in load_template().generated:
        for c in tab.columns:
            assert dict(c.labels).keys() >= {"zh", "es"}, f"{tab.name}.{c.name}"


def test_typed_words_read_the_same_every_time_and_per_column():
    """Words typed in team tabs are looked up once per (column kind, text): the same text reads as its own
    column's word, a repeat reads as the first did, and an unknown word comes back for the caller to report."""
    from sheets_sync.words import canonical

    for _ in range(2):
        assert canonical("role", "运营") == "ops" and canonical("role", " Operación ") == "ops"
        assert canonical("scope", "店铺") == "account" and canonical("scope", "运营") == "运营"
        assert canonical("marketplace", "mx") == "MX" and canonical("marketplace", "Mars") == "MARS"
        assert canonical("role", None) == "" and canonical("direction", 5) == "5"


def test_language_cell_accepts_what_people_type():
    for typed, lang in [("zh", "zh"), ("zh-CN", "zh"), ("中文", "zh"), ("Chinese", "zh"), ("es", "es"),
                        ("es-MX", "es"), ("Español", "es"), ("en", "en"), ("English", "en")]:
        assert normalise_language(typed) == lang
        inputs = read_inputs({"Settings": [["key", "value"], ["language", typed]]}, today=dt.date(2026, 11, 20))
        assert inputs.settings.language == lang
        assert not [p for p in inputs.problems if p.where.startswith("Settings!B")], typed
    bad = read_inputs({"Settings": [["key", "value"], ["language", "français"]]}, today=dt.date(2026, 11, 20))
    assert bad.settings.language == "en"
    assert any("Settings!B2" in str(p) and "中文" in str(p) for p in bad.problems)


def test_targets_typed_in_any_language_and_percent_in_any_numeric_column():
    header = load_template().tab("Targets").column_names
    targets = [header,
               [None, "墨西哥", "全店", None, "王磊", "运营", "转化率", "12%", "20%", "越高越好", None],
               [None, "EE. UU.", "etapa", "liquidación", "Sofía", "publicidad", "Tasa de conversión", 0.1, "30%",
                None, None],
               [None, "TODOS", "cuenta", None, "Sofía", "publicidad", "ACoS", "25%", 1, "menos es mejor", None],
               [None, "US", "account", None, "Li", "ops", "销售额", "15,000", "50%", None, None]]
    products = [load_template().tab("Products").column_names, ["US", "B0AAAAAAA1", "S1", "清仓", "Home", "Li"]]
    inputs = read_inputs({"Settings": [["key", "value"], ["period", "2026-11"], ["attainment_cap", "150%"]],
                          "Targets": targets, "Products": products}, today=dt.date(2026, 11, 20))
    got = [(t.marketplace, t.scope, t.scope_value, t.role, t.kpi, t.target, t.weight, t.direction)
           for t in inputs.targets]
    assert got == [("MX", "account", "", "ops", "cvr", 0.12, 0.2, "higher"),
                   ("US", "tier", "clearance", "ads", "cvr", 0.1, 0.3, "higher"),
                   ("ALL", "account", "", "ads", "acos", 0.25, 1.0, "lower"),
                   ("US", "account", "", "ops", "gmv", 15000.0, 0.5, "higher")]
    assert inputs.products[0].tier == "clearance"
    assert inputs.settings.attainment_cap == 1.5
    assert not [p for p in inputs.problems if p.where.startswith(("Targets", "Products", "Settings"))], [
        str(p) for p in inputs.problems]


def _xlsx_validations(path: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        header = [c.value for c in ws[1]]
        for dv in ws.data_validations.dataValidation:
            ref = str(dv.sqref).split(":")[0]
            col = header[openpyxl.utils.column_index_from_string(re.match(r"[A-Z]+", ref)[0]) - 1]
            f = dv.formula1
            if f.startswith('"'):
                values = tuple(f.strip('"').split(","))
            else:
                sheet, rng = f.split("!")
                cells = book[sheet.strip("'")][rng.replace("$", "")]
                values = tuple(c.value for (c,) in cells)
            key = col if ":" in str(dv.sqref) else f"{col}@{ref}"
            if ws.title == "Settings":
                key = ws[f"A{ref[1:]}"].value
            out[(ws.title, key)] = values
    return out


def test_init_is_a_clean_template_with_dropdowns(tmp_path):
    path = tmp_path / "team.xlsx"
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1), examples=False)
    tabs = XlsxWorkbook(path).read_tabs(["Targets", "Products", "Manual Actuals", "Benchmarks", "Settings"])
    for name in ("Targets", "Products", "Manual Actuals", "Benchmarks"):
        assert len(tabs[name]) == 1, f"{name} has example rows"            # the header only
    assert any(r[0] == "language" for r in tabs["Settings"])                 # defaults stay
    got = _xlsx_validations(path)
    assert got[("Targets", "kpi")] == tuple(CATALOG)
    for col in ("marketplace", "scope", "role", "direction"):
        assert ("Targets", col) in got
    assert got[("Products", "tier")] == ("new", "mature", "clearance")
    assert got[("Settings", "language")] == ("en", "zh", "es")
    assert got[("Settings", "gmv_tax")] == ("exclude", "include")
    book = openpyxl.load_workbook(path)
    notes = {c.value: c.comment for c in book["Targets"][1]}
    assert all(notes.values()), "a column without a note"
    assert book.sheetnames[-1] == "_sheets_sync" and book["_sheets_sync"].sheet_state == "hidden"


def test_google_gets_the_same_dropdowns_as_xlsx(tmp_path, server, shared_book, make_workbook):
    path = tmp_path / "team.xlsx"
    t = load_template()
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1), examples=False)
    shared_book({"Sheet1": []})
    make_workbook().create_tabs(t.seeds(dt.date(2026, 11, 1), examples=False), t.empty_generated(), {})
    google: dict[tuple[str, str], tuple[str, ...]] = {}
    for seed in t.seeds(dt.date(2026, 11, 1), examples=False):
        snap = server.snapshot(SID, seed.name)
        for (r, c), cell in snap["cells"].items():
            rule = cell.get("dataValidation")
            if not rule:
                continue
            values = tuple(v["userEnteredValue"] for v in rule["condition"]["values"])
            key = seed.rows[r - 1][0] if seed.name == "Settings" else seed.columns[c]
            assert google.setdefault((seed.name, key), values) == values
    assert google == _xlsx_validations(path)


def test_google_server_rejects_a_bad_validation(server, shared_book, make_workbook):
    shared_book({"Sheet1": []})
    wb = make_workbook()
    sid = server.books[SID].sheets[0].id
    bad = {"setDataValidation": {"range": {"sheetId": sid, "startRowIndex": 0, "endRowIndex": 1},
                                 "rule": {"condition": {"type": "ONE_OF_LIST", "values": []}}}}
    from sheets_sync.errors import SheetsSyncError
    with pytest.raises(SheetsSyncError, match="at least one value"):
        wb._batch_update([bad], cached=False)


def test_both_backends_get_the_same_charts_and_tier_colours():
    rows = [["US", dt.date(2026, 11, d), 100.0 * d, None, None, None, None, None, None, None, None, None, None,
             300.0, ""] for d in (1, 2, 3)]
    daily = GeneratedTab("Daily", load_template().tab("Daily").column_names, rows,
                         charts=[ChartIntent("line", "x", "date", ("gmv", "paced_target_gmv"), split_by="marketplace")])
    score = GeneratedTab("Scorecard", load_template().tab("Scorecard").column_names,
                         [["A", "ops", 2, 0.5, 0.6, "none", 0.0, 1, 1, ""], ["B", "ops", 2, 1.1, 1.1, "target", 1.0, 1, 1, ""],
                          ["C", "ops", 2, 0.9, 0.9, "base", 0.5, 1, 1, ""]])
    d, s = finish_tabs([daily, score], load_template(), "zh")
    cum = d.columns.index("累计销售额")
    assert [r[cum] for r in d.rows] == [100.0, 300.0, 600.0]
    assert [r[d.columns.index("累计进度目标")] for r in d.rows] == [300.0, 600.0, 900.0]
    assert d.charts[0].series == ("累计销售额", "累计进度目标") and d.charts[0].title == labels("zh")["chart.cumulative"]
    assert s.status_column == "奖金档位" and s.colours["无奖金"] == "FFC7CE" and s.colours["目标档"] != "FFC7CE"
    # Google: the same chart (per marketplace, line) and the tier rule; xlsx: straight lines, same rule.
    reqs = content_requests(d, 1, 10)
    charts = [r["addChart"]["chart"]["spec"] for r in reqs if "addChart" in r]
    assert [c["basicChart"]["chartType"] for c in charts] == ["LINE"] and "US" in charts[0]["title"]
    rules = {r["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
             for r in content_requests(s, 2, 10) if "addConditionalFormatRule" in r}
    assert rules == {"无奖金", "基础档", "目标档"}


def test_xlsx_lines_are_straight(tmp_path):
    path = tmp_path / "w.xlsx"
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1))
    rows = [["US", dt.date(2026, 11, d), 10.0, None, None, None, None, None, None, None, None, None, None, 9.0, ""]
            for d in (1, 2)]
    tab = finish_tabs([GeneratedTab("Daily", load_template().tab("Daily").column_names, rows)], load_template(), "en")
    XlsxWorkbook(path).write_tabs(tab)
    with zipfile.ZipFile(path) as z:      # openpyxl does not read charts back: the saved chart XML
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    assert "lineChart" in xml and "cum_gmv" in xml
    assert 'smooth val="1"' not in xml and 'smooth val="0"' in xml


def test_display_width_counts_cjk_double():
    assert display_width("库存可售天数") == 12 and display_width("abc") == 3 and display_width("Días") == 4


def test_display_width_agrees_with_unicode_for_every_character():
    """The block searches and the U+1100 shortcut give what the Unicode table says, character by character and
    in a long mixed text (every assigned character of this Python's Unicode version)."""
    import random
    import sys
    import unicodedata

    def table(ch: str) -> int:
        return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1

    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    assert [ch for ch in chars if display_width(ch) != table(ch)] == []
    mixed = "".join(random.Random(7).choices(chars, k=50_000)) + "库存，Días — ×３"
    assert display_width(mixed) == sum(map(table, mixed))
    assert display_width("Días — × 5") == 10 and display_width(None) == 0


def test_seed_requests_carry_validations():
    seed = next(s for s in load_template().seeds(examples=False) if s.name == "Targets")
    reqs = [r for r in seed_requests(seed, 5) if "setDataValidation" in r]
    assert {seed.columns[r["setDataValidation"]["range"]["startColumnIndex"]] for r in reqs} == {
        "marketplace", "scope", "role", "kpi", "direction"}
    assert all(r["setDataValidation"]["rule"]["strict"] is False for r in reqs)


def test_sentence_catalogues_read_naturally():
    zh, es = catalog("zh"), catalog("es")
    assert "落后进度 {gap:abs}" in zh["miss"] and "目录" not in "".join(zh.values()) and "LMDI" not in zh["ev_miss"]
    assert "严格" not in "".join(zh.values())
    assert "meta prorrateada a la fecha" in es["miss"] and "los últimos" not in es["unrealistic_history"]
    for lang in ("zh", "es"):
        for key, text in catalog(lang).items():
            assert not re.search(r"\b(high|medium|info)\b", text), (lang, key)


def test_scorecard_gets_each_owners_score_over_time_from_history_and_its_chart():
    t = load_template()
    hist = [["2026-11", dt.date(2026, 11, d), row, owner, "US", kpi, "account", None, 1, 1, att, att, "on track"]
            for d, row, owner, kpi, att in [(10, 2, "Li", "gmv", 0.8), (10, 3, "Li", "cvr", 2.0),
                                            (20, 2, "Li", "gmv", 0.9), (20, 3, "Li", "cvr", 1.0),
                                            (20, 4, "Ana", "acos", None)]]
    att_cols = t.tab("Attainment").column_names
    att_rows = []
    for row, owner, kpi, w in [(2, "Li", "gmv", 0.75), (3, "Li", "cvr", 0.25)]:
        r = [None] * len(att_cols)
        r[att_cols.index("target_row")], r[att_cols.index("owner")] = row, owner
        r[att_cols.index("kpi")], r[att_cols.index("weight")] = kpi, w
        att_rows.append(r)
    sc_cols = t.tab("Scorecard").column_names
    sc = [["Li" if c == "owner" else None for c in sc_cols]]                      # one owner row, two dates
    tabs = [GeneratedTab("Scorecard", sc_cols, sc, charts=[ChartIntent("bar", "s", "owner", ("score",))]),
            GeneratedTab("Attainment", att_cols, att_rows), GeneratedTab("History", t.tab("History").column_names, hist)]
    shown = finish_tabs(tabs, t, "es", cap=1.5)
    history, scorecard = shown[2], shown[0]
    assert history.columns == [c.label("es") for c in t.tab("History").columns]   # History keeps its width
    j = scorecard.columns.index("Li")
    assert [r[j] for r in scorecard.rows[:2]] == [pytest.approx(0.75 * 0.8 + 0.25 * 1.5),
                                                  pytest.approx(0.75 * 0.9 + 0.25)]
    assert len(scorecard.rows) == 2 and scorecard.rows[1][0] is None            # a row for the second date only
    assert "Ana" not in scorecard.columns                                     # no attainment, no line
    assert scorecard.charts[0].rows == 1                                      # the bars: owner rows only
    chart = scorecard.charts[-1]
    assert chart.kind == "line" and chart.series == ("Li",) and chart.category == labels("es")["chart.history_date"]
    assert chart.rows == 2 and scorecard.formats["Li"] == "percent"


@pytest.mark.parametrize("language", ["zh", "es"])
def test_sync_log_problems_read_in_the_language(language):
    h = load_template().tab("Targets").column_names
    tabs = {"Settings": [["key", "value"], ["fx.MXN", "abc"], ["foo", "1"], ["gmv_tax", "maybe"]],
            "Targets": [h, [None, "FR", "account", None, "Li", "ops", "gmv", 1, 1, None, None],
                        [None, "US", "acount", None, "Li", "ops", "gmvv", 1, 1, None, None],
                        [None, "US", "account", None, "", "ops", "cvr", "abc", -1, "up", None],
                        [None, "US", "tier", "old", "Li", "ops", "cvr", 25, 1, None, None],
                        [None, "US", "account", "x", "Li", "ops", "cvr", 0.2, 1, None, None]],
            "Products": [load_template().tab("Products").column_names, ["US", "BAD", "s", "old"]]}
    problems = read_inputs(tabs, today=dt.date(2026, 11, 20)).problems
    assert len(problems) >= 12
    english = english_words() - own_words(language) - ALLOWED - {"fx", "vat", "cur", "mk"} - set(SETTING_KEYS)
    tr = translator(language)
    for p in problems:
        shown = tr.line(str(p))
        text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\b[a-z]+_[a-z_]+\b", "", shown)   # typed values, keys, commands
        left = [w for w in re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'-]*", text) if w.lower() in english and not w.isupper()]
        assert not left, f"{shown}: {left}"


def test_example_rate_targets_show_as_percentages(tmp_path):
    path = tmp_path / "demo.xlsx"
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1), examples=True)
    ws = openpyxl.load_workbook(path)["Targets"]
    header = [c.value for c in ws[1]]
    kpi, target = header.index("kpi") + 1, header.index("target") + 1
    shown = {ws.cell(r, kpi).value: ws.cell(r, target).number_format for r in range(2, ws.max_row + 1)}
    assert shown["cvr"] == "0.0%" and shown["acos"] == "0.0%" and shown["sessions"] != "0.0%"
    seed = next(s for s in load_template().seeds() if s.name == "Targets")
    fmts = [r["repeatCell"] for r in seed_requests(seed, 5) if "repeatCell" in r
            and r["repeatCell"]["range"]["endRowIndex"] - r["repeatCell"]["range"]["startRowIndex"] == 1]
    assert fmts and all(f["cell"]["userEnteredFormat"]["numberFormat"]["type"] == "PERCENT" for f in fmts)


def _synced_in_spanish(path: Path, demo_reports: Path) -> dict[str, GeneratedTab]:
    """Sync a new Spanish workbook at ``path`` on the demo reports; the generated tabs it wrote, by name."""
    captured: dict[str, GeneratedTab] = {}

    class Keep(XlsxWorkbook):
        def write_tabs(self, tabs):
            captured.update({t.name: t for t in tabs})
            return super().write_tabs(tabs)

    init_workbook(Keep(path), today=PERIOD.start, examples=True, language="es")
    assert sync_workbook(Keep(path), ReportFilesSource(demo_reports), period=PERIOD.label).ok
    return captured


def test_xlsx_and_google_draw_the_same_charts(tmp_path, demo_reports):
    """The same intents on both backends: one chart per intent block, same kinds and titles."""
    path = tmp_path / "charts.xlsx"
    captured = _synced_in_spanish(path, demo_reports)
    with zipfile.ZipFile(path) as z:
        xml = [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/charts/chart")]
    xlsx_titles = sorted(re.sub(r"<[^>]+>", "", m) for x in xml for m in re.findall(r"<(?:c:)?title>.*?</(?:c:)?title>", x))
    google = []
    for name in ("Scorecard", "Daily", "History"):
        for r in content_requests(captured[name], 1, 5000):
            if "addChart" in r:
                spec = r["addChart"]["chart"]["spec"]
                google.append((spec["title"], spec["basicChart"]["chartType"]))
    assert sorted(t for t, _ in google) == xlsx_titles
    assert {t for t, _ in google} >= {labels("es")["chart.score"], f'{labels("es")["chart.cumulative"]} — US',
                                      f'{labels("es")["chart.cumulative"]} — MX', labels("es")["chart.history"]}
    assert xml and all('smooth val="1"' not in x for x in xml)


def test_a_sync_with_an_error_does_not_say_only_warnings(tmp_path, demo_reports):
    from sheets_sync.sheets.memory import MemoryWorkbook

    wb = MemoryWorkbook()
    init_workbook(wb, today=PERIOD.start, examples=True, language="zh")
    targets = wb.read_tabs(["Targets"])["Targets"]
    wb.tabs["Targets"] = [*targets, [None, "US", "account", None, "Li Na", "ops", "gmvv", 1, 1]]
    res = sync_workbook(wb, ReportFilesSource(demo_reports), period=PERIOD.label)
    assert res.status == "ok with errors" and "1 error(s)" in res.summary[0]
    log = wb.read_tabs(["Sync Log"])["Sync Log"]
    assert log[2][3] == "完成（有错误）" and "1 个错误" in log[2][7]


def _xlsx_chart_anchors(path: Path, sheet: str) -> list[tuple[int, int]]:
    """(column, row) 0-based of each chart's top-left cell on one sheet of a saved xlsx."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships",
          "x": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"}
    from xml.etree import ElementTree as ET

    def rels(z, part):
        d, f = part.rsplit("/", 1)
        root = ET.fromstring(z.read(f"{d}/_rels/{f}.rels"))
        return {r.get("Id"): str(Path(d, r.get("Target")).resolve().relative_to(Path("/").resolve()))
                if not r.get("Target").startswith("/") else r.get("Target").lstrip("/")
                for r in root.findall("p:Relationship", ns)}

    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rid = next(s.get(f"{{{ns['r']}}}id") for s in book.iter(f"{{{ns['m']}}}sheet") if s.get("name") == sheet)
        part = rels(z, "xl/workbook.xml")[rid]
        ws = ET.fromstring(z.read(part))
        drawing = ws.find("m:drawing", ns)
        if drawing is None:
            return []
        dpart = rels(z, part)[drawing.get(f"{{{ns['r']}}}id")]
        root = ET.fromstring(z.read(dpart))
        return [(int(a.find("x:from/x:col", ns).text), int(a.find("x:from/x:row", ns).text))
                for a in root if a.find("x:from", ns) is not None]


def test_daily_charts_sit_on_the_first_screen_on_both_backends_and_cover_no_figure(tmp_path, demo_reports):
    path = tmp_path / "daily.xlsx"
    captured = _synced_in_spanish(path, demo_reports)
    daily = captured["Daily"]
    google = [(r["addChart"]["chart"]["position"]["overlayPosition"]["anchorCell"]["columnIndex"],
               r["addChart"]["chart"]["position"]["overlayPosition"]["anchorCell"]["rowIndex"])
              for r in content_requests(daily, 1, 5000) if "addChart" in r]
    assert len(google) == 2                                        # US and MX, stacked in one column
    assert _xlsx_chart_anchors(path, "Daily") == google            # the same cells on both backends
    col = google[0][0]
    assert col <= 10 and {c for c, _ in google} == {col}
    assert [r for r, _ in sorted((r, c) for c, r in google)] == [2, 19]   # from the first data row down
    assert daily.columns[col] == "" and all(r[col] is None for r in daily.rows)   # the charts cover no figure
    shown = daily.columns[:col]                    # left of the charts: the figures the chart plots
    labels_es = {c.name: c.label("es") for c in load_template().tab("Daily").columns}
    assert shown == [labels_es[c] for c in ("marketplace", "date", "gmv", "paced_target_gmv", "cum_gmv",
                                           "cum_paced_target_gmv")]
    assert daily.columns[col + 1] == labels_es["provisional"]
    assert {labels_es["units"], labels_es["ad_spend"]} <= set(daily.columns[col + 2:])   # kept, right of the charts
    px = [r["updateDimensionProperties"]["properties"]["pixelSize"] for r in content_requests(daily, 1, 5000)
          if "updateDimensionProperties" in r]
    assert px[col] >= 640 and sum(px[:col + 1]) <= 1440   # the blank column holds the 640 px chart, all on screen


def test_a_one_word_header_is_not_broken_mid_word():
    """`projected_score` cannot wrap at a space: its column fits it on one line; a CJK or spaced one wraps."""
    tab = GeneratedTab("Scorecard", ["projected_score", "x"], [[0.5, None]], formats={"projected_score": "percent"})
    en = finish_tabs([tab], load_template(), "en")[0]
    assert en.widths["projected_score"] >= 1.2 * len("projected_score")
    zh = finish_tabs([tab], load_template(), "zh")[0]
    assert zh.widths["预计得分"] < 1.2 * len("projected_score")
