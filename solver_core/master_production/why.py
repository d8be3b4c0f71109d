"""Out Why of an MPS plan: the cause of every week of lost sales or target shortfall.

Causes are computed from the instance and the plan, not guessed
(docs/master_production.md, "Out Why"). For a SKU ``p`` short in week ``t``, the orders
that could have served it arrive in ``a = τ + SLA^S_p ≤ t`` and use capacity in
``c = a − SLA^T_p − 1``. Each such order, one factory at a time, is either blocked
(placed after ``stop_week``; or its factory-week is at ≥ 99.5% of capacity, closed, or
has less than one unit of the SKU left) or free. For the free ones the SKU is
re-projected (``simulate.project``) with the week's shortfall added to that order (at
least the MOQ when it is a new order), alone and with as many units fewer on the plan's
arrivals after ``t``; the change of the SKU's cost is exact. The first cause that holds
is the row's cause:

1. ``before the first possible arrival``: ``t < SLA^S_p``;
2. ``no factory``: no factory in Capacity makes the SKU;
3. ``plan could be improved``: one of these moves lowers the cost (the solve stopped
   within its gap or time limit, or relaxed quantities were rounded);
4. ``discontinued``: the order arriving in ``t`` itself would be placed after stop_week;
5. ``factory capacity``: every order that could arrive by ``t`` is blocked by capacity;
6. ``MOQ``: a move below the MOQ would lower the cost, none of at least the MOQ does;
7. ``cheaper to lose``: every move costs more in holding than the lost sales or target
   shortfall it removes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..outputs import OutSheet
from .data import Instance
from .schema import WHY
from .simulate import Evaluation, cost_parts, project

TOL = 1e-6
FULL_UTILISATION = 0.995  # a factory-week at or above this share of capacity is full

BEFORE_ARRIVAL = "before the first possible arrival"
NO_FACTORY = "no factory"
IMPROVABLE = "plan could be improved"
DISCONTINUED = "discontinued"
CAPACITY = "factory capacity"
MOQ = "MOQ"
CHEAPER = "cheaper to lose"
CAUSES = (BEFORE_ARRIVAL, NO_FACTORY, IMPROVABLE, DISCONTINUED, CAPACITY, MOQ, CHEAPER)

# The "because …" of the one-sentence summary, per cause.
_BECAUSE = {
    BEFORE_ARRIVAL: "it falls before the first week an order placed now can arrive",
    NO_FACTORY: "no factory can make it",
    IMPROVABLE: "the solve stopped before closing it (within its gap or rounding)",
    DISCONTINUED: "its stop_week ends ordering before the weeks that could serve it",
    CAPACITY: "every factory that can make it is at capacity in the weeks that could "
              "serve it",
    MOQ: "an order of its MOQ does not pay or does not fit where a smaller one would",
    CHEAPER: "holding stock to serve it costs more than losing it",
}


@dataclass
class Reason:
    """The cause of one SKU-week's shortfall, with the amounts behind it."""

    p: int  # SKU index
    t: int  # plan week
    lost: float  # u[p,t], units of unmet demand
    below: float  # s[p,t], units below target
    cause: str
    detail: str
    fix: str
    cost: float  # y u + w s where costed (t ≥ lead), else 0
    fix_amount: float = 0.0  # the number in ``fix`` (units, a cost or a week index)
    fix_factory: int = -1  # factory index of a capacity fix
    fix_week: int = -1  # plan week of the fix (PO arrival, capacity week, stop week)


@dataclass
class _Option:
    """One order that could have served the week: factory f, placed τ, arriving a."""

    f: int
    tau: int
    a: int
    c: int  # capacity week
    room: float  # units of the SKU left in the factory-week
    new_order: bool  # no plan order at (f, p, τ): the MOQ applies
    blocked: str = ""  # "" (free), "stop" or "capacity"


@dataclass
class _Move:
    """q more units at option o, with ``shift`` units fewer on later arrivals."""

    o: _Option
    q: float
    shift: float
    delta: float  # exact change of the SKU's cost
    holding: float  # change of its holding cost
    penalty: float  # change of its lost-sales and target-shortfall cost
    unmet_removed: float
    short_removed: float
    legal: bool  # keeps the MOQ


