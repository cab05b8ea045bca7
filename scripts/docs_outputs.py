"""Regenerate, or check, the outputs stored in the notebooks (tutorials, chapters, index).

    python scripts/docs_outputs.py [NOTEBOOK ...]          # run them, write their outputs back
    python scripts/docs_outputs.py --check [NOTEBOOK ...]  # run them, compare with what is stored

Without notebook paths: every notebook that `nbdev-test` runs (nbs/, tutorials included). The notebooks
run as `nbdev-test --flags slow` runs them, through nbdev's own `test_nb` (execnb's `CaptureShell.run_all`):
`#| eval: false` cells and cells with a flag of `tst_flags` other than `slow` are left out, a notebook stops at
its first exception, and it runs with the directory of the notebook as working directory. They run in a
temporary copy of the working tree (tracked and untracked files that git does not ignore), so nothing they
write lands in the repository. The copy's package is the one imported.

Regenerating writes each executed cell's outputs into the committed notebook (cells that do not run keep
what they have), then cleans it with nbdev-clean, so `nbdev-clean` leaves the result alone. Figures are PNG
at matplotlib's figure dpi (100 by default; nbdev-test draws 2x 'retina' PNGs) with a palette of 256 colours
(`small_png`), so that a notebook stays a few hundred kB.

--check fails (exit 1) when a notebook raises, or when an executed cell's stored outputs differ from the
regenerated ones: text outputs (streams, text/plain, text/html, text/markdown, errors) must be equal, and a
cell must have as many images as it had; image bytes are not compared. It lists every differing cell.

What varies from run to run, and how it is handled:
- progress bars (tqdm): TQDM_DISABLE=1 is set for the run, so there are none;
- Python object addresses (`<... at 0x7f...>`): removed by nbdev-clean's `clean_ids`, in the stored outputs
  and in the regenerated ones alike;
- the temporary copy's path and the repository's (in warnings, e.g. `.venv/lib/python3.11/site-packages/...`,
  and in tracebacks): written as paths relative to the repository; the Python version in such a path is not
  compared;
- the line of a source file that a warning names (`rnn_pipeline/dynamics.py:767: UserWarning: ...`): not
  compared, since an edit above it moves it;
- ipywidgets' model ids (`application/vnd.jupyter.widget-view+json`): random per run, not compared;
- the port of the throw-away database server of the DataJoint notebooks (`127.0.0.1:PORT`) and schema names
  made unique by a process id (`rnn_pipeline_..._PID`): not compared;
- numbers at the level of round-off (`2.1e-16` in one run, `2.2e-16` in the next: the `max |RHS|` of a
  `FixedPoints`): any number below 1e-12 written in e-notation is compared as `<1e-12`;
- other temporary folders (`/tmp/tmpXXXXXXXX`, a `TemporaryDirectory()` printed by a notebook): compared
  with the random part replaced by `tmpXXXXXXXX`.
- the machine: training on another CPU gives other last bits, amplified (other losses, iteration counts,
  points found). Regenerating records the machine's `numerics_fingerprint` (rnn_pipeline.examples) in
  nbs/_stored_outputs.json; --check on a machine with another fingerprint compares the text with every
  number replaced by `#` (and says so), on one with the same fingerprint exactly.
Timings are not printed by the notebooks' examples (a measurement belongs in benchmarks/, whose results the
Explanations page reads), so no normalisation hides them.
"""

import argparse, difflib, json, os, re, subprocess, sys, tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Set before anything imports torch, tqdm or matplotlib; the forked workers inherit them.
os.environ['TQDM_DISABLE'] = '1'
os.environ.setdefault('MPLBACKEND', 'Agg')
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

