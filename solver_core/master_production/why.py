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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..outputs import OutSheet
from .data import Instance
from .schema import WHY
from .simulate import Evaluation, cost_parts, counted, project

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


@dataclass(slots=True)
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


@dataclass(slots=True)
class _Option:
    """One order that could have served the week: factory f, placed τ, arriving a."""

    f: int
    tau: int
    a: int
    c: int  # capacity week
    room: float  # units of the SKU left in the factory-week
    new_order: bool  # no plan order at (f, p, τ): the MOQ applies
    blocked: str = ""  # "" (free), "stop" or "capacity"


@dataclass(slots=True)
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


def explain(inst: Instance, plan: pd.DataFrame, ev: Evaluation,
            early: dict[int, list[Reason]] | None = None) -> list[Reason]:
    """One :class:`Reason` per SKU and week with lost sales or target shortfall.

    Parameters
    ----------
    inst
        The instance solved.
    plan
        The plan's orders (``report.assemble_plan``).
    ev
        The plan re-evaluated (``simulate.evaluate``).
    early
        The rows before each SKU's first possible arrival (:func:`before_first_arrival`),
        when computed already; else they are computed here.
    """
    proj = ev.projection
    short = (proj.unmet > TOL) | (proj.shortfall > TOL)
    if not short.any():
        return []
    early = before_first_arrival(inst) if early is None else early
    ctx = _Context(inst, plan, ev)
    weeks = {int(p): np.flatnonzero(short[p]) for p in np.flatnonzero(short.any(axis=1))}
    options = {p: {int(t): ctx.options(p, int(t)) for t in ts if t >= ctx.lead[p]}
               for p, ts in weeks.items()}
    moves = ctx.moves(options)
    out: list[Reason] = []
    for p, ts in weeks.items():
        out.extend(early.get(p, []))
        out.extend(ctx.sku_reasons(p, ts[ts >= ctx.lead[p]], options[p], moves[p]))
    return out


