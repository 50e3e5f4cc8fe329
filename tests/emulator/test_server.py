"""The emulator behind a real socket on 127.0.0.1 (port 0): the same API, faults made real."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from local.emulator import EmulatorServer, ZoomEmulator, running, serve, stop
from tests.emulator.conftest import CREDENTIALS, TOKEN_FORM


@pytest.fixture
def server(emulator: ZoomEmulator) -> Iterator[EmulatorServer]:
    with running(emulator) as srv:
        yield srv


@pytest.fixture
def remote(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        token = client.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_the_api_works_over_http(server, remote, emulator):
    created = remote.post("/v2/phone/blocked_list", json={"phone_number": "+19075550123"})
    entry_id = created.json()["id"]
    listed = remote.get("/v2/phone/blocked_list")
    deleted = remote.delete(f"/v2/phone/blocked_list/{entry_id}")

    assert server.base_url.startswith("http://127.0.0.1:")
    assert created.status_code == 201
    assert listed.json()["total_records"] == 1
    assert listed.headers["X-RateLimit-Category"] == "Medium"
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert emulator.entries() == []


def test_token_api_url_points_back_at_the_server(server):
    body = httpx.post(f"{server.base_url}/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM).json()

    assert body["api_url"] == server.base_url


def test_drop_closes_the_socket_without_a_byte(server, emulator):
    emulator.faults.inject("drop", route="POST /oauth/token")
    request = (b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
               b"Authorization: Basic ZGV2LWNsaWVudC1pZDpkZXYtY2xpZW50LXNlY3JldA==\r\n\r\n")

    with socket.create_connection((server.server_name, server.server_port), timeout=5) as sock:
        sock.sendall(request)
        answer = sock.recv(1024)

    assert answer == b""
    assert emulator.requests[-1].status is None


def test_drop_is_a_remote_protocol_error_for_httpx(remote, emulator):
    emulator.faults.inject("drop")

    with pytest.raises(httpx.RemoteProtocolError):
        remote.get("/v2/phone/blocked_list")
    assert remote.get("/v2/phone/blocked_list").status_code == 200


def test_commit_then_fail_over_http_creates_the_entry_and_drops(remote, emulator):
    emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list")

    with pytest.raises(httpx.RemoteProtocolError):
        remote.post("/v2/phone/blocked_list", json={"phone_number": "+19075550123"})
    assert len(emulator.entries()) == 1


def test_slow_really_delays_and_times_out_a_short_read(remote, emulator):
    emulator.faults.inject("slow", delay_s=0.3, route="GET /phone/blocked_list", count=2)

    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        remote.get("/v2/phone/blocked_list", timeout=httpx.Timeout(5.0, read=0.05))
    timed_out_after = time.monotonic() - started
    started = time.monotonic()
    answered = remote.get("/v2/phone/blocked_list")
    answered_after = time.monotonic() - started

    assert timed_out_after < 0.3
    assert answered.status_code == 200
    assert answered_after >= 0.3


def test_a_slow_request_does_not_hold_up_others(remote, emulator):
    emulator.faults.inject("slow", delay_s=0.5, route="GET /phone/blocked_list")
    slow = threading.Thread(target=lambda: remote.get("/v2/phone/blocked_list"))
    slow.start()
    try:
        # Bounded wait for the slow request to be recorded (it is, before its delay starts).
        deadline = time.monotonic() + 5
        while not emulator.requests[1:] and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        response = remote.post("/v2/phone/blocked_list", json={"phone_number": "+19075550123"})
        assert response.status_code == 201
        assert time.monotonic() - started < 0.4
    finally:
        slow.join(5)


def test_concurrent_requests_each_get_their_own_entry(remote, emulator):
    ids: list[str] = []

    def create(n: int) -> None:
        response = remote.post("/v2/phone/blocked_list", json={"phone_number": f"+1907555{n:04d}"})
        ids.append(response.json()["id"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(set(ids)) == 12
    assert sorted(e["phone_number"] for e in emulator.entries()) == [f"+1907555{n:04d}" for n in range(12)]


def test_stop_shuts_down_promptly_and_frees_the_port(emulator):
    server, thread = serve(emulator)
    port = server.server_port
    assert httpx.get(f"{server.base_url}/_emulator/stats").status_code == 200

    started = time.monotonic()
    stop(server, thread)

    assert time.monotonic() - started < 2
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_emulator/stats", timeout=1)


def test_a_chunked_request_body_is_decoded(remote, emulator):
    def chunks():
        yield b'{"phone_number": '
        yield b'"+19075550123"}'

    response = remote.post("/v2/phone/blocked_list", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    assert emulator.requests[-1].body == '{"phone_number": "+19075550123"}'
