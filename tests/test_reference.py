"""The README's column reference and the templates' About sheet come from the schemas."""

import dataclasses
import re

import pytest

from solver_core import api, reference
from solver_core.outputs import MONEY_FORMAT, OutColumn, OutTable
from solver_core.tables import BOOL, DATE, NUMBER, TEXT, Column, Setting, Sheet, WorkbookSchema
from solver_core.template import build_template

PYTHON_REPRS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|''|\d\.0\b")


def test_readme_reference_is_current():
    text = reference.README.read_text(encoding="utf-8")
    assert reference.render(text) == text, "README.md is stale: python -m solver_core.reference"


def test_check_flag_fails_on_a_stale_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n" + reference.START + "\nold table\n" + reference.END + "\nend\n")
    assert reference.main(["--check", "--readme", str(readme)]) == 1
    assert "stale" in capsys.readouterr().err
    assert reference.main(["--readme", str(readme)]) == 0
    assert reference.main(["--check", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nend\n") and "old table" not in text


def test_markers_are_required(tmp_path):
    with pytest.raises(ValueError, match="reference:start"):
        reference.render("no markers here")


def test_every_setting_and_column_is_in_the_reference():
    text = reference.reference()
    for model in api.MODELS:
        schema = api.plugin(model).SCHEMA
        section = text.split(f"### `{model}`")[1].split("\n### ")[0]
        for s in schema.settings:
            assert f"| `{s.name}` |" in section, (model, s.name)
        for sheet in schema.sheets:
            assert f"**`{sheet.name}`**" in section, (model, sheet.name)
            for col in sheet.columns:
                assert f"| `{col.name}` |" in section, (model, sheet.name, col.name)
        for table in schema.outputs:
            assert f"**`{table.name}`**" in section
            for col in table.columns:
                assert f"| `{col.name}` |" in section


def _fake_schema():
    return WorkbookSchema(
        model="fake", title="Fake model", about="A model for tests.",
        settings=(Setting("model", TEXT, None, "Which model.", required=True),
                  Setting("flag", BOOL, True, "A switch."),
                  Setting("date", DATE, None, "Blank = today."),
                  Setting("rate", NUMBER, 2.0, "A rate."),
                  Setting("gap", NUMBER, 0.001, "A gap.")),
        sheets=(Sheet("Items", (Column("item", description="Item code."),
                                Column("weight", NUMBER, "Weight.", unit="kg", required=False,
                                       default=1.0),
                                Column("note", description="Free text.", required=False))),),
        outputs=(OutTable("Out Things", "One row per thing.",
                          (OutColumn("thing", "The thing."),
                           OutColumn("cost", "What it costs.", MONEY_FORMAT, "EUR"))),),
    )


def test_defaults_read_as_in_excel_and_out_sheets_are_listed():
    text = "\n".join(reference.model_reference(_fake_schema()))
    assert "| `flag` | `TRUE` |" in text and "| `rate` | `2` |" in text
    assert "| `gap` | `0.001` |" in text and "| `date` | blank |" in text
    assert "| `weight` | optional (blank = 1) |" in text and "| `note` | optional |" in text
    assert "**`Out Things`**: One row per thing." in text
    assert "| `cost` | What it costs. Unit: EUR. |" in text
    assert not PYTHON_REPRS.search(text), PYTHON_REPRS.search(text)


def test_about_sheet_has_planner_defaults_and_the_out_sheets():
    ws = build_template(_fake_schema())["About"]
    rows = [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]
    text = " ".join(c for row in rows for c in row if isinstance(c, str))
    assert ("flag", "TRUE", "A switch.") in rows and ("rate", 2, "A rate.") in rows
    assert ("weight", "blank = 1", "Weight. Unit: kg.") in rows
    assert ("Out Things", None, "One row per thing.") in rows
    assert ("cost", None, "What it costs. Unit: EUR.") in rows
    assert not PYTHON_REPRS.search(text), PYTHON_REPRS.search(text)


@pytest.mark.parametrize("model", list(api.MODELS))
def test_about_sheets_show_no_python_values_and_fit_their_rows(model):
    ws = build_template(api.plugin(model).SCHEMA)["About"]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            assert not re.search(r"Default: (None|True|False|'')", cell.value), cell.value
            if cell.column_letter == "C" and len(cell.value) > 100:
                assert cell.alignment.wrap_text, cell.coordinate
                height = ws.row_dimensions[cell.row].height
                assert height and height >= 15 * (len(cell.value) // 100 + 1), cell.coordinate


def test_long_about_lines_wrap_across_the_columns():
    schema = dataclasses.replace(_fake_schema(), about="word " * 80)
    ws = build_template(schema)["About"]
    assert "A3:C3" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A3"].alignment.wrap_text and ws.row_dimensions[3].height >= 30
