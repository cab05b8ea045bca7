"""Sweeps and trainings on a real one-node SLURM scheduler: jobs on SLURM workers, a worker's job cancelled mid-training,
a training sent SIGTERM and resumed. Run by scripts/test.sh in a network namespace of its own (scripts/isolated.sh)."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnn_pipeline.sweep import WORKER_ENVIRON, run_sweep, slurm_client
from slurm_cluster import missing, slurm_cluster

SCRIPT = Path(sys.executable).parent / 'rnn-pipeline'
BASE = dict(
    task='NBitFlipFlop',
    n_steps=60,
    n_inputs=1,
    n_outputs=1,
    task_params=dict(mu=3, n_flip_steps=5),
    N=24,
    activation='tanh',
    constrained=False,
    batch_size=32,
    eval_every=20,
    score_target=None,
    tol=0.0,
)


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    "SLURM_CONF of a running one-node cluster, set in this process for dask-jobqueue's sbatch and scancel."
    if missing():
        pytest.skip(missing())
    with slurm_cluster() as env:
        before = os.environ.get('SLURM_CONF')
        os.environ['SLURM_CONF'] = env['SLURM_CONF']
        try:
            yield env
        finally:
            if before is None:
                os.environ.pop('SLURM_CONF')
            else:
                os.environ['SLURM_CONF'] = before


def client_of(jobs, logs):
    "A client of `jobs` SLURM worker jobs on loopback, once they are all up."
    client = slurm_client(
        jobs, memory='2GB', walltime='00:20:00', interface='lo', log_directory=str(logs)
    )
    client.wait_for_workers(jobs, timeout=120)
    return client


def test_a_sweep_on_slurm_workers_finishes_every_job(slurm, tmp_path):
    client = client_of(2, tmp_path / 'logs')
    try:
        seen = client.run(
            lambda: {
                k: os.environ.get(k)
                for k in [*WORKER_ENVIRON, 'DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED']
            }
        )
        assert (
            list(seen.values())
            == [
                {
                    **{k: str(v) for k, v in WORKER_ENVIRON.items()},
                    'DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED': 'False',
                }
            ]
            * 2
        )
        # two batch jobs
        assert len(set(client.run(lambda: os.environ['SLURM_JOB_ID']).values())) == 2
        table = run_sweep(
            dict(base={**BASE, 'max_iter': 30}, grid=dict(N=[8, 16]), seeds=2),
            tmp_path / 'sweep',
            client=client,
            progress=False,
        )
    finally:
        client.close()
        client.cluster.close()
    assert list(table.status) == ['done'] * 4 and table.folder.map(os.path.isdir).all()
    # a header and each job once
    assert len((tmp_path / 'sweep' / 'results.csv').read_text().splitlines()) == 5


def test_a_cancelled_worker_job_is_resumed_from_its_checkpoint_on_another_worker(
    slurm, tmp_path, say
):
    sweep = dict(base={**BASE, 'max_iter': 600, 'checkpoint_every': 25}, seeds=2)
    folder = tmp_path / 'sweep'
    client = client_of(2, tmp_path / 'logs')
    try:
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(
                table=run_sweep(sweep, folder, client=client, progress=False)
            )
        )
        runner.start()
        deadline = time.monotonic() + 120
        while not list(folder.glob('*/*/checkpoint.pt')) and time.monotonic() < deadline:
            time.sleep(0.1)
        [checkpoint, *_] = folder.glob('*/*/checkpoint.pt')
        victim_job = checkpoint.parent.parent.name
        worker = next(
            w
            for w, keys in client.processing().items()
            if any(k.endswith(victim_job) for k in keys)
        )
        slurm_job = client.run(lambda: os.environ['SLURM_JOB_ID'], workers=[worker])[worker]
        subprocess.run(['scancel', slurm_job], env=slurm, check=True)
        runner.join(timeout=600)
        assert not runner.is_alive()
    finally:
        client.close()
        client.cluster.close()
    table = result['table']
    assert list(table.status) == ['done', 'done']
    record = table.set_index('name').loc[victim_job]
    training = json.loads((Path(record.folder) / 'training.json').read_text())
    [resumed_at] = training['resumed_at']
    # fewer iterations after the cancel than 600
    assert 0 < resumed_at < training['iterations'] == 600
    say(
        f"SLURM: worker job cancelled at iteration {resumed_at} of 600; resumed there on the other worker"
    )
    # the same run folder, continued
    assert len(list(folder.glob(f'{victim_job}/*-seed*'))) == 1


def test_sigterm_leaves_a_checkpoint_that_resumes_to_the_uninterrupted_run(slurm, tmp_path, say):
    options = [
        'NBitFlipFlop',
        '--n-units',
        '24',
        '--max-iter',
        '400',
        '--checkpoint-every',
        '20',
        '--seed',
        '4',
        '--score-target',
        'none',
        '--threads',
        '1',
        '--no-progress',
        '--out',
        str(tmp_path),
    ]
    script = tmp_path / 'train.sh'
    script.write_text(f"#!/bin/bash\nexec {SCRIPT} train {' '.join(options)} --name stopped\n")
    job = subprocess.run(
        ['sbatch', '--parsable', '-o', str(tmp_path / 'job.out'), str(script)],
        env=slurm,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stopped = tmp_path / 'stopped'
    deadline = time.monotonic() + 120
    while not (stopped / 'checkpoint.pt').exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    sent = time.monotonic()
    subprocess.run(['scancel', '--signal=TERM', '--full', job], env=slurm, check=True)
    while (
        json.loads((stopped / 'status.json').read_text())['status'] != 'interrupted'
        and time.monotonic() < sent + 30
    ):
        time.sleep(0.1)
    assert json.loads((stopped / 'status.json').read_text())['status'] == 'interrupted'
    say(
        f"SLURM: scancel --signal=TERM to the run folder saying interrupted: {time.monotonic() - sent:.1f} s"
    )
    assert 'train --resume' in (tmp_path / 'job.out').read_text()
    resumed = subprocess.run(
        [str(SCRIPT), 'train', '--resume', str(stopped), '--threads', '1', '--no-progress'],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run(
        [str(SCRIPT), 'train', *options, '--name', 'whole'],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert whole.returncode == 0, whole.stderr
    assert (stopped / 'params.npz').read_bytes() == (tmp_path / 'whole' / 'params.npz').read_bytes()
    a, b = (json.loads((f / 'training.json').read_text()) for f in (stopped, tmp_path / 'whole'))
    assert (
        a['train_losses'] == b['train_losses']
        and a['val_losses'] == b['val_losses']
        and a['resumed_at'][0] > 0
    )


def test_the_sweep_command_runs_on_slurm(slurm, tmp_path):
    (tmp_path / 'sweep.json').write_text(json.dumps(dict(base={**BASE, 'max_iter': 20}, seeds=2)))
    result = subprocess.run(
        [
            str(SCRIPT),
            'sweep',
            'sweep.json',
            '--slurm',
            '--jobs',
            '2',
            '--memory',
            '1GB',
            '--interface',
            'lo',
            '--walltime',
            '00:10:00',
            '--no-progress',
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=slurm,
    )
    assert result.returncode == 0, result.stderr
    assert '2 done, 0 failed' in result.stdout
