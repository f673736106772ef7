#!/bin/sh
# Benchmark (not a test) of `bcachefs list` on the largest image:
#   sh bench/list.sh IMAGES
# Prints wall time and peak RSS of the key and node listings, with `cat` of
# the image file for comparison.
set -u

. "$(dirname "$0")/../tests/lib.sh"
repo_setup "$0" "${1:-}"

# the largest single-device image, by compressed size
src=
best=-1
for f in "$IMAGES"/*.img.zst; do
	[ -f "$f" ] || continue
	case $f in *.dev[0-9]*.img.zst) continue ;; esac
	sz=$(wc -c <"$f")
	if [ "$sz" -gt "$best" ]; then
		best=$sz
		src=$f
	fi
done
[ -n "$src" ] || { echo "bench: no *.img.zst in $IMAGES" >&2; exit 1; }
name=${src##*/}
name=${name%.img.zst}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM
IMG=$TMP/$name.img

if [ -x /usr/bin/time ] && /usr/bin/time -f '%e' -o "$TMP/t" true 2>/dev/null; then
	TIMER=gnu
elif command -v bash >/dev/null 2>&1; then
	TIMER=bash
else
	TIMER=plain
fi

# measure LABEL CMD...: stdout of CMD discarded; one table row
measure() {
	_label=$1
	shift
	case $TIMER in
	gnu)
		/usr/bin/time -f '%e s %M KiB' -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" </dev/null
		_st=$?
		_res=$(tail -n 1 "$TMP/t")
		;;
	bash)
		bash -c 'TIMEFORMAT="%R s"; { time "$@" >/dev/null 2>"$0" </dev/null; } 2>&1' \
			"$TMP/err" "$@" >"$TMP/t"
		_st=$?
		_res="$(tail -n 1 "$TMP/t") (RSS n/a)"
		;;
	*)
		_t0=$(date +%s)
		"$@" >/dev/null 2>"$TMP/err" </dev/null
		_st=$?
		_res="$(($(date +%s) - _t0)) s (RSS n/a)"
		;;
	esac
	[ "$_st" -eq 0 ] || _res="$_res (exit status $_st: $(head -n 1 "$TMP/err"))"
	printf '%-48s %s\n' "$_label" "$_res"
}

printf 'decompressing %s ...\n' "$src"
t0=$(date +%s)
zstd -q -d -f --sparse "$src" -o "$IMG" </dev/null || { echo "bench: cannot decompress $src" >&2; exit 1; }
t1=$(date +%s)

apparent=$(wc -c <"$IMG")
real_kib=$(du -k "$IMG" | cut -f1)
keys=$("$BIN" list --format=keys -b alloc,backpointers,lru,extents "$IMG" </dev/null 2>/dev/null | wc -l)
nodes=$("$BIN" list --format=nodes -b all "$IMG" </dev/null 2>/dev/null | wc -l)

echo
echo "image:       $name ($(($(wc -c <"$src") / 1024)) KiB compressed, decompressed in $((t1 - t0)) s)"
echo "file size:   $apparent bytes apparent ($((apparent / 1048576)) MiB), du $real_kib KiB actually allocated (sparse)"
echo "listed:      $keys keys of alloc,backpointers,lru,extents; $nodes btree nodes"
echo "cpus:        $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?'); timer: $TIMER; the image is in the page cache (just written)"
echo
printf '%-48s %s\n' "what" "wall time, peak RSS"
printf '%-48s %s\n' "----" "-------------------"
for i in 1 2 3; do
	measure "list --format=keys -b alloc,bp,lru,extents #$i" \
		"$BIN" list --format=keys -b alloc,backpointers,lru,extents "$IMG"
done
measure "list --format=nodes -b all" "$BIN" list --format=nodes -b all "$IMG"
measure "cat IMG >/dev/null" cat "$IMG"
exit 0
