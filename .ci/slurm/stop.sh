#!/bin/bash
# Stop what start.sh started in ROOT, by its pid files (never by process name): the jobs of
# that controller first, then slurmd, slurmctld and munged; then unlink /etc/slurm/slurm.conf
# when it points into ROOT.
D=${ROOT:?set ROOT to the folder start.sh was given}
conf=/etc/slurm/slurm.conf
if [ -f $D/slurmctld.pid ]; then
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null  # this controller's jobs are the tests'
fi
for name in slurmd slurmctld munged; do
    f=$D/$name.pid
    [ -f $f ] || continue
    p=$(cat $f)
    if kill $p 2>/dev/null; then
        for i in $(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done
        echo "stopped $name $p"
    fi
    rm -f $f
done
[ "$(readlink $conf 2>/dev/null)" = "$D/slurm.conf" ] && rm -f $conf
exit 0
