"""The first screen of every result workbook: how good is the plan and what to do now.

``Out Summary`` opens with the planner's KPIs in words; the solver's internals are in
``Out Solver``; the items every run promises are all present and none is written twice.
"""

from pathlib import Path

import pytest

from solver_core import api, outputs
from solver_core.workbook import read_workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "solver_core" / "examples"
SCREEN_ROWS = 20  # what a planner sees without scrolling

# Per model: a cost row, a service row, the start of "what to do now", an internal item
# that belongs in Out Solver.
EXPECTED = {
    "production_distribution": ("total cost", "service (share of demand pallets",
                                "Book the trucks in Out Trucks", "pallets_moved"),
    "master_production": ("total cost", "service level", "Place the orders in Out Orders "
                          "with order_week = ", "components"),
    "delivery_allocation": ("penalty (weighted days late)", "on-time rate",
                            "Ship per Out Allocations", "sku_groups"),
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def solved(request):
    model = request.param
    raw = read_workbook(EXAMPLES / f"{model}_small.xlsx")
    outcome = api.solve(raw, {"time_limit_s": 10})
    assert outcome.exit_code == 0, outcome.message
    return model, {s.name: s for s in outcome.sheets}


def test_first_screen_says_quality_cost_service_and_what_to_do(solved):
    model, sheets = solved
    cost, service, todo, _ = EXPECTED[model]
    frame = sheets["Out Summary"].frame
    screen = dict(zip(frame["item"][:SCREEN_ROWS], frame["value"][:SCREEN_ROWS]))
    status = screen["status"]
    assert list(frame["item"][:2]) == ["plan quality", "status"]
    quality = screen["plan quality"]
    if status == "optimal":
        assert quality.endswith("(proven)"), quality
    else:
        assert quality.startswith("not proven optimal"), quality
    assert isinstance(screen[cost], float | int)
    service_row = next(k for k in screen if k.startswith(service))
    assert 0 <= screen[service_row] <= 1
    assert screen["what to do now"].startswith(todo), screen["what to do now"]
    assert "time limit" in screen["time used"]
    # The numbers of the first screen are formatted (money, percent), not General.
    formats = sheets["Out Summary"].cell_formats
    rows = list(frame["item"])
    assert formats[(rows.index(cost), "value")] == outputs.MONEY_FORMAT
    assert formats[(rows.index(service_row), "value")] == outputs.PERCENT_FORMAT


def test_required_items_follow_the_details_row_and_internals_are_in_out_solver(solved):
    model, sheets = solved
    items = list(sheets["Out Summary"].frame["item"])
    assert len(items) <= SCREEN_ROWS + len(outputs.DETAIL_ITEMS)
    details = items.index(outputs.DETAILS)
    assert details < SCREEN_ROWS
    for item in outputs.DETAIL_ITEMS:
        assert item in items, item
        assert item == "status" or items.index(item) > details, item
    assert len(items) == len(set(items)), "an Out Summary item is written twice"
    solver = sheets["Out Solver"].frame
    internal = EXPECTED[model][3]
    assert internal in set(solver["item"]), internal
    assert not set(solver["item"]) & set(items), "Out Solver repeats Out Summary items"
    # Read back together they hold every item the run reported.
    together = outputs.summary_items({n: s.frame for n, s in sheets.items()})
    assert together["model"] == model and internal in together


def test_out_summary_and_the_result_line_give_cost_bound_and_the_gap_between(solved):
    model, sheets = solved
    frame = sheets["Out Summary"].frame
    items = dict(zip(frame["item"], frame["value"]))
    cost, bound, gap = items["objective"], items["bound"], items["mip_gap"]
    assert bound <= cost + 1e-6
    # The gap is the plan's own, measured against the bound written beside it.
    assert gap == pytest.approx((cost - bound) / max(abs(cost), 1e-9), abs=1e-9)
    rows, formats = list(frame["item"]), sheets["Out Summary"].cell_formats
    assert formats[(rows.index("bound"), "value")] == formats[(rows.index("objective"), "value")]
    run = api.ModelRun(items["status"], items, [], has_plan=True)
    proof = (f"at the proven bound {bound:,.2f}" if gap <= outputs.NO_GAP else
             f"within {outputs.gap_percent(gap)} of the proven bound {bound:,.2f}")
    assert f"cost {cost:,.2f}, {proof}" in api.result_line(model, run)


@pytest.mark.parametrize("status, gap, words", [
    ("optimal", 0.0, "the best possible plan (proven)"),
    ("optimal", 0.008, "within 0.80% of the best possible plan (proven)"),
    # 21 above a bound of 1,908,527: small, but not nothing, and written so
    ("optimal", 1.1e-5, "within 0.0011% of the best possible plan (proven)"),
    ("time_limit", 0.032, "not proven optimal (time limit reached): at most 3.20% above "
                          "the best possible"),
    ("time_limit", None, "not proven optimal (time limit reached): no bound on how far "
                         "from the best possible"),
    ("stopped", 0.1, "stopped by you: best plan found so far, at most 10.00% above the best "
                     "possible"),
])
def test_plan_quality_never_says_more_than_was_proven(status, gap, words):
    assert outputs.plan_quality(status, gap) == words
