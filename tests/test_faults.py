"""Faults: a worker that dies mid-solve, a piece that raises, a solver child that is killed.

Every executor must return within a bounded time, keep the other pieces' results and
report the dead piece as ``parallel.PieceFailed`` with a message. The time from the
last death to the return of ``run_pieces`` is printed (``-s`` shows it).
"""

import importlib.util
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import highs_fakes
import numpy as np
import pytest
from hard_mip import is_feasible, knapsack_mip
from test_stop import highs_fakes_lp

from solver_core import control, highs, parallel
from solver_core.highs import SolveOptions

HAS_DASK = importlib.util.find_spec("distributed") is not None
HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(autouse=True)
def restore():
    yield
    parallel.configure()


def fragile(piece, stop=None):
    """``("ok", x, log)``: 10·x after 0.6 s; ``("kill", log)``: SIGKILL its own worker
    every time (``"segv"``: SIGSEGV, ``"exit"``: ``os._exit(3)``); ``("once", log)``:
    SIGKILL the first time only; ``("raise",)``: a bug.

    ``log`` is a folder: each attempt leaves a file, and a death its wall-clock time.
    """
    kind = piece[0]
    if kind == "raise":
        raise ValueError("bad piece")
    log, x = Path(piece[-1]), piece[1] if kind == "ok" else ""
    attempt = attempts(log, kind, x) + 1
    (log / f"{kind}-{x}-{attempt}").touch()
    if kind == "ok":
        (log / f"running-{x}").touch()
        time.sleep(0.6)
        (log / f"running-{x}").unlink()
        return 10 * piece[1]
    deadline = time.monotonic() + (5 if kind == "kill" else 0)  # die beside a busy worker
    while not list(log.glob("running-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    if kind == "once" and attempt > 1:
        return "second try"
    (log / "died").write_text(repr(time.time()))
    if kind == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGSEGV if kind == "segv" else signal.SIGKILL)


def attempts(log: Path, kind: str, x="") -> int:
    return len(list(log.glob(f"{kind}-{x}-*")))


def run_with_faults(kind, tmp_path, workers=2):
    """Seven pieces, one that always kills its worker, one that does once, one that raises."""
    parallel.configure(kind)
    log = str(tmp_path)
    pieces = [("ok", 1, log), ("kill", log), ("ok", 2, log), ("raise",), ("ok", 3, log),
              ("once", log), ("ok", 4, log)]
    t0 = time.monotonic()
    results = parallel.run_pieces(fragile, pieces, workers=workers)
    returned = time.time()
    seconds = time.monotonic() - t0
    latency = returned - float((tmp_path / "died").read_text())
    print(f"{kind}: run {seconds:.1f} s, last worker death -> return {latency:.2f} s")
    assert [results[i] for i in (0, 2, 4, 6)] == [10, 20, 30, 40]
    assert results[5] == "second try"  # died once, ran again
    dead, bug = results[1], results[3]
    assert isinstance(dead, parallel.PieceFailed) and dead.index == 1
    assert dead.message.startswith("worker process died") and "piece 2 of 7" in dead.message
    assert isinstance(bug, parallel.PieceFailed) and bug.index == 3
    assert bug.message == "piece 4 of 7 raised ValueError: bad piece"
    assert "Traceback" in bug.detail
    assert attempts(tmp_path, "kill") == parallel.MAX_DEATHS
    return results, latency


def test_process_pool_survives_a_dead_worker(tmp_path):
    results, latency = run_with_faults("process", tmp_path)
    assert "(signal 9)" in results[1].message
    assert latency < 8.0  # measured 0.6-2 s on a busy machine: a new pool and a re-run
    # The pieces running beside a death were lost with the pool and ran again.
    assert sum(attempts(tmp_path, "ok", x) for x in (1, 2, 3, 4)) > 4


def test_process_pool_says_how_a_worker_ended(tmp_path):
    log = str(tmp_path)
    results = parallel.run_pieces(fragile, [("segv", log), ("ok", 1, log), ("exit", log)],
                                  workers=2)
    assert results[1] == 10
    assert results[0].message == "worker process died (signal 11) while solving piece 1 of 3"
    assert results[2].message == "worker process died (exit code 3) while solving piece 3 of 3"


@pytest.mark.skipif(not HAS_DASK, reason="Dask's distributed scheduler is not installed")
def test_dask_survives_a_dead_worker(tmp_path):
    _, latency = run_with_faults("dask", tmp_path)
    assert latency < 15.0  # the nanny notices the death and the scheduler gives up


@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed (pip install 'scplan[cluster]')")
def test_ray_survives_a_dead_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", ray_path())  # Ray's workers import this module
    _, latency = run_with_faults("ray", tmp_path)
    assert latency < 15.0


def stop_then_die(piece, stop=None):
    """``"die"``: ask the run to stop, then SIGKILL its worker; ``"busy"``: 30 s, deaf."""
    if piece == "die":
        time.sleep(0.5)  # the busy piece runs by now
        stop.request_stop()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)
    return "done"


