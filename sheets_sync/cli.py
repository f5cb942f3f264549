"""`sheets-sync init | sync | demo | validate | deck | export | serve | worker | registrations`."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shutil
import sys
from pathlib import Path

from . import __version__
from .config import Config, WorkbookConfig, load_config
from .errors import ConfigError, InputDataError, RetriableError, SheetsSyncError
from .progress import TerminalBar
from .sync import SyncResult, init_workbook, open_source, open_workbook, run_sync, sync_workbook

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_RETRY = 0, 1, 2, 75


def _print(msg: str = "") -> None:
    print(msg, flush=True)


def _err(msg: str) -> None:
    print(f"sheets-sync: {msg}", file=sys.stderr, flush=True)


def _target(args: argparse.Namespace, config: Config) -> WorkbookConfig:
    """--workbook FILE.xlsx / --sheet ID / --name NAME (service.yaml) → a WorkbookConfig."""
    if getattr(args, "workbook", None):
        return WorkbookConfig(name="cli", backend="xlsx", path=Path(args.workbook),
                              reports=Path(args.reports) if getattr(args, "reports", None) else None)
    if getattr(args, "sheet", None):
        known = next((w for w in config.workbooks.values() if w.sheet_id == args.sheet), None)
        return known or WorkbookConfig(name="cli", backend="google", sheet_id=args.sheet)
    return config.workbook(getattr(args, "name", None))


def _print_result(res: SyncResult) -> None:
    from .localize import display_width, say, translator

    lang, tr = res.language, translator(res.language)
    _print(say("cli.head", lang, workbook=res.workbook, status=tr.value(res.status),
               seconds=f"{res.duration_s:.1f}", period=res.period or "?"))

    def pad(text: str, width: int, right: bool = False) -> str:   # CJK characters take two columns
        fill = " " * max(0, width - display_width(text))
        return fill + text if right else text + fill

    if res.scorecard:
        owner, score, projected, tier = say("cli.columns", lang).split("|")
        _print(f"  {pad(owner, 18)} {pad(score, 8, True)} {pad(projected, 10, True)}  {tier}")
        for s in res.scorecard:   # two decimals, as the Scorecard shows them: 119.95 % is not 120 %
            sc = "" if s["score"] is None else f"{s['score']:.2%}"
            ps = "" if s["projected_score"] is None else f"{s['projected_score']:.2%}"
            _print(f"  {pad(s['owner'], 18)} {pad(sc, 8, True)} {pad(ps, 10, True)}  {tr.value(s['tier'])}")
    for line in res.summary:
        _print(f"  {tr.line(line)}")
    if res.problems:
        _print("  " + say("cli.problems", lang, n=len(res.problems)))
        for p in res.problems[:10]:
            _print(f"    {tr.line(p)}")
        if len(res.problems) > 10:
            _print("    " + say("cli.more", lang, n=len(res.problems) - 10))
    if res.error:
        _err(res.error)


def cmd_init(args: argparse.Namespace, config: Config) -> int:
    wbc = _target(args, config)
    if wbc.backend == "xlsx" and wbc.path.exists() and not args.force:
        _err(f"{wbc.path} already exists; pass --force to add the template's missing tabs to it (existing tabs "
             "are never changed)")
        return EXIT_USAGE
    wb = open_workbook(config, wbc)
    created = init_workbook(wb, examples=args.example)
    if created:
        _print(f"{wb.describe()}: created {len(created)} tab(s): {', '.join(created)}")
    else:
        _print(f"{wb.describe()}: every template tab is already there; nothing changed")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    wbc = _target(args, config)
    if args.source:
        wbc = WorkbookConfig(**{**wbc.__dict__, "source": args.source})
    config = config.with_workbook(wbc)
    open_workbook(config, wbc)       # a configuration error exits 2 before anything runs
    source = open_source(config, wbc, Path(args.reports) if args.reports else None)
    bar = TerminalBar(sys.stderr) if sys.stderr.isatty() else None

    def lines(stage: str, done: int | None = None, total: int | None = None, detail: str | None = None) -> None:
        if detail:
            _print(f"  … {detail}")

    try:   # through run_sync like the queue: shared API budgets, the same error handling
        res = run_sync(config, wbc.name, period=args.period, trigger="cli", requested_by=args.requested_by,
                       source=source, progress=bar or lines)
    finally:
        if bar is not None:
            bar.close()
    _print_result(res)
    return EXIT_OK if res.ok else EXIT_FAILED


def cmd_validate(args: argparse.Namespace, config: Config) -> int:
    from .inputs import read_inputs
    from .template import TEAM_TABS

    wbc = _target(args, config)
    wb = open_workbook(config, wbc)
    inputs = read_inputs(wb.read_tabs(list(TEAM_TABS)), period_override=args.period)
    s = inputs.settings
    _print(f"{wb.describe()}: period {s.period.label}, {len(inputs.targets)} valid target(s), "
           f"{len(inputs.products)} product(s), {len(inputs.calendar)} calendar event(s)")
    from .localize import translator

    tr = translator(s.language)
    for p in inputs.problems:
        _print(f"  {tr.value(p.severity)}: {tr.line(str(p))}")
    errors = sum(p.severity == "error" for p in inputs.problems)
    _print(f"{errors} error(s), {len(inputs.problems) - errors} warning(s)")
    return EXIT_FAILED if errors else EXIT_OK


def demo_period(today: dt.date):
    """The demo reviews a November (Buen Fin and BFCM): this one when it has started, else last year's."""
    from .periods import parse_period, seeded_events

    year = today.year if today >= seeded_events(today.year)["buen_fin"][1] + dt.timedelta(days=1) else today.year - 1
    return parse_period(f"{year}-11")


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from .samples.amazon import write_demo_reports

    out = Path(args.out)
    reports = Path(args.reports) if args.reports else out.with_name(out.stem + "-reports")
    today = dt.date.today()
    period = demo_period(today)
    through = min(period.end, today - dt.timedelta(days=1))
    if out.exists():
        out.unlink()
    if reports.exists():
        shutil.rmtree(reports)
    # The month before too, so the review can compare with the last period (GMV-miss attribution,
    # Target Suggestions from history). Written first: its undated snapshot files are then replaced.
    prior = period.previous(1)
    before = write_demo_reports(reports, prior, {"US": prior.end, "MX": prior.end}, seed=args.seed + 1)
    summary = write_demo_reports(reports, period, {"US": through, "MX": through}, seed=args.seed)
    from .samples.mercadolibre import add_demo_rows, mlm_dataset, write_mlm_files  # the Mercado Libre store

    ml_files = [*write_mlm_files(reports / "MLM", mlm_dataset(prior, prior.end, seed=args.seed + 1)),
                *write_mlm_files(reports / "MLM", mlm_dataset(period, through, seed=args.seed))]
    from .samples import walmart as wm  # the Walmart US store

    wm_files = [*wm.write_wm_files(reports / "WMUS", wm.wm_dataset(prior, prior.end, seed=args.seed + 1), True),
                *wm.write_wm_files(reports / "WMUS", wm.wm_dataset(period, through, seed=args.seed), True)]
    n = len({f for s in (before, summary) for files in s["files"].values() for f in files})
    n += len({str(f) for f in ml_files}) + len({str(f) for f in wm_files})
    _print(f"sample reports ({n} files, Amazon US + MX, Mercado Libre MLM and Walmart WMUS, {prior.label} and "
           f"{period.label} through {through.isoformat()}): {reports}")
    wbc = WorkbookConfig(name="demo", backend="xlsx", path=out, reports=reports)
    wb = open_workbook(config, wbc)
    init_workbook(wb, today=period.start, examples=True, language=args.language)
    add_demo_rows(out)
    wm.add_demo_rows(out, "US, MX, MLM, WMUS")
    res = sync_workbook(wb, open_source(config, wbc), period=period.label, trigger="cli",
                        requested_by="sheets-sync demo")
    _print_result(res)
    _print(f"\nOpen the demo workbook: {out.resolve()}")
    return EXIT_OK if res.ok else EXIT_FAILED


