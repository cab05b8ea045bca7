"NeuroGym's envs as tasks: every env builds seeded batches; three train to their criterion and their fixed points are found; the command line trains one and its run reloads."

import json
import subprocess
import sys
from pathlib import Path
import time
import warnings

import numpy as np
import pytest

pytest.importorskip('neurogym')

from rnn_pipeline.dynamics import DynamicSystemAnalyzer
from rnn_pipeline.neurogym import NeuroGymTask, neurogym_env_ids
from rnn_pipeline.rnn import RNN_numpy, RNN_pytorch
from rnn_pipeline.runs import load_run
from rnn_pipeline.tasks import task_spec
from rnn_pipeline.trainer import Trainer

# envs that cannot be supervised tasks: reinforcement learning only (no ground truth)
NO_GROUND_TRUTH = {'Bandit-v0', 'DawTwoStep-v0', 'EconomicDecisionMaking-v0', 'Null-v0'}
# needs arguments (session, catch_prob); given them, it draws from a generator of its own that
# NeuroGym's `seed` does not set, so its trials cannot be reproduced
NEEDS_ARGUMENTS = {'AnnubesEnv-v0'}
# the ground truth is a position on the ring of observations, not one of the actions
NOT_ACTIONS = {'Reaching1D-v0', 'Reaching1DWithSelfDistraction-v0'}


def test_every_env_builds_identical_seeded_batches(say):
    built, refused = [], {}
    for env_id in neurogym_env_ids():
        try:
            task = NeuroGymTask(
                env_id,
                seed=7,
            )
        except ValueError as e:
            refused[env_id] = str(e)
            continue
        first, second = (
            NeuroGymTask(
                env_id,
                seed=7,
            ).get_batch(8)
            for _ in range(2)
        )
        np.testing.assert_array_equal(first[0], second[0])
        np.testing.assert_array_equal(first[1], second[1])
        assert first[2] == second[2], env_id
        assert first[0].shape == (task.n_inputs, task.n_steps, 8)
        assert first[1].shape == (task.n_outputs, task.n_steps, 8)
        other = NeuroGymTask(
            env_id,
            seed=8,
        ).get_batch(8)
        assert other[2] != first[2], env_id  # another seed, other trials
        built.append(env_id)
    assert set(refused) == NO_GROUND_TRUTH | NEEDS_ARGUMENTS | NOT_ACTIONS, refused
    assert all('reinforcement learning' in refused[e] for e in NO_GROUND_TRUTH)
    say(
        f"NeuroGym: {len(built)} of {len(built) + len(refused)} registered envs build seeded "
        f"batches; refused: {', '.join(sorted(refused))}"
    )


# env settings that train in seconds: 50 ms steps, trials of 30-50 steps
REPRESENTATIVE = {
    'PerceptualDecisionMaking-v0': dict(
        dt=50, sigma=0.5, timing=dict(fixation=300, stimulus=1000, decision=500)
    ),
    'ContextDecisionMaking-v0': dict(
        dt=50,
        sigma=0.5,
        use_expl_context=True,
        timing=dict(fixation=300, stimulus=750, delay=0, decision=500),
    ),
    'GoNogo-v0': dict(dt=50),
}


@pytest.mark.parametrize('env_id', REPRESENTATIVE)
def test_trains_to_criterion_and_fixed_points_are_found(env_id, say):
    task = NeuroGymTask(env_id, seed=0, **REPRESENTATIVE[env_id])
    rnn = RNN_pytorch(
        32,
        activation='tanh',
        constrained=False,
        dt=2,
        input_size=task.n_inputs,
        output_size=task.n_outputs,
        seed=0,
    )
    trainer = Trainer(
        rnn,
        task,
        max_iter=300,
        batch_size=64,
        lr=0.01,
        lambda_orth=0,
        lambda_r=0,
        score_target=task.criterion,
        progress=False,
    )
    start = time.process_time()
    trainer.run_training()
    seconds = time.process_time() - start
    # the best parameters, scored again on a fresh batch by the env's own performance
    net = RNN_numpy.from_params(rnn.get_params())
    inputs, targets, _ = task.get_batch(256)
    score = task.score(net.run(inputs)[1], targets)
    say(
        f"NeuroGym {env_id}: {task.score_name} {max(trainer.scores):.2f} (validation), "
        f"{score:.2f} (256 new trials) after {trainer.iteration} iterations, {seconds:.1f} s CPU"
    )
    assert task.passes(max(trainer.scores)), trainer.scores
    assert score >= task.criterion - 0.1
    dsa = DynamicSystemAnalyzer(net)
    for label, u in task.fixed_point_inputs().items():
        fps = dsa.get_fixed_points(u, seed=0)
        assert len(fps) >= 1 and (fps.types == 'stable').any(), (env_id, label)
        assert (np.linalg.norm(net.rhs(fps.points, u), axis=1) < 1e-6).all()


def test_command_line_trains_a_neurogym_task_and_its_run_reloads(tmp_path):
    config = tmp_path / 'gonogo.json'
    config.write_text(
        json.dumps(dict(task='ngym:GoNogo-v0', task_params=dict(dt=50), N=20, seed=1))
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name('rnn-pipeline')),
            'train',
            '--config',
            str(config),
            '--max-iter',
            '3',
            '--batch-size',
            '8',
            '--out',
            str(tmp_path),
            '--name',
            'run',
            '--no-progress',
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert (saved['task'], saved['task_params']) == ('ngym:GoNogo-v0', {'dt': 50})
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the run reloads as it was saved
        run = load_run(tmp_path / 'run')
    assert task_spec(type(run.task)) == 'ngym:GoNogo-v0' and run.task.task_params == {'dt': 50}
    assert (run.task.n_steps, run.task.n_inputs, run.task.n_outputs) == (30, 3, 2)
    inputs, targets, _ = run.task.get_batch(16)
    again = NeuroGymTask('GoNogo-v0', seed=saved['seed'], dt=50).get_batch(16)
    np.testing.assert_array_equal(inputs, again[0])
    assert 0 <= run.task.score(run.rnn_numpy.run(inputs)[1], targets) <= 1


def test_without_neurogym_the_error_says_how_to_install_it(monkeypatch):
    from rnn_pipeline.neurogym import NeuroGymMissing
    from rnn_pipeline.tasks import task_class

    monkeypatch.setitem(sys.modules, 'neurogym', None)  # as if it were not installed
    with pytest.raises(ValueError, match=r"rnn_pipeline\[neurogym\]") as e:
        task_class('ngym:PerceptualDecisionMaking-v0')
    assert isinstance(e.value, NeuroGymMissing) and isinstance(e.value, ImportError)
    with pytest.raises(NeuroGymMissing):
        NeuroGymTask('GoNogo-v0')


def test_an_unknown_env_is_named_with_the_envs_that_exist():
    from rnn_pipeline.tasks import task_class

    with pytest.raises(ValueError, match="env_id='GoNoGo-v0'.*did you mean 'GoNogo-v0'"):
        task_class('ngym:GoNoGo-v0')
