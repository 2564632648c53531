#!/usr/bin/env bash
# slurm_local.sh — start/stop a private, throw-away, one-node Slurm cluster.
#
# Intended for end-to-end tests that need a *real* Slurm (sbatch, job arrays,
# squeue, scancel, ...) on a single Linux machine (developed on Debian 12 with
# Slurm 22.05 and MUNGE 0.5.15).  Everything the cluster needs — munge key,
# munged socket, slurm.conf, state, spool, logs, pid files — lives inside a
# directory given by the caller, so several clusters (or a system Slurm) can
# coexist, and removing the directory after `stop` leaves no trace.
#
# Usage:
#   scripts/slurm_local.sh start DIR   # install (if needed), configure, start, wait for node idle
#   scripts/slurm_local.sh env   DIR   # print shell code for clients:  eval "$(slurm_local.sh env DIR)"
#   scripts/slurm_local.sh stop  DIR   # cancel jobs, stop slurmd/slurmctld/munged of DIR (idempotent)
#   scripts/slurm_local.sh status DIR  # print which daemons of DIR are running (exit 1 if none)
#
# Requirements / assumptions:
#   * Linux.  Normally run as root: the daemons then run as root
#     (SlurmUser=SlurmdUser=root) and can run jobs as any user.
#     Run as a non-root user, the daemons run as that user (SlurmUser=
#     SlurmdUser=$USER) and only that user's jobs can run (slurmd cannot
#     switch uid); Slurm and MUNGE must then already be installed.
#   * Clients (sbatch, squeue, ...) must run as the same user as the daemons,
#     or at least be able to read DIR/slurm.conf and reach DIR/munge/ (a
#     mktemp -d DIR is 0700; a client that cannot read slurm.conf retries for
#     60 s before failing).
#   * DIR is an absolute-or-relative path to an existing or creatable directory
#     whose absolute path is short (Unix socket paths are limited to 108 bytes).
#   * Layout inside DIR:
#       slurm.conf
#       munge/{munge.key,munge.socket,munged.pid,munged.log,munged.seed}
#       state/          StateSaveLocation
#       spool/          SlurmdSpoolDir
#       log/{slurmctld.log,slurmd.log,*.stderr}
#       run/{slurmctld.pid,slurmd.pid}
#
# Tunables (environment):
#   SLURM_LOCAL_TIMEOUT   seconds to wait for the node to become idle (default 60)
#   SLURM_LOCAL_CLUSTER   ClusterName (default "georepl")
#   SLURM_LOCAL_PORTS     "CTLD_PORT SLURMD_PORT" instead of two random free ports
#   SLURM_LOCAL_MIN_JOB_AGE  MinJobAge in seconds (default 300; see slurm.conf
#                         comment for its effect on `sbatch --wait` polling)
set -euo pipefail

PROG=$(basename "$0")
START_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
CLUSTER_NAME=${SLURM_LOCAL_CLUSTER:-georepl}
MIN_JOB_AGE=${SLURM_LOCAL_MIN_JOB_AGE:-300}
# Each client call (sinfo, scontrol, ...) is wrapped in `timeout` so that a
# wedged controller can never hang this script.
CLIENT_TIMEOUT=10
# Seconds to wait for a daemon to exit after SIGTERM before sending SIGKILL.
STOP_GRACE=15

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------

