"""``make run``: migrate, seed the demo, then serve the site and run a django-q2 worker.

Both run as child processes in their own process groups, so one Ctrl-C reaches this command
only; it forwards SIGINT to both, waits for them to finish cleanly and exits without a traceback.
If either child stops by itself, the other is stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

SHUTDOWN_GRACE_S = 20.0


class Command(BaseCommand):
    help = (
        "Migrate, create the demo data, then run the web server and a task worker "
        "(Ctrl-C stops both)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where runserver listens.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start qcluster.")
        parser.add_argument("--no-capture", action="store_true", help="Skip the demo capture.")

    def handle(self, *args: Any, **options: Any) -> None:
        self._stopping = False
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        seed_args = ["--no-capture"] if options["no_capture"] else []
        call_command("seed_demo", *seed_args, stdout=self.stdout)

        manage = str(Path(settings.BASE_DIR) / "manage.py")
        # The system checks ran in this process already; children skip them, so a stop that
        # arrives while a child is still starting does not interrupt them mid-check.
        web = [sys.executable, manage, "runserver", options["addrport"], "--noreload"]
        commands = {"web": [*web, "--skip-checks"]}
        envs: dict[str, dict[str, str]] = {}
        if not options["no_worker"]:
            commands["worker"] = [sys.executable, manage, "qcluster", "--skip-checks"]
            # Restoration jobs run on their own queue (restoration app): one worker for it too.
            commands["restoration-worker"] = [sys.executable, manage, "qcluster", "--skip-checks"]
            envs["restoration-worker"] = {
                **os.environ,
                "Q_CLUSTER_NAME": settings.RESTORATION_QUEUE,
                # No warm-up: a plain qcluster cannot interrupt it, and Ctrl-C in the first
                # seconds would wait for it (the first demo job pays the start-up instead).
                "RESTORATION_WARM_UP": os.environ.get("RESTORATION_WARM_UP", "false"),
            }
        children: dict[str, subprocess.Popen[bytes]] = {}
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._request_stop)
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(
                    command, start_new_session=True, env=envs.get(name)
                )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Serving http://{options['addrport']}/ "
                    f"{'with a task worker ' if 'worker' in children else ''}(Ctrl-C stops)."
                )
            )
            exit_code = self._wait(children)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if exit_code:
            sys.exit(exit_code)
        self.stdout.write("Stopped.")

    def _request_stop(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _wait(self, children: dict[str, subprocess.Popen[bytes]]) -> int:
        while not self._stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"The {name} process stopped (exit code {code}); stopping.")
                    return code or 1
            time.sleep(0.2)
        return 0

    def _stop(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} process did not stop in time; killing it.")
                child.kill()
                child.wait()
