"""The Zoom entry comment our blocks carry (domain.block_state.tag_comment)."""


def test_a_long_reason_is_cut_for_zoom_s_comment_on_a_word_never_inside_a_number():
    from spam_blocker.domain.block_state import COMMENT_MAX, ZOOM_TAG, tag_comment

    reason = ("block range 1206587 (10,000 numbers) as 39 prefixes around 44 protected numbers: 6 suspicious "
              "numbers (weight 4.5) over 6 sub-ranges, reported by 2 people, 15 employees called; left open around "
              "them, as 1206587 would cover own number +12065871000 (own.txt:42)")
    comment = tag_comment(reason)
    assert len(comment) <= COMMENT_MAX and comment.startswith(ZOOM_TAG) and comment.endswith("…")
    assert comment[:-1] == f"{ZOOM_TAG} {reason}"[: len(comment) - 1]  # a prefix of the reason
    assert reason[len(comment) - len(ZOOM_TAG) - 2] == " "  # ... ending where a word ended
    assert tag_comment("short reason") == f"{ZOOM_TAG} short reason"
