"""Regenerate the master-production-schedule template and its small example.

    python xlsx_templates/generate_master_production.py
    python xlsx_templates/generate_master_production.py --anker anker_mps.xlsx

The first form writes ``xlsx_templates/master_production.xlsx`` (the empty template,
the same as ``scplan template master_production``) and
``xlsx_templates/examples/master_production_small.xlsx`` (two supply centers, eight
SKUs, a 12-week plan; solves in a few seconds); ``xlsx_templates/examples`` is a link to
``solver_core/examples``, where the package keeps its examples. ``--anker FILE`` writes
only FILE, an instance of Anker's size (2 supply centers, about 3,400 SKUs, 160 factories, 26 weeks,
1–3 factories per SKU, about 40% of SKUs with an MOQ; fixed seed). It is not kept in
``examples/`` because ``scplan demo`` solves everything there and must stay quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from solver_core.master_production import SCHEMA, examples
from solver_core.template import write_template

HERE = Path(__file__).resolve().parent


def generate(target: Path = HERE) -> list[Path]:
    """Write the template and the small example under ``target``; return their paths."""
    small_data, small_settings = examples.small_example()
    return [
        write_template(SCHEMA, target / "master_production.xlsx"),
        write_template(SCHEMA, target / "examples" / "master_production_small.xlsx",
                       data=small_data, settings=small_settings),
    ]


def generate_anker(path: Path, seed: int = 2024) -> Path:
    """Write only the Anker-scale instance to ``path``."""
    data, settings = examples.anker_example(seed=seed)
    return write_template(SCHEMA, path, data=data, settings=settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=HERE,
                        help="folder to write into (default: xlsx_templates)")
    parser.add_argument("--anker", type=Path,
                        help="write only the Anker-scale instance, to this file")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the Anker-scale instance")
    args = parser.parse_args()
    paths = [generate_anker(args.anker, args.seed)] if args.anker else generate(args.target)
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
