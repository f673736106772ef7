#!/bin/sh
# Image test cases in the e2fsprogs style: tests/cases/NAME/script makes a
# damaged filesystem (a fresh one made by `bcachefs format`, or a corpus
# image) and the runner then
#   1. checks that `fsck -n --findings` reports every finding kind the
#      script's "want" lines name (whatever the expected files say);
#   2. runs `bcachefs fsck -y --no-undo` and compares its output (device
#      paths made relative, UUIDs replaced by <uuid>) and exit status with
#      NAME/expect.1;
#   3. runs it again and compares with NAME/expect.2, which must be the
#      report of a clean filesystem (exit status 0, 0 findings), or, when
#      the script has "left" lines, report just those kinds (exit 4);
#   4. for a formatted case repaired whole, runs upstream's fsck -n (the
#      oracle /opt/oracle/{fixed,v136,v139}/bcachefs-fsck for format 1.28/1.36/1.39,
#      when present) on a copy of the repaired devices: it must exit 0.
#
# Script lines, in order (the source and passphrase lines before format):
#   format [OPTION...] SIZE[,SIZE...]
#                       fresh sparse devices dev0.img, dev1.img, ... of these
#                       sizes (K, M, G suffixes), made by `bcachefs format -q
#                       -f --test-time T -U U OPTION... DEVS` (fixed creation
#                       time and external UUID)
#   image NAME          instead of format: the corpus image NAME (every device
#                       of it); without ../shared the case is skipped
#   passphrase TEXT     encrypted: format gets --encrypted and, like every
#                       other command, --passphrase-file
#   dir PATH            a directory of the source tree
#   file PATH SIZE      a file of SIZE bytes (K, M suffixes) of the source
#                       tree, its bytes "PATH\n" repeated; with file or dir
#                       lines format gets --source=TREE (skipped, saying so,
#                       while format has no --source)
#   grow DEV SIZE       make device file DEV (0, 1, ...) SIZE bytes long
#   inject OP...        tests/tools/bch_inject OPs on the devices
#   corrupt-node BTREE LEVEL N
#                       flip a byte under the checksum of the Nth node (from
#                       1) of BTREE at LEVEL
#   drop-bps BUCKET     delete every backpointer into BUCKET
#   drop-lru BUCKET     delete every LRU entry for BUCKET
#   add-bp BUCKET SECTOR LEN
#                       a backpointer (btree alloc, level 1, to SPOS_MAX) at
#                       SECTOR of BUCKET for LEN sectors: no node is there
#   add-lru BUCKET TIME a fragmentation LRU entry for BUCKET at TIME
#   lru-past-end DEV [N]
#                       a fragmentation LRU entry (time 1000) for bucket
#                       nbuckets + N (default 0) of device DEV
#   set-alloc BUCKET FIELD=VALUE...
#                       rewrite BUCKET's alloc key with gen, data_type (a
#                       number), dirty_sectors or cached_sectors changed
#   drop-alloc BUCKET   delete BUCKET's alloc key
#   set-bps BUCKET FIELD=VALUE...
#                       rewrite every backpointer into BUCKET with gen, pad
#                       (the word after the gen) or len changed
#   fsck-option OPT...  options of the first fsck -y run (e.g. --rebuild=BTREE)
#   check-option OPT... options of every fsck run of the case, -n and -y
#                       (e.g. --full)
#   want KIND           a finding kind -n must report
#   left KIND           a kind fsck -y does not repair (yet)
#   upstream-skip WHY   do not run upstream's fsck on the repaired copy
# BUCKET is DEV:BUCKET, or TYPE[.N][@DEV]: the Nth (default first) bucket
# whose alloc key has data type TYPE (sb, journal, btree, user, cached), on
# device DEV if given, in key order.
#
# UPDATE=1 writes expect.1 and expect.2 from this run instead of comparing
# (then read them: they are what the test holds the tool to). CASES=GLOB
# runs only the cases whose names match.
# Environment: BCACHEFS, BUILD, IMAGES, NO_IMAGES, TMPDIR (see tests/run.sh).
set -u

