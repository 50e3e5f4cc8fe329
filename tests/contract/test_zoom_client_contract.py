"""The Zoom client against the project's Zoom emulator, in-process and over real HTTP on 127.0.0.1.

Both hosts run the same suite (the `all_storage` idea): whatever the client does against the in-process
transport it must also do through a socket, where drops, timeouts and connection reuse are real.
The emulator's own request log is the referee: what the client says it sent (`on_request`) must be
exactly what the emulator saw.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import RequestRecord, ZoomClient
from spam_blocker.zoom.errors import (
    ZoomAuthFailed,
    ZoomInvalid,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)

emulator_package = pytest.importorskip("local.emulator")
ZoomEmulator = emulator_package.ZoomEmulator
serve, stop = emulator_package.serve, emulator_package.stop

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC)
ACCOUNT, CLIENT_ID, SECRET = "contract-account", "contract-client", "contract-secret"


class _MidRandom:
    def random(self) -> float:
        return 0.5


@dataclass
class Zoom:
    """One emulator, reachable through `client()`; sleeping advances the emulator's clock."""

    emulator: object
    clock: ManualClock
    api_url: str
    oauth_url: str
    transport: httpx.BaseTransport | None
    sleeps: list[float] = field(default_factory=list)
    records: list[RequestRecord] = field(default_factory=list)
    _clients: list[ZoomClient] = field(default_factory=list)

    def client(self, **overrides) -> ZoomClient:
        options = dict(transport=self.transport, clock=self.clock, sleep=self._sleep, rng=_MidRandom(),
                       on_request=self.records.append)
        options.update(overrides)
        secret = options.pop("secret", SECRET)
        made = ZoomClient.create(self.api_url, self.oauth_url, ACCOUNT, CLIENT_ID, secret, **options)
        self._clients.append(made)
        return made

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def api_log(self) -> list[tuple[str, int | None]]:
        return [(r.route, r.status) for r in self.emulator.requests if r.category is not None]

    def token_requests(self) -> int:
        return sum(1 for r in self.emulator.requests if r.route == "POST /oauth/token")

    def close(self) -> None:
        for made in self._clients:
            made.close()


@pytest.fixture(params=["in-process", "http"])
def zoom(request) -> Iterator[Zoom]:
    clear_token_cache()
    clock = ManualClock(START)
    emulator = ZoomEmulator(plan="pro", clock=clock, account_id=ACCOUNT, client_id=CLIENT_ID,
                            client_secret=SECRET)
    if request.param == "in-process":
        env = Zoom(emulator, clock, "https://api.zoom.us/v2", "https://zoom.us/oauth/token", emulator.transport())
        yield env
        env.close()
    else:
        server, thread = serve(emulator, "127.0.0.1", port=0)
        env = Zoom(emulator, clock, f"{server.base_url}/v2", f"{server.base_url}/oauth/token", None)
        try:
            yield env
        finally:
            env.close()
            stop(server, thread)
    clear_token_cache()


@pytest.fixture
def client(zoom: Zoom) -> ZoomClient:
    return zoom.client()


def block(client: ZoomClient, number: str = "+19075550123", **extra: str) -> str:
    return client.create_blocked(match_type="phoneNumber", phone_number=number, block_type="inbound", **extra)


# --- the blocked list ---

def test_create_get_update_delete_round_trip(zoom, client):
    entry_id = block(client, comment="spam-blocker: robocall")
    assert zoom.emulator.entries() == [{"id": entry_id, "match_type": "phoneNumber", "phone_number": "+19075550123",
                                        "block_type": "inbound", "status": "active",
                                        "comment": "spam-blocker: robocall"}]

    entry = client.get_blocked(entry_id)
    assert (entry.id, entry.phone_number, entry.status) == (entry_id, "+19075550123", "active")

    client.update_blocked(entry_id, status="inactive")
    assert client.get_blocked(entry_id).status == "inactive"

    client.delete_blocked(entry_id)
    assert zoom.emulator.entries() == []
    assert zoom.api_log() == [("POST /phone/blocked_list", 201), ("GET /phone/blocked_list/{id}", 200),
                              ("PATCH /phone/blocked_list/{id}", 204), ("GET /phone/blocked_list/{id}", 200),
                              ("DELETE /phone/blocked_list/{id}", 204)]


