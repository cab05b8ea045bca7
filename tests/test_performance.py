"A script written for the original pipeline's analyzers runs with only its imports changed."

import json
from pathlib import Path

import matplotlib
import numpy as np

from rnn_pipeline.performance import AnalyzerCDDM, PerformanceAnalyzer
from rnn_pipeline.rnn import RNN_numpy, RNN_pytorch
from rnn_pipeline.tasks import TaskCDDM

matplotlib.use('Agg')
SEED_CONFIG = Path(__file__).resolve().parents[1] / 'seed-configs' / 'train_config_CDDM_relu.json'


def original_style_network(config: dict) -> RNN_numpy:
    "An untrained network built as the original scripts built theirs, from `get_params()` by keywords."
    rnn_torch = RNN_pytorch(
        N=20,
        activation=config['activation'],
        dt=config['dt'],
        tau=config['tau'],
        constrained=config['constrained'],
        sigma_rec=config['sigma_rec'],
        sigma_inp=config['sigma_inp'],
        input_size=config['num_inputs'],
        output_size=config['num_outputs'],
        device='cpu',
        seed=0,
    )
    p = rnn_torch.get_params()
    return RNN_numpy(
        N=p['N'],
        dt=p['dt'],
        tau=p['tau'],
        W_inp=p['W_inp'],
        W_rec=p['W_rec'],
        W_out=p['W_out'],
        bias_rec=None,
        y_init=np.zeros(p['N']),
    )


def test_original_cddm_analysis_script():
    config = json.loads(SEED_CONFIG.read_text())
    task = TaskCDDM(
        config['n_steps'], config['num_inputs'], config['num_outputs'], config['task_params']
    )
    mask = np.array(config['mask'])
    analyzer = AnalyzerCDDM(original_style_network(config))
    score_function = lambda x, y: np.mean((x - y) ** 2)
    input_batch_valid, target_batch_valid, conditions_valid = task.get_batch()
    score = analyzer.get_validation_score(
        score_function, input_batch_valid, target_batch_valid, mask, sigma_rec=0.03, sigma_inp=0.03
    )
    assert np.isfinite(score) and score >= 0

    inds = np.random.default_rng(0).choice(input_batch_valid.shape[-1], 10)
    fig = analyzer.plot_trials(
        input_batch_valid[..., inds],
        target_batch_valid[..., inds],
        mask,
        labels=["OutR", "OutL"],
        sigma_rec=0.03,
        sigma_inp=0.03,
    )
    assert len(fig.axes) == 10

    num_levels = len(config['task_params']['coherences'])
    analyzer.calc_psychometric_data(
        task, mask, num_levels=num_levels, num_repeats=2, sigma_rec=0.03, sigma_inp=0.03
    )
    data = analyzer.psychometric_data
    np.testing.assert_allclose(data['coherence_lvls'], config['task_params']['coherences'])
    for context in ('motion', 'color'):
        for key in ('right_choice_percentage', 'MSE'):
            assert data[context][key].shape == (num_levels, num_levels)
        assert np.all(
            (data[context]['right_choice_percentage'] >= 0)
            & (data[context]['right_choice_percentage'] <= 1)
        )
    assert analyzer.plot_psychometric_data() is not None


def test_positional_noise_arguments_are_seeded():
    config = json.loads(SEED_CONFIG.read_text())
    task = TaskCDDM(
        config['n_steps'],
        config['num_inputs'],
        config['num_outputs'],
        config['task_params'],
        seed=0,
    )
    analyzer = PerformanceAnalyzer(original_style_network(config), task)
    inputs, targets, _ = task.get_batch()
    score = lambda x, y: np.mean((x - y) ** 2)
    same = [
        analyzer.get_validation_score(
            score, inputs, targets, task.mask, 0.05, 0.05, np.random.default_rng(3)
        )
        for _ in range(2)
    ]
    other = analyzer.get_validation_score(
        score, inputs, targets, task.mask, 0.05, 0.05, np.random.default_rng(4)
    )
    noiseless = analyzer.get_validation_score(score, inputs, targets, task.mask, 0, 0)
    assert same[0] == same[1] != other and noiseless != other


def test_original_class_names_and_help():
    "The original pipeline's name of the CDDM analyzer is accepted, and help() lists parameters."
    import pydoc

    from rnn_pipeline.performance import PerformanceAnalyzerCDDM

    assert PerformanceAnalyzerCDDM is AnalyzerCDDM
    text = pydoc.render_doc(AnalyzerCDDM.calc_psychometric_data, renderer=pydoc.plaintext)
    assert 'num_repeats : int\n        Noisy repeats of each condition' in text, text
    text = pydoc.render_doc(PerformanceAnalyzer, renderer=pydoc.plaintext)
    assert 'rnn_numpy\n |      The network' in text, text
