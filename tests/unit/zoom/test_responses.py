"""One mapping from Zoom's answers to our error tree, exercised through the client and fuzzed alone."""

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spam_blocker.zoom.errors import (
    ZoomAuthFailed,
    ZoomBadResponse,
    ZoomError,
    ZoomInvalid,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)
from spam_blocker.zoom.responses import error_body, error_for, says_not_found

from .conftest import NOW
from .fake_zoom import FakeZoom, answer

QPS_BODY = {"code": 429, "message": "You have reached the maximum per-second rate limit for this API. "
                                    "Try again later."}
DAILY_BODY = {"code": 429, "message": "You have reached the maximum daily rate limit for this API."}
MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC)


def create(client):
    return client.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound")


@pytest.mark.parametrize(("body", "headers", "category", "limit_type", "retry_at"), [
    pytest.param(QPS_BODY, {"X-RateLimit-Category": "Light", "X-RateLimit-Type": "QPS", "Retry-After": "1"},
                 "Light", "QPS", NOW + timedelta(seconds=1), id="qps-seconds"),
    pytest.param(QPS_BODY, {"X-RateLimit-Category": "Light", "X-RateLimit-Type": "QPS", "Retry-After": "0.35"},
                 "Light", "QPS", NOW + timedelta(seconds=0.35), id="qps-float-seconds"),
    pytest.param(QPS_BODY, {"X-RateLimit-Type": "QPS", "Retry-After": "Fri, 20 Nov 2026 12:00:02 GMT"},
                 "Light", "QPS", NOW + timedelta(seconds=2), id="qps-http-date"),
    pytest.param(QPS_BODY, {"Retry-After": "2026-11-20T12:00:03Z"},
                 "Light", "QPS", NOW + timedelta(seconds=3), id="qps-iso-z"),
    pytest.param(QPS_BODY, {"Retry-After": "2026-11-20T13:00:04+01:00"},
                 "Light", "QPS", NOW + timedelta(seconds=4), id="qps-iso-offset"),
    pytest.param(QPS_BODY, {}, "Light", "QPS", NOW + timedelta(seconds=1.25), id="qps-missing"),
    pytest.param(QPS_BODY, {"Retry-After": "later, maybe"}, "Light", "QPS", NOW + timedelta(seconds=1.25),
                 id="qps-garbage"),
    pytest.param(DAILY_BODY, {"X-RateLimit-Category": "Heavy", "X-RateLimit-Type": "Daily-limit",
                              "Retry-After": "2026-11-21T00:00:00Z"},
                 "Heavy", "Daily-limit", MIDNIGHT, id="daily-iso-z"),
    pytest.param(DAILY_BODY, {"X-RateLimit-Type": "Daily-limit", "Retry-After": "2026-11-20T19:00:00-05:00"},
                 "Light", "Daily-limit", MIDNIGHT, id="daily-iso-offset"),
    pytest.param(DAILY_BODY, {"X-RateLimit-Type": "Daily-limit", "Retry-After": "Sat, 21 Nov 2026 00:00:00 GMT"},
                 "Light", "Daily-limit", MIDNIGHT, id="daily-http-date"),
    pytest.param(DAILY_BODY, {"X-RateLimit-Type": "Daily-limit", "Retry-After": "43200"},
                 "Light", "Daily-limit", MIDNIGHT, id="daily-seconds"),
    pytest.param(DAILY_BODY, {"X-RateLimit-Type": "Daily-limit"}, "Light", "Daily-limit", MIDNIGHT,
                 id="daily-missing"),
    pytest.param(DAILY_BODY, {"Retry-After": "garbage"}, "Light", "Daily-limit", MIDNIGHT,
                 id="daily-from-body-garbage"),
    pytest.param("Too Many Requests", {"X-RateLimit-Category": "medium"}, "Medium", "QPS",
                 NOW + timedelta(seconds=1.25), id="non-json-body"),
])
def test_every_429_variant_is_rate_limited_with_the_exact_retry_time(client, zoom, records, body, headers,
                                                                     category, limit_type, retry_at):
    zoom.fail("POST", "/v2/phone/blocked_list", answer(429, body, headers))

    with pytest.raises(ZoomRateLimited) as caught:
        create(client)

    error = caught.value
    assert (error.category, error.limit_type, error.retry_at) == (category, limit_type, retry_at)
    assert error.status == 429 and error.code == 429 and error.route == "POST /phone/blocked_list"
    assert error.is_daily is (limit_type == "Daily-limit")
    assert len(zoom.api_requests) == 1  # never retried by the client
    assert [(r.route, r.status) for r in records] == [("POST /phone/blocked_list", 429)]