def test_a_prefix_block(zoom, client):
    entry_id = client.create_blocked(match_type="prefix", phone_number="1907555", block_type="inbound")
    assert client.get_blocked(entry_id).match_type == "prefix"


def test_list_blocked_follows_every_page(zoom, client):
    ids = [zoom.emulator.add_entry(f"+1907555{n:04d}") for n in range(7)]
    ids.append(zoom.emulator.add_entry("1907", match_type="prefix", block_type="threat"))

    entries = list(client.list_blocked(page_size=3))

    assert [e.id for e in entries] == ids
    assert entries[-1].block_type == "threat"
    assert zoom.api_log() == [("GET /phone/blocked_list", 200)] * 3


def test_list_blocked_page_is_one_page(zoom, client):
    for n in range(3):
        zoom.emulator.add_entry(f"+1907555{n:04d}")
    first = client.list_blocked_page(2)
    assert len(first.blocked_list) == 2 and first.next_page_token and first.total_records == 3
    last = client.list_blocked_page(2, first.next_page_token)
    assert [e.phone_number for e in last.blocked_list] == ["+19075550002"] and not last.next_page_token


@pytest.mark.parametrize("code", [300, 400, 404])
def test_an_unknown_id_is_not_found_whatever_code_zoom_uses(zoom, client, code):
    zoom.emulator.configure(not_found_code=code)
    for call in (lambda: client.get_blocked("nope12345678"), lambda: client.delete_blocked("nope12345678"),
                 lambda: client.update_blocked("nope12345678", status="inactive")):
        with pytest.raises(ZoomNotFound) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (400, code)


def test_a_person_deleting_an_entry_makes_it_not_found(zoom, client):
    entry_id = block(client)
    zoom.emulator.remove_entry(entry_id)
    with pytest.raises(ZoomNotFound):
        client.delete_blocked(entry_id)


def test_validation_failures_are_invalid_with_zoom_code(zoom, client):
    with pytest.raises(ZoomInvalid) as caught:
        client.create_blocked(match_type="everything", phone_number="+19075550123", block_type="inbound")
    assert (caught.value.status, caught.value.code) == (400, 300)
    assert "match_type" in caught.value.message
    with pytest.raises(ZoomInvalid):
        list(client.list_blocked(page_size=101))
    assert zoom.emulator.entries() == []


# --- OAuth ---

def test_one_token_serves_many_calls_and_clients(zoom):
    first, second = zoom.client(), zoom.client()
    block(first)
    list(second.list_blocked())
    assert zoom.token_requests() == 1


def test_a_token_is_refreshed_a_minute_before_expiry(zoom, client):
    list(client.list_blocked())
    zoom.clock.advance(3600 - 61)
    list(client.list_blocked())
    assert zoom.token_requests() == 1
    zoom.clock.advance(2)
    list(client.list_blocked())
    assert zoom.token_requests() == 2
    assert [status for _, status in zoom.api_log()] == [200, 200, 200]  # never a 401 on the way


def test_a_revoked_token_is_refreshed_once_and_the_call_succeeds(zoom, client):
    block(client)
    zoom.emulator.expire_tokens()

    assert len(list(client.list_blocked())) == 1

    assert zoom.token_requests() == 2
    assert zoom.api_log()[-2:] == [("GET /phone/blocked_list", 401), ("GET /phone/blocked_list", 200)]


def test_wrong_credentials_are_auth_failed(zoom):
    bad = zoom.client(secret="not-the-secret")
    with pytest.raises(ZoomAuthFailed) as caught:
        bad.check_credentials()
    assert "invalid_client" in caught.value.message and "not-the-secret" not in str(caught.value)
    with pytest.raises(ZoomAuthFailed):
        block(bad)
    assert zoom.api_log() == []