# set_paths DIR: resolve DIR to an absolute path and derive every file name.
set_paths() {
    local d=$1
    [[ -n $d ]] || die "DIR must not be empty"
    if [[ -d $d ]]; then
        D=$(cd -P -- "$d" && pwd)
    else
        # `stop`/`env` on a directory that does not exist: still compute paths.
        case $d in /*) D=$d ;; *) D=$PWD/$d ;; esac
        D=${D%/}
    fi
    CONF=$D/slurm.conf
    MUNGE_DIR=$D/munge
    MUNGE_KEY=$MUNGE_DIR/munge.key
    MUNGE_SOCKET=$MUNGE_DIR/munge.socket
    MUNGE_PID=$MUNGE_DIR/munged.pid
    MUNGE_LOG=$MUNGE_DIR/munged.log
    MUNGE_SEED=$MUNGE_DIR/munged.seed
    STATE_DIR=$D/state
    SPOOL_DIR=$D/spool
    LOG_DIR=$D/log
    RUN_DIR=$D/run
    CTLD_PID=$RUN_DIR/slurmctld.pid
    SLURMD_PID=$RUN_DIR/slurmd.pid
    CTLD_LOG=$LOG_DIR/slurmctld.log
    SLURMD_LOG=$LOG_DIR/slurmd.log
}

# ---------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------

# Install slurm-wlm + munge through apt-get if any needed binary is missing.
ensure_installed() {
    local missing=0 b
    for b in slurmctld slurmd sbatch sinfo squeue scancel scontrol munged munge unmunge; do
        command -v "$b" >/dev/null 2>&1 || missing=1
    done
    ((missing)) || return 0
    command -v apt-get >/dev/null 2>&1 || die "Slurm/MUNGE not installed and apt-get not available"
    log "installing slurm-wlm and munge with apt-get"

    # Debian starts services from maintainer scripts unless policy-rc.d says
    # no.  We do not want the *system* munged/slurmctld/slurmd to start (they
    # are not needed and would listen on the default ports), so install a
    # temporary deny-all policy if the machine has none.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
    fi

    local out rc=0
    apt_install() {
        DEBIAN_FRONTEND=noninteractive timeout 900 \
            apt-get install -y --no-install-recommends slurm-wlm munge 2>&1
    }
    out=$(apt_install) || rc=$?
    if ((rc != 0)) && grep -qE 'Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found' <<<"$out"; then
        # Package lists are missing or stale: refresh them once and retry.
        log "apt-get install failed for lack of package lists; running apt-get update"
        rc=0
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update >&2 || rc=$?
        ((rc == 0)) && { out=$(apt_install) || rc=$?; }
    fi
    ((created_policy)) && rm -f "$policy"
    if ((rc != 0)); then
        printf '%s\n' "$out" >&2
        die "apt-get install slurm-wlm munge failed (rc=$rc)"
    fi
    for b in slurmctld slurmd sbatch sinfo munged; do
        command -v "$b" >/dev/null 2>&1 || die "$b still missing after installation"
    done
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Ports (decimal) currently bound by any TCP socket, from /proc (no ss needed).
used_ports() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $f ]] || continue
        # field 2 is local_address "HEXIP:HEXPORT"
        awk 'NR > 1 { split($2, a, ":"); print a[2] }' "$f"
    done | while read -r hex; do echo $((16#$hex)); done | sort -un
}

# pick_ports N: print N distinct free TCP ports below the ephemeral range (so
# outgoing connections of other programs never grab them later).
pick_ports() {
    local n=$1 lo=20000 hi eph_lo used p tries=0 picked=()
    read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range || eph_lo=32768
    hi=$((eph_lo - 1))
    ((hi > lo + 100)) || { lo=10000; hi=19999; }
    used=" $(used_ports | tr '\n' ' ') "
    while ((${#picked[@]} < n)); do
        ((tries++ < 1000)) || die "could not find $n free TCP ports"
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        [[ $used == *" $p "* ]] && continue
        [[ " ${picked[*]-} " == *" $p "* ]] && continue
        picked+=("$p")
    done
    echo "${picked[@]}"
}

# pid_of NAME PIDFILE: print the pid of daemon NAME belonging to this DIR, if
# alive.  Trust the pid file only if that pid really is NAME and its command
# line mentions DIR (guards against recycled pids); otherwise fall back to a
# /proc scan for a NAME process whose command line mentions DIR (covers daemons
# that died before/after writing their pid file, or stale pid files).
pid_of() {
    local name=$1 pidfile=$2 pid p
    if [[ -r $pidfile ]]; then
        pid=$(tr -dc '0-9' <"$pidfile" || true)
        if [[ -n $pid ]] && is_ours "$pid" "$name"; then
            echo "$pid"
            return 0
        fi
    fi
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        is_ours "$p" "$name" && { echo "$p"; return 0; }
    done
    return 1
}

# is_ours PID NAME: PID is alive, its comm is NAME and its argv contains "DIR/".
is_ours() {
    local pid=$1 name=$2 comm='' cmd
    # builtin read, no fork: this runs for every process on the machine
    { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || return 1
    [[ $comm == "$name" ]] || return 1
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
    [[ $cmd == *"$D/"* ]]
}

# wait_gone PID SECONDS: wait until PID has exited (or is a zombie).
wait_gone() {
    local pid=$1 secs=$2 i state
    for ((i = 0; i < secs * 10; i++)); do
        [[ -e /proc/$pid ]] || return 0
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
        [[ -z $state || $state == Z ]] && return 0
        sleep 0.1
    done
    return 1
}

# terminate PID LABEL: SIGTERM, bounded wait, then SIGKILL and bounded wait.
terminate() {
    local pid=$1 label=$2
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_gone "$pid" "$STOP_GRACE"; then
        log "$label (pid $pid) ignored SIGTERM for ${STOP_GRACE}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || log "warning: $label (pid $pid) still present after SIGKILL"
    fi
}

# died_early NAME PIDFILE LAUNCHED_AT: true if a just-launched daemon is dead.
# Slurm daemons double-fork, so right after launch() returns the only process
# may be the exiting intermediate child (a zombie) while the real daemon is
# not forked yet.  Hence: dead only if no live process is found AND either the
# daemon already wrote its pid file (so it had been running) or 5 s passed.
died_early() {
    local name=$1 pidfile=$2 launched_at=$3 had_pidfile=0
    # Look at the pid file *before* scanning /proc: the scan may miss a
    # daemon forked while it runs, but not one that had already written it.
    [[ -s $pidfile ]] && had_pidfile=1
    pid_of "$name" "$pidfile" >/dev/null && return 1
    ((had_pidfile || SECONDS - launched_at >= 5))
}

# Run a Slurm client against our cluster with a hard time limit.
client() { SLURM_CONF=$CONF timeout "$CLIENT_TIMEOUT" "$@"; }

# launch CMD...: run a daemon with stdin from /dev/null, stdout/stderr to a
# file, and every other inherited file descriptor closed.  Without this a
# caller that captures our output through a pipe would never see EOF, because
# the daemons would keep the pipe's write end open forever.
launch() {
    local errfile=$1; shift
    (
        local fd
        for fd in "/proc/$BASHPID/fd"/*; do
            fd=${fd##*/}
            ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null || true
        done
        # SLURM_CONF makes any helper the daemons spawn use our config, too.
        export SLURM_CONF=$CONF
        exec "$@" </dev/null >>"$errfile" 2>&1
    )
}

