"""Fetch the pinned onnxruntime-web files from the npm registry, check them, and vendor them.

``make web-vendor`` runs ``python -m mnist_edge.web.vendor``: ``npm pack`` downloads the pinned
tarball, its SHA-512 must equal the registry's integrity string pinned below, and each file the
page needs must then match its pinned SHA-256 before it is written (atomically) under
``static/vendor/``. ``--check`` only compares the committed files with the pins, offline.
Changing the version: update the pins here and in ``VENDOR.md`` together.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..files import write_bytes

PACKAGE = "onnxruntime-web"
VERSION = "1.30.0"
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
# The WASM build of ort (global `ort`), the Emscripten loader it imports, and the WASM binary.
FILES = {
    "ort.wasm.min.js": "faece07e84faa9001f5104bbe4e5c70861d06cb2376a0dea1fa0ad33a67adc81",
    "ort-wasm-simd-threaded.mjs": "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b",
    "ort-wasm-simd-threaded.wasm": "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
}
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mismatches(folder: Path = VENDOR_DIR) -> list[str]:
    """The vendored files that are missing or differ from their pinned SHA-256 (empty when all match)."""
    bad = []
    for name, digest in FILES.items():
        path = folder / name
        if not path.is_file() or sha256(path.read_bytes()) != digest:
            bad.append(name)
    return bad


def fetch(folder: Path = VENDOR_DIR) -> None:
    """Download the pinned tarball with npm, verify it, and write the needed files into ``folder``."""
    if shutil.which("npm") is None:
        sys.exit("npm is not installed: install Node.js/npm, or use the committed files (--check verifies them)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=tmp, check=True, stdout=subprocess.DEVNULL
        )
        tarball = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
        got = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if got != INTEGRITY:
            sys.exit(f"{tarball.name}: integrity {got} is not the pinned {INTEGRITY}")
        contents = {}
        with tarfile.open(tarball) as tar:
            for name, digest in FILES.items():
                data = tar.extractfile(f"package/dist/{name}").read()
                if sha256(data) != digest:
                    sys.exit(f"{name} in {tarball.name} does not match its pinned SHA-256")
                contents[name] = data
    for name, data in contents.items():
        write_bytes(folder / name, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only verify the committed files (no network).")
    args = parser.parse_args(argv)
    if not args.check:
        fetch()
    bad = mismatches()
    if bad:
        print(f"vendored files differ from the pins: {', '.join(bad)}; run 'make web-vendor'", file=sys.stderr)
        return 1
    for name in FILES:
        print(f"{name}: {(VENDOR_DIR / name).stat().st_size} bytes, sha256 {FILES[name]} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
