#!/usr/bin/env bash
# Runs the steps of one lane of `make test` (Makefile: test-fast, test-cluster) and names every failed
# step; every step runs to its end whatever the others do.
#
#   tests/tools/lane.sh NAME parallel|serial STEP...
#
# parallel  the steps start at once; each one's output goes to .build/lanes/STEP.log and is printed
#           whole when the step ends (in the order they end), so outputs never interleave
# serial    one step after the other, the output as it comes
#
# Per step and for the lane it prints the wall time and the CPU time (user + system of the step's
# processes, those that ended: what a quiet machine would need at least), and the load average at the
# end, so that a lane's time can be judged on a machine shared with other work. Exit status 1 when any
# step failed. MAKE (set by make) runs the steps.
set -uo pipefail

lane=${1:?lane name} mode=${2:?parallel or serial}
shift 2
make=${MAKE:-make}
logs=.build/lanes
mkdir -p "$logs"

cpu_of_children() {  # FILE: user + system seconds of this shell's ended children (`times`' second line) into FILE
    # `times` runs in this shell, its output redirected: in a pipeline or $(...) it would run in a subshell,
    # which has no children of its own and says 0
    times > "$1.times"
    tail -n 1 "$1.times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.0f", t }' > "$1"
    rm -f "$1.times"
}

run_step() {  # STEP: make STEP, then "rc wall cpu" into $logs/STEP.status
    local step=$1 t0 rc
    t0=$(date +%s)
    $make --no-print-directory "$step"
    rc=$?
    cpu_of_children "$logs/$step.cpu"
    echo "$rc $(( $(date +%s) - t0 )) $(cat "$logs/$step.cpu")" > "$logs/$step.status"
    return "$rc"
}

report_step() {  # STEP: one line with its times; adds it to the failed list when it failed
    local step=$1 rc=1 wall="?" cpu="?"
    [ -s "$logs/$step.status" ] && read -r rc wall cpu < "$logs/$step.status"
    echo "<== make $step: ${wall}s (CPU ${cpu}s)$([ "$rc" = 0 ] || echo ", FAILED")"
    [ "$rc" = 0 ] || failed="$failed $step"
    [ "$cpu" = "?" ] || lane_cpu=$(( lane_cpu + cpu ))
}

descendants() {  # PID: every process below it, deepest first
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        descendants "$child"
        echo "$child"
    done
}

failed="" lane_cpu=0 lane_start=$(date +%s)
declare -A step_of=()
for step in "$@"; do rm -f "$logs/$step.status" "$logs/$step.log"; done

if [ "$mode" = parallel ]; then
    # stop every step's processes when the lane is interrupted (the clusters die with their pytest)
    stop_steps() {
        local p
        for p in "${!step_of[@]}"; do
            # shellcheck disable=SC2046  # one PID per word
            kill $(descendants "$p") "$p" 2>/dev/null
        done
        exit 130
    }
    trap stop_steps INT TERM
    echo "==> $lane lane: $* at the same time (each step's output follows when it ends; .build/lanes/STEP.log)"
    for step in "$@"; do
        ( run_step "$step" ) > "$logs/$step.log" 2>&1 &
        step_of[$!]=$step
    done
    while [ ${#step_of[@]} -gt 0 ]; do
        wait -n -p done_pid "${!step_of[@]}"
        step=${step_of[$done_pid]}
        unset "step_of[$done_pid]"
        echo "==> make $step"
        cat "$logs/$step.log"
        report_step "$step"
    done
    trap - INT TERM
else
    for step in "$@"; do
        echo "==> make $step"
        ( run_step "$step" ) 2>&1 | tee "$logs/$step.log"
        report_step "$step"
    done
fi

read -r load1 load5 load15 _ < /proc/loadavg
echo "<== $lane lane: $(( $(date +%s) - lane_start ))s (CPU ${lane_cpu}s; load average $load1 $load5 $load15 on $(nproc) CPUs)"
if [ -n "$failed" ]; then
    # what failed, again at the end (a CI log is often read from its tail): each failed step's pytest
    # summary lines (FAILED/ERROR test - message) and its last error line of make
    for step in $failed; do
        echo "==> what failed in make $step (.build/lanes/$step.log):"
        grep -E '^(FAILED|ERROR) |^=+ .*(failed|error).* in [0-9.]+s|^make(\[[0-9]+\])?: \*\*\*' "$logs/$step.log" \
            | cut -c1-400 | head -n 60
    done
    echo "make test: $lane lane FAILED:$failed" >&2
    exit 1
fi
echo "make test: $lane lane green"
