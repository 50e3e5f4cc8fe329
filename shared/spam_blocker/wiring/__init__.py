"""Composition root: Settings -> clients -> adapters -> services, built lazily and cached per container.

Nothing here runs at import time. Tests start moto first, set env with monkeypatch, then call
`cache_clear()`. Each function's `get_deps()` lives in `wiring/<function>.py`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_caches: list[Any] = []


def cached(fn):
    """lru_cache registered for cache_clear(): one instance per Lambda container."""
    wrapped = lru_cache(maxsize=None)(fn)
    _caches.append(wrapped)
    return wrapped


def cache_clear() -> None:
    for cache in _caches:
        cache.cache_clear()


@cached
def aws_client(service: str, region: str | None = None, endpoint_url: str | None = None):
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)


@cached
def aws_resource(service: str, region: str | None = None, endpoint_url: str | None = None):
    import boto3

    return boto3.resource(service, region_name=region, endpoint_url=endpoint_url)
