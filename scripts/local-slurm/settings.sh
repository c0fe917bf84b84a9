# Shared by start.sh and stop.sh (sourced): where the test cluster keeps its state and config.
STATE_DIR=${LOCAL_SLURM_DIR:-/var/lib/local-slurm}
SLURM_CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
# The first line of a slurm.conf written by start.sh; no other slurm.conf is replaced or removed.
MARKER="# written by gridflow scripts/local-slurm/start.sh: single-node test cluster"
