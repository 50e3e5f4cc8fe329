"""Composition of the blocker: BlockerSettings -> clients -> adapters -> services, per container.

`get_deps()` builds everything on first use under a lock (the local runner calls the handler from several
threads of one process; boto3 client creation is not thread-safe) and caches it
(`spam_blocker.wiring.cache_clear()` resets it). `build_deps(...)` is the uncached composition for hosts
that bring their own clients or Zoom (the local runner, the benchmark).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.wiring import aws_client, cached

if TYPE_CHECKING:  # imported where used: the handler module stays cheap to import (cold start)
    from spam_blocker.config.blocker import BlockerSettings
    from spam_blocker.ports import BlockStateStore, RateLimiter, ZoomPhone
    from spam_blocker.services.blocker_batch import BlockerBatch, MessageQueue, Rejects
    from spam_blocker.services.deferral import DeferralPolicy
    from spam_blocker.services.execute_block import ExecuteBlock
    from spam_blocker.services.permits import Permits
    from spam_blocker.services.range_guard import RangeGuard

_lock = threading.RLock()


@dataclass
class BlockerDeps:
    settings: BlockerSettings
    clock: Clock
    store: BlockStateStore
    limiter: RateLimiter
    zoom: ZoomPhone
    executor: ExecuteBlock
    queue: MessageQueue
    dead_letters: Rejects
    deferral: DeferralPolicy
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def permits(self) -> Permits:
        from spam_blocker.services.permits import Permits

        wait_s = self.settings.pacing_max_wait_ms / 1000
        return Permits(self.limiter, self.clock, max_wait_s=wait_s, sleep=self.sleep if wait_s > 0 else None)

    def batch(self, request_id: str) -> BlockerBatch:
        """The state of one invocation (its permits): never shared between invocations or threads."""
        from spam_blocker.services.blocker_batch import BlockerBatch

        return BlockerBatch(executor=self.executor, permits=self.permits(), queue=self.queue,
                            dead_letters=self.dead_letters, clock=self.clock, deferral=self.deferral,
                            rng=self.rng, request_id=request_id)


@cached
def get_settings() -> BlockerSettings:
    from spam_blocker.config.blocker import BlockerSettings

    return BlockerSettings.from_env(os.environ)


def get_deps() -> BlockerDeps:
    with _lock:
        return _deps()


@cached
def _deps() -> BlockerDeps:
    from spam_blocker.wiring.zoom import get_zoom_client, zoom_credentials

    settings = get_settings()
    account = zoom_credentials(settings).account_id
    deps = build_deps(settings, dynamodb=aws_client("dynamodb"), sqs=aws_client("sqs"),
                      zoom=get_zoom_client(settings), account=account)
    warm_up(deps)
    return deps


def warm_up(deps: BlockerDeps) -> None:
    """Fetch the Zoom token at container start, not inside the first rate-limited request: a request
    that waits for an OAuth round trip after its permit reaches Zoom late, and late requests bunch up
    in Zoom's window beyond the limiter's margin. A failure here is logged; the first call reports it."""
    from spam_blocker.observability import logger
    from spam_blocker.zoom.errors import ZoomError

    try:
        deps.zoom.check_credentials()
    except ZoomError as exc:
        logger.warning("Zoom token not fetched at start", extra={"error": type(exc).__name__, "detail": exc.message})


def build_deps(settings: BlockerSettings, *, dynamodb: Any, sqs: Any, zoom: ZoomPhone, account: str,
               clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep,
               rng: random.Random | None = None, store: BlockStateStore | None = None,
               limiter: RateLimiter | None = None, queue: MessageQueue | None = None,
               dead_letters: Rejects | None = None, guard: RangeGuard | None = None) -> BlockerDeps:
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.dynamo_rate_limiter import DynamoRateLimiter
    from spam_blocker.adapters.sqs_queue import DeadLetters, SqsQueue
    from spam_blocker.domain.rate_plan import plan_limits
    from spam_blocker.domain.rate_window import limits_for_plan
    from spam_blocker.services.blocked_list_index import BlockedListIndex
    from spam_blocker.services.deferral import DeferralPolicy
    from spam_blocker.services.execute_block import BlockerPolicy, ExecuteBlock
    from spam_blocker.services.remove_block import BlockRemover

    clock = clock if clock is not None else SystemClock()
    if store is None:
        store = DynamoBlockStore(dynamodb, settings.blocks_table)
    limits = limits_for_plan(plan_limits(settings.zoom_plan), margin_s=settings.rate_limit_margin_s,
                             reserve_fraction=settings.rate_limit_reserve,
                             boost_max_s=settings.rate_limit_boost_max_s)
    if limiter is None:
        limiter = DynamoRateLimiter(dynamodb, settings.rate_limit_table, account=account, limits=limits, clock=clock)
    policy = BlockerPolicy(stale_after=timedelta(seconds=settings.pending_stale_after_s),
                           max_attempts=settings.max_attempts, retire_covered_numbers=settings.retire_covered_numbers,
                           dry_run=settings.dry_run)
    index = BlockedListIndex(zoom, clock, settle_s=settings.lookup_settle_s)
    executor = ExecuteBlock(store=store, zoom=zoom, clock=clock, index=index,
                            remover=BlockRemover(store, zoom, clock), policy=policy,
                            guard=guard if guard is not None else _range_guard(settings, dynamodb))
    return BlockerDeps(
        settings=settings, clock=clock, store=store, limiter=limiter, zoom=zoom, executor=executor,
        queue=queue if queue is not None else SqsQueue(sqs, settings.block_queue_url),
        dead_letters=(dead_letters if dead_letters is not None
                      else DeadLetters(SqsQueue(sqs, settings.block_dlq_url), source="blocker")),
        deferral=DeferralPolicy(resend_after_receives=settings.resend_after_receives),
        sleep=sleep, rng=rng if rng is not None else random.Random(),
    )


def _range_guard(settings: BlockerSettings, dynamodb: Any) -> RangeGuard | None:
    if not settings.evidence_table:
        return None
    from spam_blocker.adapters.dynamo_allowlist import CachedLists, DynamoListStore
    from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore
    from spam_blocker.services.range_guard import RangeGuard

    return RangeGuard(DynamoEvidenceStore(dynamodb, settings.evidence_table),
                      CachedLists(DynamoListStore(dynamodb, settings.evidence_table, settings.default_region)),
                      settings.policy())
