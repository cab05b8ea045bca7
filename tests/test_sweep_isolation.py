"""A sweep that one bad job, one lost worker or one stranger cannot break: bad jobs are failed jobs with their cause,
finished jobs are never rerun, and nobody without the sweep's credentials reaches its cluster."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from distributed import Client
from distributed.security import Security

from rnn_pipeline.sweep import run_sweep, start_local_client

SCRIPT = Path(sys.executable).parent / 'rnn-pipeline'
MODULE = textwrap.dedent('''
    import ctypes, time
    import numpy as np
    from rnn_pipeline.tasks import Task

    class TaskBehaving(Task):
        "Hold a pulse's sign; task_params['behaviour'] makes the job exit, crash or hang instead."
        default_params = dict(behaviour='none')
        def __init__(self, n_steps=30, task_params=None, seed=None): super().__init__(n_steps, 1, 1, task_params, seed=seed)
        def sample_conditions(self, n):
            behaviour = self.task_params['behaviour']
            if behaviour == 'exit': raise SystemExit(3)
            if behaviour == 'segfault': ctypes.string_at(0)
            if behaviour == 'hang': time.sleep(3600)
            return [dict(sign=float(s)) for s in self.rng.choice([-1, 1], n)]
        def build_trials(self, conditions):
            sign, t = np.array([c['sign'] for c in conditions]), np.arange(self.n_steps)[None, :, None]
            return (t < 5) * sign, (t >= 5) * sign
''')
BASE = dict(task='my_tasks:TaskBehaving', N=8, max_iter=5, batch_size=8, eval_every=2)


@pytest.fixture
def own_tasks(tmp_path, monkeypatch):
    "A task module in the test's folder, importable by the workers and their jobs' processes."
    (tmp_path / 'my_tasks.py').write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield
    sys.modules.pop('my_tasks', None)


def test_a_job_that_exits_crashes_or_hangs_is_one_failed_job(own_tasks, tmp_path, say):
    bad = [dict(task_params=dict(behaviour=b)) for b in ('exit', 'segfault', 'hang')]
    sweep = dict(base=BASE, points=[dict(N=8), *bad, dict(N=12)], seeds=1, time_limit=30)
    start = time.perf_counter()
    table = run_sweep(sweep, tmp_path / 'sweep', n_workers=2, progress=False)
    say(
        f"sweep of 3 bad jobs (exit, segfault, hang past 30 s) and 2 good ones on 2 workers: {time.perf_counter() - start:.1f} s"
    )
    assert list(table.status) == ['done', 'failed', 'failed', 'failed', 'done']
    errors = list(table.error.iloc[1:4])
    assert "the job's process exited with code 3" in errors[0]
    assert "the job's process killed by signal SIGSEGV" in errors[1]
    assert "the job's process stopped at its time limit of 30 s" in errors[2]


def test_finished_jobs_are_not_rerun_when_a_worker_is_lost(own_tasks, tmp_path, say):
    sweep = dict(base={**BASE, 'max_iter': 150}, seeds=4)
    folder = tmp_path / 'sweep'
    client = start_local_client(2)
    try:
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(
                table=run_sweep(sweep, folder, client=client, progress=False)
            )
        )
        runner.start()
        deadline = time.monotonic() + 180
        while len(list(folder.glob('*/job.json'))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(folder.glob('*/job.json'))) >= 2
        victim = list(client.scheduler_info()['workers'])[0]
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive()
    finally:
        client.close()
        client.cluster.close()
    assert list(result['table'].status) == ['done'] * 4
    # one run per job
    assert sorted(len(list(job.glob('*-seed*'))) for job in folder.glob('seed*')) == [1, 1, 1, 1]
    say("worker killed after 2 of 4 jobs finished: 4 done, 4 run folders (none rerun)")


def test_nobody_without_the_sweep_credentials_reaches_its_cluster(tmp_path):
    client = start_local_client(1)
    try:
        address = client.scheduler.address
        assert address.startswith('tls://127.0.0.1:')
        for stranger in (
            dict(address=address.replace('tls://', 'tcp://')),  # no TLS at all
            dict(address=address, security=Security.temporary()),
        ):  # TLS, but not the sweep's certificates
            with pytest.raises(OSError):  # distributed's CommClosedError
                Client(**stranger, timeout=5)
        port = client.run_on_scheduler(
            lambda dask_scheduler: next(
                iter(dask_scheduler.http_server._sockets.values())
            ).getsockname()[1]
        )
        for page in ('health', 'metrics', 'status', 'info/main/workers.html'):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f'http://127.0.0.1:{port}/{page}', timeout=5)
            assert refused.value.code == 404
    finally:
        client.close()
        client.cluster.close()


def test_a_sweep_whose_every_job_fails_prints_its_table(own_tasks, tmp_path):
    (tmp_path / 'sweep.json').write_text(
        json.dumps(dict(base={**BASE, 'task_params': dict(behaviour='exit')}, seeds=2))
    )
    result = subprocess.run(
        [str(SCRIPT), 'sweep', 'sweep.json', '--workers', '2', '--no-progress'],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert '0 done, 2 failed' in result.stdout and 'exited with code 3' in result.stdout
    for warning in ('leaked semaphore', 'KilledWorker', 'Traceback', 'Restarting worker'):
        assert warning not in result.stderr, result.stderr
