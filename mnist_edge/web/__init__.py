"""The browser page: ``static/`` (HTML, JS, vendored onnxruntime-web) and the static bundle writer.

Sits above the runtime like ``scale``: it may import the runtime, never training, export or the CLI.
"""

from .bundle import STATIC_DIR, write_bundle

__all__ = ["STATIC_DIR", "write_bundle"]
