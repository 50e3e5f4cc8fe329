"""Composition of the backfill function: BackfillSettings -> clients -> adapters -> Backfill.

`get_deps()` builds on first use under a lock and caches per container (`spam_blocker.wiring.cache_clear()`);
`build_deps(...)` is the uncached composition for hosts with their own clients, Zoom, clock or sleep.
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
    from spam_blocker.config.backfill import BackfillSettings
    from spam_blocker.ports import RateLimiter, ZoomPhone
    from spam_blocker.services.backfill import Backfill

_lock = threading.RLock()


@dataclass
class BackfillDeps:
    settings: BackfillSettings
    clock: Clock
    backfill: Backfill


@cached
def get_settings() -> BackfillSettings:
    from spam_blocker.config.backfill import BackfillSettings

    return BackfillSettings.from_env(os.environ)


def get_deps() -> BackfillDeps:
    with _lock:
        return _deps()


@cached
def _deps() -> BackfillDeps:
    from spam_blocker.wiring.zoom import get_zoom_client, zoom_credentials

    settings = get_settings()
    return build_deps(settings, dynamodb=aws_client("dynamodb"), sqs=aws_client("sqs"),
                      zoom=get_zoom_client(settings), account=zoom_credentials(settings).account_id)


def build_deps(settings: BackfillSettings, *, dynamodb: Any, sqs: Any, zoom: ZoomPhone, account: str,
               clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep,
               limiter: RateLimiter | None = None) -> BackfillDeps:
    from spam_blocker.adapters.dynamo_checkpoints import DynamoCheckpointStore
    from spam_blocker.adapters.sqs_queue import SqsQueue
    from spam_blocker.services.backfill import Backfill
    from spam_blocker.wiring.limiter import shared_limiter

    clock = clock or SystemClock()
    service = Backfill(zoom=zoom, queue=SqsQueue(sqs, settings.ingest_queue_url),
                       checkpoints=DynamoCheckpointStore(dynamodb, settings.checkpoints_table),
                       limiter=limiter or shared_limiter(dynamodb, settings, account), clock=clock, sleep=sleep,
                       options=settings.options())
    return BackfillDeps(settings=settings, clock=clock, backfill=service)
