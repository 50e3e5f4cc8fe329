"""Reading Zoom's whole blocked list, one Medium permit per page request.

    for entry in listed_entries(zoom, permits, clock, page_size=100): ...
        raises ListingStopped(grant)   no permit for the next page (the caller defers or gives up)
        raises ZoomRateLimited         a 429 not waited out

A Zoom may send pages shorter than `page_size` (the docs give 100 only as a maximum), so permits are taken
per request, never per `page_size` entries. With `sleep`, a 429 is waited out (at most `max_429_waits`
times, each at most `max_429_wait_s`) and the same page is asked again with its `next_page_token`, which
Zoom keeps for 15 minutes: a long listing is resumed, not started again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from spam_blocker.clock import Clock
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.ports import ZoomPhone
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.errors import ZoomRateLimited
from spam_blocker.zoom.models import BlockedEntry

LIST_CATEGORY = "Medium"
TOKEN_LIFE = timedelta(minutes=14)  # Zoom's next_page_token lasts 15 minutes


class ListingStopped(Exception):
    def __init__(self, grant: RateGrant) -> None:
        super().__init__(f"no {LIST_CATEGORY} permit ({grant.reason})")
        self.grant = grant


def listed_entries(zoom: ZoomPhone, permits: Permits, clock: Clock, *, page_size: int = 100,
                   sleep: Callable[[float], None] | None = None, max_429_waits: int = 0,
                   max_429_wait_s: float = 30.0) -> Iterator[BlockedEntry]:
    token: str | None = None
    token_at = clock.now()
    waits = 0
    while True:
        grant = permits.take(LIST_CATEGORY)
        if not grant.granted:
            raise ListingStopped(grant)
        try:
            page = zoom.list_blocked_page(page_size, token)
        except ZoomRateLimited as exc:
            permits.penalize(exc.category, exc.retry_at, exc.limit_type)
            now = clock.now()
            wait = max(0.0, (exc.retry_at - now).total_seconds())
            if (sleep is None or exc.is_daily or waits >= max_429_waits or wait > max_429_wait_s
                    or (token is not None and now + timedelta(seconds=wait) > token_at + TOKEN_LIFE)):
                raise
            sleep(wait)
            waits += 1
            continue
        yield from page.blocked_list
        token = page.next_page_token or None
        if token is None:
            return
        token_at = clock.now()