def test_a_429_on_a_get_is_not_retried_either(client, zoom, sleeps):
    zoom.fail("GET", "/v2/phone/call_logs", answer(429, QPS_BODY, {"X-RateLimit-Category": "Heavy"}))
    with pytest.raises(ZoomRateLimited) as caught:
        client.call_logs_page(date_from=NOW.date(), date_to=NOW.date())
    assert caught.value.category == "Heavy"
    assert sleeps.calls == [] and len(zoom.api_requests) == 1


def test_the_category_falls_back_to_the_route(client, zoom):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(429, QPS_BODY))
    with pytest.raises(ZoomRateLimited) as caught:
        list(client.list_blocked())
    assert caught.value.category == "Medium"


@pytest.mark.parametrize(("code", "message"), [
    (300, "Blocked list does not exist."),
    (400, "Blocked list not found."),
    (404, "Blocked list not found."),
    (13604, "Blocked list not found."),
    (404, ""),
    (13604, "Invalid parameter"),
    (300, "The blocked list doesn't exist"),
    (None, "Resource NOT_FOUND"),
    (1001, "No such blocked list"),
])
@pytest.mark.parametrize("call", ["get", "update", "delete"])
def test_a_400_that_says_not_found_in_any_variant_is_not_found(clock, make_client, code, message, call):
    zoom = FakeZoom(clock, not_found=(code, message))
    with make_client(transport=zoom.transport()) as client, pytest.raises(ZoomNotFound) as caught:
        {"get": lambda: client.get_blocked("gone"),
         "update": lambda: client.update_blocked("gone", status="inactive"),
         "delete": lambda: client.delete_blocked("gone")}[call]()
    assert caught.value.status == 400 and caught.value.code == code
    assert len(zoom.api_requests) == 1  # a 4xx is final


@pytest.mark.parametrize("status", [404, 410])
def test_a_real_404_or_410_is_not_found(client, zoom, status):
    zoom.fail("DELETE", "/v2/phone/blocked_list/x", answer(status, "<html>gone</html>"))
    with pytest.raises(ZoomNotFound):
        client.delete_blocked("x")


def test_a_validation_400_is_invalid_with_zoom_code_and_message(client, zoom):
    with pytest.raises(ZoomInvalid) as caught:
        client.create_blocked(match_type="everything", phone_number="+1", block_type="inbound")
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, 300,
                                                                              "Invalid parameter: match_type.")
    assert zoom.entries == {}


@pytest.mark.parametrize(("status", "body", "code", "message"), [
    (400, {"code": 300, "message": "Invalid country."}, 300, "Invalid country."),
    (400, {"code": 13601, "message": "The phone number has already been blocked."}, 13601,
     "The phone number has already been blocked."),
    (409, {}, None, "Zoom answered 409"),
    (422, {"code": "300", "message": "Unprocessable"}, 300, "Unprocessable"),
    (400, "plain text says bad", None, "plain text says bad"),
    (400, b"\xff\xfe\x00binary", None, None),
    (413, {"code": 413}, 413, "Zoom answered 413"),
])
def test_other_client_errors_are_invalid(client, zoom, status, body, code, message):
    zoom.fail("POST", "/v2/phone/blocked_list", answer(status, body))
    with pytest.raises(ZoomInvalid) as caught:
        create(client)
    assert caught.value.status == status and caught.value.code == code
    if message is not None:
        assert caught.value.message == message


def test_403_is_auth_failed(client, zoom):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(403, {"code": 104, "message": "Invalid access token, "
                                                                                    "does not contain scopes"}))
    with pytest.raises(ZoomAuthFailed) as caught:
        list(client.list_blocked())
    assert caught.value.code == 104


def test_an_unexpected_status_is_a_bad_response(client, zoom):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(302, None, {"Location": "https://zoom.us/signin"}))
    with pytest.raises(ZoomBadResponse) as caught:
        list(client.list_blocked())
    assert caught.value.status == 302 and len(zoom.api_requests) == 1


