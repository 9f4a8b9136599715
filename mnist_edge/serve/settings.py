"""What `mnist-edge serve` can be told: limits and timeouts, each with a documented default.

The image limits start from the runtime's own (``runtime/decode.py``): the server may lower them,
never raise them, so a request can never make the runtime read more than ``predict`` would.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import UsageError
from ..runtime.decode import MAX_FILE_BYTES, MAX_PIXELS

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024  # a phone photo is 2-5 MB; the runtime's own cap is 50 MB
STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"  # the browser page, when installed
ENV_KEY = "MNIST_EDGE_SERVE_SETTINGS"  # how --workers N hands the settings to each worker process


@dataclass(frozen=True)
class Settings:
    model: str | None = None  # ONNX file; None: the runtime's default (artifacts/, else the shipped int8)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # a larger body: 413 (for a batch, the whole body)
    max_pixels: int = MAX_PIXELS  # declared width x height of one picture; more: 413
    max_concurrent: int = 64  # requests in a prediction route at once, per worker; more: 503 + Retry-After
    max_batch_files: int = 64  # pictures in one /predict/batch request; more: 413
    header_timeout: float = 10.0  # seconds from a request's first byte to its last header line
    body_timeout: float = 10.0  # seconds to receive the whole body once the headers are in
    keep_alive_timeout: int = 5  # seconds an idle keep-alive connection is kept
    shutdown_timeout: float = 30.0  # on SIGTERM, seconds in-flight requests get to finish
    retry_after: int = 1  # seconds, in the Retry-After header of a 503
    threads: int = 1  # onnxruntime threads per worker (one picture is a tiny job; spinning threads cost more)
    predict_threads: int = 2  # threads per worker that run predictions, off the event loop (measured: README)
    static_dir: str | None = str(STATIC_DIR)  # served at / when the folder exists

    def __post_init__(self):
        positive = ("max_body_bytes", "max_pixels", "max_concurrent", "max_batch_files", "threads", "predict_threads")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer, not {value!r}")
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout", "shutdown_timeout"):
            if not getattr(self, name) > 0:
                raise UsageError(f"{name} must be a positive number of seconds, not {getattr(self, name)!r}")
        if self.max_body_bytes > MAX_FILE_BYTES:
            raise UsageError(f"max_body_bytes can be at most the runtime's {MAX_FILE_BYTES}-byte limit")
        if self.max_pixels > MAX_PIXELS:
            raise UsageError(f"max_pixels can be at most the runtime's {MAX_PIXELS}-pixel limit")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})

    @classmethod
    def from_environment(cls) -> Settings:
        text = os.environ.get(ENV_KEY)
        return cls.from_json(text) if text else cls()
