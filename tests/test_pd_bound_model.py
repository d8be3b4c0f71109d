"""The merged ("surplus") model that gives the production–distribution bound.

``model.aggregate_surplus`` merges, per category, the products whose plant stock covers
their demand. That must be a relaxation (its optimum never above the full model's, for
the LP and for the MIP), and on instances of the thesis's shape it loses nothing.
"""

import numpy as np
import pandas as pd
import pytest
from pd_helpers import network, raw_sheets
from test_pd_spec import random_instance

from solver_core import api, highs
from solver_core.highs import SolveOptions
from solver_core.production_distribution import model


def _optimum(lp, relax: bool) -> float:
    if relax:
        lp = model._with(lp, integrality=np.zeros(lp.n_cols, np.int32))
    res = highs.solve(lp, SolveOptions(time_limit=60, mip_gap=0.0, isolate=False))
    assert res.status == highs.OPTIMAL
    return res.objective


def _covered_instance(seed: int):
    """Random instance where some products' plant stock covers their demand."""
    data, settings = random_instance(seed)
    rng = np.random.default_rng(seed)
    demand = data["Demand"].groupby("product")["pallets"].sum()
    extra = [("K", p, float(np.ceil(q)) + int(rng.integers(0, 3)))
             for p, q in demand.items() if rng.random() < 0.6]
    extra += [("W1", p, int(rng.integers(1, 6))) for p in data["Products"]["product"]
              if rng.random() < 0.7]
    start = pd.concat([data["StartInventory"], pd.DataFrame(extra, columns=["location",
                       "product", "pallets"])]).groupby(["location", "product"],
                                                         as_index=False)["pallets"].sum()
    return {**data, "StartInventory": start}, settings


@pytest.mark.parametrize("seed", range(12))
def test_merged_model_is_a_relaxation(seed):
    data, settings = _covered_instance(seed)
    _, _, inst, problems = api.load(raw_sheets(data, settings))
    if inst is None:
        pytest.skip("invalid random instance")
    merged = model.aggregate_surplus(inst)
    if merged is None:
        pytest.skip("nothing to merge")
    full, small = model.build(inst, with_bound_model=False), model.build(merged, False)
    assert small.lp.n_cols <= full.lp.n_cols
    # Same totals: merging moves pallets between product names, never creates any.
    for name in ("start", "supply", "demand"):
        assert getattr(merged, name)["pallets"].sum() == pytest.approx(
            getattr(inst, name)["pallets"].sum())
    try:
        full_lp = _optimum(full.lp, relax=True)
    except AssertionError:
        pytest.skip("infeasible random instance")
    assert _optimum(small.lp, relax=True) <= full_lp + 1e-6
    assert _optimum(small.lp, relax=False) <= _optimum(full.lp, relax=False) + 1e-6


def test_merging_covered_products_keeps_the_bound():
    """Two covered products (plant stock ≥ demand) with surplus in a costly warehouse and
    one product that needs a transfer: the merged LP and MIP optima equal the full ones."""
    data = network(
        products=[("A", "A"), ("B", "A"), ("C", "A")],
        start=[("K", "A", 2), ("K", "B", 1), ("W", "A", 3), ("W", "B", 4), ("W", "C", 5)],
        demand=[("K", "A", 2, 2), ("K", "B", 1, 1), ("K", "C", 2, 3)],
    )
    settings = {"time_limit_s": 60, "mip_gap": 0.0}
    _, _, inst, problems = api.load(raw_sheets(data, settings))
    assert inst is not None, problems
    merged = model.aggregate_surplus(inst)
    assert merged is not None
    assert set(merged.products["product"]) == {"C", model.SURPLUS + "A"}
    full, small = model.build(inst, with_bound_model=False), model.build(merged, False)
    assert _optimum(small.lp, True) == pytest.approx(_optimum(full.lp, True))
    assert _optimum(small.lp, False) == pytest.approx(_optimum(full.lp, False))


def test_nothing_to_merge_without_covered_products():
    data = network(products=[("A", "A"), ("B", "A")],
                   start=[("W", "A", 3), ("W", "B", 4)],
                   demand=[("K", "A", 2, 2), ("K", "B", 1, 1)])
    _, _, inst, _ = api.load(raw_sheets(data, {"time_limit_s": 60}))
    assert model.aggregate_surplus(inst) is None
