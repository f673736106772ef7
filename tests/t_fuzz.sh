#!/bin/sh
# Smoke test of the libFuzzer targets (tests/fuzz/): builds them with clang
# into BUILD/fuzz (or uses them built), replays every input kept in
# tests/fuzz/regress/TARGET/ (each must run clean), then fuzzes each target
# a few seconds from its seeds (cut from the image corpus when there is
# one). A crash, a sanitizer report, a leak, a timeout or a violated
# invariant (fuzz_repair aborts) is a FAIL; without clang or libFuzzer the
# script prints SKIP saying which is missing.
#
# Environment (as tests/run.sh sets it): BUILD, IMAGES, NO_IMAGES, TMPDIR;
# FUZZ_SMOKE_SECONDS (default 8) per target.
set -u
unset CDPATH

: "${BUILD:=build}"
: "${IMAGES:=../shared/images}"
: "${TMPDIR:=/tmp}"
: "${FUZZ_CC:=clang}"
: "${FUZZ_SMOKE_SECONDS:=8}"
# shellcheck source=tests/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd) || exit 1
FB=$BUILD/fuzz
TARGETS="sb jset node check repair"

W=$(mktemp -d "$TMPDIR/fuzz.XXXXXX") || { echo "FAIL setup: mktemp"; exit 1; }
trap 'rm -rf "$W"' EXIT
trap 'exit 130' HUP INT TERM

# is there a clang that links libFuzzer (Debian: clang, libclang-rt-14-dev)?
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	echo "SKIP all: no $FUZZ_CC (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$W/probe.c"
if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$W/probe" "$W/probe.c" >"$W/probe.log" 2>&1; then
	echo "SKIP all: $FUZZ_CC cannot link libFuzzer (apt-get install libclang-rt-14-dev): $(head -n 1 "$W/probe.log")"
	exit 0
fi

# the Makefile includes tests/fuzz/fuzz.mk, or we name it
fmake() {
	if grep -q 'tests/fuzz/fuzz.mk' Makefile; then
		make --no-print-directory BUILD="$BUILD" IMAGES="$IMAGES" "$@"
	else
		make --no-print-directory -f Makefile -f tests/fuzz/fuzz.mk \
			BUILD="$BUILD" IMAGES="$IMAGES" "$@"
	fi
}
if ! fmake fuzz-build >"$W/build.log" 2>&1; then
	fail build "make fuzz-build failed"
	sed -n '/error/{p}' "$W/build.log" | head -n 20 | sed 's/^/    | /'
	exit 1
fi
pass "build (clang, libFuzzer, ASan+UBSan)"

SEEDS=$FB/seeds
if [ -n "${NO_IMAGES:-}" ] || [ ! -r "$IMAGES/index.tsv" ]; then
	echo "SKIP seeds from the image corpus: ${NO_IMAGES:-no $IMAGES/index.tsv} (the targets start from the regression inputs)"
	SEEDS=$W/seeds
	mkdir -p "$SEEDS/image" "$SEEDS/sb" "$SEEDS/jset" "$SEEDS/node"
elif ! fmake fuzz-seeds >"$W/seeds.log" 2>&1; then
	fail seeds "make fuzz-seeds failed: $(tail -n 3 "$W/seeds.log" | tr '\n' ' ')"
fi

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

# report LOG: the lines that say what went wrong
report() {
	grep -E 'ERROR:|runtime error|SUMMARY|deadly signal|fuzz_repair:|Test unit written|timeout' "$1" |
		head -n 12 | cut -c1-300 | sed 's/^/    | /'
}

seeds_of() {
	case $1 in
	check|repair) echo "$SEEDS/image" ;;
	*) echo "$SEEDS/$1" ;;
	esac
}

maxlen_of() {
	case $1 in
	sb) echo 65536 ;;
	jset) echo 65537 ;;
	node) echo 524289 ;;
	*) echo 4194304 ;;
	esac
}

for t in $TARGETS; do
	bin=$FB/fuzz_$t
	reg=tests/fuzz/regress/$t

	# every kept input must run clean
	set --
	[ -d "$reg" ] && for f in "$reg"/*; do [ -f "$f" ] && set -- "$@" "$f"; done
	if [ $# -gt 0 ]; then
		if timeout -k 5 120 "$bin" -timeout=30 "$@" >"$W/replay.log" 2>&1 &&
		   ! grep -qE 'runtime error|ERROR: (Address|Leak)Sanitizer' "$W/replay.log"; then
			pass "replay $t ($# regression inputs)"
		else
			fail "replay $t" "a regression input fails again"
			report "$W/replay.log"
		fi
	fi
	# they seed the run too
	mkdir -p "$W/reg/$t"
	[ $# -gt 0 ] && cp "$@" "$W/reg/$t/"

	# a few seconds of fuzzing from the seeds
	mkdir -p "$W/corpus/$t" "$W/findings/$t" "$(seeds_of "$t")"
	timeout -k 5 $((FUZZ_SMOKE_SECONDS + 120)) nice -n 10 "$bin" \
		-max_total_time="$FUZZ_SMOKE_SECONDS" -max_len="$(maxlen_of "$t")" \
		-timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=1 \
		-artifact_prefix="$W/findings/$t/" "$W/corpus/$t" "$(seeds_of "$t")" "$W/reg/$t" \
		>"$W/run.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/run.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$W/run.log" | tail -n 1)
	found=$(find "$W/findings/$t" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ] && [ -n "$execs" ]; then
		pass "fuzz $t (${execs} executions, ${rate}/s)"
	else
		fail "fuzz $t" "exit status $rc, $found findings (kept: $FB/smoke-findings/$t)"
		report "$W/run.log"
		mkdir -p "$FB/smoke-findings/$t"
		cp "$W/findings/$t"/* "$FB/smoke-findings/$t/" 2>/dev/null
	fi
done

[ "$nfail" -eq 0 ]
