#!/bin/sh
# Bad-input tests: damaged and hostile images must give a clear error that
# names the structure and a byte offset or sector, and the documented exit
# status (8: the filesystem could not be read; 0 when a backup superblock
# or the journal's torn-write rule saves the day, with a warning) -- never a
# crash, a sanitizer report, a hang, or a write to the input.
#
# Environment (as tests/run.sh sets it):
#   BCACHEFS       the normal build of the command
#   BCACHEFS_SAN   the ASan+UBSan build (build/san/bcachefs)
#   IMAGES         directory of the *.img.zst test images
#   BUILD          build directory (BUILD/tools/bch_corrupt damages copies)
#   TMPDIR         scratch directory (images are decompressed and copied here)
#
# Every case runs both binaries; prints "PASS name" or "FAIL name: reason"
# and the script exits non-zero if any case failed.
set -u
unset CDPATH

: "${BCACHEFS:=$(pwd)/bcachefs}"
: "${BCACHEFS_SAN:=$(pwd)/build/san/bcachefs}"
: "${IMAGES:=../shared/images}"
: "${BUILD:=build}"
. "$(dirname "$0")/lib.sh"
skip_without_images
: "${TMPDIR:=/tmp}"

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

CORRUPT=$BUILD/tools/bch_corrupt
LIST_TIMEOUT=60

nfail=0
W=$(mktemp -d "$TMPDIR/badinput.XXXXXX") || { echo "FAIL setup: mktemp"; exit 1; }
UNPRIV_DIR=	# the copies of the binaries for uid 65534 (read-only-input)
trap 'rm -rf "$W"; [ -z "$UNPRIV_DIR" ] || rm -rf "$UNPRIV_DIR"' EXIT
trap 'exit 130' HUP INT TERM

pass() {
	echo "PASS $1"
}

fail() {
	nfail=$((nfail + 1))
	echo "FAIL $1: $2"
}

# ---------------------------------------------------------------------------
# setup

for b in "$BCACHEFS" "$BCACHEFS_SAN" "$CORRUPT"; do
	if [ ! -x "$b" ]; then
		fail setup "$b is not built"
		exit 1
	fi
done

# decompress the images used, once; each case works on its own copy
for i in small medium dirty; do
	if ! zstd -q -d -f --sparse "$IMAGES/$i.img.zst" -o "$W/$i.img" </dev/null ||
	   ! zstd -q -d -f "$IMAGES/$i.keys.zst" -o "$W/$i.keys" </dev/null; then
		fail setup "cannot decompress $IMAGES/$i"
		exit 1
	fi
	chmod 0444 "$W/$i.img"
done

# fresh writable copy of image $1 as $W/case.img
copy() {
	rm -f "$W/case.img"
	cp --sparse=always "$W/$1.img" "$W/case.img" 2>/dev/null ||
		cp "$W/$1.img" "$W/case.img" || return 1
	chmod 0644 "$W/case.img"
}

# damage the case copy; prints nothing unless the tool fails
corrupt() {
	"$CORRUPT" "$W/case.img" "$@" >"$W/corrupt.log" 2>&1 && return 0
	echo "bch_corrupt $*: $(cat "$W/corrupt.log")" >&2
	return 1
}

hash_of() {
	sha256sum <"$1" | cut -d' ' -f1
}

# little-endian hex of a number (for bch_corrupt poke strings)
le64hex() {
	_v=$1
	_s=
	_i=0
	while [ "$_i" -lt 8 ]; do
		_s=$_s$(printf '%02x' $((_v % 256)))
		_v=$((_v / 256))
		_i=$((_i + 1))
	done
	echo "$_s"
}