def explain(inst: Instance, plan: pd.DataFrame, ev: Evaluation) -> list[Reason]:
    """One :class:`Reason` per SKU and week with lost sales or target shortfall.

    Parameters
    ----------
    inst
        The instance solved.
    plan
        The plan's orders (``report.assemble_plan``).
    ev
        The plan re-evaluated (``simulate.evaluate``).
    """
    proj = ev.projection
    short = (proj.unmet > TOL) | (proj.shortfall > TOL)
    if not short.any():
        return []
    ctx = _Context(inst, plan, ev)
    out: list[Reason] = []
    for p in np.flatnonzero(short.any(axis=1)):
        out.extend(ctx.sku_reasons(int(p), np.flatnonzero(short[p])))
    return out


class _Context:
    """Arrays shared by every SKU's explanation."""

    def __init__(self, inst: Instance, plan: pd.DataFrame, ev: Evaluation):
        self.inst, self.ev = inst, ev
        skus = inst.skus
        self.weeks = inst.weeks
        self.lead = skus["lead_time_weeks"].to_numpy()
        self.transport = skus["transport_weeks"].to_numpy()
        self.stop = skus["stop_t"].to_numpy()
        self.moq = skus["moq"].to_numpy() if inst.settings.use_moq else np.zeros(len(skus))
        self.h = skus["holding_cost"].to_numpy()
        self.y = skus["lost_sales_cost"].to_numpy()
        self.w = skus["target_shortfall_cost"].to_numpy()
        cap = inst.capacity
        self.used = inst.used_by_open_pos + ev.capacity_used
        self.util = np.where(cap > 0, self.used / np.maximum(cap, 1e-12), np.inf)
        self.room = np.maximum(cap - self.used, 0.0)  # normalised units
        self.links: dict[int, list[tuple[int, float]]] = {}
        for f, p, use in zip(inst.links["f"], inst.links["p"], inst.links["use"]):
            self.links.setdefault(int(p), []).append((int(f), float(use)))
        self.ordered = set(zip(plan["p"].tolist(), plan["f"].tolist(), plan["t_order"].tolist()))
        # Units each SKU's arrivals can lose per week with every order kept at its MOQ.
        self.reducible: dict[int, dict[int, float]] = {}
        for p, a, q in zip(plan["p"].tolist(), plan["t_arrival"].tolist(),
                           plan["quantity"].tolist()):
            cut = q - self.moq[p] if self.moq[p] > 0 else q
            if cut > TOL:
                by = self.reducible.setdefault(p, {})
                by[a] = by.get(a, 0.0) + cut
        self.fac_names = inst.factories["factory"].astype(str).tolist()

    # -- one SKU ------------------------------------------------------------------

    def sku_reasons(self, p: int, weeks: np.ndarray) -> list[Reason]:
        inst, proj = self.inst, self.ev.projection
        L = int(self.lead[p])
        options = {int(t): self.options(p, int(t)) for t in weeks if t >= L}
        moves = self.moves(p, options)
        out = []
        for t in weeks:
            t = int(t)
            lost, below = float(proj.unmet[p, t]), float(proj.shortfall[p, t])
            cost = self.y[p] * lost + self.w[p] * below if t >= L else 0.0
            r = Reason(p, t, lost, below, "", "", "", float(cost))
            if t < L:
                self.before_arrival(r)
            elif p not in self.links:
                r.cause = NO_FACTORY
                r.detail = (f"No factory in Capacity makes pn {inst.skus['pn'].iat[p]} for "
                            f"supply center {inst.skus['supply_center'].iat[p]}.")
                r.fix = "add a Capacity row for a factory that can make it"
            else:
                self.after_lead(r, options[t], moves[t])
            out.append(r)
        return out

    def options(self, p: int, t: int) -> list[_Option]:
        """Every (factory, order week) whose order could arrive by week t."""
        L, tr, stop = int(self.lead[p]), int(self.transport[p]), int(self.stop[p])
        out = []
        for a in range(L, t + 1):
            tau, c = a - L, a - tr - 1
            if c < 0:
                continue
            for f, use in self.links.get(p, []):
                room = self.room[f, c] / use
                opt = _Option(f, tau, a, c, room, (p, f, tau) not in self.ordered)
                if tau > stop:
                    opt.blocked = "stop"
                elif self.util[f, c] >= FULL_UTILISATION or room < 1 - TOL:
                    opt.blocked = "capacity"
                out.append(opt)
        return out

    def moves(self, p: int, options: dict[int, list[_Option]]) -> dict[int, list[_Move]]:
        """Per short week t, every move tried and its exact effect on the SKU's cost.

        A move orders q more units at a free option (the week's need within the room
        left and, for a new order of a SKU with an MOQ, the MOQ), alone or with as many
        units fewer on the plan's arrivals after t (orders kept at their MOQ): serving t
        from an earlier arrival and ordering less later. The SKU is re-projected for all
        moves at once (``simulate.project``).
        """
        base = self.ev.arrivals[p]
        later = self.reducible.get(p, {})
        keyed: dict[tuple, np.ndarray] = {}
        plans: dict[int, list[tuple]] = {}
        for t, opts in options.items():
            need = self.need(p, t)
            plans[t] = []
            for o in opts:
                if o.blocked:
                    continue
                for q in self.quantities(p, need, o):
                    for shift in (False, True):
                        row = base.copy()
                        row[o.a] += q
                        taken = 0.0
                        if shift:
                            for wk in sorted(w for w in later if w > t):
                                cut = min(q - taken, later[wk])
                                row[wk] -= cut
                                taken += cut
                            if taken <= TOL:
                                continue
                        key = (o.a, q, t if shift else -1)
                        keyed.setdefault(key, row)
                        plans[t].append((o, q, taken, key))
        if not keyed:
            return {t: [] for t in options}
        keys = list(keyed)
        K = len(keys) + 1
        arrivals = np.vstack([base] + [keyed[k] for k in keys])
        inst = self.inst

        def rows(a):
            return np.repeat(np.asarray(a)[p][None, ...], K, axis=0)

        pr = project(rows(inst.inventory), rows(inst.po_arrivals), arrivals, rows(inst.demand),
                     rows(inst.target))
        parts = cost_parts(pr, np.full(K, self.lead[p]), np.full(K, self.h[p]),
                           np.full(K, self.y[p]), np.full(K, self.w[p]))
        mask = np.arange(inst.n_weeks) >= self.lead[p]
        unmet = (pr.unmet * mask).sum(axis=1)
        short = (pr.shortfall * mask).sum(axis=1)
        d = {k: v - v[0] for k, v in parts.items()}
        at = {k: i for i, k in enumerate(keys, start=1)}
        out = {}
        for t, items in plans.items():
            out[t] = []
            for o, q, taken, key in items:
                i = at[key]
                out[t].append(_Move(
                    o, q, taken, float(d["holding_cost"][i] + d["lost_sales_cost"][i]
                                       + d["target_shortfall_cost"][i]),
                    float(d["holding_cost"][i]),
                    float(d["lost_sales_cost"][i] + d["target_shortfall_cost"][i]),
                    float(unmet[0] - unmet[i]), float(short[0] - short[i]),
                    not (o.new_order and self.moq[p] > 0 and q < self.moq[p] - TOL)))
        return out

    def need(self, p: int, t: int) -> float:
        """Units that would remove the week's shortfall: its lost sales, else its gap to
        the target."""
        lost = self.ev.projection.unmet[p, t]
        return float(np.ceil(lost - TOL) if lost > TOL else
                     np.ceil(self.ev.projection.shortfall[p, t] - TOL))

    def quantities(self, p: int, q: float, o: _Option) -> list[float]:
        """Order sizes tried for option o: the need (within the room left) and, for a new
        order of a SKU with an MOQ, the MOQ."""
        fit = float(min(q, np.floor(o.room + TOL)))
        out = [fit] if fit >= 1 else []
        if o.new_order and self.moq[p] > 0:
            big = max(fit, self.moq[p])
            if big <= o.room + TOL and big != fit:
                out.append(float(big))
        return out

    # -- causes -------------------------------------------------------------------

    def before_arrival(self, r: Reason) -> None:
        inst, p, t = self.inst, r.p, r.t
        L, T = int(self.lead[p]), inst.n_weeks
        first = self.weeks[L] if L < T else "after the horizon"
        pos = float(inst.po_arrivals[p, :t + 1].sum())
        q = self.need(p, t)
        what = (f"demand {inst.demand[p, t]:,.0f}" if r.lost > TOL else
                f"target {inst.target[p, t]:,.0f}")
        r.cause = BEFORE_ARRIVAL
        r.detail = (f"Lead time {L} weeks: an order placed now arrives {first} at the "
                    f"earliest. Available in {self.weeks[t]}: "
                    f"{self.ev.projection.available[p, t]:,.0f} units (stock at the start "
                    f"{inst.inventory[p]:,.0f}, open POs arriving by then {pos:,.0f}) "
                    f"against {what}. Not costed: no order placed now can change it.")
        r.fix = f"an open PO of {_units(q)} arriving by week {self.weeks[t]}"
        r.fix_amount, r.fix_week = q, t

    def _move_text(self, m: _Move, t: int) -> str:
        o = m.o
        txt = (f"{_units(m.q)} more from {self.fac_names[o.f]} ordered {self.weeks[o.tau]} "
               f"(arriving {self.weeks[o.a]}, capacity in {self.weeks[o.c]})")
        if m.shift > TOL:
            txt += f" and {m.shift:,.0f} fewer arriving after {self.weeks[t]}"
        return txt

    def after_lead(self, r: Reason, opts: list[_Option], moves: list[_Move]) -> None:
        p, t = r.p, r.t
        legal = [m for m in moves if m.legal]
        best = min(legal, key=lambda m: m.delta) if legal else None
        if best is not None and best.delta < -TOL:
            r.cause = IMPROVABLE
            r.detail = (f"{self._move_text(best, t)} would lower the plan's cost by "
                        f"{-best.delta:,.2f}.")
            r.fix = ("set relax_order_quantities to FALSE, lower mip_gap or raise "
                     "time_limit_s")
            r.fix_amount = best.q
            return
        if t - self.lead[p] > self.stop[p]:
            self.discontinued(r, opts)
            return
        if not any(not o.blocked for o in opts):
            self.capacity(r, opts, self.need(p, t))
            return
        # An order below the MOQ would pay, none of at least the MOQ does.
        paying = [m for m in moves if not m.legal and m.delta < -TOL]
        if paying:
            self.moq_cause(r, min(paying, key=lambda m: m.delta), legal, opts)
            return
        self.cheaper(r, best or min(moves, key=lambda m: m.delta), opts)

    def discontinued(self, r: Reason, opts: list[_Option]) -> None:
        inst, p, t = self.inst, r.p, r.t
        stop, L = int(self.stop[p]), int(self.lead[p])
        last = stop + L
        if stop < 0:
            last_txt = "no order can be placed in the plan"
        else:
            last_txt = f"the last order arrives {self.weeks[last]}"
            held = t - last
            last_txt += (f"; serving {self.weeks[t]} from it holds each unit {held} week(s) at "
                         f"{self.h[p]:g} a week")
        r.cause = DISCONTINUED
        r.detail = (f"stop_week {inst.skus['stop_week'].iat[p]}: orders arriving "
                    f"{self.weeks[t]} would be placed {self.weeks[t - L]}, after it; "
                    f"{last_txt}.")
        r.fix = f"move stop_week of {inst.skus['sku'].iat[p]} to {self.weeks[t - L]} or later"
        r.fix_week = t - L

    def capacity(self, r: Reason, opts: list[_Option], q: float) -> None:
        p, t = r.p, r.t
        parts = []
        for f, _use in self.links[p]:
            cs = sorted({o.c for o in opts if o.f == f})
            if not cs:
                continue
            u = self.util[f, cs]
            closed = int(np.isinf(u).sum())
            open_u = u[np.isfinite(u)]
            txt = self.fac_names[f]
            if len(open_u):
                lo, hi = float(open_u.min()), float(open_u.max())
                txt += f" {lo:.1%} used" if abs(hi - lo) < 5e-4 else f" {lo:.1%}–{hi:.1%} used"
                txt += f" in {self._span(cs)}"
                if closed:
                    txt += f" ({closed} of these weeks closed)"
            else:
                txt += f" closed in {self._span(cs)}"
            parts.append(txt)
        a_first = min(o.a for o in opts)
        r.cause = CAPACITY
        r.detail = ("; ".join(parts) + f": every factory that makes it is full in the "
                    f"capacity weeks {self._span(sorted({o.c for o in opts}))} of the orders "
                    f"arriving {self._span([a_first, t])}.")
        # The just-in-time production week of the factory that needs least capacity a unit.
        jit = [o for o in opts if o.a == t] or opts
        open_jit = [o for o in jit if self.inst.capacity[o.f, o.c] > 0] or jit
        use = dict(self.links[p])
        o = min(open_jit, key=lambda o: (use[o.f], o.f))
        unit = "unit" if round(q) == 1 else "units"
        r.fix = (f"{q:,.0f} more {unit} of capacity at {self.fac_names[o.f]} in week "
                 f"{self.weeks[o.c]} (units of {self.inst.skus['sku'].iat[p]})")
        r.fix_amount, r.fix_factory, r.fix_week = q, o.f, o.c

    def moq_cause(self, r: Reason, m: _Move, legal: list[_Move], opts: list[_Option]
                  ) -> None:
        p = r.p
        moq = self.moq[p]
        big = [x for x in legal if x.o.new_order]
        if big:
            b = min(big, key=lambda x: x.delta)
            then = (f"; the best order of the MOQ, {self._move_text(b, r.t)}, changes the "
                    f"cost by {b.delta:+,.2f} (holding {b.holding:+,.2f} at "
                    f"{self.h[p]:g} a unit-week)")
        else:
            most = max((o for o in opts if not o.blocked), key=lambda o: o.room)
            then = (f"; no factory-week that could serve it has room for the MOQ (at most "
                    f"{most.room:,.0f} units, at {self.fac_names[most.f]} in "
                    f"{self.weeks[most.c]})")
        r.cause = MOQ
        r.detail = (f"MOQ {moq:,.0f} against a shortfall of {m.q:,.0f}: "
                    f"{self._move_text(m, r.t)} would lower the cost by {-m.delta:,.2f}"
                    f"{then}.")
        r.fix = (f"lower the MOQ of {self.inst.skus['sku'].iat[p]} to {m.q:,.0f} "
                 "(or accept the shortfall)")
        r.fix_amount = m.q

    def cheaper(self, r: Reason, m: _Move, opts: list[_Option]) -> None:
        p, t = r.p, r.t
        blocked = sorted({x.a for x in opts if x.blocked and x.a > m.o.a})
        why_early = (f"; orders arriving {self._span(blocked)} find their factories full "
                     "or closed" if blocked else "")
        lost_row = r.lost > TOL
        removed = m.unmet_removed if lost_row else m.short_removed
        name = "lost_sales_cost" if lost_row else "target_shortfall_cost"
        price = self.y[p] if lost_row else self.w[p]
        what = (f"lost_sales_cost {self.y[p]:g} a unit" if lost_row else
                f"target_shortfall_cost {self.w[p]:g} a unit-week")
        r.cause = CHEAPER
        r.detail = (f"{what} against holding_cost {self.h[p]:g} a unit-week: the cheapest "
                    f"way to serve it, {self._move_text(m, t)}{why_early}, adds "
                    f"{m.holding:,.2f} of holding and saves {-m.penalty:,.2f} of lost sales "
                    f"and shortfall: {m.delta:+,.2f}.")
        if removed > TOL:
            threshold = price + m.delta / removed
            r.fix = f"raise {name} of {self.inst.skus['sku'].iat[p]} above {threshold:,.2f}"
            r.fix_amount = threshold
        else:
            r.fix = "accept it: more stock here does not reduce it"

    def _span(self, ts) -> str:
        ts = list(ts)
        return self.weeks[ts[0]] if ts[0] == ts[-1] else f"{self.weeks[ts[0]]}–{self.weeks[ts[-1]]}"


