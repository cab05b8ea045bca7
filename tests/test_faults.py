"""Nothing lost under concurrency and faults: racing writers, processes killed while saving, two sweeps on one folder,
a second Ctrl-C during an analysis, and every kind of damaged run folder."""

import hashlib
import json
import multiprocessing as mp
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from rnn_pipeline.config import default_config
from rnn_pipeline.core import atomic_write
from rnn_pipeline.runs import INTERRUPTED_ANALYSIS, analyze, load_run, train
from rnn_pipeline.saver import read_data
from rnn_pipeline.sweep import folder_lock, run_sweep

PAIRS = 150


def _race(folder, who, barrier, results):
    "Write each of PAIRS new files, at the same moment as the other writer; record which writes succeeded."
    won = []
    for i in range(PAIRS):
        barrier.wait()
        try:
            atomic_write(Path(folder) / f'{i}.txt', lambda f: f.write(f'{who}\n'.encode() * 1000))
            won.append(i)
        except FileExistsError:
            pass
    results[who] = won


def test_racing_writers_never_both_think_they_wrote_a_new_file(tmp_path, say):
    ctx = mp.get_context('fork')
    barrier, results = ctx.Barrier(2), ctx.Manager().dict()
    writers = [
        ctx.Process(target=_race, args=(tmp_path, who, barrier, results)) for who in ('a', 'b')
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    a, b = set(results['a']), set(results['b'])
    say(
        f"racing writers: {PAIRS} pairs, each file written once (a {len(a)}, b {len(b)}), none lost or doubled"
    )
    # each file written by exactly one of them
    assert not a & b and a | b == set(range(PAIRS))
    for i in range(PAIRS):
        # ...and it holds that one's data
        assert (tmp_path / f'{i}.txt').read_text() == ('a\n' if i in a else 'b\n') * 1000
    # no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f'{i}.txt' for i in range(PAIRS))


SAVER = textwrap.dedent('''
    import hashlib, sys
    from rnn_pipeline.saver import DataSaver
    saver, n = DataSaver(sys.argv[1]), 0
    while True:
        n += 1
        body = (str(n) * 250_000).encode()
        saver.save_data(dict(n=n, digest=hashlib.sha256(body).hexdigest(), body=body.decode()), 'data.json', overwrite=True)
''')


def test_a_save_killed_at_random_moments_leaves_old_or_new_and_no_temporary(tmp_path, say):
    rng = random.Random(0)
    for kill in range(20):
        writer = subprocess.Popen([sys.executable, '-c', SAVER, str(tmp_path)])
        # imports, then saves in a loop: killed somewhere in one
        time.sleep(rng.uniform(1.5, 3.0))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        # the last complete file, never half of one
        data = read_data(tmp_path / 'data.json')
        assert hashlib.sha256(data['body'].encode()).hexdigest() == data['digest']
        # the read removed any temporary the kill left
        assert [p.name for p in tmp_path.iterdir()] == ['data.json']
    say("killed saves: 20 SIGKILLs at random moments; the file whole after each, no temporary left")


def test_two_sweeps_on_one_folder(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            '-c',
            f"from rnn_pipeline.sweep import folder_lock\nimport time\n"
            f"with folder_lock({str(tmp_path / 'sweep')!r}) as held:\n    print(held, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == 'True'
    sweep = dict(base=dict(task='DMTS', N=6, max_iter=2, batch_size=4), seeds=1)
    with pytest.raises(ValueError, match='another sweep is running in this folder'):
        run_sweep(sweep, tmp_path / 'sweep', n_workers=1, progress=False)
    # the refused sweep wrote nothing
    assert not (tmp_path / 'sweep' / 'sweep.json').exists()
    holder.send_signal(signal.SIGKILL)
    holder.wait()  # a sweep that crashes...
    # ...leaves no lock behind
    with folder_lock(tmp_path / 'sweep', blocking=False) as held:
        assert held


def test_a_stopped_analysis_is_marked_and_keeps_its_files(tmp_path, monkeypatch):
    run = train(
        {**default_config('DMTS'), 'N': 8, 'max_iter': 3, 'batch_size': 4},
        out=tmp_path,
        progress=False,
        threads=1,
    )
    import rnn_pipeline.runs as runs

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    # the second Ctrl-C comes during the fixed points
    monkeypatch.setattr(runs, 'fixed_point_analysis', stopped)
    with pytest.raises(KeyboardInterrupt):
        analyze(run)
    files = {p.name for p in run.folder.iterdir()}
    assert {
        'trials.png',
        'losses.png',
        INTERRUPTED_ANALYSIS,
    } <= files and 'analysis.json' not in files
    assert read_data(run.folder / INTERRUPTED_ANALYSIS)['status'] == 'interrupted'
    assert load_run(run.folder, device='cpu').analysis is None


DAMAGES = {
    'truncated params': lambda f: (f / 'params.npz').write_bytes(
        (f / 'params.npz').read_bytes()[:100]
    ),
    'truncated config': lambda f: (f / 'config.json').write_text(
        (f / 'config.json').read_text()[:40]
    ),
    'truncated training record': lambda f: (f / 'training.json').write_text('{"iterations": '),
    'no training record': lambda f: (f / 'training.json').unlink(),
    'no parameters': lambda f: (f / 'params.npz').unlink(),
    'another task': lambda f: (f / 'config.json').write_text(
        json.dumps({**json.loads((f / 'config.json').read_text()), 'task': 'CDDM', 'n_inputs': 6})
    ),
    'unfinished training': lambda f: (f / 'status.json').write_text('{"status": "training"}'),
}


@pytest.mark.parametrize('damage', list(DAMAGES))
def test_a_damaged_run_folder_is_refused_and_left_as_it_is(tmp_path, damage):
    run = train(
        {**default_config('DMTS'), 'N': 8, 'max_iter': 2, 'batch_size': 4},
        out=tmp_path,
        progress=False,
        threads=1,
    )
    DAMAGES[damage](run.folder)
    before = {p.name: p.read_bytes() for p in run.folder.iterdir()}
    with pytest.raises(ValueError) as refused:
        load_run(run.folder, device='cpu')
    assert str(run.folder) in str(refused.value) or 'damaged' in str(refused.value), refused.value
    assert {p.name: p.read_bytes() for p in run.folder.iterdir()} == before


def test_unseeded_draws_leave_the_global_generators_alone(tmp_path):
    import torch
    from rnn_pipeline.rnn import RNN_pytorch

    run = train(
        {**default_config('DMTS'), 'N': 8, 'max_iter': 2, 'batch_size': 4},
        out=tmp_path,
        progress=False,
        threads=1,
    )
    config = json.loads((run.folder / 'config.json').read_text())
    (run.folder / 'config.json').write_text(json.dumps({**config, 'seed': None}))
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    a, b = RNN_pytorch(8, seed=None, device='cpu'), RNN_pytorch(8, seed=None, device='cpu')
    reloaded = load_run(run.folder, device='cpu')
    assert not torch.equal(a.W_rec, b.W_rec)  # fresh seeds...
    assert torch.equal(torch.random.get_rng_state(), torch_state) and np.array_equal(
        np.random.get_state()[1], numpy_state
    )
    # ...and the user's generators untouched
    assert reloaded.config['seed'] is None


def _strict(text: str):
    "JSON as a strict reader (jq, JavaScript) takes it: NaN and Infinity are refused."

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_training_that_goes_non_finite_stops_says_so_and_writes_strict_json(tmp_path):
    from rnn_pipeline.tasks import TaskNBitFlipFlop

    class TaskNaNTargets(TaskNBitFlipFlop):
        "A flip-flop whose validation batch (its first) has a NaN target."

        def get_batch(self, *args, **kwargs):
            inputs, targets, conditions = super().get_batch(*args, **kwargs)
            self.drawn = getattr(self, 'drawn', 0) + 1
            if self.drawn == 1:
                targets[0, 5, 0] = np.nan
            return inputs, targets, conditions

    config = dict(
        task=TaskNaNTargets,
        n_steps=30,
        n_inputs=1,
        n_outputs=1,
        N=6,
        max_iter=50,
        batch_size=8,
        seed=0,
    )
    with pytest.warns(UserWarning, match='validation loss became nan'):
        run = train(config, out=tmp_path, progress=False, threads=1)
    training = _strict((run.folder / 'training.json').read_text())
    assert training['stop_reason'] == 'non-finite validation loss' and training['val_losses'] == [
        None
    ]
    assert _strict((run.folder / 'status.json').read_text())['status'] == 'done'
    analyze(run)
    _strict((run.folder / 'analysis.json').read_text())
