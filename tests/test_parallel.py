"""Independent pieces run in parallel, locally or on a cluster engine when installed."""

import time

import pytest

from solver_core import cli, parallel


def square(x):
    return x * x


@pytest.fixture(autouse=True)
def restore():
    yield
    parallel.configure()


def test_process_pool_keeps_order_and_reports_progress():
    seen = []

    class P(parallel.Progress):
        def step(self, done, total, text=""):
            seen.append((done, total))

    assert parallel.run_pieces(square, list(range(7)), workers=2, progress=P()) == [
        x * x for x in range(7)]
    assert seen[-1] == (7, 7) and len(seen) == 7


def test_one_worker_runs_in_process():
    # a lambda cannot pickle: one worker runs here
    assert parallel.run_pieces(lambda x: x + 1, [1, 2], workers=1) == [2, 3]


def nap(seconds):
    time.sleep(seconds)
    return seconds


@pytest.mark.parametrize("workers", [1, 2])
def test_prepare_sets_each_piece_as_it_starts(workers):
    """``prepare`` runs here as each piece starts, in order, with the pieces running
    then, and what it returns is what runs (MPS phase 2 sets budgets this way)."""
    calls = []

    def prepare(i, running):
        calls.append((i, sorted(running)))
        return 0.3 if i == 0 else 0.05

    assert parallel.run_pieces(nap, [None] * 4, workers=workers, prepare=prepare) == [
        0.3, 0.05, 0.05, 0.05]
    assert [i for i, _ in calls] == [0, 1, 2, 3]
    if workers == 1:
        assert all(running == [] for _, running in calls)
    else:  # piece 0 sleeps longest: the others start one after another beside it
        assert calls[0] == (0, []) and calls[1] == (1, [0])
        assert calls[2][1] == [0] and calls[3][1] == [0]


def test_unknown_executor():
    with pytest.raises(ValueError):
        parallel.configure("spark")


# Dask and Ray run in test_faults.py: good pieces in order beside dying and raising ones
# (one local cluster each: starting one takes 5-15 s on a busy machine).


def test_missing_engine_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("no ray here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    parallel.configure("ray")
    with pytest.raises(parallel.ExecutorUnavailable, match="pip install ray"):
        parallel.run_pieces(square, [1, 2], workers=2)


def _small_workbook(tmp_path, workers=None):
    from pd_support import network

    from solver_core.production_distribution import SCHEMA
    from solver_core.template import write_template

    path = tmp_path / "in.xlsx"
    settings = {} if workers is None else {"workers": workers}
    write_template(SCHEMA, path, data=network(supply=[("S", "p", 1, 3)],
                                              demand=[("K", "p", 2, 3)]), settings=settings)
    return path


@pytest.mark.parametrize("sheet, flag, expected", [(3, None, 3), (3, "1", 1), (None, "0", 0)])
def test_workers_flag_overrides_the_setting(tmp_path, monkeypatch, sheet, flag, expected):
    """--workers is one more settings override: the models see it as settings.workers."""
    from solver_core import api

    seen = []
    real_load = api.load

    def load(raw, overrides=None):
        result = real_load(raw, overrides)
        seen.append(result[2].settings.workers)
        return result

    monkeypatch.setattr(api, "load", load)
    path = _small_workbook(tmp_path, sheet)
    argv = ["solve", str(path), "-o", str(tmp_path / "o.xlsx"), "--executor", "process"]
    assert cli.main(argv + ([] if flag is None else ["--workers", flag])) == 0
    assert seen == [expected]
    assert parallel.CONFIG.kind == "process" and not hasattr(parallel.CONFIG, "workers")


def test_negative_workers_flag_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["solve", str(_small_workbook(tmp_path)), "-o", "o.xlsx", "--workers", "-1"])
    assert "one per CPU core" in capsys.readouterr().err


def test_scenarios_read_the_workers_setting(tmp_path, monkeypatch):
    """A model whose scenarios() still takes workers= gets the setting (0 = None, one per core)."""
    from solver_core import api

    mod = api.plugin("production_distribution")
    seen = []

    def scenarios(instance, progress, workers=None):
        seen.append(workers)
        return api.ModelRun("optimal", {}, [])

    monkeypatch.setattr(mod, "scenarios", scenarios)
    path = _small_workbook(tmp_path, 2)
    assert cli.main(["scenarios", str(path), "-o", str(tmp_path / "o.xlsx")]) == 0
    assert cli.main(["scenarios", str(path), "-o", str(tmp_path / "p.xlsx"),
                     "--workers", "0"]) == 0
    assert seen == [2, None]
