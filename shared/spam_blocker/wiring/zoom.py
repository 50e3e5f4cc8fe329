"""Zoom client wiring: credentials (Secrets Manager or settings), one ZoomClient per container, and a small
process-wide registry of request observers.

    get_zoom_client(settings)      ZoomClient.create(api_url, oauth_url, account_id, client_id, client_secret,
                                   on_request=notify_observers), cached per (URLs, credentials)
    zoom_credentials(settings)     ZOOM_SECRET_ARN when set (read once per container), else ZOOM_ACCOUNT_ID,
                                   ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
    add_request_observer(fn)       fn(RequestRecord) is called for every Zoom API request any client built
    remove_request_observer(fn)    here sends (the local runner counts requests per route and 429s)
    set_zoom_transport(t)          an httpx transport for clients built afterwards (None: the network);
                                   in-process hosts (tests, the local runner) reach the emulator through
                                   `ZoomEmulator.transport()` without a socket

An observer that raises is logged and skipped: counting must never fail a Zoom call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from spam_blocker.config import ZoomSettings
from spam_blocker.observability import logger
from spam_blocker.wiring import aws_client, cached

Observer = Callable[[Any], None]

_observers: list[Observer] = []
_observers_lock = threading.Lock()
_build_lock = threading.RLock()
_transport: Any = None


def add_request_observer(fn: Observer) -> None:
    with _observers_lock:
        if fn not in _observers:
            _observers.append(fn)


def remove_request_observer(fn: Observer) -> None:
    with _observers_lock:
        if fn in _observers:
            _observers.remove(fn)


def set_zoom_transport(transport: Any) -> None:
    global _transport
    with _build_lock:
        _transport = transport


def notify_observers(record: Any) -> None:
    with _observers_lock:
        observers = list(_observers)
    for fn in observers:
        try:
            fn(record)
        except Exception:  # an observer must never break a Zoom call
            logger.exception("Zoom request observer failed", extra={"observer": getattr(fn, "__name__", repr(fn))})


def zoom_credentials(settings: ZoomSettings):
    """ZoomCredentials from Secrets Manager (ZOOM_SECRET_ARN) or from the settings themselves."""
    from spam_blocker.adapters.secrets import ZoomCredentials

    if settings.zoom_secret_arn:
        return _secret_credentials(settings.zoom_secret_arn)
    if not (settings.zoom_account_id and settings.zoom_client_id and settings.zoom_client_secret):
        raise ValueError("no Zoom credentials: set ZOOM_SECRET_ARN or ZOOM_ACCOUNT_ID/ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET")
    return ZoomCredentials.of(settings.zoom_account_id, settings.zoom_client_id, settings.zoom_client_secret)


@cached
def _secret_credentials(secret_arn: str):
    from spam_blocker.adapters.secrets import read_zoom_credentials

    with _build_lock:
        return read_zoom_credentials(aws_client("secretsmanager"), secret_arn)


def get_zoom_client(settings: ZoomSettings):
    credentials = zoom_credentials(settings)
    with _build_lock:
        return _client(settings.zoom_api_url, settings.zoom_oauth_url, credentials.account_id,
                       credentials.client_id, credentials.client_secret, _transport, settings.zoom_call_log_api)


@cached
def _client(api_url: str, oauth_url: str, account_id: str, client_id: str, client_secret: Any, transport: Any,
            call_log_api: str = "auto"):
    from spam_blocker.zoom.client import ZoomClient

    return ZoomClient.create(api_url, oauth_url, account_id, client_id, client_secret.get_secret_value(),
                             on_request=notify_observers, transport=transport, call_log_api=call_log_api)
