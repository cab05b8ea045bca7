"The `rnn-pipeline` console script, run as a user would run it."

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from rnn_pipeline.cli import main
from rnn_pipeline.config import ALIASES
from rnn_pipeline.tasks import TASKS

SCRIPT = Path(sys.executable).parent / 'rnn-pipeline'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
SEED_CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'seed-configs').glob('*.json'))
# a few iterations of a small batch
QUICK = ['--max-iter', '3', '--batch-size', '8', '--threads', '1', '--no-progress']
RUN_FILES = {
    'analysis.json',
    'config.json',
    'fixed_points.npz',
    'fixed_points.png',
    'losses.png',
    'params.npz',
    'status.json',
    'training.json',
    'trials.png',
}
BEHAVIOUR_FIGURES = dict(
    CDDM='psychometric.png',
    DMTS='confusion_matrix.png',
    NBitFlipFlop='bit_accuracy.png',
    MemoryAntiNumber='recall.png',
    MemoryAntiAngle='recall.png',
)
# the tasks with a continuous attractor (`Task.slow_point_inputs`): their slow points and figure
SLOW_POINT_FILES = {'slow_points.npz', 'slow_points.png'}
SLOW_POINT_TASKS = {'CDDM', 'MemoryAntiNumber', 'MemoryAntiAngle'}


def rnn_pipeline(*args, cwd=None) -> subprocess.CompletedProcess:
    "Run `rnn-pipeline ARGS` in a subprocess."
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def run_demo(out: Path) -> subprocess.CompletedProcess:
    "Run `rnn-pipeline demo --out out` in a subprocess."
    return subprocess.run(
        [str(SCRIPT), 'demo', '--out', str(out)], capture_output=True, text=True, timeout=300
    )


def snapshot(folder: Path) -> dict:
    "Name -> (bytes, modification time) of every file in `folder`."
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_demo_writes_one_png_per_task(tmp_path):
    out = tmp_path / 'demo'
    result = run_demo(out)
    assert result.returncode == 0, result.stderr
    expected = [out / f'{name}.png' for name in TASKS]
    assert result.stdout.split() == [str(p) for p in expected]
    assert sorted(out.iterdir()) == sorted(expected)
    for path in expected:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        with Image.open(path) as image:
            image.verify()
            assert image.format == 'PNG' and min(image.size) > 100


def test_demo_never_overwrites(tmp_path):
    out = tmp_path / 'demo'
    assert run_demo(out).returncode == 0
    before = snapshot(out)
    result = run_demo(out)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"rnn-pipeline: error: {out / 'CDDM.png'} already exists: choose another folder\n"
    )
    assert snapshot(out) == before


def test_bad_arguments_exit_2(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), 'demo', '--seed', 'abc', '--out', str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "seed='abc' is invalid" in result.stderr
    assert list(tmp_path.iterdir()) == []


def check_png(path: Path):
    "`path` is a PNG image of a reasonable size."
    with Image.open(path) as image:
        image.verify()
        assert image.format == 'PNG' and min(image.size) > 300, path


