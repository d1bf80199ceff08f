"""The web app never imports the engine's heavy dependencies: web servers and default-queue
workers install without the `engine` extra (pyproject.toml), so an import of torch there would
fail at run time, not in a test run on a full install. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "open_clip", "einops", "safetensors", "skimage", "scipy")

PROBE = """
import importlib, json, os, pkgutil, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
import django
django.setup()
from django.apps import apps
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

def walk(patterns):
    count = 0
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            count += walk(pattern.url_patterns)
        else:
            pattern.callback  # resolves the view's module
            count += 1
    return count

views = walk(get_resolver().url_patterns)
imported = []
# The engine, the tape simulator and training (worker side), benchmarks, the demo (`make run`,
# which installs the engine) and command-line entry points are not part of the web app; everything
# else is.
SKIP = (
    "engine", "simulation", "training", "bench", "bench_jobs", "migrations", "management",
    "__main__", "demo",
)

def walk_modules(package):
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if module.name.rsplit(".", 1)[1] in SKIP:
            continue  # not imported: walk_packages would import a package to look inside
        imported.append(module.name)
        loaded = importlib.import_module(module.name)
        if module.ispkg:
            walk_modules(loaded)

for app in apps.get_app_configs():
    if app.name.split(".")[0] in ("portal", "accounts", "restoration"):
        walk_modules(importlib.import_module(app.name))
for name in ("restoration.worker", "restoration.tasks", "portal.wsgi", "portal.urls"):
    importlib.import_module(name)
errors = [str(m) for m in checks.run_checks() if m.level >= checks.ERROR]
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"views": views, "modules": imported, "errors": errors, "heavy": heavy}))
"""


def test_importing_the_web_app_imports_no_torch() -> None:
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["views"] > 50, "the URLConf walk found too few views"
    assert {"restoration.views", "restoration.admin", "restoration.checks"} <= set(
        report["modules"]
    )
    assert report["errors"] == []
    assert report["heavy"] == [], f"the web app imported {report['heavy']}"


def test_the_probe_would_see_torch_if_a_web_module_imported_it() -> None:
    """The check can fail: the same walk, with one module that imports torch."""
    code = f"HEAVY = {HEAVY!r}\nimport torch\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch" in json.loads(result.stdout.strip().splitlines()[-1])["heavy"]
