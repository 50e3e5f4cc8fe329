"""Inspection and control, in-process and over /_emulator/ (no auth, no limits, not recorded)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.emulator.conftest import CREDENTIALS, START, TOKEN_FORM


def test_portal_entries_show_in_the_api_and_may_be_threat_blocks(api, emulator):
    entry_id = emulator.add_entry("1907", match_type="prefix", block_type="threat", comment="Zoom's own")

    listed = api.get("/phone/blocked_list").json()["blocked_list"]

    assert listed == [{"id": entry_id, "match_type": "prefix", "phone_number": "1907", "block_type": "threat",
                       "status": "active", "comment": "Zoom's own"}]


def test_portal_removal_makes_the_api_answer_not_found(api, emulator, create):
    entry_id = create()

    assert emulator.remove_entry(entry_id) is True
    assert emulator.remove_entry(entry_id) is False
    assert api.get(f"/phone/blocked_list/{entry_id}").status_code == 400


@pytest.mark.parametrize("fields", [{"phone_number": "+1 907"}, {"phone_number": "+1907", "status": "maybe"}])
def test_portal_entries_are_validated(emulator, fields):
    with pytest.raises(ValueError):
        emulator.add_entry(**fields)


def test_requests_are_recorded_with_templated_routes(api, emulator, clock, create):
    entry_id = create()
    clock.advance(2)
    api.delete(f"/phone/blocked_list/{entry_id}")
    api.get("/phone/call_logs", params={"from": "2026-11-19"})

    oauth, post, delete, logs = emulator.requests

    assert (oauth.route, oauth.category, oauth.status) == ("POST /oauth/token", None, 200)
    assert (post.method, post.path, post.route, post.category, post.status, post.at) == \
        ("POST", "/v2/phone/blocked_list", "POST /phone/blocked_list", "Light", 201, START)
    assert '"+19075550123"' in post.body
    assert (delete["route"], delete["status"], delete["at"]) == \
        ("DELETE /phone/blocked_list/{id}", 204, datetime(2026, 11, 20, 12, 0, 2, tzinfo=UTC))
    assert delete.path == f"/v2/phone/blocked_list/{entry_id}"
    assert (logs.route, logs.category, logs.query) == ("GET /phone/call_logs", "Heavy", "from=2026-11-19")


def test_stats_count_per_route_and_status(api, emulator, create):
    create()
    create()
    api.get("/phone/blocked_list/nope")
    emulator.faults.inject("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/phone/blocked_list")

    stats = emulator.stats()

    assert stats["by_route"] == {
        "POST /oauth/token": {"200": 1},
        "POST /phone/blocked_list": {"201": 2},
        "GET /phone/blocked_list/{id}": {"400": 1},
        "GET /phone/blocked_list": {"dropped": 1},
    }
    assert stats["by_status"] == {"200": 1, "201": 2, "400": 1, "dropped": 1}
    assert (stats["total"], stats["entries"], stats["tokens_issued"], stats["by_fault"]) == (5, 2, 1, {"drop": 1})


def test_http_inspection_of_entries_requests_and_stats(http, api, create):
    entry_id = create()

    entries = http.get("/_emulator/entries").json()["entries"]
    requests = http.get("/_emulator/requests").json()["requests"]
    later = http.get("/_emulator/requests", params={"since": 1}).json()["requests"]
    stats = http.get("/_emulator/stats").json()

    assert [e["id"] for e in entries] == [entry_id]
    assert [r["route"] for r in requests] == ["POST /oauth/token", "POST /phone/blocked_list"]
    assert requests[1]["at"] == START.isoformat()
    assert [r["route"] for r in later] == ["POST /phone/blocked_list"]
    assert stats["by_route"]["POST /phone/blocked_list"] == {"201": 1}
    assert stats["total"] == 2  # the inspection requests themselves are not recorded


def test_http_portal_add_and_remove(http, api, emulator):
    added = http.post("/_emulator/entries", json={"phone_number": "1907555", "match_type": "prefix"})
    entry_id = added.json()["id"]

    assert added.status_code == 201
    assert api.get(f"/phone/blocked_list/{entry_id}").json()["match_type"] == "prefix"
    assert http.delete(f"/_emulator/entries/{entry_id}").status_code == 204
    assert http.delete(f"/_emulator/entries/{entry_id}").status_code == 404
    assert emulator.entries() == []
    assert http.post("/_emulator/entries", json={"phone_number": "bad number"}).status_code == 400
    assert http.post("/_emulator/entries", json={}).status_code == 400


def test_http_fault_injection(http, api, emulator):
    injected = http.post("/_emulator/faults", json={"kind": "5xx", "route": "GET /phone/blocked_list",
                                                    "status": 502, "count": 2})

    assert injected.status_code == 201
    assert injected.json()["remaining"] == 2
    assert [f["kind"] for f in http.get("/_emulator/faults").json()["faults"]] == ["5xx"]
    assert api.get("/phone/blocked_list").status_code == 502
    assert http.delete("/_emulator/faults").status_code == 204
    assert api.get("/phone/blocked_list").status_code == 200
    assert http.post("/_emulator/faults", json={"kind": "5xx", "colour": "red"}).status_code == 400
    assert http.post("/_emulator/faults", json={"route": "GET /phone/blocked_list"}).status_code == 400


def test_http_call_logs_feed_the_call_log_api(http, api):
    record = {"id": "a", "caller_number": "+19075550123", "direction": "inbound", "result": "No Answer",
              "date_time": "2026-11-20T09:00:00Z"}

    assert http.post("/_emulator/call_logs", json=[record]).json() == {"added": 1}
    assert http.post("/_emulator/call_logs", json={"call_logs": [{**record, "id": "b"}]}).json() == {"added": 1}
    assert http.post("/_emulator/call_logs", json=[{"id": "no-date"}]).status_code == 400
    assert [r["id"] for r in http.get("/_emulator/call_logs").json()["call_logs"]] == ["a", "b"]
    assert api.get("/phone/call_logs").json()["total_records"] == 2


def test_http_expire_tokens(http, api):
    assert http.post("/_emulator/expire_tokens").status_code == 204
    assert api.get("/phone/blocked_list").json() == {"code": 124, "message": "Invalid access token."}


def test_http_config(http, api):
    changed = http.post("/_emulator/config", json={"not_found_code": 400, "retry_after_qps": "iso"})

    assert changed.status_code == 200
    assert changed.json()["not_found_code"] == 400
    assert http.get("/_emulator/config").json()["retry_after_qps"] == "iso"
    assert api.get("/phone/blocked_list/nope").json()["code"] == 400
    assert http.post("/_emulator/config", json={"plan": "galactic"}).status_code == 400
    assert http.post("/_emulator/config", json={"limits": {"Light": 1, "Medium": 1, "Heavy": 1, "daily": 1}}
                     ).json()["limits"] == {"Light": 1, "Medium": 1, "Heavy": 1, "daily": 1}
    api.get("/phone/blocked_list/nope")
    assert api.get("/phone/blocked_list/nope").status_code == 429


def test_http_clock_moves_a_manual_clock(http, clock):
    assert http.get("/_emulator/clock").json() == {"now": START.isoformat()}
    assert http.post("/_emulator/clock", json={"advance_s": 90}).json()["now"] == "2026-11-20T12:01:30+00:00"
    assert http.post("/_emulator/clock", json={"set": "2026-11-21T00:00:00Z"}).status_code == 200
    assert clock.now() == datetime(2026, 11, 21, tzinfo=UTC)
    assert http.post("/_emulator/clock", json={"advance_s": -5}).status_code == 400


def test_a_system_clock_cannot_be_moved_over_http():
    from local.emulator import ZoomEmulator

    with httpx.Client(transport=ZoomEmulator().transport(), base_url="http://zoom.test") as client:
        assert client.post("/_emulator/clock", json={"advance_s": 1}).status_code == 409


def test_reset_empties_the_account_but_keeps_tokens_unless_asked(http, api, emulator, create):
    create()
    emulator.add_call_logs([{"date_time": "2026-11-20T09:00:00Z"}])
    emulator.faults.inject("5xx")
    emulator.configure(not_found_code=300)

    assert http.post("/_emulator/reset").status_code == 204

    assert emulator.entries() == [] and emulator.call_logs() == [] and emulator.requests == []
    assert emulator.faults.pending() == []
    assert emulator.config.not_found_code == 404
    assert api.get("/phone/blocked_list").status_code == 200
    http.post("/_emulator/reset", json={"tokens": True})
    assert api.get("/phone/blocked_list").status_code == 401


def test_inspection_needs_no_auth_and_is_never_limited_or_recorded(http, emulator):
    emulator.configure(limits={"Light": 1, "Medium": 1, "Heavy": 1, "daily": 1})
    emulator.faults.inject("drop")

    statuses = {http.get(path).status_code for path in ("/_emulator", "/_emulator/entries", "/_emulator/stats",
                                                         "/_emulator/requests", "/_emulator/faults") * 5}

    assert statuses == {200}
    assert emulator.requests == []
    assert len(emulator.faults.pending()) == 1


def test_unknown_inspection_paths_and_methods(http):
    assert http.get("/_emulator/nothing").status_code == 404
    assert http.put("/_emulator/entries").status_code == 405
    assert http.post("/_emulator/faults", content=b"{not json").status_code == 400
    assert http.get("/_emulator/requests", params={"since": "x"}).status_code == 400


def test_paths_outside_the_api_are_404(http):
    assert http.post("/oauth/authorize", auth=CREDENTIALS, data=TOKEN_FORM).status_code == 404
