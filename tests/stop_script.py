"""A stoppable solve without a workbook, run as a subprocess by the Ctrl-C tests.

``python stop_script.py RESULT.json [--slow-write]``: solves the generated hard MIP under the same
Ctrl-C handling as ``scplan solve`` (``cli.stoppable``, ``cli.main``'s exit codes) and
writes the plan (status, objective, bound, gap, x) to RESULT.json.
"""

import faulthandler
import json
import signal
import sys
import time
from pathlib import Path

from hard_mip import knapsack_mip

from solver_core import cli, highs


def main(out: str, slow_write: bool = False) -> int:
    # SIGUSR1 prints every thread's stack to stderr: the tests send it to a process that
    # does not end in time, to show where it waits.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # As from a terminal, Ctrl-C raises KeyboardInterrupt once the solve's handler is
    # gone. A process started with SIGINT ignored keeps ignoring it (Python leaves an
    # inherited SIG_IGN), and the second Ctrl-C went unheard in two CI runs on a slow
    # machine: what it inherited is printed, for a failure to show.
    print(f"SIGINT at start: {signal.getsignal(signal.SIGINT)}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    lp = knapsack_mip()
    t0 = time.monotonic()

    def work(stop):
        print("solving", flush=True)
        return highs.solve(lp, highs.SolveOptions(time_limit=60, mip_gap=0), stop=stop)

    try:  # as in cli.main: a Ctrl-C after the stop (even while writing) aborts
        res = cli.stoppable(work)
        if slow_write:  # like writing a large workbook: time for a second Ctrl-C
            print("writing", flush=True)
            # Long enough for a test process that a busy machine lets read "writing" late;
            # the second Ctrl-C ends it at once.
            time.sleep(30.0)
        text = json.dumps({
            "status": res.status, "objective": res.objective, "bound": res.bound,
            "gap": res.mip_gap, "x": None if res.x is None else res.x.tolist(),
            "seconds": time.monotonic() - t0})
        tmp = Path(out).with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(out)  # atomic, like workbook.write_result
    except KeyboardInterrupt:
        print("aborted", flush=True)
        return 130
    return 0 if res.x is not None else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], slow_write="--slow-write" in sys.argv[2:]))
