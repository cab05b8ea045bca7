#!/usr/bin/env bash
# Run a command in a network namespace of its own whose only addresses are loopback ones: servers that listen on every
# interface (the SLURM daemons) are then reachable from this namespace alone. A veth pair holding 127.0.0.2 gives the
# namespace a configured IPv4 interface, without which getaddrinfo(AI_ADDRCONFIG), and so slurmd, finds no address.
set -euo pipefail
exec unshare --net bash -c 'ip link set lo up && ip link add rnn0 type veth peer name rnn1 && ip addr add 127.0.0.2/32 dev rnn0 &&
  ip link set rnn0 up && ip link set rnn1 up && exec "$@"' isolated "$@"
