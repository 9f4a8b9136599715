"""Training recipes: ``TrainConfig`` and the two that ship (``RECIPES``).

``seed`` is the classic Keras tutorial exactly; ``edge`` keeps the same network (and so the same
size on the edge) but trains it longer on distorted digits with a cosine learning-rate schedule,
label smoothing, weight decay and early stopping on a validation split carved from the training
set. ``pictures`` is ``edge`` plus what digits from real pictures look like after the runtime's
normalisation: printed digits from the training fonts (a few percent of the examples) and
thin/thick pens, slight blur, noise and broken strokes. Add a recipe here: a name and a ``TrainConfig``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ConfigError
from .augment import Distortion, PictureNoise

MIN_TRAIN_IMAGES = 10  # at least one image a class, on average, after the validation split


@dataclass(frozen=True)
class TrainConfig:
    recipe: str = "custom"
    epochs: int = 5
    seed: int = 0
    hidden: tuple[int, ...] = field(default=(512, 512))
    dropout: float = 0.2
    batch_size: int = 128
    learning_rate: float = 1e-3
    train_images: int | None = None  # train on a seeded random subset of this many images
    schedule: str = "constant"  # or "cosine" (decay to 1 % over all epochs, 1 epoch warm-up)
    weight_decay: float = 0.0  # decoupled (AdamW) when > 0
    label_smoothing: float = 0.0
    distortion: Distortion | None = None  # random affine/elastic distortion of training batches
    printed_digits: float = 0.0  # share of training examples replaced by printed digits (training fonts)
    picture_noise: PictureNoise | None = None  # pen width, blur, noise, broken strokes (probabilities)
    validation: int = 0  # training images held out to pick the best epoch
    patience: int | None = None  # early stopping on validation accuracy

    def replace(self, **changes) -> TrainConfig:
        """A copy with the given fields changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


RECIPES = {
    "seed": TrainConfig(recipe="seed"),
    "edge": TrainConfig(
        recipe="edge",
        epochs=40,
        dropout=0.25,
        batch_size=128,
        learning_rate=2e-3,
        schedule="cosine",
        weight_decay=2e-5,
        label_smoothing=0.1,
        distortion=Distortion(),
        validation=5000,
        patience=10,
    ),
}
# edge + what digits from real pictures look like after the runtime's normalisation (issue 12). Much
# better on printed digits (held-out fonts), but 99.12 % on the MNIST test set (seed 0) against edge's
# 99.22 %, so it is not the shipped recipe (README "Pictures").
RECIPES["pictures"] = RECIPES["edge"].replace(
    recipe="pictures",
    epochs=50,
    printed_digits=0.04,
    picture_noise=PictureNoise(stroke_width=0.1, thick_3x3=0.0, blur=0.05, noise=0.05, broken=0.05),
)
DEFAULT_RECIPE = "edge"


def make_config(recipe: str = DEFAULT_RECIPE, **overrides) -> TrainConfig:
    """A recipe with overrides (``None`` = keep the recipe's value), checked.

    A subset smaller than the recipe's validation split gets a validation split of a tenth of it.
    """
    if recipe not in RECIPES:
        raise ConfigError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    config = RECIPES[recipe].replace(**overrides)
    if config.train_images and config.validation >= config.train_images:
        config = config.replace(validation=max(1, config.train_images // 10))
    check_config(config)
    return config


def check_config(config: TrainConfig, available: int | None = None) -> None:
    """One-line ConfigError when the config cannot train; ``available``: training images in the data."""
    images = config.train_images if available is None else min(available, config.train_images or available)
    if images is None:
        return
    left = images - config.validation
    if left < MIN_TRAIN_IMAGES:
        split = f" after a validation split of {config.validation}" if config.validation else ""
        raise ConfigError(
            f"{images} training images leave {max(left, 0)} to train on{split}; "
            f"at least {MIN_TRAIN_IMAGES} are needed (--train-images)"
        )
