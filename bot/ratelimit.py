"""A per-key token bucket (the intake API limits each bearer token), and a window of failed
attempts per key (the API refuses a client address that keeps sending wrong tokens)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._state[key] = (tokens, now)
                return False
            self._state[key] = (tokens - 1, now)
            return True


class FailureWindow:
    """Failed attempts per key (the API: per client address) in a sliding window: after ``limit``
    failures within ``window`` seconds the key is refused until the oldest of them leaves the window.
    ``clock`` returns a datetime (the context's clock, so tests move it). At most ``max_keys`` keys
    are remembered (the oldest forgotten first), so a flood of addresses can't grow memory."""

    def __init__(self, limit: int, window: float, clock: Callable[[], datetime], *, max_keys: int = 10_000) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key, deque())
        while failures and (now - failures[0]).total_seconds() >= self.window:
            failures.popleft()
        return failures

    def blocked_for(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: it may try now)."""
        if self.limit <= 0:
            return 0
        now = self.clock()
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(self.window - (now - failures[0]).total_seconds()))

    def fail(self, key: str) -> int:
        """Record a failure; returns how many ``key`` has in the window now."""
        now = self.clock()
        with self._lock:
            failures = self._recent(key, now)
            failures.append(now)
            while len(failures) > max(self.limit, 1):
                failures.popleft()
            self._failures[key] = failures
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
            return len(failures)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
