"""rnn_pipeline.datajoint against a real database server.

`bash scripts/test.sh` starts a throw-away PostgreSQL on 127.0.0.1 and exports DJ_HOST, DJ_PORT, DJ_USER, DJ_PASS,
DJ_BACKEND and DJ_USE_TLS; without a configured server these tests are skipped. Workers are separate processes, as
on a cluster: each activates the same schema and runs `populate(reserve_jobs=True)`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

dj = pytest.importorskip(
    'datajoint', reason="the datajoint extra is not installed: pip install -e '.[dev]'"
)
from rnn_pipeline import datajoint as rdj
from rnn_pipeline.config import ConfigError, load_config
from rnn_pipeline.examples import load_example
from rnn_pipeline.runs import analyze, load_run
from rnn_pipeline.saver import read_data, save_run

pytestmark = pytest.mark.skipif(not rdj.server_configured(), reason=rdj.NO_SERVER)

TINY = dict(max_iter=3, batch_size=8, eval_every=2, activation='tanh', constrained=False)
FLIPFLOP = dict(
    task='NBitFlipFlop', n_steps=60, n_inputs=1, n_outputs=1, task_params=dict(mu=3, n_flip_steps=5)
)
SWEEPS = [
    dict(base={**FLIPFLOP, **TINY}, grid=dict(N=[8, 16]), seeds=2),
    dict(base=dict(task='DMTS', **TINY), grid=dict(N=[8, 16]), seeds=2),
]  # 2 tasks x 2 paramsets x 2 seeds

WORKER = """
import json, sys
from rnn_pipeline import datajoint as rdj
rdj.activate(sys.argv[1], run_root=sys.argv[2])
result = rdj.populate(reserve_jobs=True)
print(json.dumps({t: r['success_count'] for t, r in result.items()}))
"""


def start_worker(schema_name, root, **env):
    return subprocess.Popen(
        [sys.executable, '-c', WORKER, schema_name, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, 'MPLBACKEND': 'Agg', **env},
    )


def finish(worker) -> dict:
    out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def run_workers(schema_name, root, n) -> tuple:
    "Run `n` workers at once until the queue is empty; their success counts and the wall time."
    start = time.perf_counter()
    results = [finish(w) for w in [start_worker(schema_name, root) for _ in range(n)]]
    return results, time.perf_counter() - start


def values(table, keys, attribute) -> list:
    return [r[attribute] for r in (table & keys).proj(attribute).to_dicts()]


def workers_of(keys) -> dict:
    "The worker that made each key's network."
    return {
        json.dumps({k: r[k] for k in rdj.TrainedNetwork.primary_key}, sort_keys=True): r['worker']
        for r in (rdj.TrainedNetwork & keys).proj('worker').to_dicts()
    }


def rows(table, keys) -> int:
    return len(table & keys) if keys else 0


@pytest.fixture(scope='module')
def db(tmp_path_factory):
    "A fresh schema on the server, dropped afterwards; run folders kept under a temporary run root."
    name, root = f'rnn_pipeline_test_{os.getpid()}', tmp_path_factory.mktemp('run_root')
    rdj.activate(name, run_root=root)
    dj.config['safemode'] = False
    try:
        yield name, root
    finally:
        rdj.schema.drop(prompt=False)


@pytest.fixture(scope='module')
def sweep(db, say):
    "The small sweep, populated by two workers at once."
    name, root = db
    keys = [k for s in SWEEPS for k in rdj.insert_sweep(s)]
    results, seconds = run_workers(name, root, 2)
    say(
        f"DataJoint: populate of the small sweep ({len(keys)} networks) with 2 workers: {seconds:.1f} s"
    )
    return keys, results


def test_two_workers_do_every_job_exactly_once(db, sweep):
    name, root = db
    keys, results = sweep
    assert len(keys) == len({tuple(sorted(k.items())) for k in keys}) == 8
    # 8 make() calls in all, none twice
    assert sum(r['TrainedNetwork'] for r in results) == 8
    for table in rdj.COMPUTED:
        assert rows(table, keys) == 8
    # neither task has a continuous attractor: no slow points, and a row that says so
    assert values(rdj.SlowPointAnalysis, keys, 'n_inputs') == [0] * 8
    # each make() writes one new run folder: 8 folders, one per key
    folders = sorted(p.name for p in Path(root).iterdir())
    assert len(folders) == 8
    assert sorted(values(rdj.TrainedNetwork, keys, 'run_folder')) == folders
    assert rdj.progress().remaining.sum() == 0 and rdj.progress().error.sum() == 0
    print('workers:', sorted(set(values(rdj.TrainedNetwork, keys, 'worker'))))


def test_one_worker_timing(db, sweep, say):
    "The same sweep with other seeds, by one worker: the figure for the closing note."
    name, root = db
    keys = [k for s in SWEEPS for k in rdj.insert_sweep({**s, 'seeds': [2, 3]})]
    results, seconds = run_workers(name, root, 1)
    say(
        f"DataJoint: populate of the small sweep ({len(keys)} networks) with 1 worker: {seconds:.1f} s"
    )
    assert results[0]['TrainedNetwork'] == 8 and rows(rdj.Performance, keys) == 8


def test_worker_killed_during_make(db, sweep):
    name, root = db
    before = workers_of(sweep[0])
    key = rdj.insert_training(
        {**FLIPFLOP, **TINY, 'N': 16, 'max_iter': 2000, 'eval_every': 100, 'seed': 5}
    )
    worker = start_worker(name, root)
    deadline = time.time() + 300
    while (
        not (rdj.TrainedNetwork.jobs.reserved & key)
        and time.time() < deadline
        and worker.poll() is None
    ):
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    # killed inside make(): the job is still reserved, and no row of it exists anywhere
    assert len(rdj.TrainedNetwork.jobs.reserved & key) == 1
    for table in (
        rdj.TrainedNetwork,
        rdj.Performance,
        rdj.FixedPointAnalysis,
        rdj.FixedPointAnalysis.Input,
        rdj.FixedPointAnalysis.Point,
        rdj.SlowPointAnalysis,
    ):
        assert len(table & key) == 0, table.__name__
    # a rerun leaves the stale reservation alone; cleared, the job is done and nothing else is redone
    assert finish(start_worker(name, root))['TrainedNetwork'] == 0 and not (
        rdj.TrainedNetwork & key
    )
    assert rdj.clear_stale_reservations() == 1
    assert finish(start_worker(name, root)) == dict(
        TrainedNetwork=1, Performance=1, FixedPointAnalysis=1, SlowPointAnalysis=1
    )
    assert len(rdj.TrainedNetwork & key) == 1 and rdj.progress().remaining.sum() == 0
    assert workers_of(sweep[0]) == before


def test_make_that_raises_leaves_its_error(db, sweep):
    name, root = db
    good = rdj.insert_training({**FLIPFLOP, **TINY, 'N': 8, 'seed': 7})
    # a paramset out of range, inserted straight into the table (the helper would refuse it)
    params = {**json.loads(json.dumps((rdj.TrainingParamSet & good).fetch1('params'))), 'N': 0}
    bad_set = dict(training_paramset=rdj.params_hash(params))
    rdj.TrainingParamSet.insert1(dict(bad_set, n_units=0, activation='tanh', params=params))
    bad = {**good, **bad_set}
    rdj.TrainingTask.insert1(bad)
    result = finish(start_worker(name, root))
    assert (
        result['TrainedNetwork'] == 1
        and len(rdj.Performance & good) == 1
        and not (rdj.TrainedNetwork & bad)
    )
    error = (rdj.TrainedNetwork.jobs.errors & bad).fetch1('error_message')
    assert 'N=0 is invalid: an integer > 0 is required' in error
    assert 'N=0 is invalid' in rdj.errors().error_message.iloc[0]


def test_network_from_database_is_the_run_folder(db, sweep):
    name, root = db
    for key in sweep[0][::3]:
        folder = Path(root) / (rdj.TrainedNetwork & key).fetch1('run_folder')
        saved, fetched = load_run(folder, device='cpu'), rdj.fetch_run(key, device='cpu')
        assert fetched.config == saved.config and fetched.training == saved.training
        assert fetched.analysis == saved.analysis
        for k, v in saved.params.items():
            np.testing.assert_array_equal(fetched.params[k], v)
        inputs = saved.task.get_batch()[0]
        for a, b in zip(saved.rnn_numpy.run(inputs), fetched.rnn_numpy.run(inputs)):
            np.testing.assert_array_equal(a, b)
        torch_a = saved.rnn_torch(inputs, w_noise=False)[1].detach().numpy()
        np.testing.assert_array_equal(
            torch_a, fetched.rnn_torch(inputs, w_noise=False)[1].detach().numpy()
        )
        fp_a, fp_b = (
            read_data(folder / 'fixed_points.npz'),
            read_data(fetched.folder / 'fixed_points.npz'),
        )
        assert sorted(fp_a) == sorted(fp_b)
        for k in fp_a:
            np.testing.assert_array_equal(fp_a[k], fp_b[k])
        for png in folder.glob('*.png'):
            assert (fetched.folder / png.name).read_bytes() == png.read_bytes()


def test_scientists_queries(db, sweep, tmp_path):
    keys = sweep[0]
    # behavioural score against N over seeds, as a DataFrame
    table = (
        (
            rdj.Performance.proj('score')
            * rdj.TrainingParamSet.proj('n_units')
            * rdj.TaskParamSet.proj('task')
            & keys
        )
        .to_pandas()
        .reset_index()
    )
    scores = table.pivot_table(index=['task', 'n_units'], columns='seed', values='score')
    assert scores.shape == (4, 2) and not scores.isna().any().any()
    # the shipped 3-bit flip-flop network, imported from a run folder, is the one with at least 8 stable points
    ex = load_example('flipflop3')
    save_run(tmp_path / 'flipflop3', {**ex.config, 'seed': 0}, ex.rnn_torch.get_params())
    analyze(load_run(tmp_path / 'flipflop3', device='cpu'))
    imported = rdj.import_run(tmp_path / 'flipflop3')
    assert rdj.populate(imported)['FixedPointAnalysis']['success_count'] == 1
    rich = rdj.TrainedNetwork & (rdj.FixedPointAnalysis.Input & 'stable >= 8')
    assert rich.keys() == [imported]
    assert len(rdj.FixedPointAnalysis.Point & imported & "point_type = 'stable'") >= 8
    # deleting a paramset deletes what was made from it, and nothing else
    victim = {'training_paramset': keys[0]['training_paramset']}
    made = [
        rows(t, keys)
        for t in (rdj.TrainingTask, rdj.TrainedNetwork, rdj.Performance, rdj.FixedPointAnalysis)
    ]
    n = len(rdj.TrainingTask & victim & keys)
    assert n == 4  # both sweeps' N=8 trainings are one paramset: 2 tasks x 2 seeds
    (rdj.TrainingParamSet & victim).delete()
    for table in (
        rdj.TrainingTask,
        rdj.TrainedNetwork,
        rdj.Performance,
        rdj.FixedPointAnalysis,
        rdj.FixedPointAnalysis.Point,
    ):
        assert len(table & victim) == 0, table.__name__
    assert [
        rows(t, keys)
        for t in (rdj.TrainingTask, rdj.TrainedNetwork, rdj.Performance, rdj.FixedPointAnalysis)
    ] == [m - n for m in made]
    assert len(rdj.TrainedNetwork & imported) == 1


def test_slow_points_stored_like_fixed_points(db, tmp_path):
    "The shipped MemoryAntiNumber network's line attractors: slow_points.npz in the tables and back."
    ex = load_example('memory_number')
    folder = tmp_path / 'memory_number'
    save_run(folder, {**ex.config, 'seed': 0}, ex.rnn_torch.get_params())
    analysis = analyze(load_run(folder, device='cpu'))['slow_points']
    saved = read_data(folder / 'slow_points.npz')
    key = rdj.import_run(folder)
    assert rdj.populate(key)['SlowPointAnalysis']['success_count'] == 1
    assert (rdj.SlowPointAnalysis & key).fetch1('n_inputs') == len(analysis) == 2
    inputs = {r['input_label']: r for r in (rdj.SlowPointAnalysis.Input & key).to_dicts()}
    assert sorted(inputs) == sorted(analysis)
    for i, label in enumerate(np.atleast_1d(saved['labels'])):
        row, summary = inputs[str(label)], analysis[str(label)]
        assert row['shape'] == summary['shape'] == 'line'
        assert row['slow_points'] == summary['slow_points'] == len(saved[f'input{i}_points'])
        assert row['step'] == summary['step']
        np.testing.assert_allclose(row['length'], summary['length'])
        np.testing.assert_array_equal(row['input_vector'], saved[f'input{i}_input_vector'])
        points = (rdj.SlowPointAnalysis.Point & key & {'input_label': str(label)}).to_dicts()
        points = sorted(points, key=lambda r: r['point'])  # their order along the line
        np.testing.assert_array_equal(
            np.stack([r['state'] for r in points]), saved[f'input{i}_points']
        )
        np.testing.assert_array_equal([r['speed'] for r in points], saved[f'input{i}_speeds'])
    # the run folder written back from the row has the same slow points and figure
    fetched = rdj.fetch_run(key, tmp_path / 'fetched', device='cpu').folder
    back = read_data(fetched / 'slow_points.npz')
    assert sorted(back) == sorted(saved)
    for k in saved:
        np.testing.assert_array_equal(back[k], saved[k])
    assert (fetched / 'slow_points.png').read_bytes() == (folder / 'slow_points.png').read_bytes()
    # deleting the network deletes its slow points
    (rdj.TrainedNetwork & key).delete()
    assert len(rdj.SlowPointAnalysis.Point & key) == 0


def test_bad_paramset_is_the_python_api_error(db):
    with pytest.raises(ConfigError) as ours:
        rdj.insert_training_paramset(N=0)
    with pytest.raises(ConfigError) as api:
        load_config(dict(task='DMTS'), N=0)
    assert str(ours.value) == str(api.value) and isinstance(ours.value, ValueError)
    with pytest.raises(ValueError, match="activation='step' is invalid"):
        rdj.insert_training_paramset(activation='step')
    with pytest.raises(ValueError, match=r"settings=\['nsteps'\] is invalid"):
        rdj.insert_task_paramset('DMTS', nsteps=5)


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_no_server_reachable():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]  # free, and nothing listens there once closed
    done = run_python(
        "from rnn_pipeline import datajoint as rdj; rdj.activate('rnn_pipeline_nowhere')",
        DJ_HOST='127.0.0.1',
        DJ_PORT=str(port),
    )
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(
        'ConnectionError: cannot connect to the DataJoint server (postgresql) at 127.0.0.1:'
    )
    assert f'127.0.0.1:{port}' in message and 'scripts/test.sh' in message and 'DJ_HOST' in message
    assert os.environ['DJ_PASS'] not in done.stderr + done.stdout


def test_schema_of_an_incompatible_version(db):
    name = f'rnn_pipeline_test_old_{os.getpid()}'
    old = dj.Schema(name)
    try:

        @old
        class SchemaVersion(dj.Lookup):
            definition = rdj.SchemaVersion.definition

        SchemaVersion.insert1(dict(schema_version=0, rnn_pipeline='0.0.1'))
        done = run_python(f"from rnn_pipeline import datajoint as rdj; rdj.activate({name!r})")
        assert done.returncode != 0
        message = done.stderr.strip().splitlines()[-1]
        assert message.startswith('rnn_pipeline.datajoint.IncompatibleSchemaError: ')
        assert f"schema {name!r} was made with version [0] of the table definitions" in message
        assert f'this rnn_pipeline uses version {rdj.SCHEMA_VERSION}' in message
        assert old.list_tables() == [SchemaVersion.table_name]  # nothing was declared in it
    finally:
        old.drop(prompt=False)


def test_the_dj_command_line(tmp_path):
    "`rnn-pipeline dj`: activate a schema, insert a sweep, populate with reserved jobs, show the progress."
    schema = f'rnn_pipeline_cli_{os.getpid()}'
    (tmp_path / 'sweep.json').write_text(
        json.dumps(dict(base={**FLIPFLOP, **TINY}, grid=dict(N=[8]), seeds=2))
    )
    script, env = Path(sys.executable).parent / 'rnn-pipeline', {**os.environ, 'MPLBACKEND': 'Agg'}

    def dj_command(*args):
        result = subprocess.run(
            [str(script), 'dj', *map(str, args), '--schema', schema],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    try:
        assert 'training_task' in dj_command('activate')
        assert '2 trainings' in dj_command('insert-sweep', 'sweep.json')
        assert 'TrainedNetwork: 2 made, 0 failed' in dj_command('populate', '--reserve-jobs')
        assert 'TrainedNetwork' in dj_command('progress')
        # nothing left to do
        assert 'TrainedNetwork: 0 made, 0 failed' in dj_command('populate', '--reserve-jobs')
    finally:
        drop = (
            f"import datajoint as dj\nfrom rnn_pipeline import datajoint as rdj\nrdj.activate({schema!r})\n"
            "dj.config['safemode'] = False\nrdj.schema.drop(prompt=False)"
        )
        subprocess.run([sys.executable, '-c', drop], capture_output=True, env=env, timeout=120)
