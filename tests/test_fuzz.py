"""Property-based fuzzing of the public constructors and main methods: every input either works or raises a ValueError or
TypeError that names the parameter; no other exception, no hang, and no non-finite output from finite accepted input.

A fixed seed and a bounded number of examples per target in CI; more with RNN_PIPELINE_FUZZ_EXAMPLES=N."""

import os
import re
import resource
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings, strategies as st

from rnn_pipeline.config import load_config
from rnn_pipeline.dynamics import DynamicSystemAnalyzer
from rnn_pipeline.performance import analyzer_for, mse
from rnn_pipeline.rnn import RNN_numpy, RNN_pytorch
from rnn_pipeline.saver import DataSaver, read_data
from rnn_pipeline.sweep import load_sweep, sweep_jobs
from rnn_pipeline.tasks import TASKS
from rnn_pipeline.trainer import Trainer

EXAMPLES = int(os.environ.get('RNN_PIPELINE_FUZZ_EXAMPLES', 60))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
CALLS = dict(tried=0, handled=0)
NAMED = re.compile(
    r"[\w\[\]'.\- ]+=.* is invalid|is invalid: |is unknown|cannot be|does not exist|already exists"
)

INTS = st.one_of(
    st.integers(-3, 40), st.integers(-1000, 1000), st.sampled_from([10**9, 2**63 - 1, -(2**63)])
)
FLOATS = st.one_of(st.floats(-5, 5), st.floats(allow_nan=True, allow_infinity=True))
ANY = st.one_of(
    st.none(),
    st.booleans(),
    INTS,
    FLOATS,
    st.text(max_size=4),
    st.lists(st.integers(-5, 300), max_size=3),
    st.dictionaries(st.text(max_size=3), INTS, max_size=2),
)


def maybe(valid):
    return st.one_of(valid, ANY)


class Hang(Exception):
    "A call that did not return within its time box."


def _alarm(signum, frame):
    raise Hang()


def call(f, *args, **kwargs):
    "Call `f`, time-boxed; a ValueError or TypeError must name what is wrong; returns the result, or None if refused."
    CALLS['tried'] += 1
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        result = f(*args, **kwargs)
    except (ValueError, TypeError) as e:
        assert NAMED.search(str(e)), (
            f"{type(e).__name__} that names no parameter: {e!r} from {f.__name__}{args}{kwargs}"
        )
        CALLS['handled'] += 1
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return result


def finite(a):
    return np.isfinite(np.asarray(a, dtype=float)).all()


