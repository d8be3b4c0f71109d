"""Delivery allocation ``Out Why``: the cause of every late line, with its amounts.

Each hand-made case has one cause only and a counterfactual: the row's
``what_would_fix_it`` is read back as an input change (move a PO, add units, raise a
region capacity), the workbook is solved again through ``api.solve`` and the line is
on time. Days are counted from the plan date; rpd_penalty 1, epd_penalty 10.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver_core import api
from solver_core.delivery_allocation import examples, report, why
from solver_core.outputs import summary_items
from solver_core.workbook import read_workbook

try:
    from .da_support import day, line, random_instance, solve_and_check, workbook
except ImportError:  # tests/ is not a package
    from da_support import day, line, random_instance, solve_and_check, workbook

ANKER = Path(__file__).resolve().parents[1] / "xlsx_templates" / "examples" / \
    "delivery_allocation_anker.xlsx"


def why_row(solved, order: str, number: str = "1") -> dict:
    frame = solved.out["Out Why"]
    hit = frame[(frame["order"].astype(str) == order) & (frame["line"].astype(str) == number)]
    assert len(hit) == 1, frame
    return hit.iloc[0].to_dict()


def apply_fix(data: dict[str, pd.DataFrame], fix: str) -> dict[str, pd.DataFrame]:
    """The input changed as ``fix`` says; fails on a fix it cannot read."""
    data = {k: v.copy() for k, v in data.items()}
    done = 0
    for m in re.finditer(r"PO (\S+) arriving by (\d{4}-\d\d-\d\d) instead of", fix):
        pos = data["POs"]
        assert (pos["po"] == m[1]).sum() == 1, (m[1], pos)
        pos.loc[pos["po"] == m[1], "arrival_date"] = dt.date.fromisoformat(m[2])
        done += 1
    for m in re.finditer(r"([\d,.]+) more units of (\S+) at (\S+) by (\d{4}-\d\d-\d\d)", fix):
        extra = pd.DataFrame([{"po": "EXTRA", "supply_center": m[3], "sku": m[2],
                               "quantity": float(m[1].replace(",", "")),
                               "arrival_date": dt.date.fromisoformat(m[4]), "batch": ""}])
        data["POs"] = pd.concat([data["POs"], extra], ignore_index=True)
        done += 1
    for m in re.finditer(r"[Rr]aise RegionCapacity of (\S+) in (\S+) to ([\d,.]+)", fix):
        cap = data["RegionCapacity"]
        hit = (cap["sku"] == m[1]) & (cap["region"] == m[2])
        assert hit.sum() == 1
        cap.loc[hit, "capacity"] = float(m[3].replace(",", ""))
        done += 1
    assert done, f"no input change read from {fix!r}"
    return data


# ---------------------------------------------------------------------------
# No supply in time


def test_a_po_arriving_after_the_epd_is_named_and_moving_it_makes_the_line_on_time():
    # A wants 50 by day 3. By then the pool has 10 on hand and PO P1's 20 (day 2):
    # 30 units, 20 short even with no other line. P2 (100, day 10) is the earliest PO
    # that completes it; moving it to day 3 fixes the line.
    data, settings = workbook(
        [line("A", "S", 50, rpd=0, epd=3)], inventory=[("Y", "S", 10)],
        pos=[("P1", "Y", "S", 20, 2), ("P2", "Y", "S", 100, 10)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.NO_SUPPLY
    assert (row["days_late"], row["units_late"]) == (7, 20)
    assert "has 30 units (inventory 10, PO P1 20 on 2025-03-05), 20 fewer" in row["detail"]
    assert "earliest PO that would have served it: P2 (100 units, arriving 2025-03-13)" \
        in row["detail"]
    assert row["what_would_fix_it"] == f"PO P2 arriving by {day(3)} instead of {day(10)}."
    assert row["cost"] == pytest.approx(solved.status("A")["penalty"])
    assert solved.summary["largest_shortfall"] == \
        f"1 line late, because PO P2 arrives {day(10)} after their EPD"

    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"]
    assert fixed.out["Out Why"].empty
    assert "largest_shortfall" not in fixed.summary


def test_when_no_single_po_covers_the_gap_the_fix_is_the_missing_units():
    # 15 on hand, A wants 40 by day 2; the later POs bring 10 each: 25 short, no PO alone
    # covers it.
    data, settings = workbook(
        [line("A", "S", 40, rpd=0, epd=2)], inventory=[("Y", "S", 15)],
        pos=[("P1", "Y", "S", 10, 6), ("P2", "Y", "S", 10, 8), ("P3", "Y", "S", 10, 9)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.NO_SUPPLY
    assert row["units_late"] == 25
    assert "earliest PO that would have served it: P3" in row["detail"]
    assert row["what_would_fix_it"] == f"25 more units of S at Y by {day(2)}."
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"]


# ---------------------------------------------------------------------------
# Supply went to other lines


def test_two_lines_competing_for_one_po_name_the_winner_with_its_units_and_weights():
    # PO P1 brings 100 on day 2; A and B each want 60 by day 3, B's EPD weight is 3.
    # The optimum gives B its 60 and A 40; A waits for P2 (day 10) for the other 20.
    # 100 ≥ 60 were there by the EPD: the cause is B, and 20 more units by day 3 fix A.
    data, settings = workbook(
        [line("A", "S", 60, rpd=0, epd=3), line("B", "S", 60, rpd=0, epd=3, epd_weight=3)],
        pos=[("P1", "Y", "S", 100, 2), ("P2", "Y", "S", 100, 10)])
    solved = solve_and_check(data, settings)
    assert solved.status("B")["on_time"]
    row = why_row(solved, "A")
    assert row["cause"] == why.OTHER_LINES
    assert (row["days_late"], row["units_late"]) == (7, 20)
    assert "has 100 units, enough for the line's 60, but the plan gives 60 units to " \
        f"other lines by {day(3)}, leaving at most 40 for it (0 of them to 0 lines due " \
        "after it)" in row["detail"]
    assert f"B/1 60 units (RPD {day(0)}, EPD {day(3)}, rpd_weight 1, epd_weight 3)" \
        in row["detail"]
    assert row["what_would_fix_it"] == f"20 more units of S at Y by {day(3)}."
    assert len(solved.out["Out Why"]) == 1

    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"] and fixed.status("B")["on_time"]


def test_units_held_for_a_later_line_count_as_taken_by_it():
    # 30 on hand, nothing more until day 12. A (weight 1) wants 30 by day 2; B (weight 5)
    # wants 30 by day 6. B's units are held in stock from day 0 to day 6: by B's
    # delivery day the pool is empty for A, so B took them.
    data, settings = workbook(
        [line("A", "S", 30, rpd=0, epd=2), line("B", "S", 30, rpd=4, epd=6, epd_weight=5)],
        inventory=[("Y", "S", 30)], pos=[("P1", "Y", "S", 30, 12)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.OTHER_LINES
    assert f"the plan gives 30 units to other lines by {day(4)}, leaving at most 0 for it " \
        f"(30 of them to 1 line due after it): B/1 30 units (RPD {day(4)}, EPD {day(6)}" \
        in row["detail"]
    assert row["what_would_fix_it"] == f"30 more units of S at Y by {day(2)}."
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"]


# ---------------------------------------------------------------------------
# Region capacity


def test_a_region_at_capacity_gives_days_used_limit_and_the_capacity_that_fixes_it():
    # 100 on hand. Region R1 takes 20 units of S a day. B (10, due day 0, weight 5) takes
    # 10 of day 0; A (50, due day 1) gets 10 + 20 = 30 by its EPD. With a limit of c,
    # A gets (c − 10) + c by day 1: c = 30 is the least that serves it.
    data, settings = workbook(
        [line("A", "S", 50, rpd=0, epd=1), line("B", "S", 10, rpd=0, epd=0, epd_weight=5)],
        inventory=[("Y", "S", 100)], capacity=[("S", "R1", 20)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.REGION
    assert (row["days_late"], row["units_late"]) == (1, 20)
    assert (f"From {day(0)} to {day(1)} (2 days) it is at capacity on 2 ({day(0)}, {day(1)}): "
            "40 of 40 units used, 10 by other lines") in row["detail"]
    assert "at most 30 of the line's 50 units" in row["detail"]
    assert row["what_would_fix_it"] == "Raise RegionCapacity of S in R1 to 30."

    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"] and fixed.status("B")["on_time"]
    # One unit less is not enough: the stated capacity is the least that works.
    short = apply_fix(data, "Raise RegionCapacity of S in R1 to 29")
    assert not solve_and_check(short, settings).status("A")["on_time"]


def test_competing_lines_in_a_full_region_need_units_and_capacity():
    # Both causes at once: P1 (40, day 0) is shared by A and B (weight 5), both due
    # day 1, and region R1 takes 25 a day. The first cause in order is the other line;
    # its fix also names the capacity the extra units would need.
    data, settings = workbook(
        [line("A", "S", 40, rpd=0, epd=1), line("B", "S", 30, rpd=0, epd=1, epd_weight=5)],
        pos=[("P1", "Y", "S", 40, 0), ("P2", "Y", "S", 100, 9)], capacity=[("S", "R1", 25)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.OTHER_LINES
    assert "RegionCapacity of S in R1 to 35" in row["what_would_fix_it"]
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"] and fixed.status("B")["on_time"]


# ---------------------------------------------------------------------------
# Overdue lines and the summary sentence


def test_a_line_due_before_the_plan_date_is_overdue_not_short():
    data, settings = workbook([line("A", "S", 10, rpd=-5, epd=-3)], inventory=[("Y", "S", 10)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.OVERDUE
    assert (row["days_late"], row["units_late"]) == (3, 10)
    assert f"agree a new EPD on or after {day(0)}" in row["what_would_fix_it"]


def test_a_supply_gap_of_an_overdue_line_is_explained_from_the_plan_date():
    # Overdue and short: by day 0 only 4 of 10 units exist; P1 (10) arrives on day 5.
    data, settings = workbook([line("A", "S", 10, rpd=-5, epd=-3)], inventory=[("Y", "S", 4)],
                              pos=[("P1", "Y", "S", 10, 5)])
    row = why_row(solve_and_check(data, settings), "A")
    assert row["cause"] == why.NO_SUPPLY
    assert row["days_late"] == 8
    assert row["detail"].startswith(f"The EPD {day(-3)} was 3 days before the plan date")
    # Moved to the plan date, P1 completes it on day 0: still 3 days late, not 8.
    assert row["what_would_fix_it"] == (f"PO P1 arriving by {day(0)} instead of {day(5)}. "
                                        "It is then complete on the plan date, still 3 days "
                                        "after its EPD.")
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["days_late_epd"] == 3
    assert why_row(fixed, "A")["cause"] == why.OVERDUE


def test_rows_are_sorted_by_cost_and_the_sentence_names_the_most_common_cause():
    data, settings = workbook(
        [line("A", "S", 50, rpd=0, epd=3), line("B", "S", 5, rpd=0, epd=3),
         line("C", "T", 20, rpd=0, epd=1)],
        pos=[("P1", "Y", "S", 100, 10), ("P2", "Y", "T", 20, 4)])
    solved = solve_and_check(data, settings)
    frame = solved.out["Out Why"]
    assert list(frame["order"]) == ["A", "C", "B"]
    assert list(frame["cost"]) == sorted(frame["cost"], reverse=True)
    assert solved.summary["largest_shortfall"] == \
        f"3 lines late, most (2) because PO P1 arrives {day(10)} after their EPD"
    assert solved.outcome.message.endswith(solved.summary["largest_shortfall"])


# ---------------------------------------------------------------------------
# Every late line, exactly: random instances and the Anker example


def supply_by(raw_pos: pd.DataFrame, inventory: pd.DataFrame, plan: dt.date):
    """Units per (center, sku) usable by a date, from the input sheets alone."""
    events = defaultdict(list)
    for c, s, q in zip(inventory["supply_center"], inventory["sku"], inventory["available"]):
        events[(str(c), str(s))].append((plan, float(q)))
    for c, s, q, a in zip(raw_pos["supply_center"], raw_pos["sku"], raw_pos["quantity"],
                          raw_pos["arrival_date"]):
        a = pd.Timestamp(a).date()
        events[(str(c), str(s))].append((max(a, plan), float(q)))

    def by(center, sku, when: dt.date) -> float:
        return sum(q for d, q in events[(center, sku)] if d <= when)
    return by


def check_why(data: dict[str, pd.DataFrame], settings: dict, out: dict) -> None:
    """Every line not on time has one row; check 1 (supply by the EPD) recomputed."""
    status, rows = out["Out OrderStatus"], out["Out Why"]
    late = {(str(o), str(n)) for o, n, t in zip(status["order"], status["line"],
                                               status["on_time"]) if not t}
    keys = [(str(o), str(n)) for o, n in zip(rows["order"], rows["line"])]
    assert sorted(keys) == sorted(late)
    assert set(rows["cause"]) <= set(why.CAUSES)
    assert list(rows["cost"]) == sorted(rows["cost"], reverse=True)
    plan = settings["plan_date"]
    by = supply_by(data["POs"], data["Inventory"], plan)
    orders = data["Orders"].assign(line=data["Orders"]["line"].astype(str))
    for r in rows.to_dict("records"):
        o = orders[(orders["order"].astype(str) == str(r["order"]))
                   & (orders["line"] == str(r["line"]))].iloc[0]
        rpd, epd = pd.Timestamp(o["rpd"]).date(), pd.Timestamp(o["epd"]).date()
        # Nothing after horizon_end is planned.
        target = min(max(epd, rpd, plan), pd.Timestamp(settings["horizon_end"]).date())
        short = by(str(o["supply_center"]), str(o["sku"]), target) < float(o["quantity"]) - 1e-6
        if r["cause"] != why.OVERDUE:
            assert (r["cause"] == why.NO_SUPPLY) == short, r
        weight = o["epd_weight"] * settings["epd_penalty"]
        # An optimal plan keeps a line late for no reason only when that costs nothing.
        assert r["cause"] != why.NOT_OPTIMAL, r
        assert r["cause"] != why.NO_COST or weight == 0, r


@pytest.mark.parametrize("seed", range(25))
def test_every_late_line_of_random_instances_has_an_exact_cause(seed):
    data, settings = random_instance(seed)
    solved = solve_and_check(data, settings)
    check_why(data, settings, solved.out)


def test_every_late_line_of_the_anker_example_has_a_row_with_a_cause():
    raw = read_workbook(ANKER)
    outcome = api.solve(raw)
    assert outcome.exit_code == 0
    out = {s.name: s.frame for s in outcome.sheets}
    summary = summary_items(out)
    assert len(out["Out Why"]) == summary["late_lines"] > 0
    settings = dict(zip(raw["Settings"]["setting"], raw["Settings"]["value"]))
    settings["plan_date"] = pd.Timestamp(settings["plan_date"]).date()
    settings["epd_penalty"] = float(settings["epd_penalty"])
    settings["horizon_end"] = summary["horizon_end"]  # blank in the workbook: the default
    check_why(raw, settings, out)
    assert summary["largest_shortfall"].startswith(f"{summary['late_lines']} lines late, most (")
    assert np.all(out["Out Why"]["detail"].str.len() > 40)


# ---------------------------------------------------------------------------
# Plans that are not optimal: why.explain on a plan written by hand


def explain_plan(data, settings, deliveries):
    """Out Why of a hand-written plan (line index, day, quantity) of a hand-made case."""
    _, _, instance, problems = api.load(examples.raw_sheets(data, settings))
    assert not problems.has_errors()
    plan = pd.DataFrame(deliveries, columns=["line", "day", "quantity"])
    status = report.line_status(instance, plan)
    sheet, sentence = why.explain(instance, plan, status)
    return sheet.frame, sentence


def test_a_line_kept_late_for_nothing_is_blamed_on_the_plan_or_on_a_zero_rate():
    # 10 on hand, A due day 2, delivered on day 5 by the hand plan: nothing held it back.
    data, settings = workbook([line("A", "S", 10, rpd=0, epd=2)], inventory=[("Y", "S", 10)])
    frame, sentence = explain_plan(data, settings, [(0, 5, 10)])
    assert list(frame["cause"]) == [why.NOT_OPTIMAL]
    assert f"could be complete by {day(2)}" in frame["detail"][0]
    assert sentence == "1 line late, because the plan is not optimal"
    data, settings = workbook([line("A", "S", 10, rpd=0, epd=2, epd_weight=0)],
                              inventory=[("Y", "S", 10)])
    frame, _ = explain_plan(data, settings, [(0, 5, 10)])
    assert list(frame["cause"]) == [why.NO_COST]
    assert frame["what_would_fix_it"][0] == "Raise epd_weight of this line above 0."
    data, settings = workbook([line("A", "S", 10, rpd=0, epd=2)], inventory=[("Y", "S", 10)],
                              epd_penalty=0)
    frame, _ = explain_plan(data, settings, [(0, 5, 10)])
    assert frame["what_would_fix_it"][0] == "Set epd_penalty in Settings above 0."


def test_every_line_on_time_gives_an_empty_sheet_and_no_sentence():
    data, settings = workbook([line("A", "S", 10, rpd=0, epd=2)], inventory=[("Y", "S", 10)])
    frame, sentence = explain_plan(data, settings, [(0, 0, 10)])
    assert frame.empty and list(frame.columns) == why.WHY.column_names
    assert sentence is None


def test_a_po_move_must_also_cover_what_the_other_lines_take_first():
    # 20 on hand; B (10, due day 1, weight 5) takes 10 of them; A wants 30 by day 3.
    # Supply by day 3 is 20: 10 short even alone, 20 short with B served. P1 (15, day 8)
    # covers the first but not the second; P2 (25, day 9) covers both.
    data, settings = workbook(
        [line("A", "S", 30, rpd=0, epd=3), line("B", "S", 10, rpd=0, epd=1, epd_weight=5)],
        inventory=[("Y", "S", 20)], pos=[("P1", "Y", "S", 15, 8), ("P2", "Y", "S", 25, 9)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.NO_SUPPLY
    assert "has 20 units (inventory 20), 10 fewer than the line's 30" in row["detail"]
    assert "With the other lines as planned it needs 20 more." in row["detail"]
    assert row["what_would_fix_it"] == f"PO P2 arriving by {day(3)} instead of {day(9)}."
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"] and fixed.status("B")["on_time"]


def test_a_po_moved_to_the_epd_day_may_also_need_region_capacity():
    # A wants 30 by day 1 into R1 (20 a day); P1 (30) arrives day 5. Moved to day 1 it
    # can only go out on day 1: the limit must be 30 as well.
    data, settings = workbook([line("A", "S", 30, rpd=0, epd=1)],
                              pos=[("P1", "Y", "S", 30, 5)], capacity=[("S", "R1", 20)])
    solved = solve_and_check(data, settings)
    row = why_row(solved, "A")
    assert row["cause"] == why.NO_SUPPLY
    assert row["what_would_fix_it"] == (f"PO P1 arriving by {day(1)} instead of {day(5)}, "
                                        "and raise RegionCapacity of S in R1 to 30.")
    fixed = solve_and_check(apply_fix(data, row["what_would_fix_it"]), settings)
    assert fixed.status("A")["on_time"]
    only_po = apply_fix(data, f"PO P1 arriving by {day(1)} instead of")
    assert not solve_and_check(only_po, settings).status("A")["on_time"]

