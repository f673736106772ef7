#!/bin/sh
# One line about a libFuzzer run, from its log (run with -print_final_stats=1):
#   sh tests/fuzz/stats.sh TARGET LOG FUZZ_BUILD
# date, target, seconds, executions, executions per second, corpus size and
# the findings kept so far; then the report of a crash, if the run ended in one.
set -u
t=$1
log=$2
dir=$3
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
secs=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
corpus=$(find "$dir/corpus/$t" -type f | wc -l)
found=$(find "$dir/findings/$t" -type f | wc -l)
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $t seconds=${secs:-?} execs=${execs:-?} exec_per_s=${rate:-?} corpus=$corpus findings=$found"
if grep -qE '^==[0-9]+==ERROR|deadly signal|runtime error|^SUMMARY' "$log"; then
	grep -E 'ERROR:|runtime error|SUMMARY|Test unit written|fuzz_repair:' "$log" | head -n 8 | sed 's/^/    /'
fi
