"""Build and install the Supply Chain Planner add-in (``scplan addin build|install``).

The add-in is xlwings' ribbon add-in template (``quickstart_addin_ribbon.xlam``, which
holds xlwings' ``RunPython`` VBA and a config sheet) with two changes:

1. its ribbon XML (``customUI/customUI.xml`` in the zip) is replaced by
   ``addin/excel/customUI.xml``; plain zip editing, works everywhere;
2. the button callbacks (``addin/excel/*.bas``) are imported into its VBA project.
   Only Excel can write a VBA project: on Windows with Excel this is done through COM
   (Excel's option *Trust access to the VBA project object model* must be on); on
   macOS or without Excel the build says so and how to import them by hand.

``install`` copies the add-in to Excel's startup folder (XLSTART) and writes the
xlwings config file of the add-in (``INTERPRETER_WIN`` / ``INTERPRETER_MAC`` = this
Python), so its ``RunPython`` starts the Python where scplan is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import xlwings

EXCEL_DIR = Path(__file__).resolve().parent / "excel"
RIBBON_XML = EXCEL_DIR / "customUI.xml"
RIBBON_PART = "customUI/customUI.xml"
VBA_PART = "xl/vbaProject.bin"
ADDIN_FILE = "SupplyChainPlanner.xlam"
DEFAULT_OUTPUT = Path("dist") / ADDIN_FILE
# The xlwings VBA module of the quickstart add-in names its config after this project
# (PROJECT_NAME in its "xlwings" module); only Excel could rename it.
PROJECT_NAME = "myaddin"


@dataclass
class Report:
    """What a build or install did: the add-in file, whether it is complete, the steps."""

    path: Path | None
    complete: bool
    lines: list[str] = field(default_factory=list)

    def print(self, stream=None) -> None:
        for line in self.lines:
            print(line, file=stream or sys.stdout)


def template() -> Path:
    """xlwings' ribbon add-in that the scplan add-in is built from."""
    return Path(xlwings.__file__).resolve().parent / "quickstart_addin_ribbon.xlam"


def vba_modules() -> list[Path]:
    """The VBA modules of the add-in (addin/excel/*.bas)."""
    return sorted(EXCEL_DIR.glob("*.bas"))


def vb_name(bas: Path) -> str:
    """The module name a .bas file declares (its file stem when it declares none)."""
    m = re.search(r'^Attribute VB_Name = "([^"]+)"', bas.read_text(encoding="utf-8"), re.MULTILINE)
    return m.group(1) if m else bas.stem


# ---------------------------------------------------------------------------
# Build


def write_ribbon(src: Path, dst: Path, ribbon_xml: bytes) -> Path:
    """Copy the .xlam ``src`` to ``dst`` with its ribbon XML replaced (written atomically)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scplan-", suffix=".xlam", dir=dst.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            names = zin.namelist()
            if RIBBON_PART not in names:
                raise RuntimeError(f"{src} has no {RIBBON_PART}: not a ribbon add-in template")
            for item in zin.infolist():
                data = ribbon_xml if item.filename == RIBBON_PART else zin.read(item.filename)
                zout.writestr(item, data)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst


def has_vba_modules(xlam: Path) -> bool:
    """True when every ``.bas`` module is in the add-in's VBA project.

    A VBA project stores each module as a stream named after it; stream names are
    UTF-16 in the compound file's directory, so a byte search finds them.
    """
    with zipfile.ZipFile(xlam) as z:
        if VBA_PART not in z.namelist():
            return False
        blob = z.read(VBA_PART)
    return all(vb_name(b).encode("utf-16-le") in blob for b in vba_modules())


def _crlf_copy(bas: Path, folder: Path) -> Path:
    """The VBA editor imports Windows text: CRLF line ends, ANSI encoding."""
    text = bas.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    out = folder / bas.name
    out.write_bytes(text.encode("cp1252"))
    return out


def import_vba(xlam: Path) -> None:
    """Import the ``.bas`` modules into ``xlam`` with Excel (Windows, COM)."""
    app = xlwings.App(visible=False, add_book=False)
    try:
        app.display_alerts = False
        book = app.books.open(str(xlam))
        try:
            project = book.api.VBProject
            components = project.VBComponents
        except Exception as exc:
            raise RuntimeError(
                "Excel refused access to the add-in's VBA project. In Excel: File > Options > "
                "Trust Center > Trust Center Settings > Macro Settings, tick 'Trust access to "
                "the VBA project object model', then build again.") from exc
        with tempfile.TemporaryDirectory(prefix="scplan-vba-") as tmp:
            for bas in vba_modules():
                try:
                    components.Remove(components(vb_name(bas)))
                except Exception:
                    pass  # not there yet
                components.Import(str(_crlf_copy(bas, Path(tmp))))
        book.save()
        book.close()
    finally:
        app.quit()


def manual_vba_steps(xlam: Path) -> list[str]:
    """What to do by hand in Excel when the VBA modules could not be imported."""
    files = ", ".join(str(b) for b in vba_modules())
    return [(
        f"To finish by hand in desktop Excel (Windows or macOS): open {xlam}, open the VBA "
        "editor (Alt+F11 / Option+F11), select the project 'MyAddin', File > Import File… "
        f"and import {files}; save (Ctrl+S / Cmd+S) and close. Then run: "
        f'scplan addin install --file "{xlam}"'
    )]


def build(out: Path = DEFAULT_OUTPUT, use_excel: bool | None = None) -> Report:
    """Build the add-in at ``out``; import the VBA callbacks when Excel is available."""
    out = Path(out)
    write_ribbon(template(), out, RIBBON_XML.read_bytes())
    lines = [f"Ribbon: {RIBBON_XML} -> {out} ({RIBBON_PART})"]
    if use_excel is None:
        use_excel = sys.platform.startswith("win")
    if not use_excel:
        if sys.platform.startswith("win"):
            why = "--no-excel was given"
        elif sys.platform == "darwin":
            why = "Excel for macOS cannot import VBA modules from a script"
        else:
            why = "there is no Excel on this system"
        lines += [(f"Built {out} WITHOUT the button macros: {why}, and only Excel can write "
                   "a VBA project. The ribbon would show, but its buttons would fail with "
                   "\"Cannot run the macro 'RibbonScplan…'\".")]
        lines += manual_vba_steps(out)
        return Report(out, False, lines)
    try:
        import_vba(out)
    except Exception as exc:  # no Excel, no permission: say what is left to do
        lines += [f"Built {out} WITHOUT the button macros: importing the VBA failed: {exc}"]
        lines += manual_vba_steps(out)
        return Report(out, False, lines)
    modules = ", ".join(vb_name(b) for b in vba_modules())
    lines.append(f"Built {out} with the button macros ({modules}).")
    return Report(out, True, lines)


# ---------------------------------------------------------------------------
# Install


def startup_folder(platform: str = sys.platform) -> Path | None:
    """Excel's per-user startup folder (add-ins there load when Excel starts)."""
    if platform.startswith("win"):
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    if platform == "darwin":
        return (Path.home() / "Library" / "Group Containers" / "UBF8T346G9.Office"
                / "User Content.localized" / "Startup.localized" / "Excel")
    return None


