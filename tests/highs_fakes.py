"""Stand-ins for the HiGHS child process, to test the parent's deadline handling."""

import time

import numpy as np


def child_that_never_stops(lp, options, conn, log_file, stop=None):
    """Reports one plan, then hangs like HiGHS stuck in a root heuristic (ignores ``stop``)."""
    x = np.arange(lp.n_cols, dtype=float)
    cost = float(lp.cost @ x + lp.offset)
    conn.send(("incumbent", cost, cost - 2.0, x))
    time.sleep(3600)


def child_that_crashes(lp, options, conn, log_file, stop=None):
    raise SystemExit(7)


def child_that_dies_at_once(lp, options, conn, log_file, stop=None):
    """A segmentation fault before any plan (like a crash inside HiGHS)."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)
