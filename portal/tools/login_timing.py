"""Where the time of a login goes: the password hasher against the rest of the request.

    python -m portal.tools.login_timing

Prints the configured hasher and its work factor, the median time of one password check, and
the median time of a whole login request (Django test client against a throw-away SQLite
database). On a machine where a login takes about a second, the check is nearly all of it: that
cost is the point of PBKDF2's work factor and is left as Django sets it.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def _median_seconds(action, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    workdir = tempfile.mkdtemp(prefix="login-timing-")
    os.environ.update(PORTAL_VAR_DIR=workdir, DJANGO_SETTINGS_MODULE="portal.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password, get_hasher, make_password
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    hasher = get_hasher()
    work = getattr(hasher, "iterations", None) or getattr(hasher, "time_cost", "?")
    encoded = make_password("a long enough password")
    check = _median_seconds(lambda: check_password("a long enough password", encoded))
    user = get_user_model().objects.create_user("timing", password="a long enough password")

    def login() -> None:
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": "a long enough password"}
        )
        assert response.status_code == 302, response.status_code

    whole = _median_seconds(login)
    print(f"hasher: {hasher.algorithm} (work factor {work})")
    print(f"password check: {check * 1000:.0f} ms (median of 5)")
    print(f"login request:  {whole * 1000:.0f} ms (median of 5)")
    print(f"outside the hasher: {(whole - check) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
