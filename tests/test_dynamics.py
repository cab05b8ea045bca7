"Fixed-point search: completeness against exact answers and against the reference search, on many networks."

import warnings

import numpy as np
import pytest

from rnn_pipeline.dynamics import (
    DynamicSystemAnalyzer,
    enumerate_relu_fixed_points,
    scipy_fixed_points,
)
from rnn_pipeline.examples import load_example
from rnn_pipeline.rnn import RNN_numpy


def random_relu_network(N, seed):
    "A small random ReLU network that often has several fixed points (as in nbs/05_dynamics.ipynb)."
    rng = np.random.default_rng(seed)
    W = 1.5 * rng.standard_normal((N, N)) / np.sqrt(N) + rng.uniform(0, 2) * np.eye(N)
    return RNN_numpy(
        N,
        1,
        10,
        rng.standard_normal((N, 2)),
        W,
        rng.standard_normal((1, N)),
        rng.standard_normal(N),
        activation='relu',
    )


def random_tanh_network(N, seed, gain):
    "A random tanh network with a random bias: several fixed points, no symmetry."
    rng = np.random.default_rng(seed)
    return RNN_numpy(
        N,
        1,
        10,
        rng.standard_normal((N, 2)),
        gain * rng.standard_normal((N, N)) / np.sqrt(N),
        rng.standard_normal((1, N)),
        0.3 * rng.standard_normal(N),
        activation='tanh',
    )


def unmatched(points, reference, eps):
    "Indices of the rows of `reference` with no row of `points` within `eps`."
    if len(reference) == 0:
        return np.zeros(0, dtype=int)
    if len(points) == 0:
        return np.arange(len(reference))
    return np.flatnonzero(np.linalg.norm(reference[:, None] - points[None], axis=-1).min(1) >= eps)


def check_result(fps, rnn, u, tol=1e-10, diff_cutoff=1e-7):
    "Every point is a root, the points are distinct and the types agree with the eigenvalues."
    assert (np.linalg.norm(rnn.rhs(fps.points, u), axis=1) < tol).all()
    if len(fps) > 1:
        d = np.linalg.norm(fps.points[:, None] - fps.points[None], axis=-1)
        assert d[np.triu_indices(len(fps), 1)].min() >= diff_cutoff
    lead = fps.eigenvalues[:, 0].real
    assert ((lead < 0) == (fps.types == 'stable')).all()


def test_relu_networks_all_fixed_points_and_nothing_else():
    "Fresh seeds (the notebook uses 0-999): every fixed point of every network with >= 3 of them, and no other point."
    u, tested, failures = np.array([0.5, -0.5]), 0, []
    for seed in range(1000, 3000):
        net = random_relu_network(int(np.random.default_rng(seed).integers(3, 11)), seed)
        expected = enumerate_relu_fixed_points(net, u)
        if len(expected) < 3:
            continue
        tested += 1
        fps = DynamicSystemAnalyzer(net).get_fixed_points(u, seed=seed)
        check_result(fps, net, u)
        if len(fps) != len(expected) or len(unmatched(fps.points, expected, 1e-8)):
            failures.append((seed, len(fps), len(expected)))
    assert tested > 150
    assert not failures, failures


def compare_with_reference(gain, seeds=range(20)):
    "Points found by the batched search, by the reference, and the reference's points the batched search missed, in all."
    u, n_batched, n_reference, n_missed = np.array([0.2, -0.1]), 0, 0, 0
    for seed in seeds:
        net = random_tanh_network(int(np.random.default_rng(seed).integers(10, 31)), seed, gain)
        fps = DynamicSystemAnalyzer(net).get_fixed_points(u, seed=seed)
        check_result(fps, net, u)
        reference = scipy_fixed_points(net, u, rng=np.random.default_rng(seed))[0]
        n_batched += len(fps)
        n_reference += len(reference)
        n_missed += len(unmatched(fps.points, reference, 1e-6))
    return n_batched, n_reference, n_missed


def test_tanh_networks_find_what_the_reference_finds():
    "Random tanh networks with 1 to 11 fixed points: the batched search finds every point the reference finds."
    n_batched, n_reference, n_missed = compare_with_reference(gain=2.5)
    assert n_missed == 0 and n_batched >= n_reference > 40


def test_chaotic_tanh_networks_mostly_find_what_the_reference_finds():
    """Deep in the chaotic regime (3 to 29 fixed points, mostly unstable) neither search is complete: the batched one
    finds more in all and misses at most 2% of the reference's points (3 of 178 when this test was written)."""
    n_batched, n_reference, n_missed = compare_with_reference(gain=3.5)
    assert n_batched > n_reference and n_missed <= 0.02 * n_reference


