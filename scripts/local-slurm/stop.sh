#!/usr/bin/env bash
# Stop the daemons scripts/local-slurm/start.sh started (by pid file), and nothing else.
set -uo pipefail
STATE_DIR=${LOCAL_SLURM_DIR:-/var/lib/local-slurm}

scancel --state=PENDING,RUNNING --full 2>/dev/null
for daemon in slurmd slurmctld munged; do
  pidfile=$STATE_DIR/run/$daemon.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
done
exit 0
