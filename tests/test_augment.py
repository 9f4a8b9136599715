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
