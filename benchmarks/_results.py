"""The one writer of benchmark results: each benchmark writes benchmarks/results/NAME.json with `write_results`.

The Explanations page on performance (nbs/explanations/performance.ipynb) reads these files to draw its tables, so
a number in the docs is always one a benchmark measured. A results file holds the benchmark's name, a title, the
machine it ran on, the date, its tables (caption, columns, rows of plain numbers and strings) and notes.
"""

import datetime, json, os, platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'results'


def machine() -> str:
    "The machine a benchmark runs on, in words: system, Python, CPUs, torch and its threads, OMP_NUM_THREADS."
    try:
        import torch

        lib = f"torch {torch.__version__} with {torch.get_num_threads()} thread(s)"
    except ImportError:
        lib = 'no torch'
    return (
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{lib}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )


def plain(v):
    "`v` as JSON holds it: NumPy scalars as Python numbers, tuples as lists."
    if hasattr(v, 'item') and not isinstance(v, (list, tuple, dict)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def table(caption: str, columns: list, rows: list) -> dict:
    "A table of a results file: its caption, column names and rows (one value per column)."
    rows = [plain(list(r)) for r in rows]
    bad = [r for r in rows if len(r) != len(columns)]
    if bad:
        raise ValueError(
            f"table {caption!r}: rows {bad[:2]} do not have the {len(columns)} columns {columns}"
        )
    return dict(caption=caption, columns=list(columns), rows=rows)


def write_results(
    name: str, title: str, tables: list, notes: list = (), folder: Path = None
) -> Path:
    "Write benchmarks/results/`name`.json (or into `folder`) with `tables` (dicts of `table`); return its path."
    folder = RESULTS if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = dict(
        benchmark=name,
        title=title,
        machine=machine(),
        date=datetime.date.today().isoformat(),
        tables=[t if isinstance(t, dict) else table(*t) for t in tables],
        notes=list(notes),
    )
    path = folder / f'{name}.json'
    path.write_text(json.dumps(doc, indent=1) + '\n')
    return path
