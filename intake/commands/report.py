"""`hotline report --from DATE --to DATE [--db URL] [--out DIR]`: the evaluation (考评) of a period.

Prints every table of routing.evaluation (shift chiefs, dispatchers, departments, inspectors,
streets, the centre) and the cases' states on stdout; with --out, also writes one CSV per table,
one XLSX workbook with a sheet per table, and charts as PNG into DIR. Dates are read in the
deployment's time zone; --to is exclusive (a bare date means its midnight).
"""
from __future__ import annotations

import csv
import datetime as dt
import sys
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit

# Table name -> (title, columns). Rates (fractions) are shown as percentages.
TABLES = {
    "shift_chiefs": ("值班长 shift chiefs", ["name", "立案数", "按时立案数", "作废数", "结案数", "按时结案数",
                                          "按时立案率", "准确立案率", "按时结案率", "综合指标值"]),
    "dispatchers": ("派遣员 dispatchers", ["name", "派遣数", "应派遣数", "按时派遣数", "返工数", "派遣数分值",
                                        "按时派遣率", "准确派遣率", "综合指标值"]),
    "departments": ("专业部门 departments", ["name", "应结案数", "结案数", "按期结案数", "处置数", "按时处置数",
                                         "返工数", "结案率", "按期结案率", "按时处置率", "返工率"]),
    "inspectors": ("监督员 inspectors", ["name", "核查数", "按时核查数", "核查不通过数", "按时核查率"]),
    "streets": ("街道 streets", ["name", "立案数", "监督发现数", "结案数", "按期结案数", "监督举报率", "结案率",
                               "按期结案率", "综合指标值"]),
    "centre": ("中心 centre", ["立案数", "应派遣数", "派遣数", "按时派遣率", "准确派遣率", "核实数", "按时核实数",
                             "按时核实率", "公众首报立案数", "漏报率"]),
    "states": ("案件状态 case states (now)", ["status", "label", "cases"]),
    "satisfaction": ("满意度 satisfaction", ["answer", "label", "count"]),
}
RATE_SUFFIX = "率"


def add_arguments(p) -> None:
    """--from, --to, --db, --out, --config."""
    p.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (or ISO date-time)")
    p.add_argument("--to", dest="end", required=True, metavar="DATE", help="end, exclusive (or ISO date-time)")
    add_db_option(p)
    p.add_argument("--out", metavar="DIR", help="write CSV, XLSX and PNG charts into this folder")
    add_config_option(p)


def _time(value: str, field: str, tz: ZoneInfo) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--{field}: {value!r} is not a date (YYYY-MM-DD) or ISO date-time")
    return t if t.tzinfo else t.replace(tzinfo=tz)


def build_tables(config, store_db, start: dt.datetime, end: dt.datetime) -> dict:
    """Every table of the period as lists of row dicts (plain values), from the database."""
    from intake.db.loop_store import SATISFACTION_ANSWERS, LoopStore
    from intake.db.pool import run_sync
    from intake.loop_config import calendar_of, limits_of
    from routing import workflow as wf
    from routing.evaluation import Evaluator
    loop = LoopStore(store_db)
    records = run_sync(loop.evaluation_records(start, end))
    tables = Evaluator(limits_of(config), calendar_of(config), start, end).evaluate(records)
    names = {d.id: d.name for d in config.departments.values()}
    for row in tables["departments"]:
        row["name"] = f"{names.get(row['name'], row['name'])} ({row['name']})"
    tables["centre"] = [tables["centre"]]
    counts = run_sync(store_db.do(_state_counts))
    tables["states"] = [{"status": s, "label": wf.STATES[s], "cases": counts.get(s, 0)} for s in wf.STATES]
    sat = run_sync(loop.satisfaction_counts(start, end))
    tables["satisfaction"] = [{"answer": a, "label": label, "count": sat.get(a, 0)}
                              for a, label in SATISFACTION_ANSWERS.items()]
    tables["_cases"] = len(records)
    return tables


def _state_counts(conn) -> dict:
    import sqlalchemy as sa
    from intake.db import schema as t
    return dict(conn.execute(sa.select(t.cases.c.status, sa.func.count()).group_by(t.cases.c.status)).all())


def _cell(col: str, value) -> str:
    if value is None:
        return "-"
    if col.endswith(RATE_SUFFIX) and isinstance(value, float):
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render(tables: dict, start, end) -> str:
    """The tables as text (East Asian characters count two columns)."""
    from intake.commands.demo import _table
    out = [f"evaluation {start.isoformat()} .. {end.isoformat()} (end exclusive): {tables['_cases']} cases "
           f"with activity"]
    for key, (title, cols) in TABLES.items():
        rows = tables.get(key) or []
        out.append("")
        out.append(f"== {title}")
        if not rows:
            out.append("(none in this period)")
            continue
        out.append(_table([[_cell(c, r.get(c)) for c in cols] for r in rows], cols))
    return "\n".join(out)


