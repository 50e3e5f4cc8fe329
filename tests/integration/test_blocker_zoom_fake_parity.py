"""tests/fakes/zoom.py must answer as the real client over the emulator does, for what the blocker uses:
the same results, the same error types, the same end state."""

from __future__ import annotations

import random

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import ZoomClient
from spam_blocker.zoom.errors import ZoomError, ZoomInvalid, ZoomNotFound, ZoomServerError, ZoomTransportError

from local.emulator import ZoomEmulator
from tests.fakes.zoom import FakeZoom, dropped, server_error
from tests.unit.blocker.conftest import START


class Real:
    """The project's client over the emulator, scripted like the fake."""

    def __init__(self, clock, echo_plus=True):
        clear_token_cache()
        self.emulator = ZoomEmulator(plan="business", clock=clock)
        self.emulator.configure(echo_plus=echo_plus)
        self.zoom = ZoomClient.create("https://api.zoom.us/v2", "https://zoom.us/oauth/token", "dev-account",
                                      "dev-client-id", "dev-client-secret", transport=self.emulator.transport(),
                                      clock=clock, sleep=lambda s: clock.advance(s), rng=random.Random(1),
                                      max_retries=0)

    def fail_post(self, kind):
        if kind == "commit_then_5xx":
            self.emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list", fail_with="5xx", status=502)
        elif kind == "commit_then_drop":
            self.emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list", fail_with="drop")
        else:
            self.emulator.faults.inject("5xx", route="POST /phone/blocked_list", status=503)

    def entries(self):
        return [{k: e[k] for k in ("match_type", "phone_number", "block_type", "status", "comment")}
                for e in self.emulator.entries()]


class Fake:
    def __init__(self, clock, echo_plus=True):
        self.zoom = FakeZoom(clock, echo_plus=echo_plus)

    def fail_post(self, kind):
        error = {"commit_then_5xx": server_error(502), "commit_then_drop": dropped(sent=True),
                 "5xx": server_error(503)}[kind]
        self.zoom.fail("create", error, commit=kind.startswith("commit"))

    def entries(self):
        return [{k: e[k] for k in ("match_type", "phone_number", "block_type", "status", "comment")}
                for e in self.zoom.entries()]


@pytest.fixture(params=[Real, Fake], ids=["client+emulator", "fake"])
def side(request):
    return request.param(ManualClock(START))


def create(side, number="+19075550123", **kw):
    return side.zoom.create_blocked(match_type=kw.pop("match_type", "phoneNumber"), phone_number=number,
                                    block_type="inbound", comment=kw.pop("comment", "[spam-blocker] x"), **kw)


def test_creates_list_pages_and_accepts_duplicates(side):
    for n in range(7):
        create(side, f"+1907555{n:04d}")
    create(side, "+19075550000")
    create(side, "1907555", match_type="prefix")
    listed = list(side.zoom.list_blocked(page_size=3))
    assert [e.phone_number for e in listed] == [f"+1907555{n:04d}" for n in range(7)] + ["+19075550000", "1907555"]
    assert {e.status for e in listed} == {"active"} and listed[-1].match_type == "prefix"


def test_deleting_an_unknown_or_deleted_entry_is_not_found(side):
    entry_id = create(side)
    side.zoom.delete_blocked(entry_id)
    with pytest.raises(ZoomNotFound):
        side.zoom.delete_blocked(entry_id)
    assert side.entries() == []


@pytest.mark.parametrize("body", [{"comment": "x" * 256}, {"status": "paused"}])
def test_invalid_fields_are_refused_as_invalid(side, body):
    with pytest.raises(ZoomInvalid):
        create(side, **body)
    assert side.entries() == []


@pytest.mark.parametrize(("kind", "error", "committed"), [
    ("commit_then_5xx", ZoomServerError, True), ("commit_then_drop", ZoomTransportError, True),
    ("5xx", ZoomServerError, False)])
def test_failed_posts_raise_the_same_types_and_leave_the_same_state(side, kind, error, committed):
    side.fail_post(kind)
    with pytest.raises(ZoomError) as raised:
        create(side)
    assert isinstance(raised.value, error)
    if isinstance(raised.value, ZoomTransportError):
        assert raised.value.may_have_committed
    assert len(side.entries()) == (1 if committed else 0)


def test_numbers_echoed_without_plus(request):
    for cls in (Real, Fake):
        one = cls(ManualClock(START), echo_plus=False)
        create(one)
        assert [e.phone_number for e in one.zoom.list_blocked()] == ["19075550123"]
