import random
from datetime import UTC, datetime

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import ZoomClient

from .fake_zoom import ACCOUNT_ID, API_URL, CLIENT_ID, CLIENT_SECRET, OAUTH_URL, FakeZoom

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FixedRandom(random.Random):
    """random() always answers `value`: jitter becomes exact."""

    def __init__(self, value: float = 0.5) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


class RecordingSleep:
    def __init__(self, clock: ManualClock | None = None) -> None:
        self.calls: list[float] = []
        self._clock = clock

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self._clock is not None:
            self._clock.advance(seconds)


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def zoom(clock):
    return FakeZoom(clock)


@pytest.fixture
def sleeps(clock):
    return RecordingSleep(clock)


@pytest.fixture
def records():
    return []


@pytest.fixture
def make_client(zoom, clock, sleeps, records):
    def make(**overrides) -> ZoomClient:
        options = dict(transport=zoom.transport(), clock=clock, sleep=sleeps, rng=FixedRandom(0.5),
                       on_request=records.append)
        options.update(overrides)
        secret = options.pop("client_secret", CLIENT_SECRET)
        return ZoomClient.create(API_URL, OAUTH_URL, ACCOUNT_ID, CLIENT_ID, secret, **options)

    return make


@pytest.fixture
def client(make_client):
    with make_client() as made:
        yield made
