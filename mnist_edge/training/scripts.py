"""Letters of scripts other than Latin, for outlier exposure, split by script into trained and held out.

A digits-only model reads a letter it has never seen as the digit it most resembles: a Naskh Arabic
letter (one or two strokes and dots) comes out a confident 2, 3, 5 or 6. Drawing single letters of
other scripts as negatives teaches their shapes "every digit equally likely". The fonts are Debian's
``fonts-noto-core`` (``mnist_edge/fonts.py``); a script whose fonts are missing is skipped.

**The split is by script**, so the benchmark (``benchmarks/more_non_digits.py``) has an honest
held-out figure: scripts in ``HELD_OUT`` are never drawn in training, in any font.

* Trained (``TRAINED``): Arabic (Noto Sans Arabic and Noto Kufi Arabic only), Devanagari, Cyrillic,
  Georgian, Tamil, Ethiopic, Gujarati, Kannada — varied stroke styles (dotted strokes, a head line,
  loops, hooks), a few fonts each.
* Held out (``HELD_OUT``): Hebrew, Thai, Bengali, Armenian, Greek, Malayalam, Sinhala; and Arabic in
  Noto Naskh Arabic (``ARABIC_NASKH``), the font of the benchmark's Arabic kind, so that its figure is
  "trained script, unseen font".

**Digits are never taught as non-digits.** No script's digits are listed (Arabic-Indic, Devanagari,
Thai, Bengali, …: ``Script.letters`` are letters only), and each script's ``digit_like`` leaves out the
letters that a reader takes for a Western digit once normalised (Cyrillic З and О, Greek Ο and Ζ,
Arabic alef, Hebrew vav and samekh, …), the policy of ``negatives.DIGIT_LIKE_LETTERS`` for Latin. The
lists were chosen by looking at a contact sheet of every letter the shipped model read as one digit
with high confidence (``benchmarks/script_glyphs.py``), and by the Latin list's reasons (a letter
shaped as y, q, g, b, s or t); letters it read as a digit but that no reader
would (most Arabic and Devanagari letters) stay in: they are the point of this kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fonts import find_fonts


def _span(first: int, last: int, skip: str = "") -> str:
    """The code points ``first``..``last`` (inclusive) as a string, without the characters of ``skip``.

    A block's span may hold a few unassigned code points: no font has a glyph for them, so the
    negatives never draw them (``negatives._has_glyph`` draws another letter of the script instead).
    """
    return "".join(chr(c) for c in range(first, last + 1) if chr(c) not in skip)


@dataclass(frozen=True)
class Script:
    """One script's letters (never its digits), the letters left out as digit-like, and its font files."""

    name: str
    fonts: tuple[str, ...]  # file-name globs, as in mnist_edge/fonts.py
    letters: str
    digit_like: str = ""  # left out: a reader would take these for a Western digit

    @property
    def alphabet(self) -> list[str]:
        return [c for c in self.letters if c not in self.digit_like and not c.isdigit()]

    def font_files(self) -> list[Path]:
        return find_fonts(self.fonts)


ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويةىءأإآؤئ"
# alef and its hamza/madda forms are a 1; heh and teh marbuta a 0 or an o; waw a 9 (its loop and tail)
ARABIC_DIGIT_LIKE = "اأإآهةوؤ"

