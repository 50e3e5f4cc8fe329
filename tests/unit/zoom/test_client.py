"""ZoomClient against a small fake Zoom: calls, pages, retries, transport failures, request records."""

import inspect
import json
from datetime import date, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spam_blocker.clock import ManualClock
from spam_blocker.ports import ZoomPhone
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import RequestRecord, ZoomClient, api_base
from spam_blocker.zoom.errors import (
    PermitExpired,
    ZoomBadResponse,
    ZoomError,
    ZoomInvalid,
    ZoomNotFound,
    ZoomServerError,
    ZoomTransportError,
)
from spam_blocker.zoom.models import BlockedEntry, BlockedListPage, CallLogsPage

from .conftest import NOW, FixedRandom
from .fake_zoom import API_URL, FakeZoom, answer

BOOM = answer(500, {"code": 500, "message": "Internal error"})


def create(client, number="+19075550123", **extra):
    return client.create_blocked(match_type="phoneNumber", phone_number=number, block_type="inbound", **extra)


# --- the port, exactly ---

@pytest.mark.parametrize("name", [n for n in vars(ZoomPhone) if not n.startswith("_")])
def test_the_client_has_the_port_signatures_exactly(name):
    assert inspect.signature(getattr(ZoomClient, name)) == inspect.signature(getattr(ZoomPhone, name))


# --- calls ---

def test_create_sends_the_documented_body_and_returns_the_id(client, zoom):
    entry_id = create(client, comment="spam-blocker: robocall")

    request = zoom.api_requests[-1]
    assert request.method == "POST" and request.url.path == "/v2/phone/blocked_list"
    assert json.loads(request.content) == {"match_type": "phoneNumber", "phone_number": "+19075550123",
                                           "block_type": "inbound", "status": "active",
                                           "comment": "spam-blocker: robocall"}
    assert zoom.entries[entry_id]["comment"] == "spam-blocker: robocall"


def test_create_without_a_comment_sends_none(client, zoom):
    create(client)
    assert "comment" not in json.loads(zoom.api_requests[-1].content)


@pytest.mark.parametrize("status", [200, 201])
def test_create_accepts_200_or_201_with_an_id(client, zoom, status):
    zoom.fail("POST", "/v2/phone/blocked_list", answer(status, {"id": "zoom-id-7", "extra": 1}))
    assert create(client) == "zoom-id-7"


@pytest.mark.parametrize("body", [{}, {"id": ""}, {"id": None}, {"id": 12}, "created", [{"id": "a"}], b""])
def test_a_malformed_create_answer_is_a_bad_response_not_a_raw_error(client, zoom, body, records):
    zoom.fail("POST", "/v2/phone/blocked_list", answer(201, body))
    with pytest.raises(ZoomBadResponse) as caught:
        create(client)
    assert caught.value.status == 201 and caught.value.route == "POST /phone/blocked_list"
    assert len(records) == 1  # a POST is never retried, whatever the failure


def test_get_update_delete(client, zoom):
    entry_id = create(client)
    assert client.get_blocked(entry_id) == BlockedEntry(id=entry_id, match_type="phoneNumber",
                                                        phone_number="+19075550123", block_type="inbound",
                                                        status="active")
    client.update_blocked(entry_id, status="inactive", comment="off")
    assert json.loads(zoom.api_requests[-1].content) == {"status": "inactive", "comment": "off"}
    assert client.get_blocked(entry_id).status == "inactive"
    client.delete_blocked(entry_id)
    assert zoom.entries == {}
    with pytest.raises(ZoomNotFound):
        client.get_blocked(entry_id)


def test_ids_are_escaped_into_one_path_segment(client, zoom):
    with pytest.raises(ZoomNotFound):
        client.delete_blocked("a/../b c")
    assert zoom.api_requests[-1].url.raw_path == b"/v2/phone/blocked_list/a%2F..%2Fb%20c"


@pytest.mark.parametrize("bad", ["", "   "])
def test_an_empty_id_never_reaches_zoom(client, zoom, bad):
    with pytest.raises(ValueError):
        client.delete_blocked(bad)
    with pytest.raises(ValueError):
        client.update_blocked("bl-1")
    assert zoom.api_requests == []