def test_a_death_during_a_stop_runs_nothing_again():
    """The pieces lost with the pool are NOT_RUN after a stop; the dead one PieceFailed."""
    t0 = time.monotonic()
    with control.StopToken() as token:
        results = parallel.run_pieces(stop_then_die, ["busy", "die", "busy", "busy"],
                                      workers=2, stop=token)
    assert time.monotonic() - t0 < 15
    assert results[0] is parallel.NOT_RUN and results[2:] == [parallel.NOT_RUN] * 2
    assert results[1].message == "worker process died (signal 9) while solving piece 2 of 4"


def ray_path():
    """PYTHONPATH for Ray's local workers: they import the pieces' test module."""
    here = str(Path(__file__).resolve().parent)
    return os.pathsep.join([here, str(Path(here).parent), os.environ.get("PYTHONPATH", "")])


def test_a_raising_piece_in_process(tmp_path):
    results = parallel.run_pieces(fragile, [("raise",), ("ok", 5, str(tmp_path))], workers=1)
    assert results[0].message == "piece 1 of 2 raised ValueError: bad piece"
    assert results[1] == 50


def test_blame_falls_on_the_piece_whose_worker_died():
    class Proc:
        def __init__(self, exitcode):
            self.exitcode = exitcode

    processes = {11: Proc(-signal.SIGTERM), 12: Proc(-signal.SIGKILL), 13: Proc(None)}
    # pieces 0..3 ran in workers 11, 12, 13 and none (queued)
    running_in = [11, 12, 13, 0]
    assert parallel._blame([0, 1, 2, 3], processes, running_in) == {1: -9}
    # Nobody died of anything but SIGTERM: every started piece is suspect (bounded retries).
    processes[12] = Proc(-signal.SIGTERM)
    assert parallel._blame([0, 1, 3], processes, running_in) == {0: -15, 1: -15}
    assert parallel._blame([3], processes, running_in) == {3: None}


# --- the HiGHS child -------------------------------------------------------------------


def _solver_children():
    return [p for p in mp.active_children() if p.name == highs.CHILD_NAME]


def test_killed_solver_child_keeps_its_best_plan():
    lp = knapsack_mip()
    killed = []

    def kill_at_first_plan(event):
        if event["event"] == "incumbent" and not killed:
            for child in _solver_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    t0 = time.monotonic()
    res = highs.solve(lp, SolveOptions(time_limit=60, mip_gap=0), progress=kill_at_first_plan)
    assert killed and time.monotonic() - t0 < 30
    assert res.status == highs.TIME_LIMIT
    assert "the solver process ended unexpectedly; best plan found so far kept" in res.message
    assert "signal 9" in res.highs_status
    assert res.x is not None and is_feasible(lp, res.x)
    assert res.objective == pytest.approx(float(lp.cost @ res.x), rel=1e-9)


def test_solver_child_crashing_before_a_plan_is_an_error(monkeypatch):
    monkeypatch.setattr(highs, "_child_main", highs_fakes.child_that_dies_at_once)
    res = highs.solve(highs_fakes_lp(), SolveOptions(time_limit=60))
    assert res.status == highs.ERROR and res.x is None
    assert "the solver process ended unexpectedly (signal 11" in res.message
    assert "before it found a plan" in res.message


def _solve_and_die(pid_file):
    """Start a solver child that hangs after its first plan (sending nothing more, like
    HiGHS in a long root phase); at that plan, write the child's pid and die."""
    def die(event):
        if event["event"] == "incumbent":
            Path(pid_file).write_text(str(_solver_children()[0].pid))
            os.kill(os.getpid(), signal.SIGKILL)

    highs._child_main = highs_fakes.child_that_never_stops
    highs.solve(highs_fakes_lp(), SolveOptions(time_limit=60), progress=die)


def test_solver_child_ends_with_its_parent(tmp_path):
    """A pool worker killed mid-solve leaves no solver child running on (a child that
    sends nothing never learns of the death through its pipe)."""
    pid_file = tmp_path / "child.pid"
    parent = highs._context().Process(target=_solve_and_die, args=(str(pid_file),))
    parent.start()
    parent.join(60)
    assert parent.exitcode == -signal.SIGKILL
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "child"])
def test_a_model_highs_rejects_is_an_error(isolate):
    lp = highs_fakes_lp()
    bad = lp.replace(a_start=np.array([lp.nnz + 2], dtype=np.int32))  # its one row
    res = highs.solve(bad, SolveOptions(time_limit=10, isolate=isolate))
    assert res.status == highs.ERROR and res.x is None
    assert "HiGHS rejected the model" in res.message and "a_start must rise" in res.message
    assert highs.solve(lp, SolveOptions(time_limit=10, isolate=isolate)).status == highs.OPTIMAL


@pytest.mark.parametrize("change, words", [
    ({"a_index": np.array([0, 1, 7], dtype=np.int32)}, "a_index holds a column outside 0..2"),
    ({"lower": np.zeros(2)}, "lower has 2 entries for 3 columns"),
])
def test_inconsistent_arrays_are_named(change, words):
    res = highs.solve(highs_fakes_lp().replace(**change), SolveOptions(isolate=False))
    assert res.status == highs.ERROR and words in res.message
