"""Rotating refresh tokens shared by processes (sheets_sync.tokens): one refresh at a time, saved before use."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sheets_sync.tokens import (
    FileTokenStore,
    Grant,
    NotConnected,
    TokenLockTimeout,
    TokenState,
    access_token,
    fingerprint,
    forget_access,
)


class Provider:
    """A rotating provider: each refresh token works once and is replaced (like Mercado Libre's)."""

    def __init__(self, first: str = "R0", ttl: float = 600.0):
        self.valid = {first}
        self.calls = 0
        self.ttl = ttl
        self.lock = threading.Lock()

    def refresh(self, token: str) -> Grant:
        with self.lock:
            if token not in self.valid:
                raise PermissionError(f"invalid_grant for {token}")
            self.valid.discard(token)
            self.calls += 1
            new = f"R{self.calls}"
            self.valid.add(new)
            return Grant(access_token=f"A{self.calls}", expires_in=self.ttl, refresh_token=new)


def test_first_call_refreshes_from_the_seed_and_saves_the_rotated_token(tmp_path):
    store, prov = FileTokenStore(tmp_path / "t"), Provider()
    assert access_token(store, "ml", prov.refresh, seed="R0") == "A1"
    saved = store.load("ml")
    assert (saved.refresh_token, saved.access_token, saved.origin) == ("R1", "A1", fingerprint("R0"))
    assert stat.S_IMODE((tmp_path / "t" / "ml.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "t").stat().st_mode) == 0o700
    assert "R1" not in repr(saved) and "A1" not in repr(saved)


def test_a_valid_access_token_is_reused_until_near_expiry(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider(ttl=600)
    now = [1000.0]
    for _ in range(5):
        assert access_token(store, "ml", prov.refresh, seed="R0", clock=lambda: now[0], margin_s=60) == "A1"
    assert prov.calls == 1
    now[0] += 600 - 59          # less than the margin left
    assert access_token(store, "ml", prov.refresh, seed="R0", clock=lambda: now[0], margin_s=60) == "A2"
    assert prov.calls == 2 and store.load("ml").refresh_token == "R2"


def test_force_refreshes_once_even_when_two_callers_saw_the_same_rejected_token(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider()
    assert access_token(store, "ml", prov.refresh, seed="R0") == "A1"
    assert access_token(store, "ml", prov.refresh, seed="R0", force=True) == "A2"
    # a second caller that also held A1 when the provider said 401 gets A2 without a new refresh
    store2 = FileTokenStore(tmp_path)
    first = store2.load("ml")
    assert first.access_token == "A2"
    assert prov.calls == 2


def test_a_new_seed_replaces_the_stored_chain(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider()
    access_token(store, "ml", prov.refresh, seed="R0")
    prov.valid.add("NEW")
    assert access_token(store, "ml", prov.refresh, seed="NEW") == "A2"
    assert store.load("ml").origin == fingerprint("NEW")


def test_no_seed_and_nothing_stored_is_a_clear_error(tmp_path):
    with pytest.raises(NotConnected, match=r"team-a\.ml"):
        access_token(FileTokenStore(tmp_path), "team-a.ml", Provider().refresh)


def test_a_refusal_leaves_the_stored_token_unchanged(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider()
    access_token(store, "ml", prov.refresh, seed="R0")
    forget_access(store, "ml")
    prov.valid.clear()
    with pytest.raises(PermissionError):
        access_token(store, "ml", prov.refresh, seed="R0")
    assert store.load("ml").refresh_token == "R1" and store.load("ml").access_token is None


def test_keys_cannot_name_paths(tmp_path):
    with pytest.raises(ValueError, match="letters"):
        FileTokenStore(tmp_path).load("../x")


def test_threads_refresh_once(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider()
    got, errors = [], []

    def run():
        try:
            got.append(access_token(FileTokenStore(tmp_path), "ml", prov.refresh, seed="R0"))
        except Exception as exc:        # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(got) == {"A1"} and prov.calls == 1
    assert store.load("ml").refresh_token == "R1"


def test_lock_wait_is_bounded(tmp_path):
    store = FileTokenStore(tmp_path)
    with store.locked("ml"), pytest.raises(TokenLockTimeout, match="ml connection"), \
            FileTokenStore(tmp_path).locked("ml", wait_s=0.2):
        pass


_CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from sheets_sync.tokens import FileTokenStore, Grant, access_token
    folder, ledger, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def refresh(token):
        # the provider's side, kept in a ledger file: a refresh token works once
        import fcntl
        with open(ledger, "r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            state = json.load(fh)
            if token not in state["valid"]:
                raise SystemExit(f"invalid_grant {token}")
            state["valid"].remove(token)
            state["n"] += 1
            new = f"R{state['n']}"
            state["valid"].append(new)
            fh.seek(0); fh.truncate(); json.dump(state, fh); fh.flush()
        return Grant(access_token=f"A{state['n']}", expires_in=float(sys.argv[5]), refresh_token=new)

    tok = access_token(FileTokenStore(folder), "ml", refresh, seed=seed)
    if sys.argv[4] == "die-after-save":
        import os
        os.kill(os.getpid(), 9)
    print(tok)
""")


def _run(tmp_path: Path, mode: str, ttl: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "store"), str(tmp_path / "ledger"), "R0",
                             mode, str(ttl)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_processes_share_one_chain_and_never_lose_the_rotated_token(tmp_path):
    """Six processes, each refreshing (ttl 0: every call refreshes), one of them killed right after its save:
    no process ever presents a used refresh token, and the stored token is the provider's newest."""
    (tmp_path / "ledger").write_text(json.dumps({"valid": ["R0"], "n": 0}))
    procs = [_run(tmp_path, "die-after-save" if i == 2 else "ok") for i in range(6)]
    results = [(p.wait(timeout=60), p.communicate()) for p in procs]
    for i, (rc, (out, err)) in enumerate(results):
        if i == 2:
            assert rc == -9
        else:
            assert rc == 0, err
            assert out.strip().startswith("A")
    ledger = json.loads((tmp_path / "ledger").read_text())
    assert ledger["n"] == 6
    assert ledger["valid"] == ["R6"]
    assert FileTokenStore(tmp_path / "store").load("ml").refresh_token == "R6"
    assert not [p for p in os.listdir(tmp_path / "store") if p.endswith(".tmp")]


def test_save_is_atomic_a_reader_never_sees_half_a_file(tmp_path):
    store = FileTokenStore(tmp_path)
    store.save("ml", TokenState("R" * 5000))
    stop = time.monotonic() + 0.5
    seen = set()

    def writer():
        i = 0
        while time.monotonic() < stop:
            i += 1
            store.save("ml", TokenState(str(i % 10) * 5000))

    t = threading.Thread(target=writer)
    t.start()
    while t.is_alive():
        state = FileTokenStore(tmp_path).load("ml")
        assert state is not None
        seen.add(len(state.refresh_token))
    t.join()
    assert seen == {5000}


def test_a_short_lived_token_is_kept_until_the_last_tenth_of_its_life(tmp_path):
    """A provider issuing one-minute tokens: with the five-minute margin every call would refresh."""
    store, prov = FileTokenStore(tmp_path), Provider(ttl=60)
    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731
    assert access_token(store, "ml", prov.refresh, seed="R0", clock=clock) == "A1"
    now[0] += 53
    assert access_token(store, "ml", prov.refresh, seed="R0", clock=clock) == "A1"
    now[0] += 2                 # 5 s left: less than a tenth of 60
    assert access_token(store, "ml", prov.refresh, seed="R0", clock=clock) == "A2"
    assert prov.calls == 2 and store.load("ml").lifetime == 60


def test_callers_refused_with_the_same_token_refresh_once(tmp_path):
    store, prov = FileTokenStore(tmp_path), Provider()
    assert access_token(store, "ml", prov.refresh, seed="R0") == "A1"
    # two threads both got 401 for A1: the first refreshes, the second gets A2 without a refresh
    assert access_token(store, "ml", prov.refresh, seed="R0", rejected="A1") == "A2"
    assert access_token(store, "ml", prov.refresh, seed="R0", rejected="A1") == "A2"
    assert prov.calls == 2
    assert access_token(store, "ml", prov.refresh, seed="R0", rejected="A2") == "A3"


def test_without_a_seed_the_stored_chain_is_used_whatever_it_descends_from(tmp_path):
    """A connection made once (``connect``), then the seed variable removed: the stored chain goes on."""
    store, prov = FileTokenStore(tmp_path), Provider()
    access_token(store, "ml", prov.refresh, seed="R0")
    forget_access(store, "ml")
    assert access_token(store, "ml", prov.refresh) == "A2"
    assert store.load("ml").origin == fingerprint("R0") and store.load("ml").refresh_token == "R2"