def test_check_credentials_fetches_a_token(zoom, client):
    client.check_credentials()
    assert zoom.token_requests() == 1 and zoom.api_log() == []


# --- rate limits ---

@pytest.mark.parametrize(("form", "retry_at"), [
    ("seconds", START + timedelta(seconds=2)),
    ("http-date", START + timedelta(seconds=2)),
    ("iso", START + timedelta(seconds=2)),
    ("none", START + timedelta(seconds=1.25)),  # our fallback: 1 s + jitter (random() = 0.5)
])
def test_an_injected_qps_429_in_each_retry_after_form(zoom, client, form, retry_at):
    zoom.emulator.faults.inject("429", route="POST /phone/blocked_list", limit_type="QPS", retry_after=form,
                                retry_after_s=2)
    with pytest.raises(ZoomRateLimited) as caught:
        block(client)
    error = caught.value
    assert (error.category, error.limit_type, error.retry_at) == ("Light", "QPS", retry_at)
    assert zoom.api_log() == [("POST /phone/blocked_list", 429)] and zoom.sleeps == []


@pytest.mark.parametrize("form", ["iso", "http-date", "seconds", "none"])
def test_an_injected_daily_429_in_each_retry_after_form(zoom, client, form):
    zoom.emulator.faults.inject("429", route="GET /phone/call_logs", limit_type="Daily-limit", retry_after=form)
    with pytest.raises(ZoomRateLimited) as caught:
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20))
    assert (caught.value.category, caught.value.limit_type, caught.value.retry_at) == ("Heavy", "Daily-limit",
                                                                                       MIDNIGHT)


def test_the_real_per_second_limit(zoom, client):
    for n in range(20):  # Pro: 20 Light requests per second
        block(client, f"+1907555{n:04d}")
    with pytest.raises(ZoomRateLimited) as caught:
        block(client, "+19075559999")
    assert (caught.value.category, caught.value.limit_type) == ("Light", "QPS")
    assert caught.value.retry_at == START + timedelta(seconds=1)
    assert len(zoom.emulator.entries()) == 20

    zoom.clock.set(caught.value.retry_at)
    block(client, "+19075559999")  # waiting until retry_at is enough
    assert len(zoom.emulator.entries()) == 21


def test_the_real_daily_limit(zoom, client):
    zoom.emulator.configure(limits={"Light": 20, "Medium": 10, "Heavy": 5, "daily": 2})
    for _ in range(2):
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20))
    with pytest.raises(ZoomRateLimited) as caught:
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20))
    assert (caught.value.category, caught.value.limit_type, caught.value.retry_at) == ("Heavy", "Daily-limit",
                                                                                       MIDNIGHT)
    zoom.clock.set(caught.value.retry_at)
    client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20))


# --- failures: 5xx, drops, lost answers, timeouts ---

@pytest.mark.parametrize("html", [False, True])
def test_a_get_rides_out_two_5xx(zoom, client, html):
    zoom.emulator.faults.inject("5xx", route="GET /phone/blocked_list", count=2, status=502, html=html)
    assert list(client.list_blocked()) == []
    assert zoom.sleeps == pytest.approx([0.15, 0.3])
    assert zoom.api_log() == [("GET /phone/blocked_list", 502)] * 2 + [("GET /phone/blocked_list", 200)]


def test_a_get_gives_up_after_its_retries(zoom, client):
    zoom.emulator.faults.inject("5xx", route="GET /phone/blocked_list/{id}", count=5)
    with pytest.raises(ZoomServerError) as caught:
        client.get_blocked("abc")
    assert caught.value.status == 503 and len(zoom.api_log()) == 3


def test_a_post_5xx_is_not_retried(zoom, client):
    zoom.emulator.faults.inject("5xx", route="POST /phone/blocked_list")
    with pytest.raises(ZoomServerError):
        block(client)
    assert zoom.api_log() == [("POST /phone/blocked_list", 503)] and zoom.sleeps == []


