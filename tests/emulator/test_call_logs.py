"""GET /phone/call_logs: date-range rules, the missed filter, pagination. The clock is 2026-11-20 12:00 UTC."""

from __future__ import annotations

import pytest


def _log(n: int, when: str, *, result: str = "No Answer", direction: str = "inbound") -> dict:
    return {"id": f"log-{n}", "call_id": f"call-{n}", "caller_number": f"+1907555{n:04d}", "caller_number_type": 2,
            "callee_number": "+14155550100", "callee_number_type": 1, "direction": direction, "duration": 3,
            "result": result, "date_time": when}


def test_records_are_filtered_by_their_date_and_returned_newest_first(api, emulator):
    emulator.add_call_logs([
        _log(1, "2026-11-09T23:59:59Z"),
        _log(2, "2026-11-10T00:00:00Z"),
        _log(3, "2026-11-12T08:30:00Z"),
        _log(4, "2026-11-15T23:59:59Z"),
        _log(5, "2026-11-16T00:00:00Z"),
    ])

    response = api.get("/phone/call_logs", params={"from": "2026-11-10", "to": "2026-11-15"})

    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["call_logs"]] == ["log-4", "log-3", "log-2"]
    assert (body["from"], body["to"], body["page_size"], body["total_records"], body["next_page_token"]) == \
        ("2026-11-10", "2026-11-15", 30, 3, "")
    assert body["call_logs"][0] == _log(4, "2026-11-15T23:59:59Z")


def test_dates_are_utc_days_whatever_zone_the_record_uses(api, emulator):
    emulator.add_call_logs([_log(1, "2026-11-15T20:00:00-05:00")])  # 2026-11-16 01:00 UTC

    assert api.get("/phone/call_logs", params={"from": "2026-11-16", "to": "2026-11-16"}).json()["total_records"] == 1
    assert api.get("/phone/call_logs", params={"from": "2026-11-15", "to": "2026-11-15"}).json()["total_records"] == 0


def test_missed_type_keeps_inbound_calls_that_were_not_connected(api, emulator):
    emulator.add_call_logs([
        _log(1, "2026-11-19T10:00:00Z", result="No Answer"),
        _log(2, "2026-11-19T10:01:00Z", result="Call connected"),
        _log(3, "2026-11-19T10:02:00Z", result="Voicemail"),
        _log(4, "2026-11-19T10:03:00Z", result="No Answer", direction="outbound"),
    ])
    params = {"from": "2026-11-19", "to": "2026-11-19"}

    missed = api.get("/phone/call_logs", params={**params, "type": "missed"}).json()
    everything = api.get("/phone/call_logs", params={**params, "type": "all"}).json()

    assert [r["id"] for r in missed["call_logs"]] == ["log-3", "log-1"]
    assert everything["total_records"] == 4


def test_defaults_are_yesterday_to_today(api, emulator):
    emulator.add_call_logs([_log(1, "2026-11-18T12:00:00Z"), _log(2, "2026-11-19T12:00:00Z"),
                            _log(3, "2026-11-20T11:00:00Z")])

    body = api.get("/phone/call_logs").json()

    assert (body["from"], body["to"]) == ("2026-11-19", "2026-11-20")
    assert [r["id"] for r in body["call_logs"]] == ["log-3", "log-2"]


