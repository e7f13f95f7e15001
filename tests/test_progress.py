"""Progress bars: drawn by tqdm on a terminal, nothing at all on pipes and files."""

from __future__ import annotations

import io
import subprocess
import sys

from labkeep.utils.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal_counts_bytes():
    out = _Terminal()
    bar = progress_bar("Uploading w.bin", 3 * 1024 * 1024, out=out)
    for _ in range(3):
        bar.update(1024 * 1024)
    bar.close()
    text = out.getvalue()
    assert "Uploading w.bin" in text and "100%" in text and "3.00M/3.00M" in text


def test_items_are_counted_without_byte_units():
    out = _Terminal()
    bar = progress_bar("runs", 10, unit="run", out=out)
    bar.update(10)
    bar.close()
    assert "10/10" in out.getvalue() and "run" in out.getvalue()


def test_silent_off_a_terminal_or_when_disabled():
    piped = io.StringIO()
    for bar in (progress_bar("x", 10, out=piped), progress_bar("x", 10, enabled=False, out=_Terminal())):
        bar.update(5)
        bar.reset(10)
        bar.set_postfix_str("5 rows")
        bar.close()
    assert piped.getvalue() == ""


def test_tqdm_is_not_imported_unless_a_bar_is_drawn():
    code = (
        "import io, sys; from labkeep.utils.progress import progress_bar; "
        "progress_bar('x', 1, out=io.StringIO()).update(1); print('tqdm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
