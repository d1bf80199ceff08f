"""Lockout of password guessing, shared by the login page and the API token endpoint.

Failures are counted in fixed windows in the cache (Redis when ``REDIS_URL`` is set, else the
database cache: shared by every web process, unlike a per-process memory cache). Three counters
stop three attacks: one name from one address, one name from many addresses, and many names
from one address. The check runs *before* the password is hashed, so a locked-out guesser costs
one cache read, not a PBKDF2 computation (which is what made 16 guessing threads slow the site).

Addresses are ``REMOTE_ADDR``: behind a reverse proxy, the proxy must set it (e.g. gunicorn's
``--forwarded-allow-ips``); ``X-Forwarded-For`` is never trusted here.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

#: Length of a counting window, and so the longest lockout, in seconds.
WINDOW_S: int = getattr(settings, "LOGIN_LOCKOUT_WINDOW_S", 900)
#: Failed log-ins of one user name from one address before it is locked.
MAX_FAILURES_PER_PAIR: int = getattr(settings, "LOGIN_MAX_FAILURES_PER_PAIR", 5)
#: Failed log-ins of one user name from anywhere (a distributed guess).
MAX_FAILURES_PER_NAME: int = getattr(settings, "LOGIN_MAX_FAILURES_PER_NAME", 20)
#: Failed log-ins from one address, any names (spraying).
MAX_FAILURES_PER_ADDRESS: int = getattr(settings, "LOGIN_MAX_FAILURES_PER_ADDRESS", 30)


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Lockout:
    retry_after_s: int

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        return (
            f"Too many failed log-ins. Try again in {minutes} minute{'s' * (minutes != 1)}, "
            "or ask an administrator to reset your password."
        )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _counters(username: str, address: str) -> list[tuple[str, int]]:
    name = _digest(username.strip().lower())
    where = _digest(address)
    return [
        (f"login-fail:pair:{name}:{where}", MAX_FAILURES_PER_PAIR),
        (f"login-fail:name:{name}", MAX_FAILURES_PER_NAME),
        (f"login-fail:addr:{where}", MAX_FAILURES_PER_ADDRESS),
    ]


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _window(key: str, now: float) -> tuple[int, float]:
    """(failures, window end) of ``key``; an expired window counts as empty."""
    values = cache.get_many([key, key + ":end"])
    end = float(values.get(key + ":end") or 0)
    if end <= now:
        return 0, 0.0
    return int(values.get(key) or 0), end


def login_lockout(*, username: str, address: str) -> Lockout | None:
    """The lockout in force for this name and address, or None."""
    now = _now()
    waits = []
    for key, limit in _counters(username, address):
        failures, end = _window(key, now)
        if failures >= limit:
            waits.append(end - now)
    return Lockout(retry_after_s=max(1, math.ceil(max(waits)))) if waits else None


def login_failed(*, username: str, address: str) -> None:
    """Count one failed attempt (atomic increments; a window starts at its first failure)."""
    now = _now()
    for key, _limit in _counters(username, address):
        _count, end = _window(key, now)
        if not end:
            cache.set_many({key: 0, key + ":end": now + WINDOW_S}, timeout=WINDOW_S + 60)
        try:
            cache.incr(key)
        except ValueError:  # evicted between the two calls: start again
            cache.set_many({key: 1, key + ":end": now + WINDOW_S}, timeout=WINDOW_S + 60)


def login_succeeded(*, username: str, address: str) -> None:
    """A right password clears the counter of this name from this address only."""
    key, _limit = _counters(username, address)[0]
    cache.delete_many([key, key + ":end"])
