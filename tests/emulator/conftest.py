"""Fixtures: an emulator on a manual clock, reached in-process through plain httpx (no project client)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from spam_blocker.clock import ManualClock

from local.emulator import ZoomEmulator

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CREDENTIALS = ("dev-client-id", "dev-client-secret")
TOKEN_FORM = {"grant_type": "account_credentials", "account_id": "dev-account"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> ZoomEmulator:
    return ZoomEmulator(clock=clock)


@pytest.fixture
def http(emulator: ZoomEmulator) -> Iterator[httpx.Client]:
    """Unauthenticated client for /oauth/token, /_emulator and hand-made API requests."""
    with httpx.Client(transport=emulator.transport(), base_url="https://api.zoom.us") as client:
        yield client


@pytest.fixture
def get_token(http: httpx.Client) -> Callable[[], str]:
    def fetch() -> str:
        response = http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    return fetch


@pytest.fixture
def api(emulator: ZoomEmulator, get_token: Callable[[], str]) -> Iterator[httpx.Client]:
    """Client for /v2 carrying a valid bearer token."""
    headers = {"Authorization": f"Bearer {get_token()}"}
    with httpx.Client(transport=emulator.transport(), base_url="https://api.zoom.us/v2", headers=headers) as client:
        yield client


@pytest.fixture
def create(api: httpx.Client) -> Callable[..., str]:
    """POST one entry (defaults: an inbound phoneNumber block) and return its id."""

    def post(phone_number: str = "+19075550123", **fields: str) -> str:
        response = api.post("/phone/blocked_list", json={"phone_number": phone_number, **fields})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return post
