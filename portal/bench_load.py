"""Load benchmark of the hot pages (issue 12): ``python -m portal.bench_load``.

In a throwaway directory (never the configured database): 10,000 tapes and 50,000 audit events
(hash-chained like real ones), one manager with an API token. Then

1. the single-request cost of each hot URL (catalog list, search, tape page, API list, job
   list): median server time and SQL queries, in process (Django test Client);
2. gunicorn on 127.0.0.1 (gthread, ``--workers``) and locust headless with ``--users`` users and
   ``--think`` seconds of think time for ``--duration`` seconds (bounded), mixing catalog,
   search, tape pages, API lists and job polling: requests/s, failures, p50/p95/p99;
3. saturation: the same mix without think time for ``--saturation`` seconds: requests/s.

Prints tables; asserts nothing. The machine is shared: run it once or twice, not in a loop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portal.bench import BENCH_PASSWORD, _configure_environment, _free_port, _setup_django

SECRET_KEY = "load-bench-not-secret-" + "x" * 40
LOCUSTFILE = Path(__file__).resolve().parent.parent / "bench" / "locustfile.py"
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def seed(tapes: int, events: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Institution, Membership, Role
    from portal.api.tokens import token_create
    from portal.audit.chain import GENESIS, event_hash
    from portal.audit.models import AuditEvent
    from portal.catalog.models import Collection, Tape

    institution = Institution.objects.create(name="Load Archive", slug="load")
    user = get_user_model().objects.create_user("load", password=BENCH_PASSWORD)
    Membership.objects.create(user=user, institution=institution, role=Role.MANAGER)
    collections = [
        Collection.objects.create(institution=institution, name=f"Collection {n}")
        for n in range(20)
    ]
    now = timezone.now()
    Tape.objects.bulk_create(
        [
            Tape(
                institution=institution,
                collection=collections[n % 20],
                identifier=f"T-{n:06d}",
                title=f"Recording {n} of the municipal archive",
                description="Street festival, interviews and council sessions.",
                created_at=now,
                updated_at=now,
            )
            for n in range(tapes)
        ],
        batch_size=2000,
    )
    tape_ids = list(Tape.objects.values_list("pk", flat=True))
    previous, batch = GENESIS, []
    for n in range(events):
        event = AuditEvent(
            institution=institution,
            actor=user,
            actor_label="load",
            action="tape.updated",
            target_type="catalog.tape",
            target_id=str(tape_ids[n % len(tape_ids)]),
            target_label=f"T-{n % len(tape_ids):06d}",
            tape_id=tape_ids[n % len(tape_ids)],
            changes={"title": ["old", f"new {n}"]},
            details={},
            created_at=now - timezone.timedelta(seconds=events - n),
            sequence=n + 1,
            prev_hash=previous,
        )
        event.hash = event_hash(event)
        previous = event.hash
        batch.append(event)
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    _token, secret = token_create(user=user, name="load", scope="read")
    # One logged-in session shared by the locust users: the load test measures the pages, not
    # 50 simultaneous PBKDF2 log-ins (the login lockout and its cost are tested elsewhere).
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {"tape_ids": tape_ids[:500], "token": secret, "session": session.session_key}


#: The hot URLs measured one request at a time (label, client, URL pattern).
HOT_URLS = (
    ("catalog list", "session", "/tapes/?page=2"),
    ("catalog search", "session", "/tapes/?q=festival+12"),
    ("tape page", "session", "/tapes/{tape}/"),
    ("API tapes list", "token", "/api/v1/tapes/?page=2"),
    ("job polling", "session", "/jobs/progress.json"),
)


def single_request_costs(seeded: dict[str, Any], requests: int) -> list[dict[str, Any]]:
    """Per hot URL: median CPU ms of one request (``time.process_time``: this process only,
    meaningful on a busy machine), SQL queries, and, where the code caches fragments
    (``portal.cache``), the CPU ms of a request right after a change (nothing cached)."""
    import statistics

    from django.contrib.auth import get_user_model
    from django.test import Client

    try:
        from portal.cache import institution_changed
    except ImportError:  # code from before the fragment cache (--before)
        institution_changed = None  # type: ignore[assignment]
    client = Client()
    user = get_user_model().objects.get(username="load")
    client.force_login(user)
    clients = {"session": client, "token": Client(HTTP_AUTHORIZATION=f"Bearer {seeded['token']}")}
    institution_id = user.memberships.values_list("institution_id", flat=True).first()
    rows = []
    for label, who, pattern in HOT_URLS:
        url = pattern.format(tape=seeded["tape_ids"][7])
        assert clients[who].get(url).status_code == 200, url  # warm templates and caches

        def measure(*, after_change: bool, url: str = url, who: str = who) -> float:
            times = []
            for _ in range(requests):
                if after_change and institution_changed is not None:
                    institution_changed(institution_id)
                started = time.process_time()
                clients[who].get(url)
                times.append((time.process_time() - started) * 1000)
            return statistics.median(times)

        rows.append(
            {
                "label": label,
                "url": url,
                "cpu_ms": measure(after_change=False),
                "cpu_ms_after_change": measure(after_change=True)
                if institution_changed is not None
                else None,
                "queries": _query_count(clients[who], url),
            }
        )
    return rows


def _query_count(client: Any, url: str) -> int:
    from django.db import connection

    queries: list[str] = []

    def count(run: Any, sql: str, *rest: Any) -> Any:
        queries.append(sql)
        return run(sql, *rest)

    with connection.execute_wrapper(count):
        client.get(url)
    return len(queries)


def _print_costs(rows: list[dict[str, Any]]) -> None:
    print("\nSingle request (in process, Django test client): CPU ms (median), SQL queries")
    for row in rows:
        cold = row["cpu_ms_after_change"]
        print(
            f"  {row['label']:<15} {row['url']:<28} {row['cpu_ms']:6.1f} ms  "
            f"{row['queries']:3d} queries"
            + (f"  (right after a change: {cold:.1f} ms)" if cold is not None else "")
        )


def compare(args: argparse.Namespace) -> int:
    """Single-request costs of the code at ``args.before`` (a git commit) and of this tree,
    each on its own freshly seeded database, printed side by side."""
    repo = Path(__file__).resolve().parent.parent
    results = {}
    before_tree = Path(tempfile.mkdtemp(prefix="portal-before-"))
    try:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", str(before_tree), args.before],
            check=True,
            capture_output=True,
        )
        for name, tree in (("before", before_tree), ("after", repo)):
            print(f"measuring {name} ({tree}) ...", flush=True)
            done = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),  # this script drives the old code too
                    "--pages-only",
                    "--json",
                    f"--tapes={args.tapes}",
                    f"--events={args.events}",
                    f"--requests={args.requests}",
                ],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-4000:])
                return 1
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(before_tree)],
            check=False,
            capture_output=True,
        )
    print(
        f"\nCPU ms per request (median of {args.requests}, time.process_time), "
        f"{args.tapes} tapes, {args.events} audit events; before = {args.before}"
    )
    print(
        f"  {'page':<15} {'before':>8} {'after':>8} {'after/before':>13}  queries  after a change"
    )
    for old, new in zip(results["before"], results["after"], strict=True):
        cold = new["cpu_ms_after_change"]
        print(
            f"  {new['label']:<15} {old['cpu_ms']:8.1f} {new['cpu_ms']:8.1f} "
            f"{new['cpu_ms'] / old['cpu_ms']:13.2f}  {old['queries']:3d}->{new['queries']:<3d}"
            + (f"  {cold:.1f}" if cold is not None else "")
        )
    return 0


def _locust(host: str, env: dict[str, str], users: int, think: float, seconds: int) -> dict:
    out = Path(env["PORTAL_VAR_DIR"]) / f"locust-{users}-{think}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            host,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(out),
            "--only-summary",
        ],
        env={**env, "LOAD_THINK_S": str(think)},
        check=False,
        capture_output=True,
        timeout=seconds + 120,
    )
    import csv

    with open(f"{out}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    with open(f"{out}_failures.csv") as handle:
        failures = [
            f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}"
            for row in csv.DictReader(handle)
        ]
    return {
        "failure_list": failures,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p50": total["50%"],
        "p95": total["95%"],
        "p99": total["99%"],
        "per_name": {
            name: (row["Request Count"], row["95%"])
            for name, row in rows.items()
            if name != "Aggregated"
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tapes", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (one per core)")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn process")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--saturation", type=int, default=30)
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only the single-request costs (no gunicorn, no locust)",
    )
    parser.add_argument(
        "--before",
        metavar="COMMIT",
        help="with --pages-only: also measure the code at COMMIT (a git worktree), side by side",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.before:
        return compare(args)
    workdir = Path(tempfile.mkdtemp(prefix="portal-load-"))
    env = _configure_environment(workdir)
    # The seeded session must be valid in gunicorn too: one key for both.
    env["SECRET_KEY"] = os.environ["SECRET_KEY"] = SECRET_KEY
    _setup_django(workdir)
    started = time.perf_counter()
    seeded = seed(args.tapes, args.events)
    print(
        f"seeded {args.tapes} tapes, {args.events} audit events in "
        f"{time.perf_counter() - started:.0f} s ({workdir})",
        file=sys.stderr if args.json else sys.stdout,
    )
    costs = single_request_costs(seeded, args.requests)
    if args.json:  # a child of --before: its database is not needed afterwards
        print(json.dumps(costs))
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    _print_costs(costs)
    if args.pages_only:
        return 0
    port = _free_port()
    (workdir / "load.json").write_text(json.dumps(seeded))
    # The documented production configuration (gunicorn.conf.py: gthread), worker and thread
    # counts as given. The same SECRET_KEY as the seeding: the shared session must stay valid
    # (with another key every page answered the log-in page instead).
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "portal.wsgi:application"],
        cwd=GUNICORN_CONF.parent,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "API_RATE_PER_CLIENT": "100000/min",
        },
    )
    try:
        time.sleep(4)
        load_env = {**env, "LOAD_SEED": str(workdir / "load.json"), "LOAD_PASSWORD": BENCH_PASSWORD}
        host = f"http://127.0.0.1:{port}"
        steady = _locust(host, load_env, args.users, args.think, args.duration)
        print(
            f"\n{args.users} users, {args.think:g} s think time, {args.duration} s, "
            f"gunicorn.conf.py: {args.workers} gthread workers x {args.threads} threads:"
        )
        print(
            f"  {steady['requests']} requests, {steady['failures']} failures, "
            f"{steady['rps']:.1f} req/s, p50 {steady['p50']} ms, p95 {steady['p95']} ms, "
            f"p99 {steady['p99']} ms"
        )
        for name, (count, p95) in sorted(steady["per_name"].items()):
            print(f"    {name}: {count} requests, p95 {p95} ms")
        for failure in steady["failure_list"]:
            print(f"    failed: {failure}")
        if args.saturation:
            saturated = _locust(host, load_env, args.users, 0.0, args.saturation)
            print(
                f"\nSaturation ({args.users} users, no think time, {args.saturation} s): "
                f"{saturated['rps']:.1f} req/s, {saturated['failures']} failures, "
                f"p50 {saturated['p50']} ms, p95 {saturated['p95']} ms"
            )
            for failure in saturated["failure_list"]:
                print(f"    failed: {failure}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
