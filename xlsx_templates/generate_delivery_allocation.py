"""Regenerate the delivery-allocation template and its example workbooks.

    python xlsx_templates/generate_delivery_allocation.py

writes ``xlsx_templates/delivery_allocation.xlsx`` (the empty template),
``xlsx_templates/examples/delivery_allocation_small.xlsx`` (a hand-sized case) and
``xlsx_templates/examples/delivery_allocation_anker.xlsx`` (an Anker-sized instance:
about 2,000 order lines, 500 POs, 120 SKUs, 10 regions, 44 weeks, drawn from a fixed
seed). Everything comes from the schema and ``solver_core.delivery_allocation.examples``,
so running it again gives the same workbooks. ``xlsx_templates/examples`` is a link to
``solver_core/examples``, where the package keeps its examples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from solver_core.delivery_allocation import SCHEMA, examples
from solver_core.template import write_template

HERE = Path(__file__).resolve().parent


def generate(target: Path = HERE) -> list[Path]:
    """Write the three workbooks under ``target``; return their paths."""
    small_data, small_settings = examples.small_example()
    anker_data, anker_settings = examples.anker_example()
    return [
        write_template(SCHEMA, target / "delivery_allocation.xlsx"),
        write_template(SCHEMA, target / "examples" / "delivery_allocation_small.xlsx",
                       data=small_data, settings=small_settings),
        write_template(SCHEMA, target / "examples" / "delivery_allocation_anker.xlsx",
                       data=anker_data, settings=anker_settings),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=HERE,
                        help="folder to write into (default: xlsx_templates)")
    for path in generate(parser.parse_args().target):
        print(path)


if __name__ == "__main__":
    main()
