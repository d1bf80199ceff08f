"""Stored values as people read them (portal.humanize): the wording pages and history use."""

from __future__ import annotations

import pytest

from portal import humanize
from restoration.parameters import option_rows

pytestmark = pytest.mark.django_db


def test_frame_range_is_named_by_its_last_frame() -> None:
    rows = dict(option_rows({"frame_start": 0, "frame_end": 6, "preview": False}))
    assert rows == {"first frame": "0", "last frame": "5", "preview only": "no"}
    assert dict(option_rows({"frame_end": None}))["last frame"] == "end of the capture"
    assert humanize.value("frame_end", None) == "end of the capture"  # history, not "none"


def test_history_details_leave_out_bookkeeping_ids_and_link_objects() -> None:
    rows = dict(humanize.detail_rows({"decision_id": 4, "job_id": 7, "comment": None}))
    assert "decision" not in rows
    assert rows["comment"] == "none"
    assert 'href="/jobs/7/"' in rows["job"] and "job #7" in rows["job"]


def test_total_on_the_worker_is_the_whole_run() -> None:
    timings = {"restore_s": 2.1, "engine_total_s": 2.0, "worker_total_s": 3.4, "store_s": 0.1}
    rows = dict(humanize.timing_rows(timings))
    assert rows["total on the worker"] == "3.4 s" and rows["restoring"] == "2.1 s"
    assert ("engine total", "2 s") in humanize.timing_internals(timings)
