from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from restoration.engine import video, writers
from restoration.engine.exceptions import CancelledError, ConfigError, InvalidVideoError

from .conftest import moving_pattern, write_video


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_probe_reads_header_facts(capture: Path) -> None:
    info = video.probe(capture)
    assert (info.width, info.height, info.frame_count) == (64, 48, 12)
    assert info.frame_rate == 25 and info.sample_aspect == Fraction(16, 15)
    assert info.display_aspect == Fraction(64 * 16, 48 * 15)
    assert info.interlaced is True and info.field_order == "tt"
    assert info.audio_streams[0].codec == "pcm_s16le" and info.audio_streams[0].channels == 2
    assert info.to_dict()["frame_rate"] == "25/1"


def test_probe_counts_frames_when_header_has_none(tmp_path: Path) -> None:
    # Matroska stores no frame count: probe must count packets, also at NTSC rate.
    path = write_video(tmp_path / "ntsc.mkv", frames=7, rate=Fraction(30000, 1001), audio=None)
    info = video.probe(path)
    assert info.frame_count == 7 and info.frame_rate == Fraction(30000, 1001)
    assert info.audio_streams == () and info.interlaced is None


def test_demux_video_counts_packets_and_where_they_end(tmp_path: Path) -> None:
    path = write_video(tmp_path / "seven.mkv", frames=7, rate=Fraction(25), audio=None)
    found = video.demux_video(path)
    assert (found.promised, found.packets, found.frame_rate) == (0, 7, 25.0)
    assert found.end_s == pytest.approx(7 / 25)
    assert found.container_duration_s == pytest.approx(7 / 25, abs=0.01)


def test_image_kind_tells_a_video_from_a_still_and_an_animation(capture: Path) -> None:
    info = video.probe(capture)
    assert video.image_kind(info) == "video"
    assert video.image_kind(video._replace(info, frame_count=1)) == "still"
    assert video.image_kind(video._replace(info, container="gif")) == "animation"
    assert video.image_kind(video._replace(info, container="tty", video_codec="ansi")) == "text"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        (b"", "empty"),
        (b"this is text, not a video" * 40, "not a readable video"),
    ],
)
def test_probe_rejects_bad_inputs(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.mkv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidVideoError, match=message) as caught:
        video.probe(path)
    assert caught.value.permanent


def test_probe_rejects_truncated_and_audio_only_files(tmp_path: Path, capture: Path) -> None:
    mp4 = write_video(tmp_path / "c.mp4", codec="libx264", pix_fmt="yuv420p", audio=None)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 3])
    with pytest.raises(InvalidVideoError):
        video.probe(truncated)
    audio_only = tmp_path / "audio.mka"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = 8000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidVideoError, match="no video stream"):
        video.probe(audio_only)


def test_iter_frames_streams_rgb_range(capture: Path) -> None:
    frames = list(video.iter_frames(capture, start=3, end=7))
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    # yuv422p round trip is close to the RGB pattern that was written.
    assert np.abs(frames[0].astype(int) - moving_pattern(3, 64, 48)).mean() < 4


def test_bwdif_keeps_frame_count_and_changes_pixels(capture: Path) -> None:
    plain = list(video.iter_frames(capture))
    deinterlaced = list(video.iter_frames(capture, deinterlace="bwdif"))
    assert len(deinterlaced) == len(plain) == 12
    assert any(not np.array_equal(a, b) for a, b in zip(plain, deinterlaced, strict=True))
    with pytest.raises(ConfigError):
        list(video.iter_frames(capture, deinterlace="yadif2x"))


