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


@dataclass(frozen=True)
class PictureNoise:
    """What digits from real pictures look like after the runtime's normalisation, each a probability per image.

    ``stroke_width``: thicker or thinner pen (grayscale dilation with a 2×2 or, for a share ``thick_3x3``
    of them, 3×3 max, or erosion with a 2×2 min, then the brightest pixel brought back to 1); ``blur``: a slight Gaussian blur (σ 0.6 px,
    mixed in at a random strength); ``noise``: additive Gaussian noise (σ up to ``noise_sigma``);
    ``broken``: one or two small square erasures (2 or ``break_size`` px a side) centred on the stroke
    (a broken or skipped line).
    """

    stroke_width: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    broken: float = 0.0
    thick_3x3: float = 0.2  # of the width changes: dilated 3×3 (the rest: 2×2 dilation, 2×2 erosion, half each)
    noise_sigma: float = 0.08
    break_size: int = 3  # an erasure is a square of 2 or of this many pixels a side, randomly

    @property
    def active(self) -> bool:
        return max(self.stroke_width, self.blur, self.noise, self.broken) > 0


def picture_noise_batch(flat_images, seed, noise: PictureNoise):
    """Apply ``noise`` to a float32 ``[B, 784]`` batch in [0, 1]; ``seed`` is a shape-[2] int tensor. Stays in [0, 1]."""
    import tensorflow as tf

    images = tf.reshape(flat_images, [-1, SIDE, SIDE, 1])
    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, num=12)

    def chosen(i, p):
        return tf.random.stateless_uniform([batch], seed=seeds[i]) < p

    def per_image(flags):
        return tf.reshape(flags, [-1, 1, 1, 1])

    if noise.stroke_width > 0:
        which = tf.random.stateless_uniform([batch], seed=seeds[1])
        thick2 = tf.nn.max_pool2d(images, 2, 1, "SAME")
        thick3 = tf.nn.max_pool2d(images, 3, 1, "SAME")
        thin = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
        thin = thin / tf.maximum(tf.reduce_max(thin, axis=[1, 2, 3], keepdims=True), 0.25)
        # a stroke too thin to survive erosion stays as it was
        thin_ok = tf.reduce_sum(thin, axis=[1, 2, 3]) > 0.4 * tf.reduce_sum(images, axis=[1, 2, 3])
        thick_end = 0.5 + noise.thick_3x3 / 2  # [0, 0.5 - t/2): 2×2 dilation, then 3×3, then erosion
        changed = tf.where(
            per_image(which < 0.5 - noise.thick_3x3 / 2), thick2, tf.where(per_image(which < thick_end), thick3, thin)
        )
        use = chosen(0, noise.stroke_width) & ((which < thick_end) | thin_ok)
        images = tf.where(per_image(use), tf.clip_by_value(changed, 0.0, 1.0), images)
    if noise.blur > 0:
        blurred = _gaussian_blur(images, 0.6)
        strength = tf.random.stateless_uniform([batch], seed=seeds[3], minval=0.5, maxval=1.0)
        mixed = images + per_image(strength) * (blurred - images)
        mixed = mixed / tf.maximum(tf.reduce_max(mixed, axis=[1, 2, 3], keepdims=True), 1e-3)
        images = tf.where(per_image(chosen(2, noise.blur)), tf.clip_by_value(mixed, 0.0, 1.0), images)
    if noise.broken > 0:
        images = tf.where(per_image(chosen(7, noise.broken)), _erase_on_stroke(images, seeds[4:7], noise), images)
    if noise.noise > 0:
        sigma = tf.random.stateless_uniform([batch], seed=seeds[9], minval=0.0, maxval=noise.noise_sigma)
        grain = tf.random.stateless_normal(tf.shape(images), seed=seeds[10]) * per_image(sigma)
        noisy = tf.clip_by_value(images + grain, 0.0, 1.0)
        images = tf.where(per_image(chosen(8, noise.noise)), noisy, images)
    return tf.reshape(images, [-1, SIDE * SIDE])


def _erase_on_stroke(images, seeds, noise: PictureNoise):
    """Zero one or two small squares centred on ink pixels (picked in proportion to the ink)."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    flat = tf.reshape(images, [batch, SIDE * SIDE])
    logits = tf.math.log(flat + 1e-6) * 4.0  # strongly towards bright stroke pixels
    centres = tf.random.stateless_categorical(logits, 2, seed=seeds[0])  # [B, 2]
    cy = tf.cast(centres // SIDE, tf.float32)[:, :, None, None]
    cx = tf.cast(centres % SIDE, tf.float32)[:, :, None, None]
    half = tf.where(tf.random.stateless_uniform([batch, 2], seed=seeds[1]) < 0.5, 1.0, noise.break_size / 2)[
        :, :, None, None
    ]
    second = tf.random.stateless_uniform([batch], seed=seeds[2]) < 0.5  # one erasure or two
    keep = tf.stack([tf.ones([batch], tf.bool), second], axis=1)[:, :, None, None]
    ys, xs = tf.meshgrid(tf.range(SIDE, dtype=tf.float32), tf.range(SIDE, dtype=tf.float32), indexing="ij")
    dy, dx = ys[None, None] - cy, xs[None, None] - cx
    inside = (dy >= -half) & (dy < half) & (dx >= -half) & (dx < half) & keep
    erased = tf.reduce_any(inside, axis=1)[..., None]  # [B, 28, 28, 1]
    return tf.where(erased, 0.0, images)
