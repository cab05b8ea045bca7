"""Four identical short trainings run one after another, then as a sweep on two Dask workers: wall times and ratio.

Each training is the 3-bit flip-flop's recorded example settings cut to a fixed number of iterations, with its
analysis, on one torch thread. On a 2-core machine the sweep should take about half the time (ratio close to 2),
less the cluster's start-up.
Run: python benchmarks/sweep.py [--max-iter 100]
"""
import argparse, tempfile, time
from pathlib import Path

from rnn_pipeline.cli import train
from rnn_pipeline.saver import default_config
from rnn_pipeline.sweep import run_sweep

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iter', type=int, default=100)
    args = parser.parse_args()
    config = {**default_config('NBitFlipFlop'), 'max_iter': args.max_iter, 'score_target': None}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for seed in range(4): train({**config, 'seed': seed}, out=Path(out) / 'sequential', progress=False, threads=1)
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        table = run_sweep(dict(base=config, seeds=4), Path(out) / 'sweep', n_workers=2, progress=False)
        swept = time.perf_counter() - start
    assert list(table.status) == ['done'] * 4, table
    print(f"4 trainings of {args.max_iter} iterations: one after another {sequential:.1f} s, "
          f"as a sweep on 2 workers {swept:.1f} s (cluster start-up included): ratio {sequential / swept:.2f}")
