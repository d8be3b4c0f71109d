"""Progress reporting that both front ends understand.

The core calls ``progress.status(text)`` for a phase ("Validating…"),
``progress.step(done, total, text)`` inside long loops, and
``progress.update(phase=..., elapsed=..., limit=..., cost=..., bound=..., gap=...)``
with the numbers of a running solve (one :class:`ProgressEvent`). The CLI shows a tqdm
bar on stderr with cost, bound and gap; the Excel add-in writes the text to Excel's
status bar and the numbers to its progress window; tests pass nothing.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ProgressEvent:
    """Where a solve stands. Costs and bounds are in the model's objective units."""

    phase: str = ""
    elapsed: float | None = None  # seconds since this stage (or the whole solve) began
    limit: float | None = None  # its time limit in seconds
    cost: float | None = None  # best plan's cost so far (None: no plan yet)
    bound: float | None = None  # best proven lower bound on the cost
    gap: float | None = None  # relative gap (highs.relative_gap)
    done: int | None = None  # pieces finished (components, groups, scenarios)
    total: int | None = None  # pieces in all
    gaps: list[float | None] = field(default_factory=list)  # finished scenarios' gaps

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def text(self) -> str:
        """One line for a status bar: "Solving · 12/60 s · cost 1,234 · bound 1,200 · gap 2.8%"."""
        parts = [self.phase] if self.phase else []
        if self.total:
            parts.append(f"{self.done or 0} of {self.total} done")
        if self.elapsed is not None:
            parts.append(f"{self.elapsed:.0f}" + (f"/{self.limit:.0f} s" if self.limit else " s"))
        if self.cost is not None:
            parts.append(f"cost {self.cost:,.0f}")
        if self.bound is not None:
            parts.append(f"bound {self.bound:,.0f}")
        if self.gap is not None:
            parts.append(f"gap {self.gap:.2%}")
        if self.gaps:
            parts.append("gaps " + ", ".join("-" if g is None else f"{g:.1%}" for g in self.gaps))
        return " · ".join(parts)


def _finite(v) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def merge_sum(events: list[ProgressEvent], total: int, done: int,
              phase: str = "") -> ProgressEvent:
    """Independent components (MPS) or groups (DA): costs and bounds add up.

    The sum is only shown when every piece has reported one (a partial sum would look
    like a better plan than there is).
    """
    from .highs import relative_gap

    costs = [e.cost for e in events]
    bounds = [e.bound for e in events]
    cost = sum(costs) if len(events) == total and None not in costs else None
    bound = sum(bounds) if len(events) == total and None not in bounds else None
    elapsed = max((e.elapsed for e in events if e.elapsed is not None), default=None)
    limit = max((e.limit for e in events if e.limit is not None), default=None)
    return ProgressEvent(phase=phase, elapsed=elapsed, limit=limit, cost=cost, bound=bound,
                         gap=relative_gap(cost, bound), done=done, total=total)


def merge_scenarios(events: list[ProgressEvent], total: int, done: int,
                    phase: str = "") -> ProgressEvent:
    """Scenarios: "k of n done" and the gaps reached by each one that reported."""
    elapsed = max((e.elapsed for e in events if e.elapsed is not None), default=None)
    return ProgressEvent(phase=phase, elapsed=elapsed, done=done, total=total,
                         gaps=[e.gap for e in events])


MERGES = {"sum": merge_sum, "scenarios": merge_scenarios}


class Progress:
    """Does nothing; subclass to show progress somewhere."""

    def status(self, text: str) -> None:
        pass

    def step(self, done: int, total: int, text: str = "") -> None:
        pass

    def update(self, **fields) -> None:
        """Report numbers: any fields of :class:`ProgressEvent`."""
        self.event(ProgressEvent(**fields))

    def event(self, event: ProgressEvent) -> None:
        """Where subclasses receive :meth:`update`'s numbers."""

    def close(self) -> None:
        pass


def from_highs(progress: Progress, phase: str, limit: float | None = None,
               offset: float = 0.0) -> Callable[[dict], None]:
    """A ``highs.solve`` progress callback that turns its messages into events.

    ``offset`` is added to costs and bounds (a stage that solves part of the cost).
    """
    from .highs import relative_gap

    state = {"cost": None, "bound": None, "t0": time.monotonic()}

    def on_message(msg: dict) -> None:
        if msg.get("event") == "incumbent":
            state["cost"] = _finite(msg.get("objective"))
        else:
            state["cost"] = _finite(msg.get("primal")) or state["cost"]
            state["bound"] = _finite(msg.get("dual")) or state["bound"]
        cost = None if state["cost"] is None else state["cost"] + offset
        bound = None if state["bound"] is None else state["bound"] + offset
        if cost is not None and bound is not None:
            bound = min(bound, cost)
        progress.update(phase=phase, elapsed=time.monotonic() - state["t0"], limit=limit,
                        cost=cost, bound=bound, gap=relative_gap(cost, bound))

    return on_message


class ConsoleProgress(Progress):
    """Status lines and a progress bar on stderr (quiet when stderr is not a terminal)."""

    def __init__(self, stream=None, bars: bool | None = None):
        self.stream = stream or sys.stderr
        self.bars = self.stream.isatty() if bars is None else bars
        self._bar = None
        self._label = ""
        self._numbers = ""
        self._last_line = 0.0

    def status(self, text: str) -> None:
        self._close_bar()
        print(text, file=self.stream, flush=True)

    def event(self, event: ProgressEvent) -> None:
        """Cost, bound and gap: in the bar's postfix, or a line every 5 s without bars."""
        numbers = ProgressEvent(**{**event.as_dict(), "phase": ""}).text()
        if self.bars:
            if self._bar is not None:
                self._bar.set_postfix_str(numbers, refresh=True)
            else:
                print(f"\r{event.text()}\033[K", end="", file=self.stream, flush=True)
                self._numbers = numbers
            return
        now = time.monotonic()
        if now - self._last_line >= 5.0:
            self._last_line = now
            print(event.text(), file=self.stream, flush=True)

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
        if self._numbers:
            print(file=self.stream, flush=True)  # end the numbers line
            self._numbers = ""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._close_bar()


NULL = Progress()
