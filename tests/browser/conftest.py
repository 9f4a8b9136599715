"""Fixtures for the browser tests (marker ``browser``; ``make test-browser`` runs them).

Playwright is imported here, inside fixtures, so that other test runs collect these modules
without it (they deselect them by marker).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "browser-artifacts"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = harness.launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser):
    """One browser profile for the tests: after the first page, the WASM comes from its cache (a revisit)."""
    ctx = browser.new_context()
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """The static bundle, written by the library function `mnist-edge web` calls, with the shipped model."""
    from mnist_edge.runtime import shipped_model_path
    from mnist_edge.web import write_bundle

    out = tmp_path_factory.mktemp("web") / "site"
    write_bundle(out, shipped_model_path())
    return out


@pytest.fixture(scope="session")
def bundle_url(bundle) -> str:
    with harness.static_server(bundle) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
