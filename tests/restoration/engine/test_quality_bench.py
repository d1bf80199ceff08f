"""`python -m restoration.bench quality` end to end on a few tiny held-out clips."""

from __future__ import annotations

import json
from pathlib import Path

from restoration.bench.quality import main


def test_quality_bench_writes_table_json_and_figure_with_every_row(tmp_path: Path) -> None:
    code = main(
        [
            "--clips",
            "2",
            "--frames",
            "8",
            "--size",
            "64x96",
            "--presets",
            "severe",
            "--every-frame",
            "--threads",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    results = json.loads((tmp_path / "quality.json").read_text())
    rows = results["presets"]["severe"]["methods"]
    for name in (
        "degraded",
        "nlmeans",
        "atadenoise",
        "tmedian",
        "median",
        "fftdnoiz",
        "ours",
        "ours, no references",
        "ours, every frame",
    ):
        assert name in rows, f"{name} missing from the benchmark"
        assert 5 < rows[name]["psnr"] < 60 and 0 < rows[name]["ssim"] <= 1
    summary = results["presets"]["severe"]["summary"]
    assert summary["best_classical"] in rows
    assert "ours, every frame" in (tmp_path / "quality.md").read_text()
    assert (tmp_path / "quality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