TEXT_KEYS = ('text/plain', 'text/html', 'text/markdown', 'text/latex', 'application/json')
WIDGET_KEY = 'application/vnd.jupyter.widget-view+json'
TMP_RE = re.compile(r'(/tmp/)(tmp|pytest-of-\w+/pytest-)[\w-]+')
PORT_RE = re.compile(r'(127\.0\.0\.1:|localhost:)\d+')  # the DataJoint tests' server
PID_RE = re.compile(r'(rnn_pipeline_\w*?_)\d+')  # schema names made unique by a process id
# Round-off: a residual of 2.1e-16 in one run is 2.2e-16 in the next (FixedPoints' max |RHS|)
ROUNDOFF_RE = re.compile(r'\b\d(\.\d+)?e-(1[3-9]|[2-9]\d)\b')
NUMBER_RE = re.compile(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?')
STORED = ROOT / 'nbs' / '_stored_outputs.json'  # the fingerprint of the machine that made them
PYTHON_RE = re.compile(r'python3\.\d+')  # .venv/lib/python3.11/site-packages in a warning's path
LINE_RE = re.compile(r'(\.py):\d+:')  # a warning's line in a source file moves with edits above it


def copy_tree(dest: Path):
    "Copy the working tree's tracked and untracked, not ignored, files into `dest`."
    files = (
        subprocess.run(
            ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split('\0')
    )
    for rel in filter(None, files):
        src = ROOT / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(src.read_bytes())


def select_notebooks(paths) -> list:
    "The repository-relative notebooks to run: `paths`, or all that nbdev-test runs."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    from nbdev.test import _keep_file

    if not paths:
        files = nbglob(get_config(ROOT).nbs_path, as_path=True)
        return sorted(
            str(Path(f).resolve().relative_to(ROOT)) for f in files if _keep_file(f, '.notest')
        )
    out = []
    for p in paths:
        f = Path(p).resolve()
        if f.suffix != '.ipynb' or not f.is_file():
            sys.exit(f'docs_outputs: {p!r} is not a notebook (a path to an existing .ipynb file)')
        out.append(str(f.relative_to(ROOT)))
    return out


def small_png(fig) -> bytes:
    "`fig` as a PNG of at most 256 colours, at the figure's dpi: a third of the bytes of matplotlib's."
    import io

    from IPython.core.pylabtools import print_figure
    from PIL import Image

    raw = print_figure(fig, 'png', bbox_inches='tight')
    buf = io.BytesIO()
    Image.open(io.BytesIO(raw)).convert('RGB').quantize(256).save(buf, 'PNG', optimize=True)
    return buf.getvalue()


def png_shell():
    "execnb's CaptureShell drawing figures as `small_png` (1x figure dpi) instead of 'retina' PNGs (2x)."
    from execnb.shell import CaptureShell
    from matplotlib.figure import Figure

    class PngShell(CaptureShell):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault('mpl_format', 'png')
            super().__init__(*args, **kwargs)
            self.display_formatter.formatters['image/png'].for_type(Figure, small_png)

    return PngShell


def execute(tmp: Path, rels: list, n_workers: int) -> dict:
    "Run the notebooks `rels` of the copy in `tmp` as nbdev-test does, saving outputs; {rel: passed}."
    import nbdev.test
    from fastcore.parallel import parallel
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.test import nb_test_cells, test_nb

    nbdev.test.CaptureShell = png_shell()  # test_nb builds its shell from this name
    cfg = get_config(tmp)
    skip_flags, force_flags = cfg.tst_flags.split(), ['slow']
    files = [tmp / r for r in rels]
    with working_directory(cfg.nbs_path):  # as nbdev_test does
        setup = cfg.get('test_setup')
        if setup:
            from fastcore.basics import import_obj

            import_obj(setup)([c for f in files for c in nb_test_cells(f, skip_flags, force_flags)])
        results = parallel(
            test_nb,
            files,
            skip_flags=skip_flags,
            force_flags=force_flags,
            n_workers=n_workers if len(files) > 1 else 0,
            basepath=cfg.config_path,
            pause=0.01,
            save=True,
            cell_timeout=cfg.cell_timeout or None,
        )
    return {r: ok for r, (ok, _) in zip(rels, results)}


def executed_ids(path: Path) -> set:
    "The ids of the cells of the notebook at `path` that nbdev-test runs (with --flags slow)."
    from nbdev.config import get_config
    from nbdev.test import nb_test_cells

    return {c.id for c in nb_test_cells(path, get_config(path).tst_flags.split(), ['slow'])}


def clean(nb: dict, path: Path):
    "Clean `nb` in place as nbdev-clean cleans the notebook at `path`."
    from nbdev.clean import _nbdev_clean

    _nbdev_clean(nb, path=None)
    return nb


def untmp(value, tmp: Path):
    "`value` (a str or list of lines) with the paths of the copy and of the repository made relative."
    fix = lambda s: (
        s.replace(f'{tmp}/', '')
        .replace(str(tmp), '.')
        .replace(f'{ROOT}/', '')
        .replace(str(ROOT), '.')
    )
    return fix(value) if isinstance(value, str) else [fix(s) for s in value]


def fresh_outputs(tmp: Path, rel: str) -> dict:
    "{cell id: outputs} of the executed cells of the notebook `rel` in the copy, cleaned."
    nb = clean(json.loads((tmp / rel).read_text()), tmp / rel)
    ids, out = executed_ids(tmp / rel), {}
    for c in nb['cells']:
        if c['cell_type'] != 'code' or c.get('id') not in ids:
            continue
        for o in c.get('outputs', []):
            for k in ('text', 'traceback'):
                if k in o:
                    o[k] = untmp(o[k], tmp)
            for k, v in o.get('data', {}).items():
                if k.startswith('text/'):
                    o['data'][k] = untmp(v, tmp)
        out[c['id']] = c.get('outputs', [])
    return out


def write_outputs(rel: str, outputs: dict):
    "Store `outputs` ({cell id: outputs}) in the committed notebook `rel`, then nbdev-clean it."
    from fastcore.nbio import write_nb

    path = ROOT / rel
    nb = json.loads(path.read_text())
    for c in nb['cells']:
        if c['cell_type'] == 'code' and c.get('id') in outputs:
            c['outputs'], c['execution_count'] = outputs[c['id']], None
    write_nb(clean(nb, path), path)


def summary(outputs: list) -> list:
    "What --check compares of a cell's `outputs`: text, one 'image' line per image, no widget ids."
    lines = []
    for o in outputs:
        kind = o['output_type']
        if kind == 'stream':
            lines += [f"[{o['name']}] {s}" for s in ''.join(o['text']).splitlines()]
        elif kind == 'error':
            lines.append(f"[error] {o['ename']}: {o['evalue']}")
        else:
            data = o.get('data', {})
            lines += [f'[{k}]' for k in sorted(data) if k.startswith('image/')]
            if WIDGET_KEY in data:
                lines.append('[widget]')
            for k in TEXT_KEYS:
                if k in data:
                    v = data[k]
                    text = (
                        json.dumps(v, sort_keys=True)
                        if not isinstance(v, (str, list))
                        else ''.join(v)
                    )
                    lines += [f'[{k}] {s}' for s in text.splitlines()]
    return [normalise(s) for s in lines]


def normalise(line: str) -> str:
    "`line` with what differs between runs or machines replaced (temporary folders, ports, pids)."
    line = TMP_RE.sub(r'\1\2XXXXXXXX', line)
    line = PYTHON_RE.sub('python3.X', line)
    line = LINE_RE.sub(r'\1:LINE:', line)
    line = PORT_RE.sub(r'\1PORT', line)
    line = ROUNDOFF_RE.sub('<1e-12', line)
    return PID_RE.sub(r'\1PID', line)


def numerics_fingerprint() -> str:
    "This machine's floating-point fingerprint, from the working tree's package."
    # in a process of its own: torch is not imported here before the notebooks' workers fork
    code = 'from rnn_pipeline.examples import numerics_fingerprint; print(numerics_fingerprint())'
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True)
    return run.stdout.decode().strip()


def same_numerics() -> bool:
    "Whether the stored outputs were made on a machine that computes as this one does."
    stored = json.loads(STORED.read_text()).get('numerics') if STORED.exists() else None
    return stored == numerics_fingerprint()


def compare(rel: str, outputs: dict, exact: bool = True) -> list:
    "The differences between the stored outputs of `rel` and the regenerated `outputs`, per cell."
    nb = clean(json.loads((ROOT / rel).read_text()), ROOT / rel)
    problems = []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code' or c.get('id') not in outputs:
            continue
        old, new = summary(c.get('outputs', [])), summary(outputs[c['id']])
        if not exact:
            old, new = [NUMBER_RE.sub('#', s) for s in old], [NUMBER_RE.sub('#', s) for s in new]
        if old != new:
            n_old = sum(s.startswith('[image/') for s in old)
            n_new = sum(s.startswith('[image/') for s in new)
            diff = '\n'.join(
                '    ' + s
                for s in difflib.unified_diff(old, new, 'stored', 'regenerated', lineterm='', n=1)
            )
            first = ''.join(c['source']).splitlines()[:1]
            problems.append(
                f"{rel}: cell {i} (id {c['id']}, {first[0][:60] if first else 'empty'!r}): "
                f'{n_old} stored image(s), {n_new} regenerated\n{diff}'
            )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'notebooks', nargs='*', help='notebooks to run (default: all nbdev-test runs)'
    )
    parser.add_argument(
        '--check', action='store_true', help='compare with the stored outputs, write nothing'
    )
    parser.add_argument(
        '--n-workers', type=int, default=2, help='notebooks run at once (default 2)'
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # nbdev's config (pyproject.toml) is found from here
    rels = select_notebooks(args.notebooks)
    exact = not args.check or same_numerics()
    if not exact:
        print(
            'The stored outputs were made on a machine whose floating-point results differ from this '
            "one's (nbs/_stored_outputs.json): text is compared with its numbers replaced by '#'."
        )
    with tempfile.TemporaryDirectory(prefix='docs-outputs-') as d:
        tmp = Path(d).resolve()
        copy_tree(tmp)
        passed = execute(tmp, rels, args.n_workers)
        failed = [r for r, ok in passed.items() if not ok]
        problems = []
        for rel in rels:
            if not passed[rel]:
                continue
            outputs = fresh_outputs(tmp, rel)
            if args.check:
                problems += compare(rel, outputs, exact)
            else:
                write_outputs(rel, outputs)
        if not args.check and not failed:
            STORED.write_text(json.dumps(dict(numerics=numerics_fingerprint())) + '\n')
    if failed:
        print(
            'FAILED: these notebooks raised (tracebacks above):\n  ' + '\n  '.join(failed),
            file=sys.stderr,
        )
    if problems:
        print(
            'FAILED: stored outputs differ from the current code; regenerate them with\n'
            '  .venv/bin/python scripts/docs_outputs.py '
            + ' '.join(args.notebooks)
            + '\n\n'
            + '\n\n'.join(problems),
            file=sys.stderr,
        )
    if failed or problems:
        return 1
    done = 'match their stored outputs' if args.check else 'outputs written'
    print(f'{len(rels)} notebook(s) run, {done}.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
