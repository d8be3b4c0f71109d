"""Re-evaluate a plan: the weekly projection and its cost, independent of the solver.

Given the arrivals of a plan, stock moves forward week by week. The model's binaries
``e[p,t]`` make the model use available stock for this week's demand before keeping
any, so for a fixed plan the projection is closed-form:

    available  A[p,t] = I[p,t-1] + I~[p,t] + arrivals[p,t]
    ending     I[p,t] = max(A - D, 0)
    unmet      u[p,t] = max(D - A, 0)
    shortfall  s[p,t] = max(R - A, 0)

cost = Σ_t h_p I[p,t] + Σ_{t ≥ lead_p} (y_p u[p,t] + w_p s[p,t]). Unmet demand and
shortfall before the lead time are reported but cost nothing: no order placed now can
change them (docs/master_production.md, "Formulation as built").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .data import Instance
    from .model import Component


@dataclass
class Projection:
    """The weekly projection of every SKU, arrays of shape (P, T)."""

    available: np.ndarray  # A[p,t]
    ending: np.ndarray  # I[p,t]
    unmet: np.ndarray  # u[p,t]
    shortfall: np.ndarray  # s[p,t]


def project(inventory: np.ndarray, po_arrivals: np.ndarray, arrivals: np.ndarray,
            demand: np.ndarray, target: np.ndarray) -> Projection:
    """Week-by-week projection of every SKU at once (arrays of shape (P, T))."""
    P, T = demand.shape
    available = np.zeros((P, T))
    ending = np.zeros((P, T))
    stock = np.asarray(inventory, float).copy()
    for t in range(T):
        available[:, t] = stock + po_arrivals[:, t] + arrivals[:, t]
        ending[:, t] = np.maximum(available[:, t] - demand[:, t], 0.0)
        stock = ending[:, t]
    unmet = np.maximum(demand - available, 0.0)
    shortfall = np.maximum(target - available, 0.0)
    return Projection(available, ending, unmet, shortfall)


def counted(lead: np.ndarray, T: int) -> np.ndarray:
    """Mask (P, T) of the weeks whose unmet demand and shortfall are costed (t ≥ lead)."""
    return np.arange(T)[None, :] >= np.asarray(lead)[:, None]


def cost_parts(proj: Projection, lead_time_weeks, holding_cost, lost_sales_cost,
               target_shortfall_cost) -> dict[str, np.ndarray]:
    """Per-SKU holding, lost-sales and target-shortfall cost of a projection."""
    T = proj.ending.shape[1]
    mask = counted(lead_time_weeks, T)
    return {
        "holding_cost": np.asarray(holding_cost) * proj.ending.sum(axis=1),
        "lost_sales_cost": np.asarray(lost_sales_cost) * (proj.unmet * mask).sum(axis=1),
        "target_shortfall_cost": np.asarray(target_shortfall_cost)
        * (proj.shortfall * mask).sum(axis=1),
    }


def arrivals_of(n_skus: int, T: int, sku: np.ndarray, arrival_week: np.ndarray,
                quantity: np.ndarray) -> np.ndarray:
    """(P, T) planned arrivals from order arrays (orders arriving after the horizon drop)."""
    out = np.zeros((n_skus, T))
    keep = (arrival_week >= 0) & (arrival_week < T)
    np.add.at(out, (sku[keep], arrival_week[keep]), quantity[keep])
    return out


def capacity_used(n_factories: int, T: int, factory: np.ndarray, capacity_week: np.ndarray,
                  use: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """(F, T) normalised capacity used: Σ o[f,p] x[f,p,τ] over orders producing in week t."""
    out = np.zeros((n_factories, T))
    keep = (capacity_week >= 0) & (capacity_week < T)
    np.add.at(out, (factory[keep], capacity_week[keep]), use[keep] * quantity[keep])
    return out


def component_cost(comp: Component, qty: np.ndarray) -> float:
    """Evaluated cost of order quantities ``qty`` for one component (simulation)."""
    return float(sku_costs(comp, qty).sum())


def sku_costs(comp: Component, qty: np.ndarray) -> np.ndarray:
    """Evaluated cost of order quantities ``qty`` per SKU of the component (simulation)."""
    P, T = comp.demand.shape
    arrivals = np.zeros((P, T))
    np.add.at(arrivals, (comp.order_sku, comp.arrival_week), qty)
    proj = project(comp.inventory, comp.po_arrivals, arrivals, comp.demand, comp.target)
    mask = counted(comp.lead_time_weeks, T)
    return ((comp.holding_cost[:, None] * proj.ending).sum(1)
            + (comp.lost_sales_cost[:, None] * proj.unmet * mask).sum(1)
            + (comp.target_shortfall_cost[:, None] * proj.shortfall * mask).sum(1))


@dataclass
class Evaluation:
    """The whole plan re-evaluated: arrivals, projection, costs per SKU, capacity used."""

    arrivals: np.ndarray  # planned arrivals (P, T)
    projection: Projection
    costs: dict[str, np.ndarray]  # holding_cost, lost_sales_cost, target_shortfall_cost per SKU
    capacity_used: np.ndarray  # normalised capacity used by the plan (F, T)
    total: float


def evaluate(inst: Instance, plan: pd.DataFrame) -> Evaluation:
    """Projection and cost of the whole plan by simulation (independent of the solver)."""
    P, T = inst.demand.shape
    arrivals = arrivals_of(P, T, plan["p"].to_numpy(), plan["t_arrival"].to_numpy(),
                           plan["quantity"].to_numpy())
    proj = project(inst.inventory, inst.po_arrivals, arrivals, inst.demand, inst.target)
    skus = inst.skus
    costs = cost_parts(proj, skus["lead_time_weeks"].to_numpy(), skus["holding_cost"].to_numpy(),
                       skus["lost_sales_cost"].to_numpy(),
                       skus["target_shortfall_cost"].to_numpy())
    used = capacity_used(len(inst.factories), T, plan["f"].to_numpy(),
                         plan["t_capacity"].to_numpy(), plan["use"].to_numpy(),
                         plan["quantity"].to_numpy())
    total = float(sum(v.sum() for v in costs.values()))
    return Evaluation(arrivals, proj, costs, used, total)
