"""The report's delivery-allocation LP, written literally in PuLP.

This is the executable specification of the model: readable, one PuLP variable per
(order, day), (PO, order, day) and (order, day), a daily time set, and therefore only
fit for small instances (at Anker's size this LP does not fit in memory). Tests check
that the compact model of :mod:`.model` reaches the same optimum.

Reading of the report used here (docs/delivery_allocation.md, "Where it differs from
the report"):

- Inventory and each PO form one pool per supply center and SKU (the report's
  "∀ r ∈ R" on these two rows is a typo; its code has one pool per SKU).
- Time set: every day from the earliest RPD (or the plan date) to ``horizon_end``.
  Nothing is delivered before the plan date; units still missing at the end of the
  horizon stay in z and so cost c_o(H + 1).
- Penalty weights per day on z_{o,t} (units of o missing at the end of day t):
  ``linear``: 1 for every day t ≥ RPD_o (resp. EPD_o), so a unit d days late costs d;
  ``cumulative``: (t − RPD_o + 1), so a unit d days late costs d(d+1)/2. This is the
  report's (t − RPD_o)·z_{o,t} with z read before the day's deliveries.
"""

from __future__ import annotations

from .data import Instance


def build_lp(instance: Instance):
    """The report's LP for ``instance`` as a ``pulp.LpProblem``.

    Returns
    -------
    pulp.LpProblem
        With the variables x, y, z as dicts in ``.spec_vars``.
    """
    import pulp

    lines, H = instance.lines, instance.horizon_days
    sources = instance.usable_sources
    start = int(min(0, lines["rpd_day"].min())) if len(lines) else 0
    days = range(start, H + 1)  # T, daily
    prob = pulp.LpProblem("delivery_allocation_spec", pulp.LpMinimize)

    pools = sorted(set(zip(lines["supply_center"], lines["sku"])))
    inventory = {p: 0.0 for p in pools}  # I_p
    pos: dict[tuple[str, str], list[tuple[int, int, float]]] = {p: [] for p in pools}
    for j, row in sources.iterrows():
        key = (row["supply_center"], row["sku"])
        if key not in inventory:
            continue
        if row["source_type"] == "inventory":
            inventory[key] += float(row["quantity"])
        else:
            pos[key].append((j, int(row["day"]), float(row["quantity"])))  # (j, τ_j, Q_j)

    x, y, z = {}, {}, {}
    for o, line in lines.iterrows():
        key = (line["supply_center"], line["sku"])
        first = int(line["first_day"])
        for t in days:
            if t >= first:
                x[o, t] = prob.add_variable(f"x_{o}_{t - start}", lowBound=0)
                for j, _, _ in pos[key]:
                    y[j, o, t] = prob.add_variable(f"y_{j}_{o}_{t - start}",
                                                        lowBound=0)
            if t >= line["rpd_day"]:
                z[o, t] = prob.add_variable(f"z_{o}_{t - start}", lowBound=0)

    def delivered(o, t):
        key = (lines.at[o, "supply_center"], lines.at[o, "sku"])
        terms = [x[o, t]] if (o, t) in x else []
        terms += [y[j, o, t] for j, _, _ in pos[key] if (j, o, t) in y]
        return terms

    delay_rpd, delay_epd = [], []
    for o, line in lines.iterrows():
        rpd, epd = int(line["rpd_day"]), int(line["epd_day"])
        # Demand balance: Σ_{t'=RPD..t} (x + Σ_j y) + z_{o,t} = d_o for t ≥ RPD.
        running = []
        for t in days:
            if t < rpd:
                continue
            running += delivered(o, t)
            prob += (pulp.lpSum(running) + z[o, t] == float(line["quantity"]),
                     f"demand_{o}_{t - start}")
        weight = (lambda t, ref: 1.0) if instance.settings.penalty == "linear" else (
            lambda t, ref: float(t - ref + 1))
        delay_rpd.append(pulp.lpSum(weight(t, rpd) * z[o, t] for t in days if t >= rpd))
        delay_epd.append(pulp.lpSum(weight(t, epd) * z[o, t] for t in days if t >= epd))
    prob += pulp.lpSum(float(u) * d for u, d in zip(lines["rpd_rate"], delay_rpd)) + pulp.lpSum(
        float(v) * d for v, d in zip(lines["epd_rate"], delay_epd))

    # Region capacity: Σ_{o ∈ O_r, sku p} (x_{o,t} + Σ_j y_{j,o,t}) ≤ C_{r,p,t}.
    for k, (sku, region, cap) in enumerate(instance.capacity[["sku", "region",
                                                              "capacity"]].itertuples(index=False)):
        members = lines.index[(lines["sku"] == sku) & (lines["region"] == region)]
        for t in days:
            terms = [v for o in members for v in delivered(o, t)]
            if terms:
                prob += pulp.lpSum(terms) <= float(cap), f"region_{k}_{t - start}"
    # Inventory: Σ_o Σ_t x_{o,t} ≤ I_p; PO: Σ_o Σ_t y_{j,o,t} ≤ Q_j.
    for n, key in enumerate(pools):
        members = lines.index[(lines["supply_center"] == key[0]) & (lines["sku"] == key[1])]
        prob += pulp.lpSum(x[o, t] for o in members for t in days if (o, t) in x) <= \
            inventory[key], f"inventory_{n}"
        for j, arrival, quantity in pos[key]:
            used = [y[j, o, t] for o in members for t in days if (j, o, t) in y]
            prob += pulp.lpSum(used) <= quantity, f"po_{j}"
            # PO arrival: y_{j,o,t} = 0 for t < τ_j.
            for o in members:
                for t in days:
                    if t < arrival and (j, o, t) in y:
                        prob += y[j, o, t] == 0, f"arrival_{j}_{o}_{t - start}"
    prob.spec_vars = {"x": x, "y": y, "z": z}
    return prob


def optimum(instance: Instance) -> float:
    """Optimal objective of the report's LP (raises if HiGHS does not prove optimality)."""
    import pulp

    if instance.lines.empty:
        return 0.0
    prob = build_lp(instance)
    prob.solve(pulp.HiGHS(msg=False))
    # PuLP maps a time-limited HiGHS run to "Optimal" too: check the solution status.
    if pulp.LpStatus[prob.status] != "Optimal" or prob.sol_status != pulp.LpSolutionOptimal:
        raise RuntimeError(f"spec LP not solved to optimality: {pulp.LpStatus[prob.status]}")
    return float(pulp.value(prob.objective) or 0.0)