@pytest.mark.parametrize("body", [{"blocked_list": [{"match_type": "prefix"}]}, {"blocked_list": "x"}, "<html>",
                                  {"blocked_list": [{"id": "a"}], "total_records": "many"}])
def test_a_malformed_list_page_is_a_bad_response(client, zoom, body):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(200, body))
    with pytest.raises(ZoomBadResponse):
        list(client.list_blocked())


def test_a_get_with_a_malformed_entry_is_a_bad_response(client, zoom):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", answer(200, {"phone_number": "+1"}))
    with pytest.raises(ZoomBadResponse):
        client.get_blocked("bl-1")


def test_extra_fields_and_a_threat_block_type_are_accepted(client, zoom):
    zoom.add(match_type="phoneNumber", phone_number="+1", block_type="threat", country="US")
    [entry] = client.list_blocked()
    assert entry.block_type == "threat"


# --- pagination ---

def test_list_blocked_follows_next_page_token_to_the_end(client, zoom, records):
    ids = [zoom.add(match_type="phoneNumber", phone_number=f"+1907555{n:04d}", block_type="inbound")
           for n in range(7)]

    assert [entry.id for entry in client.list_blocked(page_size=3)] == ids

    assert [r.url.params.get("next_page_token") for r in zoom.api_requests] == [None, "3", "6"]
    assert all(r.url.params["page_size"] == "3" for r in zoom.api_requests)
    assert [r.route for r in records] == ["GET /phone/blocked_list"] * 3


@pytest.mark.parametrize("end", [{"next_page_token": ""}, {"next_page_token": None}, {}])
def test_an_empty_or_absent_token_ends_the_list(client, zoom, end):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(200, {"blocked_list": [{"id": "a"}], **end}))
    assert [e.id for e in client.list_blocked()] == ["a"]
    assert len(zoom.api_requests) == 1


def test_a_null_list_is_an_empty_page(client, zoom):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(200, {"blocked_list": None, "total_records": 0}))
    assert list(client.list_blocked()) == []


def test_a_repeated_page_token_stops_instead_of_looping_forever(client, zoom):
    page = answer(200, {"blocked_list": [{"id": "a"}], "next_page_token": "same"})
    zoom.fail("GET", "/v2/phone/blocked_list", page, times=10)
    with pytest.raises(ZoomBadResponse):
        list(client.list_blocked())
    assert len(zoom.api_requests) == 2


def test_list_blocked_page_is_one_page(client, zoom):
    for n in range(3):
        zoom.add(match_type="prefix", phone_number=f"190{n}", block_type="inbound")
    page = client.list_blocked_page(2)
    assert isinstance(page, BlockedListPage) and len(page.blocked_list) == 2 and page.next_page_token == "2"
    assert page.total_records == 3
    assert [e.phone_number for e in client.list_blocked_page(2, "2").blocked_list] == ["1902"]


# --- call logs ---

def _logs(n):
    return [{"id": f"log-{i}", "caller_number": f"+1907555{i:04d}", "caller_number_type": 2,
             "direction": "inbound", "duration": i, "result": "No Answer",
             "date_time": f"2026-11-0{1 + i % 9}T10:00:00Z"} for i in range(n)]


@pytest.mark.parametrize("key", ["call_logs", "call_history"])
def test_call_logs_in_either_shape_page_after_page(clock, make_client, key):
    zoom = FakeZoom(clock, call_logs_key=key)
    zoom.call_logs = _logs(5)
    with make_client(transport=zoom.transport()) as client:
        records = list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 7), page_size=2))

    assert records == _logs(5)
    first = zoom.api_requests[0].url.params
    assert (first["from"], first["to"], first["type"], first["page_size"]) == ("2026-11-01", "2026-11-07",
                                                                              "all", "2")
    assert [r.url.params.get("next_page_token") for r in zoom.api_requests] == [None, "2", "4"]


def test_call_logs_page_passes_its_parameters(client, zoom):
    zoom.call_logs = _logs(3)
    page = client.call_logs_page(date_from=datetime(2026, 11, 1, 23, 59), date_to=date(2026, 11, 2),
                                 next_page_token="1", page_size=1, log_type="missed")
    assert isinstance(page, CallLogsPage) and page.call_logs == _logs(3)[1:2]
    params = zoom.api_requests[0].url.params
    assert (params["from"], params["type"], params["next_page_token"]) == ("2026-11-01", "missed", "1")