def config_file(platform: str = sys.platform) -> Path | None:
    """The add-in's xlwings user config file (read by its ``GetConfig``)."""
    if platform.startswith("win"):
        home = os.environ.get("USERPROFILE") or str(Path.home())
        return Path(home) / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"
    if platform == "darwin":  # Excel is sandboxed: its "home" is its container
        return (Path.home() / "Library" / "Containers" / "com.microsoft.Excel" / "Data"
                / f"{PROJECT_NAME}.conf")
    return None


def write_config(path: Path, interpreter: str, platform: str = sys.platform) -> Path:
    """Set ``INTERPRETER_WIN``/``_MAC`` in an xlwings config file, keeping other lines."""
    key = "INTERPRETER_MAC" if platform == "darwin" else "INTERPRETER_WIN"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if path.exists():
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.upper().startswith(f'"{key}"')]
    lines.append(f'"{key}","{interpreter}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def install(xlam: Path, platform: str = sys.platform, startup: Path | None = None,
            config: Path | None = None, interpreter: str = sys.executable) -> Report:
    """Copy the add-in to the startup folder and point its config at ``interpreter``."""
    startup = startup or startup_folder(platform)
    config = config or config_file(platform)
    if startup is None or config is None:
        return Report(None, False, [(
            "The Excel add-in runs in desktop Excel on Windows or macOS; this machine "
            f"({platform}) has neither. Use the headless commands here (scplan solve …), or "
            "run 'scplan addin install' on the planner's Windows or macOS computer, where "
            "scplan is installed in the Python that Excel should use.")])
    lines = []
    if not has_vba_modules(xlam):
        lines.append(f"Warning: {xlam} has no button macros yet; the buttons will not work "
                     "until they are imported.")
        lines += manual_vba_steps(xlam)
    startup.mkdir(parents=True, exist_ok=True)
    target = startup / ADDIN_FILE
    try:
        shutil.copyfile(xlam, target)
    except PermissionError:
        return Report(None, False, lines + [
            f"Cannot write {target}: Excel has the add-in open. Quit Excel and run this again."])
    write_config(config, interpreter, platform)
    lines += [f"Installed {target}",
              f"Python for the add-in: {interpreter} (in {config})"]
    if platform == "darwin":
        try:  # RunPython on macOS needs xlwings' AppleScript in Excel's script folder
            from xlwings.cli import runpython_install

            runpython_install(None)
        except Exception as exc:
            lines.append(f"Could not install xlwings' AppleScript ({exc}); run: "
                         "xlwings runpython install")
    lines.append("Restart Excel (on macOS quit it with Cmd+Q first): the ribbon tab "
                 "'Supply Chain Planner' appears.")
    return Report(target, True, lines)


# ---------------------------------------------------------------------------
# Command line (``scplan addin …``)


def main(argv: list[str] | None = None) -> int:
    """``scplan addin``: build or install the Excel add-in; returns the exit code."""
    p = argparse.ArgumentParser(prog="scplan addin",
                                description="Build or install the Excel add-in.")
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="build the .xlam from xlwings' ribbon add-in template")
    b.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT),
                   help=f"the add-in to write (default {DEFAULT_OUTPUT})")
    b.add_argument("--no-excel", action="store_true",
                   help="do not start Excel to import the VBA (ribbon only)")
    i = sub.add_parser("install", help="install the add-in for this user and this Python")
    i.add_argument("--file", help="a built .xlam (default: build one first)")
    args = p.parse_args(argv)
    if args.action == "build":
        report = build(Path(args.output), use_excel=False if args.no_excel else None)
        report.print()
        return 0
    if startup_folder() is None:
        install(Path(args.file or DEFAULT_OUTPUT)).print()
        return 2
    if args.file:
        xlam = Path(args.file)
        if not xlam.exists():
            print(f"error: {xlam} not found", file=sys.stderr)
            return 2
    else:
        built = build(DEFAULT_OUTPUT)
        built.print()
        xlam = DEFAULT_OUTPUT
    report = install(xlam)
    report.print()
    return 0 if report.complete else 2
