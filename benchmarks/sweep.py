"""Four identical short trainings run one after another, then as a sweep on two Dask workers: wall times and ratio.

Each training is the 3-bit flip-flop's recorded example settings cut to a fixed number of iterations, with its
analysis, on one thread (torch and NumPy's BLAS). On a 2-core machine the sweep should take about half the time
(ratio close to 2), less the cluster's start-up, which is timed apart. The trainings one after another run with the C
allocator's default settings; the workers with Dask's and `rnn_pipeline.sweep.WORKER_ENVIRON` (which gives training
its speed back under Dask's), without Dask's profiler (`WORKER_CONFIG`).
Run: python benchmarks/sweep.py [--max-iter 300]
"""

import argparse, tempfile, time
from pathlib import Path

from rnn_pipeline.config import default_config
from rnn_pipeline.core import compute_threads
from rnn_pipeline.runs import analyze, train
from rnn_pipeline.sweep import start_local_client, run_sweep
from _results import write_results

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iter', type=int, default=300)
    args = parser.parse_args()
    config = {**default_config('NBitFlipFlop'), 'max_iter': args.max_iter, 'score_target': None}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with compute_threads(1):
            for seed in range(4):
                analyze(
                    train({**config, 'seed': seed}, out=Path(out) / 'sequential', progress=False)
                )
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        client = start_local_client(2)
        started = time.perf_counter()
        try:
            table = run_sweep(
                dict(base=config, seeds=4), Path(out) / 'sweep', client=client, progress=False
            )
            jobs = time.perf_counter() - started
        finally:
            client.close()
            client.cluster.close()
        swept = time.perf_counter() - start
    assert list(table.status) == ['done'] * 4, table
    print(
        f"4 trainings of {args.max_iter} iterations: one after another {sequential:.1f} s; as a sweep on 2 workers "
        f"{swept:.1f} s, of which {swept - jobs:.1f} s starting and stopping the cluster"
    )
    print(
        f"ratio {sequential / swept:.2f} (start-up included), {sequential / jobs:.2f} (the jobs alone)"
    )
    print(
        f"time per job: {sequential / 4:.1f} s one after another, {table.time_s.mean():.1f} s in the sweep "
        f"({', '.join(f'{t:.1f}' for t in table.time_s)})"
    )
    write_results(
        'sweep',
        'Four trainings one after another, then as a sweep on two Dask workers',
        [
            (
                f'4 trainings of {args.max_iter} iterations (flip-flop example settings), seconds',
                [
                    'run',
                    'total s',
                    'cluster start and stop s',
                    'jobs s',
                    'mean s per job',
                    'speed-up',
                ],
                [
                    [
                        'one after another',
                        round(sequential, 1),
                        0.0,
                        round(sequential, 1),
                        round(sequential / 4, 1),
                        1.0,
                    ],
                    [
                        'sweep, 2 workers',
                        round(swept, 1),
                        round(swept - jobs, 1),
                        round(jobs, 1),
                        round(float(table.time_s.mean()), 1),
                        round(sequential / swept, 2),
                    ],
                ],
            )
        ],
        notes=['speed-up: time one after another / time of the sweep, start-up included'],
    )