def test_a_dropped_post_may_have_committed(zoom, client):
    zoom.emulator.faults.inject("drop", route="POST /phone/blocked_list")
    with pytest.raises(ZoomTransportError) as caught:
        block(client)
    assert caught.value.may_have_committed is True
    assert zoom.emulator.entries() == []  # this time it had not: the caller must look to know
    assert zoom.api_log() == [("POST /phone/blocked_list", None)]


@pytest.mark.parametrize(("fail_with", "error"), [("drop", ZoomTransportError), ("5xx", ZoomServerError)])
def test_a_post_whose_answer_is_lost_after_it_committed(zoom, client, fail_with, error):
    zoom.emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list", fail_with=fail_with)
    with pytest.raises(error) as caught:
        block(client)
    if fail_with == "drop":
        assert caught.value.may_have_committed is True
    assert len(zoom.emulator.entries()) == 1  # it did commit
    assert len(zoom.api_log()) == 1


def test_a_dropped_get_is_retried(zoom, client):
    zoom.emulator.faults.inject("drop", route="GET /phone/blocked_list")
    assert list(client.list_blocked()) == []
    assert zoom.api_log() == [("GET /phone/blocked_list", None), ("GET /phone/blocked_list", 200)]


def test_a_delete_that_committed_then_failed_ends_not_found(zoom, client):
    entry_id = block(client)
    zoom.emulator.faults.inject("commit_then_fail", route="DELETE /phone/blocked_list/{id}")
    with pytest.raises(ZoomNotFound):
        client.delete_blocked(entry_id)
    assert zoom.emulator.entries() == []


def test_a_slow_post_times_out_and_may_have_committed(zoom, client):
    client.check_credentials()  # the token is shared: the slow client below only sends the POST
    impatient = zoom.client(timeout=httpx.Timeout(0.3, connect=2.0))
    zoom.emulator.faults.inject("slow", route="POST /phone/blocked_list", delay_s=2.0)

    with pytest.raises(ZoomTransportError) as caught:
        block(impatient)

    assert caught.value.may_have_committed is True
    assert len(zoom.emulator.entries()) == 1
    assert [r.status for r in zoom.records] == [None]


def test_an_unreachable_oauth_is_a_transport_error_that_never_committed(zoom):
    zoom.emulator.faults.inject("drop", route="POST /oauth/token")
    with pytest.raises(ZoomTransportError) as caught:
        block(zoom.client())
    assert caught.value.may_have_committed is False and zoom.api_log() == []


def test_nothing_listening_is_a_connect_error_that_never_committed():
    clear_token_cache()
    with socket.socket() as probe:  # a free loopback port, closed again: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = ZoomClient.create(f"http://127.0.0.1:{port}/v2", f"http://127.0.0.1:{port}/oauth/token", ACCOUNT,
                               CLIENT_ID, SECRET, sleep=sleeps.append)
    with client:
        with pytest.raises(ZoomTransportError) as caught:
            client.check_credentials()
        assert caught.value.may_have_committed is False
        with pytest.raises(ZoomTransportError) as caught:
            list(client.list_blocked())
        assert caught.value.may_have_committed is False and len(sleeps) == 2  # a GET retried, then gave up
    clear_token_cache()


# --- call logs ---

def test_call_logs_page_after_page(zoom, client):
    records = [{"id": f"log-{n}", "caller_number": f"+1907555{n:04d}", "caller_number_type": 2,
                "callee_number": "+14155550100", "direction": "inbound", "duration": 3, "result": "No Answer",
                "date_time": f"2026-11-{10 + n:02d}T14:03:11Z"} for n in range(5)]
    zoom.emulator.add_call_logs(records)

    got = list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 20), page_size=2))

    assert sorted(r["id"] for r in got) == [f"log-{n}" for n in range(5)]
    assert got[0] == records[-1]  # Zoom's order (newest first), records verbatim
    assert zoom.api_log() == [("GET /phone/call_logs", 200)] * 3


