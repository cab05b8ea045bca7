"Saving and reloading: formats, atomic writes, overwrite and pickle safety, original files, runs reloaded in a fresh process."

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
import torch
from PIL import Image

from rnn_pipeline.rnn import RNN_numpy
from rnn_pipeline.config import ALIASES, ConfigError, default_config, load_config, with_seed
from rnn_pipeline.runs import prepare_run
from rnn_pipeline.saver import DataSaver, load_params, save_run
from rnn_pipeline.trainer import Trainer

SEED_CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'seed-configs').glob('*.json'))


def test_every_format_round_trips(tmp_path):
    saver = DataSaver(tmp_path / 'results')
    data = dict(
        scores=np.array([0.5, 0.75]),
        n=np.int32(3),
        ok=np.bool_(True),
        name='CDDM',
        nested=dict(x=[1.5, None]),
    )
    saver.save_data(data, 'scores.json')
    assert saver.load_data('scores.json') == dict(
        scores=[0.5, 0.75], n=3, ok=True, name='CDDM', nested=dict(x=[1.5, None])
    )
    arrays = dict(
        W=np.random.default_rng(0).normal(size=(5, 5)).astype(np.float32),
        types=np.array(['stable', 'unstable']),
        eigenvalues=np.array([-1 + 2j, 0.5 - 1j]),
        n=np.array(7),
    )
    saver.save_data(arrays, 'arrays.npz')
    loaded = saver.load_data('arrays.npz')
    assert loaded.keys() == arrays.keys()
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype and np.array_equal(loaded[k], v)
    anything = dict(params={'W': np.eye(2)}, labels={'a', 'b'}, fn=len)
    saver.save_data(anything, 'anything.pkl')
    back = saver.load_data('anything.pkl', trusted=True)
    assert (
        back['labels'] == {'a', 'b'}
        and back['fn'] is len
        and np.array_equal(back['params']['W'], np.eye(2))
    )
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1], [1, 0])
    path = saver.save_figure(fig, 'curve', dpi=100)
    assert path == saver.data_folder / 'curve.png'
    with Image.open(path) as image:
        assert image.format == 'PNG' and image.size == (300, 200)
    assert sorted(p.name for p in saver.data_folder.iterdir()) == [
        'anything.pkl',
        'arrays.npz',
        'curve.png',
        'scores.json',
    ]


CRASHING_WRITER = textwrap.dedent('''
    import os, sys
    from rnn_pipeline.saver import DataSaver

    class Crash:
        "Kills the process, with no clean-up at all, when pickled."
        def __reduce__(self): os._exit(9)

    DataSaver(sys.argv[1]).save_data([b'x' * 1_000_000, Crash()], 'results.pkl', overwrite=True)
''')


