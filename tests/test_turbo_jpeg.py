"""JPEGs through TurboJPEG (``simplejpeg``, a dependency): the same pictures as Pillow's path, or Pillow's path."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from mnist_edge.runtime import decode as decode_module
from mnist_edge.runtime.decode import decode

pytestmark = [
    pytest.mark.runtime,
    pytest.mark.skipif(decode_module.simplejpeg is None, reason="simplejpeg cannot be loaded on this platform"),
]


def jpeg(img: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def through_pillow(data: bytes, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(decode_module, "simplejpeg", None)
        picture = decode(data)
        views = [picture.finer(f) for f in (2, 4, 8)]
    return picture, views


@pytest.fixture(scope="module")
def page(sample) -> Image.Image:
    """A 1000×700 page (light, uneven) with a dark digit: big enough for a reduced decode."""
    rng = np.random.default_rng(0)
    paper = np.clip(200 + 30 * np.linspace(0, 1, 1000)[None, :] + rng.normal(0, 6, (700, 1000)), 0, 255)
    digit = np.asarray(Image.fromarray(sample.x_test[0]).resize((60, 60)), np.float64)
    paper[300:360, 400:460] -= digit * 0.7
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    "kind",
    ["color", "gray", "progressive", "exif-rotated", "small"],
)
def test_the_same_picture_and_finer_views_as_pillows_draft_decode(page, kind, monkeypatch):
    img, options = page.convert("RGB"), {"quality": 85}
    if kind == "gray":
        img = page
    elif kind == "progressive":
        options["progressive"] = True
    elif kind == "exif-rotated":
        exif = Image.Exif()
        exif[0x0112] = 6
        img, options["exif"] = img.rotate(90, expand=True), exif
    elif kind == "small":
        img = img.resize((300, 210))
    data = jpeg(img, **options)
    fast = decode(data)
    slow, slow_views = through_pillow(data, monkeypatch)
    assert fast.turbo and not slow.turbo
    assert (fast.size, fast.scale, fast.fine_scale) == (slow.size, slow.scale, slow.fine_scale)
    assert np.array_equal(fast.gray, slow.gray) and np.array_equal(fast.fine, slow.fine)
    for f, (view, scale) in zip((2, 4, 8), slow_views, strict=True):
        fast_view, fast_scale = fast.finer(f)
        assert fast_scale == scale and np.array_equal(fast_view, view)
    if kind == "exif-rotated":
        assert fast.size == (1000, 700) and fast.stored_size == (700, 1000)  # turned back upright
    if kind != "small":
        assert fast.scale == 2  # a reduced decode: 1000×700 → 500×350


def test_cmyk_and_damaged_jpegs_go_to_pillow_with_its_verdict(page, monkeypatch):
    cmyk = jpeg(page.convert("CMYK"))
    assert not decode(cmyk).turbo
    assert np.array_equal(decode(cmyk).gray, through_pillow(cmyk, monkeypatch)[0].gray)
    good = jpeg(page.convert("RGB"))
    cut = good[: len(good) // 2]  # libjpeg warns "premature end": TurboJPEG refuses, Pillow decides
    assert decode_module._turbo_jpeg(cut) is None
    with pytest.raises(decode_module.ImageError) as fast:
        decode(cut)
    with monkeypatch.context() as m:
        m.setattr(decode_module, "simplejpeg", None)
        with pytest.raises(decode_module.ImageError) as slow:
            decode(cut)
    assert str(fast.value) == str(slow.value)


def test_a_damaged_jpeg_prints_nothing_on_stderr(tmp_path, page):
    data = bytearray(jpeg(page.convert("RGB")))
    for at in range(len(data) // 3, len(data) - 10, len(data) // 40):
        data[at] ^= 0x5A  # inside the entropy-coded data: libjpeg has something to say
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(data))
    result = run_cli("predict", path)
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("size", "want", "scale"),
    [
        ((640, 480), (320, 240), 2),
        ((640, 480), (100, 100), 4),
        ((4032, 3024), (10, 10), 8),
        ((500, 500), (400, 400), 1),
    ],
)
def test_the_draft_scale_is_pillows(size, want, scale):
    assert decode_module._draft_scale(*size, *want) == scale
    img = Image.open(io.BytesIO(jpeg(Image.new("RGB", size, "white"))))
    img.draft("L", want)
    assert img.size == (-(-size[0] // scale), -(-size[1] // scale))


def test_threads_decode_the_same_pictures(page):
    """``serve`` decodes in a thread pool: TurboJPEG keeps no state between calls."""
    from concurrent.futures import ThreadPoolExecutor

    pictures = [
        jpeg(page.convert("RGB").rotate(a, fillcolor="white"), quality=q) for a, q in ((0, 90), (3, 75), (-4, 95))
    ]
    alone = [decode(p).gray for p in pictures]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: decode(p).gray, pictures * 8))
    assert all(np.array_equal(g, alone[i % 3]) for i, g in enumerate(together))


def test_a_damaged_exif_block_is_no_orientation_and_no_warning(page, monkeypatch):
    import warnings

    exif = Image.Exif()
    exif[0x0112] = 6
    data = bytearray(jpeg(page.convert("RGB"), exif=exif))
    at = data.find(b"Exif\x00\x00") + 6
    data[at + 14 : at + 18] = b"\x00\x00\xff\xff"  # the orientation tag's value count: far past the block
    data = bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = decode(data)
    assert caught == []
    slow, _ = through_pillow(data, monkeypatch)
    assert fast.turbo and fast.size == slow.size and np.array_equal(fast.gray, slow.gray)
