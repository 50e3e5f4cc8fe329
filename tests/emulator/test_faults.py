"""Injected faults in-process: 5xx, drop, slow, commit_then_fail, 429, FIFO order, probability mode."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from local.emulator import ZoomEmulator
from tests.emulator.conftest import CREDENTIALS, TOKEN_FORM

NEW = {"phone_number": "+19075550123"}


def test_5xx_answers_a_zoom_style_503_and_the_request_has_no_effect(api, emulator):
    emulator.faults.inject("5xx", route="POST /phone/blocked_list")

    response = api.post("/phone/blocked_list", json=NEW)

    assert response.status_code == 503
    assert response.json() == {"code": 503, "message": "Service Unavailable."}
    assert emulator.entries() == []
    assert api.post("/phone/blocked_list", json=NEW).status_code == 201  # consumed: the next one goes through


def test_5xx_status_retry_after_and_html_body_are_options(api, emulator):
    emulator.faults.inject("5xx", status=502, html=True)
    emulator.faults.inject("5xx", status=500, retry_after_s=7)

    gateway = api.get("/phone/blocked_list")
    server = api.get("/phone/blocked_list")

    assert gateway.status_code == 502
    assert gateway.headers["Content-Type"] == "text/html"
    assert "X-RateLimit-Category" not in gateway.headers
    assert (server.status_code, server.json()["code"], server.headers["Retry-After"]) == (500, 500, "7")


def test_faults_fire_only_on_their_route_in_fifo_order(api, emulator, create):
    entry_id = create()
    emulator.faults.inject("5xx", route="DELETE /phone/blocked_list/{id}", status=502)
    emulator.faults.inject("5xx", route="DELETE /v2/phone/blocked_list/anything", status=504, count=2)

    assert api.get(f"/phone/blocked_list/{entry_id}").status_code == 200
    statuses = [api.delete(f"/phone/blocked_list/{entry_id}").status_code for _ in range(4)]

    assert statuses == [502, 504, 504, 204]
    assert emulator.faults.pending() == []


def test_drop_raises_what_httpx_raises_for_a_closed_socket_and_has_no_effect(api, emulator):
    emulator.faults.inject("drop", route="POST /phone/blocked_list")

    with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
        api.post("/phone/blocked_list", json=NEW)

    assert emulator.entries() == []
    last = emulator.requests[-1]
    assert (last.route, last.status, last.fault) == ("POST /phone/blocked_list", None, "drop")


def test_slow_beyond_the_read_timeout_is_a_read_timeout_but_takes_effect(api, emulator):
    emulator.faults.inject("slow", route="POST /phone/blocked_list", delay_s=30)
    started = time.monotonic()

    with pytest.raises(httpx.ReadTimeout):
        api.post("/phone/blocked_list", json=NEW, timeout=httpx.Timeout(5.0, read=2.0))

    assert time.monotonic() - started < 1.0  # nothing really waited
    assert len(emulator.entries()) == 1


def test_slow_within_the_read_timeout_answers_normally_at_once(api, emulator):
    emulator.faults.inject("slow", delay_s=3)
    started = time.monotonic()

    response = api.post("/phone/blocked_list", json=NEW, timeout=10.0)

    assert response.status_code == 201
    assert time.monotonic() - started < 1.0
    assert emulator.requests[-1].fault == "slow"


def test_commit_then_fail_creates_the_entry_and_loses_the_answer(api, emulator):
    emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list")

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/phone/blocked_list", json=NEW)

    assert [e["phone_number"] for e in emulator.entries()] == ["+19075550123"]


def test_commit_then_fail_with_a_5xx_deletes_and_answers_500(api, emulator, create):
    entry_id = create()
    emulator.faults.inject("commit_then_fail", route="DELETE /phone/blocked_list/{id}", fail_with="5xx", status=500)

    response = api.delete(f"/phone/blocked_list/{entry_id}")

    assert (response.status_code, response.json()["code"]) == (500, 500)
    assert emulator.entries() == []
    assert api.delete(f"/phone/blocked_list/{entry_id}").status_code == 400  # a retry finds it gone


def test_commit_then_fail_on_patch_applies_the_change(api, emulator, create):
    entry_id = create()
    emulator.faults.inject("commit_then_fail", route="PATCH /phone/blocked_list/{id}")

    with pytest.raises(httpx.RemoteProtocolError):
        api.patch(f"/phone/blocked_list/{entry_id}", json={"status": "inactive"})

    assert emulator.entries()[0]["status"] == "inactive"


def test_injected_429_answers_like_the_real_limit_without_counting(api, emulator):
    emulator.faults.inject("429", route="POST /phone/blocked_list")

    refused = api.post("/phone/blocked_list", json=NEW)

    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    assert "per-second" in refused.json()["message"]
    assert (refused.headers["X-RateLimit-Category"], refused.headers["X-RateLimit-Type"],
            refused.headers["X-RateLimit-Limit"], refused.headers["Retry-After"]) == ("Light", "QPS", "20", "1")
    assert emulator.entries() == []
    assert [api.post("/phone/blocked_list", json=NEW).status_code for _ in range(20)] == [201] * 20


def test_injected_daily_429_has_an_iso_reset_by_default_and_other_forms_on_request(api, emulator):
    emulator.faults.inject("429", limit_type="Daily-limit")
    emulator.faults.inject("429", limit_type="Daily-limit", retry_after="http-date")
    emulator.faults.inject("429", retry_after="none")
    emulator.faults.inject("429", retry_after_s=5)

    daily_iso, daily_date, bare, five = (api.get("/phone/blocked_list") for _ in range(4))

    assert daily_iso.headers["X-RateLimit-Type"] == "Daily-limit"
    assert "daily" in daily_iso.json()["message"]
    assert daily_iso.headers["Retry-After"] == "2026-11-21T00:00:00Z"
    assert daily_date.headers["Retry-After"] == "Sat, 21 Nov 2026 00:00:00 GMT"
    assert "Retry-After" not in bare.headers
    assert five.headers["Retry-After"] == "5"


def test_faults_without_a_route_leave_oauth_alone_but_oauth_can_be_targeted(http, emulator):
    emulator.faults.inject("drop")
    assert http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).status_code == 200
    emulator.faults.clear()

    emulator.faults.inject("drop", route="POST /oauth/token")
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM)
    emulator.faults.inject("5xx", route="POST /oauth/token", status=502)
    assert http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).status_code == 502


def test_faults_hit_requests_that_pass_auth_and_limits_only(http, api, emulator):
    emulator.faults.inject("5xx")

    assert http.get("/v2/phone/blocked_list").status_code == 401  # the fault is still pending
    assert api.get("/phone/blocked_list").status_code == 503


def _statuses_with_random_faults(seed: int, clock) -> list[int | str]:
    emulator = ZoomEmulator(clock=clock, seed=seed)
    emulator.faults.inject("5xx", rate=0.3)
    emulator.faults.inject("drop", rate=0.2, route="POST /phone/blocked_list", count=3)
    results: list[int | str] = []
    with httpx.Client(transport=emulator.transport(), base_url="https://api.zoom.us") as client:
        token = client.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(200):
            clock.advance(0.1)
            try:
                results.append(client.post("/v2/phone/blocked_list", json=NEW, headers=headers).status_code)
            except httpx.RemoteProtocolError:
                results.append("dropped")
    return results


def test_probability_faults_are_seeded_and_respect_their_count(clock):
    first = _statuses_with_random_faults(7, clock)
    clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    again = _statuses_with_random_faults(7, clock)

    assert first == again
    assert 40 <= first.count(503) <= 85  # about 30 % of 200
    assert first.count("dropped") == 3
    assert first.count(201) == 200 - first.count(503) - 3


@pytest.mark.parametrize("kind, options", [
    ("teapot", {}),
    ("5xx", {"status": 404}),
    ("drop", {"delay_s": 1}),
    ("slow", {"delay_s": -1}),
    ("commit_then_fail", {"fail_with": "timeout"}),
    ("429", {"limit_type": "hourly"}),
    ("429", {"retry_after": "minutes"}),
    ("5xx", {"rate": 1.5}),
    ("5xx", {"count": 0}),
    ("5xx", {"route": "blocked_list"}),
])
def test_nonsense_faults_are_refused(emulator, kind, options):
    with pytest.raises(ValueError):
        emulator.faults.inject(kind, **options)
    assert emulator.faults.pending() == []


def test_oauth_can_be_slow_or_rate_limited_too(http, emulator):
    emulator.faults.inject("slow", route="POST /oauth/token", delay_s=20)
    emulator.faults.inject("429", route="POST /oauth/token")

    with pytest.raises(httpx.ReadTimeout):
        http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM, timeout=httpx.Timeout(5.0, read=10.0))
    limited = http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM)

    assert emulator.stats()["tokens_issued"] == 1  # the slow one was issued, its answer came too late
    assert (limited.status_code, limited.json()["code"], limited.headers["Retry-After"]) == (429, 429, "1")
