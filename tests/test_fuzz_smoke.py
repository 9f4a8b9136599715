"""The preprocessing fuzzer (tests/fuzz/fuzz_preprocess.py) runs, briefly, in every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.runtime

FUZZ = Path(__file__).parent / "fuzz" / "fuzz_preprocess.py"


def test_fuzzer_runs_clean_for_two_seconds():
    pytest.importorskip("hypothesis")
    r = subprocess.run(
        [sys.executable, str(FUZZ), "--seconds", "2", "--max-rss-mib", "1024"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FUZZ.parent.parent.parent,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "0 failures" in r.stdout and "ImageError" in r.stdout
