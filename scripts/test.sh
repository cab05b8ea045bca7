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
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 chromium
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

# --- A throw-away PostgreSQL server for the DataJoint tests (tests/test_datajoint.py, nbs/09a_datajoint.ipynb,
# nbs/tutorials/07_datajoint.ipynb). Debian's postgresql is installed only where missing; the server runs as the
# `postgres` user in a fresh folder, listens on 127.0.0.1 only, has one test user with a random password (never
# printed) and is stopped, its folder removed, whatever happens (the EXIT trap). Without it those tests skip.
start_test_postgres() {
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 postgresql
  fi
  local pg_bin started
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  started=$(date +%s%N)
  PG_TMP=$(mktemp -d)
  as_root chown postgres: "$PG_TMP"
  as_pg() { as_root runuser -u postgres -- "$@"; }
  as_pg "$pg_bin/initdb" --no-sync --auth-local=trust --auth-host=scram-sha-256 -U postgres -D "$PG_TMP/data" >/dev/null
  DJ_PORT=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  as_pg "$pg_bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $DJ_PORT -k $PG_TMP -c fsync=off" start >/dev/null
  DJ_USER=dj_test
  DJ_PASS=$(.venv/bin/python -c "import secrets; print(secrets.token_hex(16))")
  # The password goes through stdin, never on a command line or into a log.
  printf "CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s';\nGRANT ALL ON DATABASE postgres TO %s;\n" \
    "$DJ_USER" "$DJ_PASS" "$DJ_USER" | as_pg "$pg_bin/psql" -q -h "$PG_TMP" -p "$DJ_PORT" -U postgres -d postgres -f - >/dev/null
  export DJ_HOST=127.0.0.1 DJ_PORT DJ_USER DJ_PASS DJ_BACKEND=postgresql DJ_USE_TLS=false
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') for the DataJoint tests on 127.0.0.1:$DJ_PORT," \
    "started in $(( ($(date +%s%N) - started) / 1000000 )) ms"
  PG_CTL="$pg_bin/pg_ctl"
}
stop_test_postgres() {
  if [ -n "${PG_TMP:-}" ]; then
    as_root runuser -u postgres -- "$PG_CTL" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    as_root rm -rf "$PG_TMP"
  fi
}
trap stop_test_postgres EXIT
start_test_postgres
# --- end of the PostgreSQL block

# --- A one-node SLURM cluster for tests/test_slurm.py: Debian's slurmctld, slurmd, slurm-client and munge, installed
# only where missing. The tests start and stop the daemons themselves, as root, with their state in a throw-away folder,
# in a network namespace of their own whose only addresses are loopback ones (scripts/isolated.sh).
slurm_tools=(slurmctld slurmd sbatch munged unshare ip)
for tool in "${slurm_tools[@]}"; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 \
      slurmctld slurmd slurm-client munge iproute2 util-linux
    break
  fi
done
# --- end of the SLURM block

# The notebooks' tests and their stored outputs in one run: every notebook runs as
# `nbdev-test --n-workers 2 --flags slow` runs it (nbdev's test_nb, in a temporary copy), failing when a cell
# raises, and the outputs it draws must match those stored in the notebooks (text equal, as many images).
# RNN_PIPELINE_WRITE_OUTPUTS=1 bash scripts/test.sh regenerates the stored outputs instead (with the DataJoint
# server above, so that the DataJoint notebooks show a real run) and stops there.
if [ "${RNN_PIPELINE_WRITE_OUTPUTS:-}" = 1 ]; then
  .venv/bin/python scripts/docs_outputs.py --n-workers 2
  .venv/bin/python scripts/readme.py
  exit 0
fi
.venv/bin/python scripts/docs_outputs.py --check --n-workers 2
.venv/bin/pytest -ra --ignore=tests/test_slurm.py
as_root env MPLBACKEND=Agg OMP_NUM_THREADS=1 bash scripts/isolated.sh .venv/bin/pytest -ra -p no:cacheprovider tests/test_slurm.py
