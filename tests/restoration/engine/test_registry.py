"""The model registry is read without torch: the web process lists variants from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from restoration.engine import registry
from restoration.engine.models import create_model

ROOT = Path(__file__).resolve().parents[3]


def test_reading_the_registry_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "from restoration.engine import registry\n"
        "assert registry.list_models(), 'no variants'\n"
        "registry.model_config(registry.list_models()[0])\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_every_registered_variant_builds_from_its_config() -> None:
    for name in registry.list_models():
        config = registry.model_config(name)
        assert config["name"] == name and config["window"] >= 1
        if name == "tiny":
            assert create_model(name).config["window"] == config["window"]


def test_a_config_is_a_copy_callers_may_change() -> None:
    config = registry.model_config("tiny")
    config["window"] = 99
    assert registry.model_config("tiny")["window"] != 99
