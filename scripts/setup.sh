#!/usr/bin/env bash
# Set up the project: a virtual environment in .venv with PyTorch and the package with its dev extra.
# Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then "${PYTHON:-python3}" -m venv .venv; fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned: a looser request for torch would pull a much larger CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[dev]"
# NeuroGym (the optional extra `neurogym`): its runtime dependencies, then the package without its
# pins (numpy==2.2.*, matplotlib==3.10.*), which would downgrade ours.
.venv/bin/python -m pip install --quiet -e ".[neurogym]"
.venv/bin/python -m pip install --quiet --no-deps neurogym==2.3.1
