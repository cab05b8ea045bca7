"""Fixed-point search: completeness and cost of `get_fixed_points` with its defaults.

Table 1 (issue 16): clustered tanh networks of N = 100, 256 and 512 (3, 4 and 5 bistable clusters:
27, 81 and 243 fixed points). The true points are the Newton roots from the 3^k combinations of the
clusters' states; `recall` is the share of them found, `extra` the points found that are not among
them. The time of the search is compared with the classification floor: the eigenvalues of the
Jacobians of the points found, computed as the package classifies (`sorted_eigenvalues`: LAPACK's geev
as torch links it), what any finder that classifies must spend.
Goal: recall 1 everywhere, ratio at most 5 at N = 256.

Table 2: the shipped trained networks. Their true points are not known in closed form; the
reference is the union of the points of the default search from three seeds, of the original
one-fsolve-per-start search and of a search with 8 times the starts and patience.

Table 3: the exact ReLU oracle: random ReLU networks of 3 to 10 units with at least 3 fixed
points, whose fixed points `enumerate_relu_fixed_points` lists exactly.

Table 4 (without --skip-original): the original search (one `scipy.optimize.fsolve` per Gaussian
start until 100 starts in a row find nothing new, `method='scipy'`) against the default search;
Table 5: a warm start after a small change of the input, as a slider does.
Run (single thread): OMP_NUM_THREADS=1 python benchmarks/fixed_points.py [--repeats 3]
    [--large-repeats 1] [--sizes 100 256 512] [--relu 300] [--skip-original]
"""

import argparse, json, os, platform, time, warnings
from datetime import date
from pathlib import Path

import numpy as np

from rnn_pipeline.dynamics import (
    cluster_fixed_points,
    cluster_network,
    random_relu_network,
    DynamicSystemAnalyzer,
    enumerate_relu_fixed_points,
    input_key,
    merge_points,
    sorted_eigenvalues,
)
from rnn_pipeline.examples import load_example
from rnn_pipeline.rnn import RNN_numpy


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


SIZES = {100: 3, 256: 4, 512: 5}  # N -> clusters (27, 81, 243 fixed points)


def timed(f):
    "Result and wall time in seconds of f()."
    t0 = time.perf_counter()
    result = f()
    return result, time.perf_counter() - t0


def matched(found, truth, eps=1e-6):
    "How many of `truth` have a point of `found` within eps, and how many of `found` have none."
    if len(found) == 0 or len(truth) == 0:
        return 0, len(found)
    d = np.linalg.norm(truth[:, None] - found[None], axis=-1)
    return int((d.min(1) < eps).sum()), int((d.min(0) >= eps).sum())


def search_and_floor(rnn, u, seed, **settings):
    "The default search's result, its time, and the time of the eigenvalues of the points found."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        fps, t = timed(
            lambda: DynamicSystemAnalyzer(rnn).get_fixed_points(u, seed=seed, **settings)
        )
    floor = timed(lambda: sorted_eigenvalues(rnn.rhs_jac(fps.points, u)))[1]
    return fps, t, floor


def cluster_rows(sizes, repeats, large_repeats):
    "Table 1: recall, extra points and the ratio to the floor, per size and seed."
    rows = []
    for N in sizes:
        rnn, u = cluster_network(N, SIZES[N], eps=0.2, seed=1), np.zeros(3)
        truth = cluster_fixed_points(rnn, SIZES[N])
        for seed in range(repeats if N < 512 else large_repeats):
            fps, t, floor = search_and_floor(rnn, u, seed)
            hit, extra = matched(fps.points, truth)
            rows.append(
                [
                    N,
                    SIZES[N],
                    seed,
                    len(fps),
                    len(truth),
                    hit / len(truth),
                    extra,
                    t,
                    floor,
                    t / floor,
                ]
            )
            print_row(TABLES[0], rows[-1])
    return rows


EXAMPLES = {
    'flipflop3': np.zeros(3),
    'memory_number': np.zeros(2),
    'memory_angle': np.zeros(3),
    'cddm': np.r_[1.0, 0, 0.5, 0.5, 0.5, 0.5],
    'dmts': np.zeros(2),
}