def cmd_connect(args: argparse.Namespace, config: Config) -> int:
    """``sheets-sync connect mercadolibre|walmart``: the operator's own connection, kept under the data dir."""
    return (_connect_walmart if args.provider == "walmart" else _connect_mercadolibre)(args, config)


def _connect_mercadolibre(args: argparse.Namespace, config: Config) -> int:
    """Connect the operator's Mercado Libre account: print the authorization link, take the code (or the whole
    URL the browser was sent to), store the first refresh token under the data dir."""
    from .localize import say
    from .sources.mercadolibre_api import (
        TOKEN_KEY,
        MercadoLibreApp,
        authorization_url,
        code_from,
        connect,
        pkce_pair,
        token_store,
    )
    from .tokens import fingerprint

    lang = args.language
    env = config.env
    app = MercadoLibreApp.from_env(env)
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair() if args.pkce else (None, None)
    _print(say("connect.open", lang))
    _print(f"  {authorization_url(app, state, challenge)}")
    answer = input(say("connect.paste", lang) + " ")
    seed = str(env.get("MERCADOLIBRE_REFRESH_TOKEN") or "").strip()
    store = token_store(config.data_dir)
    user = connect(store, TOKEN_KEY, app, code_from(answer, state), code_verifier=verifier,
                   origin=fingerprint(seed) if seed else "")
    _print(say("connect.done", lang, user=user, folder=store.folder))
    if seed:
        _print(say("connect.unset_seed", lang))
    return EXIT_OK


