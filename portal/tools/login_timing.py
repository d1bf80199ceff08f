"""Where the time of a login goes: the password hasher against the rest of the request.

    python -m portal.tools.login_timing

Prints the configured hasher and its work factor, the median time of one password check, and
the median time of a whole login request (Django test client against a throw-away SQLite
database), then the same for a person whose stored hash is still PBKDF2 (made before the switch
to Argon2id, accounts/hashers.py): their first log-in pays PBKDF2 once and upgrades the hash.
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
    work = (
        f"{hasher.iterations} iterations"
        if hasattr(hasher, "iterations")
        else f"{hasher.memory_cost // 1024} MiB, {hasher.time_cost} passes, "
        f"{hasher.parallelism} lane(s)"
    )
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
    old_style = get_user_model().objects.create_user("legacy")
    old_style.password = make_password("a long enough password", hasher="pbkdf2_sha256")
    old_style.save(update_fields=["password"])
    first = _median_seconds(
        lambda: Client().post(
            "/accounts/login/", {"username": "legacy", "password": "a long enough password"}
        ),
        runs=1,
    )
    old_style.refresh_from_db()
    upgraded = old_style.password.split("$", 1)[0]
    print(f"hasher: {hasher.algorithm} ({work})")
    print(f"password check: {check * 1000:.0f} ms (median of 5)")
    print(f"login request:  {whole * 1000:.0f} ms (median of 5)")
    print(f"outside the hasher: {(whole - check) * 1000:.0f} ms")
    print(f"first login with an old PBKDF2 hash: {first * 1000:.0f} ms, stored hash now {upgraded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
