"""Runtime adapters: run an exported ONNX file in the runtimes its users deploy to.

One small function per runtime, each returning ``run(pixels) -> probabilities`` for float32
``[n, 784]`` input, single-threaded so that speed figures compare:

* ``onnxruntime``: what ``mnist-edge predict`` uses; runs every model, including the fused int8
  one (``com.microsoft`` QGemm).
* ``reference``: the ONNX reference evaluator (``onnx.reference``, in the ``train`` extra); plain
  numpy, the specification executed.
* ``opencv``: OpenCV's DNN module (``pip install 'mnist-edge[portable]'``, opencv-python-headless).

The last two implement the default ONNX domain only, so they are not asked to run a model with
other ops; ``unsupported`` says why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..contract import INPUT_NAME
from ..errors import ConfigError

Runner = Callable[[np.ndarray], np.ndarray]

RUNTIMES = ("onnxruntime", "reference", "opencv")
# runtime → (module to import, what to install)
_PACKAGES = {
    "onnxruntime": ("onnxruntime", "onnxruntime"),
    "reference": ("onnx", "onnx (pip install 'mnist-edge[train]')"),
    "opencv": ("cv2", "opencv-python-headless (pip install 'mnist-edge[portable]')"),
}


def parse_runtimes(text: str) -> tuple[str, ...]:
    """``"onnxruntime,opencv"`` → ``("onnxruntime", "opencv")``; unknown names raise ConfigError."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in RUNTIMES]
    if unknown or not names:
        raise ConfigError(f"--runtime takes a comma-separated list of {', '.join(RUNTIMES)}; got {text!r}")
    return names


def missing(runtime: str) -> str | None:
    """Why ``runtime`` cannot run here (its package is not installed), or None when it can."""
    module, install = _PACKAGES[runtime]
    return None if _installed(module) else f"{runtime} skipped: {module} is not installed; needs {install}"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def unsupported(runtime: str, path: str | Path) -> str | None:
    """Why ``runtime`` is not asked to run the model at ``path`` (ops outside its domains), or None."""
    if runtime == "onnxruntime":
        return None
    import onnx

    domains = sorted(
        {node.domain for node in onnx.load(str(path), load_external_data=False).graph.node} - {"", "ai.onnx"}
    )
    return f"uses {', '.join(domains)} ops, which only onnxruntime runs" if domains else None


def runner(runtime: str, path: str | Path) -> Runner:
    return {"onnxruntime": onnxruntime_runner, "reference": reference_runner, "opencv": opencv_runner}[runtime](path)


def onnxruntime_runner(path: str | Path, threads: int = 1) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def reference_runner(path: str | Path) -> Runner:
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(str(path))
    return lambda x: np.asarray(evaluator.run(None, {INPUT_NAME: x})[0])


def opencv_runner(path: str | Path, threads: int = 1) -> Runner:
    import cv2

    cv2.setNumThreads(threads)  # process-wide in OpenCV
    net = cv2.dnn.readNetFromONNX(str(path))

    def run(x: np.ndarray) -> np.ndarray:
        net.setInput(np.ascontiguousarray(x, dtype=np.float32))
        return np.asarray(net.forward()).reshape(len(x), -1)

    return run