# ---------------------------------------------------------------------------
# check NAME WANT_STATUS EXPECTED_STDOUT PATTERNS -- ARGS...
#
# Runs every binary with ARGS (the image path included) under a timeout
# and checks: exit status exactly WANT_STATUS, not killed by a signal, no
# sanitizer report, each extended regex in PATTERNS (';'-separated, matched
# case-insensitively) found in stderr, stdout equal to EXPECTED_STDOUT
# unless that is '-', and the image file (the last argument) unchanged:
# its sha256 after each run equals the one taken before the case's first.
# Appends reasons to $why; the caller prints PASS/FAIL.
why=
sample=
base_hash=	# of the case's image before the first run; reset by finish
check() {
	_want=$2
	_exp=$3
	_pats=$4
	shift 5
	for _a in "$@"; do _img=$_a; done
	for _bin in "$BCACHEFS" "$BCACHEFS_SAN"; do
		case $_bin in
		"$BCACHEFS_SAN") _tag=san ;;
		*) _tag=normal ;;
		esac
		[ -n "$base_hash" ] || base_hash=$(hash_of "$_img")
		timeout -k 5 "$LIST_TIMEOUT" "$_bin" "$@" >"$W/out" 2>"$W/err" </dev/null
		_rc=$?
		_h1=$(hash_of "$_img")
		if [ "$_rc" -eq 124 ] || [ "$_rc" -eq 137 ]; then
			why="$why [$_tag: $1: hung, killed after ${LIST_TIMEOUT}s]"
			continue
		fi
		if [ "$_rc" -ge 128 ]; then
			why="$why [$_tag: $1: killed by signal $((_rc - 128))]"
		elif [ "$_rc" -ne "$_want" ]; then
			why="$why [$_tag: $1: exit status $_rc, want $_want]"
		fi
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY: (Address|Undefined)' "$W/err"; then
			why="$why [$_tag: $1: sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$W/err" | cut -c1-200)]"
		fi
		_old_ifs=$IFS
		IFS=';'
		for _p in $_pats; do
			IFS=$_old_ifs
			[ -n "$_p" ] || continue
			grep -qiE -- "$_p" "$W/err" ||
				why="$why [$_tag: $1: stderr lacks /$_p/]"
		done
		IFS=$_old_ifs
		if [ "$_exp" != - ] && ! cmp -s "$W/out" "$_exp"; then
			why="$why [$_tag: $1: stdout differs from $(basename "$_exp") ($(wc -l <"$W/out") lines, want $(wc -l <"$_exp"))]"
		fi
		[ "$base_hash" = "$_h1" ] || why="$why [$_tag: $1: the image was modified]"
		# a sample of the message for the log
		sample=$(grep -v '^ *$' "$W/err" | tail -n 1 | cut -c1-300)
	done
}

# finish NAME: PASS or FAIL with the collected reasons
finish() {
	if [ -z "$why" ]; then
		pass "$1"
		[ -n "${VERBOSE:-}" ] && echo "    $sample"
	else
		fail "$1" "$why (last stderr: $sample)"
	fi
	why=
	sample=
	base_hash=
}

# the usual listing
LIST="list --format=keys -b all"

# both checks for a superblock problem: list and show-super
sb_case() {
	_name=$1
	_want=$2
	_exp=$3
	_pats=$4
	check list "$_want" "$_exp" "$_pats" -- $LIST "$W/case.img"
	check show-super "$_want" - "$_pats" -- show-super "$W/case.img"
	finish "$_name"
}

# an image that cannot be damaged as the case needs
setup_fail() {
	fail "$1" "could not prepare the damaged image: $2"
	base_hash=
}

# ---------------------------------------------------------------------------
# the cases

# empty file: not a bcachefs filesystem, too small to hold a superblock
rm -f "$W/case.img"
: >"$W/case.img"
sb_case empty-file 8 - 'not a bcachefs|superblock;byte [0-9]'

# truncated inside the primary superblock
copy small && truncate -s 5000 "$W/case.img" &&
	sb_case truncated-5000-bytes 8 - 'superblock;byte [0-9];past the end'