# ---------------------------------------------------------------------------
# sheet and summary


def _shortfall_text(r: Reason) -> str:
    if r.lost > TOL:
        return f"{_units(r.lost)} lost, {r.below:,.0f} below target"
    return f"{_units(r.below)} below target"


def why_sheet(inst: Instance, reasons: list[Reason]) -> OutSheet:
    """Out Why: one row per SKU-week with a shortfall, most costly first."""
    # Columns as arrays once: a pandas lookup per row took most of a second at Anker
    # scale (13,000 rows), time a stopped solve must not spend.
    names = inst.skus["sku"].to_numpy()
    centers = inst.skus["supply_center"].to_numpy()
    p = np.array([r.p for r in reasons], dtype=int)
    week = np.asarray(inst.weeks, dtype=object)[[r.t for r in reasons]]
    frame = pd.DataFrame({
        "item": [f"{n} ({c}), {w}" for n, c, w in zip(names[p], centers[p], week)],
        "shortfall": [_shortfall_text(r) for r in reasons],
        "cause": [r.cause for r in reasons],
        "detail": [r.detail for r in reasons],
        "what_would_fix_it": [r.fix for r in reasons],
        "cost": [round(r.cost, 6) for r in reasons],
        "supply_center": centers[p],
        "sku": names[p],
        "week": week,
    }, columns=WHY.column_names)
    return WHY.sheet(frame)


