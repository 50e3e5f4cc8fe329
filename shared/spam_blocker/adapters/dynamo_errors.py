"""The one place DynamoDB and botocore errors become the stores' errors, for every DynamoDB adapter.

    ConditionalCheckFailedException          -> ports.StoreConflict   (someone moved the item: re-read)
    throttling, 5xx, connection failures     -> ports.StoreUnavailable (retry later)
    anything else (validation, missing table) -> re-raised unchanged   (a bug or a broken deploy)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from spam_blocker.ports import StoreConflict, StoreUnavailable

TRANSIENT = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "ThrottledRequests", "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
    "TransactionConflictException",
})


def translate_error(exc: ClientError | BotoCoreError, what: str = "DynamoDB", *,
                    on_conflict: Callable[[ClientError], StoreConflict] | None = None) -> Exception:
    """The store error for `exc`, or `exc` itself when it is not one (the caller re-raises it)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            return on_conflict(exc) if on_conflict else StoreConflict(f"{what}: the item changed meanwhile")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in TRANSIENT or status >= 500:
            return StoreUnavailable(f"{what}: {code or status}")
        return exc
    return StoreUnavailable(f"{what}: DynamoDB unreachable: {exc}")


@contextmanager
def translated(what: str, *, on_conflict: Callable[[ClientError], StoreConflict] | None = None) -> Iterator[None]:
    """`with translated("PutItem blocks#..."):` around one DynamoDB call."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        error = translate_error(exc, what, on_conflict=on_conflict)
        if error is exc:
            raise
        raise error from (None if isinstance(error, StoreConflict) else exc)
