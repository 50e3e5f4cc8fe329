"""Exactly one Zoom entry per block, under every hazard; the exact Zoom end state and Blocks rows."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import ZOOM_TAG, BlockRecord, BlockState, tag_comment
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.ports import StoreUnavailable
from spam_blocker.services.outcomes import Result

from tests.fakes.zoom import dropped, invalid, server_error
from tests.unit.blocker.conftest import NUMBER, START, request

KEY = BlockKey("phoneNumber", NUMBER, "inbound")


def only_entry(world):
    entries = world.zoom.entries()
    assert len(entries) == 1, entries
    return entries[0]


def test_a_new_block_is_one_tagged_entry_and_an_active_row(world):
    outcome = world.run(request())
    entry = only_entry(world)
    assert outcome.result is Result.CREATED and outcome.zoom_id == entry["id"]
    assert entry["comment"] == f"{ZOOM_TAG} from 2026-11-20T12:00:00Z until 2026-12-20T12:00:00Z: 14 spam reports from 9 reporters"
    assert (entry["match_type"], entry["phone_number"], entry["block_type"]) == ("phoneNumber", NUMBER, "inbound")
    row = world.store[KEY]
    assert (row.state, row.zoom_id, row.owner, row.post_started_at, row.attempts) == (
        BlockState.ACTIVE, entry["id"], None, None, 1)
    assert row.expires_at == START + timedelta(days=30) and row.evidence == {"reports": 14}
    assert world.zoom.requests == [("POST /phone/blocked_list", 201)]


def test_a_duplicate_delivery_calls_zoom_no_more(world):
    world.run(request())
    again = world.run(request())
    assert again.result is Result.ALREADY_BLOCKED
    only_entry(world)
    assert world.zoom.count("create") == 1 and world.limiter.granted == {"Light": 1}


def test_a_second_instance_arriving_during_the_post_waits_for_the_first(world):
    """Instance A is inside its POST when B gets the same request: B must not post."""
    in_post, release = threading.Event(), threading.Event()
    real_create = world.zoom.create_blocked

    def slow_create(**kwargs):
        in_post.set()
        assert release.wait(5)
        return real_create(**kwargs)

    world.zoom.create_blocked = slow_create
    results = {}
    a = threading.Thread(target=lambda: results.setdefault("a", world.run(request())))
    a.start()
    assert in_post.wait(5)
    results["b"] = world.run(request())
    release.set()
    a.join(5)
    assert results["a"].result is Result.CREATED
    assert results["b"].result is Result.IN_PROGRESS and results["b"].retry_at == START + timedelta(seconds=1)
    assert world.run(request()).result is Result.ALREADY_BLOCKED
    only_entry(world)


def test_two_instances_that_both_read_nothing_claim_once(world):
    """Both read an absent block and both got a permit; only one claim wins, the loser reads again."""
    both_read = threading.Barrier(2)
    real_get_many = world.store.get_many

    def get_many(keys):
        found = real_get_many(keys)
        if not found:
            both_read.wait(5)
        return found

    world.store.get_many = get_many
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(world.run(request()))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    created = [o for o in outcomes if o.result is Result.CREATED]
    loser = [o for o in outcomes if o.result is not Result.CREATED]
    assert len(created) == 1 and loser[0].result in (Result.IN_PROGRESS, Result.ALREADY_BLOCKED)
    assert world.store.calls["transition"] == 3  # two claims (one conflicted), one activation
    assert world.limiter.granted == {"Light": 1}  # the loser never took a permit
    only_entry(world)
    assert world.zoom.count("create") == 1


def test_many_concurrent_deliveries_of_one_request_make_one_entry(world):
    barrier = threading.Barrier(12)
    outcomes = []
    lock = threading.Lock()

    def deliver():
        barrier.wait(5)
        outcome = world.run(request())
        with lock:
            outcomes.append(outcome.result)

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert outcomes.count(Result.CREATED) == 1
    assert set(outcomes) <= {Result.CREATED, Result.IN_PROGRESS, Result.ALREADY_BLOCKED}
    only_entry(world)
    assert world.store[KEY].state is BlockState.ACTIVE


def test_a_crash_between_the_post_and_the_state_write_is_adopted_once_the_claim_is_stale(world):
    world.store.fail_next("transition", RuntimeError("Lambda killed"), after=1)  # the claim passes, activate dies
    with pytest.raises(RuntimeError):
        world.run(request())
    entry = only_entry(world)
    row = world.store[KEY]
    assert row.state is BlockState.PENDING and row.owner and row.post_started_at == START
    early = world.run(request())
    assert early.result is Result.IN_PROGRESS and early.retry_at == START + timedelta(seconds=1)
    world.clock.advance(seconds=30)  # a claim this old has probably died: wait for it to go stale
    assert world.run(request()).retry_at == START + timedelta(minutes=15)
    assert world.zoom.count("create") == 1
    world.clock.set(START)
    world.clock.advance(minutes=15)
    adopted = world.run(request())
    assert adopted.result is Result.ADOPTED and adopted.zoom_id == entry["id"]
    only_entry(world)
    row = world.store[KEY]
    assert (row.state, row.zoom_id, row.post_started_at, row.owner) == (BlockState.ACTIVE, entry["id"], None, None)
    assert world.zoom.count("create") == 1 and world.zoom.count("list") == 1


@pytest.mark.parametrize("lost", [server_error(502), dropped(sent=True)], ids=["5xx", "dropped"])
def test_commit_then_fail_is_found_and_adopted_not_posted_again(world, lost):
    world.zoom.fail("create", lost, commit=True)
    first = world.run(request())
    assert first.result is Result.RETRY
    row = world.store[KEY]
    assert row.state is BlockState.PENDING and row.owner is None and row.post_started_at == START
    assert row.last_error and type(lost).__name__ in row.last_error
    too_soon = world.run(request())  # Zoom's list may not show a write made this instant
    assert too_soon.result is Result.IN_PROGRESS and world.zoom.count("list") == 0
    world.clock.advance(1)
    adopted = world.run(request())
    assert adopted.result is Result.ADOPTED
    entry = only_entry(world)
    assert world.store[KEY].zoom_id == entry["id"] and world.store[KEY].state is BlockState.ACTIVE
    assert world.zoom.count("create") == 1


def test_a_5xx_that_created_nothing_is_looked_up_then_posted_once(world):
    world.zoom.fail("create", server_error(503))
    assert world.run(request()).result is Result.RETRY
    world.clock.advance(2)
    assert world.run(request()).result is Result.CREATED
    only_entry(world)
    assert world.zoom.count("list") == 1 and world.zoom.count("create") == 2


def test_a_request_that_never_left_needs_no_lookup(world):
    world.zoom.fail("create", dropped(sent=False))
    assert world.run(request()).result is Result.RETRY
    assert world.store[KEY].post_started_at is None
    assert world.run(request()).result is Result.CREATED
    only_entry(world)
    assert world.zoom.count("list") == 0


def test_a_burst_of_5xx_some_committed_still_ends_with_one_entry(world):
    world.zoom.fail("create", server_error(503), times=2)
    world.zoom.fail("create", server_error(502), commit=True)
    outcomes = world.until_settled(request())
    assert [o.result for o in outcomes] == [Result.RETRY, Result.RETRY, Result.RETRY, Result.ADOPTED]
    only_entry(world)
    row = world.store[KEY]
    assert row.state is BlockState.ACTIVE and row.last_error is None and row.attempts == 4


def test_attempts_are_bounded_and_the_doubt_survives_the_failure(world):
    world.zoom.fail("create", server_error(500), times=20)
    outcomes = world.until_settled(request())
    assert [o.result for o in outcomes] == [Result.RETRY] * 10 + [Result.FAILED]  # MAX_ATTEMPTS' default
    row = world.store[KEY]
    assert row.state is BlockState.FAILED and row.failure_reason.startswith("gave up after 10 attempts: ZoomServerError 500")
    assert row.post_started_at is not None  # a later request looks before it posts
    assert world.zoom.entries() == []
    world.zoom._faults.clear()
    world.clock.advance(60)
    assert world.run(request(decided_at=START + timedelta(minutes=5))).result is Result.CREATED
    only_entry(world)


def test_zoom_refusing_the_entry_fails_the_block_with_zooms_message(world):
    world.zoom.fail("create", invalid("Invalid phone number."))
    outcome = world.run(request())
    assert outcome.result is Result.FAILED and outcome.settled
    row = world.store[KEY]
    assert row.state is BlockState.FAILED and "Invalid phone number." in row.failure_reason
    assert row.post_started_at is None and world.zoom.entries() == []


def test_no_permit_releases_the_claim_and_calls_no_zoom(world):
    world.limiter.deny_next("Light", RateGrant(False, START + timedelta(milliseconds=400), "qps"))
    outcome = world.run(request())
    assert (outcome.result, outcome.retry_at, outcome.category) == (
        Result.LIMITED, START + timedelta(milliseconds=400), "Light")
    row = world.store[KEY]
    assert (row.state, row.owner, row.post_started_at, row.attempts) == (BlockState.PENDING, None, None, 0)
    assert world.zoom.requests == []
    assert world.run(request()).result is Result.CREATED  # released: the next delivery need not wait


def test_once_limited_the_rest_of_the_batch_does_not_ask_again(world):
    world.limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=1), "qps"))
    permits = world.permits()
    outcomes = [world.run(request(f"+1907555{n:04d}"), permits=permits) for n in range(5)]
    assert {o.result for o in outcomes} == {Result.LIMITED}
    assert world.limiter.denied == {"Light": 1} and world.zoom.requests == []
    assert len(world.store) == 1  # only the first record claimed (and released) before it knew
    world.clock.advance(1)
    assert world.run(request("+19075550000"), permits=permits).result is Result.CREATED


def test_a_refusal_the_limiter_foresees_writes_no_claim(world):
    for _ in range(20):  # another instance filled the window; this one's limiter saw it
        assert world.limiter.acquire("Light", START).granted
    outcome = world.run(request())
    assert (outcome.result, outcome.retry_at) == (Result.LIMITED, START + timedelta(seconds=1))
    assert len(world.store) == 0 and world.zoom.requests == []


def test_covered_and_already_blocked_requests_call_nothing(world):
    prefix = BlockRecord(BlockKey("prefix", "1907555", "inbound"), BlockState.ACTIVE, zoom_id="p1")
    world.store.put(prefix)
    world.store.put(BlockRecord(BlockKey("phoneNumber", "+14155550100", "inbound"), BlockState.EXTERNAL, zoom_id="x1"))
    assert world.run(request()).result is Result.COVERED
    assert world.run(request("19075551")).result is Result.COVERED  # a longer prefix inside it
    assert world.run(request("+14155550100")).result is Result.ALREADY_BLOCKED
    assert world.zoom.requests == [] and world.limiter.granted == {}
    assert world.run(request(NUMBER, block_type="outbound")).result is Result.CREATED  # other block type


def test_a_request_decided_inside_the_cooldown_is_not_blocked(world):
    world.store.put(BlockRecord(KEY, BlockState.REMOVED, zoom_id="old", cooldown_until=START + timedelta(days=7)))
    assert world.run(request(decided_at=START + timedelta(days=1))).result is Result.COOLDOWN
    assert world.run(request(decided_at=START + timedelta(days=8))).result is Result.CREATED


def test_dry_run_changes_nothing(world):
    world.policy = replace(world.policy, dry_run=True)
    assert world.run(request()).result is Result.DRY_RUN
    assert len(world.store) == 0 and world.zoom.requests == []


def test_our_duplicates_found_by_a_lookup_are_reduced_to_one(world):
    comment = f"{ZOOM_TAG} earlier"
    first = world.zoom.add_entry(NUMBER, comment=comment)
    world.zoom.add_entry(NUMBER, comment=comment)
    world.store.put(BlockRecord(KEY, BlockState.PENDING, post_started_at=START - timedelta(minutes=1),
                                updated_at=START - timedelta(minutes=1), attempts=1))
    outcome = world.run(request())
    assert outcome.result is Result.ADOPTED and outcome.zoom_id == first
    assert [e["id"] for e in world.zoom.entries()] == [first]


def test_an_entry_a_person_made_is_not_duplicated_nor_adopted(world):
    theirs = world.zoom.add_entry(NUMBER.lstrip("+"), comment="blocked by reception")
    world.store.put(BlockRecord(KEY, BlockState.PENDING, post_started_at=START - timedelta(minutes=1),
                                updated_at=START - timedelta(minutes=1), attempts=1))
    outcome = world.run(request())
    assert outcome.result is Result.ALREADY_BLOCKED and outcome.zoom_id == theirs
    assert [e["id"] for e in world.zoom.entries()] == [theirs]
    assert (world.store[KEY].state, world.store[KEY].zoom_id) == (BlockState.EXTERNAL, theirs)
    assert world.run(request()).result is Result.ALREADY_BLOCKED and world.zoom.count("create") == 0


def test_numbers_echoed_without_plus_are_still_found(clock):
    from tests.fakes.zoom import FakeZoom
    from tests.unit.blocker.conftest import World

    world = World(clock, zoom=FakeZoom(clock, echo_plus=False))
    world.zoom.fail("create", dropped(sent=True), commit=True)
    world.until_settled(request())
    only_entry(world)
    assert world.store[KEY].state is BlockState.ACTIVE


def test_one_listing_answers_every_doubt_that_predates_it(world):
    numbers = [f"+1907555{n:04d}" for n in range(3)]
    for number in numbers:
        world.zoom.fail("create", server_error(502), commit=True)
        assert world.run(request(number)).result is Result.RETRY
    world.clock.advance(2)
    assert [world.run(request(n)).result for n in numbers] == [Result.ADOPTED] * 3
    assert world.zoom.count("list") == 1 and len(world.zoom.entries()) == 3


def test_a_listing_takes_a_medium_permit_per_page_and_pauses_without_one(world):
    for n in range(250):
        world.zoom.add_entry(f"+1415555{n:04d}", comment="someone else's")
    world.zoom.fail("create", server_error(502), commit=True)
    world.run(request())
    world.clock.advance(2)
    world.limiter.deny_next("Medium", RateGrant(True), times=2)
    world.limiter.deny_next("Medium", RateGrant(False, world.clock.now() + timedelta(seconds=1), "qps"))
    paused = world.run(request())
    assert (paused.result, paused.category) == (Result.LIMITED, "Medium")
    row = world.store[KEY]
    assert row.owner is None and row.post_started_at is not None and row.attempts == 1  # refunded
    world.clock.advance(1)
    assert world.run(request()).result is Result.ADOPTED
    assert world.zoom.count("list") == 2 + 3 and world.zoom.count("create") == 1


def test_a_slow_attempt_overtaken_after_going_stale_leaves_one_entry(world):
    """A outlives stale_after inside its POST; B takes over, lists before A's entry exists and posts.
    A then finds its claim gone and removes its own duplicate."""
    in_post, release = threading.Event(), threading.Event()
    real_create = world.zoom.create_blocked
    calls = []

    def create(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            kwargs.pop("send_by")  # A's request left in time; it is the answer that takes 16 minutes
            in_post.set()
            assert release.wait(5)
        return real_create(**kwargs)

    world.zoom.create_blocked = create
    results = {}
    a = threading.Thread(target=lambda: results.setdefault("a", world.run(request())))
    a.start()
    assert in_post.wait(5)
    world.clock.advance(minutes=16)
    results["b"] = world.run(request())
    release.set()
    a.join(5)
    assert results["b"].result is Result.CREATED
    assert results["a"].result is Result.ALREADY_BLOCKED
    entry = only_entry(world)
    assert world.store[KEY].zoom_id == entry["id"]


def test_a_throttled_table_is_retried_later(world):
    world.store.fail_next("get_many", StoreUnavailable("ProvisionedThroughputExceededException"))
    outcome = world.run(request())
    assert outcome.result is Result.RETRY and "unavailable" in outcome.detail
    assert world.run(request()).result is Result.CREATED


def test_a_post_whose_permit_ran_out_before_it_left_is_not_sent_and_the_claim_is_given_back(world):
    real_create = world.zoom.create_blocked

    def paused(**kwargs):  # the process stalls between the permit and the send
        world.clock.advance(0.2)
        return real_create(**kwargs)

    world.zoom.create_blocked = paused
    outcome = world.run(request())
    assert (outcome.result, outcome.limit_reason, outcome.retry_at) == (Result.LIMITED, "qps", world.clock.now())
    row = world.store[KEY]
    assert (row.state, row.owner, row.post_started_at) == (BlockState.PENDING, None, None)
    assert world.zoom.entries() == [] and world.zoom.count("create") == 0
    world.zoom.create_blocked = real_create
    assert world.run(request()).result is Result.CREATED


# --- a Zoom that refuses duplicates (400 code 13601, as its newer API does) ---------------------------


def test_a_duplicate_refusal_over_our_inactive_entry_sets_it_active_again(world):
    ours = world.zoom.add_entry(NUMBER, comment=tag_comment("deactivated by the expirer"), status="inactive")
    world.zoom.reject_duplicates = True
    outcome = world.run(request())
    assert outcome.result is Result.ADOPTED and outcome.zoom_id == ours
    entry = only_entry(world)
    assert entry["status"] == "active" and world.store[KEY].state is BlockState.ACTIVE
    assert world.store[KEY].zoom_id == ours
    assert world.zoom.count("create") == 1 and world.zoom.count("update") == 1


def test_a_duplicate_refusal_over_a_persons_inactive_entry_fails_and_leaves_it_alone(world):
    theirs = world.zoom.add_entry(NUMBER, comment="paused by the office manager", status="inactive")
    world.zoom.reject_duplicates = True
    outcome = world.run(request())
    assert outcome.result is Result.FAILED and theirs in outcome.detail and "person's inactive entry" in outcome.detail
    assert only_entry(world)["status"] == "inactive" and world.zoom.count("update") == 0
    assert world.store[KEY].state is BlockState.FAILED


def test_after_a_persons_inactive_entry_refused_ours_zoom_is_asked_again_only_a_day_later(world):
    theirs = world.zoom.add_entry(NUMBER, comment="paused by the office manager", status="inactive")
    world.zoom.reject_duplicates = True
    assert world.run(request()).result is Result.FAILED
    calls = len(world.zoom.requests)
    for hours in (1, 12, 23):  # the spammer keeps calling: each call's request is answered from the row
        world.clock.set(START + timedelta(hours=hours))
        held = world.run(request(decided_at=world.clock.now()))
        assert held.result is Result.NOT_OURS and "person's inactive entry" in held.detail
    assert len(world.zoom.requests) == calls
    world.zoom.delete_blocked(theirs)  # the person removed it meanwhile
    world.clock.set(START + timedelta(hours=25))
    assert world.run(request(decided_at=world.clock.now())).result is Result.CREATED
    assert only_entry(world)["status"] == "active"


def test_an_unblock_still_records_its_cooldown_on_a_row_a_persons_inactive_entry_holds(world):
    world.zoom.add_entry(NUMBER, comment="paused by the office manager", status="inactive")
    world.zoom.reject_duplicates = True
    assert world.run(request()).result is Result.FAILED
    until = START + timedelta(days=30)
    world.clock.set(START + timedelta(hours=1))
    outcome = world.run(request(action="unblock", decided_at=world.clock.now(), cooldown_until=until))
    assert outcome.result is Result.NOTHING_TO_REMOVE and world.store[KEY].cooldown_until == until


def test_a_duplicate_refusal_over_our_active_entry_adopts_it(world):
    ours = world.zoom.add_entry(NUMBER, comment=tag_comment("made before this table existed"))
    world.zoom.reject_duplicates = True
    outcome = world.run(request())
    assert outcome.result is Result.ADOPTED and outcome.zoom_id == ours == world.store[KEY].zoom_id
    only_entry(world)


def test_a_token_request_failing_before_the_post_leaves_no_doubt_to_settle(world):
    from spam_blocker.zoom.auth import OAUTH_ROUTE
    from spam_blocker.zoom.errors import ZoomServerError

    world.zoom.fail("create", ZoomServerError("Zoom OAuth answered 503", status=503, route=OAUTH_ROUTE))
    first = world.run(request())
    assert first.result is Result.RETRY
    row = world.store[KEY]
    assert row.state is BlockState.PENDING and row.post_started_at is None and row.attempts == 0
    assert world.run(request()).result is Result.CREATED
    assert world.zoom.count("list") == 0  # no listing to find an entry that was never asked for
    only_entry(world)


def test_a_duplicate_refusal_over_a_persons_active_entry_records_it_as_theirs(world):
    theirs = world.zoom.add_entry(NUMBER, comment="blocked by the front desk")
    world.zoom.reject_duplicates = True
    outcome = world.run(request())
    assert outcome.result is Result.ALREADY_BLOCKED and outcome.zoom_id == theirs
    assert world.store[KEY].state is BlockState.EXTERNAL and world.store[KEY].zoom_id == theirs
    assert only_entry(world)["comment"] == "blocked by the front desk"