def example_rows(repeats):
    "Table 2: the shipped networks against the union of several searches."
    rows = []
    for name, u in EXAMPLES.items():
        rnn = load_example(name).rnn_numpy
        runs = [search_and_floor(rnn, u, seed) for seed in range(repeats)]
        heavy = search_and_floor(rnn, u, 0, n_starts=512, patience=800)[0]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            reference = DynamicSystemAnalyzer(rnn).get_fixed_points(u, method='scipy', seed=0)
        union = np.concatenate([f.points for f, _, _ in runs] + [heavy.points, reference.points])
        union = union[merge_points(union, 1e-6)]
        recalls = [matched(f.points, union)[0] / len(union) for f, _, _ in runs]
        t, floor = np.median([r[1] for r in runs]), np.median([r[2] for r in runs])
        rows.append(
            [
                name,
                rnn.N,
                rnn.activation.name,
                f"{min(len(r[0]) for r in runs)}-{max(len(r[0]) for r in runs)}",
                len(union),
                min(recalls),
                t,
                floor,
                t / floor,
            ]
        )
        print_row(TABLES[1], rows[-1])
    return rows


def relu_rows(n_networks):
    "Table 3: the exact ReLU oracle on random networks with at least 3 fixed points."
    u, tested, total, hits, extras, complete, times = np.array([0.5, -0.5]), 0, 0, 0, 0, 0, 0.0
    seed = 10_000
    while tested < n_networks:
        net = random_relu_network(int(np.random.default_rng(seed).integers(3, 11)), seed)
        expected = enumerate_relu_fixed_points(net, u)
        if len(expected) >= 3:
            fps, t, _ = search_and_floor(net, u, seed)
            hit, extra = matched(fps.points, expected, 1e-8)
            tested, total, hits, extras = (
                tested + 1,
                total + len(expected),
                hits + hit,
                extras + extra,
            )
            complete += hit == len(expected) and extra == 0
            times += t
        seed += 1
    row = [tested, total, hits / total, extras, complete, 1e3 * times / tested]
    print_row(TABLES[2], row)
    return [row]


def compare(rnn, repeats):
    "Median times, point counts and the union of all points: the original and the default search."
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
        [timed(lambda: sorted_eigenvalues(rnn.rhs_jac(f.points, u)))[1] for f, _ in runs['batched']]
    )
    summary = {
        m: (np.median([t for _, t in r]), min(len(f) for f, _ in r), max(len(f) for f, _ in r))
        for m, r in runs.items()
    }
    return summary, len(merge_points(union, 1e-6)), classify_s


NETWORKS = {
    'flipflop3 (trained)': lambda: load_example('flipflop3').rnn_numpy,
    '3 bistable clusters': lambda: cluster_network(100, eps=0.3, seed=1),
    '4 bistable clusters': lambda: cluster_network(100, 4, eps=0.2, seed=1),
    'random, gain 2': random_network,
}


def original_rows(repeats):
    "Table 4: the original search against the default one."
    rows = []
    for name, make in NETWORKS.items():
        summary, union, classify_s = compare(make(), repeats)
        (ta, a_lo, a_hi), (tb, b_lo, b_hi) = summary['scipy'], summary['batched']
        rows.append([name, ta, f"{a_lo}-{a_hi}", tb, f"{b_lo}-{b_hi}", classify_s, ta / tb, union])
        print_row(TABLES[3], rows[-1])
    return rows


def warm_start_ms(rnn, du=0.01, repeats=5):
    "Median ms of a warm-started search after moving the first input by du, and the points."
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


def warm_rows():
    "Table 5: warm starts."
    rows = []
    for name in ('flipflop3 (trained)', '3 bistable clusters'):
        ms, n = warm_start_ms(NETWORKS[name]())
        rows.append([name, ms, n])
        print_row(TABLES[4], rows[-1])
    return rows