# shellcheck source=tests/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
: "${BCACHEFS:?}" "${BUILD:?}" "${TMPDIR:?}"
B=$BCACHEFS
INJ=$BUILD/tools/bch_inject
COR=$BUILD/tools/bch_corrupt
CASES_DIR=$(cd "$(dirname "$0")/cases" && pwd) || exit 1
ORACLE=${ORACLE:-/opt/oracle}
# the fixed creation time and external UUID of the formatted cases
FMT_TIME=1735689600000000000
FMT_UUID=c0ffee00-5eed-4ca5-8e00-0000000000c5
work=$(mktemp -d "$TMPDIR/cases.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

[ -n "${NO_IMAGES:-}" ] || [ -r "${IMAGES:-/nonexistent}/index.tsv" ] ||
	NO_IMAGES="no image corpus at ${IMAGES:-../shared/images}"
have_source=
"$B" format --help 2> /dev/null | grep -q -- '--source' && have_source=1

# the options every command gets (the passphrase file of an encrypted case)
# and the devices; set by setup
popt=
devs=

# run_b ARGS...: the command with the passphrase option first
run_b() {
	_c=$1
	shift
	# shellcheck disable=SC2086 # popt is empty or one word
	"$B" "$_c" $popt "$@"
}

# geom DIR: per device "DEV NBUCKETS FIRST SECTORS" into DIR/geom, and the
# backpointer position shift into DIR/bp_shift
geom() {
	# shellcheck disable=SC2086
	run_b fsck -n --no-progress $devs < /dev/null 2> /dev/null |
		sed -n 's/^device \([0-9]*\): \([0-9]*\) buckets (first \([0-9]*\), \([0-9]*\) sectors each).*/\1 \2 \3 \4/p' > "$1/geom"
	[ -s "$1/geom" ] || { echo "cannot read the geometry" >&2; return 1; }
	_first=${devs# }
	_s=$("$B" show-super "${_first%% *}" 2> /dev/null | awk '$1 == "extent_bp_shift:" { print $2 }')
	# before 1.36 the option is 0 and backpointers use the default shift
	case $_s in '' | 0) _s=10 ;; esac
	echo "$_s" > "$1/bp_shift"
}

# dev_geom DIR DEV COL: column COL (2 nbuckets, 3 first, 4 sectors) of DEV
dev_geom() {
	[ -s "$1/geom" ] || geom "$1" || return 1
	_g=$(awk -v d="$2" -v c="$3" '$1 == d { print $c }' "$1/geom")
	[ -n "$_g" ] || { echo "no device $2" >&2; return 1; }
	echo "$_g"
}

# bucket DIR SPEC: DEV:BUCKET of a bucket spec (see above)
bucket() {
	case $2 in
	[0-9]*:[0-9]*) echo "$2"; return 0 ;;
	esac
	_t=${2%%[.@]*}
	_n=1
	_d=
	case $2 in *.*) _n=${2#*.}; _n=${_n%%@*} ;; esac
	case $2 in *@*) _d=${2#*@} ;; esac
	case $_t in
	sb) _t=1 ;; journal) _t=2 ;; btree) _t=3 ;; user) _t=4 ;; cached) _t=5 ;;
	*) echo "bad bucket '$2'" >&2; return 1 ;;
	esac
	# the data type is byte 14 of the alloc_v4 value
	# shellcheck disable=SC2086
	_b=$(run_b list --format=keys -b alloc $devs < /dev/null 2> /dev/null |
		awk -v t="$_t" -v n="$_n" -v d="$_d" '$3 == "alloc_v4" {
			split($2, p, ":")
			if ((d == "" || p[1] == d) && substr($6, 29, 2) + 0 == t && ++i == n) {
				print p[1] ":" p[2]; exit
			}
		}')
	[ -n "$_b" ] || { echo "no bucket $2" >&2; return 1; }
	echo "$_b"
}

# le N BYTES: N as BYTES little-endian bytes in hex
le() {
	_v=$1
	_i=0
	while [ "$_i" -lt "$2" ]; do
		printf '%02x' $((_v & 255))
		_v=$((_v >> 8))
		_i=$((_i + 1))
	done
}

