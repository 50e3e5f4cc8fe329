"""When an unsettled message comes back (pure: no SQS here; the handler applies the plan).

SQS facts that shape this: a visibility timeout is whole seconds, at most 12 h; DelaySeconds at most
15 min; every receive counts toward the queue's maxReceiveCount, after which the redrive policy moves
the message to the DLQ.

- Deferred (LIMITED, IN_PROGRESS): nothing is wrong, we are waiting for a permit or another instance.
  Visibility = time until `retry_at` + jitter. The jitter's spread doubles with each receive (capped), so
  a backlog waiting on one window does not return as one herd. Waiting must not end in the DLQ: once the
  receive count reaches `resend_after_receives`, a fresh copy is sent with DelaySeconds and the original
  acked (the copy starts again at receive 1). A wait beyond 12 h (a daily limit hit early in the GMT day)
  first uses 12 h of visibility, then the same rule.
- Retried (RETRY): something failed. Capped exponential backoff with jitter by receive count (or Zoom's
  Retry-After when later), never re-sent: maxReceiveCount bounds the attempts and the DLQ keeps the rest.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

MAX_VISIBILITY_S = 43_200
MAX_DELAY_S = 900


@dataclass(frozen=True)
class DeferralPolicy:
    spread_base_s: float = 1.0
    spread_max_s: float = 30.0
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0
    resend_after_receives: int = 4


@dataclass(frozen=True)
class Deferral:
    seconds: int  # visibility timeout of this message, or the fresh copy's DelaySeconds
    resend: bool = False


def plan_deferral(*, retry_at: datetime | None, now: datetime, receive_count: int, transient: bool,
                  policy: DeferralPolicy, rng: random.Random) -> Deferral:
    receives = max(1, receive_count)
    wait = max(0.0, (retry_at - now).total_seconds()) if retry_at is not None else 0.0
    if transient:
        backoff = min(policy.retry_base_s * 2 ** (receives - 1), policy.retry_max_s)
        seconds = max(wait, backoff / 2 + rng.random() * backoff / 2)
        return Deferral(min(MAX_VISIBILITY_S, max(1, math.ceil(seconds))))
    spread = min(policy.spread_base_s * 2 ** (receives - 1), policy.spread_max_s)
    seconds = max(1, math.ceil(wait + rng.random() * spread))
    if receives >= policy.resend_after_receives:
        return Deferral(min(seconds, MAX_DELAY_S), resend=True)
    return Deferral(min(seconds, MAX_VISIBILITY_S))
