#!/bin/sh
# bcachefs format, against upstream and against the checkers:
#   a. for each fresh image of the corpus (../shared/images, "Fresh images"
#      in its README: exactly what upstream's format left; and the 1.39
#      ones of ../shared/images-v139), format our own
#      with the same options and device sizes and compare the structure:
#      `show-super -f all -l` (filtered, below) and the keys
#      (`list --format=keys`: the btrees and key types and how many, the
#      alloc keys of superblock and journal buckets, the keys of the other
#      btrees that hold no random seed or time, each bucket in use or free
#      exactly once, the inode and snapshot accounting); skipped without
#      the corpus;
#   b. format variants (1.28/1.36/1.39, 1-3 devices of different sizes,
#      every checksum type, encrypted, --replicas=2, geometry options,
#      files): our fsck -n exits 0 on each, and upstream's fsck -n
#      (/opt/oracle/{fixed,v136,v139}/bcachefs-fsck) on a copy when present;
#   c. refusals: a device holding a filesystem without -f, a device too
#      small, bad options: exit 16, nothing written.
# Environment: BCACHEFS, IMAGES, IMAGES139, NO_IMAGES, TMPDIR (see tests/run.sh).
set -u

# shellcheck source=tests/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
: "${BCACHEFS:?}" "${TMPDIR:?}"
B=$BCACHEFS
ORACLE=${ORACLE:-/opt/oracle}
W=$(mktemp -d "$TMPDIR/format.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

[ -n "${NO_IMAGES:-}" ] || [ -r "${IMAGES:-/nonexistent}/index.tsv" ] ||
	NO_IMAGES="no image corpus at ${IMAGES:-../shared/images}"
# the 1.37-1.39 images: as tests/run.sh finds them
[ -n "${IMAGES139:-}" ] || IMAGES139=${IMAGES:-../shared/images}/../images-v139

# mkdevs DIR SIZE...: fresh sparse files DIR/dev0.img ... of these sizes;
# prints their paths
mkdevs() {
	_dir=$1
	shift
	rm -rf "$_dir"
	mkdir -p "$_dir" || return 1
	_i=0
	_p=
	for _s in "$@"; do
		truncate -s "$_s" "$_dir/dev$_i.img" || return 1
		_p="$_p $_dir/dev$_i.img"
		_i=$((_i + 1))
	done
	echo "$_p"
}

# ---------------------------------------------------------------------------
# a. against upstream's fresh images

# sb_filter: the show-super output of one device, reduced to what two
# formats with the same options must share. Every rule says why.
sb_filter() {
	# The device path (header) and, on 1.36, the member's last device name:
	# the files' names.
	sed -E -e '/^Device: +[^0-9 ]/d' -e '/^  Last device name:/d' |
	# UUIDs: the external UUID is given (-U) and must match, the magic is
	# fixed; the internal UUID and the member UUIDs are random.
	sed -E 's/^(Internal UUID|  UUID)(: +).*/\1\2<uuid>/' |
	# Times (creation, last write, the members' last mount) and superblock
	# sequence numbers: when and how often the superblock was written.
	sed -E -e '/^(Created|Time of last write|Sequence number):/d' \
	       -e '/^  (Last mount|Last superblock write):/d' |
	# The btree allocated bitmap (and its block size, which upstream grows
	# as it allocates): where the btree nodes were put.
	sed -E '/^  Btree allocated bitmap/d' |
	# The superblock's size and the clean section's: upstream leaves about
	# 190 empty journal entries (u64s 0, the space it reserves for a clean
	# section) at the end of its clean section; ours has none.
	sed -E -e 's|^(Superblock size: +)[^/]*/|\1<n>/|' \
	       -e 's/^clean \(size [0-9]+\):/clean (size <n>):/' |
	# The clean section's journal sequence number and IO clocks: how long
	# upstream's format ran (7 journal entries, 5120 sectors written; ours
	# writes one entry). Its btree roots keep btree and level; their node
	# seq (random), sectors_written (upstream writes each node in several
	# bsets) and pointer (placement) are dropped.
	sed -E -e '/^journal_seq:/d' -e '/^  clock:/d' \
	       -e 's/^(  btree_root: +[a-z_0-9]+ level [0-9]+) .*/\1/' |
	# The LRU btree's root: it holds only fragmentation LRU entries here,
	# there where node placement leaves a btree bucket partly filled (see
	# census below).
	sed -E '/^  btree_root: +lru level /d' |
	awk '
	# The counters section: event counts of upstream'"'"'s run (ours has
	# none).
	/^counters \(size/ { counters = 1; print; next }
	/^$/ { counters = 0 }
	counters && /^[0-9]+: +[0-9]+$/ { next }
	# Placement on two devices: upstream puts btree nodes (and on 1.28
	# journal writes) on the second device too, ours all on device 0 (the
	# keys are compared below), so a member other than device 0 may differ
	# in "Has data", and the replicas section in the entries naming it.
	/^Device: +[0-9]+$/ { member = $2 }
	/^  Has data:/ && member != 0 { print "  Has data:                                <placement>"; next }
	/^replicas_v0 \(size/ { print "replicas_v0 (size <n>):"; next }
	/^  (btree|journal): 1 \[[1-9][0-9]*\]$/ { next }
	{ print }' |
	# Section order: fields are stored in the order they were added (or
	# last resized); compare them as a set of paragraphs.
	awk 'BEGIN { RS = ""; ORS = "\n" } { gsub(/\n/, "\001"); print }' |
	LC_ALL=C sort | tr '\001' '\n'
}

# show DEVS...: show-super -f all -l of every device, filtered
show() {
	for _f in "$@"; do
		echo "=== device"
		"$B" show-super -f all -l "$_f" < /dev/null 2>&1 | sb_filter
	done
}

# census KEYS: "btree type count" lines, less the keys only node
# placement decides: fragmentation LRU entries (a btree bucket partly
# filled, as where a device's buckets are larger than a node: upstream's
# 1.39 two-device image) and the backpointers of the LRU btree's own
# nodes (btree id 10 in their first byte)
census() {
	awk '$1 != "lru" && !($1 == "backpointers" && substr($6, 1, 2) == "0a") { print $1, $3 }' "$1" |
		LC_ALL=C sort | uniq -c | awk '{ print $2, $3, $1 }'
}

# le64 HEX START: the little-endian u64 at hex digit START (1-based), as
# an awk expression's helper (values here are small)
LE64='function le64(h, s,    v, i, x) {
	v = 0
	for (i = 7; i >= 0; i--) {
		x = index("0123456789abcdef", substr(h, s + 2 * i, 1)) - 1
		v = v * 256 + x * 16 + index("0123456789abcdef", substr(h, s + 2 * i + 1, 1)) - 1
	}
	return v
}'

# acct_of DEVS...: the accounting keys node placement does not decide,
# position and value: nr_inodes, and the keys of each snapshot btree per
# snapshot (types 0 and 5, the position's first byte), with their bytes
# left out: an inode's size varies with its times (see acct_bytes)
acct_of() {
	"$B" list --format=keys -b accounting "$@" < /dev/null 2> /dev/null |
		awk "$LE64"'{ split($2, p, ":"); t = int(p[1] / 72057594037927936)
			if (t == 0) print $2, $6
			if (t == 5) print $2, le64($6, 1), "*", le64($6, 33) }'
}

# acct_bytes KEYS DEVS...: the bytes the snapshot accounting counts (type
# 5, second counter; from 1.39) against those of the keys of snapshot
# btrees in a snapshot (unpacked: 40 bytes and the value); "ok" when they
# agree
acct_bytes() {
	_k=$1
	shift
	_a=$("$B" list --format=keys -b accounting "$@" < /dev/null 2> /dev/null |
		awk "$LE64"'{ split($2, p, ":"); if (int(p[1] / 72057594037927936) == 5) n += le64($6, 17) }
			END { print n + 0 }')
	_s=$(awk '$1 ~ /^(extents|inodes|dirents|xattrs)$/ { split($2, p, ":"); if (p[3] != 0) n += 40 + length($6) / 2 }
		END { print n + 0 }' "$_k")
	if [ "$_a" = "$_s" ]; then echo ok; else echo "accounting $_a bytes, keys $_s"; fi
}

# lru_node_sectors KEYS: sectors of the LRU btree's nodes (their
# backpointers' bucket_len)
lru_node_sectors() {
	awk '$1 == "backpointers" && substr($6, 1, 2) == "0a" {
		h = substr($6, 23, 2) substr($6, 21, 2) substr($6, 19, 2) substr($6, 17, 2)
		v = 0
		for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		s += v
	} END { print s + 0 }' "$1"
}

# coverage KEYS GEOM: every bucket of every device in use (an alloc key
# whose data type is not free) or free (in a freespace extent), exactly
# once; prints what is not
coverage() {
	awk '
	FNR == NR { nb[$1] = $2; first[$1] = $3; next }
	$1 == "alloc" {
		split($2, p, ":")
		if (substr($6, 29, 2) != "00") n[p[1] ":" p[2]]++
	}
	$1 == "freespace" {
		split($2, p, ":")
		end = p[2] % 72057594037927936	# the generation bits above bit 56
		for (b = end - $4; b < end; b++) n[p[1] ":" b]++
	}
	END {
		for (d in nb)
			for (b = first[d]; b < nb[d]; b++)
				if (n[d ":" b] != 1) {
					print "bucket " d ":" b " counted " n[d ":" b] + 0 " times"
					if (++bad > 5) exit
				}
	}' "$2" "$1"
}

# geom_of DEVS...: "DEV NBUCKETS FIRST SECTORS" per device, from fsck -n
geom_of() {
	"$B" fsck -n --no-progress "$@" < /dev/null 2> /dev/null |
		sed -n 's/^device \([0-9]*\): \([0-9]*\) buckets (first \([0-9]*\), \([0-9]*\) sectors each).*/\1 \2 \3 \4/p'
}

# alloc_of KEYS TYPES: the alloc keys whose data type (hex) is in TYPES
alloc_of() {
	awk -v t="$2" '$1 == "alloc" && index(t, substr($6, 29, 2))' "$1"
}

# btree_sectors KEYS: dirty sectors of btree buckets, summed
btree_sectors() {
	awk '$1 == "alloc" && substr($6, 29, 2) == "03" {
		h = substr($6, 39, 2) substr($6, 37, 2) substr($6, 35, 2) substr($6, 33, 2)
		v = 0
		for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		s += v
	} END { print s + 0 }' "$1"
}

# fresh NAME SIZES FORMAT-OPTIONS...: compare with corpus image NAME
# (v139-*: from $IMAGES139). A size may carry a device option for that
# device alone after a slash (128M/--bucket_size=64k).
fresh() {
	_name=$1
	_sizes=$2
	shift 2
	_dir=$IMAGES
	case $_name in v139-*) _dir=$IMAGES139 ;; esac
	_d=$W/$_name
	mkdir -p "$_d/up"
	# shellcheck disable=SC2046 # the sizes are words
	_ours=$(mkdevs "$_d/ours" $(echo "$_sizes" | tr ',' '\n' | sed 's|/.*||')) ||
		{ fail "fresh $_name" "mkdevs"; return; }
	_args=
	_i=0
	for _s in $(echo "$_sizes" | tr ',' ' '); do
		case $_s in */*) _args="$_args ${_s#*/}" ;; esac
		_args="$_args $_d/ours/dev$_i.img"
		_i=$((_i + 1))
	done
	# shellcheck disable=SC2086
	"$B" format -q -f "$@" $_args < /dev/null > "$_d/format.err" 2>&1
	_st=$?
	if [ "$_st" -ne 0 ]; then
		fail "fresh $_name" "format $* exits $_st: $(head -c 300 "$_d/format.err")"
		return
	fi
	_up=$(IMAGES=$_dir; corpus_devices "$_name" "$_d/up") ||
		{ fail "fresh $_name" "cannot decompress the image"; return; }

	# the superblocks
	# shellcheck disable=SC2086
	show $_up > "$_d/up.sb"
	# shellcheck disable=SC2086
	show $_ours > "$_d/ours.sb"
	if cmp -s "$_d/up.sb" "$_d/ours.sb"; then
		pass "fresh $_name: show-super the same as upstream's ($(wc -l < "$_d/ours.sb") lines compared)"
	else
		fail "fresh $_name" "show-super differs: $(diff "$_d/up.sb" "$_d/ours.sb" | head -n 12 | tr '\n' '|')"
	fi

	# the keys
	zstd -q -dc < "$_dir/$_name.keys.zst" > "$_d/up.keys" || { fail "fresh $_name" "no keys dump"; return; }
	# shellcheck disable=SC2086
	"$B" list --format=keys -b all $_ours < /dev/null > "$_d/ours.keys" 2> "$_d/list.err" ||
		{ fail "fresh $_name" "list: $(head -c 300 "$_d/list.err")"; return; }
	census "$_d/up.keys" > "$_d/up.census"
	census "$_d/ours.keys" > "$_d/ours.census"
	_why=
	# the same btrees and key types
	if ! cmp -s "$_d/up.census" "$_d/ours.census"; then
		awk '{ print $1, $2 }' "$_d/up.census" > "$_d/up.types"
		awk '{ print $1, $2 }' "$_d/ours.census" > "$_d/ours.types"
		cmp -s "$_d/up.types" "$_d/ours.types" ||
			_why="$_why; btrees/key types differ: $(diff "$_d/up.types" "$_d/ours.types" | grep '^[<>]' | tr '\n' ' ')"
		# counts may differ only where the node placement decides: alloc
		# keys (buckets with nodes), freespace extents, fragmentation LRU
		# entries (partly used btree buckets)
		_other=$(diff "$_d/up.census" "$_d/ours.census" | grep '^[<>]' |
			grep -v -E '^[<>] (alloc alloc_v4|freespace set|lru set) ' | tr '\n' ' ')
		[ -z "$_other" ] || _why="$_why; counts differ: $_other"
	fi
	# superblock and journal buckets: the same alloc keys
	alloc_of "$_d/up.keys" 0102 > "$_d/up.meta"
	alloc_of "$_d/ours.keys" 0102 > "$_d/ours.meta"
	if [ ! -s "$_d/up.meta" ]; then
		_why="$_why; no sb/journal alloc keys in upstream's dump"
	elif ! cmp -s "$_d/up.meta" "$_d/ours.meta"; then
		_why="$_why; sb/journal alloc keys differ: $(diff "$_d/up.meta" "$_d/ours.meta" | head -n 4 | tr '\n' '|')"
	fi
	# as many btree sectors (the same nodes, wherever they are; the LRU
	# btree's left out, see census)
	_us=$(($(btree_sectors "$_d/up.keys") - $(lru_node_sectors "$_d/up.keys")))
	_os=$(($(btree_sectors "$_d/ours.keys") - $(lru_node_sectors "$_d/ours.keys")))
	[ "$_us" = "$_os" ] || _why="$_why; btree buckets hold $_os sectors, upstream's $_us"
	# keys that hold no random seed, time or journal sequence number: the
	# same (inodes and dirents hold the inodes' hash seeds and times)
	_plain='^(subvolumes|snapshots|snapshot_trees|logged_ops) '
	grep -E "$_plain" "$_d/up.keys" > "$_d/up.plain"
	grep -E "$_plain" "$_d/ours.keys" > "$_d/ours.plain"
	cmp -s "$_d/up.plain" "$_d/ours.plain" ||
		_why="$_why; keys differ: $(diff "$_d/up.plain" "$_d/ours.plain" | head -n 4 | tr '\n' '|')"
	# shellcheck disable=SC2086
	acct_of $_up > "$_d/up.acct"
	# shellcheck disable=SC2086
	acct_of $_ours > "$_d/ours.acct"
	if [ ! -s "$_d/up.acct" ]; then
		_why="$_why; no nr_inodes accounting in upstream's image"
	elif ! cmp -s "$_d/up.acct" "$_d/ours.acct"; then
		_why="$_why; accounting differs: $(diff "$_d/up.acct" "$_d/ours.acct" | grep '^[<>]' | head -n 4 | tr '\n' '|')"
	fi
	case $_name in
	v139-*)
		# shellcheck disable=SC2086
		_c=$(acct_bytes "$_d/up.keys" $_up)
		[ "$_c" = ok ] || _why="$_why; upstream's snapshot accounting: $_c"
		# shellcheck disable=SC2086
		_c=$(acct_bytes "$_d/ours.keys" $_ours)
		[ "$_c" = ok ] || _why="$_why; our snapshot accounting: $_c" ;;
	esac
	# every bucket in use or free exactly once, in both
	# shellcheck disable=SC2086
	geom_of $_ours > "$_d/geom"
	_c=$(coverage "$_d/ours.keys" "$_d/geom")
	[ -s "$_d/geom" ] && [ -z "$_c" ] || _why="$_why; ours: $(echo "$_c" | tr '\n' ' ')"
	_c=$(coverage "$_d/up.keys" "$_d/geom")
	[ -z "$_c" ] || _why="$_why; upstream's: $(echo "$_c" | tr '\n' ' ')"
	if [ -z "$_why" ]; then
		pass "fresh $_name: keys as upstream's ($(awk '{ n += $3 } END { print n }' "$_d/ours.census") keys: same btrees and key types, counts but where node placement decides, sb/journal alloc keys, btree sectors, inode and snapshot accounting, each bucket in use or free once)"
	else
		fail "fresh $_name" "keys:${_why#;}"
	fi
	rm -rf "$_d"
}