def write_files(tables: dict, out: Path) -> list[Path]:
    """CSV per table, one XLSX, PNG charts; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (_, cols) in TABLES.items():
        path = out / f"{key}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Chinese CSV right
            w = csv.writer(f)
            w.writerow(cols)
            for r in tables.get(key) or []:
                w.writerow(["" if r.get(c) is None else (round(r[c], 4) if isinstance(r.get(c), float) else r[c])
                            for c in cols])
        written.append(path)
    written.append(_xlsx(tables, out / "evaluation.xlsx"))
    written.extend(_charts(tables, out))
    return written


def _xlsx(tables: dict, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    wb.remove(wb.active)
    for key, (title, cols) in TABLES.items():
        ws = wb.create_sheet(key)
        ws.append(cols)
        for c in ws[1]:
            c.font = Font(bold=True)
        for r in tables.get(key) or []:
            ws.append([r.get(c) for c in cols])
        for j, col in enumerate(cols, start=1):
            if col.endswith(RATE_SUFFIX):
                for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    row[0].number_format = "0.0%"
            ws.column_dimensions[ws.cell(1, j).column_letter].width = max(10, 2 * len(col) + 4)
    wb.save(path)
    return path


def _charts(tables: dict, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _cjk_fonts()
    plt.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    # A missing CJK glyph (no Chinese font installed) draws boxes; it must not fill the terminal.
    warnings.filterwarnings("ignore", message="Glyph .* missing from font")
    written = []

    def bars(name, title, rows, label, series):
        if not rows:
            return
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows) + 3), 4.5))
        width = 0.8 / len(series)
        for k, (col, scale) in enumerate(series):
            xs = [i + k * width for i in range(len(rows))]
            ax.bar(xs, [(r.get(col) or 0) * scale for r in rows], width, label=col)
        ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(rows))])
        ax.set_xticklabels([str(r[label]) for r in rows], rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_ylim(0, 105)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{name}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a missing CJK glyph must not fail the report
            fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    bars("shift_chiefs", "值班长 综合指标值 / 按时立案率 / 准确立案率 / 按时结案率 (%)", tables["shift_chiefs"], "name",
         [("综合指标值", 1), ("按时立案率", 100), ("准确立案率", 100), ("按时结案率", 100)])
    bars("dispatchers", "派遣员 综合指标值 / 按时派遣率 / 准确派遣率 (%)", tables["dispatchers"], "name",
         [("综合指标值", 1), ("按时派遣率", 100), ("准确派遣率", 100)])
    bars("departments", "专业部门 结案率 / 按期结案率 / 按时处置率 (%)", tables["departments"], "name",
         [("结案率", 100), ("按期结案率", 100), ("按时处置率", 100)])
    bars("streets", "街道 综合指标值 / 结案率 / 按期结案率 (%)", tables["streets"], "name",
         [("综合指标值", 1), ("结案率", 100), ("按期结案率", 100)])
    states = [r for r in tables["states"] if r["cases"]]
    if states:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.barh([f"{r['label']} {r['status']}" for r in states], [r["cases"] for r in states])
        ax.set_title("案件状态 cases by state")
        fig.tight_layout()
        path = out / "states.png"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _cjk_fonts() -> None:
    """Make a Chinese font installed after matplotlib built its font cache known to it."""
    from matplotlib import font_manager
    known = {f.name for f in font_manager.fontManager.ttflist}
    if known & {"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP"}:
        return
    for path in font_manager.findSystemFonts():
        if "wqy" in path.lower() or "notosanscjk" in path.lower().replace("-", ""):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # an unreadable font file: the labels fall back to boxes, the report goes on


def run(args) -> int:
    """Compute the period's evaluation from the database and print (and write) it."""
    from intake.app import StartupError, open_database
    from intake.db.pool import SyncRunner
    config = load_config_or_exit(args.config)
    tz = ZoneInfo(config.service.timezone)
    start, end = _time(args.start, "from", tz), _time(args.end, "to", tz)
    if end <= start:
        fail("--to must be after --from")
    url = args.db or config.service.database_url
    try:
        engine = open_database(url)
    except StartupError as e:
        fail(str(e))
    try:
        tables = build_tables(config, SyncRunner(engine), start, end)
        print(render(tables, start, end))
        if args.out:
            paths = write_files(tables, Path(args.out))
            print(f"\nwrote {len(paths)} files to {args.out}: " + ", ".join(p.name for p in paths))
    finally:
        engine.dispose()
    sys.stdout.flush()
    return 0
