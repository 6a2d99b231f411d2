#!/bin/bash
# Start a single-node SLURM on loopback (munge, slurmctld, slurmd), without systemd, for the
# tests: ROOT=/some/folder bash .ci/slurm/start.sh, as root. Adapted from the configuration
# found to work on these machines (SLURM 22.05 from Debian's packages).
# Everything it starts leaves its pid file in ROOT; stop.sh stops exactly those. It refuses
# (exit 1, with the reason) rather than touch a SLURM it did not start.
set -euo pipefail
D=${ROOT:?set ROOT to a writable folder}
here=$(cd "$(dirname "$0")" && pwd)
conf=/etc/slurm/slurm.conf
refuse() { echo "start.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || refuse "needs root (slurmd and munged are started as root)"
for program in munged slurmctld slurmd sinfo; do
    command -v $program >/dev/null || refuse "$program is missing: apt-get install -y munge slurmctld slurmd slurm-client"
done
[ -e $conf ] && [ ! -L $conf ] && refuse "$conf is a real configuration: not replacing it"
if [ -L $conf ] && [ -e $conf ] && timeout 5 sinfo -h >/dev/null 2>&1; then
    refuse "a SLURM controller already answers for $(readlink $conf): stop it first"
fi

mkdir -p $D/state $D/spool $D/log /etc/slurm
host=$(hostname -s)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))  # MB, less 1 GB for the system
sed -e "s|@ROOT@|$D|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$(nproc)|g" -e "s|@MEMORY@|$memory|g" \
    $here/slurm.conf > $D/slurm.conf
ln -sfn $D/slurm.conf $conf  # the job-step plugin ignores SLURM_CONF: the file must be at the default path

if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "munge: already running, used as it is"
else
    mkdir -p /run/munge && chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || refuse "/etc/munge/munge.key is missing (Debian's munge package makes it)"
    runuser -u munge -- /usr/sbin/munged
    cp /run/munge/munged.pid $D/munged.pid
fi
slurmctld
slurmd
for i in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && { sinfo; exit 0; }
    sleep 0.5
done
echo "start.sh: the node did not come up idle; the logs' ends:" >&2
tail -n 20 $D/log/slurmctld.log $D/log/slurmd.log >&2 || true
exit 1