@pytest.mark.parametrize(
    'name, u',
    [
        ('flipflop3', np.zeros(3)),
        ('memory_number', np.zeros(2)),
        ('memory_angle', np.zeros(3)),
        ('cddm', np.r_[1.0, 0, 0.5, 0.5, 0.5, 0.5]),
        ('dmts', np.zeros(2)),
    ],
)
def test_example_networks_against_the_reference(name, u):
    "On every shipped network the batched search finds the reference's points, from any seed."
    net = load_example(name).rnn_numpy
    found = [DynamicSystemAnalyzer(net).get_fixed_points(u, seed=seed) for seed in range(3)]
    for fps in found:
        check_result(fps, net, u)
    assert len({len(fps) for fps in found}) == 1
    reference = scipy_fixed_points(net, u, rng=np.random.default_rng(0))[0]
    assert not len(unmatched(found[0].points, reference, 1e-6))


def test_warm_start_follows_the_points():
    """Warm starts along a sweep of the input find every point a full search finds (near a fold, where two points are
    about to collide, they can keep points that a full search misses)."""
    net = load_example('flipflop3').rnn_numpy
    analyzer = DynamicSystemAnalyzer(net)
    analyzer.get_fixed_points(np.zeros(3), seed=0)
    for x in (0.005, 0.01, 0.015):
        u = np.array([x, 0, 0])
        warm = analyzer.get_fixed_points(u, warm_start=True)
        check_result(warm, net, u)
        for seed in range(3):
            full = DynamicSystemAnalyzer(net).get_fixed_points(u, seed=seed)
            assert len(warm) >= len(full) and not len(unmatched(warm.points, full.points, 1e-6))


def test_slow_points_are_slow():
    "Approx mode returns only points whose original speed |-x + f(z)|^2 = tau^2 |dx/dt|^2 is at most fun_tol."
    net = load_example('memory_angle').rnn_numpy
    for fun_tol in (2e-6, 2e-3):
        slow = DynamicSystemAnalyzer(net).get_fixed_points(
            np.zeros(3), 'approx', fun_tol=fun_tol, seed=0
        )
        assert (
            len(slow) > 0
            and (
                np.sum((net.tau * net.rhs(slow.points, np.zeros(3))) ** 2, axis=1) <= fun_tol
            ).all()
        )
        analytics = DynamicSystemAnalyzer(net).compute_point_analytics(slow.points[0], np.zeros(3))
        assert analytics.fun_val <= fun_tol


def test_no_fixed_point_warns():
    "A network without fixed points gives an empty result and a warning, in both modes."
    drifting = RNN_numpy(
        3, 1, 10, np.zeros((3, 1)), np.eye(3), np.ones((1, 3)), bias_rec=np.ones(3)
    )
    for mode in ('exact', 'approx'):
        with pytest.warns(UserWarning, match='No'):
            fps = DynamicSystemAnalyzer(drifting).get_fixed_points(
                [0.0], mode, seed=0, patience=10, max_rounds=3
            )
        assert len(fps) == 0 and fps.as_fp_data()['stable_fps'].shape == (0, 3)


def test_original_calls_keep_their_meaning():
    "An original script's keywords and unpacking work; a keyword the search does not use is an error, not dropped."
    net = load_example('flipflop3').rnn_numpy
    analyzer = DynamicSystemAnalyzer(net, patience=50)
    assert analyzer.settings.patience == 50
    analyzer.get_fixed_points(
        Input=np.zeros(3),
        patience=100,
        fun_tol=1e-12,
        stop_length=100,
        sigma_init_guess=10,
        eig_cutoff=1e-10,
        diff_cutoff=1e-7,
        mode='exact',
        seed=0,
    )
    stable = analyzer.fp_data[str(np.zeros(3).tolist())]['stable_fps']
    fun_val, J, E, l, r = analyzer.compute_point_analytics(stable[0], Input=np.zeros(3))
    assert fun_val <= 1e-12 and E[0].real < 0 and J.shape == (100, 100)
    for bad, name in (
        (dict(fun_toll=1e-3), 'fun_toll'),
        (dict(mode='approx', tol=1e-8), 'tol'),
        (dict(method='scipy', n_starts=3), 'n_starts'),
    ):
        with pytest.raises(ValueError, match=name):
            analyzer.get_fixed_points(np.zeros(3), seed=0, **bad)


def test_continuation_finds_the_folds_of_bistable_switches():
    "Folds of uncoupled tanh clusters, at the input where theory puts them, from either end of the path."
    n, g = 15, 2.5
    net = RNN_numpy(
        3 * n,
        1,
        10,
        np.kron(np.eye(3), np.ones((n, 1))),
        np.kron(np.eye(3), np.full((n, n), g / n)),
        np.kron(np.eye(3), np.ones((1, n))) / n,
        activation='tanh',
    )
    m = np.sqrt(1 - 1 / g)
    h = g * m - np.arctanh(m)
    path = DynamicSystemAnalyzer(net).continue_fixed_points(
        np.zeros(3), np.array([0, 1.0, 0]), seed=0
    )
    # 27 fixed points at u0: 9 pairs that meet at a fold (one branch each, out and back) and 9 that go on to u1
    assert len(path.branches) == 18 and len(path.fold_lams) == 9
    assert np.abs(path.fold_lams - h).max() < 1e-6
