"""The Redis backend: job state next to RedisHuey's queue, for several workers on several machines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .backend import Tx
from .model import QueueUnavailable


class _RedisTx:
    def __init__(self, pipe: Any, prefix: str, message_queue: str | None):
        self.pipe, self.prefix, self.message_queue = pipe, prefix, message_queue
        self.ops: list[tuple[str, Any, Any]] = []

    def get(self, key: str) -> str | None:
        k = self.prefix + key
        self.pipe.watch(k)
        v = self.pipe.get(k)
        return v.decode() if isinstance(v, bytes) else v

    def set(self, key: str, value: str) -> None:
        self.ops.append(("set", key, value))

    def delete(self, key: str) -> None:
        self.ops.append(("del", key, None))

    def lease(self, job_id: str, until: float | None) -> None:
        self.ops.append(("lease", job_id, until))

    def once(self, key: str, ttl_s: float) -> bool:
        k = self.prefix + "once:" + key
        self.pipe.watch(k)                       # a concurrent first use aborts this transaction (retried)
        if self.pipe.exists(k):
            return False
        self.ops.append(("once", k, max(1, int(ttl_s * 1000))))
        return True

    def enqueue(self, message: bytes) -> None:
        if self.message_queue is None:
            raise RuntimeError("this job store has no huey queue to enqueue into")
        self.ops.append(("lpush", self.message_queue, message))   # what RedisStorage.enqueue does


class RedisBackend:
    """Job state in Redis (``<prefix>kv…`` strings, ``<prefix>leases`` sorted set), for several machines.

    ``Tx.enqueue`` pushes the huey message in the same ``MULTI``/``EXEC`` as the job record.
    """

    kind = "redis"

    def __init__(self, url: str, prefix: str = "sheets-sync:", *, message_queue: str | None = None):
        import redis  # optional dependency: pip install sheets-sync[redis]

        self._redis = redis
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self.message_queue = message_queue

    def _unavailable(self, exc: Exception) -> QueueUnavailable:
        return QueueUnavailable(f"Redis job store is not available ({type(exc).__name__})")

    def transact(self, fn: Callable[[Tx], Any]) -> Any:
        r = self._redis
        for _ in range(100):
            try:
                with self.client.pipeline() as pipe:
                    tx = _RedisTx(pipe, self.prefix, self.message_queue)
                    result = fn(tx)
                    if not tx.ops:
                        return result            # read-only: nothing to commit
                    pipe.multi()
                    for op, key, value in tx.ops:
                        if op == "set":
                            pipe.set(self.prefix + key, value)
                        elif op == "del":
                            pipe.delete(self.prefix + key)
                        elif op == "once":
                            pipe.set(key, "1", px=value)
                        elif op == "lpush":
                            pipe.lpush(key, value)
                        elif value is None:
                            pipe.zrem(self.prefix + "leases", key)
                        else:
                            pipe.zadd(self.prefix + "leases", {key: value})
                    pipe.execute()
                    return result
            except r.WatchError:
                continue
            except (r.ConnectionError, r.TimeoutError) as exc:
                raise self._unavailable(exc) from exc
        raise QueueUnavailable("Redis job store: too much contention, try again")

    def read(self, key: str) -> str | None:
        try:
            v = self.client.get(self.prefix + key)
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        return v.decode() if isinstance(v, bytes) else v

    def once(self, key: str, ttl_s: float) -> bool:
        try:
            return bool(self.client.set(self.prefix + "once:" + key, "1", nx=True, px=max(1, int(ttl_s * 1000))))
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc

    def expired(self, now: float, limit: int = 500) -> list[str]:
        try:
            ids = self.client.zrangebyscore(self.prefix + "leases", "-inf", f"({now}", start=0, num=limit)
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    def ping(self) -> None:
        try:
            self.client.ping()
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