# truncated to 2 MiB: the superblocks are there (show-super reads only
# them: 0), the btree nodes are not
if copy small && truncate -s 2M "$W/case.img"; then
	check list 8 - 'btree node;sector [0-9];byte [0-9];past the end' -- $LIST "$W/case.img"
	check show-super 0 - '' -- show-super "$W/case.img"
	finish truncated-2MiB
else
	setup_fail truncated-2MiB "truncate"
fi

# zeroed primary superblock (bytes 4096..8191): the first backup is used,
# with a warning naming the bad primary and the backup's sector
if copy small && dd if=/dev/zero of="$W/case.img" bs=4096 seek=1 count=1 conv=notrunc status=none; then
	sb_case zeroed-primary-superblock 0 "$W/small.keys" \
		'warning;superblock at sector 8;bad magic at byte 4120;backup superblock at sector [0-9]+'
else
	setup_fail zeroed-primary-superblock dd
fi

# bad magic in every superblock copy
if copy small && corrupt sb-poke --copy all --no-csum 24 00000000000000000000000000000000; then
	sb_case bad-magic-everywhere 8 - 'not a bcachefs;magic;byte [0-9]'
else
	setup_fail bad-magic-everywhere bch_corrupt
fi

# a file of random bytes
rm -f "$W/case.img"
if head -c 4194304 /dev/urandom >"$W/case.img"; then
	sb_case random-bytes 8 - 'not a bcachefs;byte [0-9]'
else
	setup_fail random-bytes "head /dev/urandom"
fi

# one flipped byte in the primary superblock (byte 4096 + 300): the primary
# fails its checksum (named), the backup is used, the keys are all there
if copy small && corrupt flip $((4096 + 300)); then
	sb_case superblock-flipped-byte 0 "$W/small.keys" \
		'warning;superblock at sector 8;checksum error;backup superblock at sector [0-9]+'
else
	setup_fail superblock-flipped-byte bch_corrupt
fi

# the same byte flipped in every copy: nothing left to read
if copy small && corrupt sb-flip --copy all 300; then
	sb_case superblock-flipped-byte-all-copies 8 - \
		'no valid superblock;superblock at sector 8;checksum error;backups at sectors [0-9]'
else
	setup_fail superblock-flipped-byte-all-copies bch_corrupt
fi

# a superblock field of size 0 in every copy (checksums recomputed, so the
# field walk is reached)
if copy small && corrupt sb-poke --copy all 752 00000000; then
	sb_case superblock-field-size-0 8 - 'superblock;field at byte 752;size 0'
else
	setup_fail superblock-field-size-0 bch_corrupt
fi

# nr_devices 0 in every copy (checksums recomputed)
if copy small && corrupt sb-poke --copy all 123 00; then
	sb_case superblock-nr-devices-0 8 - 'superblock;nr_devices 0;(byte|sector) [0-9]'
else
	setup_fail superblock-nr-devices-0 bch_corrupt
fi

# a newer metadata version than we know (1.40) in every copy: refused,
# naming both versions
if copy small && corrupt sb-poke --copy all 16 2804; then
	sb_case superblock-newer-version 8 - 'superblock;1\.40;1\.39;newer'
else
	setup_fail superblock-newer-version bch_corrupt
fi

# --- journal (image dirty: not clean, so its journal is replayed) ---

# the newest flush journal entry and where its keys are
jfield() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}
newest_jset() {
	"$CORRUPT" "$W/dirty.img" journal-list | grep ' flush=1 ' |
		sort -t= -k2,2n | tail -n 1
}
J=$(newest_jset)
JSEQ=$(echo "$J" | jfield seq)
JBYTE=$(echo "$J" | jfield byte)
JKEYS=$(echo "$J" | jfield keys_off)
JLAST=$(echo "$J" | jfield last_seq)
PREV=$("$CORRUPT" "$W/dirty.img" journal-list | grep ' flush=1 ' |
	sort -t= -k2,2n | tail -n 2 | head -n 1)
PSEQ=$(echo "$PREV" | jfield seq)
PBYTE=$(echo "$PREV" | jfield byte)