# inject OP...: bch_inject on the devices
inject() {
	# shellcheck disable=SC2086
	"$INJ" $popt $devs -- "$@" > /dev/null
}

# lru_inode TIME: the lru position inode of a fragmentation entry
lru_inode() {
	printf '%u' $(((0xffff << 48) | $1))
}

# op DIR LINE...: one damage line
op() {
	_dir=$1
	_op=$2
	shift 2
	case $_op in
	inject)
		inject "$@" ;;
	corrupt-node)
		[ $# -eq 3 ] || return 1
		# shellcheck disable=SC2086
		_s=$("$B" list --format=nodes -b "$1" $devs 2> /dev/null |
			awk -v l="$2" -v n="$3" '$2 == l && ++i == n { split($5, p, ","); split(p[1], q, ":"); print q[1], q[2] }')
		[ -n "$_s" ] || { echo "no node $3 of $1 at level $2" >&2; return 1; }
		# the node's device: dev<N>.img of a formatted case, else the Nth given
		_i=0
		for _f in $devs; do
			[ "$_i" -eq "${_s% *}" ] && break
			_i=$((_i + 1))
		done
		"$COR" "$_f" flip $((${_s#* } * 512 + 144)) > /dev/null ;;
	drop-bps)
		_b=$(bucket "$_dir" "$1") || return 1
		# shellcheck disable=SC2046,SC2086 # delete ops, words
		set -- $(run_b list -b backpointers $devs < /dev/null 2> /dev/null |
			awk -v b="bucket=$_b:" 'index($0, b) { print "delete", "backpointers", $6 }')
		[ $# -gt 0 ] || { echo "no backpointer into $_b" >&2; return 1; }
		inject "$@" ;;
	drop-lru)
		_b=$(bucket "$_dir" "$1") || return 1
		_o=$(((${_b%:*} << 48) | ${_b#*:}))
		# shellcheck disable=SC2046,SC2086 # delete ops, words
		set -- $(run_b list --format=keys -b lru $devs < /dev/null 2> /dev/null |
			awk -v o="$_o" '{ split($2, p, ":"); if (p[2] == o) print "delete", "lru", $2 }')
		[ $# -gt 0 ] || { echo "no LRU entry for $_b" >&2; return 1; }
		inject "$@" ;;
	add-bp)
		[ $# -eq 3 ] || return 1
		_b=$(bucket "$_dir" "$1") || return 1
		_s=$(dev_geom "$_dir" "${_b%:*}" 4) || return 1
		_sec=$((_s * ${_b#*:} + $2))
		_pos=${_b%:*}:$((_sec << $(cat "$_dir/bp_shift"))):0
		inject insert backpointers "$_pos" backpointer \
			"0401030000000000$(le "$3" 4)ffffffffffffffffffffffffffffffffffffffff" ;;
	add-lru)
		[ $# -eq 2 ] || return 1
		_b=$(bucket "$_dir" "$1") || return 1
		inject insert lru "$(lru_inode "$2"):$(((${_b%:*} << 48) | ${_b#*:})):0" set - ;;
	lru-past-end)
		_n=$(dev_geom "$_dir" "$1" 2) || return 1
		inject insert lru "$(lru_inode 1000):$((($1 << 48) | (_n + ${2:-0}))):0" set - ;;
	drop-alloc)
		_b=$(bucket "$_dir" "$1") || return 1
		inject delete alloc "$_b:0" ;;
	set-bps)
		_b=$(bucket "$_dir" "$1") || return 1
		shift
		_s=$(dev_geom "$_dir" "${_b%:*}" 4) || return 1
		# shellcheck disable=SC2086
		_kv=$(run_b list --format=keys -b backpointers $devs < /dev/null 2> /dev/null |
			awk -v d="${_b%:*}" -v b="${_b#*:}" -v sh="$(cat "$_dir/bp_shift")" \
			    -v s="$_s" '{
				split($2, p, ":")
				if (p[1] == d && int(p[2] / 2 ^ sh / s) == b) print $2, $6
			}')
		[ -n "$_kv" ] || { echo "no backpointer into $_b" >&2; return 1; }
		for _fv in "$@"; do
			case $_fv in
			gen=*) _fo=3 _w=1 ;;
			pad=*) _fo=4 _w=4 ;;
			len=*) _fo=8 _w=4 ;;
			*) echo "bad backpointer field '$_fv'" >&2; return 1 ;;
			esac
			_kv=$(printf '%s\n' "$_kv" | awk -v o="$_fo" -v w="$_w" -v x="$(le "${_fv#*=}" "$_w")" \
				'{ print $1, substr($2, 1, 2 * o) x substr($2, 2 * (o + w) + 1) }')
		done
		# shellcheck disable=SC2046 # position and value words
		inject $(printf '%s\n' "$_kv" | awk '{ print "insert backpointers", $1, "backpointer", $2 }') ;;
	set-alloc)
		_b=$(bucket "$_dir" "$1") || return 1
		shift
		# shellcheck disable=SC2086
		_v=$(run_b list --format=keys -b alloc -s "$_b" -e "$_b" $devs < /dev/null 2> /dev/null |
			awk '$3 == "alloc_v4" { print $6 }')
		[ -n "$_v" ] || { echo "no alloc key $_b" >&2; return 1; }
		for _fv in "$@"; do
			case ${_fv%%=*} in
			gen) _o=12 _w=1 ;;
			data_type) _o=14 _w=1 ;;
			dirty_sectors) _o=16 _w=4 ;;
			cached_sectors) _o=20 _w=4 ;;
			*) echo "bad alloc field '$_fv'" >&2; return 1 ;;
			esac
			_v=$(printf '%s' "$_v" | awk -v o="$_o" -v w="$_w" -v x="$(le "${_fv#*=}" "$_w")" \
				'{ print substr($0, 1, 2 * o) x substr($0, 2 * (o + w) + 1) }')
		done
		inject insert alloc "$_b:0" alloc_v4 "$_v" ;;
	*)
		echo "unknown script line: $_op" >&2
		return 1 ;;
	esac
}