def test_crash_during_a_write_leaves_the_old_file_intact(tmp_path):
    saver = DataSaver(tmp_path)
    saver.save_data({'version': 1}, 'results.pkl')
    before = (tmp_path / 'results.pkl').read_bytes()
    result = subprocess.run(
        [sys.executable, '-c', CRASHING_WRITER, str(tmp_path)], capture_output=True, timeout=120
    )
    assert result.returncode == 9, result.stderr
    assert (tmp_path / 'results.pkl').read_bytes() == before
    # the dead writer's temporary, cut short...
    [tmp] = [p for p in tmp_path.iterdir() if p.name != 'results.pkl']
    assert (
        tmp.name.startswith('.results.pkl.')
        and tmp.name.endswith('.tmp')
        and tmp.stat().st_size >= 1_000_000
    )
    assert saver.load_data('results.pkl', trusted=True) == {'version': 1}
    # ...removed by the next read
    assert [p.name for p in tmp_path.iterdir()] == ['results.pkl']


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    saver = DataSaver(tmp_path)
    saver.save_data({'version': 1}, 'results.json')
    with pytest.raises(TypeError, match='cannot be written as JSON'):
        saver.save_data({'version': 2, 'bad': object()}, 'results.json', overwrite=True)
    assert saver.load_data('results.json') == {'version': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['results.json']


def test_overwrite_is_refused_without_the_flag(tmp_path):
    saver = DataSaver(tmp_path)
    saver.save_data({'score': 1}, 'scores.json')
    with pytest.raises(
        FileExistsError, match=r'scores\.json already exists: pass overwrite=True to replace it'
    ):
        saver.save_data({'score': 2}, 'scores.json')
    fig = Figure()
    saver.save_figure(fig, 'fig', dpi=20)
    with pytest.raises(FileExistsError, match=r'fig\.png already exists'):
        saver.save_figure(fig, 'fig.png', dpi=20)
    assert saver.load_data('scores.json') == {'score': 1}
    saver.save_data({'score': 2}, 'scores.json', overwrite=True)
    assert saver.load_data('scores.json') == {'score': 2}


def test_new_files_are_as_readable_as_with_open(tmp_path):
    path = DataSaver(tmp_path).save_data({}, 'a.json')
    (tmp_path / 'b.json').write_text('{}')
    assert path.stat().st_mode == (tmp_path / 'b.json').stat().st_mode


class Payload:
    "Creates a file when unpickled."

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_a_pickle_is_not_loaded_without_trusted(tmp_path):
    saver = DataSaver(tmp_path)
    saver.save_data(Payload(tmp_path / 'pwned'), 'evil.pkl')
    for load in (lambda: saver.load_data('evil.pkl'), lambda: load_params(tmp_path / 'evil.pkl')):
        with pytest.raises(ValueError, match='trusted=False is invalid: .*evil.pkl is a pickle'):
            load()
    assert not (tmp_path / 'pwned').exists()
    saver.load_data('evil.pkl', trusted=True)
    assert (tmp_path / 'pwned').exists()


def test_an_original_pipeline_params_pickle_loads_into_rnn_numpy(tmp_path):
    rng = np.random.default_rng(0)
    params = dict(
        activation='relu',
        W_out=np.abs(rng.normal(size=(2, 30))).astype(np.float32),
        W_inp=np.abs(rng.normal(size=(30, 6))).astype(np.float32),
        W_rec=rng.normal(0, 0.2, (30, 30)).astype(np.float32),
        y_init=np.zeros(30, np.float32),
        bias_rec=None,
        N=30,
        dt=1,
        tau=10,
    )
    with open(
        tmp_path / '0.0123_params_CDDM.pkl', 'wb+'
    ) as f:  # as the original DataSaver wrote it
        pickle.dump(params, f)
    loaded = DataSaver(tmp_path).load_data('0.0123_params_CDDM.pkl', trusted=True)
    rnn = RNN_numpy.from_params(loaded)
    assert (rnn.N, rnn.dt, rnn.tau, rnn.activation.name) == (30, 1.0, 10.0, 'relu')
    inputs = rng.uniform(size=(6, 50, 4))
    expected = RNN_numpy(30, 1, 10, params['W_inp'], params['W_rec'], params['W_out']).run(inputs)[
        1
    ]
    assert np.array_equal(rnn.run(inputs)[1], expected)


def test_the_five_seed_configs_are_in_the_repository():
    assert [p.stem.split('_')[2] for p in SEED_CONFIGS] == [
        'CDDM',
        'DMTS',
        'MemoryAntiAngle',
        'MemoryAntiNumber',
        'NBitFlipFlop',
    ]


@pytest.mark.parametrize('path', SEED_CONFIGS, ids=lambda p: p.stem)
def test_seed_config_loads_with_all_its_keys(path):
    original = json.loads(path.read_text())
    config = load_config(path)
    # under the code's names: n_inputs, spectral_rad
    assert {k: config[ALIASES.get(k, k)] for k in original} == original
    full, task, rnn = prepare_run(with_seed(config, 0), device='cpu')
    assert type(task).__name__ == f"Task{original['tag'].split('_')[0]}"
    assert (task.n_steps, task.n_inputs, task.n_outputs, rnn.N) == (
        original['n_steps'],
        original['num_inputs'],
        original['num_outputs'],
        original['N'],
    )
    assert full['mask'] == original['mask'] and full['data_folder'] == original['data_folder']


def test_five_seed_configs():
    assert len(SEED_CONFIGS) == 5


def test_a_bad_config_is_a_config_error(tmp_path):
    (tmp_path / 'list.json').write_text('[1, 2]')
    (tmp_path / 'broken.json').write_text('{"N": ')
    for path, message in [
        (tmp_path / 'list.json', 'a JSON object is required'),
        (tmp_path / 'broken.json', 'cannot read the config'),
        (tmp_path / 'missing.json', 'cannot read the config'),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(path)


RELOAD = textwrap.dedent('''
    import sys
    import numpy as np, torch
    from rnn_pipeline.runs import load_run
    torch.set_num_threads(1)
    run = load_run(sys.argv[1], device='cpu')
    inputs = np.load(sys.argv[2])['inputs']
    np.savez(sys.argv[3], numpy=run.rnn_numpy.run(inputs)[1],
             noisy=run.rnn_numpy.run(inputs, sigma_rec=0.03, sigma_inp=0.03, rng_numpy=np.random.default_rng(7))[1],
             torch=run.rnn_torch(inputs, w_noise=False)[1].detach().numpy())
''')


def test_a_reloaded_network_gives_identical_outputs_in_a_fresh_process(tmp_path):
    torch.set_num_threads(1)
    config, task, rnn = prepare_run(with_seed({**default_config('CDDM'), 'N': 24}, 3), device='cpu')
    Trainer(rnn, task, max_iter=3, batch_size=8, progress=False).run_training()
    folder = save_run(tmp_path / 'run', config, rnn.get_params()).data_folder
    inputs = task.get_batch()[0][..., ::40]
    np.savez(tmp_path / 'inputs.npz', inputs=inputs)
    result = subprocess.run(
        [
            sys.executable,
            '-c',
            RELOAD,
            str(folder),
            str(tmp_path / 'inputs.npz'),
            str(tmp_path / 'outputs.npz'),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    fresh = np.load(tmp_path / 'outputs.npz')
    trained = RNN_numpy.from_params(rnn.get_params())
    assert np.array_equal(fresh['numpy'], trained.run(inputs)[1])
    assert np.array_equal(
        fresh['noisy'],
        trained.run(inputs, sigma_rec=0.03, sigma_inp=0.03, rng_numpy=np.random.default_rng(7))[1],
    )
    assert np.array_equal(fresh['torch'], rnn(inputs, w_noise=False)[1].detach().numpy())
