"""Stop a running solve and keep its best plan: the one stop token every front end uses.

A :class:`StopToken` is a small folder with a flag file. The front end (Ctrl-C in the
CLI, the Stop button of the Excel progress window, a test) calls
:meth:`StopToken.request_stop`; every stage, worker process and HiGHS run that holds
the token sees ``token.requested`` become true within ``CHECK_INTERVAL`` seconds,
stops, and returns the best plan it has.

Why a file and not a ``multiprocessing`` Event: the token must reach process-pool
workers started by forkserver, Dask's local workers and Ray's local workers, which
are started by different machinery. A ``Manager().Event()`` proxy needs a manager
process and an authenticated connection that Dask and Ray workers do not inherit; a
path pickles as a string and works for every local executor. A check is one ``stat``
at most every ``CHECK_INTERVAL`` seconds (cached in between), cheap enough to sit in
HiGHS's interrupt callbacks. The same folder carries each piece's latest progress
event (``piece-<i>.json``) back to the process that runs the pieces.
(A cluster on other machines does not share the folder: there the parent still stops
submitting pieces and cancels the ones not started.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from .progress import Progress, ProgressEvent

CHECK_INTERVAL = 0.05  # seconds between two looks at the flag file in one process
REPORT_INTERVAL = 0.5  # seconds between two progress files written by one piece


class StopToken:
    """A request to stop, shared by the front end, the solve and its worker processes.

    Use it as a context manager (the folder is removed at the end). Copies made by
    pickling (worker processes) see the same flag; only the creator removes it.
    """

    def __init__(self, piece: int | None = None, _path: str | None = None) -> None:
        self._owner = _path is None
        self.path = Path(_path or tempfile.mkdtemp(prefix="scplan-control-"))
        self.piece = piece  # which piece of run_pieces this copy belongs to
        self._stopped = False
        self._aborted = False
        self._next_look = 0.0
        self._last_report = 0.0

    # --- pickling: only the folder and the piece travel --------------------------
    def __getstate__(self) -> dict:
        return {"path": str(self.path), "piece": self.piece}

    def __setstate__(self, state: dict) -> None:
        self.__init__(piece=state["piece"], _path=state["path"])

    # --- the request ---------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask every holder of this token to stop and keep its best plan (idempotent)."""
        self._stopped = True
        with contextlib.suppress(OSError):
            (self.path / "stop").touch()

    def abort(self) -> None:
        """Stop and throw the results away (the CLI's second Ctrl-C)."""
        self._aborted = True
        with contextlib.suppress(OSError):
            (self.path / "abort").touch()
        self.request_stop()

    @property
    def requested(self) -> bool:
        """True once a stop was requested here or in any other process (cheap)."""
        if self._stopped:
            return True
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + CHECK_INTERVAL
            self._stopped = (self.path / "stop").exists()
        return self._stopped

    @property
    def aborted(self) -> bool:
        return self._aborted or (self.path / "abort").exists()

    # --- pieces ------------------------------------------------------------------
    def for_piece(self, index: int) -> StopToken:
        """The copy handed to piece ``index`` of ``parallel.run_pieces``."""
        return StopToken(piece=index, _path=str(self.path))

    def report(self, event: ProgressEvent, force: bool = False) -> None:
        """Leave this piece's latest progress for the parent (at most every 0.5 s)."""
        if self.piece is None:
            return
        now = time.monotonic()
        if not force and now - self._last_report < REPORT_INTERVAL:
            return
        self._last_report = now
        target = self.path / f"piece-{self.piece}.json"
        tmp = self.path / f".piece-{self.piece}-{os.getpid()}.tmp"
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(event.as_dict()))
            os.replace(tmp, target)

    def progress(self, phase: str = "") -> Progress:
        """A Progress whose numeric events reach the parent through :meth:`report`."""
        return PieceProgress(self, phase)

    def piece_events(self) -> dict[int, ProgressEvent]:
        """The latest event of every piece that reported (read by the parent)."""
        events = {}
        for f in self.path.glob("piece-*.json"):
            with contextlib.suppress(OSError, ValueError):
                events[int(f.stem.split("-")[1])] = ProgressEvent(**json.loads(f.read_text()))
        return events

    # --- lifetime ----------------------------------------------------------------
    def close(self) -> None:
        if self._owner:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> StopToken:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StopToken({str(self.path)!r}, piece={self.piece}, requested={self.requested})"


class PieceProgress(Progress):
    """What a piece running in a worker process uses as its Progress."""

    def __init__(self, token: StopToken, phase: str = "") -> None:
        self.token = token
        self.phase = phase

    def status(self, text: str) -> None:
        self.phase = text

    def event(self, event: ProgressEvent) -> None:
        if not event.phase:
            event.phase = self.phase
        self.token.report(event)


def requested(stop: StopToken | None) -> bool:
    """``stop.requested`` that also accepts no token."""
    return stop is not None and stop.requested


@contextlib.contextmanager
def sigint_stops(token: StopToken, on_stop: Callable[[], None] | None = None
                 ) -> Iterator[StopToken]:
    """First Ctrl-C (SIGINT) requests a stop; the second aborts (``KeyboardInterrupt``).

    Installs the handler for the duration of the ``with`` block (main thread only;
    elsewhere it does nothing). ``on_stop`` runs after the first Ctrl-C, e.g. to tell
    the user that the best plan will be written.

    Python runs a signal handler once for several signals that arrive while the main
    thread is inside C code (numpy, HiGHS); the wakeup pipe gets one byte per signal,
    so two quick Ctrl-C are still counted as two.
    """
    if threading.current_thread() is not threading.main_thread():
        yield token
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)

    def presses() -> int:
        with contextlib.suppress(BlockingIOError):
            return os.read(read_end, 1024).count(signal.SIGINT)
        return 1

    def handler(signum, frame):
        if token.requested or presses() >= 2:
            token.abort()
            raise KeyboardInterrupt
        token.request_stop()
        if on_stop is not None:
            on_stop()

    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_end)
        os.close(write_end)


def ignore_sigint() -> None:
    """For worker processes: a terminal's Ctrl-C goes to the whole process group, but only
    the parent decides (through the token) what a Ctrl-C means."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
