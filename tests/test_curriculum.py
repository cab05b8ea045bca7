"Curriculum across interruptions: a resumed curriculum ends as an uninterrupted one, bit for bit."

import json
import signal
import warnings
from dataclasses import replace

import pytest
import torch

from rnn_pipeline.curriculum import (
    RECORD,
    Curriculum,
    Stage,
    curriculum_from_config,
    train_curriculum,
)
from rnn_pipeline.rnn import RNN_pytorch
from rnn_pipeline.tasks import TaskCDDM

EPOCHS = dict(cue_on=0, cue_off=60, stim_on=20, stim_off=60, dec_on=40, dec_off=60)
EASY = [-0.8, -0.4, 0.4, 0.8]
HARD = [-0.8, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.8]
SETTINGS = dict(lr=0.01, eval_every=10, progress=False, checkpoint_every=20)


def stages():
    "Three CDDM stages on 60-step trials, strong coherences first, each with a task of its own."
    tasks = [
        TaskCDDM(n_steps=60, task_params=dict(EPOCHS, coherences=c), seed=s)
        for s, c in enumerate((EASY, EASY, HARD))
    ]
    return [
        Stage(tasks[0], 0.75, 200, 'easy'),
        Stage(tasks[1], 0.85, 200, 'easier'),
        Stage(tasks[2], 0.9, 200, 'hard'),
    ]


def network():
    return RNN_pytorch(N=20, seed=0, device='cpu')


def run(folder=None, resume=False, curriculum=None):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return train_curriculum(
            network(), curriculum or Curriculum(stages()), folder, resume=resume, **SETTINGS
        )


def interrupted(folder, step, how='keyboard'):
    "Run the curriculum into `folder`, interrupted in its `step`-th training step (all stages)."
    rnn = network()
    forward, steps = rnn.forward, [0]

    def counted(*args, **kwargs):
        steps[0] += bool(kwargs.get('w_noise', True))  # validation runs without noise
        if steps[0] == step:
            if how == 'keyboard':
                raise KeyboardInterrupt  # in the step: it is not counted
            signal.raise_signal(signal.SIGINT)  # the Trainer stops after the step
        return forward(*args, **kwargs)

    rnn.forward = counted
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return train_curriculum(rnn, Curriculum(stages()), folder, **SETTINGS)


@pytest.fixture(scope='module')
def reference():
    torch.set_num_threads(1)
    return run()


def same_network(a, b):
    sa, sb = a.rnn.state_dict(), b.rnn.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_reference_switches(reference):
    assert reference.stop_reason == 'done'
    assert [s['status'] for s in reference.stages] == ['passed'] * 3
    switches = reference.switches
    assert [w['entered'] for w in switches] == ['easier', 'hard']
    for w, s, n in zip(switches, reference.stages, reference.stages[1:]):
        assert w['iteration'] == s['end'] == n['start'] == s['validations'][-1]
        assert w['score'] == s['scores'][-1] >= s['criterion']
    assert json.loads(json.dumps(reference.record())) == reference.record()


def step_in(reference, stage, offset):
    "The training step `offset` steps into `stage` of the reference curriculum."
    start, end = reference.stages[stage]['start'], reference.stages[stage]['end']
    assert start + offset < end, "the reference stage is too short for this test"
    return start + offset


@pytest.mark.parametrize('stage,offset', [(0, 30), (1, 1), (1, 5), (2, 8)])
def test_interrupted_and_resumed(tmp_path, reference, stage, offset):
    first = interrupted(tmp_path, step_in(reference, stage, offset))
    assert first.stop_reason == 'interrupted'
    assert [s['status'] for s in first.stages][-1] == 'interrupted'
    assert len(first.stages) == stage + 1
    assert first.iteration == step_in(reference, stage, offset) - 1
    assert json.loads((tmp_path / RECORD).read_text())['status'] == 'interrupted'
    resumed = run(tmp_path, resume=True)
    assert resumed.record() == reference.record()
    assert same_network(resumed, reference)


def test_sigint_resumed(tmp_path, reference):
    first = interrupted(tmp_path, step_in(reference, 1, 5), how='signal')
    assert first.iteration == step_in(reference, 1, 5)
    assert first.stop_reason == 'interrupted'
    resumed = run(tmp_path, resume=True)
    assert resumed.record() == reference.record() and same_network(resumed, reference)


def test_resume_from_stage_end(tmp_path, reference):
    "Killed after a stage ended but before the next one's first checkpoint: the next starts afresh."
    interrupted(tmp_path, step_in(reference, 1, 5))
    (tmp_path / 'stage1.pt').unlink()
    resumed = run(tmp_path, resume=True)
    assert resumed.record() == reference.record() and same_network(resumed, reference)


def test_resume_of_a_finished_curriculum_trains_nothing(tmp_path, reference):
    done = run(tmp_path)
    assert done.record() == reference.record()
    record = json.loads((tmp_path / RECORD).read_text())
    assert record['status'] == 'done' and record['stages'] == done.record()['stages']
    again = run(tmp_path, resume=True)
    assert again.record() == reference.record() and same_network(again, reference)


def test_fresh_start_clears_old_checkpoints(tmp_path, reference):
    interrupted(tmp_path, step_in(reference, 2, 5))  # leaves stage0_end, stage1_end and stage2.pt
    interrupted(
        tmp_path, step_in(reference, 0, 30)
    )  # a new curriculum, not resumed, stopped in stage 0
    assert not (tmp_path / 'stage2.pt').exists() and not (tmp_path / 'stage1_end.pt').exists()
    resumed = run(tmp_path, resume=True)
    assert resumed.record() == reference.record() and same_network(resumed, reference)


def test_another_curriculum_refused(tmp_path, reference):
    interrupted(tmp_path, step_in(reference, 1, 5))
    s = stages()
    other = Curriculum([s[0], replace(s[1], max_iter=150), s[2]])
    with pytest.raises(ValueError, match=r"another curriculum wrote it \(stages \[1\] differ"):
        run(tmp_path, resume=True, curriculum=other)
    (tmp_path / RECORD).write_text('{not json')
    with pytest.raises(ValueError, match="curriculum.json cannot be read"):
        run(tmp_path, resume=True)


def test_failed_stage_is_reported(tmp_path):
    s = stages()
    s[2] = replace(s[2], criterion=1.0, max_iter=20)
    with pytest.warns(UserWarning, match=r"stage 2 \('hard'\) failed: its best accuracy"):
        result = train_curriculum(network(), Curriculum(s), tmp_path, **SETTINGS)
    assert result.stop_reason == 'stage failed' and not result.passed
    assert [x['status'] for x in result.stages] == ['passed', 'passed', 'failed']
    assert result.stages[2]['end'] - result.stages[2]['start'] == 20
    assert result.stages[2]['best_score'] < 1.0
    record = json.loads((tmp_path / RECORD).read_text())
    assert record['status'] == 'stage failed' and record['stages'] == result.record()['stages']


def test_config_curriculum(tmp_path):
    config = [
        dict(task='CDDM', task_params=dict(coherences=EASY), criterion=0.75, name='easy'),
        dict(task='CDDM', task_params=dict(coherences=HARD), criterion=0.85, name='hard'),
    ]

    def curriculum():
        return curriculum_from_config(config, seed=3, n_steps=60, task_params=EPOCHS, max_iter=200)

    result = run(tmp_path, curriculum=curriculum())
    assert [s['name'] for s in result.stages] == ['easy', 'hard']
    assert result.stages[1]['task_params']['coherences'] == HARD
    again = run(tmp_path / 'again', curriculum=curriculum())
    assert again.record() == result.record() and same_network(again, result)
