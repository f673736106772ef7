#!/bin/sh
# Benchmark (not a test): bcachefs fsck -n at scale, beside the floor, the
# time it takes just to read the btree nodes it needs (bench/readfloor).
#   sh bench/scale.sh [--build DIR] [--sizes 1e5,1e6,1e7] [--devices 1,4]
#                     [--csv FILE] [--keep DIR]
# (or `make scale SCALE_OPTS="..."`). For each size and device count
# build/bench/mkimage makes a clean image, then, warm (image in the page
# cache) and cold (its pages dropped first: dd iflag=nocache), it runs:
#   fsck       fsck -n of the clean image
#   floor      reading once each node of the btrees that run reads (alloc,
#              backpointers, lru, freespace, need_discard, bucket_gens,
#              accounting whole, the interior nodes of the others)
#   scan       fsck -n with one bucket per device whose alloc key is wrong
#              (mkimage --inject=alloc-sectors): the pointer scan runs
#   scanfloor  the floor of that run: the extents leaves too
#   repair     fsck -y of that image (warm only)
# and prints a table: wall, CPU, peak RSS, bytes read (fsck --stats; a
# node read twice counts twice), keys in the alloc and backpointers
# btrees, and fsck's wall over the floor's. The CSV (default
# scale.csv in the current directory) has one row per run.
set -u

cd "$(dirname "$0")/.." || exit 1
BUILD=build
SIZES=1e5,1e6,1e7
DEVICES=1,4
CSV=$PWD/scale.csv
KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--devices) DEVICES=$2; shift 2 ;;
	--csv) CSV=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	*) echo "usage: sh bench/scale.sh [--build DIR] [--sizes N,N] [--devices N,N] [--csv FILE] [--keep DIR]" >&2
	   exit 2 ;;
	esac
