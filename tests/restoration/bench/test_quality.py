"""`python -m restoration.bench quality` end to end on a few tiny held-out clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restoration.bench.quality import main

LIBAVFILTER_ROWS = ("nlmeans", "atadenoise", "tmedian", "median", "fftdnoiz", "bm3d")


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    from restoration.engine.models.factory import create_model, save_checkpoint

    return save_checkpoint(create_model("tiny"), tmp_path / "weights" / "tiny", {"steps": 0})


def test_family_a_with_the_shipped_model_writes_table_json_and_figure(tmp_path: Path) -> None:
    code = main(
        ["--family", "a", "--clips", "2", "--frames", "8", "--size", "64x96", "--presets",
         "severe", "--every-frame", "--no-bm3d", "--threads", "1", "--workers", "1",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    results = json.loads((tmp_path / "quality-a.json").read_text())
    rows = results["families"]["a"]["presets"]["severe"]["methods"]
    for name in ("degraded", *LIBAVFILTER_ROWS, "ours", "ours, no references", "ours, every frame"):
        assert name in rows, f"{name} missing from the benchmark"
        assert 5 < rows[name]["psnr"] < 60 and 0 < rows[name]["ssim"] <= 1
        assert len(rows[name]["colour"]) == 3
    summary = results["families"]["a"]["presets"]["severe"]["summary"]
    assert summary["best_classical"] in rows
    assert "ours, every frame" in (tmp_path / "quality-a.md").read_text()
    assert (tmp_path / "quality-a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # colour BM3D: seven calls of about 2.5 CPU-seconds each
def test_family_b_with_a_chosen_checkpoint_and_bm3d_on_a_subset(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    report = tmp_path / "elsewhere" / "b.json"
    code = main(
        ["--family", "b", "--checkpoint", str(tiny_checkpoint), "--model", "tiny", "--clips", "2",
         "--frames", "6", "--size", "32x48", "--presets", "severe", "--bm3d-every", "4",
         "--bm3d-clips", "1", "--threads", "1", "--workers", "2", "--out", str(tmp_path),
         "--json", str(report)]
    )  # fmt: skip
    assert code == 0
    results = json.loads(report.read_text())
    assert results == json.loads((tmp_path / "quality-b.json").read_text())
    assert list(results["families"]) == ["b"]
    assert list(results["families"]["b"]["presets"]) == ["severe"]
    for preset in ("severe",):
        cell = results["families"]["b"]["presets"][preset]
        for name in ("degraded", *LIBAVFILTER_ROWS, "ours", "ours, no references"):
            assert 5 < cell["methods"][name]["psnr"] <= 100, f"{preset} {name}"
        bm3d = cell["bm3d"]
        assert bm3d["frames"] == [2] and bm3d["clips"] == 1 and len(bm3d["tuning_frames"]) == 2
        assert set(bm3d["sweep"]) == {
            f"{s:g}" for s in ((5, 10, 20) if preset == "light" else (20, 35, 50))
        }
        assert f"{bm3d['sigma']:g}" == max(bm3d["sweep"], key=bm3d["sweep"].get)
        assert 5 < bm3d["row"]["psnr"] < 100 and len(bm3d["row"]["colour"]) == 3
        assert {"degraded", "ours"} <= set(cell["subset"])
        assert "ours_vs_bm3d_db" in cell["summary"]
    text = (tmp_path / "quality-b.md").read_text()
    assert "Family B" in text and "colour BM3D" in text and "BM3D sweep, severe" in text
    assert "tiny" in results["setup"]["weights"]


def test_clean_family_reports_the_identity_and_bad_options_are_refused(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--family", "clean", "--checkpoint", str(tiny_checkpoint), "--model", "tiny", "--clips",
         "1", "--frames", "6", "--size", "32x48", "--no-bm3d", "--threads", "1", "--workers", "1",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    cell = json.loads((tmp_path / "quality-clean.json").read_text())["families"]["clean"]
    methods = cell["presets"]["clean"]["methods"]
    assert methods["degraded"]["psnr"] == 100.0 and methods["degraded"]["colour"] == [0, 0, 0]
    assert "identity_psnr" in cell["presets"]["clean"]["summary"]
    assert main(["--clips", "0", "--out", str(tmp_path)]) == 2
    assert main(["--frames", "4", "--out", str(tmp_path)]) == 2
    assert main(["--presets", "extreme", "--out", str(tmp_path)]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_without_classical_rows_the_report_claims_no_comparison(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    code = main(
        ["--family", "a", "--checkpoint", str(tiny_checkpoint), "--model", "tiny", "--clips", "1",
         "--frames", "6", "--size", "32x48", "--presets", "light", "--filters", "none",
         "--no-bm3d", "--no-ablation", "--threads", "1", "--workers", "1", "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    cell = json.loads((tmp_path / "quality-a.json").read_text())["families"]["a"]
    assert cell["presets"]["light"]["summary"]["beats_every_classical"] is None
    text = (tmp_path / "quality-a.md").read_text()
    assert "classical filter in PSNR and SSIM: not compared (no classical rows)" in text


def test_the_tuning_split_runs_on_other_clips_than_the_report(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--split tuning: for choosing a checkpoint or a blend without looking at the reported
    clips. Other seeds, other degraded inputs, its own file names; no BM3D there."""
    common = ["--family", "b", "--checkpoint", str(tiny_checkpoint), "--model", "tiny",
              "--clips", "1", "--frames", "6", "--size", "32x48", "--presets", "medium",
              "--filters", "none", "--no-bm3d", "--no-ablation", "--threads", "1",
              "--workers", "1", "--out", str(tmp_path)]  # fmt: skip
    assert main(common) == 0
    assert main([*common, "--split", "tuning"]) == 0
    report = json.loads((tmp_path / "quality-b.json").read_text())
    tuning = json.loads((tmp_path / "quality-b-tuning.json").read_text())
    assert report["setup"]["split"] == "report" and tuning["setup"]["split"] == "tuning"
    assert tuning["setup"]["seeds"].startswith("tuning split: B 1000")
    assert tuning["setup"]["seeds"] != report["setup"]["seeds"]
    degraded = [
        r["families"]["b"]["presets"]["medium"]["methods"]["degraded"]["psnr"]
        for r in (report, tuning)
    ]
    assert degraded[0] != degraded[1]
    assert "tuning split" in (tmp_path / "quality-b-tuning.md").read_text()
    bm3d = [a for a in common if a != "--no-bm3d"]
    assert main([*bm3d, "--split", "tuning"]) == 2
    assert "--split tuning runs without --reuse-classical and with --no-bm3d" in (
        capsys.readouterr().err
    )
