#!/bin/sh
# The btree writer at scale: repairs of thousands of keys written into the
# btrees copy-on-write, on the largest image of the corpus.
#  - big-12k: `big` with its first 12,000 backpointers deleted through the
#    journal (bch_inject): -n finds 12000 bp_missing; -y repairs (exit 1,
#    clean superblock, -n exit 0, extents/inodes/dirents unchanged, the
#    user-data backpointers exactly those of the clean image); undo
#    restores the bytes;
#  - power cuts (the test build's --test-fail-after-writes), clean and
#    torn, after every write of the repair of medium with all its 6090
#    backpointers deleted, and after a sample of the writes of the big-12k
#    repair (all of them with WRITER_ALL_CUTS=1): -n then shows the
#    original findings or none, never a read error; the last run
#    completes; undo of the full repair restores the bytes. Instead of
#    copying the 8 GiB sparse image for every cut, the regions the full
#    repair writes (strace of its pwrite64 calls) are saved and put back;
#  - two-dev and encrypted with a few hundred backpointers deleted: -y
#    exit 1, -n exit 0, every superblock clean;
#  - rebuilds (skipped until `fsck --rebuild` exists): --rebuild=backpointers
#    on a clean big; lru and freespace roots of medium unreadable (bad
#    checksum); 30 backpointers leaves and one interior node of big
#    unreadable.
#    big with all its backpointers gone (bch_inject truncate): -n finds
#    every one missing, -y puts them back.
# Environment: BCACHEFS, IMAGES, BUILD, TMPDIR (see tests/run.sh).
# Needs perl (perl-base) to hash and restore regions of the sparse image,
# strace for the power cuts on big.
set -u


. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${IMAGES:?}" "${TMPDIR:?}"
BUILD=${BUILD:-build}
work=$(mktemp -d "$TMPDIR/writer.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' HUP INT TERM
B=$BCACHEFS
T=$BUILD/test/bcachefs		# the test build: power cuts on request
INJ=$BUILD/tools/bch_inject
COR=$BUILD/tools/bch_corrupt

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1 $2"; }
skip() { echo "SKIP $1: $2"; }

t_start() { t0=$(date +%s); }
t_end() { echo "# time $1: $(($(date +%s) - t0))s"; }

have_rebuild=
"$B" fsck --help 2>&1 | grep -q -- --rebuild && have_rebuild=1
have_perl=
command -v perl >/dev/null 2>&1 && have_perl=1
[ -n "$have_perl" ] || echo "note: no perl: regions of big hashed with sha256sum of the whole image (slow), no power cuts on big"

# decompress NAME's devices into DIR (writable); print their paths
devices() {
	_out=""
	for _d in $(awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$IMAGES/index.tsv" | tr , ' '); do
		_f="$2/${_d%.zst}"
		zstd -q -d -f --sparse "$IMAGES/$_d" -o "$_f" </dev/null || return 1
		chmod u+w "$_f" || return 1
		_out="${_out:+$_out }$_f"
	done
	[ -n "$_out" ] || return 1
	echo "$_out"
}

sb_clean() {
	"$B" show-super "$1" | grep -q '^Clean: *1$'
}

all_clean() {
	for _f in "$@"; do
		sb_clean "$_f" || return 1
	done
	return 0
}

# the keys a repair of the allocation family must never touch
protected_keys() {
	"$B" list --format=keys -b extents,inodes,dirents "$@"
}

# backpointers of user data (a node rewrite moves those of btree nodes:
# data type 3, value byte 2)
data_bps() {
	"$B" list --format=keys -b backpointers "$@" | awk 'substr($6, 5, 2) != "03"'
}

# content_hash FILE...: sha256 of the files' contents, computed over their
# data extents only (SEEK_DATA/SEEK_HOLE, 1 MiB chunks, all-zero chunks
# skipped), so a hole and zeros written over it hash the same: equal hashes
# iff equal bytes. sha256sum of the 8 GiB sparse image would take ~45 s.
content_hash() {
	if [ -z "$have_perl" ]; then
		cat "$@" | sha256sum | cut -d' ' -f1
		return
	fi
	rm -f "$work/hash.err"
	{ perl -e '
use strict; use Fcntl;
my $C = 1 << 20; my $zero = "\0" x $C; my $i = 0;
binmode STDOUT;
for my $f (@ARGV) {
	sysopen(my $fh, $f, O_RDONLY) or die "$f: $!\n";
	my $size = -s $fh; my $pos = 0; my $next = 0;
	while ($pos < $size) {
		my $d = sysseek($fh, $pos, 3);		# SEEK_DATA
		last unless defined $d;
		my $h = sysseek($fh, $d, 4);		# SEEK_HOLE
		$h = $size unless defined $h;
		my $c = $d - $d % $C;
		$c = $next if $c < $next;
		while ($c < $h) {
			sysseek($fh, $c, 0) or die;
			my $r = sysread($fh, my $buf, $C);
			die "$f: read error\n" unless defined $r;
			print "$i $c $r\n", $buf if $r && $buf ne substr($zero, 0, $r);
			$c += $C;
		}
		$next = $c;
		$pos = $h;
	}
	$i++;
}' "$@" || echo "$?" > "$work/hash.err"; } | sha256sum | cut -d' ' -f1 > "$work/hash"
	if [ -e "$work/hash.err" ]; then
		echo "error-$(date +%s%N)"	# never equal to another
	else
		cat "$work/hash"
	fi
}

# regions save|restore IMG REGIONS BLOB: copy the byte ranges of REGIONS
# ("offset length" lines) from IMG into BLOB, or BLOB back into IMG
regions() {
	perl -e '
use strict; use Fcntl;
my ($mode, $img, $reg, $blob) = @ARGV;
open(my $r, "<", $reg) or die "$reg: $!\n";
my @reg = map { [split] } <$r>;
sysopen(my $fh, $img, $mode eq "save" ? O_RDONLY : O_WRONLY) or die "$img: $!\n";
if ($mode eq "save") {
	open(my $o, ">", $blob) or die "$blob: $!\n"; binmode $o;
	for (@reg) {
		sysseek($fh, $_->[0], 0);
		(sysread($fh, my $b, $_->[1]) // -1) == $_->[1] or die "short read\n";
		print $o $b;
	}
	close($o) or die "$blob: $!\n";
} else {
	open(my $in, "<", $blob) or die "$blob: $!\n"; binmode $in;
	for (@reg) {
		read($in, my $b, $_->[1]) == $_->[1] or die "short blob\n";
		sysseek($fh, $_->[0], 0);
		(syswrite($fh, $b) // -1) == $_->[1] or die "short write\n";
	}
}' "$@"
}

# inject_deletes LIST [--passphrase-file=F] DEV...: delete the backpointers
# at the positions of LIST, 3000 per journal entry
inject_deletes() {
	_list=$1
	shift
	_n=$(wc -l < "$_list")
	_s=1
	while [ "$_s" -le "$_n" ]; do
		# shellcheck disable=SC2046
		"$INJ" "$@" -- $(sed -n "$_s,$((_s + 2999))p" "$_list" |
			awk '{ printf "delete backpointers %s ", $1 }') > /dev/null || return 1
		_s=$((_s + 3000))
	done
}

count_of() {
	grep -c "^$1 " "$2"
}

# the numbers of the `repair:` line: "updates new freed writes"
repair_line() {
	sed -n 's/^repair: \([0-9]*\) key updates .*: \([0-9]*\) new nodes, \([0-9]*\) freed; .*(\([0-9]*\) writes)$/\1 \2 \3 \4/p' "$1"
}

# --------------------------------------------------------------------------
# big: one decompressed copy, brought back by undo between the cases

bigdir=$work/big
mkdir -p "$bigdir"
BIG=
big_fresh() {
	rm -f "$bigdir/big.img"
	BIG=$(devices big "$bigdir") || { BIG=; return 1; }
}
t_start
big_fresh
if [ -n "$BIG" ]; then
	protected_keys "$BIG" > "$bigdir/prot.base" 2>&1
	data_bps "$BIG" > "$bigdir/bps.base" 2>&1
fi
t_end "decompress big"

# the sector of a node line of `list --format=nodes` (its first pointer)
node_sector() {
	awk '{ split($5, p, ","); split(p[1], q, ":"); print q[2] }'
}

# break_nodes IMG SECTOR...: invert node byte 144 (the first bset's
# journal_seq, under its checksum) without fixing the checksum. (Node byte
# 200 is not always checksummed: medium's lru and freespace nodes have an
# empty first bset, their keys start in the second block.)
break_nodes() {
	_img=$1
	shift
	for _s in "$@"; do
		"$COR" "$_img" flip $((_s * 512 + 144)) > /dev/null || return 1
	done
}

# mentions_all FILE SECTOR...: every sector named in FILE
mentions_all() {
	_f=$1
	shift
	for _s in "$@"; do
		grep -Eq "sector $_s([^0-9]|\$)" "$_f" || { echo "$_s"; return 1; }
	done
	return 0
}

# (a) --rebuild=backpointers on a clean big
t_start
name="rebuild backpointers big"
if [ -z "$have_rebuild" ]; then
	skip "$name" "fsck has no --rebuild"
elif [ -z "$BIG" ]; then
	fail "$name" "cannot decompress big"
else
	d=$work/rebuild
	mkdir -p "$d"
	"$B" fsck -y --rebuild=backpointers -z "$d/undo" "$BIG" > "$d/y" 2>&1
	s1=$?
	"$B" fsck -n "$BIG" > "$d/n" 2>&1
	s2=$?
	clean=0
	sb_clean "$BIG" && clean=1
	data_bps "$BIG" > "$d/bps" 2>&1
	if { [ $s1 -eq 0 ] || [ $s1 -eq 1 ]; } && [ $s2 -eq 0 ] && [ $clean = 1 ] &&
	   cmp -s "$d/bps" "$bigdir/bps.base"; then
		pass "$name"
	else
		fail "$name" "exit $s1/$s2 (want 0|1/0), clean $clean, user-data backpointers as before: $(cmp -s "$d/bps" "$bigdir/bps.base" && echo yes || echo no): $(tail -2 "$d/y" | tr '\n' '|')"
	fi
	if [ -s "$d/undo" ]; then
		"$B" undo "$d/undo" "$BIG" > /dev/null 2>&1 || big_fresh
	elif [ $s1 -ne 0 ]; then
		big_fresh
	fi
fi
t_end "$name"

# (b) big with every backpointer gone: the btree emptied through the btree
# writer (bch_inject truncate), so only the new nodes' own backpointers are
# left; -n finds the others missing, -y puts them all back
t_start
name="all backpointers deleted big"
if [ -z "$BIG" ]; then
	fail "$name" "cannot decompress big"
else
	d=$work/allbps
	mkdir -p "$d"
	"$INJ" "$BIG" -- truncate backpointers > "$d/inj" 2>&1
	s0=$?
	left=$("$B" list --format=keys -b backpointers "$BIG" 2>/dev/null | wc -l)
	"$B" fsck -n --findings "$BIG" > "$d/n1" 2>&1
	s1=$?
	missing=$(grep -c '^bp_missing' "$d/n1")
	"$B" fsck -y --no-undo "$BIG" > "$d/y" 2>&1
	s2=$?
	"$B" fsck -n "$BIG" > "$d/n2" 2>&1
	s3=$?
	clean=0
	sb_clean "$BIG" && clean=1
	data_bps "$BIG" > "$d/bps" 2>&1
	# only the backpointers of the writer's own new nodes survive the truncate
	if [ $s0 -eq 0 ] && [ "$left" -lt 100 ] && [ $s1 -eq 4 ] && [ "$missing" -gt 400000 ] &&
	   [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && [ $clean = 1 ] && cmp -s "$d/bps" "$bigdir/bps.base"; then
		pass "$name ($missing missing)"
	else
		fail "$name" "exit $s0/$s1/$s2/$s3 (want 0/4/1/0), $left left, $missing missing, clean $clean: $(tail -2 "$d/y" | tr '\n' '|')"
	fi
	big_fresh
fi
t_end "$name"

# (d) 30 backpointers leaves and one interior node of big unreadable
t_start
name="unreadable backpointers nodes big"
if [ -z "$have_rebuild" ]; then
	skip "$name" "fsck has no --rebuild"
elif [ -z "$BIG" ]; then
	fail "$name" "cannot decompress big"
else
	d=$work/bpnodes
	mkdir -p "$d"
	"$B" list --format=nodes -b backpointers "$BIG" > "$d/nodes" 2>&1
	# the second level-1 node, and 30 leaves spread over the others' ranges
	awk '$2 == 1' "$d/nodes" | sed -n 2p > "$d/interior"
	imin=$(awk '{ print $3 }' "$d/interior")
	imax=$(awk '{ print $4 }' "$d/interior")
	awk -v lo="$imin" -v hi="$imax" '
		$2 != 0 { next }
		$3 == lo { inside = 1 }
		!inside { print }
		$4 == hi { inside = 0 }' "$d/nodes" > "$d/outside"
	nout=$(wc -l < "$d/outside")
	awk -v n="$nout" 'BEGIN { step = int(n / 30); if (step < 1) step = 1 }
		(NR - 1) % step == 0 && k < 30 { print; k++ }' "$d/outside" > "$d/leaves"
	# shellcheck disable=SC2046
	set -- $(node_sector < "$d/interior") $(node_sector < "$d/leaves")
	if [ $# -ne 31 ]; then
		fail "$name" "cannot pick 30 leaves and an interior node ($# nodes)"
	elif ! break_nodes "$BIG" "$@"; then
		fail "$name" "bch_corrupt flip failed"
		big_fresh
	else
		"$B" list --format=keys -b backpointers "$BIG" > /dev/null 2>&1
		s0=$?
		"$B" fsck -n -v "$BIG" > "$d/n1" 2>&1
		s1=$?
		missing=$(mentions_all "$d/n1" "$@")
		"$B" fsck -y -z "$d/undo" "$BIG" > "$d/y" 2>&1
		s2=$?
		"$B" fsck -n "$BIG" > "$d/n2" 2>&1
		s3=$?
		clean=0
		sb_clean "$BIG" && clean=1
		data_bps "$BIG" > "$d/bps" 2>&1
		protected_keys "$BIG" > "$d/prot" 2>&1
		same=no
		cmp -s "$d/bps" "$bigdir/bps.base" && same=yes
		if [ $s0 -eq 8 ] && [ $s1 -eq 4 ] && [ -z "$missing" ] && [ $s2 -eq 1 ] &&
		   [ $s3 -eq 0 ] && [ $clean = 1 ] && [ $same = yes ] &&
		   cmp -s "$d/prot" "$bigdir/prot.base"; then
			pass "$name"
		else
			fail "$name" "list exit $s0 (want 8), fsck -n/-y/-n exit $s1/$s2/$s3 (want 4/1/0), node not named: ${missing:-none}, clean $clean, user-data backpointers restored: $same: $(grep -E '^(repair|summary)' "$d/y" | tr '\n' '|')"
		fi
		# back to the clean image: undo the repair, flip the bytes back
		if "$B" undo "$d/undo" "$BIG" > /dev/null 2>&1 && break_nodes "$BIG" "$@" &&
		   "$B" fsck -n "$BIG" > /dev/null 2>&1; then
			:
		else
			big_fresh
		fi
	fi
fi
t_end "$name"

# --------------------------------------------------------------------------
# 1. big-12k

t_start
name="big-12k"
H0=
if [ -z "$BIG" ]; then
	fail "$name" "cannot decompress big"
else
	d=$work/big12k
	mkdir -p "$d"
	"$B" list --format=keys -b backpointers "$BIG" 2> "$d/err" | head -n 12000 |
		awk '{ print $2 }' > "$d/bps"
	if [ "$(wc -l < "$d/bps")" -ne 12000 ] || ! inject_deletes "$d/bps" "$BIG"; then
		fail "$name" "cannot delete 12000 backpointers: $(head -c 200 "$d/err")"
		BIG=
	fi
fi
if [ -n "$BIG" ]; then
	"$B" fsck -n --findings "$BIG" > "$d/n1" 2>&1
	s1=$?
	nbp=$(count_of bp_missing "$d/n1")
	if [ $s1 -eq 4 ] && [ "$nbp" -eq 12000 ] && ! sb_clean "$BIG"; then
		pass "$name: fsck -n finds 12000 bp_missing"
	else
		fail "$name: fsck -n finds 12000 bp_missing" "exit $s1 (want 4), $nbp bp_missing: $(head -2 "$d/n1" | tr '\n' '|')"
	fi

	protected_keys "$BIG" > "$d/prot.before" 2>&1
	H0=$(content_hash "$BIG")
	"$B" fsck -y -z "$d/undo" "$BIG" > "$d/y" 2>&1
	s2=$?
	"$B" fsck -n "$BIG" > "$d/n2" 2>&1
	s3=$?
	clean=0
	sb_clean "$BIG" && clean=1
	protected_keys "$BIG" > "$d/prot.after" 2>&1
	data_bps "$BIG" > "$d/bps.after" 2>&1
	prot=no
	cmp -s "$d/prot.before" "$d/prot.after" && cmp -s "$d/prot.after" "$bigdir/prot.base" && prot=yes
	bps=no
	cmp -s "$d/bps.after" "$bigdir/bps.base" && bps=yes
	rl=$(repair_line "$d/y")
	if [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && [ $clean = 1 ] && [ $prot = yes ] &&
	   [ $bps = yes ] && [ -n "$rl" ]; then
		# shellcheck disable=SC2086
		set -- $rl
		pass "$name: fsck -y repairs into the btrees ($1 updates, $2 new nodes, $3 freed, $4 writes)"
	else
		fail "$name: fsck -y repairs into the btrees" "exit $s2/$s3 (want 1/0), clean $clean, extents/inodes/dirents unchanged: $prot, user-data backpointers restored: $bps: $(grep -E '^(repair|summary)' "$d/y" | tr '\n' '|')"
	fi

	"$B" undo "$d/undo" "$BIG" > "$d/u" 2>&1
	s4=$?
	H1=$(content_hash "$BIG")
	if [ $s4 -eq 0 ] && [ -n "$H0" ] && [ "$H0" = "$H1" ]; then
		pass "$name: undo restores the bytes"
	else
		fail "$name: undo restores the bytes" "undo exit $s4, content sha256 $H0 -> $H1: $(head -2 "$d/u" | tr '\n' '|')"
		H0=
	fi
fi
t_end "$name"

# --------------------------------------------------------------------------
# 2. power cuts: after every write of the repair of medium with all its
# 6090 backpointers deleted (13 writes), clean and torn; and after a sample
# of the writes of the big-12k repair (every 8th and the last 6: the commit),
# every write with WRITER_ALL_CUTS=1 (~2 min more).
#
# powercut NAME IMG HASH PRISTINE [all|sample]: IMG holds the corrupted
# image, whose content hash is HASH; PRISTINE a copy of it to restore from
# after every cut, or "" to save and restore only the regions the full
# repair writes (learnt with strace)
powercut() {
	name=$1
	img=$2
	h0=$3
	pristine=$4
	d=$work/pc
	rm -rf "$d"
	mkdir -p "$d"
	t_start
	if [ -z "$pristine" ] && ! command -v strace >/dev/null 2>&1; then
		skip "$name" "no strace (needed to learn the regions the repair writes)"
		return
	fi
	if [ -z "$pristine" ] && [ -z "$have_perl" ]; then
		skip "$name" "no perl (needed to save and restore the regions the repair writes)"
		return
	fi
	if [ ! -x "$T" ]; then
		fail "$name" "no test build $T (make $T)"
		return
	fi
	"$B" fsck -n --findings "$img" 2>/dev/null | sort > "$d/orig"
	# the full repair (its writes traced), checked, undone
	if [ -z "$pristine" ]; then
		strace -f -s 0 -e trace=pwrite64 -o "$d/trace" "$T" fsck -y -z "$d/undo" "$img" > "$d/full" 2>&1
		s1=$?
		sed -n 's/.*, \([0-9][0-9]*\), \([0-9][0-9]*\)) *= \([0-9][0-9]*\)$/\2 \1 \3/p' "$d/trace" |
			awk '$2 == $3 { print $1, $2 }' > "$d/regions"
	else
		"$T" fsck -y -z "$d/undo" "$img" > "$d/full" 2>&1
		s1=$?
	fi
	n=$(repair_line "$d/full" | awk '{ print $4 }')
	"$B" fsck -n "$img" > /dev/null 2>&1
	s2=$?
	clean=0
	sb_clean "$img" && clean=1
	"$B" undo "$d/undo" "$img" > "$d/u" 2>&1
	s3=$?
	h1=$(content_hash "$img")
	if [ $s1 -ne 1 ] || [ -z "$n" ] || [ $s2 -ne 0 ] || [ $clean != 1 ] || [ $s3 -ne 0 ] ||
	   [ "$h1" != "$h0" ]; then
		fail "$name" "full repair exit $s1 (want 1), then -n exit $s2, clean $clean, undo exit $s3, bytes restored: $([ "$h1" = "$h0" ] && echo yes || echo no): $(tail -2 "$d/full" | tr '\n' '|')"
		return
	fi
	if [ -z "$pristine" ]; then
		nw=$(grep -c pwrite64 "$d/trace")
		if [ "$(wc -l < "$d/regions")" -ne "$n" ] || [ "$nw" -ne "$n" ]; then
			fail "$name" "the repair made $n writes, strace saw $nw pwrite64 calls"
			return
		fi
		regions save "$img" "$d/regions" "$d/blob" ||
			{ fail "$name" "cannot save the regions"; return; }
	fi
	if [ "$5" = all ]; then
		ks=$(awk -v n="$n" 'BEGIN { for (k = 0; k <= n; k++) print k }')
	else
		ks=$(awk -v n="$n" 'BEGIN { for (k = 0; k <= n; k++) if (k % 8 == 0 || k >= n - 5) print k }')
	fi
	bad=
	norig=0
	nnone=0
	ncut=0
	st=
	for k in $ks; do
		for torn in "" ":torn"; do
			"$T" fsck -y --no-undo --test-fail-after-writes="$k$torn" "$img" > "$d/y" 2>&1
			st=$?
			ncut=$((ncut + 1))
			[ "$k" -lt "$n" ] && [ $st -ne 8 ] && bad="$bad k=$k$torn(exit $st, no cut)"
			"$B" fsck -n --findings "$img" 2> "$d/n.err" | sort > "$d/now"
			if cmp -s "$d/now" "$d/orig"; then
				norig=$((norig + 1))
			elif [ ! -s "$d/now" ]; then
				nnone=$((nnone + 1))
			else
				bad="$bad k=$k$torn($(wc -l < "$d/now") findings)"
			fi
			if grep -q 'bcachefs:' "$d/n.err" && ! grep -q warning "$d/n.err"; then
				bad="$bad k=$k$torn(unreadable: $(head -1 "$d/n.err" | cut -c1-120))"
			fi
			if [ -n "$pristine" ]; then
				cp "$pristine" "$img" || bad="$bad k=$k$torn(restore)"
			else
				regions restore "$img" "$d/regions" "$d/blob" || bad="$bad k=$k$torn(restore)"
			fi
		done
	done
	# a cut that wrote outside the full repair's regions shows here
	h2=$(content_hash "$img")
	[ "$h2" = "$h0" ] || bad="$bad (bytes after the last restore differ from the original)"
	if [ -z "$bad" ] && [ "$st" -eq 1 ]; then
		pass "$name ($n writes, $ncut cuts: $norig original, $nnone repaired)"
	else
		fail "$name" "bad states:$bad; last exit $st (want 1)"
	fi
	t_end "$name"
}

d=$work/medium6k
mkdir -p "$d"
img=$(devices medium "$d")
if [ -z "$img" ]; then
	fail "powercut medium-6090" "cannot decompress medium"
else
	"$B" list --format=keys -b backpointers "$img" 2>/dev/null | awk '{ print $2 }' > "$d/bps"
	if [ "$(wc -l < "$d/bps")" -lt 6000 ] || ! inject_deletes "$d/bps" "$img"; then
		fail "powercut medium-6090" "cannot delete the backpointers of medium"
	else
		cp "$img" "$d/pristine"
		powercut "powercut medium-6090" "$img" "$(content_hash "$img")" "$d/pristine" all
	fi
	rm -f "$img" "$d/pristine"
fi

if [ -z "$BIG" ] || [ -z "$H0" ]; then
	fail "powercut big-12k" "no big-12k image restored to its bytes before the repair"
elif [ "${WRITER_ALL_CUTS:-}" = 1 ]; then
	powercut "powercut big-12k, every write" "$BIG" "$H0" "" all
else
	powercut "powercut big-12k, sampled writes" "$BIG" "$H0" "" sample
fi
rm -f "$bigdir/big.img"

# --------------------------------------------------------------------------
# 3. two-dev and encrypted, a few hundred backpointers deleted

small_repair() {
	name=$1
	img=$2
	d=$work/$img
	mkdir -p "$d"
	t_start
	files=$(devices "$img" "$d") || { fail "$name" "cannot decompress $img"; return; }
	popt=
	if [ "$img" = encrypted ]; then
		printf 'bcachefs-test\n' > "$d/pw"
		popt="--passphrase-file=$d/pw"
	fi
	# shellcheck disable=SC2086
	"$B" list --format=keys -b backpointers $popt $files > "$d/all" 2>&1
	: > "$d/bps"
	# 300 of every device's backpointers
	for dev in 0 1 2 3; do
		grep "^backpointers $dev:" "$d/all" | head -n 300 | awk '{ print $2 }' >> "$d/bps"
	done
	want=$(wc -l < "$d/bps")
	# shellcheck disable=SC2086
	if [ "$want" -lt 150 ] || ! inject_deletes "$d/bps" $popt $files; then
		fail "$name" "cannot delete backpointers ($want)"
		return
	fi
	# shellcheck disable=SC2086
	protected_keys $popt $files > "$d/prot.before" 2>&1
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $popt $files > "$d/n1" 2>&1
	s1=$?
	nbp=$(count_of bp_missing "$d/n1")
	# shellcheck disable=SC2086
	"$B" fsck -y --no-undo $popt $files > "$d/y" 2>&1
	s2=$?
	# shellcheck disable=SC2086
	"$B" fsck -n $popt $files > "$d/n2" 2>&1
	s3=$?
	clean=0
	# shellcheck disable=SC2086
	all_clean $files && clean=1
	# shellcheck disable=SC2086
	protected_keys $popt $files > "$d/prot.after" 2>&1
	if [ $s1 -eq 4 ] && [ "$nbp" -eq "$want" ] && [ $s2 -eq 1 ] && [ $s3 -eq 0 ] &&
	   [ $clean = 1 ] && cmp -s "$d/prot.before" "$d/prot.after"; then
		pass "$name ($want backpointers)"
	else
		fail "$name" "fsck -n/-y/-n exit $s1/$s2/$s3 (want 4/1/0), $nbp of $want bp_missing, every superblock clean: $clean: $(grep -E '^(repair|summary)|bcachefs:' "$d/y" | head -3 | tr '\n' '|')"
	fi
	# shellcheck disable=SC2086
	rm -f $files
	t_end "$name"
}

small_repair "two-dev: backpointers deleted on both devices" two-dev
small_repair "encrypted: backpointers deleted" encrypted

# --------------------------------------------------------------------------
# 4c. the lru and freespace roots of medium unreadable

t_start
name="unreadable lru and freespace medium"
if [ -z "$have_rebuild" ]; then
	skip "$name" "fsck has no --rebuild"
else
	d=$work/lrufs
	mkdir -p "$d"
	img=$(devices medium "$d")
	# shellcheck disable=SC2046
	set -- $("$B" list --format=nodes -b lru,freespace "$img" 2>/dev/null | awk '$2 == 0' | node_sector)
	if [ -z "$img" ] || [ $# -lt 2 ]; then
		fail "$name" "cannot find the lru and freespace nodes"
	elif ! break_nodes "$img" "$@"; then
		fail "$name" "bch_corrupt flip failed"
	else
		"$B" list --format=keys -b lru "$img" > /dev/null 2>&1
		l1=$?
		"$B" list --format=keys -b freespace "$img" > /dev/null 2>&1
		l2=$?
		protected_keys "$img" > "$d/prot.before" 2>&1
		"$B" fsck -n -v "$img" > "$d/n1" 2>&1
		s1=$?
		missing=$(mentions_all "$d/n1" "$@")
		"$B" fsck -y --no-undo "$img" > "$d/y" 2>&1
		s2=$?
		"$B" fsck -n "$img" > "$d/n2" 2>&1
		s3=$?
		clean=0
		sb_clean "$img" && clean=1
		protected_keys "$img" > "$d/prot.after" 2>&1
		if [ $l1 -eq 8 ] && [ $l2 -eq 8 ] && [ $s1 -eq 4 ] && [ -z "$missing" ] &&
		   [ $s2 -eq 1 ] && [ $s3 -eq 0 ] && [ $clean = 1 ] &&
		   cmp -s "$d/prot.before" "$d/prot.after"; then
			pass "$name"
		else
			fail "$name" "list exit $l1/$l2 (want 8/8), fsck -n/-y/-n exit $s1/$s2/$s3 (want 4/1/0), node not named: ${missing:-none}, clean $clean: $(grep -E '^(repair|summary)' "$d/y" | tr '\n' '|')"
		fi
	fi
fi
t_end "$name"