done
MK=$BUILD/bench/mkimage
FLOOR=$BUILD/bench/readfloor
BIN=./bcachefs
for x in "$MK" "$FLOOR" "$BIN"; do
	[ -x "$x" ] || { echo "bench: $x missing (make scale builds it)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-scale.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM

# the pages of these files leave the page cache
drop_cache() {
	sync	# dirty pages cannot be dropped
	for f in "$@"; do
		dd if="$f" iflag=nocache count=0 status=none 2> /dev/null
	done
}

# word KEY: the value of KEY=VALUE on the stats line in $TMP/stats
word() {
	sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" "$TMP/stats" | tail -n 1
}

# nodes DATA DEVS...: "dev:sector:written" of every node the run reads (its
# first pointer, and the sectors the pointer says were written: what fsck
# reads of it), to stdin of readfloor
nodes() {
	_data=$1
	shift
	"$BIN" list --format=nodes "$@" | awk -v data="$_data" '
		BEGIN { split("alloc backpointers lru freespace need_discard bucket_gens accounting", w, " ")
			for (i in w) whole[w[i]] = 1 }
		{ split($(NF - 2), p, ","); }
		whole[$1] || $2 > 0 || (data && ($1 == "extents" || $1 == "reflink" || $1 == "stripes")) { print p[1] ":" $(NF - 1) }'
}

# one LABEL CACHE DATA MODE DEVS...: a timed fsck run and its floor; a CSV row and a table row
one() {
	label=$1 cache=$2 data=$3 mode=$4
	shift 4
	[ "$cache" = cold ] && drop_cache "$@"
	# shellcheck disable=SC2046 # a repair's undo file goes to $TMP
	"$BIN" fsck "$mode" $([ "$mode" = -y ] && echo "-z $TMP/repair.undo") --stats \
		--no-progress "$@" > "$TMP/out" 2> "$TMP/stats"
	st=$?
	rm -f "$TMP/repair.undo"
	wall=$(word wall_s) cpu=$(awk -v u="$(word user_s)" -v s="$(word sys_s)" 'BEGIN { printf "%.3f", u + s }')
	rss=$(word maxrss_kib) bytes=$(word read_bytes) nodes=$(word nodes)
	fwall=- fbytes=- ratio=-
	if [ "$mode" = -n ]; then
		nodes "$data" "$@" > "$TMP/nodes"
		[ "$cache" = cold ] && drop_cache "$@"
		# shellcheck disable=SC2046
		"$FLOOR" $([ "$cache" = cold ] && echo --cold) "$NODE_BYTES" "$@" < "$TMP/nodes" > "$TMP/floor" ||
			echo "bench: readfloor failed" >&2
		fwall=$(sed -n 's/.*wall_s=//p' "$TMP/floor")
		fbytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$TMP/floor")
		ratio=$(awk -v a="$wall" -v b="$fwall" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
	fi
	echo "$VER,$NDEV,$NB,$KEYS,$label,$cache,$st,$wall,$cpu,$rss,$nodes,$bytes,$fwall,$fbytes,$ratio" >> "$CSV"
	printf '| %s | %s | %s | %s | %s | %s | %s s | %s s | %s MiB | %s MiB | %s s | %s |\n' \
		"$NDEV" "$NB" "$KEYS" "$label" "$cache" "$st" "$wall" "$cpu" "$((rss / 1024))" \
		"$((bytes / 1048576))" "$fwall" "$ratio"
}

echo "version,devices,buckets,alloc_bp_keys,run,cache,exit,wall_s,cpu_s,maxrss_kib,nodes,read_bytes,floor_wall_s,floor_bytes,wall_over_floor" > "$CSV"
echo "| devices | buckets | alloc+bp keys | run | cache | exit | wall | CPU | peak RSS | read | floor | wall/floor |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
VER=1.28
for NB in $(echo "$SIZES" | tr , ' '); do
	for NDEV in $(echo "$DEVICES" | tr , ' '); do
		dir=$TMP/img
		[ -n "$KEEP" ] && dir=$KEEP
		mkdir -p "$dir"
		base=$dir/s$NB-d$NDEV
		for kind in clean scan; do
			[ -e "$base-$kind.img" ] && continue
			inj=
			# the scan image: the same, but for the alloc key of each
			# device's highest user data bucket (alloc value byte 14: 4)
			[ "$kind" = scan ] && inj=$(for f in "$base"-clean*.img; do printf '%s ' "$f"; done |
				xargs "$BIN" list --format=keys -b alloc |
				awk '$3 == "alloc_v4" && substr($6, 29, 2) == "04" { split($2, p, ":"); top[p[1]] = p[2] }
				     END { for (d in top) printf " --inject=alloc-sectors@%s:%s", d, top[d] }')
			# shellcheck disable=SC2086
			"$MK" -q --version="$VER" --devices="$NDEV" --buckets="$NB" $inj \
				"$base-$kind.img" > "$TMP/mk.$kind" 2>&1 ||
				{ echo "bench: mkimage failed: $(tail -n 1 "$TMP/mk.$kind")" >&2; exit 1; }
		done
		clean=$base-clean.img
		scan=$base-scan.img
		cleandevs=$clean scandevs=$scan
		d=1
		while [ "$d" -lt "$NDEV" ]; do
			cleandevs="$cleandevs ${clean%.img}.dev$d.img"
			scandevs="$scandevs ${scan%.img}.dev$d.img"
			d=$((d + 1))
		done
		# shellcheck disable=SC2086
		KEYS=$("$BIN" list --format=keys -b alloc,backpointers $cleandevs | wc -l)
		# shellcheck disable=SC2086
		NODE_BYTES=$("$BIN" show-super $cleandevs | awk '$1 == "btree_node_size:" {
			v = $2; if ($3 ~ /^K/) v *= 1024; if ($3 ~ /^M/) v *= 1048576; printf "%d", v; exit }')
		for cache in warm cold; do
			# shellcheck disable=SC2086
			one fsck "$cache" 0 -n $cleandevs
			# shellcheck disable=SC2086
			one scan "$cache" 1 -n $scandevs
		done
		for f in $scandevs; do
			cp --sparse=always "$f" "$f.copy"
		done
		# shellcheck disable=SC2046
		one repair warm 1 -y $(for f in $scandevs; do printf '%s.copy ' "$f"; done)
		rm -f "$dir"/*.copy
		[ -n "$KEEP" ] || rm -f "$dir"/*
	done
done
echo "CSV: $CSV"