# setup CASEDIR DIR: the damaged filesystem in DIR: sets devs and popt;
# returns 2 (with the reason in DIR/skip) when the case cannot run here
setup() {
	_sc=$1
	_sd=$2
	devs=
	popt=
	_src=
	while read -r _op _rest; do
		case $_op in
		'' | '#'*) ;;
		want | left | upstream-skip | fsck-option | check-option) ;;
		image)
			if [ -n "${NO_IMAGES:-}" ]; then
				echo "corpus image $_rest: $NO_IMAGES" > "$_sd/skip"
				return 2
			fi
			devs=$(corpus_devices "$_rest" "$_sd") || return 1 ;;
		passphrase)
			printf '%s\n' "$_rest" > "$_sd/passphrase"
			popt=--passphrase-file=$_sd/passphrase ;;
		dir | file)
			if [ -z "$have_source" ]; then
				echo "needs files (format --source), which this bcachefs format does not have yet" > "$_sd/skip"
				return 2
			fi
			_src=$_sd/src
			# shellcheck disable=SC2086 # PATH [SIZE]
			set -- $_rest
			case $1 in /* | *..*) echo "bad path '$1'" >&2; return 1 ;; esac
			if [ "$_op" = dir ]; then
				mkdir -p "$_src/$1" || return 1
			else
				mkdir -p "$_src/$(dirname "$1")" &&
					yes "$1" | head -c "$2" > "$_src/$1" || return 1
			fi ;;
		format)
			# shellcheck disable=SC2086 # OPTION... SIZES
			set -- $_rest
			_i=0
			_sizes=
			for _s in $(eval "echo \${$#}" | tr ',' ' '); do
				truncate -s "$_s" "$_sd/dev$_i.img" || return 1
				_sizes="$_sizes $_sd/dev$_i.img"
				_i=$((_i + 1))
			done
			# every word but the last
			_n=$#
			_j=1
			for _a in "$@"; do
				[ "$_j" -lt "$_n" ] && set -- "$@" "$_a"
				_j=$((_j + 1))
			done
			shift "$_n"
			[ -n "$popt" ] && set -- --encrypted "$popt" "$@"
			[ -n "$_src" ] && set -- "--source=$_src" "$@"
			# shellcheck disable=SC2086 # the device paths
			"$B" format -q -f --test-time "$FMT_TIME" -U "$FMT_UUID" "$@" $_sizes \
				< /dev/null > "$_sd/format.out" 2>&1 ||
				{ cat "$_sd/format.out" >&2; return 1; }
			devs=$_sizes
			# the fresh devices, for upstream's view of them
			# shellcheck disable=SC2086 # the device paths
			mkdir -p "$_sd/fresh" &&
				cp --sparse=always $_sizes "$_sd/fresh/" || return 1
			touch "$_sd/formatted" ;;
		grow)
			# shellcheck disable=SC2086 # DEV SIZE
			set -- $_rest
			[ -f "$_sd/dev$1.img" ] || { echo "grow: no device $1" >&2; return 1; }
			truncate -s "$2" "$_sd/dev$1.img" || return 1 ;;
		*)
			[ -n "$devs" ] || { echo "$_op before format or image" >&2; return 1; }
			# shellcheck disable=SC2086 # the words of the line
			op "$_sd" "$_op" $_rest || { echo "failed: $_op $_rest" >&2; return 1; }
		esac
	done < "$_sc/script"
	[ -n "$devs" ] || { echo "no format or image line" >&2; return 1; }
}

# filter DIR: device paths relative, UUIDs replaced
filter() {
	sed -e "s|$1/||g" \
	    -e 's/[0-9a-fA-F]\{8\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{4\}-[0-9a-fA-F]\{12\}/<uuid>/g'
}

# run_fsck DIR OUT [CASEDIR]: fsck -y (with CASEDIR's fsck-option lines),
# its output filtered and its exit status
run_fsck() {
	# shellcheck disable=SC2046,SC2086 # the options and devices are words
	timeout -k 5 300 "$B" fsck $popt -y --no-undo $chk_opts \
		$([ -n "${3:-}" ] && sed -n 's/^fsck-option[[:space:]]//p' "$3/script") \
		$devs > "$2.raw" 2>&1 < /dev/null
	echo "exit status $?" >> "$2.raw"
	filter "$1" < "$2.raw" > "$2"
}

# upstream DIR CASEDIR [FROM]: upstream's fsck -n on a copy of the devices
# (of the repaired ones, or of those in DIR/FROM); 125 without upstream's
upstream() {
	case $(awk '$1 == "format" { print }' "$2/script") in
	*--version=1.36*) _o=$ORACLE/v136/bcachefs-fsck ;;
	*--version=1.39*) _o=$ORACLE/v139/bcachefs-fsck ;;
	*) _o=$ORACLE/fixed/bcachefs-fsck ;;
	esac
	[ -x "$_o" ] || return 125
	rm -rf "$1/up"
	mkdir -p "$1/up"
	_c=
	for _f in $devs; do
		[ -n "${3:-}" ] && _f=$1/$3/${_f##*/}
		cp --sparse=always "$_f" "$1/up/" || return 1
		_c="$_c $1/up/${_f##*/}"
	done
	# upstream reads the passphrase from stdin
	_in=/dev/null
	[ -n "$popt" ] && _in=$1/passphrase
	# shellcheck disable=SC2086
	timeout -k 5 300 "$_o" -n $_c < "$_in" > "$1/up.out" 2>&1
}

