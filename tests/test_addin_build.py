"""The ribbon XML, its VBA callbacks and the .xlam build and install commands."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest

from addin import build
from solver_core import api, cli

NS = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}
SUB = re.compile(r"^\s*(?:Public\s+)?Sub\s+(\w+)\s*\(([^)]*)\)(.*?)^\s*End Sub",
                 re.MULTILINE | re.DOTALL | re.IGNORECASE)
RUNPYTHON = re.compile(r'RunPython\s*\(?\s*"((?:[^"]|"")*)"', re.IGNORECASE)


def ribbon_actions() -> dict[str, str]:
    """onAction callback of every control, by label."""
    root = ET.parse(build.RIBBON_XML).getroot()
    return {el.get("label"): el.get("onAction") for el in root.iter() if el.get("onAction")}


def vba_callbacks() -> dict[str, str]:
    """``Module.Sub`` -> body, for every Sub taking the ribbon control."""
    subs = {}
    for bas in build.vba_modules():
        text = bas.read_text(encoding="utf-8")
        for name, params, body in SUB.findall(text):
            if re.fullmatch(r"\s*control\s+As\s+IRibbonControl\s*", params, re.IGNORECASE):
                subs[f"{build.vb_name(bas)}.{name}"] = body
    return subs


def python_calls(body: str) -> list[tuple[object, str, list]]:
    """(function, its name, literal args) of every RunPython in a Sub body."""
    calls = []
    for code in RUNPYTHON.findall(body):
        tree = ast.parse(code.replace('""', '"'))
        aliases = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                for a in stmt.names:
                    aliases[a.asname or a.name] = importlib.import_module(a.name)
            else:
                call = stmt.value
                assert isinstance(stmt, ast.Expr) and isinstance(call, ast.Call), code
                assert isinstance(call.func, ast.Attribute), code
                module = aliases[call.func.value.id]
                fn = getattr(module, call.func.attr, None)
                assert fn is not None and callable(fn), \
                    f"{code}: {module.__name__} has no function {call.func.attr}"
                calls.append((fn, call.func.attr, [ast.literal_eval(a) for a in call.args]))
    return calls


def test_ribbon_tab_and_buttons():
    root = ET.parse(build.RIBBON_XML).getroot()
    tabs = root.findall(".//ui:tab", NS)
    assert [t.get("label") for t in tabs] == ["Supply Chain Planner"]
    menu = root.find(".//ui:menu[@label='New']", NS)
    assert menu is not None and len(menu.findall("ui:button", NS)) == len(api.MODELS)
    labels = set(ribbon_actions())
    assert {"Validate", "Solve", "Scenarios", "Clear results", "Help"} <= labels
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "control ids must be unique"


def test_every_button_has_a_callback_that_calls_an_existing_python_function():
    actions, callbacks = ribbon_actions(), vba_callbacks()
    new_kinds = []
    for label, action in actions.items():
        assert action in callbacks, \
            f"button {label!r}: no VBA Sub {action}(control As IRibbonControl)"
        calls = python_calls(callbacks[action])
        assert len(calls) == 1, f"{action} must run exactly one Python function"
        fn, name, args = calls[0]
        inspect.signature(fn).bind(*args)  # the call's arguments fit the function
        assert fn.__module__ == "addin.ribbon", name
        if name == "new_workbook":
            new_kinds.append(args[0])
    assert sorted(new_kinds) == sorted(api.MODELS), "one New button per model"
    assert not set(callbacks) - set(actions.values()), "a callback that no button uses"


def test_vba_source_is_plain_ascii_with_module_names():
    for bas in build.vba_modules():
        text = bas.read_bytes().decode("ascii")  # the VBA editor imports ANSI text
        assert text.startswith('Attribute VB_Name = "')


def test_build_replaces_the_ribbon_and_says_what_is_left(tmp_path, capsys):
    out = tmp_path / "addin" / "Planner.xlam"
    assert cli.main(["addin", "build", "--no-excel", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "WITHOUT the button macros" in text and "RibbonScplan.bas" in text
    assert "Import File" in text
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(build.template()) as t:
        assert z.read(build.RIBBON_PART) == build.RIBBON_XML.read_bytes()
        assert sorted(z.namelist()) == sorted(t.namelist())
        for name in t.namelist():
            if name != build.RIBBON_PART:
                assert z.read(name) == t.read(name), name
    assert not build.has_vba_modules(out)


def test_install_copies_the_addin_and_points_its_config_at_this_python(tmp_path):
    xlam = build.write_ribbon(build.template(), tmp_path / "a.xlam",
                              build.RIBBON_XML.read_bytes())
    config = tmp_path / "conf" / "myaddin.conf"
    config.parent.mkdir()
    config.write_text('"INTERPRETER_WIN","C:\\old\\python.exe"\n"PYTHONPATH","X"\n')
    report = build.install(xlam, platform="win32", startup=tmp_path / "XLSTART",
                           config=config, interpreter="C:\\py\\python.exe")
    assert report.complete
    assert (tmp_path / "XLSTART" / build.ADDIN_FILE).read_bytes() == xlam.read_bytes()
    assert config.read_text().splitlines() == ['"PYTHONPATH","X"',
                                               '"INTERPRETER_WIN","C:\\py\\python.exe"']
    assert any("no button macros" in line for line in report.lines)
    assert build.startup_folder("darwin").parts[-3:] == ("User Content.localized",
                                                         "Startup.localized", "Excel")
    assert build.config_file("darwin").name == "myaddin.conf"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="explains on other systems")
def test_install_explains_where_excel_cannot_run(capsys):
    assert cli.main(["addin", "install"]) == 2
    assert "Windows or macOS" in capsys.readouterr().out


def test_vba_module_detection_works_on_a_real_vba_project():
    # The template's own ribbon module is found the way has_vba_modules looks for ours.
    with zipfile.ZipFile(build.template()) as z:
        blob = z.read(build.VBA_PART)
    assert "RibbonMyAddin".encode("utf-16-le") in blob
    assert "RibbonScplan".encode("utf-16-le") not in blob


def test_template_vba_project_name_matches_the_config_name():
    # install writes <PROJECT_NAME>.conf; the template's xlwings module must read that name.
    with zipfile.ZipFile(build.template()) as z:
        workbook = z.read("xl/workbook.xml").decode()
    assert f"_{build.PROJECT_NAME}.conf" in workbook
    # ... and xlwings' custom add-in VBA (the source of the template's module) uses it.
    vba = (build.template().parent / "xlwings_custom_addin.bas").read_text(encoding="utf-8")
    assert f'PROJECT_NAME As String = "{build.PROJECT_NAME}"' in vba
