"""Composition of the reconciler function: ReconcilerSettings -> clients -> adapters (the service is the
plain function `services.reconcile.reconcile`).

`get_deps()` builds on first use under a lock and caches per container (`spam_blocker.wiring.cache_clear()`);
`build_deps(...)` is the uncached composition for hosts with their own clients, Zoom or clock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.wiring import aws_client, cached

if TYPE_CHECKING:
    from spam_blocker.config.reconciler import ReconcilerSettings
    from spam_blocker.ports import RateLimiter, ZoomPhone
    from spam_blocker.services.reconcile import ReconcileReport, ReconcileStore

_lock = threading.RLock()


@dataclass
class ReconcilerDeps:
    settings: ReconcilerSettings
    clock: Clock
    zoom: ZoomPhone
    store: ReconcileStore
    limiter: RateLimiter
    sleep: Callable[[float], None] = time.sleep

    def reconcile(self, *, dry_run: bool = False) -> ReconcileReport:
        from spam_blocker.services.reconcile import reconcile

        wait_s = self.settings.permit_max_wait_ms / 1000
        return reconcile(self.zoom, self.store, self.limiter, self.clock, dry_run=dry_run,
                         adoption=self.settings.adoption(), page_size=self.settings.page_size, max_wait_s=wait_s,
                         sleep=self.sleep if wait_s > 0 else None)


@cached
def get_settings() -> ReconcilerSettings:
    from spam_blocker.config.reconciler import ReconcilerSettings

    return ReconcilerSettings.from_env(os.environ)


def get_deps() -> ReconcilerDeps:
    with _lock:
        return _deps()


@cached
def _deps() -> ReconcilerDeps:
    from spam_blocker.wiring.zoom import get_zoom_client, zoom_credentials

    settings = get_settings()
    return build_deps(settings, dynamodb=aws_client("dynamodb"), zoom=get_zoom_client(settings),
                      account=zoom_credentials(settings).account_id)


def build_deps(settings: ReconcilerSettings, *, dynamodb: Any, zoom: ZoomPhone, account: str,
               clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep,
               store: ReconcileStore | None = None, limiter: RateLimiter | None = None) -> ReconcilerDeps:
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.wiring.limiter import shared_limiter

    return ReconcilerDeps(settings=settings, clock=clock or SystemClock(), zoom=zoom,
                          store=store or DynamoBlockStore(dynamodb, settings.blocks_table),
                          limiter=limiter or shared_limiter(dynamodb, settings, account), sleep=sleep)
