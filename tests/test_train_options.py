"PsychRNN's training options across modules: masks, frozen weights, biases, penalties, schedules."

import json
import warnings

import numpy as np
import pytest
import torch

from rnn_pipeline.cli import _train_config, build_parser
from rnn_pipeline.config import ConfigError, load_config
from rnn_pipeline.rnn import RNN_numpy, RNN_pytorch
from rnn_pipeline.runs import CURRICULUM_FOLDER, load_run, prepare_run, resume, train
from rnn_pipeline.tasks import TaskCDDM
from rnn_pipeline.trainer import Trainer

EPOCHS = dict(cue_on=0, cue_off=60, stim_on=20, stim_off=60, dec_on=40, dec_off=60)
EASY = [-0.8, -0.4, 0.4, 0.8]
SMALL = dict(task='CDDM', N=16, seed=0, n_steps=60, task_params=EPOCHS, lr=0.01, batch_size=32)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def cddm(seed=0, coherences=EASY):
    return TaskCDDM(n_steps=60, task_params=dict(EPOCHS, coherences=coherences), seed=seed)


def quiet_train(config, out, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return train(config, out=out, progress=False, threads=1, device='cpu', **kw)


def test_numpy_twin_reproduces_trained_output_bias_and_initial_state():
    net = RNN_pytorch(N=24, seed=1, device='cpu', output_bias=True, train_x0=True, train_bias=True)
    Trainer(net, cddm(), max_iter=15, lr=0.05, batch_size=16, progress=False).run_training()
    assert net.b_out.abs().max() > 0 and (net.y_init != 0).any()
    u = cddm(seed=3).get_batch(8)[0]
    fast = net(u, w_noise=False)[1].detach().numpy()
    reference = net(u, w_noise=False, reference=True)[1].detach().numpy()
    twin = RNN_numpy.from_params(net.get_params()).run(u)[1]
    np.testing.assert_allclose(fast, twin, atol=1e-5)
    np.testing.assert_allclose(reference, twin, atol=1e-5)


def test_frozen_elements_bit_identical_after_training_under_dale():
    freeze_rec = np.zeros((20, 20))
    freeze_rec[:, ::3] = 1
    freeze_inp = np.zeros((20, 6))
    freeze_inp[:5] = 1
    net = RNN_pytorch(N=20, seed=2, device='cpu', freeze_rec=freeze_rec, freeze_inp=freeze_inp)
    before = {k: getattr(net, k).detach().clone() for k in ('W_rec', 'W_inp', 'W_out')}
    trainer = Trainer(
        net,
        cddm(),
        max_iter=25,
        lr=0.05,
        batch_size=16,
        progress=False,
        weight_decay=0.1,
        clip_grad_norm=0.5,
        l1_rec=0.1,
        l2_inp=0.1,
        lr_schedule='step',
        lr_step_size=5,
    )
    trainer.run_training()
    rec, inp = torch.as_tensor(freeze_rec > 0), torch.as_tensor(freeze_inp > 0)
    assert torch.equal(net.W_rec[rec], before['W_rec'][rec])
    assert torch.equal(net.W_inp[inp], before['W_inp'][inp])
    assert not torch.equal(net.W_rec[~rec], before['W_rec'][~rec])
    W = net.W_rec.detach().numpy()
    assert (W[:, :16] >= 0).all() and (W[:, 16:] <= 0).all() and (np.diag(W) == 0).all()


def test_run_with_every_network_option_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    options = dict(
        output_bias=True,
        train_x0=True,
        train_bias=True,
        input_mask=rng.integers(0, 2, (16, 6)).tolist(),
        output_mask=rng.integers(0, 2, (2, 16)).tolist(),
        freeze_rec=np.eye(16, k=1).astype(int).tolist(),
        freeze_out=np.zeros((2, 16), int).tolist(),
        l1_rec=1e-3,
        l2_out=1e-3,
        lr_schedule='cosine',
        max_iter=12,
        eval_every=4,
    )
    config, _, untrained = prepare_run({**SMALL, **options}, device='cpu')
    run = quiet_train({**SMALL, **options}, tmp_path)
    again = load_run(run.folder, device='cpu')
    assert json.loads(json.dumps(again.config)) == again.config
    assert again.config['lr_schedule'] == 'cosine' and again.config['output_bias'] is True
    p = again.params
    np.testing.assert_array_equal(p['input_mask'], options['input_mask'])
    np.testing.assert_array_equal(p['freeze_rec'], options['freeze_rec'])
    assert np.all(p['W_inp'][np.asarray(options['input_mask']) == 0] == 0)
    assert np.all(p['W_out'][np.asarray(options['output_mask']) == 0] == 0)
    frozen = np.asarray(options['freeze_rec']) > 0
    np.testing.assert_array_equal(
        p['W_rec'][frozen], untrained.W_rec.detach().double().numpy()[frozen]
    )
    u = cddm().get_batch(4)[0]
    torch_out = again.rnn_torch(u, w_noise=False)[1].detach().numpy()
    np.testing.assert_allclose(torch_out, again.rnn_numpy.run(u)[1], atol=1e-5)
    np.testing.assert_allclose(torch_out, run.rnn_torch(u, w_noise=False)[1].detach().numpy())
    assert again.rnn_torch.output_bias and again.rnn_torch.train_x0


def test_bad_options_name_key_value_and_allowed():
    with pytest.raises(ConfigError, match=r"lr_schedule='exp' is invalid: a string among step"):
        load_config({**SMALL, 'lr_schedule': 'exp'})
    with pytest.raises(ConfigError, match=r"input_mask shape=\(6, 16\) is invalid"):
        prepare_run({**SMALL, 'input_mask': np.ones((6, 16)).tolist()}, device='cpu')
    with pytest.raises(ConfigError, match=r"curriculum.stages\[0\]=\['levle'\] is invalid"):
        load_config({**SMALL, 'curriculum': dict(stages=[dict(levle=1)])})
    with pytest.raises(ConfigError, match=r"same_batch=True is invalid"):
        prepare_run({**SMALL, 'same_batch': True, 'curriculum': dict(stages=[{}])}, device='cpu')


def test_command_line_options_of_the_new_keys():
    args = build_parser().parse_args(
        [
            'train',
            'CDDM',
            '--lr-schedule',
            'plateau',
            '--l1-rec',
            '0.01',
            '--output-bias',
            '--train-x0',
            '--lr-patience',
            '2',
        ]
    )
    config = _train_config(args)
    assert (config['lr_schedule'], config['l1_rec'], config['output_bias'], config['train_x0']) == (
        'plateau',
        0.01,
        True,
        True,
    )
    assert config['lr_patience'] == 2 and config['curriculum'] is None


def small_trainer(checkpoint, **kw):
    net = RNN_pytorch(N=12, seed=4, device='cpu', train_bias=kw.pop('train_bias', False))
    settings = dict(max_iter=30, lr=0.05, batch_size=16, eval_every=5, progress=False)
    settings.update(checkpoint_every=10, lr_schedule='step', lr_step_size=7, lr_gamma=0.7)
    return Trainer(net, cddm(seed=5), checkpoint=checkpoint, **{**settings, **kw})


def test_schedule_resumes_bit_for_bit_and_fingerprint_refuses_other_options(tmp_path):
    whole = small_trainer(tmp_path / 'whole.pt')
    whole.run_training()
    stopped = small_trainer(tmp_path / 'part.pt')
    draw, calls = stopped.Task.get_batch, iter(range(10**6))

    def get_batch(*args, **kwargs):
        if next(calls) == 18:  # call 0 is the validation batch
            raise KeyboardInterrupt
        return draw(*args, **kwargs)

    stopped.Task.get_batch = get_batch
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        stopped.run_training()
    assert stopped.stop_reason == 'interrupted' and stopped.iteration == 17
    resumed = small_trainer(tmp_path / 'part.pt')
    resumed.run_training(resume=True)
    assert resumed.train_losses == whole.train_losses and resumed.val_losses == whole.val_losses
    assert resumed.optimizer.param_groups[0]['lr'] == whole.optimizer.param_groups[0]['lr'] < 0.05
    assert torch.equal(resumed.RNN.W_rec, whole.RNN.W_rec)
    for other, key in (
        (dict(train_bias=True), 'network.train_bias'),
        (dict(l1_out=0.1), 'settings.penalties.l1_out'),
        (dict(lr_schedule='cosine'), 'settings.lr_schedule'),
    ):
        with pytest.raises(ValueError, match=key):
            small_trainer(tmp_path / 'part.pt', **other).read_checkpoint()


CURRICULUM = dict(
    stages=[
        dict(name='easy', task_params=dict(coherences=EASY), criterion=0.8, max_iter=200),
        dict(name='full', criterion=0.85, max_iter=300),
    ]
)


def test_config_curriculum_switches_checkpoints_and_resumes(tmp_path, monkeypatch):
    config = {**SMALL, 'N': 30, 'eval_every': 10, 'checkpoint_every': 20, 'curriculum': CURRICULUM}
    del config['batch_size']  # each stage's whole set of conditions
    whole = quiet_train(config, tmp_path / 'whole')
    record = whole.training['curriculum']
    assert whole.status == 'done' and record['passed'], record['stop_reason']
    (switch,) = record['switches']
    assert (switch['left'], switch['entered'], switch['passed']) == ('easy', 'full', True)
    assert switch['score'] >= 0.8 and switch['iteration'] == record['stages'][1]['start']
    assert (
        whole.training['iterations'] == record['iteration'] == len(whole.training['train_losses'])
    )
    assert sorted(p.name for p in (whole.folder / CURRICULUM_FOLDER).iterdir()) == [
        'curriculum.json'
    ]

    # a run interrupted in its second stage resumes to the same network and record
    draw, calls = TaskCDDM.get_batch, iter(range(10**6))
    stop_at = switch['iteration'] + 15  # a batch of the second stage (validation batches count too)

    def get_batch(self, *args, **kwargs):
        if next(calls) == stop_at:
            raise KeyboardInterrupt
        return draw(self, *args, **kwargs)

    monkeypatch.setattr(TaskCDDM, 'get_batch', get_batch)
    stopped = quiet_train(config, tmp_path / 'part')
    monkeypatch.setattr(TaskCDDM, 'get_batch', draw)
    assert stopped.status == 'interrupted'
    stages = json.loads((stopped.folder / CURRICULUM_FOLDER / 'curriculum.json').read_text())
    assert [s['status'] for s in stages['stages']] == ['passed', 'interrupted']
    finished = resume(stopped.folder, progress=False, threads=1, device='cpu')
    assert finished.status == 'done'
    assert finished.training['curriculum'] == record
    assert finished.training['train_losses'] == whole.training['train_losses']
    for k in ('W_rec', 'W_inp', 'W_out', 'bias_rec'):
        np.testing.assert_array_equal(finished.params[k], whole.params[k])
