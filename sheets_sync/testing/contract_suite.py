"""Contract suites: the same checks against a local server and, given credentials, against the real service, so
that a difference between the two is one command away (meltano's SDK ships its tap tests the same way).

::

    python -m sheets_sync.testing.contract_suite --list
    python -m sheets_sync.testing.contract_suite sheets            # against the local Sheets server
    python -m sheets_sync.testing.contract_suite sheets --live     # the same checks against Google too
    python -m sheets_sync.testing.contract_suite sheets -- -k protected   # arguments after -- go to pytest

A suite is a pytest module of this package whose name ends in ``_contract`` and that calls :func:`register` when
imported; this registry finds such modules by itself, so adding a suite is adding one file. Its tests take a
target fixture parametrised ``local`` / ``live``: ``live`` runs only under ``--live`` (which sets
:data:`LIVE_FLAG`) with the environment variables the suite names, and is skipped, with the reason, otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LIVE_FLAG = "SHEETS_SYNC_CONTRACT_LIVE"     # "1": also run the live targets


@dataclass(frozen=True)
class Suite:
    name: str
    module: str                    # the pytest module, e.g. "sheets_sync.testing.sheets_contract"
    about: str                     # one line for --list
    live_env: tuple[str, ...]      # what a live run needs
    live_optional: tuple[str, ...] = ()    # what a live run uses when set (checks that need it skip otherwise)


SUITES: dict[str, Suite] = {}


def register(name: str, module: str, about: str, live_env: Sequence[str] = (),
             live_optional: Sequence[str] = ()) -> Suite:
    """Add a suite to the registry (each ``*_contract`` module calls this once, at import)."""
    suite = Suite(name, module, about, tuple(live_env), tuple(live_optional))
    SUITES[name] = suite
    return suite


def discover() -> dict[str, Suite]:
    """Every suite of this package: the ``*_contract`` modules, imported (each registers itself)."""
    package = Path(__file__).parent
    for info in pkgutil.iter_modules([str(package)]):
        if info.name.endswith("_contract"):
            importlib.import_module(f"{__package__}.{info.name}")
    return SUITES


def live_requested() -> bool:
    return os.environ.get(LIVE_FLAG) == "1"


def missing_live_env(suite: Suite) -> list[str]:
    return [v for v in suite.live_env if not os.environ.get(v)]


def main(argv: Sequence[str] | None = None) -> int:
    if __name__ == "__main__":     # run with -m: the suites register in the importable module, not in __main__
        return int(importlib.import_module(f"{__package__}.contract_suite").main(argv))
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, extra = args[:cut], args[cut + 1:]
    suites = discover()
    parser = argparse.ArgumentParser(prog="python -m sheets_sync.testing.contract_suite",
                                     description="Run a contract suite against the local server, and with --live "
                                                 "against the real service too.")
    parser.add_argument("suite", nargs="?", choices=sorted(suites), help="the suite to run")
    parser.add_argument("--live", action="store_true", help="also run against the real service (credentials from "
                                                            "the environment; see --list)")
    parser.add_argument("--list", action="store_true", help="list the suites and what --live needs")
    opts = parser.parse_args(args)
    if opts.list or not opts.suite:
        for s in sorted(suites.values(), key=lambda s: s.name):
            print(f"{s.name}: {s.about}")
            if s.live_env:
                print(f"  --live needs: {', '.join(s.live_env)}")
            if s.live_optional:
                print(f"  --live also uses: {', '.join(s.live_optional)}")
        return 0 if opts.list else 2
    suite = suites[opts.suite]
    if opts.live:
        os.environ[LIVE_FLAG] = "1"
        missing = missing_live_env(suite)
        if missing:
            print(f"--live: {', '.join(missing)} not set; the live targets will be skipped", file=sys.stderr)
    import pytest

    path = importlib.import_module(suite.module).__file__
    assert path is not None
    return int(pytest.main([path, "-p", "no:cacheprovider", "-q", "-rs", *extra]))


if __name__ == "__main__":
    sys.exit(main())
