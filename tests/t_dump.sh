#!/bin/sh
# bcachefs dump: a metadata-only copy for bug reports. On every image of
# the corpus (single and multi-device, every checksum type, encrypted,
# unclean, corrupted) and on a copy with unreadable btree nodes:
#   - `fsck -n --findings` and `list --format=keys -b all` give the same
#     output and exit status on the dump as on the original;
#   - the dump holds no more than the original (allocated blocks), the
#     original is not written, and a second dump into the same directory
#     is refused without touching the first.
# Environment: BCACHEFS, BUILD, IMAGES, TMPDIR (see tests/run.sh).
set -u

. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${BUILD:?}" "${IMAGES:?}" "${TMPDIR:?}"
B=$BCACHEFS
COR=$BUILD/tools/bch_corrupt
work=$(mktemp -d "$TMPDIR/dump.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# same_on NAME PASSOPT ORIG_DEVS -- DUMP_DEVS: the check and the listing
# agree between the original and the dump (stdout and exit status)
same_on() {
	_name=$1
	_pass=$2
	shift 2
	_orig=
	while [ "$1" != -- ]; do
		_orig="$_orig $1"
		shift
	done
	shift
	_why=
	for _cmd in "fsck -n --findings" "list --format=keys -b all"; do
		# shellcheck disable=SC2086 # word lists on purpose (no spaces in $work)
		"$B" $_cmd $_pass $_orig > "$work/a" 2> /dev/null < /dev/null
		_s1=$?
		# shellcheck disable=SC2086
		"$B" $_cmd $_pass "$@" > "$work/b" 2> /dev/null < /dev/null
		_s2=$?
		if [ $_s1 -ne $_s2 ]; then
			_why="$_why [$_cmd: exit $_s1 on the original, $_s2 on the dump]"
		elif ! cmp -s "$work/a" "$work/b"; then
			_why="$_why [$_cmd: output differs ($(wc -l < "$work/a") / $(wc -l < "$work/b") lines)]"
		fi
	done
	if [ -z "$_why" ]; then
		pass "$_name: fsck -n and list give the same on the dump"
	else
		fail "$_name" "$_why"
	fi
}

# allocated KiB of files
alloc_kib() {
	du -k -c "$@" | tail -n 1 | cut -f1
}

n=0
while IFS='	' read -r name devs version kind pass; do
	[ "$name" = name ] && continue
	d=$work/$name
	mkdir -p "$d"
	orig=
	ok=1
	for f in $(echo "$devs" | tr ',' ' '); do
		zstd -q -d --sparse "$IMAGES/$f" -o "$d/${f%.zst}" < /dev/null || ok=
		orig="$orig $d/${f%.zst}"
	done
	[ -n "$ok" ] || { fail "$name" "cannot decompress"; continue; }
	popt=
	if [ "$pass" != - ] && [ -n "$pass" ]; then
		printf '%s\n' "$pass" > "$d/pass"
		popt=--passphrase-file=$d/pass
	fi
	# shellcheck disable=SC2086
	h0=$(digest $orig)
	# shellcheck disable=SC2086
	"$B" dump -o "$d/dump" $popt $orig > "$d/out" 2>&1 < /dev/null
	st=$?
	if [ $st -ne 0 ]; then
		fail "$name" "dump exit $st: $(head -c 200 "$d/out")"
		rm -rf "$d"
		continue
	fi
	dumps=$(ls "$d/dump"/dev*.img)
	# shellcheck disable=SC2086
	same_on "$name ($kind, $version)" "$popt" $orig -- $dumps
	# shellcheck disable=SC2086
	if [ "$(digest $orig)" != "$h0" ]; then
		fail "$name: the original was written" "hash changed"
	fi
	# shellcheck disable=SC2086
	a1=$(alloc_kib $orig)
	# shellcheck disable=SC2086
	a2=$(alloc_kib $dumps)
	[ "$a2" -le "$a1" ] || fail "$name: the dump is larger than the original" "$a2 KiB > $a1 KiB"
	n=$((n + 1))
	if [ "$name" = medium ]; then
		h1=$(sha256sum < "$d/dump/dev0.img")
		"$B" dump -o "$d/dump" "$d/medium.img" > "$d/out2" 2>&1 < /dev/null
		st=$?
		if [ $st -eq 8 ] && grep -q 'File exists' "$d/out2" &&
		   [ "$(sha256sum < "$d/dump/dev0.img")" = "$h1" ]; then
			pass "a second dump into the same directory is refused (exit 8), the first untouched"
		else
			fail "second dump into the same directory" "exit $st: $(head -c 200 "$d/out2")"
		fi
		echo "note: medium: $a1 KiB allocated, its dump $a2 KiB"
	fi
	rm -rf "$d"
done < "$IMAGES/index.tsv"
[ $n -gt 0 ] || fail "corpus" "no image dumped"

# unreadable btree nodes: copied as they are, so the check finds them on the dump too
d=$work/broken
mkdir -p "$d"
zstd -q -d --sparse "$IMAGES/medium.img.zst" -o "$d/m.img" < /dev/null
# shellcheck disable=SC2046 # one word per sector
set -- $("$B" list --format=nodes -b lru,freespace "$d/m.img" 2> /dev/null |
	awk '$2 == 0 { split($5, p, ","); split(p[1], q, ":"); print q[2] }')
if [ $# -lt 2 ] || [ ! -x "$COR" ]; then
	fail "unreadable nodes" "cannot find the lru and freespace nodes, or no $COR"
else
	for s in "$@"; do
		"$COR" "$d/m.img" flip $((s * 512 + 144)) > /dev/null
	done
	"$B" dump -o "$d/dump" "$d/m.img" > "$d/out" 2>&1 < /dev/null
	st=$?
	if [ $st -eq 0 ]; then
		same_on "medium with unreadable lru and freespace nodes" "" "$d/m.img" -- "$d/dump/dev0.img"
		"$B" fsck -n --findings "$d/dump/dev0.img" 2> /dev/null | grep -q '^node_unreadable' ||
			fail "unreadable nodes in the dump" "fsck -n does not report them"
	else
		fail "dump of a filesystem with unreadable nodes" "exit $st: $(head -c 200 "$d/out")"
	fi
fi

# --sanitize: names and inline data gone, every check the same
derived=alloc,backpointers,lru,freespace,need_discard,bucket_gens,accounting
for name in medium dirty v136-medium two-dev; do
	d=$work/s-$name
	mkdir -p "$d"
	orig=$(corpus_devices "$name" "$d") || { fail "dump --sanitize $name" "cannot decompress"; continue; }
	# shellcheck disable=SC2086
	"$B" dump --sanitize -o "$d/dump" $orig > "$d/out" 2>&1 < /dev/null
	st=$?
	dumps=$(ls "$d/dump"/dev*.img 2> /dev/null)
	# names of the original (hex of the dirent values past their 9 fixed bytes)
	# shellcheck disable=SC2086
	"$B" list --format=keys -b dirents $orig 2> /dev/null | head -n 300 | awk '{ print substr($NF, 19) }' |
		while read -r h; do printf '%s' "$h" | xxd -r -p | tr -d '\0'; echo; done |
		awk 'length($0) >= 4' | sort -u | head -n 50 > "$d/names"
	# shellcheck disable=SC2086
	leaked=$(grep -h -a -o -F -f "$d/names" $dumps | sort -u | head -n 5 | tr '\n' ' ')
	# shellcheck disable=SC2086
	"$B" list --format=keys -b "$derived" $orig > "$d/a" 2> /dev/null
	# shellcheck disable=SC2086
	"$B" list --format=keys -b "$derived" $dumps > "$d/b" 2> /dev/null
	# shellcheck disable=SC2086
	n1=$("$B" list --format=keys -b dirents $orig 2> /dev/null | wc -l)
	# shellcheck disable=SC2086
	n2=$("$B" list --format=keys -b dirents $dumps 2> /dev/null | wc -l)
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $orig > "$d/f1" 2> /dev/null
	s1=$?
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $dumps > "$d/f2" 2> /dev/null
	s2=$?
	if [ $st -eq 0 ] && [ -s "$d/names" ] && [ -z "$leaked" ] && cmp -s "$d/a" "$d/b" &&
	   [ "$n1" -eq "$n2" ] && [ $s1 -eq $s2 ] && cmp -s "$d/f1" "$d/f2"; then
		pass "dump --sanitize $name: no name of $(wc -l < "$d/names") left, $n2 dirents, the derived btrees and fsck -n the same"
	else
		fail "dump --sanitize $name" "exit $st, names $(wc -l < "$d/names"), leaked:${leaked:- none}, dirents $n1/$n2, fsck $s1/$s2: $(tail -c 200 "$d/out")"
	fi
	rm -rf "$d"
done
mkdir -p "$work/enc"
zstd -q -d --sparse "$IMAGES/encrypted.img.zst" -o "$work/enc/e.img" < /dev/null
grep "^encrypted	" "$IMAGES/index.tsv" | cut -f5 > "$work/enc/pass"
"$B" dump --sanitize --passphrase-file="$work/enc/pass" -o "$work/enc/dump" "$work/enc/e.img" > "$work/enc/out" 2>&1
st=$?
if [ $st -eq 8 ] && grep -q 'encrypted' "$work/enc/out" && [ ! -e "$work/enc/dump" ]; then
	pass "dump --sanitize refuses an encrypted filesystem (exit 8), saying why, writing nothing"
else
	fail "dump --sanitize encrypted" "exit $st: $(head -c 200 "$work/enc/out")"
fi

# usage
"$B" dump "$work/x.img" > /dev/null 2>&1
st1=$?
"$B" dump -o "$work/none" > /dev/null 2>&1
st2=$?
"$B" dump -o "$work/none" "$work/no-such.img" > /dev/null 2>&1
st3=$?
if [ $st1 -eq 16 ] && [ $st2 -eq 16 ] && [ $st3 -eq 8 ] && [ ! -e "$work/none" ]; then
	pass "dump usage errors exit 16, an unreadable device 8, nothing created"
else
	fail "dump usage" "exits $st1/$st2/$st3, want 16/16/8"
fi

[ $nfail -eq 0 ]