def _five_call_logs(zoom) -> list[dict]:
    records = [{"id": f"log-{n}", "caller_number": f"+1907555{n:04d}", "caller_number_type": 2,
                "callee_number": "+14155550100", "callee_number_type": 1, "direction": "inbound", "duration": 3,
                "result": "No Answer", "date_time": f"2026-11-{10 + n:02d}T14:03:11Z"} for n in range(5)]
    zoom.emulator.add_call_logs(records)
    return records


def test_where_call_logs_are_retired_the_client_reads_call_history_from_then_on(zoom, client):
    _five_call_logs(zoom)
    zoom.emulator.configure(call_log_apis="call_history")

    got = list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 20), page_size=2))

    assert sorted(r["id"] for r in got) == [f"log-{n}" for n in range(5)]
    assert got[0]["caller_did_number"] == "+19075550004" and got[0]["call_result"] == "no_answer"
    assert zoom.api_log() == [("GET /phone/call_logs", 404)] + [("GET /phone/call_history", 200)] * 3
    list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 20)))
    assert zoom.api_log()[-1] == ("GET /phone/call_history", 200) and len(zoom.api_log()) == 5


def test_where_both_answer_the_client_stays_on_call_logs(zoom, client):
    records = _five_call_logs(zoom)
    got = list(client.iter_call_logs(date(2026, 11, 1), date(2026, 11, 20), page_size=5))
    assert got == records[::-1] and client.call_log_path == "/phone/call_logs"


@pytest.mark.parametrize(("pinned", "retired_route"), [("call_logs", "GET /phone/call_logs"),
                                                        ("call_history", "GET /phone/call_history")])
def test_a_pinned_call_log_api_never_falls_back(zoom, pinned, retired_route):
    _five_call_logs(zoom)
    zoom.emulator.configure(call_log_apis="call_history" if pinned == "call_logs" else "call_logs")
    client = zoom.client(call_log_api=pinned)
    with pytest.raises(ZoomNotFound):
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20))
    assert zoom.api_log() == [(retired_route, 404)]


def test_a_refused_call_log_query_is_not_taken_for_a_retired_api(zoom, client):
    zoom.emulator.configure(call_log_apis="call_history")
    with pytest.raises(ZoomInvalid):
        client.call_logs_page(date_from=date(2026, 11, 20), date_to=date(2026, 11, 1))
    assert zoom.api_log() == [("GET /phone/call_logs", 404), ("GET /phone/call_history", 400)]
    with pytest.raises(ValueError, match="call_logs only"):
        client.call_logs_page(date_from=date(2026, 11, 1), date_to=date(2026, 11, 20), log_type="missed")


def test_a_bad_call_log_range_is_invalid(zoom, client):
    with pytest.raises(ZoomInvalid):
        client.call_logs_page(date_from=date(2026, 11, 20), date_to=date(2026, 11, 1))


# --- what the client reports is what Zoom saw ---

def test_request_records_match_the_emulator_log_exactly(zoom, client):
    zoom.emulator.faults.inject("5xx", route="GET /phone/blocked_list")
    zoom.emulator.faults.inject("drop", route="DELETE /phone/blocked_list/{id}")
    zoom.emulator.faults.inject("429", route="PATCH /phone/blocked_list/{id}")
    entry_id = block(client)
    list(client.list_blocked())
    with pytest.raises(ZoomRateLimited):
        client.update_blocked(entry_id, status="inactive")
    zoom.emulator.expire_tokens()
    client.delete_blocked(entry_id)

    ours = [(r.route, r.status) for r in zoom.records]
    assert ours == zoom.api_log()
    assert ours == [("POST /phone/blocked_list", 201), ("GET /phone/blocked_list", 503),
                    ("GET /phone/blocked_list", 200), ("PATCH /phone/blocked_list/{id}", 429),
                    ("DELETE /phone/blocked_list/{id}", 401), ("DELETE /phone/blocked_list/{id}", None),
                    ("DELETE /phone/blocked_list/{id}", 204)]
    assert {r.category for r in zoom.records} == {"Light", "Medium"}
