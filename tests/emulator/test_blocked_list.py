"""The five blocked-list operations: status codes, bodies, validation, not-found and pagination."""

from __future__ import annotations

import re

import pytest

VALIDATION = 300


def test_post_creates_an_entry_with_a_zoom_like_id(api, emulator):
    response = api.post("/phone/blocked_list", json={
        "match_type": "phoneNumber", "phone_number": "+19075550123", "block_type": "inbound",
        "status": "active", "comment": "[spam-blocker] robocalls"})

    assert response.status_code == 201
    entry_id = response.json()["id"]
    assert response.json() == {"id": entry_id}
    assert re.fullmatch(r"[A-Za-z0-9]{12}", entry_id)
    assert emulator.entries() == [{"id": entry_id, "match_type": "phoneNumber", "phone_number": "+19075550123",
                                   "block_type": "inbound", "status": "active",
                                   "comment": "[spam-blocker] robocalls"}]


def test_get_returns_the_entry(api, create):
    entry_id = create("1907555", match_type="prefix", block_type="outbound", comment="range")

    response = api.get(f"/phone/blocked_list/{entry_id}")

    assert response.status_code == 200
    assert response.json() == {"id": entry_id, "match_type": "prefix", "phone_number": "1907555",
                               "block_type": "outbound", "status": "active", "comment": "range"}


def test_post_defaults_the_optional_fields(api, create):
    entry_id = create("+19075550123")

    entry = api.get(f"/phone/blocked_list/{entry_id}").json()

    assert (entry["match_type"], entry["block_type"], entry["status"], entry["comment"]) == \
        ("phoneNumber", "inbound", "active", "")


def test_duplicate_posts_are_accepted_as_separate_entries(create, emulator):
    first, second = create("+19075550123"), create("+19075550123")

    assert first != second
    assert len(emulator.entries()) == 2


def test_unknown_fields_are_ignored_and_country_is_checked_not_stored(api, create):
    entry_id = create("+19075550123", country="US", colour="blue")

    assert "colour" not in api.get(f"/phone/blocked_list/{entry_id}").json()


def test_patch_is_204_without_body_and_changes_only_the_given_fields(api, create):
    entry_id = create("+19075550123", comment="before")

    response = api.patch(f"/phone/blocked_list/{entry_id}", json={"status": "inactive"})

    assert response.status_code == 204
    assert response.content == b""
    entry = api.get(f"/phone/blocked_list/{entry_id}").json()
    assert (entry["status"], entry["comment"], entry["phone_number"]) == ("inactive", "before", "+19075550123")


def test_patch_may_switch_to_a_prefix_with_a_new_number(api, create):
    entry_id = create("+19075550123")

    response = api.patch(f"/phone/blocked_list/{entry_id}", json={"match_type": "prefix", "phone_number": "1907"})

    assert response.status_code == 204
    assert api.get(f"/phone/blocked_list/{entry_id}").json()["phone_number"] == "1907"


def test_delete_is_204_without_body_and_the_entry_is_gone(api, create, emulator):
    entry_id = create()

    response = api.delete(f"/phone/blocked_list/{entry_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert emulator.entries() == []


@pytest.mark.parametrize("method, body", [("GET", None), ("PATCH", {"status": "inactive"}), ("DELETE", None)])
def test_unknown_id_is_http_400_with_a_not_found_code(api, method, body):
    response = api.request(method, "/phone/blocked_list/doesNotExist", json=body)

    assert response.status_code == 400
    assert response.json() == {"code": 404, "message": "Blocked list not found."}


def test_deleting_twice_answers_not_found_the_second_time(api, create):
    entry_id = create()

    assert api.delete(f"/phone/blocked_list/{entry_id}").status_code == 204
    assert api.delete(f"/phone/blocked_list/{entry_id}").status_code == 400


def test_not_found_code_is_configurable_for_the_documented_variants(api, emulator):
    emulator.configure(not_found_code=300)

    response = api.get("/phone/blocked_list/doesNotExist")

    assert (response.status_code, response.json()["code"]) == (400, 300)
    with pytest.raises(ValueError):
        emulator.configure(not_found_code=410)


def test_other_methods_on_a_known_path_are_405_and_unknown_paths_404(api):
    assert api.put("/phone/blocked_list/abc", json={}).status_code == 405
    assert api.get("/phone/users").status_code == 404


LONG = "1" * 51
INVALID_POSTS = [
    ({}, "phone_number"),
    ({"phone_number": ""}, "phone_number"),
    ({"phone_number": None}, "phone_number"),
    ({"phone_number": 19075550123}, "phone_number"),
    ({"phone_number": LONG}, "phone_number"),
    ({"phone_number": "+1 907 555 0123"}, "phone_number"),
    ({"phone_number": "907-555-0123"}, "phone_number"),
    ({"phone_number": "++19075550123"}, "phone_number"),
    ({"phone_number": "+1907", "match_type": "prefix"}, "phone_number"),
    ({"phone_number": "19a7", "match_type": "prefix"}, "phone_number"),
    ({"phone_number": "+19075550123", "match_type": "PhoneNumber"}, "match_type"),
    ({"phone_number": "+19075550123", "match_type": "range"}, "match_type"),
    ({"phone_number": "+19075550123", "block_type": "threat"}, "block_type"),
    ({"phone_number": "+19075550123", "block_type": "both"}, "block_type"),
    ({"phone_number": "+19075550123", "status": "enabled"}, "status"),
    ({"phone_number": "+19075550123", "comment": "x" * 256}, "comment"),
    ({"phone_number": "+19075550123", "comment": None}, "comment"),
    ({"phone_number": "+19075550123", "comment": ["a"]}, "comment"),
    ({"phone_number": "+19075550123", "country": "USA"}, "country"),
]


@pytest.mark.parametrize("body, field", INVALID_POSTS)
def test_invalid_post_fields_are_400_code_300_naming_the_field(api, emulator, body, field):
    response = api.post("/phone/blocked_list", json=body)

    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == VALIDATION
    assert field in answer["message"]
    assert field in [error["field"] for error in answer["errors"]]
    assert emulator.entries() == []


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'"text"', b"null", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400_code_300(api, content):
    response = api.post("/phone/blocked_list", content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"code": 300, "message": "Request Body should be a valid JSON object."}


@pytest.mark.parametrize("body", [
    {"phone_number": "1" * 50},
    {"phone_number": "+" + "1" * 49},
    {"phone_number": "19075550123"},
    {"phone_number": "1907", "match_type": "prefix"},
    {"phone_number": "+19075550123", "comment": "x" * 255},
    {"phone_number": "+19075550123", "country": "us"},
    {"phone_number": "+19075550123", "block_type": "outbound", "status": "inactive"},
])
def test_values_at_the_limits_are_accepted(api, body):
    assert api.post("/phone/blocked_list", json=body).status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"status": "paused"}, "status"),
    ({"match_type": "prefix"}, "phone_number"),  # the existing "+1..." is not a valid prefix
    ({"phone_number": ""}, "phone_number"),
    ({"comment": "x" * 256}, "comment"),
    ({"block_type": None}, "block_type"),
])
def test_invalid_patch_is_400_code_300_and_changes_nothing(api, create, body, field):
    entry_id = create("+19075550123")
    before = api.get(f"/phone/blocked_list/{entry_id}").json()

    response = api.patch(f"/phone/blocked_list/{entry_id}", json=body)

    assert (response.status_code, response.json()["code"]) == (400, VALIDATION)
    assert field in response.json()["message"]
    assert api.get(f"/phone/blocked_list/{entry_id}").json() == before


