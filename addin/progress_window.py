"""The Excel progress window: numbers while a solve runs, and Stop — keep best plan.

Solve and Scenarios open a small always-on-top tkinter window from the Python process
that ``RunPython`` started: model and workbook, phase, a time bar against the limit,
plan cost, bound and gap (refreshed four times a second), a chart of cost and bound
over time, and a button that calls ``StopToken.request_stop()`` (the same call the
command line's Ctrl-C makes). It closes itself once the results are written.

Threads: the solve runs in a worker thread; the Tk main loop and every Excel call
stay in the thread that ``RunPython`` called us in. Excel's COM objects belong to
that thread (a COM call from another thread needs its own apartment and marshalled
objects), and Tk must be driven from the thread that created it (on macOS, the main
thread). The worker only puts events in a queue; the main thread drains it, draws,
and forwards the phase text to Excel's status bar.

No window when there is no display (Linux without ``DISPLAY``), no tkinter, the
JSON-Book engine (tests, remote interpreter), or ``SCPLAN_NO_WINDOW`` is set: then the
solve runs in the calling thread exactly as before.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import sys
import threading
import time
from typing import Any, Callable

from solver_core.control import StopToken
from solver_core.progress import NULL, Progress, ProgressEvent

TICK_MS = 250  # refresh interval of the window (and of the status bar forwarding)
STOP_TEXT = "Stop — keep best plan"
CHART_W, CHART_H = 360, 120


def available() -> bool:
    """True when a window can be shown here (display, tkinter, not switched off)."""
    if os.environ.get("SCPLAN_NO_WINDOW"):
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        import tkinter  # noqa: F401  (some Python builds lack it)
    except ImportError:
        return False
    return True


class _Relay(Progress):
    """The Progress the worker thread gets: it only queues (thread-safe)."""

    def __init__(self, inbox: queue.Queue) -> None:
        self.inbox = inbox

    def status(self, text: str) -> None:
        self.inbox.put(("status", text))

    def step(self, done: int, total: int, text: str = "") -> None:
        self.inbox.put(("step", (done, total, text)))

    def event(self, event: ProgressEvent) -> None:
        self.inbox.put(("event", event))


class Session:
    """One solve with the window (or without, where none can be shown).

    Use ``with Session(...) as s: result = s.run(work); s.status("Writing…"); write()``;
    the window closes when the ``with`` block ends.

    Parameters
    ----------
    model, workbook : str
        Shown at the top of the window.
    stop : StopToken
        The Stop button calls its ``request_stop()``.
    status_bar : Progress
        Excel's status bar; gets the phase texts, always from this thread.
    enabled : bool
        False: never open a window (e.g. the JSON-Book engine).
    """

    def __init__(self, model: str, workbook: str, stop: StopToken,
                 status_bar: Progress = NULL, enabled: bool = True) -> None:
        self.model, self.workbook, self.stop = model, workbook, stop
        self.status_bar = status_bar
        self.enabled = enabled and available()
        self.root = None
        self.inbox: queue.Queue = queue.Queue()
        self.t0 = time.monotonic()
        self.phase = ""
        self.limit: float | None = None
        self.last = ProgressEvent()
        self.points: list[tuple[float, float | None, float | None]] = []  # (t, cost, bound)
        self.stop_pressed_at: float | None = None
        self._bar_shown = 0.0

    # --- lifetime --------------------------------------------------------------------
    def __enter__(self) -> Session:
        if self.enabled:
            try:
                self._build()
            except Exception:  # e.g. TclError: no usable display after all
                self.enabled = False
                with contextlib.suppress(Exception):
                    self.close()  # sets root to None first, then frees what was built
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the window and free Tk here, in the thread that made it.

        Tk's interpreter must be freed by the thread that created it: freed from another
        thread (the garbage collector runs in whichever thread allocates, e.g. the next
        solve's worker), Tcl aborts the whole process ("Tcl_AsyncDelete: async handler
        deleted by the wrong thread"). So the widgets are dropped and any cycle still
        holding them is collected now.
        """
        root, self.root = self.root, None
        if root is None:
            return
        try:
            root.destroy()
        finally:
            del root
            self.phase_label = self.time_bar = self.time_label = None
            self.chart = self.button = None
            self.values = {}
            gc.collect()

    @property
    def is_open(self) -> bool:
        return self.root is not None

    # --- the work ----------------------------------------------------------------------
    def run(self, work: Callable[[Progress], Any]) -> Any:
        """``work(progress)`` in a worker thread while the window runs here."""
        if self.root is None:
            return work(self.status_bar)
        box: dict[str, Any] = {}

        def target():
            try:
                box["result"] = work(_Relay(self.inbox))
            except BaseException as exc:  # re-raised in the calling thread
                box["error"] = exc

        worker = threading.Thread(target=target, name="scplan-solve", daemon=True)
        self.t0 = time.monotonic()
        worker.start()

        self.root.after(TICK_MS, self._tick, worker)
        self.root.mainloop()
        worker.join()
        self._drain()
        self._draw()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _tick(self, worker: threading.Thread) -> None:
        # A method, not a closure that names itself: such a closure is a reference cycle
        # that would keep the window (and Tk) alive for the garbage collector (see close).
        self._drain()
        self._draw()
        if worker.is_alive():
            self.root.after(TICK_MS, self._tick, worker)
        else:
            self.root.quit()

    def status(self, text: str) -> None:
        """A phase shown in the window and the status bar (from this thread)."""
        self.phase = text
        self.status_bar.status(text)
        if self.root is not None:
            self.button.configure(state="disabled")
            self._draw()
            self.root.update()

    # --- the window ----------------------------------------------------------------------
    def _build(self) -> None:
        import tkinter as tk
        from tkinter import ttk

        root = tk.Tk()
        self.root = root
        root.title("Supply Chain Planner — solving")
        root.attributes("-topmost", True)
        root.resizable(False, False)
        root.protocol("WM_DELETE_WINDOW", self.request_stop)  # closing = stop, keep best
        pad = {"padx": 8, "pady": 2, "sticky": "w"}
        ttk.Label(root, text=f"{self.model} — {self.workbook}",
                  font=("TkDefaultFont", 10, "bold")).grid(row=0, column=0, columnspan=2, **pad)
        self.phase_label = ttk.Label(root, text="Starting…", width=48)
        self.phase_label.grid(row=1, column=0, columnspan=2, **pad)
        self.time_bar = ttk.Progressbar(root, length=CHART_W, maximum=1.0)
        self.time_bar.grid(row=2, column=0, columnspan=2, padx=8, pady=2)
        self.time_label = ttk.Label(root, text="")
        self.time_label.grid(row=3, column=0, columnspan=2, **pad)
        self.values: dict[str, ttk.Label] = {}
        for i, (key, name) in enumerate([("cost", "Plan cost"), ("bound", "Best bound"),
                                         ("gap", "Gap")]):
            ttk.Label(root, text=name).grid(row=4 + i, column=0, **pad)
            self.values[key] = ttk.Label(root, text="–", width=20, anchor="e")
            self.values[key].grid(row=4 + i, column=1, padx=8, pady=1, sticky="e")
        self.chart = tk.Canvas(root, width=CHART_W, height=CHART_H, background="white",
                               highlightthickness=1, highlightbackground="#999")
        self.chart.grid(row=7, column=0, columnspan=2, padx=8, pady=4)
        self.button = ttk.Button(root, text=STOP_TEXT, command=self.request_stop)
        self.button.grid(row=8, column=0, columnspan=2, pady=(2, 8))
        root.update()

    def request_stop(self) -> None:
        """The button: stop the solve; the best plan found so far is kept and written."""
        if self.stop_pressed_at is None:
            self.stop_pressed_at = time.monotonic()
        self.stop.request_stop()
        if self.root is not None:
            self.button.configure(text="Stopping — writing the best plan…", state="disabled")

    def _drain(self) -> None:
        while True:
            try:
                kind, value = self.inbox.get_nowait()
            except queue.Empty:
                return
            if kind == "status":
                self.phase = value
                self.status_bar.status(value)
            elif kind == "step":
                self.status_bar.step(*value)
                done, total, text = value
                self.phase = f"{text or 'Working'}: {done} of {total} done"
            elif kind == "event":
                self._take(value)

    def _take(self, event: ProgressEvent) -> None:
        if event.limit:
            self.limit = max(self.limit or 0.0, event.limit)
        if event.total:
            self.phase = f"{event.phase or 'Pieces'}: {event.done or 0} of {event.total} done"
        elif event.phase:
            self.phase = event.phase
        self.last = event
        if event.cost is not None or event.bound is not None:
            self.points.append((time.monotonic() - self.t0, event.cost, event.bound))
        now = time.monotonic()
        if now - self._bar_shown >= 1.0:  # each status bar update is a call into Excel
            self._bar_shown = now
            self.status_bar.status(event.text())

    def _draw(self) -> None:
        if self.root is None:
            return
        elapsed = time.monotonic() - self.t0
        self.phase_label.configure(text=self.phase or "Solving…")
        if self.limit:
            self.time_bar.configure(value=min(elapsed / self.limit, 1.0))
            self.time_label.configure(text=f"{elapsed:.0f} s of {self.limit:.0f} s")
        else:
            self.time_label.configure(text=f"{elapsed:.0f} s")
        e = self.last
        self.values["cost"].configure(text="–" if e.cost is None else f"{e.cost:,.2f}")
        self.values["bound"].configure(text="–" if e.bound is None else f"{e.bound:,.2f}")
        gap = e.gap
        if e.gaps:
            shown = ", ".join("–" if g is None else f"{g:.1%}" for g in e.gaps[-4:])
            self.values["gap"].configure(text=shown)
        else:
            self.values["gap"].configure(text="–" if gap is None else f"{gap:.2%}")
        self._draw_chart(elapsed)

    def _draw_chart(self, elapsed: float) -> None:
        c = self.chart
        c.delete("all")
        # The scale follows the recent values: the first plans are often far worse, and
        # drawn to scale they would flatten the part the planner is watching.
        recent = [pt for pt in self.points if pt[0] >= elapsed / 4] or self.points[-1:]
        values = [v for _, cost, bound in recent for v in (cost, bound) if v is not None]
        if not values:
            c.create_text(CHART_W / 2, CHART_H / 2, text="no plan yet", fill="#888")
            return
        pad = 0.05 * (max(values) - min(values))
        values += [min(values) - pad, max(values) + pad]
        lo, hi = min(values), max(values)
        if hi - lo < 1e-9 * max(1.0, abs(hi)):
            lo, hi = lo - 1.0, hi + 1.0
        span_t = max(self.limit or 0.0, elapsed, 1e-6)
        m = 6

        def xy(t, v):
            return (m + (CHART_W - 2 * m) * t / span_t,
                    CHART_H - m - (CHART_H - 2 * m) * (v - lo) / (hi - lo))

        for index, colour in ((1, "#1f77b4"), (2, "#d62728")):
            line = []
            for point in self.points:
                if point[index] is not None:
                    line.extend(xy(point[0], point[index]))
            if len(line) == 2:  # one point: a dot
                x, y = line
                c.create_oval(x - 2, y - 2, x + 2, y + 2, fill=colour, outline=colour)
            elif line:
                last = self.points[-1]
                if last[index] is not None:  # hold the last value up to now
                    line.extend(xy(elapsed, last[index]))
                c.create_line(*line, fill=colour, width=2)
        c.create_text(CHART_W - m, m, text=f"{hi:,.0f}", fill="#666", anchor="ne")
        c.create_text(CHART_W - m, CHART_H - m, text=f"{lo:,.0f}", fill="#666", anchor="se")
        c.create_text(m + 2, m, text="cost", fill="#1f77b4", anchor="nw")
        c.create_text(m + 40, m, text="bound", fill="#d62728", anchor="nw")
