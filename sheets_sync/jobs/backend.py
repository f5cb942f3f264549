"""What the job store needs from a backend: atomic transactions, plain reads, once-keys, a lease index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Tx(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def lease(self, job_id: str, until: float | None) -> None: ...   # None removes it from the lease index
    def once(self, key: str, ttl_s: float) -> bool: ...              # True the first time within ttl_s
    def enqueue(self, message: bytes) -> None: ...                   # a huey message, committed with the rest


class Backend(Protocol):
    kind: str
    #: huey's queue (SQLite ``task.queue`` value / Redis list key) that ``Tx.enqueue`` writes to; set by
    #: :func:`make_queue`. ``None``: this backend cannot enqueue inside a transaction.
    message_queue: str | None
    def transact(self, fn: Callable[[Tx], Any]) -> Any: ...
    def read(self, key: str) -> str | None: ...
    def once(self, key: str, ttl_s: float) -> bool: ...
    def expired(self, now: float, limit: int = 500) -> list[str]: ...
    def ping(self) -> None: ...