@pytest.mark.parametrize("params, fragment", [
    ({"from": "2026/11/01", "to": "2026-11-02"}, "from"),
    ({"from": "2026-11-01", "to": "20261102"}, "to"),
    ({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02"}, "from"),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
    ({"from": "2026-11-10", "to": "2026-11-09"}, "before"),
    ({"from": "2026-10-01", "to": "2026-11-01"}, "one month"),
    ({"from": "2026-10-15", "to": "2026-11-15"}, "one month"),
    ({"from": "2026-05-19", "to": "2026-05-20"}, "six months"),
    ({"from": "2026-11-19", "to": "2026-11-20", "type": "answered"}, "type"),
    ({"from": "2026-11-19", "to": "2026-11-20", "page_size": "301"}, "page_size"),
])
def test_broken_queries_are_400_code_300(api, params, fragment):
    response = api.get("/phone/call_logs", params=params)

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert fragment in response.json()["message"]


@pytest.mark.parametrize("params", [
    {"from": "2026-10-01", "to": "2026-10-31"},  # a whole calendar month
    {"from": "2026-10-15", "to": "2026-11-14"},
    {"from": "2026-05-20", "to": "2026-06-01"},  # exactly six months back
    {"from": "2026-11-20", "to": "2026-11-20"},
    {"from": "2026-11-19", "to": "2026-11-20", "page_size": "300"},
])
def test_queries_at_the_limits_are_accepted(api, params):
    assert api.get("/phone/call_logs", params=params).status_code == 200


def test_call_logs_page_with_tokens_bound_to_their_query(api, emulator, clock):
    emulator.add_call_logs([_log(n, f"2026-11-19T10:{n:02d}:00Z") for n in range(7)])
    query = {"from": "2026-11-19", "to": "2026-11-20", "page_size": 3}

    first = api.get("/phone/call_logs", params=query).json()
    second = api.get("/phone/call_logs", params={**query, "next_page_token": first["next_page_token"]}).json()
    third = api.get("/phone/call_logs", params={**query, "next_page_token": second["next_page_token"]}).json()
    other_query = api.get("/phone/call_logs", params={**query, "from": "2026-11-18",
                                                      "next_page_token": first["next_page_token"]})
    clock.advance(minutes=15)
    expired = api.get("/phone/call_logs", params={**query, "next_page_token": first["next_page_token"]})

    ids = [r["id"] for page in (first, second, third) for r in page["call_logs"]]
    assert ids == [f"log-{n}" for n in range(6, -1, -1)]
    assert third["next_page_token"] == ""
    assert (other_query.status_code, other_query.json()["code"]) == (400, 300)
    assert (expired.status_code, expired.json()["code"]) == (400, 300)


def test_a_blocked_list_token_is_not_a_call_log_token(api, emulator):
    for n in range(3):
        emulator.add_entry(f"+1907555000{n}")
    token = api.get("/phone/blocked_list", params={"page_size": 1}).json()["next_page_token"]

    response = api.get("/phone/call_logs", params={"next_page_token": token})

    assert (response.status_code, response.json()["code"]) == (400, 300)


def test_call_logs_are_heavy_and_report_the_daily_limit(api):
    response = api.get("/phone/call_logs")

    assert response.headers["X-RateLimit-Category"] == "Heavy"
    assert response.headers["X-RateLimit-Type"] == "Daily-limit"
    assert response.headers["X-RateLimit-Limit"] == "15000"
    assert response.headers["X-RateLimit-Remaining"] == "14999"


@pytest.mark.parametrize("record", [{"id": "x"}, {"date_time": "yesterday"}, {"date_time": "2026-11-19T10:00:00"}, "x"])
def test_call_logs_without_a_readable_zoned_date_time_are_refused(emulator, record):
    with pytest.raises(ValueError):
        emulator.add_call_logs([_log(1, "2026-11-19T10:00:00Z"), record])
    assert emulator.call_logs() == []


# --- GET /phone/call_history: the same records in the call-history shape ---

def test_call_history_lists_the_same_records_in_its_own_shape(api, emulator):
    emulator.add_call_logs([_log(1, "2026-11-19T10:00:00Z", result="Call connected"), _log(2, "2026-11-19T11:00:00Z")])
    body = api.get("/phone/call_history", params={"from": "2026-11-19", "to": "2026-11-19", "type": "missed"}).json()

    assert "call_logs" not in body and body["total_records"] == 2  # no `type` on call_history: ignored
    newest, oldest = body["call_history"]
    assert newest == {"id": "log-2", "call_id": "call-2", "direction": "inbound", "connect_type": "external",
                      "caller_did_number": "+19075550002", "caller_number_type": "external",
                      "callee_ext_number": "+14155550100", "callee_number_type": "internal",
                      "start_time": "2026-11-19T11:00:00Z", "duration": 3, "call_result": "no_answer"}
    assert oldest["call_result"] == "answered"


def test_a_call_logs_token_is_not_a_call_history_token(api, emulator):
    emulator.add_call_logs([_log(n, f"2026-11-19T10:{n:02d}:00Z") for n in range(3)])
    query = {"from": "2026-11-19", "to": "2026-11-19", "page_size": 1}
    token = api.get("/phone/call_logs", params=query).json()["next_page_token"]

    response = api.get("/phone/call_history", params={**query, "next_page_token": token})

    assert (response.status_code, response.json()["code"]) == (400, 300)


@pytest.mark.parametrize(("answering", "retired"), [("call_logs", "/phone/call_history"),
                                                    ("call_history", "/phone/call_logs")])
def test_either_call_log_api_can_be_retired(api, emulator, answering, retired):
    emulator.configure(call_log_apis=answering)
    response = api.get(retired)
    assert (response.status_code, response.json()["code"]) == (404, 404)
    assert api.get(f"/phone/{answering}").status_code == 200
    with pytest.raises(ValueError):
        emulator.configure(call_log_apis="neither")
