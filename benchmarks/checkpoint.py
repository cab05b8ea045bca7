"""Overhead of the training's checkpoints at the default interval, in per cent of the training time.

Trains each example network's config for a few hundred iterations on one thread with checkpoints (every `checkpoint_every`
iterations, the default 100) and without, and times the checkpoint writes themselves; prints the overhead both ways:
  - from the writes: median write time / (checkpoint_every x median iteration time);
  - from whole trainings, A B A B: with / without - 1 (noisier: the machine's drift is of the same order).
Run: python benchmarks/checkpoint.py [--max-iter 300] [--rounds 3]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_results

from rnn_pipeline.config import default_config
from rnn_pipeline.runs import prepare_run, trainer_settings
from rnn_pipeline.trainer import Trainer


def trainer_of(example_task: str, max_iter: int, checkpoint):
    "A seeded trainer of the example config of `example_task`, stopping only at `max_iter`."
    config, task, rnn = prepare_run(
        {**default_config(example_task), 'max_iter': max_iter, 'score_target': None, 'tol': 0.0},
        device='cpu',
    )
    return Trainer(rnn, task, progress=False, checkpoint=checkpoint, **trainer_settings(config))


def timed_training(example_task, max_iter, checkpoint) -> float:
    "Seconds of one training."
    trainer = trainer_of(example_task, max_iter, checkpoint)
    start = time.perf_counter()
    trainer.run_training()
    return time.perf_counter() - start


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iter', type=int, default=300)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"{'task':<18}{'iteration':>11}{'write':>9}{'every':>7}{'overhead (writes)':>19}{'overhead (A/B)':>16}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for task in ('NBitFlipFlop', 'CDDM', 'MemoryAntiNumber'):
            trainer = trainer_of(task, args.max_iter, Path(d) / f'{task}.pt')
            trainer.run_training()
            iteration = trainer.train_time / trainer.iteration
            writes = []
            for _ in range(20):
                start = time.perf_counter()
                trainer.save_checkpoint()
                writes.append(time.perf_counter() - start)
            write = float(np.median(writes))
            pairs = [
                (
                    timed_training(task, args.max_iter, Path(d) / 'ab.pt'),
                    timed_training(task, args.max_iter, None),
                )
                for _ in range(args.rounds)
            ]
            ab = np.median([a / b - 1 for a, b in pairs])
            every = trainer.checkpoint_every
            print(
                f"{task:<18}{1e3 * iteration:>9.1f}ms{1e3 * write:>7.1f}ms{every:>7}{100 * write / (every * iteration):>18.2f}%"
                f"{100 * ab:>15.1f}%"
            )
            rows.append(
                [
                    task,
                    round(1e3 * iteration, 2),
                    round(1e3 * write, 2),
                    every,
                    round(100 * write / (every * iteration), 3),
                    round(100 * ab, 2),
                ]
            )
    write_results(
        'checkpoint',
        'Checkpoint overhead at the default interval',
        [
            (
                f'{args.max_iter} iterations, one thread, A/B median of {args.rounds} rounds',
                [
                    'task',
                    'iteration ms',
                    'write ms',
                    'every',
                    'overhead (writes) %',
                    'overhead (A/B) %',
                ],
                rows,
            )
        ],
        notes=[
            'overhead (writes): median write time / (every x median iteration time)',
            'overhead (A/B): whole trainings with / without checkpoints - 1 (noisier)',
        ],
    )
