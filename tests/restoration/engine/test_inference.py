from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from restoration.engine import video
from restoration.engine.exceptions import CancelledError, ConfigError, WeightsError
from restoration.engine.execution import resolve_device
from restoration.engine.inference import (
    OutputOptions,
    RestoreOptions,
    load_model,
    restore_image,
    restore_video,
)
from restoration.engine.models import create_model
from restoration.engine.noise import noise_profile
from restoration.engine.planning import plan_tiles, plan_windows
from restoration.engine.references import FrameScores
from restoration.engine.restorer import WindowRestorer

from .conftest import moving_pattern, write_video


@pytest.fixture
def tiny() -> torch.nn.Module:
    torch.manual_seed(7)
    return create_model("tiny").eval()


@pytest.mark.parametrize(
    ("count", "window", "margin"), [(12, 5, 1), (3, 5, 1), (17, 5, 1), (10, 3, 0), (9, 7, 2)]
)
def test_windows_output_every_frame_once_near_the_centre(
    count: int, window: int, margin: int
) -> None:
    plan = plan_windows(count, window, margin)
    outputs = [i for w in plan for i in range(w.out_begin, w.out_end)]
    assert outputs == list(range(count))
    for w in plan:
        assert w.begin <= w.out_begin < w.out_end <= w.end and w.end - w.begin == min(window, count)
        for frame in range(w.out_begin, w.out_end):
            # at least `margin` context frames on each side, unless at the video's ends
            assert frame - w.begin >= margin or w.begin == 0
            assert w.end - 1 - frame >= margin or w.end == count


def test_amortised_windows_are_much_cheaper_than_one_window_per_frame() -> None:
    plan = plan_windows(300, 5, 1)
    per_frame = sum(w.end - w.begin for w in plan) / 300
    assert per_frame < 1.7  # vs 5 frame passes per output frame for one full window per frame
    with pytest.raises(ConfigError):
        plan_windows(10, 5, 3)


def test_tiles_cover_the_frame_with_model_sized_boxes() -> None:
    boxes = plan_tiles(576, 736, 256, 32, 32)
    covered = np.zeros((576, 736), bool)
    xs = sorted({(x0, x1) for _, _, x0, x1 in boxes})
    assert all(a[1] - b[0] >= 32 for a, b in itertools.pairwise(xs)), (
        "neighbours overlap by >= 32 px"
    )
    for y0, y1, x0, x1 in boxes:
        assert (y1 - y0) % 32 == 0 and (x1 - x0) % 32 == 0 and y1 - y0 <= 256
        assert y0 % 32 == 0 and x0 % 32 == 0, "tiles start on the model's grid"
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    assert plan_tiles(64, 64, None, 32, 8) == [(0, 64, 0, 64)]


def test_tiled_and_untiled_restoration_agree(tiny: torch.nn.Module) -> None:
    frames = [moving_pattern(i, 96, 72) for i in range(3)]
    refs = [(100 + i, moving_pattern(20 + i, 96, 72)) for i in range(2)]
    whole = WindowRestorer(tiny, device=torch.device("cpu"), tile=None).restore(frames, refs)
    tiled_restorer = WindowRestorer(tiny, device=torch.device("cpu"), tile=48, tile_overlap=16)
    tiled = tiled_restorer.restore(frames, refs)
    residual = np.abs(np.stack(whole).astype(float) - np.stack(frames)).mean()
    difference = np.abs(np.stack(whole).astype(float) - np.stack(tiled)).mean()
    assert tiled_restorer.frame_passes > 3, "the frame really was tiled"
    assert difference < 0.25 * residual, (difference, residual)
    assert np.abs(np.stack(whole).astype(int) - np.stack(tiled)).max() <= 40


def test_window_restorer_matches_direct_model_call(tiny: torch.nn.Module) -> None:
    frames = [moving_pattern(i, 64, 48) for i in range(3)]
    refs = [(5, moving_pattern(9, 64, 48)), (6, moving_pattern(10, 64, 48))]
    # fp32 as the direct call below: "auto" picks bf16 on CPUs that compute it natively.
    restorer = WindowRestorer(
        tiny, device=torch.device("cpu"), colour_guard=False, precision="fp32"
    )
    out = restorer.restore(frames, refs, keep=(1, 2))
    clip = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)[None].float() / 255
    ref_tensor = (
        torch.from_numpy(np.stack([r for _, r in refs])).permute(0, 3, 1, 2)[None].float() / 255
    )
    with torch.inference_mode():
        direct = (
            tiny(clip, ref_tensor)[0, 1]
            .clamp(0, 1)
            .mul(255)
            .round()
            .byte()
            .permute(1, 2, 0)
            .numpy()
        )
    np.testing.assert_array_equal(out[0], direct)


