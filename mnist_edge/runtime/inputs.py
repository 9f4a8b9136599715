"""What ``predict`` accepts on its command line: files, folders and globs, turned into image paths.

A new input kind (say, a zip of images or a URL list) is added here.
"""

from __future__ import annotations

import glob
from pathlib import Path

# the formats Pillow reads, and phone formats it cannot (listed so each gets decode's one-line reason)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
IMAGE_SUFFIXES |= {".heic", ".heif", ".avif"}


def images_in(folder: Path) -> list[str]:
    """Image files under ``folder``, recursively, sorted."""
    return [str(f) for f in sorted(folder.rglob("*")) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]


def expand_inputs(args) -> list[str]:
    """Files as given; folders walked for image files; globs expanded (folders they match walked too).

    Missing paths, and a folder named explicitly that holds no image, stay in the list to be reported.
    """
    paths: list[str] = []
    for arg in map(str, args):
        p = Path(arg)
        if p.is_dir():
            paths.extend(images_in(p) or [arg])  # an empty folder is reported, not silently skipped
        elif not p.exists() and glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                paths.append(arg)  # reported as missing
            for match in matches:
                paths.extend(images_in(Path(match)) if Path(match).is_dir() else [match])
        else:
            paths.append(arg)
    return paths
