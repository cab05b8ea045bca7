"A one-node SLURM cluster on this machine for the tests: munge, slurmctld and slurmd started as root, state in a throw-away folder."

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ('munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'scancel', 'sinfo')

CONF = '''ClusterName=rnntest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge.socket
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
KillWait=5
MinJobAge=60
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
'''


def missing() -> str:
    "Why a SLURM cluster cannot be started here; '' if it can."
    if os.geteuid() != 0:
        return 'the SLURM daemons are started as root'
    absent = [d for d in DAEMONS if shutil.which(d) is None]
    if absent:
        return f"Debian's slurmctld, slurmd, slurm-client and munge are not installed ({', '.join(absent)} missing)"
    if sorted(name for _, name in socket.if_nameindex()) != ['lo', 'rnn0', 'rnn1']:
        return (
            "the SLURM daemons listen on every interface: they run in a network namespace of their own, with only "
            "loopback addresses (scripts/test.sh runs this file under scripts/isolated.sh)"
        )
    return ''


def _real_memory_mb() -> int:
    "About 90% of this machine's memory, in MB: what the node offers its jobs."
    kb = next(
        int(line.split()[1])
        for line in Path('/proc/meminfo').read_text().splitlines()
        if line.startswith('MemTotal')
    )
    return int(0.9 * kb / 1024)


def _wait_idle(env, timeout=60):
    "Wait until the node is up and idle."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(
            ['sinfo', '-h', '-o', '%T'], env=env, capture_output=True, text=True
        ).stdout.strip()
        if state == 'idle':
            return
        time.sleep(0.3)
    raise RuntimeError(f"the SLURM node did not become idle within {timeout} s (state {state!r})")


@contextmanager
def slurm_cluster():
    "Start munge, slurmctld and slurmd for the block; yields the environment (SLURM_CONF) in which to call them."
    folder = Path(tempfile.mkdtemp(prefix='slurm-'))
    procs = []
    try:
        for sub in ('state', 'spool'):
            (folder / sub).mkdir()
        subprocess.run(
            ['mungekey', '--create', '--keyfile', str(folder / 'munge.key')],
            check=True,
            capture_output=True,
        )
        munge = subprocess.run(
            [
                'munged',
                '--force',
                '--socket',
                str(folder / 'munge.socket'),
                '--key-file',
                str(folder / 'munge.key'),
                '--pid-file',
                str(folder / 'munged.pid'),
                '--log-file',
                str(folder / 'munged.log'),
                '--seed-file',
                str(folder / 'munged.seed'),
            ],
            capture_output=True,
            text=True,
        )
        if munge.returncode:
            raise RuntimeError(f"munged did not start: {munge.stderr}")
        conf = folder / 'slurm.conf'
        conf.write_text(
            CONF.format(
                folder=folder,
                cpus=os.cpu_count(),
                memory=_real_memory_mb(),
                ctld_port=6817,
                d_port=6818,
            )
        )
        env = {**os.environ, 'SLURM_CONF': str(conf)}
        procs.append(
            subprocess.Popen(
                ['slurmctld', '-D', '-f', str(conf)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                ['slurmd', '-D', '-f', str(conf), '-N', 'localhost'],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
        _wait_idle(env)
        yield env
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if (folder / 'munged.pid').exists():
            subprocess.run(
                ['munged', '--stop', '--socket', str(folder / 'munge.socket')], capture_output=True
            )
        shutil.rmtree(folder, ignore_errors=True)
