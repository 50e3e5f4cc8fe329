"""Composition of the scorer function: ScorerSettings -> clients -> adapters -> ScoreEvents.

Built on first use and cached per container (`spam_blocker.wiring.cache_clear()` resets it); nothing
runs at import time. `get_deps` holds a lock while building, so a local host calling the handler from
several threads builds one set of clients (creating boto3 clients is not thread-safe).

`build_deps` is the uncached composition, for hosts that bring their own clients.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.config.scorer import ScorerSettings
from spam_blocker.ports import ListSource
from spam_blocker.services.score_events import ScoreEvents
from spam_blocker.wiring import aws_client, cached

_lock = threading.Lock()


@dataclass(frozen=True)
class ScorerDeps:
    settings: ScorerSettings
    scorer: ScoreEvents


@cached
def get_settings() -> ScorerSettings:
    return ScorerSettings.from_env(os.environ)


def build_deps(settings: ScorerSettings, *, dynamodb_client: Any, sqs_client: Any, clock: Clock | None = None,
               lists: ListSource | None = None) -> ScorerDeps:
    from spam_blocker.adapters.dynamo_allowlist import CachedLists, DynamoListStore
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore
    from spam_blocker.adapters.sqs_queue import DeadLetters, SqsQueue

    policy = settings.policy()
    list_store = DynamoListStore(dynamodb_client, settings.evidence_table, settings.default_region)
    scorer = ScoreEvents(
        evidence=DynamoEvidenceStore(dynamodb_client, settings.evidence_table, ttl_days=policy.retention.horizon_days),
        blocks=DynamoBlockStore(dynamodb_client, settings.blocks_table),
        block_queue=SqsQueue(sqs_client, settings.block_queue_url),
        dead_letters=DeadLetters(SqsQueue(sqs_client, settings.ingest_dlq_url), source="scorer"),
        lists=lists or CachedLists(list_store, ttl_s=settings.lists_cache_seconds),
        own_numbers=list_store if settings.learn_own_numbers else None,
        clock=clock or SystemClock(),
        policy=policy,
        options=settings.options(),
    )
    return ScorerDeps(settings=settings, scorer=scorer)


@cached
def _cached_deps() -> ScorerDeps:
    return build_deps(get_settings(), dynamodb_client=aws_client("dynamodb"), sqs_client=aws_client("sqs"))


def get_deps() -> ScorerDeps:
    with _lock:
        return _cached_deps()