def cmd_deck(args: argparse.Namespace, config: Config) -> int:
    """The review deck of a synced workbook (docs/deck.md)."""
    out = Path(args.out)
    if out.suffix.lower() not in (".pptx", ".pdf"):
        _err(f"--out {out.name}: the deck is written as .pptx (PowerPoint) or .pdf")
        return EXIT_USAGE
    from .deck import make_deck
    from .deck.fonts import FontMissing

    wb = open_workbook(config, _target(args, config))
    try:
        deck = make_deck(wb, out)
    except FontMissing as exc:
        _err(str(exc))
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        if exc.name not in ("pptx", "reportlab", "fontTools"):
            raise
        _err(f"the deck needs the deck extra ({exc.name} is missing): pip install 'sheets-sync[deck]'")
        return EXIT_USAGE
    except InputDataError:
        _err(f"{wb.describe()} has no review yet: run sheets-sync sync first")
        return EXIT_FAILED
    _print(f"{out}: {deck.title} · {2 + len(deck.owners) + 2} slides")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    """Tidy tables for Looker Studio, Power BI and Tableau (docs/deck.md)."""
    from .export import export

    wb = open_workbook(config, _target(args, config))
    try:
        written = export(wb, Path(args.out), args.format)
    except InputDataError:
        _err(f"{wb.describe()} has no review yet: run sheets-sync sync first")
        return EXIT_FAILED
    for path in written:
        _print(str(path))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from webhook.serve import serve

    serve(config, host=args.host, port=args.port, workers=args.workers)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    from .jobs import run_worker

    run_worker(config)
    return EXIT_OK