echo "# a. against upstream's fresh images"
if [ -n "${NO_IMAGES:-}" ]; then
	echo "SKIP fresh images: $NO_IMAGES"
else
	# the command lines of ../shared/images/README.md, "Fresh images"
	fresh fresh-128-default 64M -U 1a73e6c3-b0c1-46c2-a95c-7430ae51d1c1
	fresh fresh-128-opts 64M -U 17af3c3f-e8fc-415b-aefd-8322eababc22 \
		--bucket_size=128k --btree_node_size=64k --metadata_checksum=crc64 --label=test
	fresh fresh-128-two-dev 64M,32M -U 51eb60b4-4a78-4daa-a850-354bd2007d66
	fresh v136-fresh-default 64M --version=1.36 -U 8bb502a1-9e87-4c5b-a98f-ebdcb3179dba
	fresh v136-fresh-opts 64M --version=1.36 -U d913e648-6058-4395-ae6b-678eb515fa9e \
		--bucket_size=128k --btree_node_size=64k --metadata_checksum=crc64 --label=test
	fresh v136-fresh-two-dev 64M,32M --version=1.36 -U 6204388e-47de-4976-ae49-342d6adb5730
fi
# 1.39 (images-v139/README.md: made by a front-end over upstream v1.39.2's
# library, its geometry given here; the 128 MiB device got 64 KiB buckets)
if [ ! -r "$IMAGES139/index.tsv" ]; then
	echo "SKIP fresh 1.39 images: no 1.37-1.39 images at $IMAGES139 (give IMAGES139=DIR)"
