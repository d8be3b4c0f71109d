"""Out Why of the master production schedule: one hand-built case per cause, where that
cause is the only one, with the amounts and names it must report; and for each a
counterfactual: apply ``what_would_fix_it`` to the input, solve again, and the shortfall
is gone or smaller by the stated amount (docs/master_production.md, "Out Why")."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from mps_support import (
    MONDAY,
    check_outcome,
    inputs_of,
    make_case,
    plan_cost,
    read_inputs,
    solve_and_check,
    week_code,
)

from solver_core import api
from solver_core.master_production import examples


def why_rows(outcome) -> pd.DataFrame:
    return next(s.frame for s in outcome.sheets if s.name == "Out Why")


def sheet(outcome, name) -> pd.DataFrame:
    return next(s.frame for s in outcome.sheets if s.name == name)


def unmet(outcome, sku: str = "S") -> dict[str, float]:
    """Unmet demand per week of one SKU, read from Out Projection."""
    proj = sheet(outcome, "Out Projection")
    proj = proj[proj["sku"] == sku]
    return dict(zip(proj["week"], proj["unmet_demand"]))


def number(text: str, after: str) -> float:
    """The number that follows ``after`` in ``text`` (thousands separators allowed)."""
    m = re.search(re.escape(after) + r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)", text)
    assert m, f"no number after {after!r} in {text!r}"
    return float(m.group(1).replace(",", ""))


def only_cause(rows: pd.DataFrame, cause: str) -> None:
    assert len(rows), "the plan has no shortfall to explain"
    assert set(rows["cause"]) == {cause}, rows[["week", "cause", "detail"]].to_string()


# ---------------------------------------------------------------------------
# factory capacity


def capacity_case(days=None):
    """10 units a week of capacity against 15 of demand from week 2: 5 lost a week."""
    return make_case([{"sku": "S", "lead_time_weeks": 2}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 10}],
                     {"S": [0, 0, 15, 15, 15, 15]}, weeks=6, days=days)


def test_factory_at_capacity_is_the_cause_with_factory_weeks_and_amounts():
    outcome, summary, _ = solve_and_check(*capacity_case())
    rows = why_rows(outcome)
    only_cause(rows, "factory capacity")
    assert sorted(rows["week"]) == [week_code(k) for k in (2, 3, 4, 5)]
    for r in rows.to_dict("records"):
        t = [week_code(k) for k in range(6)].index(r["week"])
        assert r["shortfall"].startswith("5 units lost")
        assert r["cost"] == pytest.approx(5 * 100)
        weeks = week_code(0) if t == 2 else f"{week_code(0)}–{week_code(t - 2)}"
        assert r["detail"].startswith(f"F 100.0% used in {weeks}: every factory that makes "
                                      "it is full")
        assert r["what_would_fix_it"] == (f"5 more units of capacity at F in week "
                                          f"{week_code(t - 2)} (units of S)")
    assert summary["largest_shortfall"].startswith(
        f"S (SC): 20 units lost in {week_code(2)}–{week_code(5)[4:]}")
    assert "at capacity" in summary["largest_shortfall"]
    assert "S (SC): 20 units lost" in outcome.message


def test_raising_capacity_as_stated_removes_the_shortfall():
    outcome, _, _ = solve_and_check(*capacity_case())
    row = why_rows(outcome).set_index("week").loc[week_code(3)]
    amount = number(row["what_would_fix_it"], "")
    week = row["what_would_fix_it"].split("in week ")[1].split()[0]
    k = [week_code(i) for i in range(6)].index(week)
    # 10 units a production day: the stated units are amount / 10 more days that week.
    days = [1.0] * 6
    days[k] += amount / 10
    before = unmet(outcome)
    after = unmet(solve_and_check(*capacity_case(days={"F": days}))[0])
    assert after[week_code(3)] == 0
    assert sum(after.values()) == pytest.approx(sum(before.values()) - amount)


# ---------------------------------------------------------------------------
# lead time longer than the first demand weeks


def lead_case(open_pos=None):
    return make_case([{"sku": "S", "lead_time_weeks": 3}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 100}],
                     {"S": [10, 10, 10, 10, 10, 10]}, weeks=6, inventory={"S": 15},
                     open_pos=open_pos)


def test_weeks_before_the_first_arrival_are_explained_by_the_lead_time():
    outcome, _, _ = solve_and_check(*lead_case())
    rows = why_rows(outcome)
    only_cause(rows, "before the first possible arrival")
    got = dict(zip(rows["week"], rows["shortfall"]))
    assert got == {week_code(1): "5 units lost, 5 below target",
                   week_code(2): "10 units lost, 10 below target"}
    assert (rows["cost"] == 0).all()  # before the lead time: not in the objective
    r = rows.set_index("week").loc[week_code(1)]
    assert f"Lead time 3 weeks: an order placed now arrives {week_code(3)}" in r["detail"]
    assert f"Available in {week_code(1)}: 5 units (stock at the start 15" in r["detail"]
    assert r["what_would_fix_it"] == f"an open PO of 5 units arriving by week {week_code(1)}"


def test_the_stated_open_po_removes_the_lost_sales():
    outcome, _, _ = solve_and_check(*lead_case())
    row = why_rows(outcome).set_index("week").loc[week_code(1)]
    qty = number(row["what_would_fix_it"], "an open PO of")
    po = [{"factory": "F", "sku": "S", "supply_center": "SC", "quantity": qty,
           "arrival_date": MONDAY + dt.timedelta(weeks=1)}]
    before = unmet(outcome)
    after = unmet(solve_and_check(*lead_case(open_pos=po))[0])
    assert after[week_code(1)] == 0
    assert sum(after.values()) == pytest.approx(sum(before.values()) - qty)


# ---------------------------------------------------------------------------
# cheaper to lose


def cheap_case(lost_sales_cost=20.0):
    """Demand in week 4 only; the factory is closed in the week that would make it just
    in time, so serving it means holding stock a week at 30 against a loss of 20."""
    return make_case([{"sku": "S", "lead_time_weeks": 2, "holding_cost": 30.0,
                       "lost_sales_cost": lost_sales_cost}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 100}],
                     {"S": [0, 0, 0, 0, 10, 0]}, weeks=6, days={"F": [1, 1, 0, 1, 1, 1]})


def test_a_penalty_below_the_holding_cost_is_cheaper_to_lose():
    outcome, _, _ = solve_and_check(*cheap_case())
    rows = why_rows(outcome)
    only_cause(rows, "cheaper to lose")
    r = rows.iloc[0]
    assert r["week"] == week_code(4) and r["shortfall"].startswith("10 units lost")
    assert r["detail"].startswith("lost_sales_cost 20 a unit against holding_cost 30 a "
                                  "unit-week: the cheapest way to serve it, 10 units more "
                                  f"from F ordered {week_code(1)} (arriving {week_code(3)}")
    assert f"orders arriving {week_code(4)} find their factories full or closed" in r["detail"]
    assert "adds 300.00 of holding and saves 200.00 of lost sales" in r["detail"]
    # Serving it from week 3 costs 30 a unit, losing it 20: break-even at 30.
    assert r["what_would_fix_it"] == "raise lost_sales_cost of S above 30.00"


def test_raising_the_lost_sales_cost_above_the_stated_value_serves_it():
    outcome, _, _ = solve_and_check(*cheap_case())
    threshold = number(why_rows(outcome).iloc[0]["what_would_fix_it"], "above")
    after = solve_and_check(*cheap_case(lost_sales_cost=threshold + 1))[0]
    assert sum(unmet(after).values()) == 0
    # Just below the stated value it still does not pay: the value is the break-even.
    still = solve_and_check(*cheap_case(lost_sales_cost=threshold - 1))[0]
    assert unmet(still)[week_code(4)] == 10


# ---------------------------------------------------------------------------
# MOQ


def moq_case(moq=50):
    """5 units of demand; an order of the MOQ holds 45 units for 4 weeks at 10."""
    return make_case([{"sku": "S", "lead_time_weeks": 2, "moq": moq, "holding_cost": 10.0,
                       "lost_sales_cost": 20.0}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 100}],
                     {"S": [0, 0, 5, 0, 0, 0]}, weeks=6)


def test_an_moq_above_the_shortfall_is_the_cause():
    outcome, _, _ = solve_and_check(*moq_case())
    rows = why_rows(outcome)
    only_cause(rows, "MOQ")
    r = rows.iloc[0]
    assert r["week"] == week_code(2) and r["shortfall"].startswith("5 units lost")
    assert "MOQ 50 against a shortfall of 5" in r["detail"]
    # 45 units held in weeks 2..5 at 10 (1,800) less 5 lost at 20 (100).
    assert "changes the cost by +1,700.00" in r["detail"]
    assert "would lower the cost by 100.00" in r["detail"]
    assert r["what_would_fix_it"] == "lower the MOQ of S to 5 (or accept the shortfall)"


def test_lowering_the_moq_as_stated_serves_it():
    outcome, _, _ = solve_and_check(*moq_case())
    new_moq = number(why_rows(outcome).iloc[0]["what_would_fix_it"], "to")
    after = solve_and_check(*moq_case(moq=new_moq))[0]
    assert sum(unmet(after).values()) == 0


# ---------------------------------------------------------------------------
# discontinued


def stop_case(stop=1):
    return make_case([{"sku": "S", "lead_time_weeks": 2, "holding_cost": 30.0,
                       "lost_sales_cost": 20.0, "stop_week": week_code(stop)}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 100}],
                     {"S": [0, 0, 0, 0, 10, 10]}, weeks=6)


def test_a_stop_week_before_the_weeks_that_could_serve_it_is_the_cause():
    outcome, _, _ = solve_and_check(*stop_case())
    rows = why_rows(outcome)
    only_cause(rows, "discontinued")
    fixes = dict(zip(rows["week"], rows["what_would_fix_it"]))
    assert fixes == {week_code(4): f"move stop_week of S to {week_code(2)} or later",
                     week_code(5): f"move stop_week of S to {week_code(3)} or later"}
    r = rows.set_index("week").loc[week_code(5)]
    assert f"stop_week {week_code(1)}" in r["detail"]
    assert f"the last order arrives {week_code(3)}" in r["detail"]


def test_moving_the_stop_week_as_stated_serves_it():
    outcome, _, _ = solve_and_check(*stop_case())
    row = why_rows(outcome).set_index("week").loc[week_code(5)]
    week = row["what_would_fix_it"].split(" to ")[1].split()[0]
    after = solve_and_check(*stop_case(stop=[week_code(k) for k in range(8)].index(week)))[0]
    assert sum(unmet(after).values()) == 0


# ---------------------------------------------------------------------------
# the small example: capacity is blamed only where it binds


def test_small_example_blames_capacity_only_where_every_factory_is_full():
    data, settings = examples.small_example()
    outcome = api.solve(examples.raw_sheets(data, settings))
    assert outcome.exit_code == 0, outcome.message
    skus = data["SKUs"].set_index(["supply_center", "sku"])
    cap = sheet(outcome, "Out Capacity").set_index(["supply_center", "factory", "week"])
    part = data["Capacity"]["pn"] if "pn" in data["Capacity"] else data["Capacity"]["sku"]
    makers = data["Capacity"].assign(part=part).groupby(["supply_center", "part"])[
        "factory"].apply(set)
    weeks = list(dict.fromkeys(sheet(outcome, "Out Projection")["week"]))

    def full(sc, sku, t):
        """Every factory of the SKU full (≥ 99.5%) or closed in every capacity week of
        the orders that could arrive by week t."""
        s = skus.loc[(sc, sku)]
        lead, transport = int(s["lead_time_weeks"]), int(s["transport_weeks"])
        cs = [a - transport - 1 for a in range(lead, t + 1) if a - transport - 1 >= 0]
        assert cs
        for f in makers[(sc, s["pn"])]:
            for c in cs:
                r = cap.loc[(sc, f, weeks[c])]
                if r["capacity"] > 0 and r["utilization"] < 0.995:
                    return False
        return True

    why = why_rows(outcome)
    blamed = why[why["cause"] == "factory capacity"]
    assert len(blamed)
    for r in blamed.to_dict("records"):
        assert full(r["supply_center"], r["sku"], weeks.index(r["week"])), r
    # Out Warnings names causes from the same check: wherever it says capacity, it binds.
    warn = sheet(outcome, "Out Warnings")
    for r in warn[warn["kind"].isin(["stockout", "target_shortfall"])].to_dict("records"):
        for part in r["message"].split(": ", 1)[1].split("; "):
            if part.startswith("factory capacity in "):
                span = part.removeprefix("factory capacity in ").split(" (Out Why)")[0]
                first = weeks.index(span.split("–")[0].split(",")[0])
                assert full(r["supply_center"], r["sku"], first), r
    # The claim this replaces: A100 short a unit in 2025W14 "because its factories are at
    # capacity", while F1 is far from full in the weeks that could serve it.
    a100 = warn[(warn["sku"] == "A100") & (warn["kind"] == "stockout")]
    if len(a100):
        assert "at capacity" not in a100.iloc[0]["message"]
        assert not full("Y", "A100", weeks.index("2025W14"))


# ---------------------------------------------------------------------------
# cheaper to be below target: serving it means holding stock and ordering less later


def target_case(shortfall_cost=0.5):
    """Target = two weeks of demand; holding the second week costs 1 a unit, being
    below target 0.5: the plan keeps no safety stock."""
    return make_case([{"sku": "S", "lead_time_weeks": 2, "safety_stock_weeks": 1,
                       "target_shortfall_cost": shortfall_cost}],
                     [{"factory": "F", "sku": "S", "units_per_hour": 100}],
                     {"S": [10] * 8}, weeks=8, inventory={"S": 30})


def test_a_target_cost_below_holding_is_cheaper_to_be_short():
    outcome, _, _ = solve_and_check(*target_case())
    rows = why_rows(outcome)
    only_cause(rows, "cheaper to lose")
    assert sorted(rows["week"]) == [week_code(k) for k in range(2, 7)]
    for r in rows.to_dict("records"):
        assert r["shortfall"] == "10 units below target" and r["cost"] == pytest.approx(5)
        # Serve it just in time and order 10 fewer the week after: 10 held a week (10.00)
        # against 10 unit-weeks below target (5.00).
        assert "and 10 fewer arriving after" in r["detail"]
        assert "adds 10.00 of holding and saves 5.00" in r["detail"]
        assert r["what_would_fix_it"] == "raise target_shortfall_cost of S above 1.00"


def test_raising_the_target_cost_above_the_stated_value_keeps_the_target():
    outcome, _, _ = solve_and_check(*target_case())
    threshold = number(why_rows(outcome).iloc[0]["what_would_fix_it"], "above")
    after = solve_and_check(*target_case(shortfall_cost=threshold + 0.5))[0]
    proj = sheet(after, "Out Projection")
    assert proj[proj["week"] >= week_code(2)]["target_shortfall"].sum() == 0
    still = solve_and_check(*target_case(shortfall_cost=threshold - 0.1))[0]
    assert len(why_rows(still)) == len(why_rows(outcome))


# ---------------------------------------------------------------------------
# "plan could be improved" is a claim about the plan: check it independently


def test_improvements_named_on_the_small_example_lower_the_cost_as_stated(monkeypatch):
    from solver_core.master_production import solve, start

    def round_down(comp, x):
        q = np.floor(np.clip(x, 0.0, None) + 1e-6)
        return np.where(q < comp.moq[comp.order_sku], 0.0, q)

    # Every order rounded down, as it is (no whole-unit re-optimisation, no repair): that leaves
    # moves that lower the cost, and each one Out Why names must do so by the stated
    # amount.
    monkeypatch.setattr(solve, "_whole_units", lambda *args: None)
    monkeypatch.setattr(solve, "repair_rounding", lambda comp, x, rounded, *args: rounded)
    monkeypatch.setattr(solve, "round_plan", round_down)
    monkeypatch.setattr(start, "round_plan", round_down)
    data, settings = examples.small_example()
    raw = examples.raw_sheets(data, settings)
    outcome = api.solve(raw)
    why = why_rows(outcome)
    rows = why[why["cause"] == "plan could be improved"]
    if not len(rows):
        pytest.skip("the plan leaves nothing to improve")
    x = read_inputs(*inputs_of(raw))
    base = check_outcome(raw, outcome)
    pattern = (r"(\d[\d,]*) units? more from (\S+) ordered (\S+) \(arriving (\S+), capacity "
               r"in (\S+)\) would lower the plan's cost by ([\d,.]+)\.")
    cap = sheet(outcome, "Out Capacity").set_index(["supply_center", "factory", "week"])
    for r in rows.to_dict("records"):
        m = re.fullmatch(pattern, r["detail"])
        assert m, r["detail"]
        q, f, _placed, arrival, cweek, gain = m.groups()
        q, gain = float(q.replace(",", "")), float(gain.replace(",", ""))
        sc, sku = r["supply_center"], r["sku"]
        c = cap.loc[(sc, f, cweek)]
        room = c["capacity"] - c["used_by_open_pos"] - c["used_by_plan"]
        assert q * x.use(sc, f, sku) <= room + 1e-6
        arrivals = base["arrivals"].copy()
        arrivals[x.pidx[(sc, sku)], x.widx[arrival]] += q
        assert plan_cost(x, arrivals) == pytest.approx(base["cost"] - gain, abs=0.006)



def test_rows_before_the_first_arrival_are_the_same_for_every_plan(monkeypatch):
    """The run computes the rows before each SKU's first possible arrival before solving
    (``why.before_first_arrival``), so a stop does not wait for them: they must be the rows
    Out Why gives for any plan, here the solved one and the plan with no orders."""
    import solver_core.master_production as mps
    from solver_core.master_production import why

    seen = {}
    explain = why.explain

    def spy(inst, plan, ev, early=None):
        seen.update(inst=inst, plan=plan, ev=ev)
        return explain(inst, plan, ev, early)

    monkeypatch.setattr(why, "explain", spy)
    data, settings = examples.small_example()
    api.solve(examples.raw_sheets(data, settings))
    inst, plan = seen["inst"], seen["plan"]
    early = why.before_first_arrival(inst)
    assert sum(len(rows) for rows in early.values()) > 0
    lead = inst.skus["lead_time_weeks"].to_numpy()
    no_orders = plan.iloc[:0]
    for p in (plan, no_orders):
        ev = mps.evaluate(inst, p)
        computed = explain(inst, p, ev)  # the early rows computed inside
        assert [vars_of(r) for r in explain(inst, p, ev, early)] == \
            [vars_of(r) for r in computed]
        before = [vars_of(r) for r in computed if r.t < lead[r.p]]
        assert before == [vars_of(r) for rows in early.values() for r in rows]
        assert {r["cause"] for r in before} == {"before the first possible arrival"}
        # every short week is explained, before the lead time and after it
        short = (ev.projection.unmet > 1e-6) | (ev.projection.shortfall > 1e-6)
        assert sorted((r.p, r.t) for r in computed) == list(zip(*np.nonzero(short)))


def vars_of(reason) -> dict:
    return {k: getattr(reason, k) for k in reason.__dataclass_fields__}
