"""The HTTP boundary every request crosses first (a pure ASGI middleware, so the request's log
context reaches the endpoint and the thread pool unchanged):

- a request id (the caller's ``X-Request-Id`` when sane, else a new one) for every log line of the
  request, echoed in the response's ``X-Request-Id``;
- the body size limit: a ``Content-Length`` over the limit is refused before anything is read, and
  a body without one (chunked) is cut off as soon as it passes the limit — 413 either way;
- one access line per request (method, path, status, milliseconds), also for a request that
  failed with an unexpected error — which is logged with its traceback (scrubbed) and answered
  ``500 {"error": "internal error; it was logged"}`` with the request id, never with details.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders

from bot import logs

log = logging.getLogger("handover.web")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class RequestBoundary:
    def __init__(self, app: Any, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = logs.new_request_id(headers.get("x-request-id"))
        with logs.request_scope(request_id):
            started = time.perf_counter()
            status = {"code": 0}

            async def send_with_id(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    MutableHeaders(scope=message)["x-request-id"] = request_id
                await send(message)

            try:
                length = headers.get("content-length")
                if length is not None and (not length.strip().isdigit() or int(length) > self.max_body):
                    too_large = length.strip().isdigit()
                    await self._refuse(
                        send_with_id,
                        413 if too_large else 400,
                        f"request body larger than {self.max_body} bytes"
                        if too_large
                        else "the Content-Length header is not a number",
                    )
                    return
                await self.app(scope, self._limited(receive), send_with_id)
            except Exception:
                # logged here, inside the request's log context, and answered without details
                log.exception("unhandled error on %s", scope.get("path"))
                if status["code"]:
                    raise  # the response has begun; the server can only drop the connection
                await self._refuse(send_with_id, 500, "internal error; it was logged")
            finally:
                log.info(
                    "%s %s %s",
                    scope.get("method"),
                    scope.get("path"),
                    status["code"],
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status["code"],
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )

    def _limited(self, receive: Any) -> Any:
        received = 0

        async def limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        return limited

    @staticmethod
    async def _refuse(send: Any, status: int, reason: str) -> None:
        body = json.dumps({"error": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
