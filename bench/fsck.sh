#!/bin/sh
# Benchmark (not a test) of `bcachefs fsck -n` (check_bucket_bitmaps) on the
# largest image of the corpus, next to `cat` of the image and `bcachefs list`
# of the btrees the pass reads:
#   sh bench/fsck.sh [IMAGES]
# Prints wall time, CPU time (user+sys) and peak RSS, best of 3 runs.
set -u

. "$(dirname "$0")/../tests/lib.sh"
repo_setup "$0" "${1:-}"
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 1; }

src=$(ls -S "$IMAGES"/*.img.zst | grep -v '\.dev[0-9]' | head -1)
name=$(basename "$src" .img.zst)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-fsck-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
IMG=$TMP/$name.img
zstd -q -d --sparse "$src" -o "$IMG" || exit 1

# run LABEL CMD...: best wall time of 3, with its CPU time and peak RSS
run() {
	label=$1
	shift
	best=
	for i in 1 2 3; do
		/usr/bin/time -f '%e %U %S %M' -o "$TMP/t" "$@" > /dev/null 2>&1
		read -r wall user sys rss < "$TMP/t"
		if [ -z "$best" ] || awk "BEGIN { exit !($wall < $best) }"; then
			best=$wall
			line=$(awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v l="$label" \
				'BEGIN { printf "%-44s %8.2f s %8.2f s %9d KiB\n", l, w, u + s, r }')
		fi
	done
	echo "$line"
}

echo "image: $name ($(du -h --apparent-size "$IMG" | cut -f1) apparent, $(du -h "$IMG" | cut -f1) allocated)"
printf '%-44s %10s %10s %13s\n' "command" "wall" "cpu" "peak RSS"
run "cat IMG (whole file, sparse)" cat "$IMG"
run "list --format=keys alloc,backpointers,lru" "$BIN" list --format=keys -b alloc,backpointers,lru "$IMG"
run "list --format=keys (all btrees fsck reads)" "$BIN" list --format=keys \
	-b alloc,backpointers,lru,freespace,need_discard,bucket_gens "$IMG"
run "fsck -n" "$BIN" fsck -n "$IMG"
run "fsck -n --pass=alloc_backpointers" "$BIN" fsck -n --pass=alloc_backpointers "$IMG"
run "fsck -n -C 3 (progress protocol to a file)" sh -c '"$1" fsck -n -C 3 "$2" 3>"$3"' sh "$BIN" "$IMG" "$TMP/progress"
run "fsck -n -C 0 (progress line to a file)" sh -c '"$1" fsck -n -C 0 "$2" 2>"$3"' sh "$BIN" "$IMG" "$TMP/progress"
"$BIN" fsck -n -v "$IMG" | grep '^pass bucket_index done'