else
	fresh v139-fresh-default 64M --version=1.39 -U 100ecc1b-6bfd-4e7e-90a8-51c6a1e14da8 \
		--block_size=512 --bucket_size=32k --btree_node_size=32k
	fresh v139-fresh-two-dev 64M,128M/--bucket_size=64k --version=1.39 \
		-U f5bc6d26-ef00-4b17-8c34-25fac36c7433 \
		--block_size=512 --bucket_size=32k --btree_node_size=32k
fi

# ---------------------------------------------------------------------------
# b. variants: clean for our fsck and for upstream's

oracle_note=
# variant NAME SIZES FORMAT-OPTIONS...: format, fsck -n, upstream fsck -n
variant() {
	_name=$1
	_sizes=$2
	shift 2
	_d=$W/v
	# shellcheck disable=SC2046 # the sizes are words
	_devs=$(mkdevs "$_d" $(echo "$_sizes" | tr ',' ' ')) || { fail "variant $_name" "mkdevs"; return; }
	_p=
	_in=/dev/null
	case " $* " in
	*" --encrypted "*)
		echo "variant passphrase" > "$W/pass"
		_p=--passphrase-file=$W/pass
		_in=$W/pass
		set -- "$@" "$_p" ;;
	esac
	case " $* " in
	*" --source="*)
		if ! { mkdir -p "$W/src/d" &&
		       yes one | head -c 300K > "$W/src/one" &&
		       yes two | head -c 5K > "$W/src/d/two" &&
		       ln -sf one "$W/src/link"; }; then
			fail "variant $_name" "source tree"
			return
		fi ;;
	esac
	# shellcheck disable=SC2086
	"$B" format -q -f "$@" $_devs < /dev/null > "$_d/out" 2>&1
	_st=$?
	if [ "$_st" -ne 0 ]; then
		fail "variant $_name" "format $* exits $_st: $(head -c 300 "$_d/out")"
		return
	fi
	# shellcheck disable=SC2086
	"$B" fsck -n --no-progress $_p $_devs < /dev/null > "$_d/fsck" 2>&1
	_st=$?
	if [ "$_st" -ne 0 ]; then
		fail "variant $_name" "fsck -n exits $_st: $(tail -n 4 "$_d/fsck" | tr '\n' '|')"
		return
	fi
	case " $* " in
	*" --version=1.36 "*) _o=$ORACLE/v136/bcachefs-fsck ;;
	*" --version=1.39 "*) _o=$ORACLE/v139/bcachefs-fsck ;;
	*) _o=$ORACLE/fixed/bcachefs-fsck ;;
	esac
	if [ ! -x "$_o" ]; then
		case " $oracle_note " in
		*" $_o "*) ;;
		*) oracle_note="$oracle_note $_o" ;;
		esac
		pass "variant $_name: fsck -n clean"
		return
	fi
	mkdir -p "$_d/up"
	_c=
	for _f in $_devs; do
		cp --sparse=always "$_f" "$_d/up/" || { fail "variant $_name" "copy"; return; }
		_c="$_c $_d/up/${_f##*/}"
	done
	# upstream reads the passphrase from stdin
	# shellcheck disable=SC2086
	timeout -k 5 300 "$_o" -n $_c < "$_in" > "$_d/up.out" 2>&1
	_st=$?
	if [ "$_st" -eq 0 ]; then
		pass "variant $_name: fsck -n clean, upstream's (${_o#"$ORACLE"/}) too"
	else
		fail "variant $_name" "upstream's fsck -n exits $_st: $(grep -v -e modprobe -e '\.\.\. done' "$_d/up.out" | head -n 8 | tr '\n' '|')"
	fi
	rm -rf "$_d" "$W/src"
}

