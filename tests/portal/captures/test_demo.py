import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import Institution, Membership
from portal.audit.models import AuditEvent
from portal.catalog.models import Collection, Tape, TapeMetadata

ROOT = Path(__file__).resolve().parents[3]


def _counts():
    from portal.captures.models import Capture

    return {
        model.__name__: model.objects.count()
        for model in (
            Institution,
            Membership,
            get_user_model(),
            Collection,
            Tape,
            TapeMetadata,
            Capture,
            AuditEvent,
        )
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data(capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert first["Tape"] == 4 and first["Capture"] == 1 and first["Membership"] == 3
    out = capsys.readouterr().out
    assert "demo-manager-pass" in out and "Tapes created this run: 0" in out
    # The users can log in with the printed passwords.
    assert get_user_model().objects.get(username="reviewer").check_password("demo-reviewer-pass")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_demo_once(env: dict[str, str], port: int) -> str:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", "--addrport", f"127.0.0.1:{port}", "--no-capture"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # like a terminal: Ctrl-C goes to the whole process group
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=2
                ) as r:
                    assert r.status == 200
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[0].decode()) from None
                time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text, text
    return text


@pytest.mark.slow
def test_rundemo_serves_and_stops_cleanly_twice(tmp_path):
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path), "MEDIA_ROOT": str(tmp_path / "media")}
    # Its own SQLite file and ORM broker: never the test database, and never a Redis queue that
    # other processes (a parallel test run) feed with tasks for rows this database lacks.
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    port = _free_port()
    first = _run_demo_once(env, port)
    assert "Tapes created this run: 4" in first and "Stopped." in first
    second = _run_demo_once(env, port)
    assert "Tapes created this run: 0" in second and "Stopped." in second
