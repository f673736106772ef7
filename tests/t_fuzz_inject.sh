#!/bin/sh
# The short run of the injection fuzz (tests/fuzz_inject.sh) that make
# check makes: seeds 1..FUZZ_INJECT_SEEDS (default 12) of random damage in
# copies of the corpus images, each repaired by fsck -y and judged by our
# fsck -n and by upstream's where it is installed. One PASS/FAIL line per
# seed; a failing seed's files are kept in $TMPDIR/fuzz-inject/SEED.
# `make fuzz-inject SEEDS="1 500"` runs the long one.
# Environment: BCACHEFS, BUILD, IMAGES, NO_IMAGES, TMPDIR (see tests/run.sh).
set -u

# shellcheck source=tests/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${BUILD:?}" "${IMAGES:?}" "${TMPDIR:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
case $BCACHEFS in /*) ;; *) BCACHEFS=$PWD/$BCACHEFS ;; esac
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
out=$TMPDIR/fuzz-inject
log=$TMPDIR/fuzz-inject.log
command -v bash > /dev/null || { echo "SKIP all: no bash"; exit 0; }
bash "$ROOT/tests/fuzz_inject.sh" -j 2 --bcachefs "$BCACHEFS" \
	--inject "$BUILD/tools/bch_inject" --images-dir "$IMAGES" --out "$out" \
	1 "${FUZZ_INJECT_SEEDS:-12}" > "$log" 2>&1
rc=$?
sed -n -e 's/^seed \([0-9]*\) \(.*\): PASS\(.*\)/PASS fuzz seed \1 \2\3/p' \
       -e 's/^seed \([0-9]*\) \(.*\): FAIL\(.*\)/FAIL fuzz seed \1 \2\3 (kept in '"${out##*/}"'\/\1)/p' "$log" |
	cut -c1-400
grep -q ': FAIL' "$log" && exit 1
if [ "$rc" -ne 0 ] || ! grep -q '^[0-9]* passed, 0 failed' "$log"; then
	echo "FAIL fuzz run: exit $rc: $(tail -n 3 "$log" | tr '\n' '|')"
	exit 1
fi
exit 0
