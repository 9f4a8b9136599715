"""The Starlette app of `mnist-edge serve`: routes, limits, JSON errors. ``create_app`` builds it.

Predictions reuse the runtime as it is: ``Predictor`` for the model, ``prediction_record`` for the
JSON (the record of ``predict --json``; a raw body is named ``-``, an upload by its file name),
``predict_files`` for a batch (per-picture errors, one batched inference).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import warnings
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from time import perf_counter

from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import ImageError, MnistEdgeError, first_line
from ..runtime import Predictor, default_model_path, prediction_record
from ..runtime.batch import predict_files
from ..runtime.predictor import read_model
from .body import MULTIPART, BodyError, declared_length, is_raw, media_type, read_body
from .metrics import CONTENT_TYPE as METRICS_TYPE
from .metrics import ROUTES, Metrics
from .settings import Settings

ISOLATION_HEADERS = {  # what a page needs for WebAssembly threads (SharedArrayBuffer)
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
RAW_NAME = "-"  # the record's "path" for a picture sent as the raw body

for _suffix, _type in (
    (".mjs", "text/javascript"),
    (".wasm", "application/wasm"),
    (".onnx", "application/octet-stream"),
):
    mimetypes.add_type(_type, _suffix)


def _json(status: int, payload, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload, allow_nan=False), status, headers, "application/json")


class _Service:
    """The state behind the routes: the model, the limits, the metrics, the count of busy requests."""

    def __init__(self, settings: Settings, predictor: Predictor, metrics: Metrics):
        self.settings, self.predictor, self.metrics = settings, predictor, metrics
        self.model_bytes = read_model(predictor.path)  # served to the browser page as /model.int8.onnx
        self.busy = 0
        self.pool = ThreadPoolExecutor(settings.predict_threads, thread_name_prefix="mnist-edge-predict")

    def error(self, status: int, kind: str, reason: str, headers: dict | None = None, record: dict | None = None):
        self.metrics.error(kind)
        if status in (408, 413):  # the rest of the body may still be on its way: do not read it
            headers = {**(headers or {}), "Connection": "close"}
        return _json(status, record if record is not None else {"error": reason}, headers)

    def full(self) -> bool:
        """As many prediction requests in progress as allowed (reading their body, waiting for a thread or
        predicting). Not the requests still queued in the event loop: counting those too, a server
        flooded with clients that retry at once spent its time refusing and let almost none through."""
        return self.busy >= self.settings.max_concurrent

    def busy_message(self) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The 503 answer, built once: under a flood of clients that retry at once, refusing has to be cheap."""
        reason = f"server busy ({self.settings.max_concurrent} requests in progress), retry later"
        body = json.dumps({"error": reason}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.settings.retry_after).encode()),
        ]
        return headers, body

    async def pictures(self, request: Request, many: bool) -> list[tuple[str, bytes]] | Response:
        """The uploaded pictures as (name, bytes), or the error response that says why not."""
        kind = media_type(request.scope["headers"])
        raw = is_raw(kind)
        if not raw and kind != MULTIPART:
            return self.error(
                415, "unsupported_type", f"Content-Type {kind} is not accepted: send image bytes or multipart/form-data"
            )
        if many and raw:
            return self.error(415, "unsupported_type", "send the pictures as multipart/form-data file fields")
        limit = self.settings.max_body_bytes
        length = declared_length(request.scope["headers"])
        if length is not None and length > limit:
            return self.error(413, "too_large", f"request body is {length} bytes, over the {limit}-byte limit")
        try:
            body = await read_body(request.receive, limit, self.settings.body_timeout)
        except BodyError as e:
            return self.error(e.status, e.kind, e.reason)
        if raw:
            return [(RAW_NAME, body)] if body else self.error(400, "bad_request", "empty body: send the picture")
        return await self._files(request, body, many)

    async def _files(self, request: Request, body: bytes, many: bool) -> list[tuple[str, bytes]] | Response:
        top = self.settings.max_batch_files if many else 1
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(
                max_files=top, max_fields=top + 8, max_part_size=self.settings.max_body_bytes
            )
        except (MultiPartException, HTTPException) as e:  # Starlette turns the first into the second
            message = first_line(Exception(getattr(e, "message", None) or getattr(e, "detail", "")))
            too_many = message.startswith("Too many files")
            status, kind = (413, "too_large") if too_many else (400, "bad_request")
            reason = f"more than {top} file(s) in one request" if too_many else f"bad multipart body ({message})"
            return self.error(status, kind, reason)
        files = []
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((value.filename or RAW_NAME, await value.read()))
        await form.close()
        if not files:
            return self.error(400, "bad_request", "no file in the multipart body: send the picture as a file field")
        return files

    def too_many_pixels(self, data: bytes) -> str | None:
        """A one-line reason when the picture declares more pixels than allowed (read from its header only)."""
        try:
            if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
                w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w, h = Image.open(BytesIO(data)).size
        except Exception:
            return None  # not readable: the runtime says why
        top = self.settings.max_pixels
        return f"image is {w}x{h}, over the {top}-pixel limit" if w * h > top else None

    async def run(self, fn, *args):
        """Off the event loop: onnxruntime, OpenCV and zlib release the GIL, so the loop keeps reading and
        answering while a picture is decoded (on this machine 2-3x the requests/s of predicting inline)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def predict_one(self, name: str, data: bytes):
        try:
            return 200, prediction_record(name, self.predictor.predict(data))
        except ImageError as e:
            return 400, prediction_record(name, e)

    def predict_many(self, items: list[tuple[str, bytes]]) -> list[dict]:
        outcomes = predict_files(self.predictor, [data for _, data in items])
        return [prediction_record(name, outcome) for (name, _), (_, outcome) in zip(items, outcomes, strict=True)]


def create_app(settings: Settings | None = None, predictor: Predictor | None = None) -> Starlette:
    """The ASGI app. ``predictor``: one already loaded (else ``settings.model`` or the default model)."""
    settings = settings or Settings()
    if predictor is None:
        model = settings.model or default_model_path()
        predictor = Predictor(model, threads=settings.threads)
    metrics = Metrics()
    service = _Service(settings, predictor, metrics)

    async def predict(request: Request) -> Response:
        service.busy += 1
        try:
            items = await service.pictures(request, many=False)
            if isinstance(items, Response):
                return items
            name, data = items[0]
            reason = service.too_many_pixels(data)
            if reason:
                return service.error(413, "too_large", reason, record=prediction_record(name, ImageError(reason)))
            status, record = await service.run(service.predict_one, name, data)
            if status != 200:
                metrics.error("bad_image")
            return _json(status, record)
        except MnistEdgeError as e:  # the model failed: not the client's fault
            return service.error(500, "server_error", first_line(e))
        finally:
            service.busy -= 1

    async def predict_batch(request: Request) -> Response:
        service.busy += 1
        try:
            items = await service.pictures(request, many=True)
            if isinstance(items, Response):
                return items
            refused = {}
            for i, (_, data) in enumerate(items):
                reason = service.too_many_pixels(data)
                if reason:
                    refused[i] = reason
            readable = [item for i, item in enumerate(items) if i not in refused]
            records = iter(await service.run(service.predict_many, readable) if readable else [])
            out = [
                prediction_record(name, ImageError(refused[i])) if i in refused else next(records)
                for i, (name, _) in enumerate(items)
            ]
            return _json(200, {"predictions": out})
        except MnistEdgeError as e:
            return service.error(500, "server_error", first_line(e))
        finally:
            service.busy -= 1

    async def healthz(request: Request) -> Response:
        return _json(
            200,
            {
                "status": "ok",
                "version": __version__,
                "model": predictor.path.name,
                "in_progress": service.busy,
                "max_concurrent": settings.max_concurrent,
            },
        )

    async def metrics_route(request: Request) -> Response:
        return Response(metrics.text(), 200, media_type=METRICS_TYPE)

    async def card(request: Request) -> Response:
        return _json(200, predictor.card)

    async def model_file(request: Request) -> Response:
        return Response(service.model_bytes, 200, ISOLATION_HEADERS, "application/octet-stream")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        reason = {404: f"no such route: {request.url.path}", 405: f"{request.method} is not allowed here"}
        return service.error(exc.status_code, kind, reason.get(exc.status_code, str(exc.detail)), exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        return service.error(500, "server_error", f"internal error ({type(exc).__name__})")

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/predict/batch", predict_batch, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/model", card, methods=["GET"]),
        Route("/card.json", card, methods=["GET"]),  # the page's name for the card (as in a static bundle)
        Route("/model.int8.onnx", model_file, methods=["GET"]),
    ]
    if settings.static_dir and Path(settings.static_dir).is_dir():
        routes.append(Mount("/", app=_Isolated(StaticFiles(directory=settings.static_dir, html=True)), name="page"))
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.service = service
    return _Observed(app, metrics, service)


class _Isolated:
    """Adds the cross-origin isolation headers to every response of the wrapped ASGI app (the static page)."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in ISOLATION_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        async def send_isolated(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_isolated)


class _Observed:
    """Counts every HTTP request into the metrics (status, latency by route, requests in flight), and
    refuses a prediction request with 503 before any routing when the service is full."""

    LIMITED = frozenset(("/predict", "/predict/batch"))

    def __init__(self, app: Starlette, metrics: Metrics, service: _Service):
        self.app, self.metrics, self.service = app, metrics, service
        self.routes = frozenset(ROUTES)
        self.busy_headers, self.busy_body = service.busy_message()

    @property
    def state(self):
        return self.app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = scope["path"] if scope["path"] in self.routes else "other"
        status = 500

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        start = perf_counter()
        try:
            if route in self.LIMITED and self.service.full():
                self.metrics.error("busy")
                await send_observed({"type": "http.response.start", "status": 503, "headers": self.busy_headers})
                await send({"type": "http.response.body", "body": self.busy_body})
                return
            await self.app(scope, receive, send_observed)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(route, status, perf_counter() - start)
