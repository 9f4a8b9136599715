"""The layout's rules are checked, not just written down: import-linter contracts in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mnist_edge

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    env = {"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=where, env=env, timeout=120
    )


@pytest.fixture
def package_copy(tmp_path) -> Path:
    pytest.importorskip("importlinter")
    shutil.copytree(Path(mnist_edge.__file__).parent, tmp_path / "mnist_edge", ignore=shutil.ignore_patterns("*.onnx"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("runtime/inputs.py", "import tensorflow"),
        ("runtime/batch.py", "from ..training.data import to_model_input"),
        ("training/fit.py", "from ..export import parity"),  # the layers contract: training is below export
        ("runtime/records.py", "from ..serve import Settings"),  # the server sits above the runtime
        ("serve/app.py", "from ..training import data"),
        ("web/bundle.py", "from ..export import parity"),  # the page sits on the runtime only
        ("scale/spark.py", "from ..export import parity"),  # so do the cluster engines
        ("runtime/batch.py", "from ..scale import spark_predict"),  # and the runtime never imports them
    ],
)
def test_the_import_contracts_bite(package_copy, module, forbidden):
    path = package_copy / "mnist_edge" / module
    path.write_text(path.read_text() + f"\n{forbidden}  # noqa\n")
    result = lint_imports(package_copy)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout + result.stderr


def test_the_package_as_it_is_keeps_every_contract(package_copy):
    result = lint_imports(package_copy)
    assert result.returncode == 0 and "BROKEN" not in result.stdout, result.stdout + result.stderr
