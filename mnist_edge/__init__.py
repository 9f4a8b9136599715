"""mnist-edge: train the Keras MNIST MLP, export it to ONNX (fp32 and int8), run it anywhere.

This top-level package stays light on purpose: ``mnist_edge.runtime`` must be
importable without TensorFlow, so nothing here may import it.
"""

__version__ = "0.3.0"
