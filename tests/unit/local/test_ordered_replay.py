"""The runner's ordered replay: one scorer batch at a time, each once the last one's blocks are handled."""

import json
import threading

from local.event_file import Line
from local.pipeline import RunSummary, _Feeder, _Settler


def _event(i: int) -> str:
    return json.dumps({"type": "spam_report", "phone_number": f"+1415555{i:04d}", "reporter": "ann@example.com",
                       "reported_at": "2026-11-02T10:00:00Z"})


class RecordingQueue:
    def __init__(self, log: list) -> None:
        self.log = log
        self.held = False

    def send_many(self, bodies):
        self.log.append(("send", len(bodies), "held" if self.held else "POLLING"))


def _feed(lines, chunk):
    log: list = []
    queue = RecordingQueue(log)

    def hold():
        queue.held = True

    def release():
        queue.held = False
        log.append(("release",))

    feeder = _Feeder(iter(lines), queue, lambda: 0, "US", 150, RunSummary(), lambda n: None,
                     chunk=chunk, settle=lambda: log.append(("settle",)), hold=hold, release=release)
    feeder.run()
    assert feeder.error is None and feeder.done.is_set() and not queue.held
    return log


def test_each_chunk_waits_for_the_last_one_to_settle_and_is_sent_while_the_pollers_are_held():
    lines = [Line(i + 1, _event(i)) for i in range(57)]
    log = _feed(lines, chunk=25)
    assert log == [("settle",), ("send", 10, "held"), ("send", 10, "held"), ("send", 5, "held"), ("release",),
                   ("settle",), ("send", 10, "held"), ("send", 10, "held"), ("send", 5, "held"), ("release",),
                   ("settle",), ("send", 7, "held"), ("release",)]


def test_rejected_lines_do_not_count_toward_a_chunk():
    lines = [Line(1, "not json"), *[Line(i + 2, _event(i)) for i in range(10)], Line(12, "{}")]
    log = _feed(lines, chunk=10)
    assert log == [("settle",), ("send", 10, "held"), ("release",)]


class FakeMap:
    def __init__(self, visible=0, in_flight=0, busy=0) -> None:
        self.counts = {"visible": visible, "in_flight": in_flight, "delayed": 0}
        self.busy = busy
        self.stats = type("Stats", (), {"records": 0})()

    def backlog(self):
        return dict(self.counts)


def test_settling_returns_at_once_when_nothing_is_queued_or_handled():
    settler = _Settler((FakeMap(), FakeMap()), threading.Event(), threading.Event(), patience_s=60, progress=lambda: 0)
    settler()
    assert settler.gave_up_with is None


def test_once_deferred_requests_stop_moving_the_replay_no_longer_waits_for_deferred_ones():
    scorer, blocker = FakeMap(), FakeMap(in_flight=2)  # two block requests deferred to Zoom's daily reset
    settler = _Settler((scorer, blocker), threading.Event(), threading.Event(), patience_s=0,
                       progress=lambda: 0)
    settler()
    assert settler.gave_up_with == 2
    blocker.counts["in_flight"] = 3  # one more deferred: not waited for
    settler()
    assert settler.gave_up_with == 2


def test_deferred_requests_handled_again_and_again_are_not_progress():
    """A 429 on every POST: the blocker takes the same deferred requests every second, and gets nowhere."""

    class Retrying(FakeMap):
        def backlog(self):
            self.stats.records += 1  # handled once more, deferred once more
            return super().backlog()

    blocker = Retrying(in_flight=2)
    settler = _Settler((FakeMap(), blocker), threading.Event(), threading.Event(), patience_s=0.2,
                       progress=lambda: 7)
    settler()
    assert settler.gave_up_with == 2 and blocker.stats.records > 1


class BusyFor(FakeMap):
    """A function handling a batch for the next `looks` looks at its queue."""

    def __init__(self, looks: int, moved: threading.Event) -> None:
        super().__init__(busy=1)
        self.looks = looks
        self.moved = moved

    def backlog(self):
        self.looks -= 1
        if self.looks <= 0:
            self.busy = 0
        self.moved.set()  # the settler's next look comes at once
        return super().backlog()


def test_settling_waits_while_a_batch_is_being_handled_however_short_its_patience():
    moved = threading.Event()
    scorer = BusyFor(3, moved)
    settler = _Settler((scorer, FakeMap()), threading.Event(), moved, patience_s=0, progress=lambda: 0)
    settler()
    assert scorer.looks == 0 and settler.gave_up_with is None
