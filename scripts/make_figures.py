"""Make the figures the documentation shows from the shipped example networks (nbs/images/).

Run: python scripts/make_figures.py
"""

from pathlib import Path

import numpy as np

from rnn_pipeline.dynamics import DynamicSystemAnalyzer
from rnn_pipeline.examples import load_example

IMAGES = Path(__file__).resolve().parents[1] / 'nbs' / 'images'


def flipflop_fixed_points(path):
    "The 3-bit flip-flop's fixed points with no input, in 3D, over a few trials' trajectories."
    ex = load_example('flipflop3')
    analyzer = DynamicSystemAnalyzer(ex.rnn_numpy)
    fps = analyzer.get_fixed_points(np.zeros(3), seed=0)
    ex.task.rng = np.random.default_rng(0)
    trajectories = ex.rnn_numpy.run(ex.task.get_batch(6)[0])[0]
    fig = analyzer.plot_fixed_points('3D', trajectories=trajectories, figsize=(6, 6))
    fig.axes[0].set_title(
        f"3-bit flip-flop: {(fps.types == 'stable').sum()} stable points (memories), "
        f"{(fps.types == 'unstable').sum()} saddles",
        fontsize=10,
    )
    fig.savefig(path, dpi=90, bbox_inches='tight')


if __name__ == '__main__':
    IMAGES.mkdir(parents=True, exist_ok=True)
    flipflop_fixed_points(IMAGES / 'flipflop_fixed_points.png')
    print(f"wrote {IMAGES / 'flipflop_fixed_points.png'}")
