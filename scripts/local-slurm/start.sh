#!/usr/bin/env bash
# Start a single-node Slurm cluster on localhost for tests (root, Debian's slurm-wlm
# and munge, no systemd, no accounting database). Idempotent: a second call only
# reloads the config. stop.sh ends exactly the daemons this script started.
set -euo pipefail

source "$(dirname "$0")/settings.sh"
PARTITION=${LOCAL_SLURM_PARTITION:-debug}

for tool in slurmctld slurmd munged sinfo; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool not found; apt-get install slurm-wlm munge" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "start.sh: must run as root" >&2; exit 1; }
mkdir -p "$STATE_DIR"/{state,spool,log,run}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# munge: reuse a running one, else start ours and remember its pid.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- munged --force
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  cp /run/munge/munged.pid "$STATE_DIR/run/munged.pid"
fi

if [ -f "$SLURM_CONF" ] && ! grep -qF "$MARKER" "$SLURM_CONF" && [ "${LOCAL_SLURM_FORCE_CONF:-0}" != 1 ]; then
  echo "start.sh: $SLURM_CONF was not written by this script; set LOCAL_SLURM_FORCE_CONF=1 to replace it" >&2
  exit 1
fi
host=$(hostname)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.95)}' /proc/meminfo)
mkdir -p "$(dirname "$SLURM_CONF")"
cat > "$SLURM_CONF" <<CONF
$MARKER
ClusterName=localcluster
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/run/slurmctld.pid
SlurmdPidFile=$STATE_DIR/run/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# squeue (the status command without accounting) must still see finished jobs
MinJobAge=600
# reject at once a job that can never fit, instead of queueing it forever
EnforcePartLimits=ALL
ReturnToService=2
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

if alive "$STATE_DIR/run/slurmctld.pid" && alive "$STATE_DIR/run/slurmd.pid"; then
  scontrol reconfigure
  exit 0
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "start.sh: a slurmctld or slurmd not started by this script is running; stop it first" >&2
  exit 1
fi
SLURM_CONF=$SLURM_CONF slurmctld
SLURM_CONF=$SLURM_CONF slurmd
for _ in $(seq 100); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && exit 0
  sleep 0.1
done
echo "start.sh: the node did not come up; see $STATE_DIR/log/" >&2
exit 1
