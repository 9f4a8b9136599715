"""Which font files may be used to train on printed digits, and which are held out for testing only.

Standard library only, so both training and the picture benchmark can import it.

The fonts come from Debian/Ubuntu packages (about 136 MB installed), installed with

    apt-get install -y --no-install-recommends <FONT_PACKAGES>

(``make fonts`` does this; the list is ``FONT_PACKAGES`` below, ``FONT_PACKAGES_LINE`` as one line).
Fonts are found by file name under the usual font directories (``FONT_DIRS``); patterns are shell-style
globs matched against the file's name, case-sensitive.

The split is by **family**, not by file: a family is either entirely in training or entirely held out,
and metric-compatible clones go together (Liberation Sans = Arimo ≈ Arial, Nimbus Sans ≈ FreeSans ≈
Helvetica, Liberation Serif = Tinos ≈ Nimbus Roman ≈ FreeSerif ≈ Times, Liberation Mono = Cousine ≈
Nimbus Mono ≈ FreeMono ≈ Courier). Held out on purpose: the most common office fonts (Arial/Helvetica
and Times and Courier look-alikes, bold weights included — a printed "1" in a common bold sans is the
failure that issue 12 reports), a humanist sans (Open Sans), a geometric sans (URW Gothic), a
school-book serif (C059 = Century Schoolbook), a coding mono (JetBrains Mono) and a handwriting-like
rounded face (Comic Neue). Every style class (sans, condensed, serif, mono, rounded/handwriting) keeps
other families for training.

Decorative script faces (Lobster, Dancing Script, Z003) are only in training: their digits are not
what anyone expects a digit reader to read, so they are not a fair held-out test.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

FONT_PACKAGES = (
    "fonts-liberation",
    "fonts-dejavu-core",
    "fonts-dejavu-extra",
    "fonts-freefont-ttf",
    "fonts-noto-core",
    "fonts-noto-mono",
    "fonts-roboto-unhinted",
    "fonts-open-sans",
    "fonts-croscore",
    "fonts-crosextra-carlito",
    "fonts-crosextra-caladea",
    "fonts-cantarell",
    "fonts-comic-neue",
    "fonts-urw-base35",
    "fonts-lato",
    "fonts-firacode",
    "fonts-inconsolata",
    "fonts-hack",
    "fonts-ebgaramond",
    "fonts-linuxlibertine",
    "fonts-oxygen",
    "fonts-quicksand",
    "fonts-league-spartan",
    "fonts-go",
    "fonts-jetbrains-mono",
    "fonts-bebas-neue",
    "fonts-dancingscript",
    "fonts-yanone-kaffeesatz",
    "fonts-anonymous-pro",
    "fonts-cabin",
    "fonts-comfortaa",
    "fonts-oldstandard",
    "fonts-lobster",
    "fonts-manrope",
    "fonts-b612",
    "fonts-inter",
    "fonts-hermit",
)
FONT_PACKAGES_LINE = " ".join(FONT_PACKAGES)

FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)
FONT_SUFFIXES = (".ttf", ".otf")

# Held out: never train on these. Each family with all its weights and styles.
HELD_OUT_FONTS = (
    # Arial / Helvetica look-alikes (sans, bold, narrow)
    "LiberationSans-*",
    "LiberationSansNarrow-*",
    "Arimo-*",
    "NimbusSans-*",
    "NimbusSansNarrow-*",
    "FreeSans.ttf",
    "FreeSansBold*.ttf",
    "FreeSansOblique.ttf",
    # other sans
    "OpenSans-*",
    "URWGothic-*",
    "Cantarell-*",
    # Times look-alikes and Century Schoolbook (serif)
    "LiberationSerif-*",
    "Tinos-*",
    "NimbusRoman-*",
    "FreeSerif*.ttf",
    "C059-*",
    # Courier look-alikes and a coding mono
    "LiberationMono-*",
    "Cousine-*",
    "NimbusMonoPS-*",
    "FreeMono*.ttf",
    "JetBrainsMono-*",
    # handwriting-like, rounded
    "ComicNeue-*",
)

# Available for training. Only Latin-digit families; Noto's many script-specific files are left out.
TRAINING_FONTS = (
    # sans
    "DejaVuSans.ttf",
    "DejaVuSans-*",
    "Roboto-*",
    "NotoSans-*",
    "NotoSansDisplay-*",
    "Lato-*",
    "Inter-*",
    "InterDisplay-*",
    "Carlito-*",
    "Go-Regular.ttf",
    "Go-Bold*.ttf",
    "Go-Medium*.ttf",
    "Go-Italic.ttf",
    "Oxygen-Sans*.ttf",
    "Cabin-*",
    "Manrope-*",
    "LeagueSpartan-*",
    "B612-*",
    "LinBiolinum_R*",  # not LinBiolinum_K: keyboard keys, a digit in a box
    # condensed / display
    "DejaVuSansCondensed*",
    "RobotoCondensed-*",
    "YanoneKaffeesatz-*",
    "BebasNeue-*",
    # serif
    "DejaVuSerif*",
    "NotoSerif-*",
    "NotoSerifDisplay-*",
    "P052-*",
    "URWBookman-*",
    "EBGaramond*",
    "LinLibertine_*",
    "Caladea-*",
    "OldStandard-*",
    # mono
    "DejaVuSansMono*",
    "NotoMono-*",
    "NotoSansMono-*",
    "Hack-*",
    "FiraCode-*",
    "Inconsolata*",
    "Go-Mono*",
    "Anonymous Pro*",
    "OxygenMono-*",
    "B612Mono-*",
    "Hermit-*",
    # rounded / script
    "Comfortaa-*",
    "Quicksand-*",
    "DancingScript-*",
    "lobster.otf",
    "Z003-*",
)


def _all_font_files(dirs=FONT_DIRS) -> list[Path]:
    files = []
    for d in dirs:
        if not d.is_dir():
            continue
        for root, _subdirs, names in os.walk(d):
            files.extend(Path(root) / n for n in names if n.lower().endswith(FONT_SUFFIXES))
    return files


def find_fonts(names=HELD_OUT_FONTS, dirs=FONT_DIRS) -> list[Path]:
    """Font files whose name matches any of the glob patterns ``names``, sorted by file name, one per name.

    A file name found in several directories is returned once (the first directory in ``dirs`` wins), so
    the result — and anything generated from it — does not depend on where a distribution puts fonts.
    """
    found: dict[str, Path] = {}
    for path in _all_font_files(dirs):
        if path.name not in found and any(fnmatch.fnmatchcase(path.name, p) for p in names):
            found[path.name] = path
    return [found[n] for n in sorted(found)]


def training_fonts() -> list[Path]:
    """The installed fonts that training may use (never a held-out one)."""
    held = {p.name for p in find_fonts(HELD_OUT_FONTS)}
    return [p for p in find_fonts(TRAINING_FONTS) if p.name not in held]


def held_out_fonts() -> list[Path]:
    """The installed fonts kept for testing only."""
    return find_fonts(HELD_OUT_FONTS)


if __name__ == "__main__":
    for title, fonts in (("held out", held_out_fonts()), ("training", training_fonts())):
        print(f"{title}: {len(fonts)} files")
        for f in fonts:
            print(f"  {f}")
