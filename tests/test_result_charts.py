"""Charts and capacity tables read the way a planner expects.

Master production: every line of an inventory chart is a column of ``Out Projection``
(no marker drawn as a demand-like spike). Delivery allocation: only SKUs the optimiser
improves are charted, and the first-come-first-served line is dashed. ``Out Capacity``
says its unit and tells apart the rows of a factory shared by two supply centers.
"""

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from solver_core import api
from solver_core.master_production.schema import CAPACITY_OUT
from solver_core.workbook import read_workbook, write_result

EXAMPLES = Path(__file__).resolve().parents[1] / "solver_core" / "examples"


def solve(model: str) -> dict:
    outcome = api.solve(read_workbook(EXAMPLES / f"{model}_small.xlsx"), {"time_limit_s": 10})
    assert outcome.exit_code == 0, outcome.message
    return {s.name: s for s in outcome.sheets}


@pytest.fixture(scope="module")
def mps():
    return solve("master_production")


@pytest.fixture(scope="module")
def da():
    return solve("delivery_allocation")


def test_mps_chart_lines_are_projection_columns(mps):
    projection = mps["Out Projection"].frame
    charted = mps["Out Charts"].frame
    charts = mps["Out Charts"].charts
    assert charts and len(charts) == len(charted)
    for (sku, center), chart in zip(zip(charted["sku"], charted["supply_center"]), charts):
        rows = projection[(projection["sku"] == sku) & (projection["supply_center"] == center)]
        assert list(chart.data["week"]) == list(rows["week"])
        for series in chart.data.columns[1:]:
            assert series in projection.columns, f"{series} is not a projection column"
            assert np.allclose(chart.data[series], rows[series], atol=0.01), (sku, series)
        first = charted.loc[charted["sku"] == sku, "first_arrival_week"].iat[0]
        assert f"arrive from {first}" in chart.title


def test_da_charts_only_improved_skus_with_the_baseline_dashed(da, tmp_path):
    table = da["Out Charts"].frame
    charts = da["Out Charts"].charts
    saving = dict(zip(table["sku"], table["saving"]))
    assert (table["saving"] <= 0).any(), "the example should have a SKU without saving"
    charted = [c.title.split(":")[0] for c in charts]
    assert charted and all(saving[s] > 0 for s in charted), charted
    assert len(charted) == min(int((table["saving"] > 0).sum()), 6)
    for chart in charts:
        assert chart.dashed == ("delivered (first come, first served)",)
    # The written chart draws that series dashed and the optimised one solid.
    out = write_result(EXAMPLES / "delivery_allocation_small.xlsx", tmp_path / "r.xlsx",
                       list(da.values()))
    written = load_workbook(out)["Out Charts"]._charts[0]
    styles = {}
    for s in written.series:
        line = s.graphicalProperties.line if s.graphicalProperties is not None else None
        styles[s.tx.strRef.f] = getattr(line, "prstDash", None)
    assert sorted(v or "solid" for v in styles.values()) == ["dash"] + ["solid"] * 4, styles


def test_out_capacity_says_its_unit_and_keys_shared_factories(mps):
    columns = {c.name: c for c in CAPACITY_OUT.columns}
    assert "fastest part number" in columns["capacity"].description
    assert "fastest" in columns["capacity"].unit
    frame = mps["Out Capacity"].frame
    keys = frame[["week", "factory", "supply_center"]]
    assert not keys.duplicated().any()
    # A factory of two supply centers: its rows of one week are next to each other.
    shared = frame.groupby(["week", "factory"]).size()
    assert (shared > 1).any(), "the example should have a factory of two supply centers"
    order = list(zip(frame["week"], frame["factory"]))
    for key in shared[shared > 1].index:
        at = [i for i, k in enumerate(order) if k == key]
        assert at == list(range(at[0], at[0] + len(at))), key


@pytest.mark.parametrize("low, high", [(121_570.4, 348_039.0), (321_570.7, 348_039.0),
                                       (0.52, 0.91), (3.0, 1_234.5), (-40.0, 75.0)])
def test_value_axes_run_between_round_numbers_around_the_values(low, high):
    from solver_core.outputs import axis_range

    bottom, top = axis_range(low, high)
    assert bottom <= low and top >= high
    # Both ends are multiples of one round step (1, 2 or 5 times a power of ten) of at
    # least a tenth of the values' span, and the axis is at most 2.5 times that span
    # (the differences stay visible).
    steps = [m * 10.0 ** e for e in range(-3, 7) for m in (1, 2, 5)]
    assert any(step >= (high - low) / 10 and all(
        abs(end / step - round(end / step)) < 1e-6 for end in (bottom, top)) for step in steps)
    assert top - bottom <= 2.5 * (high - low)
