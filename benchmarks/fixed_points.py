"""Fixed-point search on networks of N = 100 with many fixed points: the original search against `get_fixed_points`.

(a) `original`: the original pipeline's search, one `scipy.optimize.fsolve` per Gaussian start (sigma 10) with the
    analytic Jacobian, until 100 starts in a row find nothing new (`method='scipy'`).
(b) `batched`: `DynamicSystemAnalyzer.get_fixed_points` with its defaults.
Both keep a point when |RHS| < 1e-10 and merge points closer than 1e-7, and both classify every point from the
eigenvalues of its Jacobian (the `classify` column: that part of (b)'s time). Times are medians over `--repeats`
seeds; `points` gives the range of distinct fixed points over the seeds and `union` how many distinct points all
runs of both methods found together. The last table times a warm start (`warm_start=True`) after a small change
of the input, as a slider does.

The first table (issue 16): clustered tanh networks of N = 100, 256 and 512 (3, 4 and 5 bistable clusters: 27, 81
and 243 fixed points), the recall of `get_fixed_points` with its defaults (points found / points that exist) and
its time against the classification floor, the eigenvalues of the Jacobians of the points found (what any finder
that classifies must spend). Goal: recall 1 everywhere, ratio at most 5 at N = 256.
Run: python benchmarks/fixed_points.py [--repeats 3] [--sizes 100 256 512] [--skip-original]
"""

import argparse, time

import numpy as np

from rnn_pipeline.dynamics import DynamicSystemAnalyzer, input_key, merge_points, sorted_eigenvalues
from rnn_pipeline.examples import load_example
from rnn_pipeline.rnn import RNN_numpy


def cluster_network(N=100, n_clusters=3, gain=2.0, eps=0.3, seed=1):
    "Bistable all-to-all tanh clusters with a weak random coupling: 3^n_clusters fixed points."
    rng = np.random.default_rng(seed)
    W = eps * rng.standard_normal((N, N)) / np.sqrt(N)
    for group in np.array_split(np.arange(N), n_clusters):
        W[np.ix_(group, group)] += gain / len(group)
    return RNN_numpy(
        N,
        1,
        10,
        rng.standard_normal((N, 3)),
        W,
        rng.standard_normal((3, N)) / np.sqrt(N),
        activation='tanh',
    )


def random_network(N=100, gain=2.0, seed=0):
    "A random tanh network in the chaotic regime: many unstable fixed points."
    rng = np.random.default_rng(seed)
    return RNN_numpy(
        N,
        1,
        10,
        rng.standard_normal((N, 3)),
        gain * rng.standard_normal((N, N)) / np.sqrt(N),
        rng.standard_normal((2, N)) / np.sqrt(N),
        activation='tanh',
    )


def clustered_tanh(N, n_clusters, gain=2.0, eps=0.2, seed=1):
    "Bistable tanh clusters with a weak random coupling: 3^n_clusters fixed points, 2^n_clusters of them stable."
    return cluster_network(N=N, n_clusters=n_clusters, gain=gain, eps=eps, seed=seed)


SIZES = {100: 3, 256: 4, 512: 5}  # N -> clusters (27, 81, 243 fixed points)


def recall_and_floor(N, n_clusters, seeds):
    "Recall of the 3^k fixed points and the ratio of search time to the classification floor, per seed."
    rnn, u, expected = clustered_tanh(N, n_clusters), np.zeros(3), 3**n_clusters
    rows = []
    for seed in seeds:
        fps, t = timed(lambda: DynamicSystemAnalyzer(rnn).get_fixed_points(u, seed=seed))
        floor = timed(lambda: np.linalg.eigvals(rnn.rhs_jac(fps.points, u)))[1]
        rows.append((len(fps), expected, t, floor))
    return rows


NETWORKS = {
    'flipflop3 (trained)': lambda: load_example('flipflop3').rnn_numpy,
    '3 bistable clusters': cluster_network,
    '4 bistable clusters': lambda: cluster_network(n_clusters=4, eps=0.2),
    'random, gain 2': random_network,
}


def timed(f):
    "Result and wall time in seconds of f()."
    t0 = time.perf_counter()
    result = f()
    return result, time.perf_counter() - t0


def compare(rnn, repeats):
    "Median times, point counts and the union of all points, for the original and the batched search."
    u = np.zeros(rnn.n_inputs)
    runs = {
        method: [
            timed(lambda: DynamicSystemAnalyzer(rnn).get_fixed_points(u, method=method, seed=seed))
            for seed in range(repeats)
        ]
        for method in ('scipy', 'batched')
    }
    union = np.concatenate([fps.points for results in runs.values() for fps, _ in results])
    classify_s = np.median(
        [
            timed(lambda: sorted_eigenvalues(rnn.rhs_jac(fps.points, u)))[1]
            for fps, _ in runs['batched']
        ]
    )
    summary = {
        m: (np.median([t for _, t in r]), min(len(f) for f, _ in r), max(len(f) for f, _ in r))
        for m, r in runs.items()
    }
    return summary, len(merge_points(union, 1e-6)), classify_s


def warm_start_ms(rnn, du=0.01, repeats=5):
    "Median ms of a warm-started search after moving the first input by du, and the number of points."
    u0 = np.zeros(rnn.n_inputs)
    u1 = u0.copy()
    u1[0] = du
    analyzer = DynamicSystemAnalyzer(rnn)
    analyzer.get_fixed_points(u0, seed=0)
    times = []
    for _ in range(repeats):
        analyzer.fixed_points.pop(input_key(u1), None)  # warm-start from u0's points every time
        fps, t = timed(lambda: analyzer.get_fixed_points(u1, warm_start=True))
        times.append(t)
    return 1e3 * np.median(times), len(fps)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--sizes', type=int, nargs='*', default=list(SIZES), help='N of the clustered networks'
    )
    parser.add_argument(
        '--skip-original', action='store_true', help='only the recall and floor table'
    )
    args = parser.parse_args()
    print(
        f"{'N':>5}{'clusters':>9}{'found':>7}{'of':>5}{'recall':>8}{'search s':>10}{'floor s':>9}{'ratio':>7}"
    )
    for N in args.sizes:
        for found, expected, t, floor in recall_and_floor(N, SIZES[N], range(args.repeats)):
            print(
                f"{N:>5}{SIZES[N]:>9}{found:>7}{expected:>5}{found / expected:>8.3f}{t:>10.2f}{floor:>9.2f}{t / floor:>7.1f}"
            )
    if args.skip_original:
        raise SystemExit
    print(
        f"{'network':<22}{'original s':>11}{'points':>8}{'batched s':>11}{'points':>8}{'classify s':>11}{'speed-up':>10}{'union':>7}"
    )
    for name, make in NETWORKS.items():
        summary, union, classify_s = compare(make(), args.repeats)
        (ta, a_lo, a_hi), (tb, b_lo, b_hi) = summary['scipy'], summary['batched']
        print(
            f"{name:<22}{ta:>11.2f}{f'{a_lo}-{a_hi}':>8}{tb:>11.3f}{f'{b_lo}-{b_hi}':>8}{classify_s:>11.3f}{ta / tb:>9.1f}x{union:>7}"
        )
    print(f"\n{'network':<22}{'warm start ms':>14}{'points':>8}")
    for name in ('flipflop3 (trained)', '3 bistable clusters'):
        ms, n = warm_start_ms(NETWORKS[name]())
        print(f"{name:<22}{ms:>14.0f}{n:>8}")
