#!/usr/bin/env bash
# Set everything up, then run all tests: notebook hygiene checks, the notebooks' tests and pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export MPLBACKEND=Agg
# Notebooks and tests run two at a time on two cores: one BLAS/OpenMP thread each avoids oversubscription.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

bash scripts/setup.sh
# The browser tests drive Debian's Chromium (sudo only where we are not root, as on GitHub's runners).
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# Fail with message $1 when git sees changes; further arguments go to `git status`.
fail_if_changed() {
  local message=$1; shift
  local changes
  changes=$(git status --porcelain "$@")
  if [ -n "$changes" ]; then
    printf 'FAILED: %s\n%s\n' "$message" "$changes" >&2
    exit 1
  fi
}

.venv/bin/nbdev-clean
fail_if_changed "notebooks are not clean (or there are uncommitted changes): run .venv/bin/nbdev-clean and commit"
.venv/bin/nbdev-export
fail_if_changed "rnn_pipeline/ is not in sync with the notebooks: run .venv/bin/nbdev-export and commit" --untracked-files=all

.venv/bin/nbdev-test --n-workers 2 --flags slow
.venv/bin/pytest -ra
