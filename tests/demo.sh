#!/bin/sh
# `make demo`: what the checker does, on the seed image copygc-oob.
#   sh tests/demo.sh IMAGES
set -u

. "$(dirname "$0")/lib.sh"
repo_setup "$0" "${1:-}"
SRC=$IMAGES/copygc-oob.img.zst

[ -r "$SRC" ] || { echo "demo: $SRC not found (IMAGES=$IMAGES)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-demo.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM
IMG=$TMP/copygc-oob.img

say() {
	echo
	echo "== $*"
}

# meaning STATUS: the exit status in words (fsck(8) conventions)
meaning() {
	case $1 in
	0) echo "success" ;;
	1) echo "errors corrected" ;;
	4) echo "errors left uncorrected" ;;
	8) echo "operational error" ;;
	16) echo "usage error" ;;
	*) echo "unexpected" ;;
	esac
}

# show CMD...: print the command line, run it, print its exit status
show() {
	echo "\$ bcachefs $*"
	"$BIN" "$@" </dev/null 2>&1
	st=$?
	echo "(exit status $st: $(meaning "$st"))"
	return "$st"
}

zstd -q -d -f --sparse "$SRC" -o "$IMG" </dev/null || { echo "demo: cannot decompress $SRC" >&2; exit 1; }
chmod u+w "$IMG"

cat <<'EOF'
The seed image copygc-oob: a 64 MiB bcachefs filesystem (on-disk format
1.28), one device of 256 buckets of 256 KiB (buckets 0..255). It was made
with upstream bcachefs-tools and then corrupted in two ways:
  - the 6 backpointers of the full user-data bucket 0:60 were deleted, so
    the alloc key says 512 sectors are used while no backpointer accounts
    for them;
  - a fragmentation LRU entry (time 1000) was inserted that names bucket
    256 of device 0: one past the last bucket.
Upstream's copygc before the fix (syzbot 3168625f36f4a539237e) took that LRU
entry at its word and read the per-device "backpointer mismatch" bitmap out
of bounds. A checker must find both problems without trusting the entry.
EOF

say "The superblock (selected lines): device 0 has 256 buckets of 256 KiB"
echo "\$ bcachefs show-super $IMG | grep ..."
"$BIN" show-super "$IMG" </dev/null >"$TMP/super" 2>&1
st=$?
grep -E '^(External UUID|Version|Clean|Devices):|^ *(Device|Size|Bucket size|First bucket|Buckets):' "$TMP/super"
echo "(exit status $st: $(meaning "$st"); $(wc -l <"$TMP/super") lines in all)"
[ "$st" -eq 0 ] || { cat "$TMP/super"; exit 1; }

say "The lru and alloc btrees as the checker reads them (first 20 lines)"
echo "\$ bcachefs list --format=text -b lru,alloc $IMG | head -n 20"
"$BIN" list --format=text -b lru,alloc "$IMG" </dev/null >"$TMP/list" 2>"$TMP/list.err"
st=$?
sed -n '1,20p' "$TMP/list"
cat "$TMP/list.err" >&2
echo "(exit status $st; $(wc -l <"$TMP/list") lines in all)"
[ "$st" -eq 0 ] || exit 1

say "All LRU entries; the bad one is for bucket 256"
show list --format=text -b lru "$IMG" || exit 1
echo
echo "The bad LRU entry in the exact key format: the position ends in :256:0, bucket 256"
echo "\$ bcachefs list --format=keys -b lru $IMG | grep ':256:0 '"
"$BIN" list --format=keys -b lru "$IMG" </dev/null | grep ':256:0 '

say "Bucket 0:60: alloc says it is full, but it has no backpointers left"
show list --format=keys -b alloc -s 0:60 -e 0:60 "$IMG" || exit 1
show list --format=keys -b backpointers -s 0:31457280 -e 0:31981567 "$IMG" || exit 1
echo "(no backpointer lines above: all 6 were deleted)"

if "$BIN" fsck --help >/dev/null 2>&1 </dev/null; then
	say "fsck -n: check only, the image is not written"
	show fsck -n "$IMG"
	st=$?
	[ "$st" -lt 8 ] || { echo "demo: fsck -n failed" >&2; exit 1; }

	say "Repair, on a copy"
	cp --sparse=always "$IMG" "$TMP/repaired.img" 2>/dev/null || cp "$IMG" "$TMP/repaired.img" || exit 1
	show fsck -y -z "$TMP/repair.undo" "$TMP/repaired.img"
	st=$?
	if [ "$st" -eq 16 ]; then
		echo "Repair (fsck -y) is not implemented yet: the demo stops at the check."
	else
		say "Undo the repair, on another copy of the repaired image"
		cp --sparse=always "$TMP/repaired.img" "$TMP/undone.img" || exit 1
		show undo "$TMP/repair.undo" "$TMP/undone.img"
		cmp -s "$IMG" "$TMP/undone.img" && echo "The undone copy is byte-identical to the original."

		[ "$st" -lt 8 ] || { echo "demo: repair failed" >&2; exit 1; }

		say "Check the repaired copy again"
		show fsck -n "$TMP/repaired.img"
		st=$?
		[ "$st" -lt 8 ] || { echo "demo: fsck -n of the repaired copy failed" >&2; exit 1; }
		[ "$st" -eq 0 ] && echo "The repaired copy is clean."
		echo "\$ bcachefs show-super ... | grep Clean"
		"$BIN" show-super "$TMP/repaired.img" </dev/null | grep -E '^Clean:'
		echo "(the repair left the filesystem cleanly shut down: nothing to replay)"

		say "The same for people whose kernel faults: bcachefs-repair, on another copy"
		cp --sparse=always "$IMG" "$TMP/script.img" || exit 1
		echo "\$ bcachefs-repair -y --log-dir $TMP/repair-log $TMP/script.img"
		BCACHEFS=$BIN sh "$ROOT/c_src/bcachefs-repair.sh" -y --log-dir "$TMP/repair-log" \
			"$TMP/script.img" </dev/null 2>&1 | tail -n 12
		echo "\$ ls $TMP/repair-log"
		ls "$TMP/repair-log"

		say "At boot, through fsck(8): fsck.bcachefs -p on the original (clean but faulting)"
		cp --sparse=always "$IMG" "$TMP/boot.img" || exit 1
		echo "\$ fsck.bcachefs -p $TMP/boot.img | head -n 2"
		"$ROOT/fsck.bcachefs" -p "$TMP/boot.img" </dev/null 2>&1 | head -n 2
		echo "\$ fsck.bcachefs -p $TMP/boot.img   # again: clean now, not checked"
		"$ROOT/fsck.bcachefs" -p "$TMP/boot.img" </dev/null 2>&1
		st=$?
		echo "(exit status $st: $(meaning "$st"))"
	fi
else
	say "fsck is not implemented yet: the demo stops at reading the image."
fi

cat <<'EOF'

What this showed: the checker opens the image read-only, reads the
superblock (256 buckets on device 0) and walks the alloc and lru btrees
with the journal overlaid; the LRU entry for bucket 256 is visibly outside
the device, and bucket 0:60 has an alloc key but no backpointers. fsck -n
reports them (an LRU entry to an invalid bucket, the bucket backpointer
mismatch and 6 missing backpointers) and says copygc would fault on older
kernels; fsck -y repairs a copy by writing new btree nodes (copy-on-write)
and leaves it cleanly shut down, the copy checks clean, and bcachefs undo
puts the original bytes back.
EOF
exit 0
