from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restoration.engine import video, writers
from restoration.engine.cli import build_parser, main
from restoration.engine.models import create_model, save_checkpoint

from .conftest import write_video

ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "restoration", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(3)
    return save_checkpoint(create_model("tiny"), tmp_path / "weights" / "tiny", {"steps": 0})


def test_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-video.mkv"
    bad.write_text("hello")
    for args in (
        ["probe", str(tmp_path / "missing.mkv")],
        ["probe", str(bad)],
        ["restore", str(bad), str(tmp_path / "o.mkv"), "--model", "nope"],
    ):
        result = run_cli(*args)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")


def test_bad_option_values_exit_2_with_usage(
    capsys: pytest.CaptureFixture[str], capture: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["restore", str(capture), "out.mkv", "--deinterlace", "yadif"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_missing_default_weights_error(
    capsys: pytest.CaptureFixture[str],
    capture: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from restoration.engine import inference

    monkeypatch.setattr(inference, "default_weights", lambda name: tmp_path / f"{name}.safetensors")
    assert (
        main(["restore", str(capture), str(tmp_path / "o.mkv"), "--quiet", "--scorer", "none"]) == 1
    )
    err = capsys.readouterr().err
    assert "no weights for 'tape-lite'" in err and "--checkpoint" in err


def test_probe_restore_score_scores(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, capture: Path, tiny_checkpoint: Path
) -> None:
    assert main(["probe", str(capture)]) == 0
    assert json.loads(capsys.readouterr().out)["frame_count"] == 12

    out = tmp_path / "restored.mkv"
    code = main(
        [
            "restore",
            str(capture),
            str(out),
            "--model",
            "tiny",
            "--checkpoint",
            str(tiny_checkpoint),
            "--scorer",
            "none",
            "--access-copy",
            str(tmp_path / "restored.mp4"),
            "--start",
            "2",
            "--end",
            "10",
            "--report",
            str(tmp_path / "report.json"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["frames"] == 8 and summary["model"] == "tiny" and summary["weights_sha256"]
    assert "restore [" in captured.err  # progress bar on stderr
    assert (
        video.probe(out).frame_count == 8
        and video.probe(tmp_path / "restored.mp4").frame_count == 8
    )
    assert len(json.loads((tmp_path / "report.json").read_text())["scores_after"]) == 8

    segment = tmp_path / "clean-segment.mkv"
    with writers.MasterWriter(segment, video.probe(capture)) as writer:
        for frame in video.iter_frames(capture, start=2, end=10):
            writer.write(frame)
    assert main(["score", str(segment), str(out), "--per-frame"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["frames"] == 8 and len(scored["per_frame"]) == 8 and 0 < scored["ssim_mean"] <= 1

    assert main(["scores", str(capture), "--scorer", "none", "--format", "json", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)["frames"]
    assert len(rows) == 12 and {"frame", "artifact", "clean"} <= set(rows[0])
    csv_path = tmp_path / "scores.csv"
    assert main(["scores", str(capture), "--scorer", "none", "-o", str(csv_path), "--quiet"]) == 0
    assert csv_path.read_text().splitlines()[0].startswith("frame,artifact,clean")


def test_training_subcommands_are_registered_by_the_package_entry_point() -> None:
    engine_only = build_parser()
    commands = engine_only._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {"restore", "probe", "score", "scores"}
    result = subprocess.run(
        [sys.executable, "-m", "restoration", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for command in ("restore", "degrade", "train", "train-scorer"):
        assert command in result.stdout


def test_photo_restore_via_cli(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    frame = video.iter_frames(write_video(tmp_path / "v.mkv", frames=1, audio=None))
    Image.fromarray(next(frame)).save(tmp_path / "p.png")
    assert (
        main(
            [
                "restore",
                str(tmp_path / "p.png"),
                str(tmp_path / "r.png"),
                "--model",
                "tiny",
                "--checkpoint",
                str(tiny_checkpoint),
            ]
        )
        == 0
    )
    assert (tmp_path / "r.png").exists()
