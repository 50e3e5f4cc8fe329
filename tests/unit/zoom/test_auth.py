"""Server-to-Server OAuth: the flow yields requests (no I/O of its own), one token per process."""

import base64
import threading
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from spam_blocker.zoom.auth import ZoomOAuth
from spam_blocker.zoom.errors import (
    ZoomAuthFailed,
    ZoomBadResponse,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)

from .conftest import NOW
from .fake_zoom import ACCOUNT_ID, API_URL, CLIENT_ID, CLIENT_SECRET, OAUTH_URL, answer


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


def test_the_token_request_is_basic_auth_and_the_documented_form(client, zoom):
    list(client.list_blocked())

    [token_request] = zoom.token_requests
    assert token_request.method == "POST" and str(token_request.url).split("?")[0] == OAUTH_URL
    assert parse_qs(token_request.url.query.decode()) == {"grant_type": ["account_credentials"],
                                                          "account_id": [ACCOUNT_ID]}  # as Zoom's docs write it
    basic = base64.b64decode(token_request.headers["Authorization"].removeprefix("Basic ")).decode()
    assert basic == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {"grant_type": ["account_credentials"],
                                                        "account_id": [ACCOUNT_ID]}
    assert bearer(zoom.api_requests[0]) == "tok-1"


def test_the_token_is_reused_across_calls_and_client_instances(make_client, zoom):
    with make_client() as first, make_client() as second:
        list(first.list_blocked())
        list(second.list_blocked())
        first.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound")

    assert len(zoom.token_requests) == 1
    assert [bearer(r) for r in zoom.api_requests] == ["tok-1", "tok-1", "tok-1"]


def test_a_token_is_refreshed_60_seconds_before_it_expires(client, zoom, clock):
    list(client.list_blocked())
    clock.set(NOW + timedelta(seconds=3600 - 61))
    list(client.list_blocked())
    assert len(zoom.token_requests) == 1

    clock.set(NOW + timedelta(seconds=3600 - 59))
    list(client.list_blocked())

    assert len(zoom.token_requests) == 2
    assert [bearer(r) for r in zoom.api_requests] == ["tok-1", "tok-1", "tok-2"]


def test_a_short_lived_token_is_used_for_nine_tenths_of_its_life(client, zoom, clock):
    zoom.expires_in = 30
    list(client.list_blocked())
    clock.set(NOW + timedelta(seconds=26.9))
    list(client.list_blocked())
    assert len(zoom.token_requests) == 1
    clock.set(NOW + timedelta(seconds=27.1))
    list(client.list_blocked())
    assert len(zoom.token_requests) == 2


def test_a_missing_expires_in_means_zoom_documented_hour(client, zoom, clock):
    zoom.fail("POST", "/oauth/token", answer(200, {"access_token": "tok-x", "token_type": "bearer"}))
    zoom.valid_tokens.add("tok-x")
    list(client.list_blocked())
    clock.set(NOW + timedelta(seconds=3539))
    list(client.list_blocked())
    assert len(zoom.token_requests) == 1
    clock.set(NOW + timedelta(seconds=3541))
    list(client.list_blocked())
    assert len(zoom.token_requests) == 2


def test_a_401_refreshes_once_and_retries_once(client, zoom, records):
    list(client.list_blocked())
    zoom.expire_tokens()  # Zoom revoked the token before its time

    assert list(client.list_blocked()) == []

    assert len(zoom.token_requests) == 2
    assert [bearer(r) for r in zoom.api_requests] == ["tok-1", "tok-1", "tok-2"]
    assert [r.status for r in records] == [200, 401, 200]


def test_a_second_401_is_auth_failed_with_no_third_attempt(client, zoom, records):
    zoom.fail("GET", "/v2/phone/blocked_list", answer(401, {"code": 124, "message": "Invalid access token."}),
              times=5)

    with pytest.raises(ZoomAuthFailed) as caught:
        list(client.list_blocked())

    assert caught.value.status == 401 and caught.value.code == 124
    assert caught.value.route == "GET /phone/blocked_list"
    assert len(zoom.api_requests) == 2 and len(zoom.token_requests) == 2
    assert [r.status for r in records] == [401, 401]


