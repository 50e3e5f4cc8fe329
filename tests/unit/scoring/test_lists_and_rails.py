"""The allowlist / own-numbers file format (DESIGN.md contract), the lists cache, and the safety rails."""

from __future__ import annotations

import pytest
from spam_blocker.adapters.dynamo_allowlist import CachedLists
from spam_blocker.domain.allowlist import (
    ListEntry,
    ListFileError,
    ProtectedLists,
    load_list_file,
    parse_entry,
    parse_list,
)
from spam_blocker.domain.evidence import NumberEvidence, merge, summarise
from spam_blocker.domain.safety import protected_within, refuse_number, refuse_prefix
from spam_blocker.domain.scoring import DEFAULT_POLICY

from tests.unit.scoring.evidence_builders import at, conversation, not_spam

LIST_FILE = """\
# allowlist of the Anchorage office
+19072120000          # main line of our bank
(907) 212-0001
19072120002
907.212.0003
+1907212*             # the bank's whole pool
+1 (800) 555*
907 213*

"""


def test_a_list_file_parses_numbers_prefixes_comments_and_blank_lines():
    entries = parse_list(LIST_FILE, source="allow.txt")
    assert [e.key for e in entries] == ["+19072120000", "+19072120001", "+19072120002", "+19072120003",
                                        "1907212*", "1800555*", "1907213*"]
    assert entries[0].source == "allow.txt:2" and entries[0].note == "main line of our bank"
    assert entries[4].is_prefix and entries[4].describe() == "+1907212* (allow.txt:6)"


@pytest.mark.parametrize("line, region, key", [
    ("020 7123*", "GB", "44207123*"),
    ("+44 20 7123 4567", "GB", "+442071234567"),
    ("1907*", "US", "1907*"),
])
def test_entries_in_national_forms_use_the_default_region(line, region, key):
    assert parse_entry(line, region).key == key


@pytest.mark.parametrize("text, line, reason", [
    ("+19072120000\nnot a number\n", 2, "cannot parse"),
    ("# ok\n\n911\n", 3, "emergency or short code"),
    ("+1907abc*\n", 1, "must be digits"),
    ("+1907*x\n", 1, "must come last"),
    ("+999*\n", 1, "country code"),
])
def test_a_bad_line_names_the_file_and_the_line(text, line, reason):
    with pytest.raises(ListFileError) as info:
        parse_list(text, source="own.txt")
    assert info.value.line == line and info.value.source == "own.txt"
    assert str(info.value).startswith(f"own.txt:{line}: ") and reason in info.value.reason


def test_load_list_file_reads_a_file(tmp_path):
    path = tmp_path / "own-numbers.txt"
    path.write_text("+19075550100\n+1907555011*\n")
    entries = load_list_file(path)
    assert [e.key for e in entries] == ["+19075550100", "1907555011*"]
    assert entries[1].source == "own-numbers.txt:2"
    with pytest.raises(OSError):
        load_list_file(tmp_path / "missing.txt")


def test_a_list_file_may_start_with_a_byte_order_mark_and_use_crlf(tmp_path):
    path = tmp_path / "own.txt"
    path.write_bytes("\ufeff# own numbers\r\n+1 (907) 555-0100\r\n".encode())
    assert [e.key for e in load_list_file(path)] == ["+19075550100"]


def test_a_list_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_bytes(b"+19075550100\n# caf\xe9 vendor\n+19075550101\n")
    with pytest.raises(ListFileError) as info:
        load_list_file(path)
    assert str(info.value).startswith("allow.txt:2: not UTF-8")


def test_protected_lists_answer_covering_and_overlap_questions():
    lists = ProtectedLists.of(allow=parse_list("+1907212*\n+13055550142\n"), own=parse_list("+19075550100\n"))
    assert lists.allow_entry_for("+19072129999").key == "1907212*"
    assert lists.allow_entry_for("+13055550142") and not lists.allow_entry_for("+13055550143")
    assert lists.own_entry_for("+19075550100") and len(lists) == 3
    assert lists.entry_inside("1907555")[0] == "own"
    assert lists.entry_inside("19072125")[0] == "allow"  # inside an allowlisted prefix
    assert lists.entry_inside("190721")[0] == "allow"  # would cover an allowlisted prefix
    assert lists.entry_inside("1907556") is None
    assert lists.current() is lists


class CountingSource:
    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def current(self) -> ProtectedLists:
        self.reads += 1
        if self.fail:
            raise RuntimeError("DynamoDB down")
        return ProtectedLists.of(allow=[ListEntry("+19072120000")])


def test_cached_lists_read_once_per_ttl_and_keep_the_last_good_lists_on_failure():
    source, clock = CountingSource(), [0.0]
    cached = CachedLists(source, ttl_s=60, monotonic=lambda: clock[0])
    first = cached.current()
    clock[0] = 59
    assert cached.current() is first and source.reads == 1
    clock[0] = 61
    source.fail = True
    assert cached.current() is first and source.reads == 2
    cached.invalidate()
    with pytest.raises(RuntimeError):
        cached.current()


# -- rails ----------------------------------------------------------------------------------------------------

def signals(*contributions, number="+19075556000"):
    return summarise(merge(NumberEvidence(number), contributions), at(10), DEFAULT_POLICY)


@pytest.mark.parametrize("prefix, number, rule", [
    ("190", "+19075550123", "too_short"),
    ("1", "+19075550123", "too_short"),
    ("4420", "+442071234567", None),
    ("442", "+442071234567", "too_short"),
    ("1800555", "+18005550199", "toll_free"),
    ("1907555", "+19075550123", "covers_own"),
    ("19075550", "+19075550123", "covers_own"),
    ("19075559", "+19075559123", None),
    ("1907212", "+19072120123", "covers_allowlisted"),
    ("190755560", "+19075556012", "covers_legitimate"),
])
def test_prefix_rails(prefix, number, rule):
    lists = ProtectedLists.of(allow=parse_list("+19072120000\n"), own=parse_list("+19075550100\n"))
    view = {"+19075556000": signals(conversation("+19075556000", at(1)))}
    refusal = refuse_prefix(prefix, number, lists, view, at(10), DEFAULT_POLICY)
    assert (refusal.rule if refusal else None) == rule


def test_number_rails_and_their_order():
    lists = ProtectedLists.of(allow=parse_list("+1907212*\n"), own=parse_list("+19072120100\n"))
    assert refuse_number("911", lists, None, at(), DEFAULT_POLICY).rule == "emergency"
    assert refuse_number("+19072120100", lists, None, at(), DEFAULT_POLICY).rule == "own_number"
    assert refuse_number("+19072120101", lists, None, at(), DEFAULT_POLICY).rule == "allowlisted"
    said = signals(not_spam("+19075556000", at(), "ext-1"))
    cooling = refuse_number("+19075556000", ProtectedLists(), said, at(10), DEFAULT_POLICY)
    assert cooling.rule == "not_spam_cooldown" and "cool-down until 2026-12-20T14:00:00Z" in cooling.detail
    assert refuse_number("+19075556000", ProtectedLists(), said, at(days=31), DEFAULT_POLICY) is None


def test_protected_within_lists_what_a_range_must_leave_out():
    lists = ProtectedLists.of(allow=parse_list("+19075551*\n"), own=parse_list("+19075550100\n+19065550100\n"))
    view = {"+19075556000": signals(conversation("+19075556000", at(1))),
            "+19075557000": signals(number="+19075557000")}
    assert protected_within("1907555", lists, view, at(10), DEFAULT_POLICY) == ["19075550100", "19075551", "19075556000"]