# caption, columns, formats
TABLES = [
    (
        'Clustered tanh networks: recall and time against the classification floor (eigenvalues)',
        [
            'N',
            'clusters',
            'seed',
            'found',
            'exist',
            'recall',
            'extra',
            'search s',
            'floor s',
            'ratio',
        ],
        [
            '{:>5}',
            '{:>9}',
            '{:>5}',
            '{:>6}',
            '{:>6}',
            '{:>7.3f}',
            '{:>6}',
            '{:>9.2f}',
            '{:>8.2f}',
            '{:>6.2f}',
        ],
    ),
    (
        'Shipped trained networks: recall against the union of several searches',
        ['network', 'N', 'f', 'found', 'union', 'min recall', 'search s', 'floor s', 'ratio'],
        [
            '{:<14}',
            '{:>4}',
            '{:>5}',
            '{:>6}',
            '{:>6}',
            '{:>11.3f}',
            '{:>9.3f}',
            '{:>9.4f}',
            '{:>8.1f}',
        ],
    ),
    (
        'Exact ReLU oracle: random ReLU networks of 3 to 10 units with >= 3 fixed points',
        ['networks', 'fixed points', 'recall', 'extra', 'complete', 'ms per search'],
        ['{:>9}', '{:>13}', '{:>8.4f}', '{:>6}', '{:>9}', '{:>14.1f}'],
    ),
    (
        'The original search (one fsolve per start) against the default search',
        [
            'network',
            'original s',
            'points',
            'batched s',
            'points',
            'classify s',
            'speed-up',
            'union',
        ],
        ['{:<22}', '{:>11.2f}', '{:>8}', '{:>11.3f}', '{:>8}', '{:>11.3f}', '{:>9.1f}x', '{:>7}'],
    ),
    (
        'Warm start after moving input 0 by 0.01',
        ['network', 'warm start ms', 'points'],
        ['{:<22}', '{:>14.0f}', '{:>8}'],
    ),
]


def _widths(table):
    "Column widths: names are left-aligned in 16 characters, numbers right-aligned."
    return [16 if c == 'network' else max(len(c) + 2, 8) for c in table[1]]


def print_header(table):
    print(f"\n{table[0]}")
    print(
        ''.join(
            c.ljust(w) if c == 'network' else c.rjust(w) for c, w in zip(table[1], _widths(table))
        )
    )


def print_row(table, row):
    cells = [f.format(v).strip() for f, v in zip(table[2], row)]
    print(
        ''.join(
            c.ljust(w) if col == 'network' else c.rjust(w)
            for c, w, col in zip(cells, _widths(table), table[1])
        ),
        flush=True,
    )


def machine() -> str:
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        threads = None
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, torch threads {threads}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )


def save(tables, notes):
    "benchmarks/results/fixed_points.json, through benchmarks/_results.py where it exists."
    title = 'Fixed points: completeness and cost of get_fixed_points with its defaults'
    try:
        from _results import write_results

        return write_results('fixed_points', title, tables, notes)
    except ImportError:
        out = Path(__file__).parent / 'results' / 'fixed_points.json'
        out.parent.mkdir(exist_ok=True)
        doc = dict(
            benchmark='fixed_points',
            title=title,
            machine=machine(),
            date=date.today().isoformat(),
            tables=tables,
            notes=notes,
        )
        out.write_text(json.dumps(doc, indent=1) + '\n')
        return out


def as_json(v):
    return v.item() if isinstance(v, np.generic) else v


if __name__ == '__main__':
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--repeats', type=int, default=3, help='seeds per network (N < 512)')
    parser.add_argument('--large-repeats', type=int, default=1, help='seeds at N = 512')
    parser.add_argument('--sizes', type=int, nargs='*', default=list(SIZES))
    parser.add_argument('--relu', type=int, default=300, help='ReLU networks of the oracle')
    parser.add_argument('--skip-original', action='store_true', help='no tables 4 and 5')
    args = parser.parse_args()
    parts = [
        (lambda: cluster_rows(args.sizes, args.repeats, args.large_repeats)),
        (lambda: example_rows(args.repeats)),
        (lambda: relu_rows(args.relu)),
    ]
    if not args.skip_original:
        parts += [(lambda: original_rows(args.repeats)), warm_rows]
    tables = []
    for table, part in zip(TABLES, parts):
        print_header(table)
        rows = part()
        tables.append(
            dict(caption=table[0], columns=table[1], rows=[[as_json(v) for v in r] for r in rows])
        )
    notes = [
        'ratio: wall time of get_fixed_points (search and classification) over the time of '
        'the eigenvalues of the Jacobians of the points it found, as the package classifies them '
        '(sorted_eigenvalues: the classification floor)',
        'single thread (OMP_NUM_THREADS=1); times vary with the load of the machine',
        'recall of the trained networks is against the union of the default search from '
        f'{args.repeats} seeds, a search with 8x the starts and patience, and method=scipy',
        'on networks of 50 units with a few fixed points the floor is a millisecond or less, so '
        'the ratio there measures the fixed cost of a search (trajectories, a confirmation round)',
        'ReLU networks are unbounded: the index test (indices sum to 1) does not apply to them, '
        'and a point whose activation pattern differs from all found ones in many units can be '
        'missed',
    ]
    print(f"\nwrote {save(tables, notes)}")
