"""Delivery allocation: tiny cases whose optimum was computed by hand.

Days are counted from the plan date (day 0); rpd_penalty 1 and epd_penalty 10 per unit
and day unless a case says otherwise. Every solve also runs the invariant checker.
"""

from __future__ import annotations

import pytest

try:
    from .da_support import day, line, solve_and_check, workbook
except ImportError:  # tests/ is not a package
    from da_support import day, line, solve_and_check, workbook


def sources_of(solved, order):
    a = solved.allocations()
    a = a[a["order"].astype(str) == order]
    return sorted(zip(a["source"], a["date"], a["quantity"]))


def test_inventory_goes_to_the_urgent_line_and_the_later_po_to_the_patient_one():
    # A asks first (RPD 0) but can wait until its EPD on day 10; B asks on day 1 and is
    # due the same day. 10 units on hand, 10 more on PO P1 on day 5.
    # Optimum: B takes the inventory on day 1 (cost 0); A takes P1 on day 5:
    # 10 units × 5 days × 1 = 50. FCFS gives A the inventory and B waits for P1:
    # 10 × 4 × 1 + 10 × 4 × 10 = 440.
    data, settings = workbook(
        [line("A", "S", 10, rpd=0, epd=10), line("B", "S", 10, rpd=1, epd=1)],
        inventory=[("Y", "S", 10)], pos=[("P1", "Y", "S", 10, 5)])
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == pytest.approx(50)
    assert sources_of(solved, "B") == [("inventory", day(1), 10)]
    assert sources_of(solved, "A") == [("P1", day(5), 10)]
    assert solved.summary["on_time_rate"] == 1.0
    assert solved.summary["baseline_penalty"] == pytest.approx(440)
    assert solved.summary["baseline_late_lines"] == 1
    assert solved.status("B", sheet="Out Baseline")["days_late_epd"] == 4


def test_two_lines_compete_for_one_po():
    # 15 units arrive on day 3 (PO P1), nothing on hand; both lines want 10 on day 0,
    # due day 2; B's EPD weight is 3. Horizon end day 10: a missing unit costs c(11).
    # Per unit on day 3: A 3 + 10 = 13, B 3 + 30 = 33; missing: A 11 + 90 = 101,
    # B 11 + 270 = 281. Best: B gets 10 (330), A gets 5 (65) and misses 5 (505) = 900.
    data, settings = workbook(
        [line("A", "S", 10, rpd=0, epd=2), line("B", "S", 10, rpd=0, epd=2, epd_weight=3)],
        pos=[("P1", "Y", "S", 15, 3)], horizon_end=day(10))
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == pytest.approx(900)
    assert sources_of(solved, "B") == [("P1", day(3), 10)]
    assert sources_of(solved, "A") == [("P1", day(3), 5)]
    a = solved.status("A")
    assert (a["delivered"], a["status"], a["on_time"]) == (5, "partial", False)
    assert a["completion_date"] is None
    assert a["days_late_epd"] == 9  # counted to the day after the horizon


def test_region_capacity_spreads_a_line_over_three_days():
    # 30 units on hand, line A wants 30 on day 2 (due day 3) in R1, where only 10 a day
    # can be delivered: days 2, 3, 4. RPD: 10×0 + 10×1 + 10×2 = 30; EPD: 10×1×10 = 100.
    # Line B in R2 has no limit and gets its 5 units on its RPD.
    data, settings = workbook(
        [line("A", "S", 30, rpd=2, epd=3, region="R1"),
         line("B", "S", 5, rpd=2, epd=2, region="R2")],
        inventory=[("Y", "S", 35)], capacity=[("S", "R1", 10)])
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == pytest.approx(130)
    assert sources_of(solved, "A") == [("inventory", day(2), 10), ("inventory", day(3), 10),
                                       ("inventory", day(4), 10)]
    assert sources_of(solved, "B") == [("inventory", day(2), 5)]
    a = solved.status("A")
    assert (a["completion_date"], a["days_late_rpd"], a["days_late_epd"], a["on_time"]) == (
        day(4), 2, 1, False)


def test_region_capacity_is_shared_by_lines_and_supply_centers():
    # Two supply centers ship the same SKU into R1 (limit 10 a day); each line wants 10
    # on day 0. One can arrive on day 0, the other only on day 1: penalty 10 × 1 = 10,
    # given to A whose EPD is later (no EPD penalty).
    data, settings = workbook(
        [line("A", "S", 10, rpd=0, epd=5, center="Y"), line("B", "S", 10, rpd=0, epd=0,
                                                            center="Z")],
        inventory=[("Y", "S", 10), ("Z", "S", 10)], capacity=[("S", "R1", 10)])
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == pytest.approx(10)
    assert sources_of(solved, "B") == [("inventory", day(0), 10)]
    assert sources_of(solved, "A") == [("inventory", day(1), 10)]


