"""Independent pieces run in parallel, locally or on a cluster engine when installed."""

import importlib.util

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
    parallel.configure(workers=1)
    assert parallel.run_pieces(lambda x: x + 1, [1, 2]) == [2, 3]  # a lambda cannot pickle


def test_unknown_executor():
    with pytest.raises(ValueError):
        parallel.configure("spark")


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="Dask's distributed scheduler is not installed")
def test_dask_local_cluster():
    parallel.configure("dask", workers=2)
    assert parallel.run_pieces(square, list(range(5))) == [0, 1, 4, 9, 16]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_ray_local():
    parallel.configure("ray", workers=2)
    assert parallel.run_pieces(square, list(range(5))) == [0, 1, 4, 9, 16]


def test_missing_engine_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("no ray here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    parallel.configure("ray", workers=2)
    with pytest.raises(parallel.ExecutorUnavailable, match="pip install ray"):
        parallel.run_pieces(square, [1, 2])


def test_cli_flags_configure_the_executor(tmp_path):
    from pd_support import network
    from solver_core.production_distribution import SCHEMA
    from solver_core.template import write_template

    path = tmp_path / "in.xlsx"
    write_template(SCHEMA, path, data=network(supply=[("S", "p", 1, 3)],
                                              demand=[("K", "p", 2, 3)]))
    assert cli.main(["scenarios", str(path), "-o", str(tmp_path / "o.xlsx"), "--workers", "1"]) == 0
    assert parallel.CONFIG.workers == 1 and parallel.CONFIG.kind == "process"
