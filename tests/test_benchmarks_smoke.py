"""CI runs the small benchmarks as a smoke test (the seed-scale ones are run by hand)."""

import benchmarks.__main__ as bench


def test_small_benchmarks_run(capsys):
    code = bench.main(["all", "--scale", "small", "--no-save", "--time-limit", "30"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "machine:" in out and "cores" in out
    for name in bench.INSTANCES["small"]:
        line = next(row for row in out.splitlines() if row.startswith(name))
        assert "optimal" in line or "time_limit" in line, line


def test_every_benchmark_module_imports():
    """A benchmark run by hand must not rot unseen: each module of benchmarks/ imports
    (stop_latency once imported a module that had since been renamed)."""
    import importlib
    import pkgutil

    import benchmarks

    names = [info.name for info in pkgutil.iter_modules(benchmarks.__path__)]
    assert "stop_latency" in names
    for name in names:
        importlib.import_module(f"benchmarks.{name}")