@pytest.mark.parametrize("mode, early, late, penalty", [
    # Linear: A 6 per unit on day 6 and 10 on day 10; B (weight 1.5) 3 and 9. Day 6
    # saves B 6 per unit and A only 4: B first, 1.5 × 20 + 100 = 130.
    ("linear", "B", "A", 130),
    # Cumulative: A 21 and 55; B 1.5 × 3 and 1.5 × 21. Day 6 saves A 34 per unit, B 27:
    # A first, 210 + 1.5 × 210 = 525.
    ("cumulative", "A", "B", 525),
])
def test_cumulative_and_linear_penalties_choose_differently(mode, early, late, penalty):
    data, settings = workbook(
        [line("A", "S", 10, rpd=0, epd=20), line("B", "S", 10, rpd=4, epd=20, rpd_weight=1.5)],
        pos=[("P1", "Y", "S", 10, 6), ("P2", "Y", "S", 10, 10)], epd_penalty=0, penalty=mode)
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == pytest.approx(penalty)
    assert sources_of(solved, early) == [("P1", day(6), 10)]
    assert sources_of(solved, late) == [("P2", day(10), 10)]


def test_overdue_line_is_served_on_the_plan_date_and_charged_from_its_rpd():
    # RPD 3 days before the plan date, EPD the day before: 4 × (3 × 1 + 1 × 10) = 52.
    data, settings = workbook([line("A", "S", 4, rpd=-3, epd=-1)], inventory=[("Y", "S", 4)])
    solved = solve_and_check(data, settings)
    assert sources_of(solved, "A") == [("inventory", day(0), 4)]
    assert solved.summary["penalty"] == pytest.approx(52)
    assert not solved.status("A")["on_time"]


def test_a_line_that_costs_nothing_to_delay_is_still_served_early():
    # Zero weights make every plan for A cost 0; the second pass still ships A as soon
    # as possible from stock nobody else needs.
    data, settings = workbook(
        [line("A", "S", 5, rpd=1, epd=2, rpd_weight=0, epd_weight=0),
         line("B", "S", 5, rpd=1, epd=1)],
        inventory=[("Y", "S", 10)])
    solved = solve_and_check(data, settings)
    assert solved.summary["penalty"] == 0
    assert sources_of(solved, "A") == [("inventory", day(1), 5)]
    assert solved.summary["on_time_rate"] == 1.0


def test_po_arriving_before_the_plan_date_is_on_hand():
    data, settings = workbook([line("A", "S", 5, rpd=0, epd=0)], pos=[("P0", "Y", "S", 5, -4)])
    solved = solve_and_check(data, settings)
    assert sources_of(solved, "A") == [("P0", day(0), 5)]
    assert solved.summary["penalty"] == 0


def test_po_batches_are_separate_named_sources_used_in_arrival_order():
    # Batch 1 (4 units) on day 2, batch 2 (6 units) on day 5; one line of 10 due day 0.
    data, settings = workbook(
        [line("A", "S", 10, rpd=0, epd=9)],
        pos=[("P1", "Y", "S", 6, 5, "2"), ("P1", "Y", "S", 4, 2, "1")])
    solved = solve_and_check(data, settings)
    assert sources_of(solved, "A") == [("P1 / 1", day(2), 4), ("P1 / 2", day(5), 6)]
    assert solved.summary["penalty"] == pytest.approx(4 * 2 + 6 * 5)


def test_parallel_and_sequential_solves_agree():
    data, settings = workbook(
        [line(f"O{i}", f"S{i % 5}", 10 + i, rpd=i % 7, epd=i % 7 + 2, region=f"R{i % 3}")
         for i in range(25)],
        inventory=[("Y", f"S{k}", 30) for k in range(5)],
        pos=[(f"P{k}", "Y", f"S{k}", 40, 3 + k) for k in range(5)],
        capacity=[("S1", "R1", 8)])
    one = solve_and_check(data, settings, workers=1)
    two = solve_and_check(data, settings, workers=2)
    assert one.summary["penalty"] == pytest.approx(two.summary["penalty"])
    assert two.summary["workers"] == 2


def test_out_sheets_are_sorted_time_first_with_numeric_and_text_order_numbers():
    # Orders "10" and "9" are written as numbers, "A" as text: one column holds both.
    # Allocations go by date, then order (numbers before text, 9 before 10), then line;
    # the status sheets by EPD, then order and line.
    data, settings = workbook(
        [line("A", "S", 5, rpd=0, epd=4), line("10", "S", 5, rpd=2, epd=2),
         line("9", "S", 5, rpd=2, epd=3), line("9", "T", 5, rpd=0, epd=1, number="2")],
        inventory=[("Y", "S", 15), ("Y", "T", 5)])
    solved = solve_and_check(data, settings)
    a = solved.allocations()
    assert list(zip(a["date"], a["order"], a["line"])) == [
        (day(0), 9, 2), (day(0), "A", 1), (day(2), 9, 1), (day(2), 10, 1)]
    for sheet in ("Out OrderStatus", "Out Baseline"):
        s = solved.out[sheet]
        assert list(zip(s["epd"], s["order"])) == [
            (day(1), 9), (day(2), 10), (day(3), 9), (day(4), "A")], sheet
