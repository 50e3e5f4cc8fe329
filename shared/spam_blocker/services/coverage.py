"""Which blocks would make a block redundant: every prefix block of the same block_type that covers it.

A number is covered by its prefixes from country code + area code up (`phone.prefixes_of`); a prefix by
its shorter prefixes. An active (or external) block on any of these keys already blocks the target.
"""

from __future__ import annotations

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.phone import InvalidNumber, digits, prefixes_of

PREFIX = "prefix"


def covering_keys(key: BlockKey) -> list[BlockKey]:
    if key.match_type == PREFIX:
        shorter = [key.phone_number[:n] for n in range(1, len(key.phone_number))]
    else:
        try:
            shorter = prefixes_of(key.phone_number)
        except InvalidNumber:  # not a number phonenumbers knows: every digit prefix, to be safe
            number = digits(key.phone_number)
            shorter = [number[:n] for n in range(1, len(number))]
    return [BlockKey(PREFIX, p, key.block_type) for p in shorter]


def key_and_covering(key: BlockKey) -> list[BlockKey]:
    """The keys a look at `key`'s block reads: its own, then every prefix over it."""
    return [key, *covering_keys(key)]
