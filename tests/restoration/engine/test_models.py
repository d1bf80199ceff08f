from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from restoration.engine.exceptions import ConfigError, WeightsError
from restoration.engine.models import (
    create_model,
    list_models,
    load_checkpoint,
    model_config,
    save_checkpoint,
)

GOLDEN = Path(__file__).parent / "golden" / "tiny_forward.json"


def tiny_inputs(
    seed: int = 0, *, size: tuple[int, int] = (32, 40)
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    frames = torch.rand(1, 3, 3, *size, generator=generator)
    references = torch.rand(1, 2, 3, *size, generator=generator)
    return frames, references


def seeded_tiny() -> torch.nn.Module:
    torch.manual_seed(1234)
    return create_model("tiny").eval()


def test_registry_lists_json_variants_with_contract_keys() -> None:
    assert {"tiny", "tape-lite", "tape-base"} <= set(list_models())
    for name in list_models():
        config = model_config(name)
        assert {"window", "references", "pad_multiple"} <= set(config)
    with pytest.raises(ConfigError, match="unknown model"):
        create_model("tape-huge")


@pytest.mark.parametrize(
    ("name", "low", "high"), [("tape-lite", 1e6, 4e6), ("tape-base", 70e6, 90e6)]
)
def test_variant_sizes(name: str, low: float, high: float) -> None:
    with torch.device("meta"):
        model = create_model(name)
    count = sum(p.numel() for p in model.parameters())
    assert low <= count <= high, f"{name} has {count / 1e6:.2f}M parameters"


def test_forward_shapes_no_nan_and_every_parameter_gets_gradient() -> None:
    model = create_model("tiny")
    frames, references = tiny_inputs()
    restored = model(frames, references)
    assert restored.shape == frames.shape and torch.isfinite(restored).all()
    restored.square().mean().backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert missing == []


def test_forward_without_references_is_the_ablation_path() -> None:
    model = seeded_tiny()
    frames, references = tiny_inputs()
    with torch.inference_mode():
        assert model(frames).shape == frames.shape
        assert not torch.allclose(model(frames), model(frames, references))


def test_reference_fusion_changes_output_when_references_change() -> None:
    model = seeded_tiny()
    frames, references = tiny_inputs()
    with torch.inference_mode():
        a = model(frames, references)
        b = model(frames, references.flip(-1))
        c = model(frames, references)
    assert torch.equal(a, c)
    assert (a - b).abs().max() > 1e-5


def test_cached_reference_features_equal_inline_references() -> None:
    model = seeded_tiny()
    frames, references = tiny_inputs()
    with torch.inference_mode():
        features = model.encode_references(references)
        torch.testing.assert_close(
            model(frames, reference_features=features), model(frames, references)
        )


def test_time_is_never_downsampled_and_sizes_are_checked() -> None:
    model = seeded_tiny()
    with torch.inference_mode():
        out = model(torch.rand(1, 5, 3, 16, 24))  # T other than the config's window works too
    assert out.shape == (1, 5, 3, 16, 24)
    with pytest.raises(AssertionError, match="multiples of 8"):
        model(torch.rand(1, 3, 3, 30, 40))


def test_golden_output() -> None:
    """Stored checksum of the seeded tiny model's output.

    Regenerate only on purpose (an intended architecture change):
    REGENERATE_GOLDEN=1 pytest tests/restoration/engine/test_models.py -k golden
    """
    model = seeded_tiny()
    frames, references = tiny_inputs()
    with torch.inference_mode():
        residual = model(frames, references) - frames  # the network's own contribution
    values = {
        "sum": float(residual.sum()),
        "abs_sum": float(residual.abs().sum()),
        "sample": residual.flatten()[::997].tolist(),
    }
    if os.environ.get("REGENERATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(values, indent=1) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert values["sum"] == pytest.approx(golden["sum"], rel=1e-4)
    assert values["abs_sum"] == pytest.approx(golden["abs_sum"], rel=1e-4)
    torch.testing.assert_close(
        torch.tensor(values["sample"]), torch.tensor(golden["sample"]), atol=1e-4, rtol=1e-4
    )


def test_checkpoint_round_trip_and_card(tmp_path: Path) -> None:
    model = seeded_tiny()
    weights = save_checkpoint(
        model, tmp_path / "tiny-test", {"training_data": "unit test", "steps": 3}
    )
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["variant"] == "tiny" and card["steps"] == 3 and len(card["sha256"]) == 64
    loaded = create_model("tiny", checkpoint=tmp_path / "tiny-test.json").eval()
    frames, references = tiny_inputs()
    with torch.inference_mode():
        torch.testing.assert_close(loaded(frames, references), model(frames, references))
    state, card2 = load_checkpoint(weights)
    assert card2 == card and set(state) == set(model.state_dict())


def test_checkpoint_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        create_model("tiny", checkpoint=tmp_path / "missing.safetensors")
    weights = save_checkpoint(seeded_tiny(), tmp_path / "tiny", {})
    with pytest.raises(WeightsError, match="holds weights for 'tiny', not 'tape-lite'"):
        create_model("tape-lite", checkpoint=weights)
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        create_model("tiny", checkpoint=weights)
    weights.with_suffix(".json").write_text("{}")
    with pytest.raises(WeightsError, match="tiny.json: not a checkpoint card"):
        create_model("tiny", checkpoint=weights)


def test_training_works_after_inference_in_the_same_process() -> None:
    """Cached window masks/indices made under inference_mode must not poison autograd."""
    model = create_model("tiny")
    frames, references = tiny_inputs(5, size=(24, 32))  # sizes no other test used
    with torch.inference_mode():
        model(frames, references)
    model(frames, references).mean().backward()


def test_outputs_restricts_the_window_to_the_frames_inference_keeps() -> None:
    from restoration.engine.models.tape import TapeNet

    torch.manual_seed(3)
    model = TapeNet({**model_config("tiny"), "refine": {"guide": 2, "channels": 4}}).eval()
    torch.nn.init.normal_(model.refine.body[-1].weight, std=0.1)  # a refinement that does something
    frames, references = tiny_inputs(4)
    with torch.inference_mode():
        full = model(frames, references)
        middle = model(frames, references, outputs=(1, 2))
    assert middle.shape == (1, 1, 3, 32, 40)
    torch.testing.assert_close(middle, full[:, 1:2])


def test_inference_refines_frame_by_frame_exactly_as_the_batched_refinement() -> None:
    """The full-resolution refinement runs one frame at a time in eval mode (its activations
    were a window's memory peak); the frames it returns equal one batched pass up to float
    rounding (the convolution may pick another algorithm for one frame than for several)."""
    from restoration.engine.models.tape import TapeNet

    torch.manual_seed(4)
    model = TapeNet({**model_config("tiny"), "refine": {"guide": 2, "channels": 4}}).eval()
    assert model.refine is not None
    torch.nn.init.normal_(model.refine.body[-1].weight, std=0.1)
    frames, references = tiny_inputs(2)
    with torch.inference_mode():
        by_frame = model(frames, references)
        model.refine.train()  # the batched path training uses
        batched = model(frames, references)
    assert by_frame.shape[:2] == (1, 3)  # three frames through the refinement
    torch.testing.assert_close(by_frame, batched, rtol=0, atol=1e-6)
