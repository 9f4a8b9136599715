"""Training recipes: ``TrainConfig`` and the three that ship (``RECIPES``).

``seed`` is the classic Keras tutorial exactly; ``edge`` keeps the same network (and so the same
size on the edge) but trains it longer on distorted digits with a cosine learning-rate schedule,
label smoothing, weight decay and early stopping on a validation split carved from the training
set. ``pictures`` is ``edge`` plus what digits from real pictures look like after the runtime's
normalisation: printed digits from the training fonts (a few percent of the examples) and
thin/thick pens, slight blur, noise and broken strokes. ``best`` is the same network again, trained
for accuracy (issue 18): stronger affine jitter, 200 epochs of a one-cycle schedule, AdamW (weight
decay 1e-2), no label smoothing (so confidences are not squashed), and an exponential moving average
(EMA) of the weights, which is what is validated and saved; plus 3 % printed digits from the training
fonts, so that printed "1"s read right (issue 12), and 10 % non-digits with the uniform distribution
as their target (outlier exposure, ``training/negatives.py``), so that the card's entropy rule can say
"not a digit" (issue 13). ``best`` trains the shipped models. Every idea is a field of ``TrainConfig``, so a
recipe can switch it off (the README's ablation table). Add a recipe here: a name and a ``TrainConfig``.
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
    # "constant"; "cosine" (1 epoch warm-up from lr/10, decay to 1 %); "onecycle" (linear warm-up from
    # lr/25 over the first 30 % of steps, then cosine decay to ~0)
    schedule: str = "constant"
    weight_decay: float = 0.0  # decoupled (AdamW) when > 0
    label_smoothing: float = 0.0
    distortion: Distortion | None = None  # random affine/elastic distortion of training batches
    printed_digits: float = 0.0  # share of training examples replaced by printed digits (training fonts)
    picture_noise: PictureNoise | None = None  # pen width, blur, noise, broken strokes (probabilities)
    # share of training examples replaced by non-digits (training/negatives.py) with the uniform
    # distribution as their target: outlier exposure, for the card's "not a digit" rule (issue 13)
    negatives: float = 0.0
    other_scripts: bool = False  # the non-digits include letters of other scripts (training/scripts.py)
    validation: int = 0  # training images held out to pick the best epoch
    patience: int | None = None  # early stopping on validation accuracy
    # exponential moving average of the weights, updated every step with this momentum (0.999 ≈ the
    # last 1,000 steps); validation figures and the saved model use the averaged weights. 0: off
    ema_momentum: float = 0.0

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
    "best": TrainConfig(
        recipe="best",
        epochs=200,
        dropout=0.2,
        batch_size=128,
        learning_rate=1e-3,
        schedule="onecycle",
        weight_decay=1e-2,
        label_smoothing=0.0,  # 0.05 measured no better on validation (README ablation)
        distortion=Distortion(max_shift=2.5, max_rotation=12.0, max_scale=0.12, max_shear=0.2),
        printed_digits=0.03,  # printed digits from the training fonts (issue 12): held-out fonts 98.1 → 99.9 %
        negatives=0.1,  # outlier exposure (issue 13): held-out non-digits rejected 40 → 73 % (30-epoch probe)
        validation=5000,
        ema_momentum=0.999,
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
# best + letters of other scripts among the non-digits (issue 13). Refuses more letters of other scripts
# (held-out scripts 63 → 76 %), but seed 1 lost 0.13 points on MNIST and pictures, numbers and fonts
# fell with its stricter fitted threshold, so it is not the shipped recipe (README "Letters of other scripts").
RECIPES["best-scripts"] = RECIPES["best"].replace(recipe="best-scripts", other_scripts=True)
SCHEDULES = ("constant", "cosine", "onecycle")
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
    if config.schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule {config.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if config.ema_momentum:
        if not 0 < config.ema_momentum < 1:
            raise ConfigError(f"ema_momentum must be between 0 and 1, not {config.ema_momentum}")
        if config.patience:
            # early stopping would restore raw (not averaged) weights of its best epoch
            raise ConfigError("early stopping (patience) and weight averaging (ema_momentum) do not combine")
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
