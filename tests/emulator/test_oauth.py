"""Server-to-Server OAuth at /oauth/token, and the bearer check on the API (401 code 124)."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import CREDENTIALS, TOKEN_FORM

INVALID_CLIENT = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}


def test_token_request_answers_like_zoom(http):
    response = http.post("/oauth/token", auth=CREDENTIALS, data=TOKEN_FORM)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "phone:read:admin phone:write:admin"
    assert body["api_url"] == "https://api.zoom.us"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) > 20


def test_token_parameters_may_come_in_the_query_string_as_zoom_documents(http):
    response = http.post("/oauth/token", auth=CREDENTIALS, params=TOKEN_FORM)

    assert response.status_code == 200


def test_each_token_request_issues_a_new_working_token(http, get_token):
    first, second = get_token(), get_token()

    assert first != second
    for token in (first, second):
        assert http.get("/v2/phone/blocked_list", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("auth", [
    ("dev-client-id", "wrong-secret"),
    ("other-client", "dev-client-secret"),
    None,
], ids=["bad-secret", "bad-client-id", "no-basic-auth"])
def test_bad_client_credentials_are_400_invalid_client(http, auth):
    response = http.post("/oauth/token", auth=auth, data=TOKEN_FORM)

    assert response.status_code == 400
    assert response.json() == INVALID_CLIENT


def test_malformed_basic_header_is_invalid_client(http):
    response = http.post("/oauth/token", headers={"Authorization": "Basic %%%not-base64"}, data=TOKEN_FORM)

    assert response.status_code == 400
    assert response.json() == INVALID_CLIENT


@pytest.mark.parametrize("form, error", [
    ({"grant_type": "client_credentials", "account_id": "dev-account"}, "unsupported_grant_type"),
    ({"account_id": "dev-account"}, "unsupported_grant_type"),
    ({"grant_type": "account_credentials", "account_id": "someone-else"}, "invalid_request"),
    ({"grant_type": "account_credentials"}, "invalid_request"),
])
def test_wrong_grant_type_or_account_is_400(http, form, error):
    response = http.post("/oauth/token", auth=CREDENTIALS, data=form)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["reason"]


def test_token_endpoint_takes_post_only(http):
    assert http.get("/oauth/token", auth=CREDENTIALS, params=TOKEN_FORM).status_code == 405


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Basic ZGV2LWNsaWVudC1pZDpkZXYtY2xpZW50LXNlY3JldA=="},
    {"Authorization": "Bearer"},
], ids=["missing", "unknown", "basic-scheme", "empty-bearer"])
def test_api_without_a_valid_bearer_is_401_code_124(http, headers):
    response = http.get("/v2/phone/blocked_list", headers=headers)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_token_expires_by_the_injected_clock(http, get_token, clock):
    headers = {"Authorization": f"Bearer {get_token()}"}

    clock.advance(3599)
    assert http.get("/v2/phone/blocked_list", headers=headers).status_code == 200
    clock.advance(1)
    response = http.get("/v2/phone/blocked_list", headers=headers)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert http.get("/v2/phone/blocked_list", headers={"Authorization": f"Bearer {get_token()}"}).status_code == 200


def test_token_lifetime_is_configurable(clock):
    import httpx

    from local.emulator import ZoomEmulator

    emulator = ZoomEmulator(clock=clock, token_ttl_s=60, account_id="acc", client_id="id", client_secret="s")
    with httpx.Client(transport=emulator.transport(), base_url="http://zoom.test") as http:
        body = http.post("/oauth/token", auth=("id", "s"),
                         data={"grant_type": "account_credentials", "account_id": "acc"}).json()
        assert body["expires_in"] == 60
        assert body["api_url"] == "http://zoom.test"
        clock.advance(60)
        response = http.get("/v2/phone/blocked_list", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert response.status_code == 401


def test_expire_tokens_invalidates_every_issued_token(emulator, api):
    assert api.get("/phone/blocked_list").status_code == 200

    emulator.expire_tokens()

    response = api.get("/phone/blocked_list")
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