def causes_by_sku(inst: Instance, reasons: list[Reason], lost_only: bool) -> dict[int, str]:
    """Per SKU, the causes of its costed weeks (from the lead time on) with their weeks,
    e.g. "factory capacity in 2025W05–W06; cheaper to lose in 2025W07"; only the weeks
    with lost sales when ``lost_only``."""
    lead = inst.skus["lead_time_weeks"].to_numpy()
    by: dict[int, dict[str, list[int]]] = {}
    for r in reasons:
        if r.t >= lead[r.p] and (r.lost > TOL or not lost_only):
            by.setdefault(r.p, {}).setdefault(r.cause, []).append(r.t)
    return {p: "; ".join(f"{c} in {_weeks_text(inst.weeks, ts)}" for c, ts in causes.items())
            for p, causes in by.items()}


def _weeks_text(weeks: list[str], ts: list[int]) -> str:
    ts = sorted(ts)
    if len(ts) == 1:
        return weeks[ts[0]]
    if ts[-1] - ts[0] == len(ts) - 1:
        return f"{weeks[ts[0]]}–{_short_week(weeks[ts[0]], weeks[ts[-1]])}"
    return f"{len(ts)} weeks of {weeks[ts[0]]}–{_short_week(weeks[ts[0]], weeks[ts[-1]])}"


