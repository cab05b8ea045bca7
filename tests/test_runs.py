"A task defined in this test goes through every front-end as a built-in task does: train, analyze, a sweep, the command line."

import importlib
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnn_pipeline.examples import EXAMPLE_CONFIGS, load_example
from rnn_pipeline.runs import analyze, load_run, prepare_run, summary, train
from rnn_pipeline.saver import read_data, save_run
from rnn_pipeline.sweep import run_sweep

SCRIPT = Path(sys.executable).parent / 'rnn-pipeline'
MODULE = textwrap.dedent('''
    import numpy as np
    from rnn_pipeline.tasks import Task

    class TaskHoldSign(Task):
        "Hold the sign of a brief pulse until the end of the trial."
        score_name, criterion = 'accuracy', 0.9
        def __init__(self, n_steps=40, task_params=None, seed=None): super().__init__(n_steps, 1, 1, task_params, seed=seed)
        def sample_conditions(self, n): return [dict(sign=float(s)) for s in self.rng.choice([-1, 1], n)]
        def build_trials(self, conditions):
            sign, t = np.array([c['sign'] for c in conditions]), np.arange(self.n_steps)[None, :, None]
            return (t < 5) * sign, (t >= 5) * sign
        def score(self, outputs, targets):
            return float((np.sign(outputs[0, -1]) == np.sign(targets[0, -1])).mean())
''')
SETTINGS = dict(N=8, max_iter=5, batch_size=8, eval_every=2)
OPTIONS = [
    '--n-units',
    '8',
    '--max-iter',
    '5',
    '--batch-size',
    '8',
    '--eval-every',
    '2',
    '--no-progress',
    '--threads',
    '1',
]
RUN_FILES = [
    'analysis.json',
    'config.json',
    'fixed_points.npz',
    'fixed_points.png',
    'losses.png',
    'params.npz',
    'status.json',
    'training.json',
    'trials.png',
]


@pytest.fixture
def user_task(tmp_path, monkeypatch):
    "The task class of a module `my_tasks` written in the test's folder, which is the working folder."
    (tmp_path / 'my_tasks.py').write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield importlib.import_module('my_tasks').TaskHoldSign
    sys.modules.pop('my_tasks', None)


def rnn_pipeline(*args, cwd) -> subprocess.CompletedProcess:
    "Run `rnn-pipeline ARGS` in a subprocess."
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def test_own_task_trains_and_is_analysed_from_python(user_task, tmp_path):
    run = train(
        dict(task='my_tasks:TaskHoldSign', seed=3, **SETTINGS),
        out=tmp_path / 'runs',
        progress=False,
        threads=1,
    )
    results = analyze(run)
    assert isinstance(run.task, user_task) and run.config['task'] == 'my_tasks:TaskHoldSign'
    # no behaviour figure: the generic read-out has none
    assert sorted(p.name for p in run.folder.iterdir()) == RUN_FILES
    assert (
        results['validation']['score_name'] == 'accuracy'
        and 0 <= results['validation']['score'] <= 1
    )
    assert results['behaviour']['score_name'] == 'accuracy'
    # the summary's read-out is the validation batch's noisy score: the same number
    assert results['behaviour']['score'] == results['validation']['score_with_noise']
    text = summary(run.folder, run.analysis, run.training, timings=False)
    noisy = f"{results['validation']['score_with_noise']:.4g}"
    assert (
        f"{noisy} with noise" in text and f"accuracy {noisy} (with noise, on the validation" in text
    )
    assert list(results['fixed_points']) == ['no input', 'input of steps 0-4']
    # no continuous attractor: no slow points searched, stored or drawn
    assert results['slow_points'] == {} and not list(run.folder.glob('slow_points.*'))
    assert run.training['iterations'] == 5 and run.training['val_iterations'] == [0, 2, 4]
    by_class = train(
        dict(task=user_task, seed=3, **SETTINGS), out=tmp_path / 'runs', progress=False, threads=1
    )
    assert by_class.config == run.config and np.array_equal(
        by_class.params['W_rec'], run.params['W_rec']
    )
    reloaded = load_run(run.folder, device='cpu')
    inputs = reloaded.task.get_batch(4)[0]
    assert np.array_equal(reloaded.rnn_numpy.run(inputs)[1], run.rnn_numpy.run(inputs)[1])


