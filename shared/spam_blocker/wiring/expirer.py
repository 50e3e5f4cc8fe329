"""Composition of the expirer function: ExpirerSettings -> clients -> adapters -> ExpireBlocks (and the ops
actions it also serves: Unblock, Explainer).

`get_deps()` builds everything on first use under a lock and caches it per container
(`spam_blocker.wiring.cache_clear()` resets it); nothing runs at import time. `build_deps(...)` is the
uncached composition for hosts that bring their own clients, Zoom, clock or limiter (the local runner, tests).
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

if TYPE_CHECKING:  # imported where used: the handler module stays cheap to import (cold start)
    from spam_blocker.config.expirer import ExpirerSettings
    from spam_blocker.ports import BlockStateStore, EvidenceStore, ListSource, RateLimiter, ZoomPhone
    from spam_blocker.services.expire_blocks import ExpireBlocks
    from spam_blocker.services.explain import Explainer
    from spam_blocker.services.unblock import Unblock

_lock = threading.RLock()


@dataclass
class ExpirerDeps:
    settings: ExpirerSettings
    clock: Clock
    expirer: ExpireBlocks
    unblock: Unblock
    explainer: Explainer


@cached
def get_settings() -> ExpirerSettings:
    from spam_blocker.config.expirer import ExpirerSettings

    return ExpirerSettings.from_env(os.environ)


def get_deps() -> ExpirerDeps:
    with _lock:
        return _deps()


@cached
def _deps() -> ExpirerDeps:
    from spam_blocker.wiring.zoom import get_zoom_client, zoom_credentials

    settings = get_settings()
    return build_deps(settings, dynamodb=aws_client("dynamodb"), zoom=get_zoom_client(settings),
                      account=zoom_credentials(settings).account_id)


def build_deps(settings: ExpirerSettings, *, dynamodb: Any, zoom: ZoomPhone, account: str, clock: Clock | None = None,
               sleep: Callable[[float], None] = time.sleep, store: BlockStateStore | None = None,
               limiter: RateLimiter | None = None, evidence: EvidenceStore | None = None,
               lists: ListSource | None = None) -> ExpirerDeps:
    from spam_blocker.adapters.dynamo_allowlist import CachedLists, DynamoListStore
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore
    from spam_blocker.services.blocked_list_index import BlockedListIndex
    from spam_blocker.services.execute_block import ExecuteBlock
    from spam_blocker.services.expire_blocks import ExpireBlocks
    from spam_blocker.services.explain import Explainer
    from spam_blocker.services.remove_block import BlockRemover
    from spam_blocker.services.unblock import Unblock
    from spam_blocker.wiring.limiter import shared_limiter

    clock = clock or SystemClock()
    store = store or DynamoBlockStore(dynamodb, settings.blocks_table)
    limiter = limiter or shared_limiter(dynamodb, settings, account)
    evidence = evidence or DynamoEvidenceStore(dynamodb, settings.evidence_table)
    lists = lists or CachedLists(DynamoListStore(dynamodb, settings.evidence_table, settings.default_region))
    remover = BlockRemover(store, zoom, clock, deactivate=settings.expiry_action == "deactivate")
    wait_s = settings.permit_max_wait_ms / 1000
    pacing = sleep if wait_s > 0 else None
    expirer = ExpireBlocks(store=store, evidence=evidence, lists=lists, remover=remover, limiter=limiter, clock=clock,
                           sleep=pacing, policy=settings.renewal(), max_per_run=settings.max_per_run,
                           max_wait_s=wait_s)
    executor = ExecuteBlock(store=store, zoom=zoom, clock=clock, index=BlockedListIndex(zoom, clock), remover=remover)
    unblock = Unblock(store=store, executor=executor, evidence=evidence, limiter=limiter, clock=clock,
                      cooldown=settings.unblock_cooldown, sleep=pacing, max_wait_s=wait_s,
                      region=settings.default_region)
    explainer = Explainer(blocks=store, evidence=evidence, lists=lists, zoom=zoom, limiter=limiter, clock=clock,
                          policy=settings.policy(), region=settings.default_region, sleep=pacing, max_wait_s=wait_s)
    return ExpirerDeps(settings=settings, clock=clock, expirer=expirer, unblock=unblock, explainer=explainer)
