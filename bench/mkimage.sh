#!/bin/sh
# Benchmark (not a test) of build/bench/mkimage: for each size, the image is
# made in a temporary directory, checked with `bcachefs fsck -n` (and with
# upstream's fsck -n when ORACLE_MAX_BUCKETS allows and /opt/oracle is
# there), measured and deleted. Prints one markdown table row per size.
#   sh bench/mkimage.sh [VERSION:DEVICES:BUCKETS:EXTENTS ...]
# Default sizes: 1.28:1:1e5:1e6 1.36:1:1e5:1e6 1.28:1:1e6:1e6 1.28:4:1e6:1e6
# 1.28:1:1e7:1e7 1.28:4:1e7:1e7. Needs GNU time.
set -u

cd "$(dirname "$0")/.." || exit 1
MK=build/bench/mkimage
BIN=./bcachefs
ORACLE_MAX_BUCKETS=${ORACLE_MAX_BUCKETS:-1000000}
[ -x "$MK" ] && [ -x "$BIN" ] || { echo "bench: make mkimage bcachefs first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-mkimage.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM

[ $# -gt 0 ] || set -- 1.28:1:1e5:1e6 1.36:1:1e5:1e6 1.28:1:1e6:1e6 1.28:4:1e6:1e6 \
	1.28:1:1e7:1e7 1.28:4:1e7:1e7

echo "| version | devices | buckets | extents | mkimage wall | user | peak RSS | apparent | disk | fsck -n | upstream fsck -n |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for spec in "$@"; do
	IFS=: read -r ver ndev nb ne <<EOF
$spec
EOF
	rm -f "$TMP"/*
	/usr/bin/time -f '%e %U %M' -o "$TMP/t" "$MK" -q --version="$ver" --devices="$ndev" \
		--buckets="$nb" --extents="$ne" "$TMP/m.img" >"$TMP/out" 2>"$TMP/err" ||
		{ echo "| $ver | $ndev | $nb | $ne | failed: $(tail -n 1 "$TMP/err") |"; continue; }
	read -r wall user rss <"$TMP/t"
	devs=$(sed -n '1s/^image //p' "$TMP/out")
	app=$(du -c --apparent-size -B1G $devs | tail -n 1 | cut -f1)
	disk=$(du -c -B1M $devs | tail -n 1 | cut -f1)
	# shellcheck disable=SC2086
	/usr/bin/time -f '%e %M' -o "$TMP/t" "$BIN" fsck -n $devs >"$TMP/fsck" 2>&1
	st=$?
	read -r fwall frss <"$TMP/t"
	fsck="$(tail -n 1 "$TMP/fsck" | sed 's/.*summary: //; s/;.*//'), ${fwall} s, $((frss / 1024)) MiB"
	[ "$st" -eq 0 ] || fsck="exit $st: $fsck"
	up="-"
	orc=/opt/oracle/fixed/bcachefs-fsck
	[ "$ver" = 1.36 ] && orc=/opt/oracle/v136/bcachefs-fsck
	if [ -x "$orc" ] && awk "BEGIN { exit !($nb <= $ORACLE_MAX_BUCKETS) }"; then
		copies=
		for d in $devs; do
			cp --sparse=always "$d" "$d.copy" && copies="$copies $d.copy"
		done
		# shellcheck disable=SC2086
		/usr/bin/time -f '%e %M' -o "$TMP/t" "$orc" -n $copies >"$TMP/up" 2>&1
		ust=$?
		read -r uwall urss <"$TMP/t"
		up="exit $ust, ${uwall} s, $((urss / 1024)) MiB"
		# shellcheck disable=SC2086
		rm -f $copies
	fi
	echo "| $ver | $ndev | $nb | $ne | $wall s | $user s | $((rss / 1024)) MiB | $app GiB | $disk MiB | $fsck | $up |"
done
