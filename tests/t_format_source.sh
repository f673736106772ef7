#!/bin/sh
# `bcachefs format --source=DIR`: a small tree (files of several sizes,
# one over many buckets and one empty, a sparse file, a symlink, a hard
# link, a user xattr, nested directories, a fifo and, as root, a device
# node) copied on 1.28, 1.36 and 1.39, on one device and on two of different
# sizes, with each data checksum type, and in many small commits. Each
# copy: our fsck -n exits 0, upstream's fsck -n (the oracles of
# /opt/oracle, on a copy) exits 0, one file's extents listed with
# `list -b extents` hold the source's bytes at their pointers, and
# tests/tools/bch_readback (when built) compares the whole tree. Then the
# requests --source refuses before writing anything.
# Environment: BCACHEFS, BUILD, TMPDIR (see tests/run.sh); runs alone too.
set -u

. "$(dirname "$0")/lib.sh"
B=${BCACHEFS:-./bcachefs}
BUILD=${BUILD:-build}
READBACK=$BUILD/tools/bch_readback
ORACLE_DIR=${ORACLE_DIR:-/opt/oracle}
work=$(mktemp -d "${TMPDIR:-/tmp}/fsrc.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' HUP INT TERM

# ---- the source tree ----
src=$work/src
mkdir -p "$src/a/b/c" "$src/d" || exit 1
head -c 100 /dev/urandom > "$src/small.txt"
head -c 5000 /dev/urandom > "$src/a/five.bin"
head -c 3145728 /dev/urandom > "$src/a/big.bin"		# 12 buckets of 256 KiB
: > "$src/empty"
truncate -s 10M "$src/sparse"
dd if=/dev/urandom of="$src/sparse" bs=4096 seek=100 count=3 conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$src/sparse" bs=4096 seek=2000 count=1 conv=notrunc 2>/dev/null
echo deep > "$src/a/b/c/deep.txt"
ln -s a/b/c/deep.txt "$src/link"
ln "$src/a/five.bin" "$src/d/hard"
mkfifo "$src/fifo"
mknod "$src/d/null" c 1 3 2>/dev/null || echo "SKIP device node in the tree: mknod not permitted"
xattr=
if command -v setfattr > /dev/null 2>&1; then
	setfattr -n user.test -v hello "$src/small.txt" 2>/dev/null && xattr=1
elif command -v python3 > /dev/null 2>&1; then
	python3 -c "import os; os.setxattr('$src/small.txt', 'user.test', b'hello')" 2>/dev/null &&
		xattr=1
fi
[ -n "$xattr" ] || echo "SKIP user xattr in the tree: no setfattr/python3, or no xattrs in $TMPDIR"
big_size=3145728

# ---- one variant ----

# oracle VERSION: the upstream fsck for that metadata version, if built
oracle() {
	case $1 in
	1.36) o=$ORACLE_DIR/v136/bcachefs-fsck ;;
	1.39) o=$ORACLE_DIR/v139/bcachefs-fsck ;;
	*) o=$ORACLE_DIR/fixed/bcachefs-fsck ;;
	esac
	[ -x "$o" ] && echo "$o"
}

# extents_match NAME DEV...: every extent of a/big.bin holds the source's
# bytes at each of its pointers (device D is the D-th DEV given)
extents_match() {
	_n=$1
	shift
	_inum=$("$B" list -b inodes "$@" 2>/dev/null |
		awk -v s="bi_size=$big_size" '$0 ~ s " " { split($6, p, ":"); print p[2]; exit }')
	[ -n "$_inum" ] || { fail "$_n extents" "no inode of size $big_size"; return; }
	"$B" list -b extents "$@" > "$work/extents" 2>/dev/null ||
		{ fail "$_n extents" "list exit $?"; return; }
	_bad=0
	_sectors=0
	awk -v ino="$_inum" '{ split($6, p, ":"); if (p[1] != ino) next
		for (i = 1; i <= NF; i++) if ($i == "ptr:") { split($(i + 1), q, ":")
			print p[2] - $8, $8, q[1], q[2] } }' "$work/extents" > "$work/ptrs"
	while read -r start len dev sector; do
		_img=$(printf '%s\n' "$@" | sed -n "$((dev + 1))p")
		_bytes=$((len * 512))
		[ $((start * 512 + _bytes)) -gt $big_size ] && _bytes=$((big_size - start * 512))
		cmp -s -n "$_bytes" -i "$((start * 512)):$((sector * 512))" "$src/a/big.bin" "$_img" ||
			_bad=$((_bad + 1))
		_sectors=$((_sectors + len))
	done < "$work/ptrs"
	if [ -s "$work/ptrs" ] && [ $_bad -eq 0 ] && [ $_sectors -ge $((big_size / 512)) ]; then
		pass "$_n extents of a/big.bin hold its bytes ($(wc -l < "$work/ptrs") pointers)"
	else
		fail "$_n extents" "$_bad of $(wc -l < "$work/ptrs") pointers differ, $_sectors sectors"
	fi
}

