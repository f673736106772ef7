#!/bin/sh
# Benchmark (not a test) of repairs written by `bcachefs fsck -y` on the
# largest image of the corpus (big, 8 GiB sparse):
#   sh bench/repair.sh [IMAGES]
#  - fsck -y of big-12k (big with its first 12,000 backpointers deleted
#    through the journal by build/tools/bch_inject), best of 3, the image
#    put back by `bcachefs undo` between runs;
#  - fsck -y --rebuild=backpointers of the clean big (if fsck has
#    --rebuild), best of 3, likewise;
#  - for comparison, if /opt/oracle/fixed/bcachefs-fsck exists (an upstream
#    build outside this repository): upstream `fsck -y` of big-12k and
#    `fsck -f -y` of the clean big, once each, on a copy.
# Prints wall time and peak RSS (GNU time '%e %M') and the exit status.
set -u

. "$(dirname "$0")/../tests/lib.sh"
repo_setup "$0" "${1:-}"
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 1; }
BUILD=${BUILD:-$ROOT/build}
INJ=$BUILD/tools/bch_inject
[ -x "$INJ" ] || { echo "bench: $INJ not built (make build/tools/bch_inject)" >&2; exit 1; }
UP=/opt/oracle/fixed/bcachefs-fsck
[ -x "$UP" ] || UP=

src=$IMAGES/big.img.zst
[ -f "$src" ] || { echo "bench: no $src" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-repair-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM
IMG=$TMP/big.img
zstd -q -d --sparse "$src" -o "$IMG" || exit 1
chmod u+w "$IMG"

row() {
	printf '%-52s %8s s %10s KiB %5s   %s\n' "$@"
}

# ours LABEL ARGS...: best wall time of 3 runs of `fsck ARGS... -z U IMG`,
# each undone
ours() {
	label=$1
	shift
	best=
	for _ in 1 2 3; do
		rm -f "$TMP/undo"
		/usr/bin/time -f '%e %M' -o "$TMP/t" "$BIN" fsck "$@" -z "$TMP/undo" "$IMG" > "$TMP/out" 2>&1
		st=$?
		wall=$(tail -n 1 "$TMP/t" | cut -d' ' -f1)
		rss=$(tail -n 1 "$TMP/t" | cut -d' ' -f2)
		if [ -s "$TMP/undo" ]; then
			"$BIN" undo "$TMP/undo" "$IMG" > /dev/null 2>&1 ||
				{ echo "bench: undo failed after: $label" >&2; exit 1; }
		fi
		if [ -z "$best" ] || awk "BEGIN { exit !($wall < $best) }"; then
			best=$wall
			line=$(row "$label" "$wall" "$rss" "$st" "$(sed -n 's/^repair: \([0-9]*\) key updates (+\([0-9]*\) .*: \([0-9]*\) new nodes, \([0-9]*\) freed; .*(\([0-9]*\) writes)$/\1+\2 keys, \3 new nodes, \4 freed, \5 writes/p' "$TMP/out")")
		fi
	done
	echo "$line"
}

# upstream LABEL ARGS...: one run of upstream's fsck ARGS... on a copy of IMG
upstream() {
	label=$1
	shift
	cp --sparse=always "$IMG" "$TMP/up.img" || exit 1
	/usr/bin/time -f '%e %M' -o "$TMP/t" "$UP" "$@" "$TMP/up.img" > "$TMP/out" 2>&1
	st=$?
	wall=$(tail -n 1 "$TMP/t" | cut -d' ' -f1)
	rss=$(tail -n 1 "$TMP/t" | cut -d' ' -f2)
	row "$label" "$wall" "$rss" "$st" ""
	rm -f "$TMP/up.img"
}

echo "image: big ($(du -h --apparent-size "$IMG" | cut -f1) apparent, $(du -h "$IMG" | cut -f1) allocated)"
printf '%-52s %10s %14s %5s   %s\n' "command" "wall" "peak RSS" "exit" "repair"
if "$BIN" fsck --help 2>&1 | grep -q -- --rebuild; then
	ours "fsck -y --rebuild=backpointers big" -y --rebuild=backpointers
else
	echo "(fsck has no --rebuild: no rebuild run)"
fi
[ -n "$UP" ] && upstream "upstream fsck -f -y big" -f -y

"$BIN" list --format=keys -b backpointers "$IMG" | head -n 12000 | awk '{ print $2 }' > "$TMP/bps"
s=1
while [ $s -le 12000 ]; do
	# shellcheck disable=SC2046
	"$INJ" "$IMG" -- $(sed -n "$s,$((s + 2999))p" "$TMP/bps" |
		awk '{ printf "delete backpointers %s ", $1 }') > /dev/null ||
		{ echo "bench: bch_inject failed" >&2; exit 1; }
	s=$((s + 3000))
done
ours "fsck -y big-12k" -y
[ -n "$UP" ] && upstream "upstream fsck -y big-12k" -y
[ -n "$UP" ] || echo "(no $UP: no upstream runs)"
exit 0
