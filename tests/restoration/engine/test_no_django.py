"""restoration/engine must stay framework-free: never import Django, directly or indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[3] / "restoration" / "engine"
ROOT = ENGINE.parents[1]


TRAINING = ROOT / "restoration" / "training"
SIMULATION = ROOT / "restoration" / "simulation"


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_engine_never_imports_the_training_package() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in ENGINE.rglob("*.py")
        for name in _imports(path)
        if name.startswith(("restoration.training", "restoration.simulation", "restoration.bench"))
    ]
    assert offenders == []


def test_the_simulator_and_the_portal_never_import_the_training_package() -> None:
    # The portal's demo clip is worn by the simulator: neither needs the training loops.
    others = [ROOT / "portal", ROOT / "accounts", SIMULATION]
    others += [
        p
        for p in (ROOT / "restoration").iterdir()
        if p.suffix == ".py"
        or (
            p.is_dir()
            and p.name not in {"training", "bench", "engine", "simulation", "__pycache__"}
        )
    ]
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for top in others
        for path in ([top] if top.is_file() else top.rglob("*.py"))
        for name in _imports(path)
        if name.startswith("restoration.training") and path.name != "__main__.py"
    ]
    assert offenders == []


def test_no_engine_training_or_simulation_module_imports_django() -> None:
    offenders = []
    for path in [*ENGINE.rglob("*.py"), *TRAINING.rglob("*.py"), *SIMULATION.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "django"
            ]
    assert offenders == []


def test_engine_and_cli_run_with_django_unimportable() -> None:
    # A meta-path finder that refuses django: any indirect import fails loudly.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'django' or name.startswith('django.'):\n"
        "            raise ImportError('django is blocked in engine tests')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pkgutil, importlib, restoration.engine as engine\n"
        "for info in pkgutil.walk_packages(engine.__path__, 'restoration.engine.'):\n"
        "    importlib.import_module(info.name)\n"
        "import restoration.training as training\n"
        "for info in pkgutil.walk_packages(training.__path__, 'restoration.training.'):\n"
        "    importlib.import_module(info.name)\n"
        "from restoration.engine.cli import build_parser\n"
        "build_parser()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
