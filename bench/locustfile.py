"""Locust user of ``python -m portal.bench_load`` (loopback only; started by it).

Each user uses the seeded logged-in session and, with ``LOAD_THINK_S`` seconds of think time,
mixes the catalog, search, tape pages, the API list and job polling as archivists do.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, task

SEED = json.loads(open(os.environ["LOAD_SEED"]).read())  # noqa: SIM115 (read once)
THINK = float(os.environ.get("LOAD_THINK_S", "5"))


def _get(user: HttpUser, url: str, name: str, **kwargs: object) -> None:
    """GET that counts anything but a 200 as a failure (a redirect to the log-in page too)."""
    with user.client.get(
        url, name=name, allow_redirects=False, catch_response=True, **kwargs
    ) as response:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code} {response.headers.get('Location', '')}")


class Archivist(HttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5) if THINK else between(0, 0)

    def on_start(self) -> None:
        # The seeded, logged-in session (portal.bench_load): pages, not log-ins, are measured.
        self.client.cookies.set("sessionid", SEED["session"])

    @task(4)
    def catalog(self) -> None:
        _get(self, f"/tapes/?page={random.randint(1, 20)}", "/tapes/")

    @task(2)
    def search(self) -> None:
        _get(self, f"/tapes/?q=festival+{random.randint(1, 999)}", "/tapes/?q=")

    @task(3)
    def tape_page(self) -> None:
        _get(self, f"/tapes/{random.choice(SEED['tape_ids'])}/", "/tapes/<id>/")

    @task(2)
    def api_list(self) -> None:
        _get(
            self,
            f"/api/v1/tapes/?page={random.randint(1, 20)}",
            "/api/v1/tapes/",
            headers={"Authorization": f"Bearer {SEED['token']}"},
        )

    @task(2)
    def job_polling(self) -> None:
        _get(self, "/jobs/progress.json", "/jobs/progress.json")