TRAINED = (
    Script("arabic", ("NotoSansArabic-*", "NotoKufiArabic-*"), ARABIC_LETTERS, ARABIC_DIGIT_LIKE),
    Script(
        "devanagari",
        ("NotoSansDevanagari-*", "NotoSerifDevanagari-*"),
        _span(0x0905, 0x0914) + _span(0x0915, 0x0939),
        "उऊ",  # a 3
    ),
    Script(
        "cyrillic",
        ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
        _span(0x0410, 0x044F),
        # З з Э э are a 3, О о a 0, Б б Ь ь Ъ ъ a 6 (as Latin b), Ч ч a 4, В в an 8 (as Latin B),
        # Т т a 7 (as Latin T), у a 4 or 9 (as Latin y)
        "ЗзЭэОоБбЬьЪъЧчВвТту",
    ),
    # ვ კ პ ჰ are a 3 (with a hook), ნ a 6, ხ a 6 (as Latin b)
    Script("georgian", ("NotoSansGeorgian-*", "NotoSerifGeorgian-*"), _span(0x10D0, 0x10F0), "ვკპჰნხ"),
    Script("tamil", ("NotoSansTamil-*", "NotoSerifTamil-*"), _span(0x0B85, 0x0BB9), "உ"),  # a 2
    Script(
        "ethiopic",
        ("NotoSansEthiopic-*", "NotoSerifEthiopic-*"),
        _span(0x1200, 0x1357),
        # the ʿayin series is an O (0), the ṣ́appa series a 0 or 9 with a tail, ገ ጉ ግ a 7, the pa series a T (7)
        _span(0x12D0, 0x12D6) + _span(0x1340, 0x1346) + "ገጉግ" + _span(0x1350, 0x1357),
    ),
    # ર is a 2 (as Gujarati's own ૨), વ a 9, ડ a 5 (as Latin S)
    Script("gujarati", ("NotoSansGujarati-*", "NotoSerifGujarati-*"), _span(0x0A85, 0x0AB9), "રવડ"),
    Script("kannada", ("NotoSansKannada-*", "NotoSerifKannada-*"), _span(0x0C85, 0x0CB9), "ತ"),  # a 3
)

ARABIC_NASKH = Script("arabic (naskh)", ("NotoNaskhArabic-*",), ARABIC_LETTERS, ARABIC_DIGIT_LIKE)

HELD_OUT = (
    ARABIC_NASKH,
    # vav and final nun are a 1, samekh and final mem a 0 (a closed box), final kaf a 7
    Script("hebrew", ("NotoSansHebrew-*", "NotoSerifHebrew-*", "NotoRashiHebrew-*"), _span(0x05D0, 0x05EA), "וןסםך"),
    Script("thai", ("NotoSansThai-*", "NotoSerifThai-*", "NotoLoopedThai-*"), _span(0x0E01, 0x0E2E), ""),
    Script("bengali", ("NotoSansBengali-*", "NotoSerifBengali-*"), _span(0x0985, 0x09B9), ""),
    Script(
        "armenian",
        ("NotoSansArmenian-*", "NotoSerifArmenian-*"),
        _span(0x0531, 0x0556) + _span(0x0561, 0x0586),
        # Օ օ an O, Յ a 3, Տ a 5 (as Latin S), Չ Ջ չ շ a 2, լ a 1 (as l), յ a 1 (as j), Գ գ զ ց a 9 (as q, g)
        "ՕօՅՏՉՋչշլյԳգզց",
    ),
    Script(
        "greek",
        ("DejaVuSans.ttf", "DejaVuSerif.ttf", "NotoSans-Regular.ttf", "NotoSerif-Regular.ttf"),
        _span(0x0391, 0x03A9) + _span(0x03B1, 0x03C9),
        # Ο ο θ σ a 0, Ι ι a 1, Ζ ζ a 2, Β β an 8, Τ τ a 7, δ a 6 or 8, ς a 5 (as s), γ a 4 or 9 (as y), ξ a 3
        "ΟοθσΙιΖζΒβΤτδςγξ",
    ),
    Script("malayalam", ("NotoSansMalayalam-*", "NotoSerifMalayalam-*"), _span(0x0D05, 0x0D39), "ഠ"),  # a 0
    Script("sinhala", ("NotoSansSinhala-*", "NotoSerifSinhala-*"), _span(0x0D85, 0x0DC6), ""),
)


def available(scripts=TRAINED) -> list[tuple[Script, list[Path]]]:
    """The scripts whose fonts are installed, each with its font files; a script without fonts is left out."""
    return [(s, files) for s in scripts if (files := s.font_files())]
