"""Every plan a test solves is checked by its model's independent checker.

The autouse fixture ``check_every_plan`` in ``conftest.py`` wraps
``solver_core.api.solve``: after each solve whose outcome has a plan (exit code 0,
not a scenario run) it calls ``CHECKERS[outcome.model](raw_sheets, outcome)``, which
re-reads the Out sheets and raises ``AssertionError`` when the plan breaks a constraint.
The checkers do not import the model code: they recompute feasibility and cost from
the input sheets, so a wrong model cannot hide behind its own report.

Each model's checker is ``check_outcome(raw, outcome)`` in its test support module
(``CHECKER_MODULES``). A test that builds a plan a checker must not see (a faked
solver, a deliberately broken result) opts out with ``@pytest.mark.unchecked(reason)``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from solver_core import api

CHECKER_MODULES = {
    "production_distribution": "pd_support",
    "master_production": "mps_support",
    "delivery_allocation": "da_support",
}

Checker = Callable[[dict, api.Outcome], Any]


def load_checkers() -> tuple[dict[str, Checker], dict[str, str]]:
    """The checker of every model that has one, and why the others have none."""
    found: dict[str, Checker] = {}
    missing: dict[str, str] = {}
    for model in api.MODELS:
        name = CHECKER_MODULES.get(model)
        if name is None:
            missing[model] = "no support module is named for it in tests/checking.py"
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but an import inside it failed
                raise
            missing[model] = f"tests/{name}.py does not exist"
            continue
        checker = getattr(module, "check_outcome", None)
        if not callable(checker):
            missing[model] = f"tests/{name}.py has no check_outcome(raw, outcome)"
            continue
        found[model] = checker
    return found, missing


CHECKERS, MISSING = load_checkers()


def has_plan(outcome: api.Outcome, scenarios: bool) -> bool:
    """A solve that wrote a plan: exit code 0 of a single solve (scenario runs write none)."""
    return not scenarios and outcome.exit_code == api.EXIT_OK and outcome.model is not None


def checked_solve(solve: Callable[..., api.Outcome],
                  checkers: dict[str, Checker]) -> Callable[..., api.Outcome]:
    """``solve`` followed by the checker of the outcome's model whenever it has a plan."""

    def run(raw, *args, **kwargs) -> api.Outcome:
        outcome = solve(raw, *args, **kwargs)
        scenarios = kwargs.get("scenarios", args[2] if len(args) > 2 else False)
        if has_plan(outcome, scenarios) and outcome.model in checkers:
            checkers[outcome.model](raw, outcome)
            run.checked.append(outcome.model)
        return outcome

    run.checked = []
    return run
