"""Stage 1, training: MNIST loading, augmentation, the model, recipes and fitting.

Importing this package does not import TensorFlow; ``train`` does, after checking its inputs.
"""

from .fit import train
from .recipes import DEFAULT_RECIPE, RECIPES, TrainConfig, make_config

__all__ = ["DEFAULT_RECIPE", "RECIPES", "TrainConfig", "make_config", "train"]
