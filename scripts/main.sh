#!/usr/bin/env bash
# Set everything up, then run the main job: train a network on the 3-bit flip-flop, analyse it (scores, trials, loss
# curves, bit accuracy, fixed points) and save the run, figures included, into a new folder runs/NBitFlipFlop-DATE-TIME-seed0/.
# One torch thread: as fast as two on an idle 2-core machine, much faster on a busy one, and the run is reproducible.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export MPLBACKEND=Agg

bash scripts/setup.sh
.venv/bin/rnn-pipeline train NBitFlipFlop --threads 1
