"""The training distortions: identity when switched off, seeded, and digit-preserving."""

import numpy as np
import pytest

from mnist_edge.training.augment import Distortion, augment_batch
from mnist_edge.training.data import load_path, to_model_input
from mnist_edge.training.keras_env import import_keras


@pytest.fixture(scope="module")
def tf():
    import_keras()
    import tensorflow

    return tensorflow


@pytest.fixture(scope="module")
def digits(sample_dir):
    return to_model_input(load_path(sample_dir).x_test[:32])


def run(tf, images, seed, distortion):
    return augment_batch(tf.constant(images), tf.constant(seed, tf.int64), distortion).numpy()


def test_zero_distortion_is_identity(tf, digits):
    none = Distortion(max_shift=0, max_rotation=0, max_scale=0, max_shear=0)
    np.testing.assert_allclose(run(tf, digits, [0, 0], none), digits, atol=1e-5)


def test_same_seed_same_distortion_other_seed_other(tf, digits):
    elastic = Distortion(elastic_alpha=2.0)
    a, b = run(tf, digits, [3, 9], elastic), run(tf, digits, [3, 9], elastic)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - run(tf, digits, [3, 10], elastic)).mean() > 0.01


def test_distortions_keep_the_digit_recognisable(tf, digits):
    out = run(tf, digits, [1, 2], Distortion(elastic_alpha=2.0))
    assert out.shape == digits.shape and out.min() >= 0 and out.max() <= 1.0 + 1e-6
    changed = np.abs(out - digits).mean(axis=1)
    assert (changed > 0).all()
    corr = [np.corrcoef(o, d)[0, 1] for o, d in zip(out, digits, strict=True)]
    assert np.mean(corr) > 0.4  # moved and bent, still the same strokes
    ink_ratio = out.sum(axis=1) / digits.sum(axis=1)
    assert np.all((ink_ratio > 0.6) & (ink_ratio < 1.5))


# --- what real pictures look like after normalisation: pen width, blur, noise, broken strokes ---------


def noisy(tf, images, seed, noise):
    from mnist_edge.training.augment import picture_noise_batch

    return picture_noise_batch(tf.constant(images), tf.constant(seed, tf.int64), noise).numpy()


ALL_ON = dict(stroke_width=1.0, blur=1.0, noise=1.0, broken=1.0)


@pytest.mark.parametrize("kind", [*ALL_ON, "all"])
def test_picture_noise_keeps_shape_and_range_and_changes_every_image(tf, digits, kind):
    from mnist_edge.training.augment import PictureNoise

    noise = PictureNoise(**(ALL_ON if kind == "all" else {kind: 1.0}))
    out = noisy(tf, digits, [4, 2], noise)
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    changed = np.abs(out - digits).max(axis=1) > 1e-3
    assert changed.mean() > (0.7 if kind == "stroke_width" else 0.95)  # a stroke too thin to erode is kept
    corr = [np.corrcoef(o, d)[0, 1] for o, d in zip(out, digits, strict=True)]
    assert np.mean(corr) > 0.6  # the same digit


def test_picture_noise_is_deterministic_per_seed(tf, digits):
    from mnist_edge.training.augment import PictureNoise

    noise = PictureNoise(stroke_width=0.5, blur=0.5, noise=0.5, broken=0.5)
    a, b = noisy(tf, digits, [7, 1], noise), noisy(tf, digits, [7, 1], noise)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - noisy(tf, digits, [7, 2], noise)).mean() > 1e-3


def test_picture_noise_at_zero_probability_is_identity(tf, digits):
    from mnist_edge.training.augment import PictureNoise

    np.testing.assert_array_equal(noisy(tf, digits, [0, 0], PictureNoise()), digits)


def test_broken_strokes_only_remove_ink(tf, digits):
    from mnist_edge.training.augment import PictureNoise

    out = noisy(tf, digits, [1, 1], PictureNoise(broken=1.0))
    assert np.all(out <= digits + 1e-7)
    removed = (digits - out).sum(axis=1)
    assert np.all(removed > 0) and np.all(removed < 0.3 * digits.sum(axis=1))


def test_printed_digits_are_mixed_into_batches_at_the_rate_asked_deterministically(tf, digits):
    from mnist_edge.training.fit import _training_dataset
    from mnist_edge.training.printed import PrintedSet
    from mnist_edge.training.recipes import make_config

    labels = np.zeros(len(digits), np.uint8)  # every MNIST digit here labelled 0, every printed one 9
    fake = PrintedSet(np.ones((5, 784), np.float32) * 0.5, np.full(5, 9, np.uint8), ("A.ttf",), ())
    config = make_config("seed", printed_digits=0.25, batch_size=32)

    def first_batches(seed):
        ds = _training_dataset(tf, digits, labels, config.replace(seed=seed), fake)
        return [(x.numpy(), y.numpy()) for x, y in ds.take(8)]

    a, b = first_batches(3), first_batches(3)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    printed_share = np.mean([y.argmax(axis=1) == 9 for _, y in a])
    assert 0.15 < printed_share < 0.35
    for x, y in a:  # a printed example carries its own image (the seed recipe does not distort)
        np.testing.assert_array_equal(x[y.argmax(axis=1) == 9], 0.5)


def test_pictures_recipe_is_edge_plus_the_picture_augmentations():
    from mnist_edge.training.recipes import RECIPES, make_config

    edge, pictures = RECIPES["edge"], make_config("pictures")
    assert edge.printed_digits == 0 and edge.picture_noise is None  # the demo recipe reads MNIST only
    assert 0 < RECIPES["best"].printed_digits <= 0.05 and RECIPES["best"].picture_noise is None  # the shipped one
    assert 0 < pictures.printed_digits <= 0.1 and pictures.picture_noise.active
    unchanged = {"distortion", "schedule", "learning_rate", "label_smoothing", "validation", "patience", "hidden"}
    assert all(getattr(pictures, k) == getattr(edge, k) for k in unchanged)


def test_negatives_are_mixed_in_with_a_uniform_target_at_the_rate_asked(tf, digits):
    from mnist_edge.training.fit import _training_dataset
    from mnist_edge.training.negatives import NegativeSet
    from mnist_edge.training.recipes import make_config

    labels = np.zeros(len(digits), np.uint8)
    fake = NegativeSet(np.full((7, 784), 0.25, np.float32), {"scribbles": 7})
    config = make_config("seed", negatives=0.25, batch_size=32)
    batches = [(x.numpy(), y.numpy()) for x, y in _training_dataset(tf, digits, labels, config, None, fake).take(8)]
    uniform = np.concatenate([np.all(np.isclose(y, 0.1), axis=1) for _, y in batches])
    assert 0.15 < uniform.mean() < 0.35
    for x, y in batches:  # a negative carries its own picture; the digits keep their one-hot label
        exposed = np.all(np.isclose(y, 0.1), axis=1)
        np.testing.assert_array_equal(x[exposed], 0.25)
        assert np.all(y[~exposed].max(axis=1) == 1.0)
