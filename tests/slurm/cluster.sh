#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for `pytest -m slurm` (tests/test_slurm.py).
#
#   tests/slurm/cluster.sh start   install slurm-wlm + munge if missing (apt, as root), write the configuration,
#                                  start munged, slurmctld and slurmd, wait until the node is idle; a cluster
#                                  already up is left as it is
#   tests/slurm/cluster.sh stop    cancel what is still queued, then stop the daemons this script started
#
# The node looks like a small GPU node: two GPUs declared through device files (SLURM's gpu plugin needs a
# character device per GPU, so /dev/null and /dev/zero stand in; nothing uses them), and the CPUs and memory the
# cluster profile's GPU jobs request (SlurmdParameters=config_overrides: advertised, not enforced). There is no
# accounting database, so a job completion log ($STATE/jobcomp.log) records every job that ended.
#
# It writes /etc/slurm/slurm.conf only where none exists or where it wrote it before: on a machine with a SLURM
# of its own it refuses. Exit status 2 means SLURM cannot be installed or run here (not root, no apt, apt failed).
set -euo pipefail

STATE=${RLVR_LIMITS_SLURM_STATE:-/var/tmp/rlvr-limits-slurm}
CONF_DIR=/etc/slurm
MARK="# rlvr-limits test cluster, written by tests/slurm/cluster.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)
HOST=$(hostname -s)

say() { echo "slurm test cluster: $*" >&2; }

running() {  # running NAME: the daemon whose pid file is $STATE/NAME.pid is alive
  [[ -s $STATE/$1.pid ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
      && command -v munged >/dev/null; then
    return 0
  fi
  if ! command -v apt-get >/dev/null; then
    say "slurm-wlm and munge are not installed, and there is no apt-get to install them"
    exit 2
  fi
  say "installing ${PACKAGES[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }; then
    say "apt-get could not install ${PACKAGES[*]}"
    exit 2
  fi
}

write_config() {
  if [[ -e $CONF_DIR/slurm.conf ]] && ! grep -qxF "$MARK" "$CONF_DIR/slurm.conf"; then
    say "$CONF_DIR/slurm.conf belongs to another SLURM installation; not touching it"
    exit 1
  fi
  mkdir -p "$CONF_DIR" "$STATE/slurmctld" "$STATE/slurmd" "$STATE/gpu"
  ln -sfn /dev/null "$STATE/gpu/nvidia0"
  ln -sfn /dev/zero "$STATE/gpu/nvidia1"
  cat >"$CONF_DIR/slurm.conf" <<EOF
$MARK
ClusterName=rlvr-limits-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=16 RealMemory=131072 Gres=gpu:2 State=UNKNOWN
PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$CONF_DIR/gres.conf" <<EOF
$MARK
NodeName=$HOST Name=gpu File=$STATE/gpu/nvidia[0-1]
EOF
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  [[ -s /etc/munge/munge.key ]] || mungekey --create
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$STATE/munged.pid"
}

wait_idle() {
  local started=$SECONDS
  while ((SECONDS < started + 60)); do
    if ((SECONDS > started + 5)) && ! { running slurmctld && running slurmd; }; then
      break  # a daemon died (its log says why)
    fi
    if timeout 5 sinfo -h -n "$HOST" -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)$'; then
      return 0
    fi
    sleep 1
  done
  say "the node did not come up; the end of the daemons' logs:"
  tail -n 5 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
  stop_daemons
  exit 1
}

start() {
  if [[ $(id -u) -ne 0 ]]; then
    say "the test cluster's daemons run as root; run as root (CI does)"
    exit 2
  fi
  install_packages
  if running slurmctld && running slurmd; then
    wait_idle
    return 0
  fi
  stop_daemons
  write_config
  rm -rf "${STATE:?}/slurmctld/"* "${STATE:?}/slurmd/"*  # a fresh cluster: no jobs left from an earlier one
  : >"$STATE/jobcomp.log"
  start_munge
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  wait_idle
  say "up: node $HOST, $(sinfo -h -o '%c CPUs, %m MB, %G') (logs in $STATE)"
}

stop_daemons() {
  for daemon in slurmd slurmctld munged; do
    if running "$daemon"; then
      local pid
      pid=$(cat "$STATE/$daemon.pid")
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"  # e.g. a slurmd stuck retrying to register
    fi
    rm -f "$STATE/$daemon.pid"
  done
}

stop() {
  if running slurmctld; then
    local jobs
    jobs=$(squeue -h -o %i 2>/dev/null | paste -sd' ' -) || true
    [[ -z $jobs ]] || scancel --quiet $jobs || true
    for _ in $(seq 30); do [[ -z $(squeue -h -t running,completing -o %i 2>/dev/null) ]] && break; sleep 1; done
  fi
  stop_daemons
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