# variant NAME VERSION SIZES FORMAT-OPTION...: SIZES is "64M" or "64M:32M"
# (device 1 after --dev1-opts of DEV1_OPTS)
variant() {
	_name=$1 _ver=$2 _sizes=$3
	shift 3
	_devs=$work/$_name.img
	truncate -s "${_sizes%%:*}" "$_devs"
	_args=$_devs
	case $_sizes in
	*:*)
		truncate -s "${_sizes#*:}" "$work/$_name.dev1.img"
		_devs="$_devs $work/$_name.dev1.img"
		_args="$_args ${DEV1_OPTS:-} $work/$_name.dev1.img" ;;
	esac
	# shellcheck disable=SC2086
	if ! "$B" format -q -f --version="$_ver" "$@" --source="$src" $_args > "$work/out" 2>&1; then
		fail "$_name format --source" "$(head -c 300 "$work/out")"
		return
	fi
	# shellcheck disable=SC2086
	"$B" fsck -n $_devs > "$work/out" 2>&1
	st=$?
	if [ $st -eq 0 ]; then
		pass "$_name fsck -n clean"
	else
		fail "$_name fsck -n" "exit $st: $(grep -v '^device\|^copygc' "$work/out" | head -c 300)"
	fi
	_o=$(oracle "$_ver")
	if [ -n "$_o" ]; then
		mkdir -p "$work/copy"
		for d in $_devs; do cp --sparse=always "$d" "$work/copy/"; done
		# shellcheck disable=SC2046
		(cd "$work/copy" && "$_o" -n $(for d in $_devs; do basename "$d"; done)) \
			> "$work/out" 2>&1 < /dev/null
		st=$?
		if [ $st -eq 0 ]; then
			pass "$_name upstream fsck -n clean"
		else
			fail "$_name upstream fsck -n" \
				"exit $st: $(grep -iv 'done\|modprobe' "$work/out" | head -c 400)"
		fi
		rm -rf "$work/copy"
	else
		echo "SKIP $_name upstream fsck: no oracle for $_ver in $ORACLE_DIR"
	fi
	# shellcheck disable=SC2086
	extents_match "$_name" $_devs
	if [ -x "$READBACK" ]; then
		# shellcheck disable=SC2086
		"$READBACK" "$src" $_devs > "$work/out" 2>&1
		st=$?
		if [ $st -eq 0 ]; then
			pass "$_name $(tail -1 "$work/out")"
		else
			fail "$_name readback" "exit $st: $(head -c 300 "$work/out")"
		fi
	else
		echo "SKIP $_name readback: $READBACK not built (make $READBACK)"
	fi
	# shellcheck disable=SC2086
	rm -f $_devs
}

variant v128 1.28 64M
variant v136 1.36 64M
DEV1_OPTS="--bucket_size=256k" variant two-dev 1.28 64M:32M --replicas=2 --btree_node_size=64k --bucket_size=128k
DEV1_OPTS="--bucket_size=64k" variant v136-two-dev-r2 1.36 128M:64M --replicas=2 --btree_node_size=64k --bucket_size=128k
variant csum-none 1.28 64M --data_checksum=none
variant csum-crc64 1.28 64M --data_checksum=crc64
variant v136-xxhash 1.36 64M --data_checksum=xxhash
# a commit every 10 key updates: some 60 commits, mid-file ones too, and the
# node buckets each frees reused by the next
variant batches 1.28 16M --bucket_size=64k --btree_node_size=16k --source-batch=10
variant v136-batches 1.36 64M --source-batch=10
# 1.39: per-device fragmentation LRUs, need_discard keyed by journal
# sequence number, keys counted per snapshot btree in the accounting
variant v139 1.39 64M
DEV1_OPTS="--bucket_size=64k" variant v139-two-dev-r2 1.39 128M:64M --replicas=2 --btree_node_size=64k --bucket_size=128k
variant v139-batches 1.39 64M --source-batch=10 --data_checksum=xxhash

# ---- what is refused before anything is written ----
refused() {
	_n=$1
	shift
	truncate -s 64M "$work/r.img"
	head -c 4096 /dev/zero | dd of="$work/r.img" conv=notrunc 2>/dev/null
	"$B" format -q -f "$@" "$work/r.img" > "$work/out" 2>&1
	st=$?
	if [ $st -eq 16 ] && ! "$B" show-super "$work/r.img" > /dev/null 2>&1; then
		pass "$_n refused, nothing written"
	else
		fail "$_n" "exit $st: $(head -c 200 "$work/out")"
	fi
	rm -f "$work/r.img"
}
printf 'secret\n' > "$work/pass"
refused "--source with --encrypted" --encrypted --passphrase-file="$work/pass" --source="$src"
refused "--source not a directory" --source="$src/small.txt"
refused "--source with compression" --compression=zstd --source="$src"
refused "1.36 --source with more data replicas than devices" --version=1.36 --replicas=2 --source="$src"

[ $nfail -eq 0 ]