if [ -z "$JSEQ" ] || [ -z "$JKEYS" ] || [ "$JKEYS" -eq 0 ] || [ -z "$PSEQ" ] || [ "$PSEQ" = "$JSEQ" ]; then
	for c in journal-flipped-byte journal-torn-write journal-two-bad-entries journal-garbage-key; do
		setup_fail "$c" "no newest flush journal entry with keys in dirty ($J)"
	done
else
	# §4.5: the newest flush entry's bad checksum is a torn write: it is
	# skipped with a warning. Its last_seq (= its seq here) still drops the
	# older entries, so nothing is left to replay: exit 8 naming the entry.
	if copy dirty && corrupt flip $((JBYTE + JKEYS + 20)); then
		check list 8 - "journal entry $JSEQ;bad checksum;sector [0-9];byte [0-9]" -- $LIST "$W/case.img"
		finish journal-flipped-byte
	else
		setup_fail journal-flipped-byte bch_corrupt
	fi

	# the same torn write when the entry's last_seq leaves the previous flush
	# entry in range: skipped with a warning, the previous entry replayed
	if copy dirty && corrupt journal-poke "$JSEQ" 48 "$(le64hex "$PSEQ")" --fix-csum &&
	   corrupt flip $((JBYTE + JKEYS + 20)); then
		check list 0 - "warning;journal entry $JSEQ;sector [0-9];bad checksum;torn write" -- $LIST "$W/case.img"
		[ -s "$W/out" ] || why="$why [no keys listed]"
		finish journal-torn-write
	else
		setup_fail journal-torn-write bch_corrupt
	fi

	# and then the previous entry bad too: only the first is a torn write,
	# the second is a checksum error naming the entry
	if copy dirty && corrupt journal-poke "$JSEQ" 48 "$(le64hex "$PSEQ")" --fix-csum &&
	   corrupt flip $((JBYTE + JKEYS + 20)) && corrupt flip $((PBYTE + 100)); then
		check list 8 - "journal entry $PSEQ;checksum error;sector [0-9];byte [0-9]" -- $LIST "$W/case.img"
		finish journal-two-bad-entries
	else
		setup_fail journal-two-bad-entries bch_corrupt
	fi

	# a garbage key in the newest entry, checksum recomputed: the key
	# validation names the entry and the key's byte
	if copy dirty && corrupt journal-poke "$JSEQ" "$JKEYS" ff --fix-csum; then
		check list 8 - "journal entry $JSEQ;key;byte [0-9]" -- $LIST "$W/case.img"
		finish journal-garbage-key
	else
		setup_fail journal-garbage-key bch_corrupt
	fi
fi
: "$JLAST"

# --- btree nodes ---

# sector of a node: list --format=nodes field 5 is dev:sector
node_sector() {	# IMAGE BTREE LEVEL
	"$BCACHEFS" list --format=nodes -b "$2" "$W/$1.img" 2>/dev/null |
		awk -v l="$3" '$2 == l { split($5, p, ","); split(p[1], d, ":"); print d[2]; exit }'
}
ALLOC=$(node_sector small alloc 0)
XROOT=$(node_sector medium extents 1)
IROOT=$(node_sector medium inodes 1)

if [ -z "$ALLOC" ]; then
	for c in btree-node-flipped-byte bkey-format-nr-fields bkey-format-field-too-wide \
		 bkey-format-key-u64s bkey-format-offset-overflow; do
		setup_fail "$c" "no alloc node in small"
	done
