"""A sweep on SLURM workers against the same sweep on a LocalCluster: the same 4 jobs on 2 workers of one core each.

Starts a one-node SLURM cluster on this machine (tests/slurm_cluster.py: root and Debian's slurmctld, slurmd,
slurm-client and munge needed) in a network namespace of its own, and prints, per cluster, the time to get the workers,
the time of the jobs and the total, median over rounds:
  bash scripts/isolated.sh .venv/bin/python benchmarks/slurm_sweep.py [--max-iter 300] [--rounds 2]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tests'))
from slurm_cluster import missing, slurm_cluster
from rnn_pipeline.config import default_config
from rnn_pipeline.sweep import run_sweep, slurm_client, start_local_client
from _results import write_results


def timed_sweep(kind: str, sweep: dict, folder: Path) -> tuple:
    "Seconds to get the workers and to run the sweep's jobs on a cluster of `kind`."
    start = time.perf_counter()
    client = (
        start_local_client(2)
        if kind == 'local'
        else slurm_client(2, interface='lo', log_directory=str(folder / 'logs'))
    )
    try:
        client.wait_for_workers(2, timeout=120)
        started = time.perf_counter()
        table = run_sweep(sweep, folder / 'sweep', client=client, progress=False)
        assert list(table.status) == ['done'] * 4, table
        return started - start, time.perf_counter() - started
    finally:
        client.close()
        client.cluster.close()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iter', type=int, default=300)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    if missing():
        sys.exit(f"cannot start SLURM here: {missing()}")
    sweep = dict(
        base={**default_config('NBitFlipFlop'), 'max_iter': args.max_iter, 'score_target': None},
        seeds=4,
    )
    times = {'local': [], 'slurm': []}
    with slurm_cluster() as env, tempfile.TemporaryDirectory() as d:
        os.environ['SLURM_CONF'] = env['SLURM_CONF']
        for r in range(args.rounds):
            for kind in times:
                times[kind].append(timed_sweep(kind, sweep, Path(d) / f'{kind}{r}'))
    print(
        f"4 jobs of {args.max_iter} iterations (flip-flop example config) on 2 workers, median of {args.rounds} rounds"
    )
    print(f"{'cluster':<10}{'workers up':>12}{'jobs':>10}{'total':>10}")
    rows = []
    for kind, rounds in times.items():
        up, jobs = np.median(rounds, axis=0)
        print(f"{kind:<10}{up:>11.1f}s{jobs:>9.1f}s{up + jobs:>9.1f}s")
        rows.append([kind, round(up, 1), round(jobs, 1), round(up + jobs, 1)])
    write_results(
        'slurm_sweep',
        'A sweep on SLURM workers against the same sweep on a LocalCluster',
        [
            (
                f'4 jobs of {args.max_iter} iterations on 2 workers, median of {args.rounds} rounds, seconds',
                ['cluster', 'workers up s', 'jobs s', 'total s'],
                rows,
            )
        ],
    )
