"""``python -m benchmarks render``: result workbooks as a planner sees them, as PNG pages.

Each workbook is copied with print settings for reading (landscape; a table one page
wide with gridlines, its header row repeated and, when long, cut to its first rows; each
chart on a page of its own; the sheet's name in every page header), converted to PDF by
LibreOffice headless and to one PNG per page by ``pdftoppm``. The result workbook itself is never
changed. With no workbook given, ``scplan demo`` runs into a temporary folder and every
result workbook it writes is rendered.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# Worksheet children that come after headerFooter (ECMA-376 CT_Worksheet order).
AFTER_HEADER_FOOTER = ("rowBreaks", "colBreaks", "customProperties", "cellWatches",
                       "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
                       "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                       "webPublishItems", "tableParts", "extLst")
PRINT_BLOCK = (
    '<printOptions gridLines="{grid}"/>'
    '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.4" header="0.2" footer="0.2"/>'
    '<pageSetup paperSize="9" orientation="landscape" {fit}/>'
    '<headerFooter><oddHeader>&amp;L&amp;F&amp;R&amp;A, page &amp;P of &amp;N</oddHeader>'
    '</headerFooter>{breaks}'
)
# What an A4 landscape page with those margins holds, in points (less the repeated header).
PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 842 - 2 * 0.4 * 72, 595 - (0.6 + 0.4) * 72 - 15
EMU_PER_PT = 12700


@dataclass
class Chart:
    """Where a chart is drawn: top-left cell (0-based) and size in points."""

    row: int
    col: int
    width_pt: float
    height_pt: float


def sheet_parts(z: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, XML part) of every sheet, in the workbook's order."""
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "").lstrip("/") for r in rels}
    book = ET.fromstring(z.read("xl/workbook.xml"))
    out = []
    for sh in book.iter(f"{NS}sheet"):
        t = target[sh.get(REL_ID)]
        out.append((sh.get("name"), t if t.startswith("xl/") else "xl/" + t))
    return out


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def charts_of(z: zipfile.ZipFile, part: str, xml: str) -> list[Chart]:
    """The charts drawn on a sheet (one-cell anchors, as the result workbooks use)."""
    found = re.search(r'<drawing\b[^>]*r:id="([^"]+)"', xml)
    if not found:
        return []
    folder, file = part.rsplit("/", 1)
    rels = ET.fromstring(z.read(f"{folder}/_rels/{file}.rels"))
    target = next(r.get("Target", "") for r in rels if r.get("Id") == found.group(1))
    path = target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"
    while "/../" in path:
        path = re.sub(r"[^/]+/\.\./", "", path, count=1)
    drawing = z.read(path).decode("utf-8")
    charts = []
    for anchor in re.findall(r"<(?:\w+:)?oneCellAnchor>(.*?)</(?:\w+:)?oneCellAnchor>",
                             drawing, flags=re.S):
        start = re.search(r"<(?:\w+:)?from>(.*?)</(?:\w+:)?from>", anchor, flags=re.S).group(1)
        col = int(re.search(r"<(?:\w+:)?col>(\d+)<", start).group(1))
        row = int(re.search(r"<(?:\w+:)?row>(\d+)<", start).group(1))
        cx, cy = re.search(r'<(?:\w+:)?ext cx="(\d+)" cy="(\d+)"', anchor).groups()
        charts.append(Chart(row, col, int(cx) / EMU_PER_PT, int(cy) / EMU_PER_PT))
    return charts


def column_widths_pt(xml: str, n_cols: int) -> np.ndarray:
    """Printed width of columns 1..n_cols in points (Excel: 7 px a character + 5 px)."""
    fmt = re.search(r"<sheetFormatPr\b[^>]*defaultColWidth=\"([\d.]+)\"", xml)
    chars = np.full(n_cols, float(fmt.group(1)) if fmt else 8.43)
    for attrs in re.findall(r"<col\b([^>]*)/>", xml):
        a = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        if "width" in a:
            lo, hi = int(a["min"]), min(int(a["max"]), n_cols)
            chars[lo - 1:hi] = float(a["width"])
    return (7 * chars + 5) * 0.75


def chart_page_setup(xml: str, charts: list[Chart]) -> tuple[str, str]:
    """(pageSetup attributes, row and column breaks) for a sheet with charts.

    A page break before each chart's first column and row puts every chart on a page
    of its own; the scale is the largest at which every such block fits one page.
    """
    rows = sorted({c.row for c in charts if c.row > 0})
    cols = sorted({c.col for c in charts if c.col > 0})
    last_row, last_col = used_range(xml)
    widths = column_widths_pt(xml, max(last_col, *(c.col for c in charts)) + 1)
    edges = [0, *cols, len(widths)]
    block_w = [widths[a:b].sum() for a, b in zip(edges[:-1], edges[1:])]
    block_w += [c.width_pt for c in charts]
    row_edges = [0, *rows]
    block_h = [15.0 * (b - a) for a, b in zip(row_edges[:-1], row_edges[1:])]
    block_h += [c.height_pt for c in charts]
    scale = min(PAGE_WIDTH_PT / max(block_w), PAGE_HEIGHT_PT / max(block_h), 1.0)
    breaks = ""
    if rows:  # a break's id is the last row (column) before it, 1-based
        breaks += (f'<rowBreaks count="{len(rows)}" manualBreakCount="{len(rows)}">'
                   + "".join(f'<brk id="{r}" max="16383" man="1"/>' for r in rows)
                   + "</rowBreaks>")
    if cols:
        breaks += (f'<colBreaks count="{len(cols)}" manualBreakCount="{len(cols)}">'
                   + "".join(f'<brk id="{c}" max="1048575" man="1"/>' for c in cols)
                   + "</colBreaks>")
    return f'scale="{max(10, int(scale * 100))}"', breaks


