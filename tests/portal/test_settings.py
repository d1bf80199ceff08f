"""portal/settings.py: environment-driven, loud on bad values, safe in production mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k7#Yq2-production-secret-with-enough-entropy-9f3LmZ0pW4xR8vT1bN6c",
    "ALLOWED_HOSTS": "archive.example.org",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_has_no_security_warnings_in_production_mode():
    result = _manage("check", "--deploy", **PRODUCTION)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security." not in output, output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({**PRODUCTION, "ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe'"),
        ({"DB_CONN_MAX_AGE": "forever"}, "DB_CONN_MAX_AGE='forever': expected an integer"),
    ],
)
def test_bad_configuration_fails_loudly(env, message):
    environment = {k: v for k, v in env.items() if v is not None}
    if env.get("ALLOWED_HOSTS", "") is None:
        environment["DEBUG"], environment["SECRET_KEY"] = (
            PRODUCTION["DEBUG"],
            PRODUCTION["SECRET_KEY"],
        )
    result = _manage("check", **environment)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_long_page_read_does_not_make_a_sqlite_write_fail(tmp_path):
    """Under load a commit used to wait for every reader and fail ("database is locked"):
    with the settings' SQLite options (write-ahead log) it does not wait for readers."""
    import sqlite3
    import time

    from django.conf import settings

    options = dict(settings.DATABASES["default"].get("OPTIONS", {}))
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("SQLite only")

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(tmp_path / "db.sqlite3", timeout=0.5, isolation_level=None)
        connection.executescript(options.get("init_command", ""))
        return connection

    writer, reader = connect(), connect()
    writer.execute("CREATE TABLE tape (id INTEGER PRIMARY KEY, title TEXT)")
    writer.execute("INSERT INTO tape (title) VALUES ('a'), ('b')")
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM tape").fetchone() == (2,)  # a page mid-read
    started = time.monotonic()
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE tape SET title = 'changed' WHERE id = 1")
    writer.execute("COMMIT")  # "database is locked" after the timeout in rollback-journal mode
    assert time.monotonic() - started < 0.4
    reader.execute("COMMIT")
    assert reader.execute("SELECT title FROM tape WHERE id = 1").fetchone() == ("changed",)
    assert options.get("timeout", 5) >= 20  # a write waits for another write's commit