echo "# b. variants"
variant "1.28" 64M
variant "1.36" 64M --version=1.36
variant "1.28, 2 devices" 64M,32M
variant "1.36, 2 devices" 64M,40M --version=1.36
variant "1.28, 3 devices" 64M,48M,32M
variant "1.36, 3 devices" 96M,64M,32M --version=1.36
for cs in none crc32c crc64 xxhash; do
	variant "1.28, $cs checksums" 64M --metadata_checksum=$cs --data_checksum=$cs
	variant "1.36, $cs checksums" 64M --version=1.36 --metadata_checksum=$cs --data_checksum=$cs
done
variant "1.28, encrypted" 64M --encrypted
variant "1.36, encrypted, 2 devices" 64M,32M --version=1.36 --encrypted
variant "1.28, --replicas=2, 2 devices" 64M,48M --replicas=2
variant "1.36, --replicas=2, 3 devices" 64M,48M,32M --version=1.36 --replicas=2
variant "1.28, 128k buckets, 64k nodes, labels" 64M --bucket_size=128k --btree_node_size=64k -L fslabel --label=ssd
variant "1.36, 512 B blocks, zstd, crc64 str_hash" 64M --version=1.36 --block_size=512 --compression=zstd --str_hash=crc64
variant "1.39" 64M --version=1.39
variant "1.39, 2 devices, 64k and 32k buckets" 128M,64M --version=1.39
variant "1.39, --replicas=2, 3 devices" 96M,64M,32M --version=1.39 --replicas=2
variant "1.39, xxhash checksums, 512 B blocks, 32k nodes" 64M --version=1.39 \
	--metadata_checksum=xxhash --data_checksum=xxhash --block_size=512 --btree_node_size=32k