@pytest.mark.parametrize('config', SEED_CONFIGS, ids=lambda p: p.stem)
def test_seed_config_trains_and_is_analysed(tmp_path, config):
    """An original config trains for a few iterations; its data_folder (on another machine) is ignored: the run goes under
    ./runs; its seed is null: a fresh one is drawn and recorded."""
    result = rnn_pipeline('train', '--config', config, *QUICK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [folder] = (tmp_path / 'runs').iterdir()
    original = json.loads(config.read_text())
    task = original['tag'].split('_')[0]
    saved = json.loads((folder / 'config.json').read_text())
    assert original['seed'] is None and isinstance(saved['seed'], int)  # a fresh seed, recorded
    assert folder.name.startswith(f'{task}-') and folder.name.endswith(f"-seed{saved['seed']}")
    slow = SLOW_POINT_FILES if task in SLOW_POINT_TASKS else set()
    assert {p.name for p in folder.iterdir()} == RUN_FILES | {BEHAVIOUR_FIGURES[task]} | slow
    for png in folder.glob('*.png'):
        check_png(png)
    # set by the options, or completed with the task's defaults
    changed = {'seed', 'max_iter', 'batch_size', 'task_params'}
    assert {k: saved[ALIASES.get(k, k)] for k in original if k not in changed} == {
        k: v for k, v in original.items() if k not in changed
    }
    assert saved['task_params'].items() >= original['task_params'].items()
    assert (saved['max_iter'], saved['batch_size'], saved['task']) == (3, 8, task)
    training = json.loads((folder / 'training.json').read_text())
    assert training['iterations'] == 3 and len(training['train_losses']) == 3
    analysis = json.loads((folder / 'analysis.json').read_text())
    assert analysis['validation']['score_name'] == training['score_name']
    lines = result.stdout.splitlines()
    assert lines[0] == f'folder:       {Path("runs") / folder.name}'
    assert any(line.startswith('validation:   MSE ') for line in lines) and any(
        line.startswith('fixed points: ') for line in lines
    )
    slow_lines = [line for line in lines if line.startswith('slow points:  ')]
    assert len(slow_lines) == (2 if task in SLOW_POINT_TASKS else 0), lines


def test_analyze_repeats_the_saved_analysis_and_nothing_is_overwritten(tmp_path):
    result = rnn_pipeline(
        'train', 'MemoryAntiAngle', '--n-units', 20, '--out', tmp_path, '--name', 'run', *QUICK
    )
    assert result.returncode == 0, result.stderr
    run = tmp_path / 'run'
    before = snapshot(run)
    again = rnn_pipeline(
        'train', 'MemoryAntiAngle', '--n-units', 20, '--out', tmp_path, '--name', 'run', *QUICK
    )
    assert again.returncode == 2
    assert (
        again.stderr
        == f"rnn-pipeline: error: {run} already exists: a run folder is never reused; choose another name\n"
    )
    redo = rnn_pipeline('analyze', run, '--out', tmp_path / 'redo')
    assert redo.returncode == 0, redo.stderr
    assert snapshot(run) == before
    assert {p.name for p in (tmp_path / 'redo').iterdir()} == RUN_FILES - {
        'config.json',
        'params.npz',
        'status.json',
        'training.json',
    } | {'recall.png'} | SLOW_POINT_FILES
    saved, redone = (
        json.loads((folder / 'analysis.json').read_text()) for folder in (run, tmp_path / 'redo')
    )
    for key in ('validation', 'behaviour', 'fixed_points', 'slow_points'):
        assert redone[key] == saved[key]
    assert rnn_pipeline('analyze', run, '--out', tmp_path / 'redo').returncode == 2
    other_seed = rnn_pipeline('analyze', run, '--seed', 99)
    assert other_seed.returncode == 0, other_seed.stderr
    [inside] = [p for p in run.iterdir() if p.is_dir()]
    assert inside.name.startswith('analysis-') and inside.name.endswith('-seed99')


BAD_CALLS = [
    (['train'], 'train needs either TASK or --config FILE'),
    (['train', 'CDDM', '--config', 'c.json'], 'train needs either TASK or --config FILE, not both'),
    (['train', 'FlipFlop'], "argument TASK: task='FlipFlop' is invalid: known tasks are CDDM"),
    (
        ['train', 'my_tasks:TaskX'],
        "argument TASK: task='my_tasks:TaskX' is invalid: it cannot be imported",
    ),
    (
        ['train', 'CDDM', '--n-units', '-5'],
        "argument --n-units: N=-5 is invalid: an integer > 0 is required",
    ),
    (
        ['train', 'CDDM', '--max-iter', '1.5'],
        "argument --max-iter: max_iter='1.5' is invalid: an integer > 0 is required",
    ),
    (
        ['train', 'CDDM', '--seed', '-1'],
        "argument --seed: seed=-1 is invalid: an integer >= 0 or None is required",
    ),
    (
        ['train', 'CDDM', '--score-target', 'high'],
        "argument --score-target: score_target='high' is invalid: a finite number or None",
    ),
    (['train', 'CDDM', '--lamda-r', '0.1'], "unrecognized arguments: --lamda-r"),
    (['train', 'CDDM', '--bogus'], 'unrecognized arguments: --bogus'),
    (['train', '--config', 'missing.json'], 'cannot read the config missing.json'),
    (['train', '--config', 'bad.json'], "activation='step' is invalid: a string among relu"),
    (
        ['train', '--config', 'typo.json'],
        "config key 'lamda_r' is unknown (did you mean 'lambda_r'?)",
    ),
    (['analyze', 'nowhere'], 'nowhere is not a run folder'),
    (['analyze'], 'the following arguments are required: RUN_FOLDER'),
]


@pytest.mark.parametrize(
    'argv, message', BAD_CALLS, ids=lambda x: ' '.join(x) if isinstance(x, list) else None
)
def test_bad_calls_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    "In-process, through `main`, which the console script calls (so that twelve calls do not start twelve Pythons)."
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'bad.json').write_text(json.dumps({'task': 'CDDM', 'activation': 'step'}))
    (tmp_path / 'typo.json').write_text(json.dumps({'task': 'CDDM', 'lamda_r': 0.1}))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert out == ''
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.json', 'typo.json']


def test_the_console_script_exits_2_on_a_bad_train_call(tmp_path):
    result = rnn_pipeline('train', 'CDDM', '--n-units', '0', cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "rnn-pipeline train: error: argument --n-units: N=0 is invalid: an integer > 0 is required. "
        "(see 'rnn-pipeline train --help')\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_help_documents_every_option(capsys):
    for command, options in [
        (
            'train',
            [
                'TASK',
                '--config',
                '--seed',
                '--n-units',
                '--activation',
                '--constrained',
                '--no-constrained',
                '--lr',
                '--batch-size',
                '--max-iter',
                '--score-target',
                '--out',
                '--name',
                '--threads',
                '--device',
                '--no-progress',
            ],
        ),
        ('analyze', ['RUN_FOLDER', '--out', '--seed']),
        ('demo', ['--out', '--seed']),
    ]:
        assert main([command, '--help']) == 0
        text = capsys.readouterr().out
        for option in options:
            assert option in text, (command, option)
    assert main(['--help']) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ('train', 'analyze', 'demo'))