else
	# one flipped byte in the alloc root's second bset
	if copy small && corrupt flip $((ALLOC * 512 + 4200)); then
		check list 8 - "btree node;btree alloc;device 0;sector $ALLOC;byte [0-9];checksum" -- $LIST "$W/case.img"
		finish btree-node-flipped-byte
	else
		setup_fail btree-node-flipped-byte bch_corrupt
	fi

	# garbage bkey_format at node offset 80, bset checksums recomputed
	for f in "nr-fields 0307" \
		 "field-too-wide 0306ff" \
		 "key-u64s 0906400000000000" \
		 "offset-overflow 0106000000100000000000000000000000000000000000000000000000000000ffffffff00000000"; do
		name=bkey-format-${f%% *}
		if copy small && corrupt node-poke "$ALLOC" 80 "${f#* }" --fix-csum; then
			check list 8 - "btree node;sector $ALLOC;bkey_format;byte 80" -- $LIST "$W/case.img"
			finish "$name"
		else
			setup_fail "$name" bch_corrupt
		fi
	done
fi

# garbage keys in a leaf, bset checksum recomputed: the key and its byte
# are named. KEY is the index of the key poked (as node-keys lists them).
garbage_key() {	# NAME KEY HEX PATTERN
	if ! copy small; then
		setup_fail "$1" cp
		return
	fi
	_at=$("$CORRUPT" "$W/case.img" node-keys "$ALLOC" 2>/dev/null |
		awk -v k="$2" '$1 == "key" && $2 == k { print $6; exit }')
	if [ -z "$_at" ] || ! corrupt node-poke "$ALLOC" "$_at" "$3" --fix-csum; then
		setup_fail "$1" "no key $2 in the alloc node"
		return
	fi
	check list 8 - "btree node;sector $ALLOC;$4;byte $_at" -- $LIST "$W/case.img"
	finish "$1"
}
if [ -n "$ALLOC" ]; then
	garbage_key garbage-key-random-bytes 0 9e3779b97f4a7c15f39cc0605cedc834 'invalid key'
	garbage_key garbage-key-format-byte 3 0b7f1b0000000000 'invalid key'
	garbage_key garbage-key-u64s 5 0100000000000000 'invalid key'
	garbage_key garbage-key-type 7 0b00ff0000000000 'invalid key type'
	garbage_key garbage-key-order 3 0b001b00000000000000000000000000 'keys out of order'
else
	setup_fail garbage-keys "no alloc node in small"
fi

# a root pointer past the end of the device (clean field, checksum fixed)
if copy small && corrupt sb-root-ptr alloc 200000; then
	check list 8 - 'pointer;btree alloc;sector 200000;outside' -- $LIST "$W/case.img"
	finish btree-pointer-outside-device
else
	setup_fail btree-pointer-outside-device bch_corrupt
fi

# the largest sector a pointer can hold
if copy small && corrupt sb-root-ptr alloc 17592186044415; then
	check list 8 - 'pointer;sector 17592186044415;outside' -- $LIST "$W/case.img"
	finish btree-pointer-max-sector
else
	setup_fail btree-pointer-max-sector bch_corrupt
fi

# pointer cycle: a child pointer of the extents root (an interior node in
# medium) points back at the root's own sector; no hang
if [ -z "$XROOT" ]; then
	setup_fail pointer-cycle "no interior extents root in medium"
else
	if copy medium && corrupt node-child-ptr "$XROOT" 0 "$XROOT"; then
		check list 8 - "btree node;sector $XROOT;pointer cycle" -- $LIST "$W/case.img"
		check list-nodes 8 - "btree node;sector $XROOT;pointer cycle" -- list --format=nodes -b all "$W/case.img"
		finish pointer-cycle
	else
		setup_fail pointer-cycle bch_corrupt
	fi
	# the same with the pointer's seq matching the root, last child
	if copy medium && corrupt node-child-ptr "$XROOT" 1 "$XROOT" --match-seq; then
		check list 8 - "btree node;sector $XROOT;pointer cycle" -- $LIST "$W/case.img"
		finish pointer-cycle-seq-matched
	else
		setup_fail pointer-cycle-seq-matched bch_corrupt
	fi
	# a child pointer to another btree's interior node (seq matched, so
	# the node header check is what catches it)
	if [ -n "$IROOT" ] && copy medium && corrupt node-child-ptr "$XROOT" 0 "$IROOT" --match-seq; then
		check list 8 - "btree node;sector $IROOT;level 1, expected btree 0 level 0;byte [0-9]" -- $LIST "$W/case.img"
		finish pointer-to-foreign-node
	else
		setup_fail pointer-to-foreign-node "no inodes root in medium, or bch_corrupt failed"
	fi