@pytest.fixture(scope='module', autouse=True)
def report(say):
    "While these tests run, a runaway allocation fails (a MemoryError) instead of exhausting the machine; then the counts."
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (12 * 2**30, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    say(
        f"fuzz: {CALLS['tried']} calls tried, {CALLS['handled']} refused with a named parameter, 0 other exceptions "
        f"({EXAMPLES} examples per target)"
    )


@seed(17)
@FUZZ
@given(
    name=st.sampled_from(list(TASKS)),
    n_steps=maybe(st.integers(20, 200)),
    task_params=maybe(
        st.dictionaries(
            st.sampled_from(
                [
                    'mu',
                    'n_flip_steps',
                    'stim_on_range',
                    'stim_duration',
                    'recall_on',
                    'recall_off',
                    'cue_on',
                    'stim_on',
                    'dec_on',
                    'dec_off',
                    'coherences',
                    'stim_on_sample',
                    'stim_off_match',
                ]
            ),
            ANY,
            max_size=2,
        )
    ),
    batch_size=maybe(st.integers(1, 16)),
    seed_=maybe(st.integers(0, 10)),
)
def test_tasks(name, n_steps, task_params, batch_size, seed_):
    task = call(TASKS[name], n_steps=n_steps, task_params=task_params, seed=seed_)
    if task is None:
        return
    batch = call(task.get_batch, batch_size)
    if batch is not None:
        inputs, targets, conditions = batch
        assert finite(inputs) and finite(targets) and inputs.shape[-1] == len(conditions)


@seed(17)
@FUZZ
@given(
    N=maybe(st.integers(1, 12)),
    activation=maybe(st.sampled_from(['relu', 'tanh', 'sigmoid', 'softplus'])),
    dt=maybe(st.floats(0.1, 2)),
    tau=maybe(st.floats(1, 20)),
    spectral_rad=maybe(st.floats(0.1, 2)),
    sigma_rec=maybe(st.floats(0, 0.1)),
    sigma_inp=maybe(st.floats(0, 0.1)),
    input_size=maybe(st.integers(1, 4)),
    output_size=maybe(st.integers(1, 3)),
    density=maybe(st.floats(0.1, 1)),
    exc_fraction=maybe(st.floats(0, 1)),
    constrained=st.booleans(),
)
def test_networks(
    N,
    activation,
    dt,
    tau,
    spectral_rad,
    sigma_rec,
    sigma_inp,
    input_size,
    output_size,
    density,
    exc_fraction,
    constrained,
):
    rnn = call(
        RNN_pytorch,
        N,
        activation,
        dt=dt,
        tau=tau,
        constrained=constrained,
        connectivity_density_rec=density,
        spectral_rad=spectral_rad,
        sigma_rec=sigma_rec,
        sigma_inp=sigma_inp,
        input_size=input_size,
        output_size=output_size,
        exc_fraction=exc_fraction,
        device='cpu',
        seed=0,
    )
    if rnn is None:
        return
    u = np.random.default_rng(0).uniform(-1, 1, (input_size, 15, 3))
    states, outputs = rnn(u)
    assert finite(states.detach()) and finite(outputs.detach())
    net = call(RNN_numpy.from_params, rnn.get_params())
    assert finite(net.run(u)[1]) and finite(net.rhs(np.zeros(N), np.zeros(input_size)))


@seed(17)
@FUZZ
@given(
    settings_=st.fixed_dictionaries(
        {},
        optional=dict(
            max_iter=ANY,
            tol=ANY,
            lr=ANY,
            weight_decay=ANY,
            lambda_orth=ANY,
            lambda_r=ANY,
            clip_grad_norm=ANY,
            batch_size=ANY,
            score_target=ANY,
            eval_every=ANY,
            checkpoint_every=ANY,
        ),
    )
)
def test_trainer_settings(settings_):
    task = TASKS['NBitFlipFlop'](n_steps=20, n_inputs=1, n_outputs=1, seed=0)
    rnn = RNN_pytorch(
        4, 'tanh', constrained=False, input_size=1, output_size=1, seed=0, device='cpu'
    )
    trainer = call(Trainer, rnn, task, progress=False, **settings_)
    if trainer is not None and trainer.max_iter <= 3 and (trainer.batch_size or 256) <= 64:
        call(trainer.run_training)


@seed(17)
@FUZZ
@given(
    config=st.dictionaries(
        st.sampled_from(
            [
                'task',
                'N',
                'lr',
                'activation',
                'seed',
                'dt',
                'tau',
                'mask',
                'task_params',
                'score_target',
                'sr',
                'num_inputs',
                'batch_size',
                'nonsense',
            ]
        ),
        ANY,
        max_size=4,
    )
)
def test_configs(config):
    call(load_config, {'task': 'DMTS', **config})


@seed(17)
@FUZZ
@given(
    sweep=maybe(
        st.fixed_dictionaries(
            dict(base=maybe(st.just('DMTS'))),
            optional=dict(grid=ANY, points=ANY, seeds=ANY, time_limit=ANY, extra=ANY),
        )
    )
)
def test_sweeps(sweep):
    if call(load_sweep, sweep) is not None:
        assert len(call(sweep_jobs, sweep)) >= 1


@seed(17)
@FUZZ
@given(
    filename=maybe(st.sampled_from(['a.json', 'b.npz', 'c.pkl', 'd.txt', 'sub/e.json'])), data=ANY
)
def test_saving(filename, data):
    with tempfile.TemporaryDirectory() as d:
        if call(DataSaver(d).save_data, data, filename) is not None and str(filename).endswith(
            '.json'
        ):
            call(read_data, Path(d) / filename)


@seed(17)
@FUZZ
@given(
    scale=maybe(st.floats(-3, 3)),
    length=maybe(st.integers(1, 4)),
    mask=maybe(st.lists(st.integers(-5, 130), max_size=4)),
    sigma=maybe(st.floats(0, 0.1)),
)
def test_analyzers(scale, length, mask, sigma):
    task = TASKS['DMTS'](seed=0)
    net = RNN_numpy.from_params(
        RNN_pytorch(6, 'relu', input_size=2, output_size=2, seed=0, device='cpu').get_params()
    )
    inputs, targets, _ = task.get_batch(4)
    analyzer = analyzer_for(net, task)
    score = call(
        analyzer.get_validation_score,
        mse,
        inputs,
        targets,
        mask=mask,
        sigma_rec=sigma,
        sigma_inp=sigma,
        rng_numpy=0,
    )
    if score is not None:
        assert np.isfinite(score)
    numeric = (
        isinstance(scale, float)
        and isinstance(length, int)
        and not isinstance(length, bool)
        and 0 < length < 10
    )
    call(
        DynamicSystemAnalyzer(net).get_fixed_points,
        np.full(length, scale) if numeric else scale,
        seed=0,
    )


@seed(17)
@FUZZ
@given(
    network=st.sampled_from(['numpy', 'torch', 'junk']),
    task=st.sampled_from(['task', 'none', 'junk']),
    input_vector=maybe(st.lists(st.floats(-1, 1), min_size=2, max_size=2)),
    sigma=maybe(st.floats(0, 0.1)),
)
def test_explorers(network, task, input_vector, sigma):
    from rnn_pipeline.widgets import FixedPointExplorer, TrialExplorer

    torch_net = RNN_pytorch(5, 'relu', input_size=2, output_size=2, seed=0, device='cpu')
    net = dict(numpy=RNN_numpy.from_params(torch_net.get_params()), torch=torch_net, junk='net')[
        network
    ]
    the_task = dict(task=TASKS['DMTS'](seed=0), none=None, junk=3)[task]
    call(FixedPointExplorer, net, the_task, input_vector=input_vector, n_trajectories=2)
    call(TrialExplorer, net, the_task, sigma_rec=sigma, sigma_inp=sigma)