def printable_sheet(xml: str, charts: list[Chart] = ()) -> str:
    """The sheet XML with the print settings above: a table prints one page wide; a
    sheet with charts prints each chart on a page of its own (``chart_page_setup``)
    instead of beside its data at a fraction of its size."""
    for tag in ("printOptions", "pageMargins", "pageSetup"):
        xml = re.sub(rf"<{tag}\b[^>]*/>", "", xml)
    for tag in ("headerFooter", "rowBreaks", "colBreaks"):
        xml = re.sub(rf"<{tag}\b.*?</{tag}>|<{tag}\b[^>]*/>", "", xml, flags=re.S)
    xml = re.sub(r"<pageSetUpPr\b[^>]*/>", "", xml)
    if charts:
        fit, breaks = chart_page_setup(xml, charts)
    else:
        fit, breaks = 'fitToWidth="1" fitToHeight="0"', ""
    after = re.search(r"<(?:%s)\b" % "|".join(AFTER_HEADER_FOOTER[2:]), xml)
    at = after.start() if after else xml.rindex("</worksheet>")
    # Gridlines help read a table; beside a chart they only clutter.
    block = PRINT_BLOCK.format(grid="0" if charts else "1", fit=fit, breaks=breaks)
    xml = xml[:at] + block + xml[at:]
    if charts:
        return xml
    # fitToPage lives in sheetPr, the worksheet's first child.
    fit_pr = '<pageSetUpPr fitToPage="1"/>'
    if re.search(r"<sheetPr\b[^>]*/>", xml):
        return re.sub(r"<sheetPr\b([^>]*)/>", rf"<sheetPr\1>{fit_pr}</sheetPr>", xml, count=1)
    if "<sheetPr" in xml:
        return xml.replace("</sheetPr>", fit_pr + "</sheetPr>", 1)
    start = re.search(r"<worksheet\b[^>]*>", xml).end()
    return xml[:start] + f"<sheetPr>{fit_pr}</sheetPr>" + xml[start:]


def used_range(xml: str) -> tuple[int, int]:
    """(last row, last column) holding a cell."""
    refs = re.findall(r'<c r="([A-Z]+)(\d+)"', xml)
    if not refs:
        return 1, 1
    return (max(int(r) for _, r in refs), max(_column_number(c) for c, _ in refs))


def printable_copy(src: Path, dst: Path, max_rows: int, out_only: bool = False) -> None:
    """Copy ``src`` to ``dst`` with print settings; tables without charts longer than
    ``max_rows`` print their first ``max_rows`` rows (0 = all); ``out_only`` hides the
    input sheets (hidden sheets are not printed)."""
    with zipfile.ZipFile(src) as zin:
        parts = sheet_parts(zin)
        new: dict[str, bytes] = {}
        names = []
        for i, (name, part) in enumerate(parts):
            xml = zin.read(part).decode("utf-8")
            new[part] = printable_sheet(xml, charts_of(zin, part, xml)).encode("utf-8")
            if out_only and not name.startswith("Out "):
                continue  # LibreOffice prints a hidden sheet that has a print area
            quoted = "'" + name.replace("'", "''") + "'"
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                         f"{quoted}!$1:$1</definedName>")
            rows, cols = used_range(xml)
            if max_rows and rows > max_rows and "<drawing" not in xml:
                names.append(f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">'
                             f"{quoted}!$A$1:${_column_letters(cols)}${max_rows}"
                             "</definedName>")
        book = zin.read("xl/workbook.xml").decode("utf-8")
        book = re.sub(r'<definedName name="_xlnm\.Print_(?:Area|Titles)"[^>]*>.*?'
                      r"</definedName>", "", book, flags=re.S)
        if "<definedNames>" in book:
            book = book.replace("</definedNames>", "".join(names) + "</definedNames>", 1)
        elif "<definedNames/>" in book:
            book = book.replace("<definedNames/>",
                                "<definedNames>" + "".join(names) + "</definedNames>", 1)
        else:
            book = book.replace("</sheets>",
                                "</sheets><definedNames>" + "".join(names) + "</definedNames>",
                                1)
        if out_only:
            book = re.sub(r"<sheet\b[^>]*>", _hide_input_sheet, book)
            first_out = next((i for i, (n, _) in enumerate(parts) if n.startswith("Out ")), 0)
            book = re.sub(r'activeTab="\d+"', f'activeTab="{first_out}"', book)
        new["xl/workbook.xml"] = book.encode("utf-8")
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info, new.get(info.filename) or zin.read(info.filename))