fi

# --- nothing is written: a read-only input still lists ---

# unpriv_bins: copies of both binaries in a fresh directory UNPRIV_DIR that
# uid 65534 can reach and execute. The repository (and with it the binaries
# and TMPDIR, which tests/run.sh makes under its own 0700 directory) may live
# where that user cannot go, e.g. a clone in root's home. Tries TMPDIR, then
# /tmp, /var/tmp and /dev/shm: the first directory where uid 65534 can
# execute the copies. Returns 1 with the reasons in UNPRIV_WHY if none.
unpriv_bins() {
	UNPRIV_DIR=
	UNPRIV_WHY=
	for _base in "$TMPDIR" /tmp /var/tmp /dev/shm; do
		[ -d "$_base" ] || continue
		_d=$(mktemp -d "$_base/badinput-unpriv.XXXXXX" 2>/dev/null) || {
			UNPRIV_WHY="$UNPRIV_WHY [$_base: mktemp failed]"
			continue
		}
		UNPRIV_DIR=$_d	# removed on exit from here on
		if chmod 0755 "$_d" &&
		   install -d -m 0755 "$_d/normal" "$_d/san" &&
		   install -m 0755 "$BCACHEFS" "$_d/normal/bcachefs" &&
		   install -m 0755 "$BCACHEFS_SAN" "$_d/san/bcachefs"; then
			# every path component traversable, the file executable
			# (access(2) also says no on a noexec mount)
			if setpriv --reuid=65534 --regid=65534 --clear-groups -- \
				sh -c 'test -x "$1" && test -x "$2"' sh \
				"$_d/normal/bcachefs" "$_d/san/bcachefs" \
				</dev/null >/dev/null 2>&1; then
				return 0
			fi
			UNPRIV_WHY="$UNPRIV_WHY [$_base: uid 65534 cannot execute files there]"
		else
			UNPRIV_WHY="$UNPRIV_WHY [$_base: cannot copy the binaries]"
		fi
		rm -rf "$_d"
		UNPRIV_DIR=
	done
	UNPRIV_WHY="no directory where uid 65534 can run the binaries:$UNPRIV_WHY"
	return 1
}

if copy small && chmod 0444 "$W/case.img"; then
	check list-read-only 0 "$W/small.keys" '' -- $LIST "$W/case.img"
	# root can write to a 0444 file anyway: also list as an unprivileged
	# user through an inherited read-only descriptor, where an open for
	# writing would fail
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
		if unpriv_bins; then
			for _bin in "$UNPRIV_DIR/normal/bcachefs" "$UNPRIV_DIR/san/bcachefs"; do
				setpriv --reuid=65534 --regid=65534 --clear-groups -- \
					timeout -k 5 "$LIST_TIMEOUT" "$_bin" $LIST /proc/self/fd/3 \
					3<"$W/case.img" >"$W/out" 2>"$W/err" </dev/null
				_rc=$?
				_tag=${_bin%/bcachefs}
				_tag=${_tag##*/}
				if [ "$_rc" -ne 0 ] || ! cmp -s "$W/out" "$W/small.keys"; then
					why="$why [unprivileged $_tag: exit status $_rc: $(head -c 300 "$W/err")]"
				elif grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$W/err"; then
					why="$why [unprivileged $_tag: sanitizer report]"
				fi
			done
			rm -rf "$UNPRIV_DIR"
			UNPRIV_DIR=
		else
			echo "SKIP read-only-input (unprivileged part): $UNPRIV_WHY"
		fi
	fi
	finish read-only-input
else
	setup_fail read-only-input "cp/chmod"
fi

[ "$nfail" -eq 0 ]
