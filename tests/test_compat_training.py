"A training script written for the original pipeline runs with only its imports changed."

import json
from pathlib import Path

import numpy as np
import torch

from rnn_pipeline.rnn import RNN_numpy, RNN_pytorch
from rnn_pipeline.tasks import TaskNBitFlipFlop, TaskCDDM
from rnn_pipeline.trainer import Trainer

SEED_CONFIGS = Path(__file__).resolve().parents[1] / 'seed-configs'


def original_style_run(config, task, max_iter):
    "The original pipeline's training script, keyword for keyword, on a shortened run."
    rng = torch.Generator()
    rng.manual_seed(0)
    activation = dict(relu=torch.relu, tanh=torch.tanh)[config['activation']]
    rnn_torch = RNN_pytorch(
        N=config['N'],
        activation=activation,
        dt=config['dt'],
        tau=config['tau'],
        constrained=config['constrained'],
        connectivity_density_rec=config['connectivity_density_rec'],
        spectral_rad=config['sr'],
        sigma_rec=config['sigma_rec'],
        sigma_inp=config['sigma_inp'],
        bias_rec=None,
        y_init=None,
        random_generator=rng,
        input_size=config['num_inputs'],
        output_size=config['num_outputs'],
        device=None,
    )
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(
        rnn_torch.parameters(), lr=config['lr'], weight_decay=config['weight_decay']
    )
    trainer = Trainer(
        RNN=rnn_torch,
        Task=task,
        max_iter=max_iter,
        tol=config['tol'],
        optimizer=optimizer,
        criterion=criterion,
        lambda_orth=config['lambda_orth'],
        lambda_r=config['lambda_r'],
    )
    rnn_trained, train_losses, val_losses, net_params = trainer.run_training(
        train_mask=np.array(config['mask']), same_batch=config['same_batch']
    )
    return rnn_trained, train_losses, val_losses, net_params


def test_original_flipflop_script_trains():
    config = json.loads((SEED_CONFIGS / 'train_config_NBitFlipFlop_tanh.json').read_text())
    task = TaskNBitFlipFlop(
        n_steps=config['n_steps'],
        n_inputs=config['num_inputs'],
        n_outputs=config['num_outputs'],
        task_params=config['task_params'],
    )
    rnn, train_losses, val_losses, params = original_style_run(config, task, max_iter=40)
    assert len(train_losses) == 40 and val_losses[-1] < val_losses[0]
    rnn_np = RNN_numpy(
        N=params['N'],
        dt=params['dt'],
        tau=params['tau'],
        W_inp=params['W_inp'],
        W_rec=params['W_rec'],
        W_out=params['W_out'],
        bias_rec=params['bias_rec'],
        activation=np.tanh,
        y_init=params['y_init'],
    )
    inputs = task.get_batch(batch_size=8)[0]
    np.testing.assert_allclose(
        rnn_np.run(inputs)[1], rnn(inputs, w_noise=False)[1].detach().numpy(), atol=1e-5
    )


def test_original_cddm_config_trains_constrained():
    config = json.loads((SEED_CONFIGS / 'train_config_CDDM_relu.json').read_text())
    task = TaskCDDM(
        n_steps=config['n_steps'],
        n_inputs=config['num_inputs'],
        n_outputs=config['num_outputs'],
        task_params=config['task_params'],
    )
    rnn, train_losses, val_losses, params = original_style_run(config, task, max_iter=2)
    W = params['W_rec']
    n_exc = int(0.8 * config['N'])
    assert (W[:, :n_exc] >= 0).all() and (W[:, n_exc:] <= 0).all() and (params['W_inp'] >= 0).all()
    # validated at the first and the last iteration
    assert np.isfinite(train_losses).all() and len(val_losses) == 2


def test_original_name_RNN_torch():
    "`RNN_torch`, the original pipeline's name, is the same network class."
    from rnn_pipeline.rnn import RNN_torch

    assert RNN_torch is RNN_pytorch
    a = RNN_torch(N=10, input_size=3, output_size=3, seed=0, device='cpu')
    b = RNN_pytorch(N=10, input_size=3, output_size=3, seed=0, device='cpu')
    assert torch.equal(a.W_rec, b.W_rec)
