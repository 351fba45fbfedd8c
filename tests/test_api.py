"""The intake API: how a CRM or marketing-automation system hands items over."""

from __future__ import annotations

import httpx

from tests.harness import API_TOKEN, Bench

GOOD = {
    "external_id": "crm-1001",
    "event": "Global Event 2026",
    "customer": "Nordic Fibre AB",
    "contact_name": "Eva Lund",
    "contact_email": "eva.lund@nordicfibre.example",
    "description": "Wants to replace two data-centre switches before the summer.",
    "customer_request": "Send me a quote for 40 units",
    "region": "nordics",
    "checklist": {"painpoint": True, "timeframe": True},
}


def post(bench: Bench, body: object, *, token: str | None = API_TOKEN, headers: dict | None = None) -> httpx.Response:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{bench.url}/api/items", json=body, headers=h, timeout=10)


def test_creates_the_item_and_queues_its_card(bench: Bench) -> None:
    r = post(bench, GOOD)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] is True and body["status"] == "pending" and body["receiver"]
    [item] = bench.items()
    assert item.customer_request_open and item.contact_email == "eva.lund@nordicfibre.example"
    bench.deliver()
    card = bench.card(item.id)
    assert "Nordic Fibre AB" in str(card.blocks)
    assert "Send me a quote for 40 units" in str(card.blocks)


def test_without_or_with_a_wrong_token_is_401_and_writes_nothing(bench: Bench) -> None:
    assert post(bench, GOOD, token=None).status_code == 401
    r = post(bench, GOOD, token="wrong-token")
    assert r.status_code == 401
    assert "wrong-token" not in r.text
    assert bench.items() == [] and bench.outbox() == []


def test_bad_item_gets_422_with_an_error_per_field(bench: Bench) -> None:
    r = post(bench, {**GOOD, "customer": "", "contact_email": "not-an-address", "category": "hot"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"customer", "contact_email", "category"} <= fields
    assert "not-an-address" not in r.text  # the submitted value is never echoed
    assert bench.items() == []


def test_a_region_or_product_area_longer_than_its_column_is_a_422_not_a_500(bench: Bench) -> None:
    r = post(bench, {**GOOD, "region": "r" * 101, "product_area": "p" * 101})
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "100 characters" in fields["region"] and "100 characters" in fields["product_area"]
    assert bench.items() == []
    assert post(bench, {**GOOD, "region": "r" * 100}).status_code == 201


def test_unknown_fields_are_rejected_not_ignored(bench: Bench) -> None:
    r = post(bench, {**GOOD, "custmer": "typo"})
    assert r.status_code == 422
    assert any(e["field"] == "custmer" for e in r.json()["errors"])


def test_retry_with_the_same_external_id_creates_nothing_new(bench: Bench) -> None:
    first = post(bench, GOOD)
    second = post(bench, GOOD)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert len(bench.items()) == 1
    bench.deliver()
    assert len(bench.fake.calls_to("chat.postMessage")) == 1


def test_idempotency_key_makes_retries_safe_and_rejects_reuse_for_another_item(bench: Bench) -> None:
    body = {k: v for k, v in GOOD.items() if k != "external_id"}
    a = post(bench, body, headers={"Idempotency-Key": "abc-1"})
    b = post(bench, body, headers={"Idempotency-Key": "abc-1"})
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.json()["id"] == b.json()["id"]
    c = post(bench, {**body, "customer": "Someone Else"}, headers={"Idempotency-Key": "abc-1"})
    assert c.status_code == 409
    assert len(bench.items()) == 1


def test_the_api_is_described_by_openapi(bench: Bench) -> None:
    doc = httpx.get(f"{bench.url}/api/openapi.json", timeout=10).json()
    op = doc["paths"]["/api/items"]["post"]
    assert {"201", "401", "422"} <= set(op["responses"])
    assert "ItemIn" in doc["components"]["schemas"]


def test_healthz(bench: Bench) -> None:
    r = httpx.get(f"{bench.url}/healthz", timeout=10)
    assert r.status_code == 200 and r.json()["database"] == "ok"
    from bot.version import version

    assert r.json()["version"] == version() and version()[0].isdigit()
