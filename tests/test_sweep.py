"Sweeps on a Dask LocalCluster: failures recorded, resume without retraining, a worker killed mid-sweep."

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from rnn_pipeline.sweep import WORKER_CONFIG, WORKER_ENVIRON, start_local_client, run_sweep

BASE = dict(
    task='NBitFlipFlop',
    n_steps=40,
    n_inputs=1,
    n_outputs=1,
    task_params=dict(mu=2, n_flip_steps=5),
    N=8,
    activation='tanh',
    constrained=False,
    max_iter=30,
    lr=0.02,
    batch_size=32,
    eval_every=10,
)


@pytest.fixture(scope='module')
def client():
    "A LocalCluster of two single-threaded worker processes."
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def worker_settings():
    "The environment variables of WORKER_ENVIRON and the Dask settings of WORKER_CONFIG, as a worker sees them."
    import dask

    return {k: os.environ.get(k) for k in WORKER_ENVIRON} | {
        k: dask.config.get(k) for k in WORKER_CONFIG
    }


def test_own_cluster_workers_get_the_worker_environment_and_settings():
    "The LocalCluster that run_sweep starts gives its workers WORKER_ENVIRON (glibc's mmap threshold) and WORKER_CONFIG (no profiler)."
    client = start_local_client(1)
    try:
        seen = client.run(worker_settings)
    finally:
        client.close()
        client.cluster.close()
    assert list(seen.values()) == [{k: str(v) for k, v in WORKER_ENVIRON.items()} | WORKER_CONFIG]


def test_broken_job_is_recorded_and_rerun_trains_nothing(client, tmp_path):
    sweep = dict(
        base=BASE, points=[dict(N=6), dict(N=10), dict(lr=0.01), dict(activation='elu')], seeds=1
    )
    table = run_sweep(sweep, tmp_path / 'sweep', client=client, progress=False)
    assert list(table.status) == ['done', 'done', 'done', 'failed']
    assert "activation='elu'" in table.error.iloc[3]
    assert all((tmp_path / 'sweep' / name / 'job.json').is_file() for name in table.name)
    assert (
        table.score.iloc[:3].notna().all()
        and (table.folder.iloc[:3].map(lambda f: os.path.isdir(f))).all()
    )
    mtimes = {
        p: p.stat().st_mtime_ns
        for p in (tmp_path / 'sweep').rglob('*')
        if p.is_file() and p.name != 'results.csv' and p.name != 'results.json'
    }
    again = run_sweep(sweep, tmp_path / 'sweep', client=client, progress=False)
    assert list(again.status) == list(table.status) and list(again.folder.iloc[:3]) == list(
        table.folder.iloc[:3]
    )
    # nothing retrained, nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_a_different_sweep_in_the_same_folder_is_refused(client, tmp_path):
    run_sweep(dict(base=BASE, seeds=1), tmp_path / 's', client=client, progress=False)
    with pytest.raises(ValueError, match='holds a different sweep'):
        run_sweep(dict(base=BASE, seeds=2), tmp_path / 's', client=client, progress=False)


def test_killed_worker_mid_sweep(tmp_path):
    sweep = dict(base={**BASE, 'max_iter': 200}, grid=dict(N=[6, 8]), seeds=2)
    folder = tmp_path / 'killed'
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(table=run_sweep(sweep, folder, client=c, progress=False))
        )
        runner.start()
        deadline = time.time() + 60
        # a training has started
        while not any(folder.glob('*/NBitFlipFlop-*')) and time.time() < deadline:
            time.sleep(0.2)
        victim = list(c.scheduler_info()['workers'])[0]
        # the worker process dies mid-job
        os.kill(c.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        runner.join(timeout=240)
        assert not runner.is_alive()
    table = result['table']
    # the lost job resumed on the other worker
    assert list(table.status) == ['done'] * 4
    # each ran once
    assert (
        sorted(len(list(job.glob('NBitFlipFlop-*'))) for job in folder.iterdir() if job.is_dir())
        == [1] * 4
    )
    assert len((folder / 'results.csv').read_text().splitlines()) == 5


def run_cli(*args, cwd):
    "Run the rnn-pipeline console script; returns the completed process."
    script = Path(sys.executable).parent / 'rnn-pipeline'
    return subprocess.run(
        [str(script), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_sweep_command(tmp_path):
    (tmp_path / 'sizes.json').write_text(json.dumps(dict(base=BASE, grid=dict(N=[6, 8]), seeds=1)))
    done = run_cli('sweep', 'sizes.json', '--workers', '2', '--no-progress', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        '2 done, 0 failed' in done.stdout
        and (tmp_path / 'sweeps' / 'sizes' / 'results.csv').is_file()
    )
    (tmp_path / 'bad.json').write_text(json.dumps(dict(base=BASE, seeds=0)))
    bad = run_cli('sweep', 'bad.json', cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().count('\n') == 0 and 'seeds=0' in bad.stderr
    assert run_cli('sweep', 'missing.json', cwd=tmp_path).returncode == 2
    zero = run_cli('sweep', 'sizes.json', '--workers', '0', cwd=tmp_path)
    assert zero.returncode == 2 and 'integer > 0' in zero.stderr