@pytest.mark.parametrize("body", [{"call_logs": None}, {"call_history": []}, {}])
def test_empty_call_log_pages(client, zoom, body):
    zoom.fail("GET", "/v2/phone/call_logs", answer(200, body))
    assert list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 2))) == []


def test_a_call_log_record_that_is_not_an_object_is_a_bad_response(client, zoom):
    zoom.fail("GET", "/v2/phone/call_logs", answer(200, {"call_logs": ["x"]}))
    with pytest.raises(ZoomBadResponse):
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2))


# --- retries: idempotent calls only, bounded, exact sleeps ---

@pytest.mark.parametrize(("method", "path", "call"), [
    ("GET", "/v2/phone/blocked_list", lambda c: list(c.list_blocked())),
    ("PATCH", "/v2/phone/blocked_list/bl-1", lambda c: c.update_blocked("bl-1", status="inactive")),
    ("DELETE", "/v2/phone/blocked_list/bl-1", lambda c: c.delete_blocked("bl-1")),
], ids=["GET", "PATCH", "DELETE"])
def test_idempotent_calls_retry_5xx_with_capped_backoff_and_jitter(client, zoom, sleeps, records, method, path,
                                                                    call):
    zoom.add(match_type="phoneNumber", phone_number="+1", block_type="inbound")
    zoom.fail(method, path, BOOM, times=2)

    call(client)

    # base 0.2 s doubling, equal jitter with random() = 0.5: 0.75 of 0.2, then 0.75 of 0.4
    assert sleeps.calls == pytest.approx([0.15, 0.3])
    assert [r.status for r in records] == [500, 500, 200 if method == "GET" else 204]
    assert len(zoom.api_requests) == 3


def test_a_get_gives_up_after_max_retries(client, zoom, sleeps, records):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", answer(503, "<html>unavailable</html>"), times=10)
    with pytest.raises(ZoomServerError) as caught:
        client.get_blocked("bl-1")
    assert caught.value.status == 503
    assert len(zoom.api_requests) == 3 and len(sleeps.calls) == 2 and len(records) == 3


def test_backoff_is_capped_and_jittered_within_bounds(make_client, zoom, sleeps):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", BOOM, times=10)
    with make_client(max_retries=5, max_inline_wait_s=100, rng=FixedRandom(0.999)) as client, \
            pytest.raises(ZoomServerError):
        client.get_blocked("bl-1")
    assert sleeps.calls == pytest.approx([0.1999, 0.3998, 0.7996, 0.7996, 0.7996])


def test_the_total_inline_wait_is_bounded_per_call(make_client, zoom, sleeps):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", BOOM, times=10)
    with make_client(max_retries=10, max_inline_wait_s=1.0, rng=FixedRandom(0.0)) as client, \
            pytest.raises(ZoomServerError):
        client.get_blocked("bl-1")
    assert sleeps.calls == pytest.approx([0.1, 0.2, 0.4])  # a fourth (0.4 more) would pass 1.0 s in total
    assert len(zoom.api_requests) == 4


def test_a_5xx_retry_after_is_honoured_inline_only_when_short(client, zoom, sleeps):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", answer(503, {}, {"Retry-After": "0.5"}))
    with pytest.raises(ZoomNotFound):  # retried after 0.5 s; then Zoom says the id is unknown
        client.get_blocked("bl-1")
    assert sleeps.calls == pytest.approx([0.5])

    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", answer(503, {}, {"Retry-After": "30"}))
    with pytest.raises(ZoomServerError) as caught:
        client.get_blocked("bl-1")
    assert caught.value.retry_at == NOW + timedelta(seconds=30.5)  # the clock moved by the first sleep
    assert sleeps.calls == pytest.approx([0.5])


def test_zero_retries_or_zero_wait_means_one_attempt(make_client, zoom, sleeps):
    zoom.fail("GET", "/v2/phone/blocked_list/bl-1", BOOM, times=10)
    for options in ({"max_retries": 0}, {"max_inline_wait_s": 0}):
        with make_client(**options) as client, pytest.raises(ZoomServerError):
            client.get_blocked("bl-1")
    assert len(zoom.api_requests) == 2 and sleeps.calls == []


