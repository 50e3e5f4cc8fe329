"""Per-second (sliding 1 s window) and daily (Heavy, 00:00 GMT) limits, headers and Retry-After forms."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from tests.emulator.conftest import CREDENTIALS, TOKEN_FORM

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = "You have reached the maximum daily rate limit for this API. Try again later."
SMALL_DAILY = {"Light": 20, "Medium": 10, "Heavy": 5, "daily": 3}


def _light(api):
    return api.get("/phone/blocked_list/unknown")  # GET one entry: Light (the 400 still counts)


def test_the_21st_light_request_within_a_second_is_429_with_every_header(api, clock):
    remaining = [_light(api).headers["X-RateLimit-Remaining"] for _ in range(20)]
    clock.advance(0.999)

    response = _light(api)

    assert remaining == [str(n) for n in range(19, -1, -1)]
    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": QPS_MESSAGE}
    assert response.headers["X-RateLimit-Category"] == "Light"
    assert response.headers["X-RateLimit-Type"] == "QPS"
    assert response.headers["X-RateLimit-Limit"] == "20"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["Retry-After"] == "1"


def test_requests_succeed_again_once_the_clock_moves_a_second(api, clock):
    for _ in range(20):
        _light(api)
    assert _light(api).status_code == 429

    clock.advance(1)

    assert _light(api).status_code == 400  # the operation's own answer: unknown id


def test_the_window_slides_rather_than_resetting_on_second_boundaries(api, clock):
    clock.set(datetime(2026, 11, 20, 12, 0, 0, 900_000, tzinfo=UTC))
    for _ in range(20):
        _light(api)
    clock.set(datetime(2026, 11, 20, 12, 0, 1, 100_000, tzinfo=UTC))  # a new wall-clock second, same window

    refused = _light(api)
    clock.set(datetime(2026, 11, 20, 12, 0, 1, 900_000, tzinfo=UTC))

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert _light(api).status_code == 400


def test_refused_requests_do_not_count(api, clock):
    for _ in range(20):
        _light(api)
    for _ in range(50):
        assert _light(api).status_code == 429
    clock.advance(1)

    assert [_light(api).status_code for _ in range(20)] == [400] * 20


def test_categories_are_limited_separately(api, clock):
    for _ in range(10):
        assert api.get("/phone/blocked_list").status_code == 200
    medium = api.get("/phone/blocked_list")

    assert (medium.status_code, medium.headers["X-RateLimit-Category"], medium.headers["X-RateLimit-Limit"]) == \
        (429, "Medium", "10")
    assert _light(api).status_code == 400


def test_business_plan_allows_twice_as_much(http, get_token, clock):
    import httpx

    from local.emulator import ZoomEmulator

    emulator = ZoomEmulator("business", clock)
    with httpx.Client(transport=emulator.transport(), base_url="https://api.zoom.us") as client:
        token = client.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [client.get("/v2/phone/blocked_list/x", headers=headers).status_code for _ in range(41)]
    assert statuses == [400] * 40 + [429]


def test_unauthenticated_requests_do_not_count_but_carry_the_headers(api, http):
    for _ in range(30):
        response = http.get("/v2/phone/blocked_list/x")
        assert response.status_code == 401
        assert response.headers["X-RateLimit-Remaining"] == "20"

    assert [_light(api).status_code for _ in range(20)] == [400] * 20


def test_oauth_and_inspection_are_not_rate_limited(http, api):
    for _ in range(60):
        assert http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).status_code == 200
        assert http.get("/_emulator/entries").status_code == 200
    assert [_light(api).status_code for _ in range(20)] == [400] * 20


def _heavy(api):
    return api.get("/phone/call_logs")


def _jump(clock, api, get_token, when):
    """Moves the clock hours ahead; the old access token has expired by then, so take a new one."""
    clock.set(when)
    api.headers["Authorization"] = f"Bearer {get_token()}"


def test_daily_limit_for_heavy_requests_resets_at_midnight_gmt(api, emulator, clock, get_token):
    emulator.configure(limits=SMALL_DAILY)
    remaining = []
    for _ in range(3):
        remaining.append(_heavy(api).headers["X-RateLimit-Remaining"])
        clock.advance(1)

    refused = _heavy(api)
    _jump(clock, api, get_token, datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC))
    still_refused = _heavy(api)
    clock.set(datetime(2026, 11, 21, 0, 0, tzinfo=UTC))
    after_reset = _heavy(api)

    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": DAILY_MESSAGE}
    assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.headers["X-RateLimit-Category"] == "Heavy"
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == "2026-11-21T00:00:00Z"
    assert still_refused.status_code == 429
    assert after_reset.status_code == 200
    assert after_reset.headers["X-RateLimit-Remaining"] == "2"


def test_daily_limit_does_not_touch_light_or_medium(api, emulator, clock):
    emulator.configure(limits=SMALL_DAILY)
    for _ in range(3):
        _heavy(api)
        clock.advance(1)

    assert _heavy(api).status_code == 429
    assert api.get("/phone/blocked_list").status_code == 200
    assert _light(api).status_code == 400


def test_heavy_per_second_limit_answers_qps(api, clock):
    statuses = [_heavy(api).status_code for _ in range(5)]
    refused = _heavy(api)

    assert statuses == [200] * 5
    assert (refused.status_code, refused.headers["X-RateLimit-Type"], refused.headers["X-RateLimit-Limit"]) == \
        (429, "QPS", "5")
    assert refused.json()["message"] == QPS_MESSAGE


def _exhaust_light(api):
    for _ in range(20):
        _light(api)
    return _light(api)


def test_retry_after_as_an_http_date(api, emulator, clock):
    emulator.configure(retry_after_qps="http-date")

    response = _exhaust_light(api)

    assert parsedate_to_datetime(response.headers["Retry-After"]) == datetime(2026, 11, 20, 12, 0, 1, tzinfo=UTC)


def test_retry_after_as_an_iso_timestamp_rounds_up_to_whole_seconds(api, emulator, clock):
    emulator.configure(retry_after_qps="iso")
    clock.set(datetime(2026, 11, 20, 12, 0, 0, 250_000, tzinfo=UTC))

    response = _exhaust_light(api)

    assert response.headers["Retry-After"] == "2026-11-20T12:00:02Z"


def test_retry_after_can_be_omitted(api, emulator):
    emulator.configure(retry_after_qps="none")

    response = _exhaust_light(api)

    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_daily_retry_after_in_seconds_counts_to_midnight(api, emulator, clock, get_token):
    emulator.configure(limits=SMALL_DAILY, retry_after_daily="seconds")
    for _ in range(3):
        _heavy(api)
    _jump(clock, api, get_token, datetime(2026, 11, 20, 23, 0, 0, tzinfo=UTC))

    assert _heavy(api).headers["Retry-After"] == "3600"


def test_bad_configuration_is_refused_and_changes_nothing(emulator):
    before = emulator.config.to_dict()
    for change in ({"retry_after_qps": "minutes"}, {"limits": {"Light": 1}}, {"plan": "enterprise"},
                   {"limits": {"Light": 0, "Medium": 1, "Heavy": 1, "daily": 1}}):
        with pytest.raises(ValueError):
            emulator.configure(**change)
    assert emulator.config.to_dict() == before
