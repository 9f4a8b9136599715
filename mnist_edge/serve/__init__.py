"""The prediction service, ``mnist-edge serve``: Starlette on uvicorn. Sits above the runtime (it
imports ``mnist_edge.runtime``, never the reverse; an import contract checks it).

    pip install 'mnist-edge[serve]'
    mnist-edge serve --port 8000 --workers 2
    curl --data-binary @digit.png http://127.0.0.1:8000/predict

In Python: ``create_app(Settings(...))`` is the ASGI app; ``serve(settings, host, port, workers)`` runs it.
"""

from .settings import Settings

__all__ = ["Settings", "create_app", "serve"]


def create_app(*args, **kwargs):
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def serve(*args, **kwargs):
    from .server import serve as _serve

    return _serve(*args, **kwargs)