@pytest.mark.parametrize("failure", [BOOM, answer(502, "bad gateway"), httpx.ReadTimeout("no answer"),
                                     httpx.RemoteProtocolError("Server disconnected")])
def test_post_is_never_retried(client, zoom, sleeps, records, failure):
    zoom.fail("POST", "/v2/phone/blocked_list", failure)
    with pytest.raises((ZoomServerError, ZoomTransportError)):
        create(client)
    assert len(zoom.api_requests) == 1 and sleeps.calls == [] and len(records) == 1


def test_4xx_are_never_retried(client, zoom, sleeps):
    with pytest.raises(ZoomNotFound):
        client.delete_blocked("nope")
    zoom.fail("PATCH", "/v2/phone/blocked_list/x", answer(409, {}))
    with pytest.raises(ZoomInvalid):
        client.update_blocked("x", status="active")
    assert len(zoom.api_requests) == 2 and sleeps.calls == []


# --- transport failures ---

@pytest.mark.parametrize("failure", [httpx.RemoteProtocolError("Server disconnected without sending a response."),
                                     httpx.ReadTimeout("timed out"), httpx.ReadError("connection reset")])
def test_a_post_that_was_sent_and_dropped_may_have_committed(client, zoom, records, failure):
    zoom.fail("POST", "/v2/phone/blocked_list", failure, after_commit=True)

    with pytest.raises(ZoomTransportError) as caught:
        create(client)

    assert caught.value.may_have_committed is True and caught.value.route == "POST /phone/blocked_list"
    assert len(zoom.entries) == 1  # it did: the blocker must look before creating again
    assert [(r.route, r.status) for r in records] == [("POST /phone/blocked_list", None)]


@pytest.mark.parametrize("failure", [httpx.ConnectError("connection refused"), httpx.ConnectTimeout("timed out")])
def test_a_connect_failure_never_committed(client, zoom, failure):
    zoom.fail("POST", "/v2/phone/blocked_list", failure)
    with pytest.raises(ZoomTransportError) as caught:
        create(client)
    assert caught.value.may_have_committed is False and zoom.entries == {}


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"),
                                     httpx.RemoteProtocolError("Server disconnected")])
def test_a_get_retries_transport_errors(client, zoom, sleeps, records, failure):
    zoom.fail("GET", "/v2/phone/blocked_list", failure, times=2)
    assert list(client.list_blocked()) == []
    assert sleeps.calls == pytest.approx([0.15, 0.3])
    assert [r.status for r in records] == [None, None, 200]


def test_a_delete_retried_after_it_committed_ends_in_not_found(client, zoom):
    entry_id = create(client)
    zoom.fail("DELETE", f"/v2/phone/blocked_list/{entry_id}", httpx.ReadTimeout("slow"), after_commit=True)
    with pytest.raises(ZoomNotFound):  # callers treat "gone" as done
        client.delete_blocked(entry_id)
    assert zoom.entries == {}


def test_transport_errors_that_persist_are_raised_after_the_retries(client, zoom):
    zoom.fail("DELETE", "/v2/phone/blocked_list/bl-1", httpx.ReadTimeout("slow"), times=5)
    with pytest.raises(ZoomTransportError) as caught:
        client.delete_blocked("bl-1")
    assert caught.value.may_have_committed is True and len(zoom.api_requests) == 3


# --- request records ---

def test_every_api_request_sent_is_recorded_and_oauth_is_not(client, zoom, records, clock):
    entry_id = create(client)
    clock.advance(5)
    zoom.fail("GET", "/v2/phone/blocked_list", answer(429, {"code": 429, "message": "slow down"}))
    with pytest.raises(Exception):  # noqa: B017 - the 429 is another test's subject
        list(client.list_blocked())
    zoom.expire_tokens()
    client.delete_blocked(entry_id)

    assert records == [
        RequestRecord("POST /phone/blocked_list", "Light", 201, NOW),
        RequestRecord("GET /phone/blocked_list", "Medium", 429, NOW + timedelta(seconds=5)),
        RequestRecord("DELETE /phone/blocked_list/{id}", "Light", 401, NOW + timedelta(seconds=5)),
        RequestRecord("DELETE /phone/blocked_list/{id}", "Light", 204, NOW + timedelta(seconds=5)),
    ]
    assert len(zoom.token_requests) == 2 and len(zoom.api_requests) == 4


