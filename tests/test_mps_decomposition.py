"""Decomposition is exact: per component = one model per supply center."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from mps_support import check_plan, random_case, raw_sheets, solve_and_check

from solver_core.master_production import SCHEMA, run
from solver_core.master_production import data as mps_data
from solver_core.master_production.model import make_components
from solver_core.tables import Problems, parse_settings


def instance(data, settings):
    raw = raw_sheets(data, settings)
    problems = Problems()
    st = parse_settings(raw["Settings"], SCHEMA.settings, problems)
    inst = mps_data.load(raw, st, problems)
    assert inst is not None, problems.frame()
    return inst


def run_checked(inst, data, settings, workers: int, decompose: bool = True) -> dict:
    """Solve with ``run`` directly (decomposition option, workers) and check the plan."""
    inst = dataclasses.replace(inst, settings=inst.settings.replace(workers=workers))
    result = run(inst, decompose=decompose)
    check_plan(data, settings, {s.name: s.frame for s in result.sheets}, result.summary)
    return result.summary


@pytest.mark.parametrize("seed", range(3))
def test_decomposed_equals_monolithic(seed):
    # Two supply centers, six SKUs and four factories each: several components.
    rng = np.random.default_rng(300 + seed)
    data, settings = random_case(rng, n_skus=6, n_factories=5, weeks=6,
                                 supply_centers=("Y", "Z"), max_makers=1 + seed % 2)
    inst = instance(data, settings)
    comps, _ = make_components(inst, integer=True, decompose=True)
    whole, _ = make_components(inst, integer=True, decompose=False)
    assert len(whole) == 2 and len(comps) >= 2
    if seed % 2 == 0:
        assert len(comps) > 2  # one factory per SKU: several components per supply center
    split = run_checked(inst, data, settings, decompose=True, workers=1)
    mono = run_checked(inst, data, settings, decompose=False, workers=1)
    assert split["model_objective"] == pytest.approx(mono["model_objective"], rel=1e-7, abs=1e-4)
    assert split["objective"] == pytest.approx(mono["objective"], rel=1e-7, abs=1e-4)
    # Each component is reported in Out Summary.
    for c in comps:
        assert f"{c.label}: status" in split and f"{c.label}: rows" in split


def test_components_run_in_parallel_processes():
    """A pool worker solves its components through the child-process HiGHS runner."""
    rng = np.random.default_rng(7)
    data, settings = random_case(rng, n_skus=8, n_factories=6, weeks=6,
                                 supply_centers=("Y",))
    inst = instance(data, settings)
    import solver_core.master_production.solve as solve_mod

    old = solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS
    solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS = 0, 0  # force the pool for a tiny case
    try:
        pooled = run_checked(inst, data, settings, workers=2)
    finally:
        solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS = old
    serial = run_checked(inst, data, settings, workers=1)
    assert pooled["model_objective"] == pytest.approx(serial["model_objective"], rel=1e-7,
                                                      abs=1e-4)


def test_integer_and_relaxed_modes_both_give_whole_feasible_plans():
    rng = np.random.default_rng(11)
    data, settings = random_case(rng, n_skus=4, n_factories=2, weeks=8)
    _, integer, _ = solve_and_check(data, settings, relax_order_quantities=False)
    _, relaxed, _ = solve_and_check(data, settings, relax_order_quantities=True)
    # The relaxed model is a relaxation: its optimum is a lower bound of the integer one,
    # and its rounded plan costs at least the integer optimum.
    assert relaxed["model_objective"] <= integer["model_objective"] + 1e-6
    assert relaxed["objective"] >= integer["model_objective"] - 1e-6


def test_components_run_on_dask_workers():
    """Dask workers are daemonic processes: MIPs are solved inside them, not in children."""
    pytest.importorskip("distributed")
    from solver_core import parallel

    rng = np.random.default_rng(8)
    data, settings = random_case(rng, n_skus=6, n_factories=4, weeks=5, supply_centers=("Y",),
                                 max_makers=1)
    inst = instance(data, settings)
    import solver_core.master_production.solve as solve_mod

    old = solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS
    solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS = 0, 0
    parallel.configure("dask")
    try:
        on_dask = run_checked(inst, data, settings, workers=2)
    finally:
        parallel.configure("process")
        solve_mod.POOL_COLUMNS, solve_mod.BATCH_COLUMNS = old
    here = run_checked(inst, data, settings, workers=1)
    assert on_dask["model_objective"] == pytest.approx(here["model_objective"], rel=1e-7,
                                                       abs=1e-4)