def before_first_arrival(inst: Instance) -> dict[int, list[Reason]]:
    """Per SKU, the rows of its short weeks before an order placed now can arrive
    (t < lead time). No order of any plan arrives then, so they depend on the instance
    alone: the MPS run computes them before solving, and a stopped solve spends no time
    on them (at Anker scale they are most of Out Why's 15,000 rows)."""
    lead = inst.skus["lead_time_weeks"].to_numpy()
    proj = project(inst.inventory, inst.po_arrivals, np.zeros_like(inst.demand), inst.demand,
                   inst.target)
    short = ((proj.unmet > TOL) | (proj.shortfall > TOL)) & ~counted(lead, inst.n_weeks)
    po_by_week = np.cumsum(inst.po_arrivals, axis=1)  # open POs arrived by week t
    weeks = inst.weeks
    out: dict[int, list[Reason]] = {}
    for p, t in zip(*(ix.tolist() for ix in np.nonzero(short))):
        lost, below = float(proj.unmet[p, t]), float(proj.shortfall[p, t])
        L = int(lead[p])
        first = weeks[L] if L < inst.n_weeks else "after the horizon"
        q = float(math.ceil((lost if lost > TOL else below) - TOL))
        what = (f"demand {float(inst.demand[p, t]):,.0f}" if lost > TOL else
                f"target {float(inst.target[p, t]):,.0f}")
        detail = (f"Lead time {L} weeks: an order placed now arrives {first} at the "
                  f"earliest. Available in {weeks[t]}: {float(proj.available[p, t]):,.0f} "
                  f"units (stock at the start {float(inst.inventory[p]):,.0f}, open POs "
                  f"arriving by then {float(po_by_week[p, t]):,.0f}) against {what}. Not "
                  f"costed: no order placed now can change it.")
        out.setdefault(p, []).append(Reason(
            p, t, lost, below, BEFORE_ARRIVAL, detail,
            f"an open PO of {_units(q)} arriving by week {weeks[t]}", 0.0,
            fix_amount=q, fix_week=t))
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
        for f, p, use in zip(inst.links["f"].tolist(), inst.links["p"].tolist(),
                             inst.links["use"].tolist()):
            self.links.setdefault(int(p), []).append((int(f), float(use)))
        # The plan's orders by SKU (stably sorted, so each SKU's rows keep the plan's
        # order); ``plan_orders`` reads one SKU's when its moves are tried.
        by_sku = np.argsort(plan["p"].to_numpy(), kind="stable")
        self.plan_cols = [plan[c].to_numpy()[by_sku]
                          for c in ("f", "t_order", "t_arrival", "quantity")]
        self.plan_from = np.searchsorted(plan["p"].to_numpy()[by_sku],
                                         np.arange(len(skus) + 1)).tolist()
        self._orders: dict[int, tuple[set, dict[int, float], list[int]]] = {}
        self.fac_names = inst.factories["factory"].astype(str).tolist()
        # Python lists for the per-option and per-row lookups below (numpy scalars are slow
        # one at a time, and this runs after a stop: time a stopped solve must not spend).
        self.room_of, self.util_of = self.room.tolist(), self.util.tolist()
        self.unmet_of = ev.projection.unmet.tolist()
        self.short_of = ev.projection.shortfall.tolist()

    # -- one SKU ------------------------------------------------------------------

    def sku_reasons(self, p: int, weeks: np.ndarray, options: dict[int, list[_Option]],
                    moves: dict[int, list[_Move]]) -> list[Reason]:
        """The rows of SKU p's short weeks from its lead time on."""
        inst, proj = self.inst, self.ev.projection
        out = []
        for t in weeks.tolist():
            lost, below = float(proj.unmet[p, t]), float(proj.shortfall[p, t])
            r = Reason(p, t, lost, below, "", "", "", float(self.y[p] * lost + self.w[p] * below))
            if p not in self.links:
                r.cause = NO_FACTORY
                r.detail = (f"No factory in Capacity makes pn {inst.skus['pn'].iat[p]} for "
                            f"supply center {inst.skus['supply_center'].iat[p]}.")
                r.fix = "add a Capacity row for a factory that can make it"
            else:
                self.after_lead(r, options[t], moves[t])
            out.append(r)
        return out

    def plan_orders(self, p: int) -> tuple[set, dict[int, float], list[int]]:
        """SKU p's plan orders: the (factory, order week) pairs it orders in, the units
        its arrivals can lose per week with every order kept at its MOQ, and those weeks
        sorted."""
        if p not in self._orders:
            lo, hi = self.plan_from[p], self.plan_from[p + 1]
            f, tau, a, q = (c[lo:hi].tolist() for c in self.plan_cols)
            moq = float(self.moq[p])
            reducible: dict[int, float] = {}
            for wk, qty in zip(a, q):
                cut = qty - moq if moq > 0 else qty
                if cut > TOL:
                    reducible[wk] = reducible.get(wk, 0.0) + cut
            self._orders[p] = set(zip(f, tau)), reducible, sorted(reducible)
        return self._orders[p]

    def options(self, p: int, t: int) -> list[_Option]:
        """Every (factory, order week) whose order could arrive by week t."""
        L, tr, stop = int(self.lead[p]), int(self.transport[p]), int(self.stop[p])
        ordered = self.plan_orders(p)[0]
        out = []
        for a in range(L, t + 1):
            tau, c = a - L, a - tr - 1
            if c < 0:
                continue
            for f, use in self.links.get(p, []):
                room = self.room_of[f][c] / use
                opt = _Option(f, tau, a, c, room, (f, tau) not in ordered)
                if tau > stop:
                    opt.blocked = "stop"
                elif self.util_of[f][c] >= FULL_UTILISATION or room < 1 - TOL:
                    opt.blocked = "capacity"
                out.append(opt)
        return out

    def moves(self, options: dict[int, dict[int, list[_Option]]]
              ) -> dict[int, dict[int, list[_Move]]]:
        """Per SKU p and short week t (``options[p][t]``), every move tried and its exact
        effect on the SKU's cost.

        A move orders q more units at a free option (the week's need within the room
        left and, for a new order of a SKU with an MOQ, the MOQ), alone or with as many
        units fewer on the plan's arrivals after t (orders kept at their MOQ): serving t
        from an earlier arrival and ordering less later. Every SKU's moves are projected
        together (one ``simulate.project`` of all the rows: one call per SKU took most of
        a second at Anker scale, time a stopped solve must not spend).
        """
        sku: list[int] = []  # per projected row: its SKU
        rows: list[np.ndarray] = []  # its arrivals
        tried: dict[int, tuple[int, dict[int, list[tuple]], dict[tuple, int]]] = {}
        for p, opts in options.items():
            if not opts:
                continue
            plans, keyed = self._candidates(p, opts)
            if keyed:
                first = len(rows)  # the plan's own row, then one per distinct move
                sku.extend([p] * (len(keyed) + 1))
                rows.append(self.ev.arrivals[p])
                rows.extend(keyed.values())
                tried[p] = (first, plans, {k: first + i for i, k in enumerate(keyed, 1)})
        out = {p: {t: [] for t in opts} for p, opts in options.items()}
        if not rows:
            return out
        inst, at = self.inst, np.asarray(sku)
        pr = project(inst.inventory[at], inst.po_arrivals[at], np.vstack(rows),
                     inst.demand[at], inst.target[at])
        parts = cost_parts(pr, self.lead[at], self.h[at], self.y[at], self.w[at])
        mask = counted(self.lead[at], inst.n_weeks)
        unmet = (pr.unmet * mask).sum(axis=1)
        short = (pr.shortfall * mask).sum(axis=1)
        hold, lost, below = (parts[k].tolist() for k in
                             ("holding_cost", "lost_sales_cost", "target_shortfall_cost"))
        unmet, short = unmet.tolist(), short.tolist()
        for p, (b, plans, row_of) in tried.items():
            moq = float(self.moq[p])
            hb, lb, wb, ub, sb = hold[b], lost[b], below[b], unmet[b], short[b]
            for t, items in plans.items():
                found = out[p][t]
                for o, q, taken, key in items:
                    i = row_of[key]
                    dh, dl, dw = hold[i] - hb, lost[i] - lb, below[i] - wb
                    found.append(_Move(o, q, taken, dh + dl + dw, dh, dl + dw, ub - unmet[i],
                                       sb - short[i],
                                       not (o.new_order and moq > 0 and q < moq - TOL)))
        return out

    def _candidates(self, p: int, options: dict[int, list[_Option]]
                    ) -> tuple[dict[int, list[tuple]], dict[tuple, np.ndarray]]:
        """The moves of SKU p per short week, as (option, q, units taken later, key), and
        the arrivals of each distinct move by key."""
        base = self.ev.arrivals[p]
        _, later, later_weeks = self.plan_orders(p)
        keyed: dict[tuple, np.ndarray] = {}
        plans: dict[int, list[tuple]] = {}
        for t, opts in options.items():
            need = self.need(p, t)
            plans[t] = []
            after = [wk for wk in later_weeks if wk > t]
            cuts_of: dict[float, tuple[float, list]] = {}  # q -> (units taken, [(week, cut)])
            for o in opts:
                if o.blocked:
                    continue
                for q in self.quantities(p, need, o):
                    plain = (o.a, q, -1)
                    if plain not in keyed:
                        row = base.copy()
                        row[o.a] += q
                        keyed[plain] = row
                    plans[t].append((o, q, 0.0, plain))
                    # The same q fewer on the arrivals after t, latest orders kept at MOQ.
                    if q not in cuts_of:
                        taken, cuts = 0.0, []
                        for wk in after:
                            if taken >= q:
                                break
                            cut = min(q - taken, later[wk])
                            cuts.append((wk, cut))
                            taken += cut
                        cuts_of[q] = taken, cuts
                    taken, cuts = cuts_of[q]
                    if taken <= TOL:
                        continue
                    shifted = (o.a, q, t)
                    if shifted not in keyed:
                        row = base.copy()
                        row[o.a] += q
                        for wk, cut in cuts:
                            row[wk] -= cut
                        keyed[shifted] = row
                    plans[t].append((o, q, taken, shifted))
        return plans, keyed

    def need(self, p: int, t: int) -> float:
        """Units that would remove the week's shortfall: its lost sales, else its gap to
        the target."""
        lost = self.unmet_of[p][t]
        return float(math.ceil(lost - TOL) if lost > TOL else
                     math.ceil(self.short_of[p][t] - TOL))

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