n=0
no_oracle=
for c in "$CASES_DIR"/*/; do
	c=${c%/}
	name=${c##*/}
	[ -f "$c/script" ] || continue
	# shellcheck disable=SC2254 # CASES is a pattern
	case $name in ${CASES:-*}) ;; *) continue ;; esac
	n=$((n + 1))
	d=$work/$name
	mkdir -p "$d"
	setup "$c" "$d" 2> "$d/setup.err"
	st=$?
	if [ "$st" -eq 2 ]; then
		echo "SKIP case $name: $(cat "$d/skip")"
		rm -rf "$d"
		continue
	elif [ "$st" -ne 0 ]; then
		fail "case $name" "setup: $(head -c 300 "$d/setup.err" | tr '\n' '|')"
		continue
	fi
	chk_opts=$(sed -n 's/^check-option[[:space:]]//p' "$c/script" | tr '\n' ' ')
	# 1. the findings the script wants
	# shellcheck disable=SC2086
	run_b fsck -n --findings $chk_opts $devs > "$d/findings" 2> /dev/null < /dev/null
	missing=
	while read -r k; do
		[ -n "$k" ] || continue
		grep -q "^$k " "$d/findings" || missing="$missing $k"
	done <<EOF
$(awk '$1 == "want" { print $2 }' "$c/script")
EOF
	# the summary of a second run that leaves just the "left" kinds
	left=$(awk '$1 == "left" { print $2 }' "$c/script" | sort | tr '\n' ' ')
	[ -z "$missing" ] || fail "case $name" "fsck -n does not report:$missing"
	# 2. and 3.
	run_fsck "$d" "$d/out.1" "$c"
	run_fsck "$d" "$d/out.2"
	if [ "${UPDATE:-}" = 1 ]; then
		cp "$d/out.1" "$c/expect.1"
		cp "$d/out.2" "$c/expect.2"
		echo "updated $c/expect.1 and expect.2"
	fi
	got_left=$(sed -n 's/^summary: [0-9]* findings*: \(.*\); .*; exit status .*/\1/p' "$d/out.2" |
		tr ',' '\n' | awk '{ print $1 }' | sort | tr '\n' ' ')
	ok=
	if [ -z "$left" ] && { ! tail -n 1 "$d/out.2" | grep -q '^exit status 0$' ||
	   ! grep -q '^summary: 0 findings' "$d/out.2"; }; then
		fail "case $name" "the second fsck -y is not clean: $(tail -n 3 "$d/out.2" | tr '\n' '|')"
	elif [ -n "$left" ] && { ! tail -n 1 "$d/out.2" | grep -q '^exit status 4$' ||
	     [ "$got_left" != "$left" ]; }; then
		fail "case $name" "the second fsck -y leaves '$got_left', want '$left' (exit 4)"
	elif ! cmp -s "$d/out.1" "$c/expect.1" 2> /dev/null; then
		fail "case $name" "fsck -y differs from expect.1: $(diff "$c/expect.1" "$d/out.1" 2>&1 | head -n 6 | tr '\n' '|')"
	elif ! cmp -s "$d/out.2" "$c/expect.2" 2> /dev/null; then
		fail "case $name" "second fsck -y differs from expect.2: $(diff "$c/expect.2" "$d/out.2" 2>&1 | head -n 6 | tr '\n' '|')"
	elif [ -z "$missing" ]; then
		ok=1
	fi
	# 4. upstream on the repaired copy
	up=
	if [ -n "$ok" ] && [ -f "$d/formatted" ] && [ -z "$left" ] &&
	   ! grep -q '^upstream-skip' "$c/script"; then
		upstream "$d" "$c"
		st=$?
		if [ "$st" -eq 0 ]; then
			up="; upstream fsck -n clean"
		elif [ "$st" -eq 125 ]; then
			up=
			no_oracle=1
		else
			ok=
			why=$(grep -v -e 'modprobe' -e '\.\.\. done' "$d/up.out" | head -n 8 | tr '\n' '|')
			# and on the image as format left it?
			upstream "$d" "$c" fresh
			st2=$?
			[ "$st2" -eq 0 ] || why="it exits $st2 on the freshly formatted image too (a format problem): $why"
			fail "case $name" "upstream fsck -n on the repaired copy exits $st: $why"
		fi
	fi
	[ -n "$ok" ] &&
		pass "case $name: $(awk '$1 == "want" { printf "%s ", $2 }' "$c/script")found; fsck -y as expect.1, then ${left:+left: }${left:-clean}$up"
	rm -rf "$d"
done
[ -z "$no_oracle" ] ||
	echo "SKIP upstream's fsck -n on the repaired formatted cases: no upstream fsck at $ORACLE"
[ $n -gt 0 ] || fail "cases" "no case in $CASES_DIR${CASES:+ matching $CASES}"
# shellcheck disable=SC2154 # lib.sh's
[ "$nfail" -eq 0 ]