def test_restore_video_frames_equal_per_window_computation(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    """Each written frame is the model's output for the window that owns it (lossless master)."""
    src = write_video(tmp_path / "in.mkv", frames=10, size=(64, 48), audio=None)
    restore_video(
        src,
        tmp_path / "out.mkv",
        model=tiny,
        scorer="none",
        options=RestoreOptions(references=0, window=3, margin=1, keep_clean=False),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    written = list(video.iter_frames(tmp_path / "out.mkv"))
    source = list(video.iter_frames(src))
    restorer = WindowRestorer(tiny, device=torch.device("cpu"))
    expected = []
    for w in plan_windows(10, 3, 1):
        expected += restorer.restore(
            source[w.begin : w.end], None, keep=(w.out_begin - w.begin, w.out_end - w.begin)
        )
    assert len(written) == len(expected) == 10
    for got, want in zip(written, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def _scores(
    artifact: list[float], start: int = 0, clean_ceiling: float | None = 0.25
) -> FrameScores:
    n = len(artifact)
    embeddings = np.random.default_rng(n).normal(size=(n, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return FrameScores(
        np.array(artifact, np.float32),
        embeddings,
        {},
        "test",
        start=start,
        clean_ceiling=clean_ceiling,
    )


def test_keep_clean_writes_clean_frames_unchanged_and_restores_the_rest(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=12, size=(64, 48), audio=None)
    source = list(video.iter_frames(src))
    # frames 0-5 clean, 6-8 corrupted, 9-11 clean (same Otsu split as the reference pool)
    scores = _scores([0.05] * 6 + [0.9] * 3 + [0.06] * 3)
    assert scores.clean_mask().tolist() == [True] * 6 + [False] * 3 + [True] * 3
    on = restore_video(
        src,
        tmp_path / "on.mkv",
        model=tiny,
        scores=scores,
        options=RestoreOptions(references=2, window=3, margin=1),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    off = restore_video(
        src,
        tmp_path / "off.mkv",
        model=tiny,
        scores=scores,
        options=RestoreOptions(references=2, window=3, margin=1, keep_clean=False),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    kept, processed = (
        list(video.iter_frames(tmp_path / "on.mkv")),
        list(video.iter_frames(tmp_path / "off.mkv")),
    )
    assert len(kept) == len(processed) == 12
    for i in range(12):
        if scores.clean_mask()[i]:
            np.testing.assert_array_equal(kept[i], source[i])  # bit-identical to the decoded input
            assert not np.array_equal(processed[i], source[i]), (
                f"frame {i} was processed with keep_clean off"
            )
        else:
            np.testing.assert_array_equal(kept[i], processed[i])  # the same window, the same output
    assert (on.keep_clean, on.passed_through, off.passed_through) == (True, 9, 0)
    # windows (out frames) 0-1, 1-3, ..., the ones whose outputs are all clean skip the network
    assert on.windows_skipped > 0 and on.computations_per_frame < off.computations_per_frame
    assert all(u["frames"][1] > 6 and u["frames"][0] < 9 for u in on.references_used)
    assert on.to_dict()["passed_through"] == 9


def test_keep_clean_restores_everything_when_scores_have_no_spread(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=6, size=(64, 48), audio=None)
    result = restore_video(
        src,
        tmp_path / "out.mkv",
        model=tiny,
        scores=_scores([0.7] * 6),
        options=RestoreOptions(references=0),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    assert result.passed_through == 0 and result.windows_skipped == 0
    written, source = list(video.iter_frames(tmp_path / "out.mkv")), list(video.iter_frames(src))
    assert not any(np.array_equal(a, b) for a, b in zip(written, source, strict=True))


def _write_rgb(path: Path, frames: np.ndarray) -> Path:
    """Frames as a lossless RGB FFV1 file: decoded back bit for bit."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "bgr0"
        for array in frames:
            frame = av.VideoFrame.from_ndarray(array, format="rgb24").reformat(format="bgr0")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_keep_clean_restores_frames_the_scorer_missed_when_their_noise_stands_out(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    frames = np.stack([moving_pattern(i, 64, 48) for i in range(8)]).astype(np.float64)
    frames[3:5] += np.random.default_rng(5).normal(0, 12, frames[3:5].shape)  # a noisy stretch
    src = _write_rgb(tmp_path / "in.mkv", np.clip(frames, 0, 255).round().astype(np.uint8))
    source = list(video.iter_frames(src))
    # The scorer calls frames 0-5 clean (it missed the noise of 3 and 4), 6-7 damaged.
    blind = _scores([0.05, 0.05, 0.06, 0.05, 0.06, 0.05, 0.9, 0.9])
    measured = _scores([0.05, 0.05, 0.06, 0.05, 0.06, 0.05, 0.9, 0.9])
    measured.noise = noise_profile(np.stack(source))
    assert measured.noisy_mask().tolist() == [False] * 3 + [True] * 2 + [False] * 3
    outputs = {}
    for name, scores in (("blind", blind), ("measured", measured)):
        result = restore_video(
            src,
            tmp_path / f"{name}.mkv",
            model=tiny,
            scores=scores,
            options=RestoreOptions(references=0, window=3, margin=1),
            output=OutputOptions(master_pixel_format="bgr0"),
        )
        outputs[name] = (result.passed_through, list(video.iter_frames(tmp_path / f"{name}.mkv")))
    assert outputs["blind"][0] == 6 and outputs["measured"][0] == 4
    for i in (0, 1, 2, 5):
        np.testing.assert_array_equal(outputs["measured"][1][i], source[i])
    for i in (3, 4):
        np.testing.assert_array_equal(outputs["blind"][1][i], source[i])  # left noisy
        assert not np.array_equal(outputs["measured"][1][i], source[i])  # restored


@pytest.mark.parametrize(
    ("artifact", "ceiling"),
    [
        ([0.6, 0.62, 0.65, 0.8, 0.82, 0.85], 0.25),  # uniformly damaged: Otsu still splits it
        ([0.05, 0.05, 0.05, 0.9, 0.9, 0.9], None),  # a scorer without a calibrated scale
    ],
)
def test_keep_clean_never_passes_through_damaged_or_uncalibrated_frames(
    tmp_path: Path, tiny: torch.nn.Module, artifact: list[float], ceiling: float | None
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=6, size=(64, 48), audio=None)
    scores = _scores(artifact, clean_ceiling=ceiling)
    assert scores.clean_mask().any()  # Otsu alone would have passed some through
    result = restore_video(
        src,
        tmp_path / "out.mkv",
        model=tiny,
        scores=scores,
        options=RestoreOptions(references=0),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    assert result.passed_through == 0


def test_keep_clean_on_degraded_clip_and_segment(tmp_path: Path, tiny: torch.nn.Module) -> None:
    from restoration.bench.quality import write_lossless
    from restoration.simulation.degrade import degrade_clip

    clip = np.stack([moving_pattern(i, 64, 48) for i in range(16)])
    degraded, labels = degrade_clip(clip, seed=3, preset="medium")
    clean_truth = [label.severity == 0 for label in labels]
    assert any(clean_truth) and not all(clean_truth)
    src = tmp_path / "degraded.mkv"
    write_lossless(degraded, src)
    scores = _scores([1.0 - 0.9 * c for c in clean_truth], start=0)
    result = restore_video(
        src,
        tmp_path / "seg.mkv",
        model=tiny,
        scores=scores,
        start=2,
        end=14,
        options=RestoreOptions(references=1),
        output=OutputOptions(master_pixel_format="bgr0"),
    )
    written = list(video.iter_frames(tmp_path / "seg.mkv"))
    assert len(written) == 12 and result.passed_through == sum(clean_truth[2:14])
    for offset, frame in enumerate(written):
        if clean_truth[2 + offset]:
            np.testing.assert_array_equal(frame, degraded[2 + offset])


def test_restore_video_end_to_end(tmp_path: Path, tiny: torch.nn.Module) -> None:
    src = write_video(tmp_path / "in.mkv", frames=14, size=(72, 52), field_order="tt")
    seen: list[tuple[int, int, float | None]] = []
    result = restore_video(
        src,
        tmp_path / "out.mkv",
        model=tiny,
        scorer="none",
        output=OutputOptions(access_copy=tmp_path / "out.mp4"),
        progress=lambda done, total, eta: seen.append((done, total, eta)),
    )
    master, access = video.probe(tmp_path / "out.mkv"), video.probe(tmp_path / "out.mp4")
    source = video.probe(src)
    for info in (master, access):
        assert info.frame_count == 14 and info.frame_rate == source.frame_rate
        assert info.sample_aspect == source.sample_aspect and len(info.audio_streams) == 1
    assert (master.width, master.height) == (72, 52)  # padded for the model, cropped back
    assert seen[-1][:2] == (14, 14) and seen[-1][2] == 0
    assert (
        result.frames == 14 and len(result.scores_before) == 14 and len(result.scores_after) == 14
    )
    assert result.computations_per_frame < 1.2
    assert result.references_used and all(len(u["references"]) == 2 for u in result.references_used)
    json.dumps(result.to_dict())  # the portal stores it


def test_restore_video_segment_and_no_reference_ablation(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=12)
    result = restore_video(
        src,
        tmp_path / "seg.mkv",
        model=tiny,
        scorer="none",
        start=4,
        end=9,
        options=RestoreOptions(references=0),
    )
    assert video.probe(tmp_path / "seg.mkv").frame_count == 5
    assert result.references_used == [] and result.start == 4 and result.end == 9
    restored = list(video.iter_frames(tmp_path / "seg.mkv"))
    original = list(video.iter_frames(src, start=4, end=9))
    assert np.abs(restored[0].astype(int) - original[0]).mean() < 30  # it is the same segment


def test_restore_video_deinterlaced_master_is_progressive(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=6, field_order="tt")
    restore_video(
        src,
        tmp_path / "p.mkv",
        model=tiny,
        scorer="none",
        deinterlace="bwdif",
        options=RestoreOptions(references=0),
    )
    info = video.probe(tmp_path / "p.mkv")
    assert info.frame_count == 6 and info.field_order == "progressive" and info.interlaced is False


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_autocast_matches_cpu(tiny: torch.nn.Module) -> None:
    frames = [moving_pattern(i, 64, 48) for i in range(3)]
    refs = [(1, moving_pattern(9, 64, 48))]
    cpu = WindowRestorer(tiny, device=torch.device("cpu")).restore(frames, refs)
    gpu = WindowRestorer(create_model("tiny").cuda().eval(), device=torch.device("cuda"))
    gpu.model.load_state_dict(tiny.state_dict())
    assert gpu.dtype in (torch.bfloat16, torch.float16)
    assert np.abs(np.stack(cpu).astype(int) - np.stack(gpu.restore(frames, refs))).mean() < 2


def test_restore_video_cancel_and_bad_options(tmp_path: Path, tiny: torch.nn.Module) -> None:
    src = write_video(tmp_path / "in.mkv", frames=8)
    with pytest.raises(CancelledError):
        restore_video(
            src,
            tmp_path / "c.mkv",
            model=tiny,
            scorer="none",
            cancel=lambda: True,
            output=OutputOptions(access_copy=tmp_path / "c.mp4"),
        )
    assert not (tmp_path / "c.mkv").exists() and not (tmp_path / "c.mp4").exists()
    with pytest.raises(ConfigError, match="past the end"):
        restore_video(src, tmp_path / "x.mkv", model=tiny, scorer="none", start=50)
    with pytest.raises(ConfigError, match="deinterlace"):
        restore_video(src, tmp_path / "x.mkv", model=tiny, scorer="none", deinterlace="yadif")
    with pytest.raises(ConfigError):
        resolve_device("quantum")


def test_missing_default_weights_say_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restoration.engine import inference

    monkeypatch.setattr(inference, "default_weights", lambda name: tmp_path / f"{name}.safetensors")
    with pytest.raises(WeightsError, match="--checkpoint"):
        load_model("tape-lite")


def test_restore_image(tmp_path: Path, tiny: torch.nn.Module) -> None:
    from PIL import Image

    Image.fromarray(moving_pattern(0, 50, 40)).save(tmp_path / "photo.png")
    info = restore_image(tmp_path / "photo.png", tmp_path / "out.png", model=tiny)
    with Image.open(tmp_path / "out.png") as restored:
        assert restored.size == (50, 40)
    assert info["device"] == "cpu"