def test_master_round_trip_keeps_count_rate_aspect_audio(tmp_path: Path, capture: Path) -> None:
    info = video.probe(capture)
    master = tmp_path / "master.mkv"
    originals = []
    with writers.MasterWriter(master, info, audio_source=capture, pixel_format="bgr0") as writer:
        for frame in video.iter_av_frames(capture):
            rgb = video.frame_to_rgb(frame)
            originals.append(rgb)
            writer.write(rgb, time_s=frame.time)
    out = video.probe(master)
    assert out.video_codec == "ffv1" and out.frame_count == info.frame_count
    assert out.frame_rate == info.frame_rate and out.sample_aspect == info.sample_aspect
    assert out.field_order == "tt"
    with av.open(
        str(master)
    ) as container:  # in Matroska's own DisplayWidth/Height, not only our tag
        assert container.streams.video[0].sample_aspect_ratio == Fraction(16, 15)
    assert audio_packets(master) == audio_packets(capture)  # copied unchanged
    # bgr0 (FFV1 RGB) stores the RGB frames bit-exactly (lossless).
    for written, read in zip(originals, video.iter_frames(master), strict=True):
        np.testing.assert_array_equal(written, read)


def test_master_keeps_source_pixel_format_by_default(tmp_path: Path, capture: Path) -> None:
    info = video.probe(capture)
    with writers.MasterWriter(tmp_path / "m.mkv", info) as writer:
        writer.write(moving_pattern(0, 64, 48))
    assert video.probe(tmp_path / "m.mkv").pixel_format == "yuv422p"


def test_master_of_odd_sized_capture_keeps_size_and_aspect(tmp_path: Path) -> None:
    src = write_video(
        tmp_path / "odd.mkv", size=(63, 47), pix_fmt="yuv444p", sar=Fraction(8, 9), audio=None
    )
    with writers.MasterWriter(tmp_path / "m.mkv", video.probe(src)) as writer:
        for frame in video.iter_frames(src):
            writer.write(frame)
    with av.open(str(tmp_path / "m.mkv")) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (63, 47)
        assert stream.sample_aspect_ratio == Fraction(8, 9)


def test_access_copy_is_browser_mp4_with_aac(tmp_path: Path, capture: Path) -> None:
    seen: list[tuple[int, int]] = []
    dst = tmp_path / "access.mp4"
    writers.make_access_copy(
        capture, dst, progress=lambda done, total, eta: seen.append((done, total))
    )
    info = video.probe(dst)
    assert info.video_codec == "h264" and info.pixel_format == "yuv420p"
    assert info.frame_count == 12 and info.frame_rate == 25
    assert info.sample_aspect == Fraction(16, 15)
    assert [a.codec for a in info.audio_streams] == ["aac"]  # PCM can't go into MP4 for browsers
    assert seen[-1] == (12, 12)
    data = dst.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart: index must precede media data"


def test_access_copy_copies_aac_unchanged_and_crops_odd_sizes(tmp_path: Path) -> None:
    src = write_video(
        tmp_path / "odd.mkv", size=(63, 47), codec="ffv1", pix_fmt="yuv444p", audio="aac"
    )
    dst = tmp_path / "odd.mp4"
    writers.make_access_copy(src, dst)
    info = video.probe(dst)
    assert (info.width, info.height) == (62, 46)
    assert audio_packets(dst) == audio_packets(src)


def test_access_copy_cancel_removes_partial_file(tmp_path: Path, capture: Path) -> None:
    dst = tmp_path / "cancelled.mp4"
    with pytest.raises(CancelledError):
        writers.make_access_copy(capture, dst, cancel=lambda: True)
    assert not dst.exists()


def test_extract_frame_seeks(capture: Path) -> None:
    frame = video.extract_frame(capture, at_s=0.2)  # frame 5 at 25 fps
    assert np.abs(frame.astype(int) - moving_pattern(5, 64, 48)).mean() < 4
    assert video.extract_frame(capture).shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "suffix"), [("ffv1", "yuv422p", "mkv"), ("libx264", "yuv420p", "mp4")]
)
def test_late_start_seeks_and_returns_the_same_frames(
    tmp_path: Path, codec: str, pix_fmt: str, suffix: str
) -> None:
    src = write_video(
        tmp_path / f"long.{suffix}",
        frames=120,
        size=(32, 24),
        codec=codec,
        pix_fmt=pix_fmt,
        audio=None,
    )
    everything = list(video.iter_frames(src))
    late = list(video.iter_frames(src, start=90, end=100))
    assert len(late) == 10
    for expected, got in zip(everything[90:100], late, strict=True):
        np.testing.assert_array_equal(expected, got)
    assert len(list(video.iter_frames(src, start=110))) == 10