variant "1.39, encrypted" 64M --version=1.39 --encrypted
variant "1.28, 1 GiB" 1G
variant "1.28, --fs_size=40M of 64M" 64M --fs_size=40M
if "$B" format --help 2> /dev/null | grep -q -- '--source'; then
	variant "1.28, --source" 64M "--source=$W/src"
	variant "1.36, --source, 2 devices" 64M,32M --version=1.36 "--source=$W/src"
	variant "1.39, --source, 2 devices" 64M,128M --version=1.39 "--source=$W/src"
else
	echo "SKIP variants with --source: this bcachefs format has no --source"
fi
[ -z "$oracle_note" ] || echo "SKIP upstream's fsck on the variants that need one of:$oracle_note (not there)"

# A 1.39 format with files, damaged as the copygc fault wants it (an entry
# of device 0's fragmentation LRU, id 8192, past the device end; one data
# backpointer gone): fsck -n names both, -y repairs, -n is clean again,
# and so is upstream's v1.39.2 fsck when present.
damaged139() {
	_d=$W/dmg
	_inj=${BUILD:-build}/tools/bch_inject
	if [ ! -x "$_inj" ]; then
		echo "SKIP 1.39 damaged and repaired: $_inj not built"
		return
	fi
	_dev=$(mkdevs "$_d" 64M) || { fail "1.39 damaged" "mkdevs"; return; }
	if ! { mkdir -p "$_d/src" && yes data | head -c 300K > "$_d/src/f"; }; then
		fail "1.39 damaged" "source"
		return
	fi
	# shellcheck disable=SC2086
	"$B" format -q -f --version=1.39 --source="$_d/src" $_dev < /dev/null > "$_d/out" 2>&1 ||
		{ fail "1.39 damaged" "format: $(head -c 300 "$_d/out")"; return; }
	# shellcheck disable=SC2086
	_bp=$("$B" list --format=keys -b backpointers $_dev | awk 'substr($6, 1, 2) == "00" { print $2; exit }')
	# shellcheck disable=SC2086
	_nb=$(geom_of $_dev | awk '{ print $2 }')
	# shellcheck disable=SC2086
	if [ -z "$_bp" ] || [ -z "$_nb" ] ||
	   ! "$_inj" $_dev -- insert lru "$((8192 << 48 | 1 << 30)):$_nb:0" set - \
		delete backpointers "$_bp" > "$_d/out" 2>&1; then
		fail "1.39 damaged" "cannot damage it: $(head -c 300 "$_d/out")"
		return
	fi
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $_dev < /dev/null > "$_d/got" 2>&1
	_st=$?
	_kinds=$(awk '{ print $1 }' "$_d/got" | sort | tr '\n' ' ')
	if [ "$_st" -ne 4 ] || [ "$_kinds" != "bp_missing bucket_bp_mismatch lru_invalid_bucket " ]; then
		fail "1.39 damaged" "fsck -n exits $_st, findings: $_kinds"
		return
	fi
	# shellcheck disable=SC2086
	(cd "$_d" && "$B" fsck -y --no-undo $_dev < /dev/null > "$_d/fix" 2>&1)
	_st=$?
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $_dev < /dev/null > "$_d/after" 2>&1
	_st2=$?
	if [ "$_st" -ne 1 ] || [ "$_st2" -ne 0 ] || [ -s "$_d/after" ]; then
		fail "1.39 damaged" "fsck -y exits $_st, then fsck -n $_st2: $(head -n 3 "$_d/after" | tr '\n' '|')"
		return
	fi
	_o=$ORACLE/v139/bcachefs-fsck
	if [ ! -x "$_o" ]; then
		pass "1.39 damaged: fsck -n finds ${_kinds% }; -y repairs, clean after"
		return
	fi
	# shellcheck disable=SC2086
	timeout -k 5 300 "$_o" -n $_dev < /dev/null > "$_d/up" 2>&1
	_st=$?
	if [ "$_st" -eq 0 ]; then
		pass "1.39 damaged: fsck -n finds ${_kinds% }; -y repairs, clean after, upstream's too"
	else
		fail "1.39 damaged" "upstream's fsck -n after our repair exits $_st: $(grep -v '\.\.\. done' "$_d/up" | head -n 6 | tr '\n' '|')"
	fi
	rm -rf "$_d"
}
damaged139