@pytest.mark.parametrize("refusal", [
    answer(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
    answer(401, {"reason": "Invalid client", "error": "invalid_client"}),
    answer(400, "<html>Bad Request</html>"),
    answer(403, {}),
])
def test_the_token_endpoint_refusing_is_auth_failed_and_no_api_request_is_sent(client, zoom, records, refusal):
    zoom.fail("POST", "/oauth/token", refusal)

    with pytest.raises(ZoomAuthFailed) as caught:
        client.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound")

    assert caught.value.status == refusal.status_code
    assert zoom.api_requests == [] and records == []
    assert CLIENT_SECRET not in str(caught.value)


def test_refused_credentials_are_not_offered_again_for_a_while_but_corrected_ones_are(make_client, zoom, clock):
    """A rotated secret: every deferred block request coming back would otherwise ask for a token again."""
    with make_client(client_secret="rotated") as stale:
        for _ in range(3):
            with pytest.raises(ZoomAuthFailed):
                stale.get_blocked("bl-1")
        assert len(zoom.token_requests) == 1
        clock.advance(seconds=31)
        with pytest.raises(ZoomAuthFailed):
            stale.get_blocked("bl-1")
        assert len(zoom.token_requests) == 2
    with make_client() as corrected:
        corrected.check_credentials()  # the right secret is asked at once
    assert len(zoom.token_requests) == 3


def test_wrong_credentials_are_refused_by_the_fake_zoom(make_client, zoom):
    with make_client(client_secret="wrong") as client, pytest.raises(ZoomAuthFailed) as caught:
        client.get_blocked("bl-1")
    assert "invalid_client" in str(caught.value)
    assert "wrong" not in str(caught.value)


def test_check_credentials_fetches_a_token_now(client, zoom, records):
    client.check_credentials()
    client.check_credentials()

    assert len(zoom.token_requests) == 2  # a real check each time, not the cache's word
    assert records == [] and zoom.api_requests == []
    list(client.list_blocked())
    assert bearer(zoom.api_requests[0]) == "tok-2"  # and the fresh token is the one shared


def test_check_credentials_with_bad_credentials(make_client):
    with make_client(client_secret="wrong") as client, pytest.raises(ZoomAuthFailed):
        client.check_credentials()


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_check_credentials_with_an_unreachable_token_endpoint(client, zoom, error):
    zoom.fail("POST", "/oauth/token", error)
    with pytest.raises(ZoomTransportError) as caught:
        client.check_credentials()
    assert caught.value.may_have_committed is False


def test_check_credentials_without_oauth_proves_them_with_the_cheapest_read(zoom, clock):
    from spam_blocker.zoom.client import ZoomClient

    zoom.valid_tokens.add("static")
    http = httpx.Client(base_url=API_URL, transport=zoom.transport(), headers={"Authorization": "Bearer static"})
    ZoomClient(http, clock=clock).check_credentials()
    assert zoom.api_routes() == ["GET /v2/phone/blocked_list"]
    assert zoom.api_requests[0].url.params["page_size"] == "1"

    bad = httpx.Client(base_url=API_URL, transport=zoom.transport(), headers={"Authorization": "Bearer nope"})
    with pytest.raises(ZoomAuthFailed):
        ZoomClient(bad, clock=clock).check_credentials()


def test_an_unreachable_token_endpoint_means_the_post_never_left(client, zoom, records):
    zoom.fail("POST", "/oauth/token", httpx.ReadTimeout("token endpoint too slow"))

    with pytest.raises(ZoomTransportError) as caught:
        client.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound")

    assert caught.value.may_have_committed is False
    assert caught.value.route == "POST /phone/blocked_list"
    assert zoom.api_requests == [] and records == []


def test_a_token_endpoint_5xx_is_a_server_error_and_a_get_retries_past_it(client, zoom, sleeps):
    zoom.fail("POST", "/oauth/token", answer(503, "maintenance"))
    assert list(client.list_blocked()) == []
    assert len(sleeps.calls) == 1

    zoom.expire_tokens()
    zoom.fail("POST", "/oauth/token", answer(500, {}), times=3)
    with pytest.raises(ZoomServerError):
        client.delete_blocked("bl-1")


def test_a_token_endpoint_429_is_rate_limited(client, zoom, clock):
    zoom.fail("POST", "/oauth/token", answer(429, {}, {"Retry-After": "5"}))
    with pytest.raises(ZoomRateLimited) as caught:
        client.get_blocked("bl-1")
    assert caught.value.retry_at == NOW + timedelta(seconds=5)


@pytest.mark.parametrize("body", [{"token_type": "bearer"}, {"access_token": ""}, {"access_token": 42}, "not json",
                                  [1, 2]])
def test_a_token_answer_without_a_token_is_a_bad_response(client, zoom, body):
    zoom.fail("POST", "/oauth/token", answer(200, body))
    with pytest.raises(ZoomBadResponse):
        client.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound")
    assert zoom.api_requests == []


def test_secrets_and_tokens_stay_out_of_repr_errors_and_logs(make_client, zoom, caplog):
    auth = ZoomOAuth(OAUTH_URL, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET)
    assert CLIENT_SECRET not in repr(auth) and CLIENT_ID in repr(auth)

    zoom.fail("GET", "/v2/phone/blocked_list/bl-9", answer(502, {"message": "bad gateway"}), times=3)
    with make_client() as client, pytest.raises(ZoomServerError) as caught:
        client.get_blocked("bl-9")  # logs its retries

    logged = [str(vars(record)) for record in caplog.records]
    assert len(logged) == 2 and all("retrying" in line for line in logged)  # real log lines were checked
    for text in [*logged, str(caught.value), repr(caught.value)]:
        assert CLIENT_SECRET not in text and "tok-1" not in text


# --- the flow itself: a generator that never does I/O ---

def test_the_flow_only_yields_requests(clock):
    auth = ZoomOAuth(OAUTH_URL, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, clock=clock)
    api_request = httpx.Request("GET", f"{API_URL}/phone/blocked_list")
    flow = auth.auth_flow(api_request)

    token_request = next(flow)
    assert str(token_request.url).split("?")[0] == OAUTH_URL
    sent = flow.send(answer(200, {"access_token": "tok-a", "expires_in": 3600}))
    assert sent is api_request and bearer(sent) == "tok-a"
    with pytest.raises(StopIteration):
        flow.send(answer(200, {"blocked_list": []}))


def test_after_a_401_a_token_another_thread_already_refreshed_is_used_without_a_new_fetch(clock):
    auth = ZoomOAuth(OAUTH_URL, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, clock=clock)
    warm = auth.auth_flow(httpx.Request("GET", f"{API_URL}/phone/blocked_list"))
    next(warm)
    warm.send(answer(200, {"access_token": "tok-old", "expires_in": 3600}))

    slow = auth.auth_flow(httpx.Request("GET", f"{API_URL}/phone/blocked_list/a"))
    assert bearer(next(slow)) == "tok-old"  # in flight with the old token...
    fast = auth.auth_flow(httpx.Request("GET", f"{API_URL}/phone/blocked_list/b"))
    next(fast)
    assert str(fast.send(answer(401, {"code": 124})).url).split("?")[0] == OAUTH_URL  # ...while another flow refreshes
    fast.send(answer(200, {"access_token": "tok-new", "expires_in": 3600}))

    retried = slow.send(answer(401, {"code": 124}))
    assert str(retried.url).endswith("/blocked_list/a") and bearer(retried) == "tok-new"


def test_threads_share_one_warm_token(make_client, zoom):
    with make_client() as client:
        client.check_credentials()
        errors: list[BaseException] = []

        def work():
            try:
                for _ in range(5):
                    list(client.list_blocked())
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert len(zoom.api_requests) == 40 and len(zoom.token_requests) == 1
    assert {bearer(r) for r in zoom.api_requests} == {"tok-1"}
