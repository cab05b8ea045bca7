"""Milliseconds per explorer update for the shipped N = 100 flip-flop network (goal: under 200 ms).

A FixedPointExplorer update recomputes the fixed points warm-started from the previous input's points and
re-renders the figure; a TrialExplorer update runs one trial and re-renders. Each slider is moved through
small steps, as a user dragging it would.
Run: python benchmarks/widgets.py [--moves 40]
"""

import argparse, statistics

import numpy as np

from rnn_pipeline.examples import load_example
from rnn_pipeline.widgets import FixedPointExplorer, TrialExplorer


def fixed_point_updates(moves):
    "Seconds of each FixedPointExplorer update while input 0 and then input 1 move in small steps."
    ex = load_example('flipflop3')
    explorer = FixedPointExplorer(ex.rnn_numpy, ex.task, input_vector=np.zeros(3))
    times = []
    for slider in explorer.sliders[:2]:
        for value in np.linspace(0, 0.5, moves // 2):
            explorer._holding = True
            slider.value = float(value)
            explorer._holding = False
            times.append(explorer.update())
    return times


def trial_updates(moves):
    "Seconds of each TrialExplorer update while the trial seed changes."
    ex = load_example('flipflop3')
    explorer = TrialExplorer(ex.rnn_numpy, ex.task)
    control = explorer.controls['seed']
    times = []
    for value in range(moves):
        control.value = value % (control.max + 1)
        times.append(explorer.update())
    return times


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--moves', type=int, default=40)
    args = parser.parse_args()
    for name, times in (
        ('FixedPointExplorer', fixed_point_updates(args.moves)),
        ('TrialExplorer', trial_updates(args.moves)),
    ):
        ms = [1e3 * t for t in times]
        print(
            f"{name:<20} N=100: median {statistics.median(ms):6.1f} ms, 90th percentile {sorted(ms)[int(0.9 * len(ms))]:6.1f} ms, "
            f"max {max(ms):6.1f} ms over {len(ms)} updates"
        )
