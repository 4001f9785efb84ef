"""When to try a failed delivery again: exponential backoff with jitter, or what the receiver said.

Attempt ``n`` (1-based) that failed waits ``min(max, base · 2^(n-1))`` scaled by a random factor
in [0.5, 1] ("equal jitter": retries of many deliveries spread out, none retries sooner than
half the nominal delay). A ``Retry-After`` from the receiver is honoured: the delay is never
shorter than it (capped at ``retry_after_max_s``, so a hostile answer cannot park a delivery
for a year).
"""

from __future__ import annotations

import random

_RNG = random.Random()


def retry_delay(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    retry_after_max_s: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    nominal = min(max_s, base_s * 2.0 ** min(attempt - 1, 60))
    jittered = nominal * (rng or _RNG).uniform(0.5, 1.0)
    if retry_after_s is None:
        return jittered
    return max(jittered, min(retry_after_s, retry_after_max_s))
