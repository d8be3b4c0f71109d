"""Regenerate the production–distribution template and examples.

    python xlsx_templates/generate_production_distribution.py

writes xlsx_templates/production_distribution.xlsx (the empty template, the same as
`scplan template production_distribution`) and, in xlsx_templates/examples/ (a link to
solver_core/examples/, where the package keeps its examples), the small example and the
thesis-scale example (1,990 products, 10 days).
"""

from pathlib import Path

from solver_core.production_distribution import SCHEMA, examples
from solver_core.template import write_template

HERE = Path(__file__).resolve().parent


def main() -> None:
    write_template(SCHEMA, HERE / "production_distribution.xlsx")
    (HERE / "examples").mkdir(exist_ok=True)
    for name, make in (("small", examples.small_example), ("thesis", examples.thesis_example)):
        data, settings = make()
        path = write_template(SCHEMA, HERE / "examples" / f"production_distribution_{name}.xlsx",
                              data=data, settings=settings)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
