"""What export writes and the runtime reads: the one place both sides agree on.

Shapes, class labels, tensor names, file names, the model card's key, version and required
fields, and the preprocessing spec. Standard library only: the sealed runtime imports this too.
"""

from __future__ import annotations

SIDE = 28  # an MNIST digit is SIDE x SIDE pixels
INPUT_SIZE = SIDE * SIDE  # 784 float32 values in [0, 1], row-major
NUM_CLASSES = 10
LABELS = [str(d) for d in range(NUM_CLASSES)]

INPUT_NAME = "pixels"  # ONNX input  [batch, INPUT_SIZE]
OUTPUT_NAME = "probabilities"  # ONNX output [batch, NUM_CLASSES]

DEFAULT_DIR = "artifacts"  # where train writes and export/parity/predict look
KERAS_FILE = "model.keras"  # train → export
METRICS_FILE = "metrics.json"  # train → export (the card's training record)
FP32_FILE = "model.onnx"  # export → runtime
INT8_FILE = "model.int8.onnx"  # export → runtime
PORTABLE_FILE = "model.int8.portable.onnx"  # export → any ONNX runtime (default-domain ops only)
PARITY_FILE = "parity.json"  # the full parity report beside the models


def partial_parity_file(test_images: int) -> str:
    """Where a parity run on the first N test images only writes its report (never over the full one)."""
    return f"parity.first-{test_images}.json"


CARD_KEY = "mnist_edge.card"  # ONNX metadata key holding the model card (JSON)
CARD_VERSION = 2  # 2: sealed (content_sha256 over every byte but the seal; the card is the file's last field)
CARD_VERSIONS_READ = (1, 2)  # version 1 cards (no seal) still load, but cannot be --verify'd
# The fields a runtime relies on, with their JSON types; the card carries more (provenance, figures).
CARD_REQUIRED = {
    "card_version": int,
    "input": dict,
    "output": dict,
    "labels": list,
    "preprocessing": dict,
}
CARD_HASH_FIELDS = ("graph_sha256", "content_sha256")  # hex SHA-256 when present; both required from version 2

# Bump when preprocessing changes in a way that changes what the model sees.
PREPROCESSING_SPEC = "mnist-edge-preprocess/1"
PREPROCESSING_DESCRIPTION = (
    "grayscale, light digit on dark background, digit scaled to fit 20x20 keeping aspect ratio, "
    "centred by centre of mass in a 28x28 field, flattened row-major to 784 float32 values in [0, 1]"
)
