"""Reading `run --events`: numbered non-empty lines, a byte-order mark, and the earliest event time."""

from datetime import UTC, datetime

from local.event_file import count_events, event_time_bounds, iter_lines


def test_lines_are_numbered_blank_ones_skipped_and_a_bom_is_not_part_of_line_one(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes("\ufeff{\"a\": 1}\r\n\r\n  \n{\"b\": 2}\n".encode())
    assert [(line.number, line.text) for line in iter_lines(path)] == [(1, '{"a": 1}'), (4, '{"b": 2}')]
    assert count_events(path) == 2  # the progress bar's total


def test_the_event_time_bounds_skip_what_cannot_be_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        '{"type": "spam_report", "phone_number": "+19075550123", "reported_at": "2021-03-02T10:00:00Z"}',
        '{not json',
        '{"type": "call_log", "call_log": {"date_time": "2021-03-01T09:00:00-05:00"}}',
        '{"type": "call_log", "call_log": {"start_time": "2021-02-28T23:00:00Z"}}',
        '{"type": "call_log", "call_log": {"date_time": "2020-01-01T00:00:00"}}',  # no zone: skipped
        '[1, 2]',
    ]) + "\n")
    assert event_time_bounds(iter_lines(path)) == (datetime(2021, 2, 28, 23, 0, tzinfo=UTC),
                                                   datetime(2021, 3, 2, 10, 0, tzinfo=UTC))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert event_time_bounds(iter_lines(empty)) == (None, None)


def test_a_line_with_a_byte_that_is_not_utf8_is_named_even_when_it_is_valid_json(tmp_path):
    """JSON text is UTF-8: a reporter id with a stray byte is no reporter (it once counted as a second one)."""
    from local.event_file import not_utf8

    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"type": "spam_report", "reporter": "ext-\xff\xfe"}\n'
                     b'{"type": "spam_report", "reporter": "ext-\xe2\x82\xac \xef\xbf\xbd"}\n')  # euro, U+FFFD: fine
    lines = list(iter_lines(path))
    assert not_utf8(lines[0].text) == "not UTF-8 text: byte 0xff at column 42"
    assert not_utf8(lines[1].text) is None


def test_a_utf16_file_is_refused_whole_with_what_to_do(tmp_path):
    """Some Windows tools save UTF-16: every line would be rejected one by one, and the run exit 0."""
    import pytest

    from local.event_file import InputFileError, check_readable

    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.jsonl"
        path.write_bytes('{"type": "spam_report"}\n'.encode(encoding))
        with pytest.raises(InputFileError, match="is UTF-16 text: save it as UTF-8"):
            check_readable(path, "events")
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"type": "spam_report"}\n')
    assert check_readable(plain, "events") == plain
