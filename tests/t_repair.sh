#!/bin/sh
# fsck -y/-p repair on copies of the corpus images:
#  - every corrupted image: -y exits 1, the superblock is then clean (the
#    repair is written into the btrees, nothing left to replay), the next
#    -n exits 0 with empty bitmaps; extents/inodes/dirents/xattrs/
#    subvolumes/snapshots read back identical; where upstream's repair
#    restored the clean base exactly, so do we in every btree the rewrite
#    does not move (the allocation family follows the new nodes' buckets);
#    undo restores the bytes;
#  - every clean image: -y exits 0 and writes nothing;
#  - power cuts after every write of the repair, clean and torn, on the
#    seed image and a two-device image (the test build's
#    --test-fail-after-writes): -n then reports the original findings or
#    none;
#  - -p, undo refusals.
# Environment: BCACHEFS, IMAGES, TMPDIR (see tests/run.sh).
set -u


. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${IMAGES:?}" "${TMPDIR:?}"
work=$(mktemp -d "$TMPDIR/repair.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
B=$BCACHEFS
T=${BUILD:-build}/test/bcachefs	# the test build: power cuts on request
PROTECTED="extents inodes dirents xattrs subvolumes snapshots"

pass() { echo "PASS $1"; }

fail() { echo "FAIL $1 $2"; }

# decompress NAME's devices into DIR; print their paths
devices() {
	out=""
	for d in $(awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$IMAGES/index.tsv" | tr , ' '); do
		f="$2/${d%.zst}"
		[ -f "$f" ] || zstd -q -d --sparse "$IMAGES/$d" -o "$f" || return 1
		out="$out $f"
	done
	echo "$out"
}

passphrase_opt() {
	p=$(awk -F'\t' -v n="$1" '$1 == n { print $5 }' "$IMAGES/index.tsv")
	[ "$p" = "-" ] && return
	printf '%s\n' "$p" > "$work/pass"
	echo "--passphrase-file=$work/pass"
}

protected_keys() {
	# shellcheck disable=SC2086
	"$B" list --format=keys -b "$(echo $PROTECTED | tr ' ' ,)" "$@"
}

# every key but those of the btrees a rewrite moves with its nodes: alloc,
# lru, freespace, need_discard, bucket_gens, and the backpointers of btree
# nodes (data type 3, value byte 2)
unmoved_keys() {
	"$B" list --format=keys -b all "$@" |
		awk '$1 != "alloc" && $1 != "lru" && $1 != "freespace" &&
		     $1 != "need_discard" && $1 != "bucket_gens" &&
		     !($1 == "backpointers" && substr($6, 5, 2) == "03")'
}

sb_clean() {
	"$B" show-super "$1" | grep -q '^Clean: *1$'
}

base_of() {
	sed -n "s/^| $1 | corrupted | \([a-z0-9-]*\) .*/\1/p" "$IMAGES/README.md" | head -1
}

# upstream's repair left keys different from the base (node rewrites): see README
base_differs() {
	case $1 in resized-valid|v136-alloc-wrong-sectors) return 0 ;; esac
	return 1
}

repair_one() {
	name=$1
	dir="$work/$name"
	mkdir -p "$dir"
	files=$(devices "$name" "$dir") || { fail "repair $name" "cannot decompress"; return; }
	before=$(cat $files | sha256sum)
	protected_keys $files > "$dir/prot.before" 2>/dev/null
	# shellcheck disable=SC2086
	( cd "$dir" && "$B" fsck -y -z "$dir/undo" $files > "$dir/y.out" 2>&1 )
	st=$?
	if [ $st -ne 1 ]; then
		fail "repair $name" "fsck -y exit $st: $(tail -3 "$dir/y.out" | tr '\n' '|')"
		return
	fi
	"$B" fsck -n --json="$dir/after.json" $files > "$dir/n.out" 2>&1
	st=$?
	if [ $st -ne 0 ] || grep -q '"mismatch":\[ *\[' "$dir/after.json" ||
	   grep -q '"empty":\[ *\[' "$dir/after.json"; then
		fail "repair $name" "fsck -n after repair: exit $st: $(tail -2 "$dir/n.out" | tr '\n' '|')"
		return
	fi
	for f in $files; do
		if ! sb_clean "$f"; then
			fail "repair $name" "superblock of $f not clean after the repair"
			return
		fi
	done
	protected_keys $files > "$dir/prot.after" 2>/dev/null
	if ! cmp -s "$dir/prot.before" "$dir/prot.after"; then
		fail "repair $name" "user data or namespace keys changed"
		return
	fi
	base=$(base_of "$name")
	if [ -n "$base" ] && ! base_differs "$name"; then
		basedir="$work/base-$base"
		mkdir -p "$basedir"
		bfiles=$(devices "$base" "$basedir")
		[ -f "$basedir/keys" ] || unmoved_keys $bfiles > "$basedir/keys" 2>/dev/null
		unmoved_keys $files > "$dir/after.keys" 2>/dev/null
		if ! cmp -s "$basedir/keys" "$dir/after.keys"; then
			fail "repair $name" "keys differ from the clean base $base: $(diff "$basedir/keys" "$dir/after.keys" | head -4 | tr '\n' '|')"
			return
		fi
	fi
	pass "repair $name"

	"$B" undo "$dir/undo" $files > "$dir/undo.out" 2>&1
	st=$?
	after=$(cat $files | sha256sum)
	if [ $st -eq 0 ] && [ "$before" = "$after" ]; then
		pass "undo $name"
	else
		fail "undo $name" "exit $st, bytes restored: $([ "$before" = "$after" ] && echo yes || echo no)"
	fi
	rm -f $files
}

clean_one() {
	name=$1
	dir="$work/$name"
	mkdir -p "$dir"
	files=$(devices "$name" "$dir") || { fail "clean -y $name" "cannot decompress"; return; }
	popt=$(passphrase_opt "$name")
	before=$(digest $files)
	# shellcheck disable=SC2086
	( cd "$dir" && "$B" fsck -y $popt $files > "$dir/y.out" 2>&1 )
	st=$?
	after=$(digest $files)
	if [ $st -eq 0 ] && [ "$before" = "$after" ] && ! ls "$dir"/*.undo >/dev/null 2>&1; then
		pass "clean -y $name"
	else
		fail "clean -y $name" "exit $st, unchanged: $([ "$before" = "$after" ] && echo yes || echo no)"
	fi
	rm -f $files
}

# power cut after k writes (and the (k+1)-th torn in half)
powercut() {
	name=$1
	dir="$work/pc-$name"
	mkdir -p "$dir/orig"
	files=$(devices "$name" "$dir/orig") || { fail "powercut $name" "cannot decompress"; return; }
	"$B" fsck -n --findings $files 2>/dev/null | sort > "$dir/orig.findings"
	bad=""
	# the number of writes of the whole repair
	for f in $files; do cp --sparse=always "$f" "$dir/$(basename "$f")"; done
	"$T" fsck -y --no-undo $(for f in $files; do echo "$dir/$(basename "$f")"; done) > "$dir/full.out" 2>&1
	n=$(sed -n 's/^repair: .*(\([0-9]*\) writes)$/\1/p' "$dir/full.out")
	[ -n "$n" ] || { fail "powercut $name" "no repair: $(tail -2 "$dir/full.out" | tr '\n' '|')"; return; }
	k=0
	while [ $k -le "$n" ]; do
		for torn in "" ":torn"; do
			copies=""
			for f in $files; do
				cp --sparse=always "$f" "$dir/$(basename "$f")"
				copies="$copies $dir/$(basename "$f")"
			done
			"$T" fsck -y --no-undo --test-fail-after-writes="$k$torn" $copies \
				> "$dir/y.out" 2>&1
			st=$?
			"$B" fsck -n --findings $copies 2> "$dir/n.err" | sort > "$dir/now"
			if ! cmp -s "$dir/now" "$dir/orig.findings" && [ -s "$dir/now" ]; then
				bad="$bad k=$k$torn"
			fi
			if [ -s "$dir/n.err" ] && grep -q 'bcachefs:' "$dir/n.err" &&
			   ! grep -q warning "$dir/n.err"; then
				bad="$bad k=$k$torn(unreadable)"
			fi
		done
		[ $st -eq 1 ] && break	# every write went through
		k=$((k + 1))
	done
	if [ -z "$bad" ] && [ $st -eq 1 ] && [ "$k" = "$n" ]; then
		pass "powercut $name ($k writes)"
	else
		fail "powercut $name" "bad states:$bad last exit $st"
	fi
}

while IFS='	' read -r name devs version kind pass; do
	case $kind in
	corrupted) repair_one "$name" ;;
	clean|fresh) clean_one "$name" ;;
	esac
done <<EOF_INDEX
$(tail -n +2 "$IMAGES/index.tsv")
EOF_INDEX

powercut copygc-oob
powercut two-dev-oob

# undo after a repair cut short (before the commit point and after it): every
# region holds the repair's bytes or still the old ones; undo restores all
dir="$work/undo-cut"
mkdir -p "$dir"
bad=""
for k in 3 16; do
	files=$(devices two-dev-oob "$dir")
	before=$(cat $files | sha256sum)
	"$T" fsck -y -z "$dir/u$k" --test-fail-after-writes="$k" $files > /dev/null 2>&1
	"$B" undo "$dir/u$k" $files > "$dir/o$k" 2>&1 || bad="$bad k=$k(exit $?)"
	[ "$(cat $files | sha256sum)" = "$before" ] || bad="$bad k=$k(bytes)"
	rm -f $files
done
[ -z "$bad" ] && pass "undo after a power cut" || fail "undo after a power cut" "$bad"

# -p: safe repairs only; an alloc correction is left for -y
dir="$work/preen"
mkdir -p "$dir"
files=$(devices alloc-wrong-sectors "$dir")
"$B" fsck -p --no-undo $files > "$dir/p.out" 2>&1
st=$?
if [ $st -eq 4 ] && grep -q 'not fixed: alloc_key_dirty_sectors_wrong 2' "$dir/p.out"; then
	pass "preen leaves alloc corrections"
else
	fail "preen leaves alloc corrections" "exit $st"
fi
files=$(devices copygc-oob "$dir")
"$B" fsck -p --no-undo $files > "$dir/p2.out" 2>&1
st=$?
[ $st -eq 1 ] && pass "preen copygc-oob" || fail "preen copygc-oob" "exit $st"

# undo refuses another filesystem and a target changed since
dir="$work/undo"
mkdir -p "$dir"
a=$(devices copygc-oob "$dir")
other=$(devices tiny-128 "$dir")
"$B" fsck -y -z "$dir/u" $a > /dev/null 2>&1
"$B" undo "$dir/u" $other > "$dir/o1" 2>&1
s1=$?
# shellcheck disable=SC2086
set -- $a
printf 'X' | dd of="$1" bs=1 seek=4200 conv=notrunc 2>/dev/null
"$B" undo "$dir/u" $a > "$dir/o2" 2>&1
s2=$?
if [ $s1 -eq 8 ] && grep -q 'does not belong' "$dir/o1" && [ $s2 -eq 8 ] &&
   grep -q 'changed since the repair' "$dir/o2"; then
	pass "undo refusals"
else
	fail "undo refusals" "exit $s1/$s2"
fi

# refuse to write to an image attached to a loop device, or to a block
# device another process holds open exclusively (needs loop devices)
dir="$work/loop"
mkdir -p "$dir"
img=$(devices copygc-oob "$dir")
# shellcheck disable=SC2086
set -- $img
if command -v python3 >/dev/null 2>&1 && loop=$(losetup -f --show "$1" 2>/dev/null); then
	"$B" fsck -y --no-undo "$1" > "$dir/o1" 2>&1
	s1=$?
	python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
time.sleep(10)' "$loop" 2>/dev/null &
	holder=$!
	sleep 1
	"$B" fsck -y --no-undo "$loop" > "$dir/o2" 2>&1
	s2=$?
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
	losetup -d "$loop"
	if [ $s1 -eq 8 ] && grep -q 'attached to /dev/loop' "$dir/o1" && [ $s2 -eq 8 ] &&
	   grep -q 'in use' "$dir/o2"; then
		pass "refuse devices in use"
	else
		fail "refuse devices in use" "exit $s1/$s2"
	fi
else
	echo "SKIP refusal of devices in use: no loop device (or no python3)"
fi

# on a terminal fsck asks per error type: yes to the LRU entry, no to the
# backpointers (script(1) gives it a terminal)
if command -v script >/dev/null 2>&1; then
	dir="$work/ask"
	mkdir -p "$dir"
	img=$(devices copygc-oob "$dir")
	# shellcheck disable=SC2086
	set -- $img
	printf 'y\nn\n' | script -qec "\"$B\" fsck --no-undo \"$1\"; echo \"status \$?\"" /dev/null \
		> "$dir/out" 2>&1
	if grep -q '1 lru_entry_to_invalid_bucket (lru_invalid_bucket): LRU entry points outside its device' "$dir/out" &&
	   grep -q 'Fix: delete the LRU entry? ' "$dir/out" &&
	   grep -q 'not fixed: ptr_to_missing_backpointer 6 (declined)' "$dir/out" &&
	   grep -q 'status 4' "$dir/out" &&
	   [ "$("$B" fsck -n --findings "$1" | grep -c '^bp_missing')" = 6 ] &&
	   ! "$B" fsck -n --findings "$1" | grep -q '^lru_invalid_bucket'; then
		pass "fsck asks per error type"
	else
		fail "fsck asks per error type" "$(tr '\r\n' '  ' < "$dir/out" | tail -c 300)"
	fi
	# a second repair finishes what the first left, on the first's new nodes
	"$B" fsck -y --no-undo "$1" > "$dir/y2" 2>&1
	st=$?
	unmoved_keys "$1" > "$dir/keys" 2>&1
	mkdir -p "$dir/base"
	unmoved_keys $(devices small "$dir/base") > "$dir/base.keys" 2>&1
	if [ $st -eq 1 ] && "$B" fsck -n "$1" > /dev/null 2>&1 && sb_clean "$1" &&
	   cmp -s "$dir/base.keys" "$dir/keys"; then
		pass "second repair after a partial one"
	else
		fail "second repair after a partial one" "exit $st"
	fi
fi

# dirty pointers of another generation (alloc gens poked, found by fuzzing):
# the buckets take the generation of newer pointers, stale ones are dropped
# from their extents; a second -y finds nothing and writes nothing
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_corrupt" ]; then
	dir="$work/stale"
	mkdir -p "$dir"
	files=$(devices two-dev-oob "$dir")
	# shellcheck disable=SC2086
	set -- $files
	"$BUILD/tools/bch_corrupt" "$2" node-poke 9344 4150 36 --fix-csum > /dev/null 2>&1 &&
	"$BUILD/tools/bch_corrupt" "$1" node-poke 6912 43234 f37fff --fix-csum > /dev/null 2>&1 &&
	"$BUILD/tools/bch_corrupt" "$2" node-poke 9344 4142 ffffff --fix-csum > /dev/null 2>&1
	"$B" fsck -y --no-undo $files > "$dir/y1" 2>&1
	s1=$?
	"$B" fsck -y --no-undo $files > "$dir/y2" 2>&1
	s2=$?
	if [ $s1 -eq 1 ] && [ $s2 -eq 0 ] && grep -q 'fixed: stale_dirty_ptr' "$dir/y1" &&
	   ! grep -q 'not fixed' "$dir/y1" && ! grep -q '^repair:' "$dir/y2"; then
		pass "pointers of another generation repaired, a second run clean"
	else
		fail "pointers of another generation repaired, a second run clean" "exit $s1/$s2: $(grep -E 'fixed|repair:' "$dir/y1" | tr '\n' ' ')"
	fi
fi

# 1.36: a backpointer given reconcile class 1 (hipri) without its
# reconcile_hipri_phys key: found, then set by the repair
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_corrupt" ]; then
	dir="$work/phys"
	mkdir -p "$dir"
	files=$(devices v136-small "$dir")
	# shellcheck disable=SC2086
	set -- $files
	sector=$("$B" list --format=nodes -b backpointers "$1" | awk '{ split($5, p, ":"); print p[2]; exit }')
	# key 18 of that leaf: header 3 u64s, flags at value byte 4
	byte=$("$BUILD/tools/bch_corrupt" "$1" node-keys "$sector" |
		awk '$1 == "key" && $2 == 18 { print $6 + 8 * 3 + 4 }')
	"$BUILD/tools/bch_corrupt" "$1" node-poke "$sector" "$byte" 01 --fix-csum > /dev/null 2>&1
	"$B" fsck -n --findings "$1" > "$dir/n1" 2>&1
	s1=$?
	"$B" fsck -y --no-undo "$1" > "$dir/y" 2>&1
	s2=$?
	"$B" fsck -n "$1" > "$dir/n2" 2>&1
	s3=$?
	if [ $s1 -eq 4 ] && grep -q '^reconcile_phys_wrong reconcile_hipri_phys:.* found_class=0 bp_class=1' "$dir/n1" &&
	   [ $s2 -eq 1 ] && [ $s3 -eq 0 ]; then
		pass "reconcile phys key set"
	else
		fail "reconcile phys key set" "exit $s1/$s2/$s3: $(head -2 "$dir/n1" | tr '\n' ' ')"
	fi
fi

# encrypted: a bad LRU entry committed through the journal (encrypted and
# MACed like upstream's), found, repaired into new encrypted nodes with the
# journal replayed into them (clean afterwards), undone
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_inject" ]; then
	dir="$work/enc"
	mkdir -p "$dir"
	files=$(devices encrypted "$dir")
	# shellcheck disable=SC2086
	set -- $files
	printf 'bcachefs-test\n' > "$dir/pw"
	before=$(sha256sum < "$1")
	"$BUILD/tools/bch_inject" --passphrase-file="$dir/pw" "$1" -- \
		insert lru 18446462598732841960:256:0 set - > /dev/null 2>&1
	injected=$(sha256sum < "$1")
	"$B" fsck -n --passphrase-file="$dir/pw" --findings "$1" > "$dir/n1" 2>&1
	s1=$?
	"$B" fsck -y -z "$dir/undo" --passphrase-file="$dir/pw" "$1" > "$dir/y" 2>&1
	s2=$?
	"$B" fsck -n --passphrase-file="$dir/pw" "$1" > "$dir/n2" 2>&1
	s3=$?
	clean=0
	sb_clean "$1" && clean=1
	"$B" undo "$dir/undo" "$1" > /dev/null 2>&1
	s4=$?
	if [ "$before" != "$injected" ] && [ $s1 -eq 4 ] &&
	   grep -q '^lru_invalid_bucket lru:18446462598732841960:256:0' "$dir/n1" &&
	   [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && [ $s4 -eq 0 ] && [ "$clean" = 1 ] &&
	   [ "$(sha256sum < "$1")" = "$injected" ]; then
		pass "encrypted: injected entry found, repaired, undone"
	else
		fail "encrypted: injected entry found, repaired, undone" "exit $s1/$s2/$s3/$s4: $(head -c 200 "$dir/n1")"
	fi
fi

# an in-use bucket's alloc key deleted (no triggers, as upstream's tools
# can): reported, rebuilt from the pointers into the bucket, and its live
# backpointers are kept
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_inject" ]; then
	dir="$work/noalloc"
	mkdir -p "$dir"
	files=$(devices small "$dir")
	# shellcheck disable=SC2086
	set -- $files
	"$BUILD/tools/bch_inject" "$1" -- delete alloc 0:108:0 > /dev/null 2>&1
	injected=$(sha256sum < "$1")
	nbp=$("$B" list --format=keys -b backpointers "$1" 2>&1 | grep -c .)
	"$B" fsck -n --findings "$1" > "$dir/n" 2>&1
	s1=$?
	"$B" fsck -y --no-undo "$1" > "$dir/y" 2>&1
	s2=$?
	"$B" list --format=keys -b backpointers "$1" > "$dir/bps" 2>&1
	if [ $s1 -eq 4 ] && grep -qx 'alloc_missing bucket=0:108' "$dir/n" && [ $s2 -eq 1 ] &&
	   grep -q '^fixed: ptr_to_missing_alloc_key 1' "$dir/y" &&
	   "$B" fsck -n "$1" > /dev/null 2>&1 &&
	   "$B" list --format=keys -b alloc -s 0:108 -e 0:108 "$1" 2>&1 | grep -q 'alloc_v4' &&
	   [ "$(grep -c . "$dir/bps")" -ge "$nbp" ] && [ "$(sha256sum < "$1")" != "$injected" ]; then
		pass "missing alloc key: rebuilt, backpointers kept"
	else
		fail "missing alloc key: rebuilt, backpointers kept" "exit $s1/$s2"
	fi
fi

# a user bucket whose alloc key says empty (dirty sectors 0, data type
# still user: found by the oracle fuzz): its counters come back from the
# pointers, and the filesystem checks clean
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_inject" ]; then
	dir="$work/alloc0"
	mkdir -p "$dir"
	files=$(devices small "$dir")
	# shellcheck disable=SC2086
	set -- $files
	line=$("$B" list --format=keys -b alloc "$1" | awk 'substr($6, 29, 2) == "04"' | head -1)
	pos=$(echo "$line" | cut -d' ' -f2)
	val=$(echo "$line" | cut -d' ' -f6)
	val="$(echo "$val" | cut -c1-32)00000000$(echo "$val" | cut -c41-)"
	"$BUILD/tools/bch_inject" "$1" -- insert alloc "$pos" alloc_v4 "$val" > /dev/null 2>&1
	"$B" fsck -n --findings "$1" > "$dir/n1" 2>&1
	s1=$?
	"$B" fsck -y --no-undo "$1" > "$dir/y" 2>&1
	s2=$?
	"$B" fsck -n "$1" > "$dir/n2" 2>&1
	s3=$?
	if [ -n "$pos" ] && [ $s1 -eq 4 ] && grep -q '^alloc_sectors_wrong' "$dir/n1" &&
	   [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && sb_clean "$1"; then
		pass "alloc key emptied under its data: counters restored"
	else
		fail "alloc key emptied under its data: counters restored" "exit $s1/$s2/$s3 at $pos"
	fi
fi

# an unclean filesystem (dirty: its last changes only in the journal) with
# a bad LRU entry injected: the repair replays the journal into the btrees
# and leaves it clean; every key reads back as recovery saw it before
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/tools/bch_inject" ]; then
	dir="$work/dirty"
	mkdir -p "$dir"
	files=$(devices dirty "$dir")
	# shellcheck disable=SC2086
	set -- $files
	unmoved_keys "$1" > "$dir/before" 2>&1
	"$BUILD/tools/bch_inject" "$1" -- insert lru 18446462598732841960:256:0 set - > /dev/null 2>&1
	"$B" fsck -n --findings "$1" > "$dir/n1" 2>&1
	s1=$?
	unclean=0
	sb_clean "$1" || unclean=1
	"$B" fsck -y --no-undo "$1" > "$dir/y" 2>&1
	s2=$?
	"$B" fsck -n "$1" > "$dir/n2" 2>&1
	s3=$?
	unmoved_keys "$1" > "$dir/after" 2>&1
	if [ $unclean = 1 ] && [ $s1 -eq 4 ] && grep -q '^lru_invalid_bucket' "$dir/n1" &&
	   [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && sb_clean "$1" &&
	   cmp -s "$dir/before" "$dir/after"; then
		pass "unclean filesystem: journal replayed into the btrees, clean after"
	else
		fail "unclean filesystem: journal replayed into the btrees, clean after" "exit $s1/$s2/$s3: $(diff "$dir/before" "$dir/after" | head -3 | tr '\n' '|')"
	fi
fi
