#!/bin/sh
# fsck reads and decodes btree nodes on worker threads: its report must
# not depend on how many. fsck -n --threads=1 and --threads=4 (and 3,
# where the batches fall differently) must print the same, byte for byte,
# with the same exit status: on an image made by mkimage with findings in
# it (always), and on every image of the corpus (when ../shared is there).
# Environment: BCACHEFS, BCACHEFS_SAN, BUILD, IMAGES, NO_IMAGES, TMPDIR (see
# tests/run.sh).
set -u

. "$(dirname "$0")/lib.sh"
: "${BCACHEFS:?}" "${BUILD:?}" "${TMPDIR:?}"
work=$(mktemp -d "$TMPDIR/threads.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

# same NAME DEV...: the report of every thread count equals --threads=1's
same() {
	name=$1
	shift
	"$BCACHEFS" fsck -n --no-progress --threads=1 "$@" < /dev/null > "$work/t1" 2>&1
	st1=$?
	for t in 3 4; do
		"$BCACHEFS" fsck -n --no-progress --threads=$t "$@" < /dev/null > "$work/tn" 2>&1
		stn=$?
		if [ "$st1" -ne "$stn" ] || ! cmp -s "$work/t1" "$work/tn"; then
			fail "threads $name" "--threads=$t exit $stn against $st1: $(diff "$work/t1" "$work/tn" | head -n 3 | tr '\n' ' ')"
			return
		fi
	done
	pass "threads $name: --threads=1, 3 and 4 report the same (exit $st1, $(wc -l < "$work/t1") lines)"
}

# an image of several hundred leaves per btree, with a finding on each device
MK=$BUILD/bench/mkimage
if [ -x "$MK" ]; then
	"$MK" -q --devices=2 --buckets=60000 --inject=missing-bp --inject=lru-past-end@1 \
		--inject=alloc-sectors "$work/m.img" > /dev/null 2>&1 &&
		same "mkimage 2 devices, 60000 buckets, 3 findings" "$work/m.img" "$work/m.dev1.img" ||
		fail "threads mkimage" "mkimage failed"
	# the sanitizer build, 4 threads, reports the same
	if [ -n "${BCACHEFS_SAN:-}" ] && [ -x "$BCACHEFS_SAN" ] && [ -e "$work/m.img" ]; then
		"$BCACHEFS_SAN" fsck -n --no-progress --threads=4 "$work/m.img" "$work/m.dev1.img" \
			> "$work/san" 2>&1
		if cmp -s "$work/t1" "$work/san"; then
			pass "threads mkimage under ASan/UBSan, 4 threads: the same report"
		else
			fail "threads mkimage under ASan/UBSan" "$(diff "$work/t1" "$work/san" | head -n 3 | tr '\n' ' ')"
		fi
	fi
	rm -f "$work"/m*.img
else
	fail "threads mkimage" "$MK not built"
fi

if [ -n "${NO_IMAGES:-}" ]; then
	echo "SKIP threads on the corpus: ${NO_IMAGES}"
	exit $((nfail > 0))
fi
pw=$work/pass
echo bcachefs-test > "$pw"
for name in $(awk -F '\t' 'NR > 1 && !/^#/ { print $1 }' "$IMAGES/index.tsv"); do
	devs=$(corpus_devices "$name" "$work") || { fail "threads $name" "cannot decompress"; continue; }
	# shellcheck disable=SC2086 # the device list
	same "$name" --passphrase-file="$pw" $devs
	# shellcheck disable=SC2086
	rm -f $devs
done
exit $((nfail > 0))