def _hide_input_sheet(tag: re.Match) -> str:
    text = tag.group(0)
    if re.search(r'\bname="Out ', text):
        return text
    text = re.sub(r'\sstate="[^"]*"', "", text)
    return text.replace("<sheet ", '<sheet state="hidden" ', 1)


def render(workbook: Path, out_dir: Path, work: Path, max_rows: int = 120, dpi: int = 60,
           out_only: bool = False) -> list[Path]:
    """PNG pages of one workbook in ``out_dir``, named ``<stem>-<page>-<sheet>.png``."""
    copy = work / workbook.name
    printable_copy(workbook, copy, max_rows, out_only)
    # A profile of our own: another LibreOffice running on the machine does not interfere.
    profile = (work / "lo-profile").resolve().as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(copy)],
                   check=True, capture_output=True, timeout=600)
    pdf = work / f"{copy.stem}.pdf"
    for old in out_dir.glob(f"{workbook.stem}-*.png"):
        old.unlink()
    pages = work / "pages"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(pages / "p")],
                   check=True, timeout=600)
    with zipfile.ZipFile(copy) as z:
        sheets = page_sheets(pdf, [name for name, _ in sheet_parts(z)])
    out = []
    for i, png in enumerate(sorted(pages.glob("p-*.png"))):
        sheet = sheets[i] if i < len(sheets) else "page"
        slug = re.sub(r"[^A-Za-z0-9]+", "-", sheet).strip("-")
        out.append(out_dir / f"{workbook.stem}-{i + 1:03d}-{slug}.png")
        shutil.move(png, out[-1])
    return out


def page_sheets(pdf: Path, sheets: list[str]) -> list[str]:
    """The sheet each PDF page shows, read from its page header ("<sheet>, page n of m")."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=600).stdout
    by_length = sorted(sheets, key=len, reverse=True)
    names = []
    for page in text.split("\f"):
        heads = re.findall(r"(.*), page \d+ of \d+", page)
        names.append(next((n for h in heads for n in by_length if h.rstrip().endswith(n)), ""))
    return names


def run_demo(folder: Path, time_limit: float | None) -> list[Path]:
    """``scplan demo`` into ``folder``; the result workbooks it wrote."""
    cmd = [sys.executable, "-m", "solver_core.cli", "demo", str(folder)]
    if time_limit:
        cmd += ["--time-limit", str(time_limit)]
    subprocess.run(cmd, check=False)
    return sorted(folder.glob("*-result.xlsx"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks render",
                                description=__doc__.splitlines()[0])
    p.add_argument("workbooks", nargs="*", type=Path,
                   help="result workbooks (default: run scplan demo and take its results)")
    p.add_argument("-o", "--out", type=Path, default=Path("render"),
                   help="folder for the PNG pages (default: ./render)")
    p.add_argument("--rows", type=int, default=120,
                   help="print at most this many rows of a table without charts (0 = all)")
    p.add_argument("--out-only", action="store_true",
                   help="only the result sheets (Out …), not the input sheets")
    p.add_argument("--dpi", type=int, default=60, help="PNG resolution (default 60)")
    p.add_argument("--time-limit", type=float,
                   help="passed on to scplan demo when no workbook is given")
    p.add_argument("--demo-dir", type=Path,
                   help="keep scplan demo's result workbooks here (default: a temporary folder)")
    args = p.parse_args(argv)
    missing = [w for w in args.workbooks if not w.is_file()]
    if missing:
        p.error("no such workbook: " + ", ".join(map(str, missing)))
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            p.error(f"{tool} is not installed (LibreOffice and poppler-utils are needed)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workbooks = list(args.workbooks)
        if not workbooks:
            demo = args.demo_dir or work / "demo"
            demo.mkdir(parents=True, exist_ok=True)
            workbooks = run_demo(demo, args.time_limit)
            if not workbooks:
                print("scplan demo wrote no result workbook", file=sys.stderr)
                return 1
        failed = 0
        for wb in workbooks:
            try:
                pages = render(wb.resolve(), args.out, work, args.rows, args.dpi,
                               args.out_only)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired,
                    zipfile.BadZipFile, KeyError) as exc:
                detail = getattr(exc, "stderr", None) or ""
                if isinstance(detail, bytes):
                    detail = detail.decode(errors="replace")
                print(f"{wb.name}: not rendered: {exc} {detail.strip()}", file=sys.stderr)
                failed += 1
                continue
            print(f"{wb.name}: {len(pages)} page(s) in {args.out}")
            for page in pages:
                print(f"  {page}")
    return 1 if failed else 0
