"Fixed-point search: completeness against exact answers and the reference search, on many networks."

import warnings

import numpy as np
import pytest

from rnn_pipeline.dynamics import (
    cluster_fixed_points,
    cluster_network,
    random_relu_network,
    DynamicSystemAnalyzer,
    enumerate_relu_fixed_points,
    fixed_point_indices,
    scipy_fixed_points,
)
from rnn_pipeline.examples import load_example
from rnn_pipeline.rnn import RNN_numpy


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
    "Fresh seeds (the notebook uses 0-999): every fixed point of networks with >= 3, no other."
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
    "Points found by the batched search, by the reference, and the reference's points missed."
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
    "Random tanh networks with 1 to 11 fixed points: batched finds all the reference does."
    n_batched, n_reference, n_missed = compare_with_reference(gain=2.5)
    assert n_missed == 0 and n_batched >= n_reference > 40


def test_chaotic_tanh_networks_mostly_find_what_the_reference_finds():
    """Deep in the chaotic regime (3 to 29 fixed points, mostly unstable) neither search is
    complete: the batched one finds more in all and misses at most 2% of the reference's points."""
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
    """Warm starts along a sweep of the input find every point a full search finds (near a fold,
    where two points are about to collide, they can keep points that a full search misses)."""
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
    "Approx mode returns only points whose original speed |-x + f(z)|^2 is at most fun_tol."
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
    "An original script's keywords and unpacking work; an unused keyword is an error."
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
    "Folds of uncoupled tanh clusters, at the input where theory puts them, from either end."
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
    # 27 fixed points at u0: 9 pairs that meet at a fold (one branch each, out and back)
    # and 9 that go on to u1
    assert len(path.branches) == 18 and len(path.fold_lams) == 9
    assert np.abs(path.fold_lams - h).max() < 1e-6


def clustered_tanh(N, n_clusters):
    "A clustered network of benchmarks/fixed_points.py and its true fixed points."
    net = cluster_network(N, n_clusters, eps=0.2, seed=1)
    truth = cluster_fixed_points(net, n_clusters)
    assert len(truth) == 3**n_clusters
    return net, truth


def test_clustered_network_every_fixed_point_by_default():
    "Issue 16: N = 256, 4 clusters, 81 fixed points: the defaults find all and nothing else."
    net, truth = clustered_tanh(256, 4)
    u = np.zeros(3)
    for seed in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter('error', UserWarning)  # no cap, max_rounds or index warning
            fps = DynamicSystemAnalyzer(net).get_fixed_points(u, seed=seed)
        check_result(fps, net, u)
        assert len(fps) == 81 and not len(unmatched(fps.points, truth, 1e-6))
        assert sorted(np.bincount(fps.n_unstable_modes)) == sorted([16, 32, 24, 8, 1])
        assert fixed_point_indices(net, fps.points, u).sum() == 1


def test_index_check_warns_when_the_search_is_cut_short():
    "A search stopped after one round has points whose indices do not sum to 1, and says so."
    net, truth = clustered_tanh(100, 3)
    with pytest.warns(UserWarning, match='sum to'):
        fps = DynamicSystemAnalyzer(net).get_fixed_points(np.zeros(3), seed=0, max_rounds=1)
    assert len(fps) < len(truth)


def test_slow_points_merge_near_duplicates():
    "Issue 19: approx mode on the flip-flop gives one slow point per exact point, not 100 copies."
    net = load_example('flipflop3').rnn_numpy
    u = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        slow = DynamicSystemAnalyzer(net).get_fixed_points(u, 'approx', seed=0)
    exact = DynamicSystemAnalyzer(net).get_fixed_points(u, seed=0)
    assert len(slow) == len(exact) == 27
    assert not len(unmatched(slow.points, exact.points, 1e-3))
    assert (
        'slow points, not fixed points' in repr(slow) and 'stable,' not in repr(slow).split(';')[0]
    )


def test_a_cap_is_announced():
    "When stop_length ends the search, a warning says so (in both modes)."
    net, _ = clustered_tanh(100, 3)
    for mode in ('exact', 'approx'):
        with pytest.warns(UserWarning, match='more than stop_length=5'):
            fps = DynamicSystemAnalyzer(net).get_fixed_points(
                np.zeros(3), mode, seed=0, stop_length=5
            )
        assert len(fps) == 5


def test_indexing_and_unused_settings():
    "fps[0] is the first point as a FixedPoints; settings a mode or method does not use are errors."
    net, _ = clustered_tanh(100, 3)
    analyzer = DynamicSystemAnalyzer(net)
    fps = analyzer.get_fixed_points(np.zeros(3), seed=0)
    first = fps[0]
    assert len(first) == 1 and np.array_equal(first.points[0], fps.points[0])
    assert [len(p) for p in fps] == [1] * len(fps)
    with pytest.raises(IndexError, match='out of range'):
        fps[len(fps)]
    for bad, name in (
        (dict(merge_tol=1e-2), 'merge_tol'),
        (dict(mode='approx', tol=1e-9), 'tol'),
        (dict(method='scipy', max_iter=3), 'max_iter'),
        (dict(method='scipy', warm_start=True), 'warm_start'),
    ):
        with pytest.raises(ValueError, match=name):
            analyzer.get_fixed_points(np.zeros(3), seed=0, **bad)


def test_warm_start_rejects_the_settings_it_ignores():
    "A warm start runs no rounds of new starts: patience and n_starts are errors, named."
    net = load_example('flipflop3').rnn_numpy
    analyzer = DynamicSystemAnalyzer(net)
    analyzer.get_fixed_points(np.zeros(3), seed=0)
    for bad in (dict(patience=5), dict(n_starts=8), dict(patience=0, n_starts=8)):
        with pytest.raises(ValueError, match=r"keyword=\[.*" + sorted(bad)[0]):
            analyzer.get_fixed_points(np.array([0.01, 0, 0]), warm_start=True, **bad)
