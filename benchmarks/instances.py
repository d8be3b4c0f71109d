"""Benchmark instances, made by the models' own example generators.

``INSTANCES[scale][name] = (model key, make)`` where ``make(path, scale)`` writes the
instance's workbook. ``small`` instances are quick (CI runs them as a smoke test);
``seed`` instances have the size of the seeds' cases.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from solver_core.template import write_template


def _maker(package: str, generator: str, **kwargs) -> Callable[[Path, str], None]:
    def make(path: Path, scale: str) -> None:
        mod = importlib.import_module(f"solver_core.{package}")
        examples = importlib.import_module(f"solver_core.{package}.examples")
        data, settings = getattr(examples, generator)(**kwargs)
        write_template(mod.SCHEMA, path, data=data, settings=settings)

    return make


INSTANCES: dict[str, dict[str, tuple[str, Callable[[Path, str], None]]]] = {
    "small": {
        "pd-small": ("pd", _maker("production_distribution", "small_example")),
        "pd-200-products": ("pd", _maker("production_distribution", "thesis_example",
                                         n_products=200, n_days=5)),
        "mps-small": ("mps", _maker("master_production", "small_example")),
        "da-small": ("da", _maker("delivery_allocation", "small_example")),
    },
    "seed": {
        # The thesis's network: 1,990 products, 2 categories, 4 warehouses + plant, 10 days.
        "pd-thesis": ("pd", _maker("production_distribution", "thesis_example")),
        # Anker MPS: 2 supply centers, ~3,400 SKUs, ~160 factories, 26 weeks.
        "mps-anker": ("mps", _maker("master_production", "anker_example")),
        # Anker DA: ~2,000 order lines, 500 POs, 120 SKUs, 10 regions, ~44 weeks.
        "da-anker": ("da", _maker("delivery_allocation", "anker_example")),
    },
    "big": {
        # 100,000 order lines: 1,000 SKUs × 100 lines, 25,000 POs (the big-input target:
        # optimal within the time limit, ≤ 30 s for the whole command).
        "da-100k": ("da", _maker("delivery_allocation", "anker_example", n_lines=100_000,
                                 n_pos=25_000, n_skus=1_000)),
    },
}
