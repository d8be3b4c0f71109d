"""scplan: supply-chain plans from Excel workbooks, solved with HiGHS.

Commands: validate, solve, scenarios, template, demo, addin (see scplan COMMAND -h).
Exit codes: 0 a plan (or a valid input) was written, 1 a bug, 2 invalid input,
3 no plan (infeasible, or nothing found within the time limit), 130 aborted.

Ctrl-C during solve or scenarios: the first one stops the solve, which writes
the best plan found with status "stopped"; a second one aborts without writing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

from . import api, control, parallel
from .progress import ConsoleProgress
from .workbook import WorkbookError, check_paths, read_workbook, write_result

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# The example workbooks ship in the package; xlsx_templates/examples in a checkout is a
# link to the same folder.
EXAMPLES_DIR = PACKAGE_DIR / "examples"


def examples_dir() -> Path:
    """The bundled example workbooks (inside the installed package)."""
    for d in (EXAMPLES_DIR, REPO_ROOT / "xlsx_templates" / "examples"):
        if d.is_dir() and any(d.glob("*.xlsx")):
            return d
    raise WorkbookError(f"The example workbooks are missing from {EXAMPLES_DIR}; "
                        "reinstall scplan.")


def version() -> str:
    """The installed scplan version (or "unknown" when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("scplan")
    except PackageNotFoundError:
        return "unknown"


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


def _read_or_report(args) -> dict | int:
    """The raw input sheets; for an unreadable input, OUT saying why and exit code 2."""
    try:
        return read_workbook(args.input)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.output:
            outcome = api.unreadable(Path(args.input).name, str(exc))
            try:
                write_result(None, args.output, outcome.sheets)
                print(f"The reason is in {args.output} (Out Validation).", file=sys.stderr)
            except WorkbookError as write_exc:
                print(f"error: {write_exc}", file=sys.stderr)
        return api.EXIT_INVALID


def _check_output(args) -> bool:
    """Refuse a bad ``-o`` before any work; False (after a message) when refused."""
    if not args.output:
        return True
    try:
        check_paths(args.input, args.output)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return True


def cmd_solve(args, scenarios: bool = False) -> int:
    """Validate and solve (or run the scenarios of) ``args.input``; write ``args.output``."""
    if not _check_output(args):
        return api.EXIT_INVALID
    raw = _read_or_report(args)
    if isinstance(raw, int):
        return raw
    progress = ConsoleProgress()
    outcome = stoppable(lambda stop: api.solve(
        raw, _overrides(args), progress=progress, scenarios=scenarios, stop=stop))
    progress.status("Writing results…")
    try:
        write_result(args.input, args.output, outcome.sheets)
    except WorkbookError as exc:
        progress.close()
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    progress.close()
    _report(outcome, Path(args.output))
    return outcome.exit_code


def cmd_validate(args) -> int:
    """Check ``args.input``; with ``-o`` also write it with ``Out Validation``."""
    if not _check_output(args):
        return api.EXIT_INVALID
    raw = _read_or_report(args)
    if isinstance(raw, int):
        return raw
    outcome = api.validate(raw, ConsoleProgress())
    if args.output:
        try:
            write_result(args.input, args.output, outcome.sheets)
        except WorkbookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return api.EXIT_INVALID
    _report(outcome, Path(args.output) if args.output else None)
    return outcome.exit_code


def cmd_template(args) -> int:
    """Write the empty template of ``args.model``; never over a file without ``--force``."""
    from .template import write_template

    if args.model not in api.MODELS:
        print(f"error: unknown model {args.model!r}; choose one of: {', '.join(api.MODELS)}",
              file=sys.stderr)
        return api.EXIT_INVALID
    out = Path(args.output)
    if out.is_dir():
        print(f"error: {out} is a folder; give a file name ending in .xlsx.", file=sys.stderr)
        return api.EXIT_INVALID
    if out.exists() and not args.force:
        print(f"error: {out} exists; not overwritten (it may hold your data). Choose another "
              "name, or add --force to replace it.", file=sys.stderr)
        return api.EXIT_INVALID
    mod = api.plugin(args.model)
    try:
        path = write_template(mod.SCHEMA, out)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return api.EXIT_INVALID
    print(f"Template for {args.model} written to {path}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    """Solve every bundled example into ``args.dir``, one result workbook each."""
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
        print(f"{path.name}: {outcome.message.splitlines()[0]}, "
              f"{time.perf_counter() - t0:.1f} s -> {target}")
        worst = max(worst, outcome.exit_code)
    print(f"Results are in {out_dir.resolve()}")
    return worst


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface: one sub-command per task."""
    p = argparse.ArgumentParser(prog="scplan", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"scplan {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    models = ", ".join(api.MODELS)
    scenario_models = ", ".join(m for m in api.MODELS if hasattr(api.plugin(m), "scenarios"))

    def input_arg(sp):
        sp.add_argument("input", help="input workbook (.xlsx); never modified")

    def solve_args(sp):
        input_arg(sp)
        sp.add_argument("-o", "--output", required=True,
                        help="result workbook to write (input sheets + Out sheets); must "
                             "differ from the input")
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

    sp = sub.add_parser("solve", help="validate and solve a workbook",
                        description=f"Validate and solve a workbook of any model ({models}).")
    solve_args(sp)
    sp = sub.add_parser("scenarios",
                        help=f"run the sensitivity experiments of a workbook ({scenario_models})",
                        description="Solve the workbook under its sensitivity scenarios and "
                                    "compare them (Out Scenarios). Models with scenarios: "
                                    f"{scenario_models}.")
    solve_args(sp)
    sp = sub.add_parser("validate", help="check a workbook without solving",
                        description="Check a workbook without solving; every problem is "
                                    "reported with its sheet and cell.")
    input_arg(sp)
    sp.add_argument("-o", "--output", help="also write the workbook with Out Summary and Out "
                                           "Validation to this file (must differ from the "
                                           "input)")
    sp = sub.add_parser("template", help="write an empty template workbook",
                        description="Write an empty template workbook for one model.")
    sp.add_argument("model", help=f"the model: {' | '.join(api.MODELS)}")
    sp.add_argument("-o", "--output", required=True,
                    help="template file to write (.xlsx); an existing file is kept unless "
                         "--force")
    sp.add_argument("--force", action="store_true", help="replace an existing file")
    sp = sub.add_parser("demo", help="solve the bundled example workbooks",
                        description="Solve the example workbooks that ship with scplan and "
                                    "write one result workbook per example.")
    sp.add_argument("dir", nargs="?", default="scplan-demo",
                    help="folder for the result workbooks (default: scplan-demo)")
    sp.add_argument("--small", action="store_true", help="only the small examples")
    parallel_args(sp)
    sp.add_argument("--time-limit", type=float, help="seconds; overrides the examples")
    sp.add_argument("--gap", type=float, help="relative MIP gap; overrides the examples")
    sp = sub.add_parser("addin", help="build or install the Excel add-in (scplan addin -h)",
                        add_help=False)
    sp.add_argument("addin_args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one ``scplan`` command; return its exit code."""
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