def test_a_5xx_keeps_its_readable_retry_after():
    error = error_for(answer(503, "down", {"Retry-After": "120"}), route="GET /x", category="Light", now=NOW)
    assert isinstance(error, ZoomServerError) and error.retry_at == NOW + timedelta(seconds=120)
    error = error_for(answer(500, "down", {"Retry-After": "whenever"}), route="GET /x", category="Light", now=NOW)
    assert error.retry_at is None
    error = error_for(answer(503, "down", {"Retry-After": "99999"}), route="GET /x", category="Light", now=NOW)
    assert error.retry_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(("exc", "committed"), [
    (httpx.ConnectError("refused"), False),
    (httpx.ConnectTimeout("slow handshake"), False),
    (httpx.PoolTimeout("no free connection"), False),
    (httpx.UnsupportedProtocol("ftp"), False),
    (httpx.ReadTimeout("no answer"), True),
    (httpx.ReadError("reset by peer"), True),
    (httpx.WriteTimeout("half sent"), True),
    (httpx.WriteError("broken pipe"), True),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
    (httpx.DecodingError("bad gzip"), True),
])
def test_transport_errors_say_whether_the_request_may_have_committed(exc, committed):
    error = error_for(exc, route="POST /phone/blocked_list", category="Light", now=NOW)
    assert isinstance(error, ZoomTransportError) and error.may_have_committed is committed
    assert error.status is None and error.route == "POST /phone/blocked_list"


@pytest.mark.parametrize(("code", "message", "expected"), [
    (404, None, True), (13604, None, True), (300, "Invalid country.", False), (400, None, False),
    (None, "Blocked list ID does not exist", True), (None, "Phone number is invalid", False),
    (300, "Could not find the blocked list", True), (None, "", False),
    (400, "Invalid parameter: blockedListId.", True), (300, "Invalid blocked list id", True),
    (300, "Invalid parameter: phone_number.", False),
])
def test_says_not_found(code, message, expected):
    assert says_not_found(code, message) is expected


def test_error_body_reads_zoom_and_oauth_shapes():
    assert error_body(answer(400, {"code": 300, "message": "Invalid country."})) == (300, "Invalid country.")
    assert error_body(answer(400, {"error": "invalid_client", "reason": "Bad"})) == (None, "Bad")
    assert error_body(answer(400, {"code": True, "message": ["x"]})) == (None, None)
    assert error_body(answer(400, ["a", "list"])) == (None, '["a","list"]')
    assert error_body(answer(400, "x" * 1000))[1] == "x" * 300


# --- fuzzing: arbitrary statuses, headers and bodies never raise anything but our typed errors ---

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=3), max_leaves=8)
_zoomish = st.fixed_dictionaries({}, optional={"code": st.one_of(st.integers(), st.text(max_size=6), st.none()),
                                               "message": st.one_of(st.text(max_size=40), st.integers())})
_header_names = st.sampled_from(["Retry-After", "X-RateLimit-Category", "X-RateLimit-Type", "Content-Type",
                                 "X-Other"])
_header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(status=st.integers(100, 599), headers=st.dictionaries(_header_names, _header_values, max_size=4),
       body=st.one_of(st.binary(max_size=60), _json, _zoomish), category=st.sampled_from(["Light", "Heavy"]),
       seed=st.integers(0, 2**16))
def test_fuzz_the_mapper_only_ever_returns_a_zoom_error(status, headers, body, category, seed):
    if isinstance(body, bytes):
        response = httpx.Response(status, content=body, headers=headers)
    else:
        response = httpx.Response(status, json=body, headers=headers)

    error = error_for(response, route="GET /phone/blocked_list", category=category, now=NOW,
                      rng=random.Random(seed))

    assert isinstance(error, ZoomError) and isinstance(error.message, str) and error.message
    assert error.status == status
    if status == 429:
        assert isinstance(error, ZoomRateLimited) and error.category in {"Light", "Medium", "Heavy"}
        assert NOW <= error.retry_at <= MIDNIGHT + timedelta(hours=1)
    elif status >= 500:
        assert isinstance(error, ZoomServerError)
    elif status in (401, 403):
        assert isinstance(error, ZoomAuthFailed)
    elif 400 <= status < 500:
        assert isinstance(error, ZoomInvalid | ZoomNotFound)
