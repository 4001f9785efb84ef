"""Rate limits per caller, with the ``limits`` library (moving window, in memory).

One limiter per process: each worker counts its own callers. That bounds abuse of one worker
and needs no extra service; several workers behind a balancer would share a Redis storage,
which ``limits`` offers by URL without changing this code.
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException, status
from limits import RateLimitItem, parse, storage, strategies


class RateLimiter:
    def __init__(self, per_caller: str, per_login: str, storage_url: str = "memory://") -> None:
        self._strategy = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(storage_url)
        )
        self.per_caller: RateLimitItem = parse(per_caller)
        self.per_login: RateLimitItem = parse(per_login)

    def check(self, item: RateLimitItem, key: str) -> None:
        """Count one request for ``key``; raise 429 with Retry-After when over the limit."""
        if self._strategy.hit(item, key):
            return
        stats = self._strategy.get_window_stats(item, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {item} exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )

    def reset(self) -> None:
        self._strategy.storage.reset()