def test_a_client_without_on_request_works(make_client):
    with make_client(on_request=None) as client:
        assert list(client.list_blocked()) == []


# --- construction ---

def test_create_builds_a_client_with_timeouts_limits_user_agent_and_base_url(make_client, zoom):
    with make_client() as client:
        list(client.list_blocked())
        http = client._http
        assert http.timeout == httpx.Timeout(10.0, connect=3.0)
        assert http.base_url == httpx.URL(API_URL + "/")
        assert http.follow_redirects is False
    request = zoom.api_requests[0]
    assert request.headers["User-Agent"].startswith("zoom-spam-blocker/")
    assert request.headers["Accept"] == "application/json"
    assert zoom.token_requests[0].headers["User-Agent"].startswith("zoom-spam-blocker/")


def test_the_token_request_is_bounded_by_the_client_timeout(make_client, zoom):
    with make_client(timeout=httpx.Timeout(4.0, connect=1.0)) as client:
        list(client.list_blocked())
        client.check_credentials()
    for token_request in zoom.token_requests:
        assert token_request.extensions["timeout"] == httpx.Timeout(4.0, connect=1.0).as_dict()


@pytest.mark.parametrize("url", ["https://api.zoom.us", "https://api.zoom.us/", "https://api.zoom.us/v2",
                                 "https://api.zoom.us/v2/"])
def test_api_base_accepts_the_url_with_or_without_v2(url):
    assert api_base(url) == "https://api.zoom.us/v2"


def test_a_plain_httpx_client_with_any_auth_works(zoom, clock, records):
    zoom.valid_tokens.add("static")
    http = httpx.Client(base_url=API_URL, transport=zoom.transport(), auth=_StaticBearer("static"))
    client = ZoomClient(http, clock=clock, on_request=records.append)
    assert create(client)
    assert [r.status for r in records] == [201]


class _StaticBearer(httpx.Auth):
    def __init__(self, token):
        self.token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


# --- fuzzing: whatever Zoom answers, a call returns its type or raises a ZoomError ---

_bodies = st.one_of(
    st.binary(max_size=40),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                     st.sampled_from(["id", "blocked_list", "call_logs", "call_history", "next_page_token",
                                      "code", "message", "page_size"]), inner, max_size=4),
                 max_leaves=10),
)
_calls = {
    "list": lambda c: list(c.list_blocked()),
    "get": lambda c: c.get_blocked("bl-1"),
    "create": lambda c: create(c),
    "update": lambda c: c.update_blocked("bl-1", status="inactive"),
    "delete": lambda c: c.delete_blocked("bl-1"),
    "call_logs": lambda c: list(c.iter_call_logs(date(2026, 11, 1), date(2026, 11, 2))),
}


@settings(max_examples=150, deadline=None)
@given(status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 503]),
       body=_bodies, retry_after=st.one_of(st.none(), st.text(max_size=12)), call=st.sampled_from(sorted(_calls)))
def test_fuzz_any_answer_gives_a_result_or_a_zoom_error(status, body, retry_after, call):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    headers = {k: v for k, v in headers.items() if v.isascii() and v.isprintable()}

    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return answer(200, {"access_token": "tok", "expires_in": 3600})
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    clear_token_cache()
    client = ZoomClient.create(API_URL, "https://zoom.test/oauth/token", "a", "b", "c",
                               transport=httpx.MockTransport(app), clock=ManualClock(NOW), sleep=lambda s: None)
    try:
        _calls[call](client)
    except ZoomError as exc:
        assert exc.message
    except ValueError as exc:  # only our own argument checks, never a parse error leaking out
        pytest.fail(f"ValueError escaped: {exc!r}")


def test_a_create_whose_permit_ran_out_is_never_sent(client, zoom, clock, records):
    sent = len(zoom.api_requests)
    with pytest.raises(PermitExpired) as caught:
        create(client, send_by=clock.now() - timedelta(milliseconds=1))
    assert not caught.value.may_have_committed and caught.value.route == "POST /phone/blocked_list"
    assert len(zoom.api_requests) == sent and records == []
    assert create(client, send_by=clock.now())  # in time: sent
    assert len(zoom.api_requests) == sent + 1
