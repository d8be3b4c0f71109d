"""Progress reporting that both front ends understand.

The core calls ``progress.status(text)`` for a phase ("Validating…") and
``progress.step(done, total, text)`` inside long loops. The CLI shows a tqdm bar on
stderr; the Excel add-in writes the text to Excel's status bar; tests pass nothing.
"""

from __future__ import annotations

import sys


class Progress:
    """Does nothing; subclass to show progress somewhere."""

    def status(self, text: str) -> None:
        pass

    def step(self, done: int, total: int, text: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class ConsoleProgress(Progress):
    """Status lines and a progress bar on stderr (quiet when stderr is not a terminal)."""

    def __init__(self, stream=None, bars: bool | None = None):
        self.stream = stream or sys.stderr
        self.bars = self.stream.isatty() if bars is None else bars
        self._bar = None
        self._label = ""

    def status(self, text: str) -> None:
        self._close_bar()
        print(text, file=self.stream, flush=True)

    def step(self, done: int, total: int, text: str = "") -> None:
        if not self.bars:
            if done == total:
                print(f"{text or 'done'}: {done}/{total}", file=self.stream, flush=True)
            return
        from tqdm import tqdm

        if self._bar is None or self._bar.total != total or self._label != text:
            self._close_bar()
            self._bar = tqdm(total=total, desc=text, file=self.stream, leave=True,
                             dynamic_ncols=True)
            self._label = text
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._close_bar()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._close_bar()


NULL = Progress()
