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


class Archivist(HttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5) if THINK else between(0, 0)

    def on_start(self) -> None:
        # The seeded, logged-in session (portal.bench_load): pages, not log-ins, are measured.
        self.client.cookies.set("sessionid", SEED["session"])

    @task(4)
    def catalog(self) -> None:
        self.client.get(f"/tapes/?page={random.randint(1, 20)}", name="/tapes/")

    @task(2)
    def search(self) -> None:
        self.client.get(f"/tapes/?q=festival+{random.randint(1, 999)}", name="/tapes/?q=")

    @task(3)
    def tape_page(self) -> None:
        self.client.get(f"/tapes/{random.choice(SEED['tape_ids'])}/", name="/tapes/<id>/")

    @task(2)
    def api_list(self) -> None:
        self.client.get(
            f"/api/v1/tapes/?page={random.randint(1, 20)}",
            headers={"Authorization": f"Bearer {SEED['token']}"},
            name="/api/v1/tapes/",
        )

    @task(2)
    def job_polling(self) -> None:
        self.client.get("/jobs/progress.json", name="/jobs/progress.json")
