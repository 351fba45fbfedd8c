"""The one ASGI app: Slack's endpoint (/slack/events), the intake API (/api/items), /healthz.

Bolt runs with process_before_response=True: a listener does its database work (milliseconds)
and acks, and Bolt answers Slack when the listener returns. Web API calls other than
views.open (and the reassign modal's users.info check, bot/slack/people.py) are never made on the
request path; the outbox sends them. The synchronous Bolt dispatch runs in Starlette's thread
pool so it never blocks the event loop. The API refuses a client address after too many wrong
tokens (bot/ratelimit.py).
"""

from __future__ import annotations

import hmac
import logging
import math
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_starlette_response
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import logs, lookup_api, metrics, outbox_admin
from bot.boundary import RequestBoundary
from bot.context import Context
from bot.db import answering_within, run_in_transaction, unavailable
from bot.flows.correct import CorrectionRefused
from bot.flows.intake import IdempotencyConflict, receive
from bot.handlers import guard
from bot.intake.schema import ItemIn
from bot.lookup_api import LookupOut
from bot.ratelimit import FailureWindow, TokenBucket
from bot.version import version
from bot.webhooks import queue as webhook_queue

log = logging.getLogger("handover.web")

MAX_BODY_BYTES = 1_000_000


class ItemOut(BaseModel):
    id: int
    status: str
    category: str
    customer_id: int
    receiver: str | None
    created: bool
    corrected: list[str] = []  # a re-send with the same external_id: the fields it changed (README "API")


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
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    api.state.ctx = ctx
    api.state.bolt = bolt
    limiter = TokenBucket(rate=ctx.settings.api_rate_per_second, burst=ctx.settings.api_rate_burst)
    failed_auth = FailureWindow(ctx.settings.api_auth_failures, ctx.settings.api_auth_window, ctx.clock.now)
    api.state.failed_auth = failed_auth

    # request id and log context, body size limit (declared or streamed), one access line per request
    api.add_middleware(RequestBoundary, max_body=MAX_BODY_BYTES)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid item", "errors": _field_errors(exc)}, status_code=422)

    @api.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # signature first, then the shape: nothing unsigned is parsed, nothing malformed reaches Bolt
        try:
            payload = guard.screen(body, request.headers, ctx.settings.signing_secret)
        except guard.Rejected as refused:
            log.warning("refused a Slack request: %s", refused.reason)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        if payload.get("type") == "app_rate_limited":
            # Slack sends events faster than its limit for this app (30,000 an hour) and drops them for
            # a while; it only wants a 200. Nothing to do but say so in the log.
            log.warning(
                "Slack says events are being dropped (app_rate_limited) for team %s since minute %s",
                payload.get("team_id"),
                payload.get("minute_rate_limited"),
            )
            return Response(status_code=200)
        logs.bind(event_id=payload.get("event_id") if isinstance(payload.get("event_id"), str) else None)
        bolt_request = guard.bolt_request(body.decode("utf-8"), payload, request.query_params, request.headers)
        # the listener's database work gives up after 2 s (Slack gives up after 3): the person is
        # told "busy, try again" (bot/handlers/busy.py) instead of the click timing out
        bolt_response = await run_in_threadpool(_answering, bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        # a client address that keeps sending wrong tokens is refused before its token is even
        # compared, so tokens can't be guessed at the rate limit of a valid one
        address = request.client.host if request.client else "unknown"
        if wait := failed_auth.blocked_for(address):
            raise HTTPException(429, "too many wrong tokens from this address", headers={"Retry-After": str(wait)})
        expected = ctx.settings.api_token
        supplied = (authorization or "").removeprefix("Bearer ").strip() if authorization else ""
        if (
            not expected
            or not authorization
            or not authorization.startswith("Bearer ")
            or not hmac.compare_digest(supplied.encode(), expected.encode())
        ):
            failures = failed_auth.fail(address)  # never the token itself in the log
            log.warning(
                "refused the API token from %s (%s): %d wrong within %d s, blocked at %d",
                address,
                "none given" if not authorization else "wrong",
                failures,
                failed_auth.window,
                failed_auth.limit,
            )
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not limiter.allow(hmac.new(b"k", supplied.encode(), "sha256").hexdigest()):
            raise HTTPException(
                429,
                "too many requests for this token",
                headers={"Retry-After": str(max(1, math.ceil(1 / limiter.rate)))},
            )
        return supplied

    @api.post(
        "/api/items",
        status_code=201,
        response_model=ItemOut,
        responses={
            200: {
                "model": ItemOut,
                "description": "Already received: a retry (corrected: []) or "
                "a correction (corrected: the fields changed)",
            },
            401: {"model": ErrorOut},
            409: {"model": ErrorOut},
            422: {"model": ErrorOut},
            429: {"model": ErrorOut},
        },
        summary="Hand over one item",
        dependencies=[Depends(authorized)],
    )
    def create_item(
        item: Annotated[ItemIn, Body()],
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=300)] = None,
    ) -> ItemOut:
        try:
            with answering_within():
                result = run_in_transaction(ctx.engine, lambda s: _receive(s, ctx, item, idempotency_key))
        except IdempotencyConflict:
            raise HTTPException(409, "this Idempotency-Key was used for a different item") from None
        except CorrectionRefused as refused:
            raise HTTPException(409, str(refused)) from None
        logs.bind(item_id=result.out.id)
        if result.replayed:
            response.status_code = 200
        return result.out

    @api.get(
        "/api/customers",
        response_model=LookupOut,
        responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
        summary="Look up a customer on behalf of a person",
        dependencies=[Depends(authorized)],
    )
    def look_up_customer(
        q: Annotated[str | None, Query(max_length=500, description="A name, a domain or an e-mail.")] = None,
        customer_id: Annotated[
            int | None,
            Query(
                ge=1,
                le=2**31 - 1,  # an INTEGER id; a bigger one is a 422
                description="One of the matches of an earlier call.",
            ),
        ] = None,
        x_handover_user: Annotated[str | None, Header(description="The e-mail of the person asking.")] = None,
    ) -> LookupOut:
        """What the person may see of the customer (as in Slack); withheld items are counted, with whom to ask."""
        return lookup_api.look_up(ctx, user=x_handover_user, q=q, customer_id=customer_id)

    _publish_webhooks(api)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            run_in_transaction(ctx.engine, lambda s: s.execute(text("SELECT 1")), attempts=1)
            # waiting, dead (`handover outbox list`), and how long the oldest has waited
            queue = outbox_admin.read_health(ctx.engine, ctx.clock.now()).as_dict()
            webhooks_failed = webhook_queue.failed_count(ctx.engine)
        except Exception as exc:  # noqa: BLE001  (report, don't crash)
            return JSONResponse({"ok": False, "database": type(exc).__name__}, status_code=503)
        return JSONResponse(
            {"ok": True, "database": "ok", **queue, "webhooks_failed": webhooks_failed, "version": version()}
        )

    registry = metrics.registry_for(ctx)

    @api.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text format: the outbox queue (from the database) and this process's counters."""
        return Response(metrics.exposition(registry), media_type=metrics.CONTENT_TYPE)

    @api.exception_handler(StarletteHTTPException)  # FastAPI's own 400s and 404/405s too: {"error": reason}
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @api.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        if not unavailable(exc):
            return await unexpected(request, exc)
        log.warning("database unavailable on %s: %s", request.url.path, type(exc.orig or exc).__name__)
        return JSONResponse(
            {
                "error": "the database is busy or restarting; nothing was saved. Send the same "
                "request again in a few seconds (external_id / Idempotency-Key make "
                "the retry safe)"
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error; it was logged"}, status_code=500)

    return api


def _publish_webhooks(api: FastAPI) -> None:
    """The outbound webhooks in the OpenAPI document's ``webhooks`` (OpenAPI 3.1): one per event
    type, its body the CloudEvent the schema in bot/webhooks/schemas/ describes."""
    from bot.webhooks.events import DESCRIPTIONS, ENVELOPES

    for event_type, model in ENVELOPES.items():

        def receive(body: Any) -> None:
            """Documentation only: Handover POSTs this to your endpoint."""

        receive.__annotations__ = {"body": Annotated[model, Body()], "return": None}  # real types, not strings

        api.webhooks.post(
            event_type.value,
            summary=event_type.value,
            description=DESCRIPTIONS[event_type]
            + " Signed by the Standard Webhooks specification (webhook-id, webhook-timestamp, "
            "webhook-signature); answer 2xx when it is stored.",
        )(receive)


def _answering(dispatch: Any, request: Any) -> Any:
    with answering_within():
        return dispatch(request)


class _Received:
    def __init__(self, out: ItemOut, replayed: bool) -> None:
        self.out, self.replayed = out, replayed


def _receive(session: Any, ctx: Context, item: ItemIn, key: str | None) -> _Received:
    result = receive(session, ctx, item, idempotency_key=key)
    it = result.delivery.item
    out = ItemOut(
        id=it.id,
        status=str(it.status),
        category=str(it.category),
        customer_id=it.customer_id,
        receiver=it.receiver_email,
        created=result.delivery.created,
        corrected=result.corrected,
    )
    return _Received(out, result.replayed)
