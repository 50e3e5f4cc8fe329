"""`spam-blocker demo` end to end (what `make demo` runs), in-process."""

from __future__ import annotations

import re

from local.cli import main


def test_the_demo_blocks_explains_and_respects_the_portal_entry(tmp_path, capsys):
    code = main(["demo", "--keep", str(tmp_path)])
    out = capsys.readouterr().out

    assert code == 0
    assert (tmp_path / "events.jsonl").stat().st_size > 0 and (tmp_path / "own-numbers.txt").exists()
    manual = re.search(r"a person had already blocked (\+\d+) in the Zoom portal", out).group(1)
    held = int(re.search(r"Zoom's blocked list now holds (\d+) entries", out).group(1))
    assert held > 10 and "why: block range" in out and "why: block " in out
    assert "ended: unblocked: " in out  # a range lifted by a legitimate caller inside it
    assert "earlier: lifted at " in out  # and one lifted, then made again on later evidence
    assert f"{manual}, blocked by hand before the run, has 1 entry: the person's own" in out
    assert f"run --events {tmp_path / 'events.jsonl'}" in out


def test_the_demo_says_so_when_it_cannot_write_its_files(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    assert main(["demo", "--keep", str(blocker / "inside")]) == 2
    assert "cannot write the scenario's files" in capsys.readouterr().err
