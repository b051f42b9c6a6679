"""When to send a failed request again: exponential backoff with jitter, or the server's Retry-After."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 6  # HTTP attempts per request, the first included
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0  # a longer Retry-After is honoured only up to this

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be at least 1, got {self.max_tries}")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("retry delays must not be negative")

    def backoff_s(self, failed_tries: int, rng: random.Random) -> float:
        """Delay after the n-th failed try (n >= 1): uniform in [d/2, d], d = base * 2^(n-1) capped at max."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (failed_tries - 1))
        return rng.uniform(ceiling / 2, ceiling)

    def wait_s(self, failed_tries: int, retry_after_s: float | None, rng: random.Random) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self.max_retry_after_s)
        return self.backoff_s(failed_tries, rng)


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (delta-seconds); None when absent or unreadable."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue  # an HTTP-date form: fall back to our own backoff
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None
