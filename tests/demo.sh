#!/bin/sh
# `make demo`: what the checker does, on a filesystem made here from
# nothing (no image corpus needed): bcachefs format --source puts a few
# files on a 64 MiB image, tests/tools/bch_inject gives it the seed case's
# two faults, then fsck -n, a repair on a copy, undo, the second check,
# bcachefs-repair and fsck.bcachefs -p.
#   sh tests/demo.sh [BUILD]      (BUILD: the build directory, default build)
set -u
unset CDPATH

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
BUILD=$(cd "${1:-$ROOT/build}" 2> /dev/null && pwd) ||
	{ echo "demo: no build directory ${1:-$ROOT/build}" >&2; exit 1; }
BIN=$ROOT/bcachefs
INJ=$BUILD/tools/bch_inject
for f in "$BIN" "$INJ"; do
	[ -x "$f" ] || { echo "demo: $f not built (make bcachefs $BUILD/tools/bch_inject)" >&2; exit 1; }
done
"$BIN" format --help 2> /dev/null | grep -q -- '--source' ||
	{ echo "demo: this bcachefs format has no --source" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-demo.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM
IMG=$TMP/demo.img
# the paths as shown: relative to TMP
cd "$TMP" || exit 1

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
	"$BIN" "$@" < /dev/null 2>&1
	st=$?
	echo "(exit status $st: $(meaning "$st"))"
	return "$st"
}

# inject OP...: print the bch_inject command line and run it
inject() {
	echo "\$ bch_inject demo.img -- $*"
	"$INJ" demo.img -- "$@" < /dev/null 2>&1
}

cat << 'EOF'
A kernel before July 2025 faults in copygc on a bcachefs filesystem that has
a fragmentation LRU entry pointing past the end of a device together with a
bucket whose backpointers do not add up to its alloc counters: copygc takes
the LRU entry at its word and reads the device's "backpointer mismatch"
bitmap out of bounds (syzbot 3168625f36f4a539237e). This demo makes such a
filesystem from nothing and has the checker find, explain and repair it.
EOF

say "A 64 MiB filesystem with a few files (format 1.28, one device)"
mkdir -p src/docs src/photos
seq 1 20000 > src/docs/numbers.txt
yes "a line of text in notes.txt" | head -c 40K > src/docs/notes.txt
yes "not really a photo" | head -c 700K > src/photos/big.raw
yes "small" | head -c 3K > src/photos/small.raw
echo "\$ find src -type f | xargs ls -l"
find src -type f | sort | xargs ls -l | awk '{ print $5, $NF }'
truncate -s 64M "$IMG"
show format --source=src demo.img || exit 1

say "The superblock (selected lines): 256 buckets of 256 KiB (buckets 0..255)"
echo "\$ bcachefs show-super demo.img | grep ..."
"$BIN" show-super demo.img < /dev/null 2>&1 |
	grep -E '^(External UUID|Version|Clean|Devices):|^ *(Device|Size|Bucket size|First bucket|Buckets):'

say "The alloc keys of the user-data buckets (the files' data)"
echo "\$ bcachefs list -b alloc demo.img | grep 'data_type user'"
"$BIN" list -b alloc "$IMG" < /dev/null 2>&1 | grep 'data_type user' | cut -c1-160
# the first user-data bucket: the alloc_v4 value's data type (byte 14) is 4
B0=$("$BIN" list --format=keys -b alloc "$IMG" < /dev/null 2> /dev/null |
	awk '$3 == "alloc_v4" && substr($6, 29, 2) == "04" { split($2, p, ":"); print p[2]; exit }')
NB=$("$BIN" show-super "$IMG" < /dev/null 2> /dev/null | awk '$1 == "Buckets:" { print $2; exit }')
if [ -z "$B0" ] || [ -z "$NB" ]; then
	echo "demo: no user-data bucket or bucket count" >&2
	exit 1
fi

say "Its damage: bucket 0:$B0 loses its backpointers, and an LRU entry names bucket $NB"
echo "\$ bcachefs list -b backpointers demo.img | grep bucket=0:$B0:"
"$BIN" list -b backpointers "$IMG" < /dev/null 2>&1 | grep "bucket=0:$B0:" | cut -c1-160
# shellcheck disable=SC2046 # delete operations, one per backpointer
inject $("$BIN" list -b backpointers "$IMG" < /dev/null 2> /dev/null |
	awk -v b="bucket=0:$B0:" 'index($0, b) { print "delete backpointers", $6 }') || exit 1
# a fragmentation LRU entry (lru id 0xffff, time 1000) for bucket NB of
# device 0: one past the last bucket
inject insert lru "$(printf '%u' $(((0xffff << 48) | 1000))):$NB:0" set - || exit 1
echo "(bch_inject commits keys through the journal, as the kernel would)"

say "fsck -n: check only, the image is not written"
show fsck -n demo.img
st=$?
[ "$st" -lt 8 ] || { echo "demo: fsck -n failed" >&2; exit 1; }

say "Repair, on a copy, with an undo file"
cp --sparse=always "$IMG" repaired.img || exit 1
show fsck -y -z repair.undo repaired.img
st=$?
[ "$st" -lt 8 ] || { echo "demo: repair failed" >&2; exit 1; }

say "Undo the repair, on another copy of the repaired image"
cp --sparse=always repaired.img undone.img || exit 1
show undo repair.undo undone.img
cmp -s "$IMG" undone.img && echo "The undone copy is byte-identical to the damaged original."

say "Check the repaired copy again"
show fsck -n repaired.img
st=$?
[ "$st" -lt 8 ] || { echo "demo: fsck -n of the repaired copy failed" >&2; exit 1; }
[ "$st" -eq 0 ] && echo "The repaired copy is clean."
echo "\$ bcachefs show-super repaired.img | grep Clean"
"$BIN" show-super repaired.img < /dev/null | grep -E '^Clean:'
echo "(the repair left the filesystem cleanly shut down: nothing to replay)"

say "The same for people whose kernel faults: bcachefs-repair, on another copy"
cp --sparse=always "$IMG" script.img || exit 1
echo "\$ bcachefs-repair -y --log-dir repair-log script.img"
BCACHEFS=$BIN sh "$ROOT/c_src/bcachefs-repair.sh" -y --log-dir repair-log \
	script.img < /dev/null 2>&1 | tail -n 12
echo "\$ ls repair-log"
ls repair-log

say "At boot, through fsck(8): fsck.bcachefs -p on another copy (clean but faulting)"
cp --sparse=always "$IMG" boot.img || exit 1
echo "\$ fsck.bcachefs -p boot.img | head -n 2"
"$ROOT/fsck.bcachefs" -p boot.img < /dev/null 2>&1 | head -n 2
echo "\$ fsck.bcachefs -p boot.img   # again: clean now, not checked"
"$ROOT/fsck.bcachefs" -p boot.img < /dev/null 2>&1
st=$?
echo "(exit status $st: $(meaning "$st"))"

cat << EOF

What this showed: bcachefs format made a filesystem with four files; two
commits of damage gave it the seed case: bucket 0:$B0 has an alloc key
that counts its data but no backpointers, and a fragmentation LRU entry
names bucket $NB, one past the end of the device. fsck -n reports both (the
bucket backpointer mismatch, each missing backpointer with the key that
should exist, the LRU entry to an invalid bucket) and says copygc would
fault on older kernels; fsck -y repairs a copy by writing new btree nodes
(copy-on-write) and leaves it cleanly shut down, the copy checks clean, and
bcachefs undo puts the original bytes back.
EOF
exit 0
