"""The run's text summary: what each block's state says to a newcomer."""

from local.pipeline import RunSummary
from local.summary_view import render_summary


def _block(state: str, **extra) -> dict:
    return {"match_type": "prefix", "phone_number": "1212734", "block_type": "inbound", "state": state,
            "zoom_id": None, "reason": "block range 1212734", "failure_reason": None, "expires_at": None, **extra}


def test_a_range_refused_by_the_blockers_check_reads_as_a_safety_rail_not_a_failure():
    refused = _block("failed", failure_reason="not created: 1212734 would cover +12127344580, a legitimate caller")
    text = render_summary(RunSummary(blocks=[refused]))
    assert "not created: a safety rail" in text and "FAILED" not in text
    assert "why: not created: 1212734 would cover +12127344580" in text


def test_a_block_zoom_refused_still_reads_failed():
    text = render_summary(RunSummary(blocks=[_block("failed", failure_reason="Zoom refused the entry: 400")]))
    assert "FAILED" in text and "why: Zoom refused the entry" in text


def test_a_block_lifted_during_the_run_says_why_it_ended():
    lifted = _block("removed", ended_reason="unblocked: +12127344580 is a legitimate caller (an employee called it)")
    text = render_summary(RunSummary(blocks=[lifted, _block("active", phone_number="1907555", reason="block range 1907555")]))
    assert "1212734*         removed" in text
    assert "ended: unblocked: +12127344580 is a legitimate caller" in text
    assert text.count("ended:") == 1  # an active block has not ended


def test_a_block_lifted_and_made_again_during_the_run_shows_both():
    lifts = [{"at": "2026-11-04T22:29:08Z", "reason": "watch +17022454386: a legitimate caller"}]
    again = _block("active", phone_number="17022454", reason="block range 17022454: 11 suspicious numbers", lifts=lifts)
    text = render_summary(RunSummary(blocks=[again]))
    assert "17022454*        blocked" in text and "why: block range 17022454: 11 suspicious numbers" in text
    assert "earlier: lifted at 2026-11-04T22:29:08Z (watch +17022454386: a legitimate caller); blocked again" in text