def test_patch_body_must_be_a_json_object(api, create):
    response = api.patch(f"/phone/blocked_list/{create()}", content=b"[1]")

    assert response.json() == {"code": 300, "message": "Request Body should be a valid JSON object."}


def test_numbers_can_be_echoed_without_the_plus_as_zoom_has_been_seen_to(api, create, emulator):
    entry_id = create("+19075550123")
    emulator.configure(echo_plus=False)

    assert api.get(f"/phone/blocked_list/{entry_id}").json()["phone_number"] == "19075550123"
    assert api.get("/phone/blocked_list").json()["blocked_list"][0]["phone_number"] == "19075550123"


# ---- pagination ---------------------------------------------------------------------------------------

def _fill(emulator, count):
    return [emulator.add_entry(f"+1907555{n:04d}") for n in range(count)]


def test_list_of_an_empty_account(api):
    response = api.get("/phone/blocked_list")

    assert response.status_code == 200
    assert response.json() == {"blocked_list": [], "next_page_token": "", "page_size": 30, "total_records": 0}


def test_list_pages_through_everything_in_creation_order(api, emulator):
    ids = _fill(emulator, 65)

    seen, sizes, token = [], [], None
    while True:
        body = api.get("/phone/blocked_list", params={"next_page_token": token} if token else {}).json()
        assert body["total_records"] == 65
        assert body["page_size"] == 30
        sizes.append(len(body["blocked_list"]))
        seen += [entry["id"] for entry in body["blocked_list"]]
        token = body["next_page_token"]
        if not token:
            break

    assert sizes == [30, 30, 5]
    assert seen == ids


def test_a_full_last_page_has_no_next_token(api, emulator):
    _fill(emulator, 10)

    body = api.get("/phone/blocked_list", params={"page_size": 10}).json()

    assert len(body["blocked_list"]) == 10
    assert body["next_page_token"] == ""


def test_deleting_between_pages_does_not_skip_entries(api, emulator):
    ids = _fill(emulator, 6)
    first = api.get("/phone/blocked_list", params={"page_size": 3}).json()
    for entry in first["blocked_list"]:
        api.delete(f"/phone/blocked_list/{entry['id']}")

    second = api.get("/phone/blocked_list", params={"page_size": 3, "next_page_token": first["next_page_token"]})

    assert [e["id"] for e in second.json()["blocked_list"]] == ids[3:]


@pytest.mark.parametrize("size, status", [("100", 200), ("1", 200), ("101", 400), ("0", 400), ("-5", 400),
                                          ("ten", 400), ("2.5", 400)])
def test_page_size_is_1_to_100_and_larger_is_rejected_not_clamped(api, size, status):
    response = api.get("/phone/blocked_list", params={"page_size": size})

    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == VALIDATION
    else:
        assert response.json()["page_size"] == int(size)


def test_next_page_token_expires_after_15_minutes(api, emulator, clock):
    _fill(emulator, 4)
    token = api.get("/phone/blocked_list", params={"page_size": 2}).json()["next_page_token"]

    clock.advance(minutes=14, seconds=59)
    assert api.get("/phone/blocked_list", params={"page_size": 2, "next_page_token": token}).status_code == 200
    clock.advance(1)
    response = api.get("/phone/blocked_list", params={"page_size": 2, "next_page_token": token})

    assert response.status_code == 400
    assert response.json()["code"] == VALIDATION
    assert "next_page_token" in response.json()["message"]


def test_an_invented_next_page_token_is_400_code_300(api):
    response = api.get("/phone/blocked_list", params={"next_page_token": "made-up"})

    assert (response.status_code, response.json()["code"]) == (400, VALIDATION)