# ---------------------------------------------------------------------------
# c. refusals

# refuse NAME WANT_RE DEV FORMAT-ARGS...: exit 16, a message matching
# WANT_RE, DEV unchanged
refuse() {
	_name=$1
	_re=$2
	_dev=$3
	shift 3
	_h=$(digest "$_dev")
	"$B" format "$@" < /dev/null > "$W/out" 2>&1
	_st=$?
	if [ "$_st" -ne 16 ]; then
		fail "refuse $_name" "exit status $_st, want 16: $(head -c 300 "$W/out" | tr '\n' '|')"
	elif ! grep -q -i -E "$_re" "$W/out"; then
		fail "refuse $_name" "message does not match /$_re/: $(head -c 300 "$W/out" | tr '\n' '|')"
	elif [ "$(digest "$_dev")" != "$_h" ]; then
		fail "refuse $_name" "$_dev was written"
	else
		pass "refuse $_name: exit 16, $(head -n 1 "$W/out" | cut -c1-120)"
	fi
}

echo "# c. refusals"
R=$W/r
mkdir -p "$R"
truncate -s 16M "$R/fs.img"
"$B" format -q "$R/fs.img" < /dev/null || fail "refuse" "cannot format $R/fs.img"
refuse "a bcachefs device without -f" 'bcachefs' "$R/fs.img" "$R/fs.img"
refuse "a bcachefs device without -f, 1.36" 'bcachefs' "$R/fs.img" --version=1.36 "$R/fs.img"
refuse "a bcachefs device without -f, 1.39" 'bcachefs' "$R/fs.img" --version=1.39 "$R/fs.img"
truncate -s 16M "$R/other.img"
refuse "a second device holding bcachefs, without -f" 'fs\.img.*bcachefs' "$R/fs.img" "$R/other.img" "$R/fs.img"
if command -v mkfs.ext4 > /dev/null 2>&1; then
	truncate -s 16M "$R/ext4.img"
	mkfs.ext4 -q -F "$R/ext4.img" > /dev/null 2>&1
	refuse "an ext4 device without -f" 'ext4' "$R/ext4.img" "$R/ext4.img"
