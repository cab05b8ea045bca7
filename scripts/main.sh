#!/usr/bin/env bash
# Set everything up, then run the main job (for now the task demo) into a new folder under runs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export MPLBACKEND=Agg

bash scripts/setup.sh
.venv/bin/rnn-pipeline demo --out "runs/demo-$(date +%Y%m%d-%H%M%S)"
