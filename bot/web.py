"""The one ASGI app: Slack's endpoint (/slack/events), the intake API (/api/items), /healthz.

Bolt runs with process_before_response=True: a listener does its database work (milliseconds)
and acks, and Bolt answers Slack when the listener returns. Web API calls other than
views.open are never made on the request path; the outbox sends them. The synchronous Bolt
dispatch runs in Starlette's thread pool so it never blocks the event loop.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot import outbox
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows.intake import IdempotencyConflict, receive
from bot.intake.schema import ItemIn
from bot.ratelimit import TokenBucket

log = logging.getLogger("handover.web")

MAX_BODY_BYTES = 1_000_000


class ItemOut(BaseModel):
    id: int
    status: str
    category: str
    customer_id: int
    receiver: str | None
    created: bool


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    errors: list[FieldError] = []


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body",)]
        # never echo the submitted value back: it may hold personal data or a pasted secret
        out.append({"field": ".".join(loc) or "body", "message": str(e.get("msg", "invalid"))})
    return out


def create_web_app(ctx: Context, bolt: App) -> FastAPI:
    api = FastAPI(
        title="Handover",
        version="1",
        description="Hand customer information from marketing to sales without losing any of it.",
        docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None,
    )
    api.state.ctx = ctx
    api.state.bolt = bolt
    limiter = TokenBucket(rate=ctx.settings.api_rate_per_second, burst=ctx.settings.api_rate_burst)

    @api.middleware("http")
    async def limits(request: Request, call_next: Any) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"request body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = request_id
        log.info("%s %s %s", request.method, request.url.path, response.status_code,
                 extra={"request_id": request_id, "ms": round((time.perf_counter() - started) * 1000, 1)})
        return response

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid item", "errors": _field_errors(exc)}, status_code=422)

    @api.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("request too large", status_code=413)
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    def authorized(authorization: Annotated[str | None, Header()] = None) -> str:
        expected = ctx.settings.api_token
        supplied = (authorization or "").removeprefix("Bearer ").strip() if authorization else ""
        if not expected or not authorization or not authorization.startswith("Bearer ") or \
                not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not limiter.allow(hmac.new(b"k", supplied.encode(), "sha256").hexdigest()):
            raise HTTPException(429, "too many requests for this token", headers={"Retry-After": "1"})
        return supplied

    @api.post("/api/items", status_code=201, response_model=ItemOut,
              responses={200: {"model": ItemOut, "description": "Already received (a retry)"},
                         401: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut},
                         429: {"model": ErrorOut}},
              summary="Hand over one item", dependencies=[Depends(authorized)])
    def create_item(
        item: Annotated[ItemIn, Body()],
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=300)] = None,
    ) -> ItemOut:
        try:
            result = run_in_transaction(ctx.engine, lambda s: _receive(s, ctx, item, idempotency_key))
        except IdempotencyConflict:
            raise HTTPException(409, "this Idempotency-Key was used for a different item") from None
        if result.replayed:
            response.status_code = 200
        return result.out

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            run_in_transaction(ctx.engine, lambda s: s.execute(text("SELECT 1")), attempts=1)
            pending = outbox.pending_count(ctx.engine)
        except Exception as exc:  # report, don't crash
            return JSONResponse({"ok": False, "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok", "outbox_pending": pending})

    @api.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error; it was logged"}, status_code=500)

    return api


class _Received:
    def __init__(self, out: ItemOut, replayed: bool) -> None:
        self.out, self.replayed = out, replayed


def _receive(session: Any, ctx: Context, item: ItemIn, key: str | None) -> _Received:
    result = receive(session, ctx, item, idempotency_key=key)
    it = result.delivery.item
    out = ItemOut(id=it.id, status=str(it.status), category=str(it.category), customer_id=it.customer_id,
                  receiver=it.receiver_email, created=result.delivery.created)
    return _Received(out, result.replayed)