else
	echo "SKIP refuse an ext4 device: no mkfs.ext4 here"
fi
truncate -s 1M "$R/tiny.img"
refuse "a 1 MiB device" 'room|small' "$R/tiny.img" "$R/tiny.img"
truncate -s 16M "$R/new.img"
refuse "--metadata_checksum=bogus" 'checksum' "$R/new.img" --metadata_checksum=bogus "$R/new.img"
refuse "--data_checksum=sha1" 'checksum' "$R/new.img" --data_checksum=sha1 "$R/new.img"
refuse "--replicas=0" 'replicas' "$R/new.img" --replicas=0 "$R/new.img"
refuse "--replicas=9" 'replicas' "$R/new.img" --replicas=9 "$R/new.img"
refuse "--version=1.99" 'version' "$R/new.img" --version=1.99 "$R/new.img"
refuse "--bucket_size=3k" 'bucket size' "$R/new.img" --bucket_size=3k "$R/new.img"
refuse "--btree_node_size larger than the buckets" 'bucket size|node size' "$R/new.img" \
	--bucket_size=128k --btree_node_size=256k "$R/new.img"
refuse "--compression=bogus" 'compression' "$R/new.img" --compression=bogus "$R/new.img"
refuse "-U not-a-uuid" 'uuid' "$R/new.img" -U not-a-uuid "$R/new.img"
refuse "--encrypted without a passphrase" 'passphrase' "$R/new.img" --encrypted "$R/new.img"
refuse "an unknown option" 'unrecognized|unknown|invalid' "$R/new.img" --bogus "$R/new.img"
refuse "no device" 'usage' "$R/new.img"

# shellcheck disable=SC2154 # lib.sh's
[ "$nfail" -eq 0 ]
