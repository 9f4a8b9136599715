"""Import TensorFlow/Keras quietly and only when a command really needs them."""

from __future__ import annotations

import os
import sys

from ..errors import MnistEdgeError
from ..quiet import c_stderr_muted


def import_keras():
    """Return the ``keras`` module (TensorFlow backend), with TensorFlow's start-up chatter silenced.

    TensorFlow's C++ side prints oneDNN/CUDA notices to file descriptor 2 while it
    loads and finds no GPU, before ``TF_CPP_MIN_LOG_LEVEL`` takes effect; they say
    nothing a user of this CPU tool needs, so stderr is muted at the OS level
    during that window only.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with c_stderr_muted():
            import keras
            import tensorflow as tf

            tf.config.list_physical_devices()  # triggers the CUDA probe now, while muted
    except ImportError as e:
        raise MnistEdgeError(f"this command needs the train extra ({e}); pip install 'mnist-edge[train]'") from None
    return keras
