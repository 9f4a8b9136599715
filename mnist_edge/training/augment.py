"""Random affine and elastic distortions of MNIST batches, as TensorFlow ops in a tf.data pipeline.

Runs on the CPU alongside training (two cores are enough: one transform op a
batch). Randomness is stateless, keyed by the run's seed and the batch number,
so a seeded run sees the same distortions every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import SIDE

CENTER = (SIDE - 1) / 2


@dataclass(frozen=True)
class Distortion:
    max_shift: float = 2.0  # pixels
    max_rotation: float = 12.0  # degrees
    max_scale: float = 0.10  # ±10 % size
    max_shear: float = 0.15
    elastic_alpha: float = 0.0  # displacement in pixels; 0 turns elastic distortion off
    elastic_sigma: float = 4.0  # smoothness of the displacement field, in pixels


def augment_batch(flat_images, seed, distortion: Distortion):
    """Distort a float32 ``[B, 784]`` batch; ``seed`` is a shape-[2] int tensor (run seed, batch number)."""
    import math

    import tensorflow as tf

    images = tf.reshape(flat_images, [-1, SIDE, SIDE, 1])
    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, num=6)

    def uniform(i, limit):
        return tf.random.stateless_uniform([batch], seed=seeds[i], minval=-limit, maxval=limit)

    angle = uniform(0, distortion.max_rotation * math.pi / 180)
    scale = 1.0 + uniform(1, distortion.max_scale)
    shear = uniform(2, distortion.max_shear)
    tx, ty = uniform(3, distortion.max_shift), uniform(4, distortion.max_shift)
    # The op wants the map from output to input pixel: the inverse of rotate·shear·scale about the centre.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    a2 = CENTER - a0 * CENTER - a1 * CENTER - tx
    b2 = CENTER - b0 * CENTER - b1 * CENTER - ty
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[SIDE, SIDE],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    if distortion.elastic_alpha > 0:
        images = _elastic(images, seeds[5], distortion.elastic_alpha, distortion.elastic_sigma)
    return tf.reshape(images, [-1, SIDE * SIDE])


def _elastic(images, seed, alpha: float, sigma: float):
    """Simard-style elastic distortion: a smoothed random displacement field, applied bilinearly."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    field = tf.random.stateless_uniform([batch, SIDE, SIDE, 2], seed=seed, minval=-1.0, maxval=1.0)
    field = _gaussian_blur(field, sigma)
    field = field / (tf.reduce_max(tf.abs(field), axis=[1, 2, 3], keepdims=True) + 1e-6) * alpha
    ys, xs = tf.meshgrid(tf.range(SIDE, dtype=tf.float32), tf.range(SIDE, dtype=tf.float32), indexing="ij")
    src_y = ys[None] + field[..., 0]
    src_x = xs[None] + field[..., 1]
    return _bilinear_sample(images, src_y, src_x)


def _gaussian_blur(x, sigma: float):
    import numpy as np
    import tensorflow as tf

    radius = int(3 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    channels = x.shape[-1]
    kernel_y = tf.constant(np.tile(taps[:, None, None, None], (1, 1, channels, 1)))
    kernel_x = tf.constant(np.tile(taps[None, :, None, None], (1, 1, channels, 1)))
    x = tf.nn.depthwise_conv2d(x, kernel_y, strides=[1, 1, 1, 1], padding="SAME")
    return tf.nn.depthwise_conv2d(x, kernel_x, strides=[1, 1, 1, 1], padding="SAME")


def _bilinear_sample(images, src_y, src_x):
    import tensorflow as tf

    y0, x0 = tf.floor(src_y), tf.floor(src_x)
    wy, wx = src_y - y0, src_x - x0
    batch = tf.shape(images)[0]
    b = tf.broadcast_to(tf.range(batch)[:, None, None], tf.shape(src_y))

    def at(yy, xx):
        inside = (yy >= 0) & (yy <= SIDE - 1) & (xx >= 0) & (xx <= SIDE - 1)
        yi = tf.clip_by_value(tf.cast(yy, tf.int32), 0, SIDE - 1)
        xi = tf.clip_by_value(tf.cast(xx, tf.int32), 0, SIDE - 1)
        values = tf.gather_nd(images[..., 0], tf.stack([b, yi, xi], axis=-1))
        return tf.where(inside, values, 0.0)

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return (top * (1 - wy) + bottom * wy)[..., None]
