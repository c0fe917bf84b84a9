#!/usr/bin/env bash
# Stop the daemons scripts/local-slurm/start.sh started (by pid file), and nothing
# else; then remove the slurm.conf it wrote. Left behind, that file points every
# `scontrol` at a controller that is gone, and each `snakemake` start then waits
# about 9 s (the Slurm executor plugin runs `scontrol show config` on import).
set -uo pipefail
source "$(dirname "$0")/settings.sh"

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
if [ -f "$SLURM_CONF" ] && grep -qF "$MARKER" "$SLURM_CONF"; then
  rm -f "$SLURM_CONF"
fi
exit 0
