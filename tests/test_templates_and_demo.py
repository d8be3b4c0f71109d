"""Templates are current for every model, and the demo solves the bundled examples."""

import importlib
from pathlib import Path

import pytest

from solver_core import api, cli
from solver_core.template import describe
from solver_core.workbook import read_table

ROOT = Path(__file__).resolve().parents[1]


def available_models():
    out = []
    for model, module in api.MODELS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        out.append(model)
    return out


@pytest.mark.parametrize("model", available_models())
def test_committed_template_is_current(model, tmp_path):
    out = tmp_path / f"{model}.xlsx"
    assert cli.main(["template", model, "-o", str(out)]) == 0
    committed = ROOT / "xlsx_templates" / f"{model}.xlsx"
    assert committed.exists(), f"commit xlsx_templates/{model}.xlsx"
    assert describe(out) == describe(committed), (
        f"xlsx_templates/{model}.xlsx is stale: run python xlsx_templates/generate_{model}.py")
    settings = read_table(out, "Settings")
    assert dict(zip(settings["setting"], settings["value"]))["model"] == model


def test_unknown_template_model(tmp_path):
    assert cli.main(["template", "nope", "-o", str(tmp_path / "x.xlsx")]) == 2


def test_demo_small_examples(tmp_path, capsys):
    code = cli.main(["demo", str(tmp_path / "demo"), "--small"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    results = sorted((tmp_path / "demo").glob("*-result.xlsx"))
    assert results, printed
    for path in results:
        summary = read_table(path, "Out Summary")
        status = dict(zip(summary["item"], summary["value"]))["status"]
        assert status in ("optimal", "time_limit"), (path.name, status)
    assert "Results are in" in printed
