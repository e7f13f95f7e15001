"""The transfer progress board: a live line only on a terminal, one summary line per stage always."""

from __future__ import annotations

import io

from labkeep.transfer.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_board(out: io.StringIO) -> str:
    board = Progress(out=out).board("import", {"runs": 2, "metrics": None})
    board._shown = -1e9  # draw the live line on the first update, whatever the clock says
    board.add("runs")
    board.add("metrics", 1500)
    board.add("runs")
    board.close()
    return out.getvalue()


def test_terminal_gets_a_live_line_then_the_stage_summaries():
    text = _run_board(_Terminal())
    assert "\rimport: runs 1/2" in text  # the live line, redrawn in place
    live, _, summary = text.rpartition("\r\033[K")  # the live line is cleared before the summary
    assert live and "\n" not in live
    lines = summary.splitlines()
    assert [line.split()[1:3] for line in lines] == [["runs", "2/2"], ["metrics", "1,500"]]


def test_pipe_gets_only_the_stage_summaries():
    text = _run_board(io.StringIO())
    assert "\r" not in text
    assert [line.split()[1:3] for line in text.splitlines()] == [["runs", "2/2"], ["metrics", "1,500"]]


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    board = Progress(enabled=False, out=out).board("import", {"runs": 1})
    board.add("runs")
    board.close()
    assert out.getvalue() == ""