def cmd_registrations(args: argparse.Namespace, config: Config) -> int:
    """Sheets set up from the Google Sheets add-on (sheets_sync.registry): list them, or remove one."""
    from .registry import open_registry

    store = open_registry(config)
    if args.action == "remove":
        if not args.spreadsheet_id:
            _err("registrations remove needs the spreadsheet id (see `sheets-sync registrations list`)")
            return EXIT_USAGE
        if not store.remove(args.spreadsheet_id):
            _err(f"no registered sheet {args.spreadsheet_id!r}")
            return EXIT_FAILED
        _print(f"removed {args.spreadsheet_id}: its jobs and Sync Log stay; the add-on will offer to set it up again")
        return EXIT_OK
    regs = store.all()
    for r in regs:
        st = r.settings()
        source = st["source"] + (f" ({st['amazon_credentials']})" if st["source"] == "amazon"
                                 else f" ({st['reports'] or r.spreadsheet_id})")
        allowed = ", ".join([r.owner, *st["allow_emails"], *st["allow_domains"]])
        _print(f"{r.spreadsheet_id}  owner {r.owner}  source {source}  {'/'.join(st['marketplaces'])}  "
               f"schedule {', '.join(st['schedule']) or 'none'}  allowed {allowed}  updated {r.public()['updated_at']}")
    _print(f"{len(regs)} registered sheet(s) ({store.kind})")
    return EXIT_OK