def test_own_task_through_the_command_line(user_task, tmp_path):
    trained = rnn_pipeline(
        'train',
        'my_tasks:TaskHoldSign',
        '--seed',
        3,
        '--out',
        'runs',
        '--name',
        'cli',
        *OPTIONS,
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.splitlines()[0] == f"folder:       {Path('runs') / 'cli'}"
    assert sorted(p.name for p in (tmp_path / 'runs' / 'cli').iterdir()) == RUN_FILES
    python = train(
        dict(task='my_tasks:TaskHoldSign', seed=3, **SETTINGS),
        out=tmp_path / 'py',
        progress=False,
        threads=1,
    )
    # one code path
    assert (tmp_path / 'runs' / 'cli' / 'params.npz').read_bytes() == (
        python.folder / 'params.npz'
    ).read_bytes()
    redone = rnn_pipeline('analyze', 'runs/cli', '--out', 'redo', cwd=tmp_path)
    assert redone.returncode == 0, redone.stderr
    saved, again = (
        json.loads(p.read_text())
        for p in (tmp_path / 'runs' / 'cli' / 'analysis.json', tmp_path / 'redo' / 'analysis.json')
    )
    assert (
        saved['validation'] == again['validation']
        and saved['fixed_points'] == again['fixed_points']
    )


def test_own_task_in_a_two_job_sweep(user_task, tmp_path):
    sweep = dict(base=dict(task='my_tasks:TaskHoldSign', **SETTINGS), seeds=2)
    table = run_sweep(sweep, tmp_path / 'sweep', n_workers=2, progress=False)
    assert list(table.status) == ['done', 'done'] and list(table.seed) == [0, 1]
    assert table.score_name.tolist() == ['accuracy'] * 2
    (tmp_path / 'sweep.json').write_text(json.dumps(sweep))
    command = rnn_pipeline(
        'sweep', 'sweep.json', '--workers', 2, '--out', 'cli-sweep', '--no-progress', cwd=tmp_path
    )
    assert command.returncode == 0, command.stderr
    assert '2 done, 0 failed' in command.stdout
    first = next((tmp_path / 'cli-sweep' / 'seed0').glob('TaskHoldSign-*-seed0'))
    assert (first / 'params.npz').read_bytes() == next(
        (tmp_path / 'sweep' / 'seed0').glob('*-seed0')
    ).joinpath('params.npz').read_bytes()


@pytest.mark.parametrize(
    'name, shapes',
    [
        ('memory_number', ['line', 'line']),
        ('memory_angle', ['ring', 'ring']),
        ('cddm', ['line'] * 2),
    ],
)
def test_main_job_stores_and_draws_the_slow_points_of_a_continuous_attractor(
    tmp_path, name, shapes
):
    "The shipped network, saved as a run and analysed: its slow points form the task's line or ring."
    config, task, _ = prepare_run(EXAMPLE_CONFIGS[name], device='cpu')
    save_run(tmp_path / name, config, load_example(name).rnn_torch.get_params())
    run = load_run(tmp_path / name, device='cpu')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        results = analyze(run)
    # no cap ends a search: not one point per start is ever dropped, and no warning says so
    assert not [w for w in caught if 'stop_length' in str(w.message)]
    slow = read_data(run.folder / 'slow_points.npz')
    assert list(slow['labels']) == list(task.slow_point_inputs())
    found = results['slow_points']
    assert [sp['shape'] for sp in found.values()] == shapes
    for i, sp in enumerate(found.values()):
        assert 30 <= sp['slow_points'] <= sp['starts'] and slow[f'input{i}_points'].shape == (
            sp['slow_points'],
            run.rnn_numpy.N,
        )
    assert (run.folder / 'slow_points.png').read_bytes()[:4] == b'\x89PNG'
    lines = summary(run.folder, run.analysis).splitlines()
    assert sum(line.startswith('slow points:  ') for line in lines) == len(shapes)
    assert not any('stable' in line for line in lines if line.startswith('slow points'))


def test_a_first_days_slips_get_errors_that_say_what_to_do(tmp_path):
    "The network `Trainer` returns goes to the analyzer by RNN_numpy.from_params; conditions by name."
    from rnn_pipeline.dynamics import DynamicSystemAnalyzer
    from rnn_pipeline.rnn import RNN_numpy
    from rnn_pipeline.tasks import TASKS

    run = train(
        dict(
            task='NBitFlipFlop',
            n_inputs=1,
            n_outputs=1,
            n_steps=40,
            seed=0,
            activation='tanh',
            constrained=False,
            **SETTINGS,
        ),
        out=tmp_path,
        progress=False,
        threads=1,
    )
    with pytest.raises(ValueError, match=r'RNN_numpy\.from_params\(net\.get_params\(\)\)'):
        DynamicSystemAnalyzer(run.rnn_torch)
    fps = DynamicSystemAnalyzer(RNN_numpy.from_params(run.rnn_torch.get_params())).get_fixed_points(
        [0.0], seed=0
    )
    first = fps[0]  # as the error message of a bad key promises
    assert len(first) == 1 and first.points.shape == (1, 8)
    np.testing.assert_array_equal(first.points[0], fps.points[0])
    # a condition key the task does not know, and values out of range, are refused by name
    cddm = TASKS['CDDM'](seed=0)
    with pytest.raises(ValueError, match=r"motion=0\.2 is invalid: .*did you mean 'motion_coh'"):
        cddm.generate_input_target_stream(motion=0.2)
    with pytest.raises(ValueError, match=r"motion_coh=5\.0 is invalid: a number in \[-1, 1\]"):
        cddm.generate_input_target_stream(motion_coh=5.0)
    with pytest.raises(ValueError, match="context='sound' is invalid"):
        cddm.generate_input_target_stream(context='sound')
    with pytest.raises(ValueError, match=r"number=99\.0 is invalid: a number in \[-2, 2\]"):
        TASKS['MemoryAntiNumber'](seed=0).generate_input_target_stream(number=99.0)
    for name, task_class in TASKS.items():  # every task: an unknown key is named
        with pytest.raises(ValueError, match=r"colour=1 is invalid: \w+ has the conditions"):
            task_class(seed=0).generate_input_target_stream(colour=1)


def test_validation_mse_and_noisy_score_are_of_one_noisy_run():
    "The MSE and the noisy score of a run's summary come from the same batch and the same noise."
    from rnn_pipeline.performance import mse
    from rnn_pipeline.runs import validation_scores

    ex = load_example('memory_number')
    inputs, targets, _ = ex.task.get_batch(16)
    noise = dict(sigma_rec=0.1, sigma_inp=0.1)
    v = validation_scores(
        ex.rnn_numpy, ex.task, inputs, targets, dict(noise, rng_numpy=np.random.default_rng(5))
    )
    # the draw it makes: the seed of its one noisy run
    seed = int(np.random.default_rng(5).integers(2**63))
    outputs = ex.rnn_numpy.run(inputs, rng_numpy=np.random.default_rng(seed), **noise)[1]
    assert v['score_with_noise'] == ex.task.score(outputs, targets)
    steps = ex.task.mask
    expected = np.mean([mse(outputs[:, steps, b], targets[:, steps, b]) for b in range(16)])
    np.testing.assert_allclose(v['mse'], expected, rtol=1e-12)