def _short_week(first: str, last: str) -> str:
    """"W16" for 2025W16 after 2025W14 (same year), else the whole code."""
    i = last.find("W")
    return last[i:] if i > 0 and first[:i] == last[:i] else last


def largest_shortfall(inst: Instance, reasons: list[Reason]) -> str | None:
    """One sentence on the costliest shortfall: the SKU whose shortfall costs most, its
    costliest cause and the amount and weeks of that cause (units lost when there are
    any, else unit-weeks below target). Without costed shortfall, the SKU with the most
    units lost.

    E.g. "A100 (Y): 120 units lost in 2025W14–W16, because every factory that can make it
    is at capacity in the weeks that could serve it (cost 12,000.00)."
    """
    if not reasons:
        return None
    skus = inst.skus
    per: dict[int, list[Reason]] = {}
    for r in reasons:
        per.setdefault(r.p, []).append(r)

    def weight(rs):
        return (sum(r.cost for r in rs), sum(r.lost for r in rs), sum(r.below for r in rs))

    p, rs = max(per.items(), key=lambda kv: weight(kv[1]))
    by_cause: dict[str, list[Reason]] = {}
    for r in rs:
        by_cause.setdefault(r.cause, []).append(r)
    cause = max(by_cause, key=lambda c: weight(by_cause[c]))
    rows = by_cause[cause]
    lost = sum(r.lost for r in rows)
    if lost > TOL:
        rows = [r for r in rows if r.lost > TOL]
        amount = f"{_units(lost)} lost"
    else:
        amount = f"{sum(r.below for r in rows):,.0f} unit-weeks below target"
    cost = sum(r.cost for r in rows)
    return (f"{skus['sku'].iat[p]} ({skus['supply_center'].iat[p]}): {amount} in "
            f"{_weeks_text(inst.weeks, [r.t for r in rows])}, because {_BECAUSE[cause]}"
            f"{f' (cost {cost:,.2f})' if cost > TOL else ''}.")


def _units(n: float) -> str:
    return "1 unit" if round(n) == 1 else f"{n:,.0f} units"
