"""fp32 ONNX → int8 ONNX with onnxruntime's quantizer: static (calibrated), dynamic, or portable.

static and dynamic are for onnxruntime (static: fused QGemm, ``com.microsoft``); portable is
calibrated like static but written in default-domain ONNX ops only, for any ONNX runtime.

Weights are quantized to 7 bits (``reduce_range``). On an x86 CPU without VNNI (AVX2 only, as the
AMD EPYC machines here), onnxruntime's uint8 × int8 kernel adds pairs of products in int16, which
saturates with 8-bit weights (2 × 255 × 127 > 32,767) and not with 7-bit ones (2 × 255 × 64): the
int8 model then computes the same sums on every CPU. With 8-bit weights, a model trained in the tests
(2 epochs, 4,000 images) made fp32's digit/not-a-digit decision on 99.47% of inputs on such a CPU
(the gate needs 99.5%), 99.84% with 7-bit ones; the shipped int8 model (8-bit) moved one MNIST test
digit there (99.45% → 99.44%).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..contract import INPUT_NAME

QUANTIZE_MODES = ("static", "dynamic")  # what --quantize takes; "portable" is --portable


def quantize(fp32_path: Path, int8_path: Path, mode: str, calibration: np.ndarray) -> None:
    """Write an int8 copy of ``fp32_path``: static (calibrated on ``calibration``), dynamic or portable.

    Static: the Dense layers are first fused into Gemm nodes, quantized per tensor (uint8
    activations, int8 weights) into one QGemm each, and the last QGemm writes float logits for the
    float Softmax. Five nodes instead of nine; why each choice, with figures: benchmarks/int8_variants.py.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    from .fusion import float_output_last_qgemm, fuse_dense_layers

    root = logging.getLogger()
    saved_level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs generic advice on the root logger
    try:
        if mode == "dynamic":
            quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
            return
        if mode == "portable":
            _quantize_portable(fp32_path, int8_path, calibration)
            return
        fused = onnx.load(str(fp32_path))
        fuse_dense_layers(fused)
        onnx.save(fused, str(int8_path))  # the quantizer reads a file; int8_path is our temp file
        quantize_static(
            str(int8_path),
            str(int8_path),
            _CalibrationReader(calibration),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=False,  # per-channel QGemm runs 1.3x slower at batch 1 and is no more accurate here
            reduce_range=True,  # 7-bit weights: the same sums on every CPU (the module's text)
            op_types_to_quantize=["Gemm", "Relu"],  # softmax stays float: smooth confidences
        )
        quantized = onnx.load(str(int8_path))
        float_output_last_qgemm(quantized)
        onnx.save(quantized, str(int8_path))
    finally:
        root.setLevel(saved_level)


def _quantize_portable(fp32_path: Path, int8_path: Path, calibration: np.ndarray) -> None:
    """The portable int8 model: QDQ around one Gemm per Dense layer, default-domain ops only.

    Same calibration, per-tensor int8 weights and uint8 activations as static, so onnxruntime
    fuses it into the same QGemm kernels; why the biases stay float and the opset is 19:
    ``portable``.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from .fusion import fuse_dense_layers
    from .portable import default_domain, float_logits

    fused = onnx.load(str(fp32_path))
    fuse_dense_layers(fused)
    onnx.save(fused, str(int8_path))
    quantize_static(
        str(int8_path),
        str(int8_path),
        _CalibrationReader(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=False,
        reduce_range=True,  # as the static model's
        op_types_to_quantize=["Gemm", "Relu"],
        extra_options={"QuantizeBias": False},  # int32 biases break OpenCV DNN (see portable.py)
    )
    quantized = onnx.load(str(int8_path))
    float_logits(quantized)
    portable = default_domain(quantized)
    onnx.checker.check_model(portable, full_check=True)
    onnx.save(portable, str(int8_path))


class _CalibrationReader:
    """Feeds calibration images to onnxruntime's static quantizer in batches."""

    def __init__(self, images: np.ndarray, batch: int = 100):
        self._batches = iter([images[i : i + batch] for i in range(0, len(images), batch)])

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}

    def rewind(self):  # part of the reader protocol; a single pass is all we offer
        pass
