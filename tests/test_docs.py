"""The documentation's stored outputs, read from the committed notebooks (nothing is run here).

Every tutorial shows figures, and every cell of a tutorial or a chapter that draws a figure has its image stored
(scripts/docs_outputs.py writes them; its `--check`, run by scripts/test.sh, shows that they come from the current
code). README.md is nbs/index.ipynb written as markdown by scripts/readme.py."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))
TUTORIALS = sorted((ROOT / 'nbs/tutorials').glob('*.ipynb'))
CHAPTERS = sorted(p for p in (ROOT / 'nbs').glob('[0-9]*.ipynb'))
# A cell draws a figure when it calls a plotting function of the package or of matplotlib at its top level
# (not in a definition) and does not close the figure it draws.
DRAWS = re.compile(r'\b(plot\w*|subplots|imshow|figure)\(')
DEFINES = re.compile(r'^(def|class|@)', re.M)


def code_cells_run(path: Path) -> list:
    "The code cells of the notebook at `path` that nbdev-test (with --flags slow) runs, as dicts."
    from nbdev.config import get_config
    from nbdev.test import nb_test_cells

    ids = {c.id for c in nb_test_cells(path, get_config(path).tst_flags.split(), ['slow'])}
    cells = json.loads(path.read_text())['cells']
    return [c for c in cells if c['cell_type'] == 'code' and c.get('id') in ids]


def n_images(cell: dict) -> int:
    return sum(
        any(k.startswith('image/') for k in o.get('data', {})) for o in cell.get('outputs', [])
    )


def draws_figure(cell: dict) -> bool:
    "Whether `cell` draws a figure it shows (see `DRAWS`)."
    src = ''.join(cell['source'])
    code = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#'))
    # a bare matplotlib `Figure(...)` is never shown: a cell building one saves or encodes it
    shown = 'plt.close' not in code and 'Figure(' not in code
    return bool(DRAWS.search(code)) and not DEFINES.search(code) and shown


def test_draws_figure():
    cell = lambda s: dict(source=[s])
    assert draws_figure(cell("plot_trial(inputs, targets, task.mask, condition);"))
    assert draws_figure(cell("fig = analyzer.plot_fixed_points('2D')"))
    assert draws_figure(cell("fig, ax = plt.subplots()\nax.plot([0, 1])"))
    assert not draws_figure(cell("def plot_x(ax):\n    ax.plot([0, 1])"))
    assert not draws_figure(cell("fig = Figure()\nfig.subplots().plot([0, 1])\nsave(fig)"))
    assert not draws_figure(cell("fig = plot_trial(i, t, m, c)\nplt.close(fig)"))
    assert not draws_figure(cell("#| export\nimport matplotlib.pyplot as plt"))


@pytest.mark.parametrize('path', TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_shows_figures(path):
    cells = code_cells_run(path)
    assert sum(map(n_images, cells)) > 0, (
        f'{path.name} has no stored figure: run scripts/docs_outputs.py'
    )


@pytest.mark.parametrize('path', TUTORIALS + CHAPTERS, ids=lambda p: p.stem)
def test_figure_cells_have_images(path):
    missing = [
        f"cell {c['id']}: {''.join(c['source']).splitlines()[0][:70]!r}"
        for c in code_cells_run(path)
        if draws_figure(c) and n_images(c) == 0
    ]
    assert not missing, (
        f'{path.relative_to(ROOT)}: cells that draw a figure without a stored image (run '
        f'.venv/bin/python scripts/docs_outputs.py {path.relative_to(ROOT)}):\n  '
        + '\n  '.join(missing)
    )


def lacks_picture(output: dict) -> bool:
    "Whether `output` shows an explorer without its picture, or says that a formatter failed."
    text = ''.join(output.get('data', {}).get('text/plain', ''))
    explorer = text.startswith(('FixedPointExplorer(', 'TrialExplorer('))
    pictured = any(k.startswith('image/') for k in output.get('data', {}))
    return 'FormatterWarning' in ''.join(output.get('text', '')) or (explorer and not pictured)


@pytest.mark.parametrize('path', TUTORIALS + CHAPTERS, ids=lambda p: p.stem)
def test_explorers_store_their_pictures(path):
    failed = [
        c['id'] for c in code_cells_run(path) if any(map(lacks_picture, c.get('outputs', [])))
    ]
    assert not failed, f'{path.relative_to(ROOT)}: cells whose explorer shows no picture: {failed}'


def test_readme_is_index():
    import readme

    text, images = readme.build()
    assert (ROOT / 'README.md').read_text() == text, 'README.md is stale: run scripts/readme.py'
    for rel, data in images.items():
        assert (ROOT / rel).read_bytes() == data, f'{rel} is stale: run scripts/readme.py'


def test_normalise_hides_what_moves_between_runs_only():
    from docs_outputs import normalise

    warning = 'rnn_pipeline/dynamics.py:{}: UserWarning: {} slow points found'
    assert normalise(warning.format(767, 245)) == normalise(warning.format(801, 245))
    assert normalise(warning.format(767, 245)) != normalise(warning.format(767, 246))
    assert normalise('server: 127.0.0.1:52199') == normalise('server: 127.0.0.1:38199')
