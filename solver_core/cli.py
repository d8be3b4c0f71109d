"""The ``scplan`` command: validate, solve, scenarios, template, demo.

Exit codes: 0 a plan (or a valid input) was written, 1 a bug, 2 invalid input,
3 no plan (infeasible, or nothing found within the time limit), 130 aborted.

Ctrl-C during ``solve`` or ``scenarios``: the first one stops the solve, which writes
the best plan found with status ``stopped``; a second one aborts without writing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

from . import api, control, parallel
from .progress import ConsoleProgress
from .workbook import WorkbookError, read_workbook, write_result

REPO_ROOT = Path(__file__).resolve().parents[1]


def examples_dir() -> Path:
    """The bundled example workbooks (repository checkout or current folder)."""
    for base in (REPO_ROOT, Path.cwd()):
        d = base / "xlsx_templates" / "examples"
        if d.is_dir():
            return d
    raise WorkbookError("Cannot find xlsx_templates/examples; run scplan demo from the "
                        "scplan checkout.")


def _overrides(args) -> dict:
    out = {}
    if getattr(args, "time_limit", None) is not None:
        out["time_limit_s"] = args.time_limit
    if getattr(args, "gap", None) is not None:
        out["mip_gap"] = args.gap
    if getattr(args, "workers", None) is not None:
        out["workers"] = args.workers
    return out


def _workers(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per CPU core) or more")
    return n


def _report(outcome: api.Outcome, out: Path | None) -> None:
    for p in outcome.problems.items:
        print(f"{p.severity}: {p.sheet}!{p.cell}: {p.message}", file=sys.stderr)
    where = f" -> {out}" if out else ""
    print(f"{outcome.message.splitlines()[0]}{where}", file=sys.stderr)
    if outcome.exit_code == api.EXIT_BUG:
        print(outcome.message, file=sys.stderr)


T = TypeVar("T")


def _say_stopping() -> None:
    print("\nStopping: the best plan found so far will be written "
          "(press Ctrl-C again to abort without writing)…", file=sys.stderr, flush=True)


def stoppable(work: Callable[[control.StopToken], T]) -> T:
    """Run ``work(token)`` with Ctrl-C bound to the token.

    The first Ctrl-C requests a stop (``work`` returns its best result); the second
    raises ``KeyboardInterrupt`` (nothing is written; ``main`` exits with 130).
    """
    with control.StopToken() as stop, control.sigint_stops(stop, on_stop=_say_stopping):
        result = work(stop)
        if stop.aborted:
            raise KeyboardInterrupt
    return result


def cmd_solve(args, scenarios: bool = False) -> int:
    """``scplan solve`` / ``scplan scenarios``: solve under Ctrl-C, then write the results."""
    progress = ConsoleProgress()
    try:
        raw = read_workbook(args.input)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    outcome = stoppable(lambda stop: api.solve(
        raw, _overrides(args), progress=progress, scenarios=scenarios, stop=stop))
    progress.status("Writing results…")
    try:
        write_result(args.input, args.output, outcome.sheets)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    progress.close()
    _report(outcome, Path(args.output))
    return outcome.exit_code


def cmd_validate(args) -> int:
    try:
        raw = read_workbook(args.input)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    outcome = api.validate(raw, ConsoleProgress())
    if args.output:
        write_result(args.input, args.output, outcome.sheets)
    _report(outcome, Path(args.output) if args.output else None)
    return outcome.exit_code


def cmd_template(args) -> int:
    from .template import write_template

    if args.model not in api.MODELS:
        print(f"error: unknown model {args.model!r}; choose one of: {', '.join(api.MODELS)}",
              file=sys.stderr)
        return api.EXIT_INVALID
    mod = api.plugin(args.model)
    path = write_template(mod.SCHEMA, args.output)
    print(f"Template for {args.model} written to {path}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    out_dir = Path(args.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = sorted(p for p in examples_dir().glob("*.xlsx") if not p.name.startswith("~$"))
    if args.small:
        examples = [p for p in examples if "small" in p.name]
    worst = 0
    progress = ConsoleProgress()
    for path in examples:
        target = out_dir / f"{path.stem}-result.xlsx"
        t0 = time.perf_counter()
        raw = read_workbook(path)
        outcome = api.solve(raw, _overrides(args), progress=progress)
        write_result(path, target, outcome.sheets)
        summary = dict(outcome.sheets[0].frame.itertuples(index=False))
        objective = summary.get("objective")
        shown = f"{objective:,.2f}" if isinstance(objective, (int, float)) else "-"
        print(f"{path.name}: {outcome.status}, objective {shown}, "
              f"{time.perf_counter() - t0:.1f} s -> {target}")
        worst = max(worst, outcome.exit_code)
    print(f"Results are in {out_dir.resolve()}")
    return worst


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scplan", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def solve_args(sp, output_required=True):
        sp.add_argument("input", help="input workbook (.xlsx); never modified")
        sp.add_argument("-o", "--output", required=output_required,
                        help="result workbook to write (input sheets + Out sheets)")
        sp.add_argument("--time-limit", type=float, help="seconds; overrides Settings")
        sp.add_argument("--gap", type=float, help="relative MIP gap; overrides Settings")
        parallel_args(sp)

    def parallel_args(sp):
        sp.add_argument("--workers", type=_workers,
                        help="parallel workers for independent pieces; overrides "
                             "Settings!workers (0 = one per CPU core)")
        sp.add_argument("--executor", choices=parallel.EXECUTORS, default="process",
                        help="where pieces run: local processes (default), or a Dask or Ray "
                             "cluster")
        sp.add_argument("--address", help="scheduler address of an existing Dask/Ray cluster")

    sp = sub.add_parser("solve", help="validate and solve a workbook")
    solve_args(sp)
    sp = sub.add_parser("scenarios", help="run the sensitivity experiments of a workbook")
    solve_args(sp)
    sp = sub.add_parser("validate", help="check a workbook without solving")
    sp.add_argument("input")
    sp.add_argument("-o", "--output", help="also write the workbook with Out Validation")
    sp = sub.add_parser("template", help="write an empty template workbook")
    sp.add_argument("model", help="production_distribution | master_production | "
                                  "delivery_allocation")
    sp.add_argument("-o", "--output", required=True)
    sp = sub.add_parser("demo", help="solve the bundled example workbooks")
    sp.add_argument("dir", nargs="?", default="scplan-demo")
    sp.add_argument("--small", action="store_true", help="only the small examples")
    parallel_args(sp)
    sp.add_argument("--time-limit", type=float, help="seconds; overrides the examples")
    sp.add_argument("--gap", type=float)
    sp = sub.add_parser("addin", help="build or install the Excel add-in (scplan addin -h)",
                        add_help=False)
    sp.add_argument("addin_args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["addin"]:  # the Excel front end lives in addin/; it parses its own options
        from addin.build import main as addin_main

        return addin_main(argv[1:])
    args = build_parser().parse_args(argv)
    if hasattr(args, "executor"):
        parallel.configure(args.executor, address=args.address)
    try:
        if args.command == "solve":
            return cmd_solve(args)
        if args.command == "scenarios":
            return cmd_solve(args, scenarios=True)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "template":
            return cmd_template(args)
        if args.command == "demo":
            return cmd_demo(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except parallel.ExecutorUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    except Exception:  # a bug: say so plainly, with the traceback for the report
        import traceback

        traceback.print_exc()
        print("scplan hit an internal error (a bug, not a problem with your data).",
              file=sys.stderr)
        return api.EXIT_BUG
    return api.EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
