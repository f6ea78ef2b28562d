"""One line of progress rewritten in place on a terminal, and nothing anywhere else.

Shared by the training progress line (`kerasopt.callbacks.ProgressLine`) and the
search's status line (`kerasopt.tuning.report.StatusLine`), so that logs and
redirected output stay clean.
"""

from __future__ import annotations

import sys
from typing import TextIO


def clock(seconds: float) -> str:
    """Formats a duration as `m:ss`, or `h:mm:ss` from one hour on."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TerminalLine:
    """A line rewritten in place (`\\r`) on `stream` when it is a terminal.

    Args:
        stream: Where to write; `None` is `sys.stderr` at the time of writing.
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.width = 0

    def out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    @property
    def active(self) -> bool:
        """Whether the stream is a terminal."""
        isatty = getattr(self.out(), "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def show(self, text: str) -> None:
        """Writes `text` over the current line (on a terminal)."""
        if not self.active:
            return
        out = self.out()
        out.write("\r" + text.ljust(self.width))
        out.flush()
        self.width = len(text)

    def end(self) -> None:
        """Ends the current line, so that it stays on screen (on a terminal)."""
        if self.width and self.active:
            self.out().write("\n")
            self.out().flush()
        self.width = 0

    def clear(self) -> None:
        """Blanks the current line, so that other output starts on a clean line."""
        if self.width and self.active:
            out = self.out()
            out.write("\r" + " " * self.width + "\r")
            out.flush()
        self.width = 0
