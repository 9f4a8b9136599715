"""Start the server: one process (the app object) or ``workers`` processes (uvicorn's supervisor).

uvicorn runs the app with httptools (our header-deadline protocol) on uvloop where installed.
On SIGTERM or Ctrl-C uvicorn stops accepting, lets requests in flight finish (up to
``shutdown_timeout`` seconds), then exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from dataclasses import replace

import uvicorn
from uvicorn.supervisors import Multiprocess

from ..errors import MnistEdgeError
from ..runtime import Predictor, default_model_path
from .protocol import ServeConfig
from .settings import ENV_KEY, Settings

PROTOCOL = "mnist_edge.serve.protocol:HeaderDeadlineProtocol"
FACTORY = "mnist_edge.serve.server:app_from_environment"


def _stopped(signum, frame):
    raise SystemExit(0)


def app_from_environment():
    """The app factory each ``--workers`` process calls: settings from the environment."""
    from .app import create_app

    return create_app(Settings.from_environment())


def _loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one line and exit code 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise MnistEdgeError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    sock.set_inheritable(True)  # --workers: each worker process accepts on it
    return sock


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "warning",
    on_ready=None,
):
    """Serve until SIGTERM/SIGINT. The model is loaded (and checked) and the port bound first, so a bad
    model or a port in use fails at once. ``on_ready()`` is called then, before serving."""
    model = str(settings.model or default_model_path())
    settings = replace(settings, model=model)  # every worker loads the very file checked here
    predictor = Predictor(model, threads=settings.threads)
    sock = listen(host, port)
    if on_ready is not None:
        on_ready()
    common = dict(
        host=host,
        port=port,
        http=PROTOCOL,
        loop=_loop(),
        ws="none",
        lifespan="off",
        access_log=False,
        log_level=log_level,
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        header_timeout=settings.header_timeout,
        backlog=2048,
    )
    if workers == 1:
        from .app import create_app

        config = ServeConfig(create_app(settings, predictor), **common)
        # uvicorn re-raises SIGTERM after its graceful shutdown, through the handler it found: make that
        # an exit with status 0, since stopping on request is not a failure
        signal.signal(signal.SIGTERM, _stopped)
        uvicorn.Server(config).run(sockets=[sock])
        return
    del predictor  # each worker loads its own
    metrics_dir = tempfile.mkdtemp(prefix="mnist-edge-metrics-")
    os.environ[ENV_KEY] = settings.to_json()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # /metrics sums every worker
    try:
        # a worker that has not answered the supervisor's ping in time is killed and restarted; starting one
        # (imports, the model) takes seconds on a busy machine, so uvicorn's default 5 s restarted them in a loop
        config = ServeConfig(FACTORY, factory=True, workers=workers, timeout_worker_healthcheck=60, **common)
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