def _ask(prompt: str, secret: bool = False) -> str:
    """A value typed at the terminal (a secret without echo), or a line of standard input when it is not one."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return (getpass.getpass(prompt) if secret else input(prompt)).strip()


def _connect_walmart(args: argparse.Namespace, config: Config) -> int:
    """Store the operator's Walmart API keys (and Walmart Connect's) for the service: 0600 under the data dir,
    never printed. Environment variables still win over what is stored."""
    from .connections import describe, load_connection, save_connection

    market = args.market
    if args.ads:
        values = {"ads": {"consumer_id": args.consumer_id or _ask("Walmart Connect consumer id: "),
                          "advertiser_id": args.advertiser_id or _ask("Walmart Connect advertiser id: "),
                          "key_version": args.key_version,
                          "token": _ask("Walmart Connect bearer token (not shown): ", secret=True)}}
        key_path = args.private_key or _ask("path of the RSA private key (PEM) whose public key Walmart Connect has: ")
        try:
            values["ads"]["private_key"] = Path(key_path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            _err(f"cannot read the private key file ({type(exc).__name__})")
            return EXIT_USAGE
    else:
        client_id = args.client_id or _ask(f"Walmart {market.upper()} client id: ")
        secret = _ask(f"Walmart {market.upper()} client secret (not shown): ", secret=True)
        if not client_id or not secret:
            _err("a client id and a client secret are needed (Walmart Developer Portal → API Keys)")
            return EXIT_USAGE
        if not args.no_check:
            from .sources.walmart import DEFAULT_URL, WalmartApi, WalmartCredentials

            url = str(config.env.get("WALMART_API_URL") or "").strip() or DEFAULT_URL
            WalmartApi(WalmartCredentials(market, client_id, secret), url).token()   # ConfigError when refused
        values = {market: {"client_id": client_id, "client_secret": secret}}
    path = save_connection(config.data_dir, "walmart", values)
    _print(f"Walmart connection saved ({describe(load_connection(config.data_dir, 'walmart'))}) in {path}; "
           "readable only by this user. Add WMUS / WMMX to the workbook's Settings marketplaces.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sheets-sync", description="Amazon KPI reviews kept in your spreadsheet.")
    p.add_argument("--version", action="version", version=f"sheets-sync {__version__}")
    p.add_argument("--config", help="service.yaml path (default: ./service.yaml if present, or $SHEETS_SYNC_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    def target(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--workbook", help="an .xlsx workbook path (the embedded default backend)")
        g.add_argument("--sheet", help="a Google spreadsheet id (shared with the service account as Editor)")
        g.add_argument("--name", help="a workbook name from service.yaml")

    sp = sub.add_parser("init", help="create a workbook with every template tab (headers, notes, drop-downs; "
                        "no example rows unless --example)")
    target(sp)
    sp.add_argument("--force", action="store_true", help="add missing tabs to an existing .xlsx file")
    sp.add_argument("--example", action="store_true",
                    help="also the demo's example targets, products, manual actuals and benchmarks")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("sync", help="read targets, ingest reports, compute, write the generated tabs")
    target(sp)
    sp.add_argument("--reports", help="folder with US/ and MX/ report files (any names; .gz accepted)")
    sp.add_argument("--period", help="override the Settings period: 2026-11, 2026-W47, 2026-Q4, A..B")
    sp.add_argument("--source", choices=["files", "amazon", "api"],
                    help="where actuals come from: report files, or the live APIs (amazon and api are the same: "
                    "Amazon's and, when MERCADOLIBRE_CLIENT_ID is set, Mercado Libre's)")
    sp.add_argument("--requested-by", help="recorded in the Sync Log")
    sp.set_defaults(func=cmd_sync)

    sp = sub.add_parser("validate", help="check the team tabs and print every addressed problem")
    target(sp)
    sp.add_argument("--period", help="override the Settings period")
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("demo", help="sample data for Amazon US + MX, Mercado Libre and Walmart US stores, then init + "
                        "sync into a demo workbook")
    sp.add_argument("--out", default="sheets-sync-demo.xlsx")
    sp.add_argument("--reports", help="where to write the sample reports (default: next to --out)")
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--language", choices=["en", "zh", "es"], default="en", help="the review's language")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("deck", help="the review as a deck: title, scorecard and chart, one slide per owner, findings, "
                        "next period's targets (.pptx or .pdf)")
    target(sp)
    sp.add_argument("--out", required=True, help="review.pptx or review.pdf")
    sp.set_defaults(func=cmd_deck)

    sp = sub.add_parser("export", help="tidy tables for BI tools (daily, asin_actuals, attainment, scorecard, history)")
    target(sp)
    sp.add_argument("--out", required=True, help="a folder; one file per table")
    sp.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("serve", help="run the webhook (KPI → Sync now) under gunicorn")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8080)
    sp.add_argument("--workers", type=int, default=2)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("worker", help="run a job-queue worker (syncs and schedules)")
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser("connect", help="the service's own store connection, kept under the data dir: mercadolibre "
                        "(authorization code → a refresh token), walmart (API keys asked at the terminal, never "
                        "printed)")
    sp.add_argument("provider", choices=["mercadolibre", "walmart"])
    sp.add_argument("--language", choices=["en", "zh", "es"], default="en", help="the language of the messages")
    sp.add_argument("--no-pkce", dest="pkce", action="store_false",
                    help="mercadolibre: leave out PKCE (code_challenge), for an application Mercado Libre refuses it "
                    "for")
    sp.add_argument("--market", choices=["us", "mx"], default="us", help="walmart: Walmart US (default) or México")
    sp.add_argument("--client-id", help="walmart: the client id (the secret is always asked, never an argument)")
    sp.add_argument("--no-check", action="store_true", help="walmart: save without asking Walmart for a token first")
    sp.add_argument("--ads", action="store_true", help="walmart: Walmart Connect (Sponsored Search) instead of the "
                    "API keys")
    sp.add_argument("--consumer-id", help="walmart --ads: the Walmart Connect consumer id")
    sp.add_argument("--advertiser-id", help="walmart --ads: the advertiser id")
    sp.add_argument("--private-key", help="walmart --ads: path of the RSA private key (PEM)")
    sp.add_argument("--key-version", default="1", help="walmart --ads: the key version Walmart Connect gave (default 1)")
    sp.set_defaults(func=cmd_connect)

    sp = sub.add_parser("registrations", help="sheets set up from the Google Sheets add-on: list, or remove one")
    sp.add_argument("action", choices=["list", "remove"])
    sp.add_argument("spreadsheet_id", nargs="?", help="remove: the spreadsheet id")
    sp.set_defaults(func=cmd_registrations)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        return int(args.func(args, config) or 0)
    except RetriableError as exc:
        _err(f"{exc} (temporary; try again in a minute)")
        return EXIT_RETRY
    except ConfigError as exc:
        _err(f"configuration: {exc}")
        return EXIT_USAGE
    except SheetsSyncError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted; nothing was written")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
