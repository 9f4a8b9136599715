"""Stage 2, export: Keras → ONNX fp32 and int8, the model card, the parity gate and report.

Importing this package imports neither TensorFlow nor onnx; the functions do, when called.
"""

from .parity import Gate, format_report, run_parity
from .pipeline import ExportConfig, export

__all__ = ["ExportConfig", "Gate", "export", "format_report", "run_parity"]