dump_logs() {
    local f
    for f in "$MUNGE_LOG" "$LOG_DIR"/slurmctld.stderr "$CTLD_LOG" "$LOG_DIR"/slurmd.stderr "$SLURMD_LOG"; do
        [[ -s $f ]] || continue
        echo "----- $f (last 40 lines) -----" >&2
        tail -n 40 "$f" >&2
    done
}

# start_failed MSG: report, show logs, stop whatever was started, exit 1.
start_failed() {
    echo "$PROG: error: $*" >&2
    dump_logs
    do_stop >/dev/null 2>&1 || true
    exit 1
}

# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------

do_start() {
    [[ $(uname -s) == Linux ]] || die "only Linux is supported"
    if ((EUID == 0)); then
        ensure_installed
    else
        local b
        for b in slurmctld slurmd sbatch sinfo scontrol munged munge unmunge; do
            command -v "$b" >/dev/null 2>&1 ||
                die "$b not installed; run '$PROG start' once as root (it apt-get installs Slurm and MUNGE)"
        done
        log "not root: daemons will run as $(id -un); only its jobs can run"
    fi

    # Unix socket names (munge socket; slurmstepd sockets "spool/NODE_JOB.STEP")
    # must fit in sun_path (108 bytes).
    ((${#D} <= 70)) || die "DIR path too long (${#D} > 70 chars) for Unix sockets: $D"
    mkdir -p "$D"
    set_paths "$D" # re-resolve now that DIR exists (symlinks)
    ((${#D} <= 70)) || die "DIR path too long (${#D} > 70 chars) for Unix sockets: $D"

    local p
    for p in munged:"$MUNGE_PID" slurmctld:"$CTLD_PID" slurmd:"$SLURMD_PID"; do
        if pid_of "${p%%:*}" "${p#*:}" >/dev/null; then
            die "a ${p%%:*} for $D is already running; run '$PROG stop $D' first"
        fi
    done

    # Fresh cluster every time: wipe only our own sub-directories.
    rm -rf -- "$MUNGE_DIR" "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" "$RUN_DIR"
    # munged insists that its key/log/pid dirs are not writable by group/other.
    install -d -m 0700 "$MUNGE_DIR" "$STATE_DIR" "$SPOOL_DIR" "$RUN_DIR"
    install -d -m 0755 "$LOG_DIR"

    # ---- MUNGE -----------------------------------------------------------
    # Private 1 KiB key; munged refuses keys readable by others.
    (umask 077 && dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none)
    chmod 0400 "$MUNGE_KEY"
    # --force: munged otherwise refuses to start because the socket directory
    # (and the caller's mktemp -d directory, mode 0700) is not executable by
    # "all".  That check exists so *other users* can reach the socket; here
    # every client and daemon runs as the same user, so this is harmless.
    launch "$LOG_DIR/munged.stderr" munged --force \
        --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
        --pid-file="$MUNGE_PID" --log-file="$MUNGE_LOG" --seed-file="$MUNGE_SEED" ||
        start_failed "munged failed to start"
    local ok=0 munge_deadline=$((SECONDS + 10))
    while ((SECONDS < munge_deadline)); do
        if [[ -S $MUNGE_SOCKET ]] &&
            timeout 3 munge -n -S "$MUNGE_SOCKET" 2>/dev/null |
            timeout 3 unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
            ok=1; break
        fi
        sleep 0.1
    done
    ((ok)) || start_failed "munged did not answer on $MUNGE_SOCKET within 10 s"

    # ---- slurm.conf --------------------------------------------------------
    local node cpus mem_kb mem_mb ctld_port slurmd_port
    node=$(hostname -s)
    [[ -n $node ]] || die "hostname -s is empty"
    cpus=$(nproc)
    # Describe the node's topology as slurmd itself detects it (`slurmd -C`),
    # which avoids a "Node configuration differs from hardware" warning; fall
    # back to a plain CPUs= count if that disagrees with nproc (e.g. a
    # restricted cpuset) or fails.
    local topo hw
    hw=$(timeout 30 slurmd -C 2>/dev/null | head -n1 || true)
    if [[ $hw =~ CPUs=([0-9]+)\ (Boards=.*ThreadsPerCore=[0-9]+) && ${BASH_REMATCH[1]} == "$cpus" ]]; then
        topo="CPUs=$cpus ${BASH_REMATCH[2]}"
    else
        topo="CPUs=$cpus"
    fi
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    # A bit below MemTotal (95 %): slurmd drains a node whose configured
    # RealMemory exceeds what it detects.
    mem_mb=$((mem_kb * 95 / 100 / 1024))
    ((mem_mb > 0)) || mem_mb=1
    if [[ -n ${SLURM_LOCAL_PORTS:-} ]]; then
        read -r ctld_port slurmd_port <<<"$SLURM_LOCAL_PORTS"
        [[ $ctld_port =~ ^[0-9]+$ && ${slurmd_port:-} =~ ^[0-9]+$ ]] ||
            die "SLURM_LOCAL_PORTS must be two port numbers, got '$SLURM_LOCAL_PORTS'"
    else
        read -r ctld_port slurmd_port < <(pick_ports 2)
    fi

    cat >"$CONF" <<EOF
# Generated by $PROG for a private one-node test cluster in $D.
ClusterName=$CLUSTER_NAME
# Explicit address: no DNS / /etc/hosts entry for "$node" is needed.
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# Bind sockets to the configured addresses (127.0.0.1) instead of INADDR_ANY:
#   NoCtldInAddrAny -> slurmctld binds ControlAddr; NoInAddrAny -> slurmd and
#   clients bind their node's address.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
# Daemons run as whoever started them (root normally).
SlurmUser=$(id -un)
SlurmdUser=$(id -un)

# Authentication through *our* munged, never the system one.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge

# Everything stateful lives in $D.
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
# Do not pick up /etc/slurm/plugstack.conf (site SPANK plugins).
PlugStackConfig=$D/plugstack.conf

# No cgroups, no accounting database: works in containers.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none

# Scheduling: one task per CPU; memory is checked but not consumed, so --mem
# requests up to RealMemory are accepted without limiting concurrency.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MaxArraySize=100001
MaxJobCount=200000
# Seconds finished jobs stay visible to squeue/scontrol.  Note: \`sbatch --wait\`
# polls after 2 s, then every min(4*previous, 32) s while the interval is
# below MinJobAge/2 — i.e. at 2, 10, 42, 74 ... s with the default 300;
# MinJobAge<=16 makes it poll every 8 s, MinJobAge<=4 every 2 s.
MinJobAge=$MIN_JOB_AGE
# No mail on this test cluster (silences "Configured MailProg is invalid").
MailProg=/bin/true
ReturnToService=2
# Trust slurm.conf's CPUs/RealMemory rather than draining on hardware mismatch.
SlurmdParameters=config_overrides
# Shorter shutdown waits than the defaults (tests cancel jobs at stop time).
KillWait=5
UnkillableStepTimeout=30

NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node $topo RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$D/plugstack.conf"

    # ---- slurmctld -----------------------------------------------------------
    # It daemonizes; startup errors before that land in slurmctld.stderr.
    local deadline=$((SECONDS + START_TIMEOUT)) ctld_at=$SECONDS slurmd_at
    launch "$LOG_DIR/slurmctld.stderr" slurmctld -f "$CONF" ||
        start_failed "slurmctld exited with an error"
    while :; do
        died_early slurmctld "$CTLD_PID" "$ctld_at" && start_failed "slurmctld died during startup"
        SLURM_CONF=$CONF timeout 3 scontrol ping 2>/dev/null | grep -q 'is UP' && break
        ((SECONDS < deadline)) || start_failed "slurmctld did not answer within ${START_TIMEOUT}s"
        sleep 0.2
    done

    # ---- slurmd --------------------------------------------------------------
    slurmd_at=$SECONDS
    launch "$LOG_DIR/slurmd.stderr" slurmd -f "$CONF" -N "$node" ||
        start_failed "slurmd exited with an error"
    local state=
    until [[ $state == idle ]]; do
        ((SECONDS < deadline)) ||
            start_failed "node $node not idle within ${START_TIMEOUT}s (state: '${state:-?}')"
        died_early slurmd "$SLURMD_PID" "$slurmd_at" && start_failed "slurmd died during startup"
        died_early slurmctld "$CTLD_PID" "$ctld_at" && start_failed "slurmctld died"
        sleep 0.2
        state=$(client sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n1 || true)
    done

    log "cluster up in $D (node $node, ${cpus} CPUs, ${mem_mb} MB, ctld port $ctld_port, slurmd port $slurmd_port)"
    log "use:  eval \"\$($0 env $D)\""
}

# ---------------------------------------------------------------------------
# stop
# ---------------------------------------------------------------------------

# Kill leftover helper processes of this cluster — slurmstepd (one per job
# step) with the job processes below it, and slurmctld's slurmscriptd (which
# normally exits with slurmctld).  slurmstepd outlives slurmd and ignores
# SIGTERM, so when jobs could not be cancelled through slurmctld (e.g. it
# crashed) they would keep running forever.  We recognise our helpers by
# SLURM_CONF=$CONF in their environment (inherited from launch()), collect
# their whole process trees first (killing reparents children to init) and
# SIGKILL them all.
kill_helpers() {
    local p env stat comm ppid stepds=() victims=() queue=()
    declare -A children=()
    for p in /proc/[0-9]*; do
        { read -r stat <"$p/stat"; } 2>/dev/null || continue
        # stat is "pid (comm) state ppid ..."; comm may contain spaces.
        stat=${stat##*) }
        ppid=${stat#* }; ppid=${ppid%% *}
        children[$ppid]+=" ${p#/proc/}"
        { read -r comm <"$p/comm"; } 2>/dev/null || continue
        [[ $comm == slurmstepd || $comm == slurmscriptd ]] || continue
        env=$({ tr '\0' '\n' <"$p/environ"; } 2>/dev/null) || continue
        [[ $'\n'$env$'\n' == *$'\n'"SLURM_CONF=$CONF"$'\n'* ]] || continue
        stepds+=("${p#/proc/}")
    done
    ((${#stepds[@]})) || return 0
    log "killing leftover slurmstepd/slurmscriptd ${stepds[*]} and their children"
    queue=("${stepds[@]}")
    while ((${#queue[@]})); do
        p=${queue[0]}; queue=("${queue[@]:1}")
        victims+=("$p")
        # shellcheck disable=SC2206
        queue+=(${children[$p]-})
    done
    kill -KILL "${victims[@]}" 2>/dev/null || true
    for p in "${victims[@]}"; do
        wait_gone "$p" 5 || log "warning: pid $p still present after SIGKILL"
    done
}

do_stop() {
    local pid p
    # 1. Cancel all jobs while the controller is still up, so that slurmstepd
    #    and user processes are cleaned up by Slurm itself (<= ~30 s).
    if pid_of slurmctld "$CTLD_PID" >/dev/null && [[ -r $CONF ]]; then
        local jobs cancel_deadline=$((SECONDS + 20))
        jobs=$(client squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
        if [[ -n ${jobs// /} ]]; then
            # shellcheck disable=SC2086
            client scancel $jobs 2>/dev/null || true
            while ((SECONDS < cancel_deadline)); do
                [[ -z $(client squeue -h -o %A 2>/dev/null || true) ]] && break
                sleep 0.2
            done
        fi
    fi
    # 2. Daemons, compute side first; then whatever slurmstepd/slurmscriptd
    #    survived (killing slurmscriptd under a live slurmctld upsets it).
    if pid=$(pid_of slurmd "$SLURMD_PID"); then terminate "$pid" slurmd; fi
    if pid=$(pid_of slurmctld "$CTLD_PID"); then terminate "$pid" slurmctld; fi
    kill_helpers
    if pid=$(pid_of munged "$MUNGE_PID"); then terminate "$pid" munged; fi
    rm -f -- "$SLURMD_PID" "$CTLD_PID" "$MUNGE_PID"
    # 3. Verify.
    local left=
    for p in munged:"$MUNGE_PID" slurmctld:"$CTLD_PID" slurmd:"$SLURMD_PID"; do
        pid_of "${p%%:*}" "${p#*:}" >/dev/null && left+=" ${p%%:*}"
    done
    [[ -z $left ]] || die "still running after stop:$left"
    return 0
}

do_status() {
    local any=0 p pid
    for p in munged:"$MUNGE_PID" slurmctld:"$CTLD_PID" slurmd:"$SLURMD_PID"; do
        if pid=$(pid_of "${p%%:*}" "${p#*:}"); then
            echo "${p%%:*} running (pid $pid)"; any=1
        else
            echo "${p%%:*} not running"
        fi
    done
    ((any))
}

do_env() {
    printf 'export SLURM_CONF=%q\n' "$CONF"
}

# ---------------------------------------------------------------------------

(($# == 2)) || usage
cmd=$1
set_paths "$2"
case $cmd in
start) do_start ;;
stop) do_stop ;;
env) do_env ;;
status) do_status ;;
*) usage ;;
esac
