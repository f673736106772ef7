#!/bin/sh
# Field-by-field corruption campaign (after fstests' fuzzer groups): every
# field of every superblock, superblock layout, btree node and journal
# entry of a few corpus images, damaged with each of the verbs zeroes,
# ones, firstbit, middlebit, lastbit, random, add (+1), sub (-1), with the
# structure's checksum recomputed (tests/tools/bch_campaign.c), then judged:
#
#   1. fsck -n          must change no byte of the devices (digests)
#   2. fsck -y          on the same copy (--no-undo)
#   3. fsck -n          again
#
# A case FAILS on a crash (exit status > 128, a signal, or one that fsck(8)
# does not define), a hang (timeout), a sanitizer report, a byte written by
# -n, a -y that exits 8 having written, a -y that exits 0 or 1 followed by
# a second check that is not clean, a -y that exits 4 or 8 without saying
# why, an -n that finds something where -y finds nothing, and when a user
# btree (extents, inodes, dirents) reads back otherwise than before: a
# btree the damaged field is not part of must list as on the undamaged
# image, and a repair must not change what any of them lists (a stale
# pointer dropped from an extent, which the repair reports, excepted).
# Otherwise a case is a clean repair (-y 1, then 0), a refusal (-y 4 or 8,
# with the reason), or unchanged (no finding: -y 0).
#
# Usage: sh tests/campaign/campaign.sh [OPTION]...
#   --short           a small deterministic subset (the default; about a
#                     minute): three images, every 13th to 251st
#                     field-verb pair per structure kind, and a node and a
#                     journal entry case on the encrypted image
#   --full            every case on every image of the campaign
#   --sample N        with --full, every Nth case only (deterministic; on
#                     the encrypted image every (8N+1)th: scrypt makes each
#                     command there cost half a second)
#   -j N              cases run in N parallel jobs (default 1)
#   --images DIR      the image corpus (default ../shared/images)
#   --build DIR       build directory (default build): BUILD/tools/bch_campaign,
#                     BUILD/san/bcachefs
#   --bcachefs PATH   the command under test for the lists (default ./bcachefs)
#   --san | --no-san  run the three fsck runs with BUILD/san/bcachefs (the
#                     default for --short) or with the --bcachefs binary
#   --fsck PATH       run them with PATH instead
#   --only LIST       only these images (comma-separated corpus names)
#   --out DIR         results (default BUILD/campaign): results.tsv (one
#                     line per case), failures.txt (one reproducer line
#                     per failure), fail/J-N/ (the damaged devices, zstd,
#                     and every output, for the first 20 failures of a job)
#   --replay CASE     run one case line of results.tsv's first nine fields
#                     ("IMAGE STRUCT FIELD BYTE BIT NBITS TOUCHED VERB SEED")
#                     and keep its directory (printed)
#   --timeout SEC     time limit of one command (default 60)
#
# Ends with the counts: cases, clean repairs, refusals, unchanged, no-ops
# (verbs that left a field as it was: not run), failures. Exit status 0
# when no case failed, 1 otherwise, 2 on a usage or setup error.
#
# The fields (tests/tools/bch_campaign.c `fields`): superblock header
# fields one by one (flags[0..1] bitfield by bitfield), every variable
# field's header, every member entry's fields, the clean field's header,
# first/middle/last entry and key and every btree root's pointer (seq,
# sectors_written, flags, sector, device, generation), the crypt field,
# the journal bucket lists and of other fields their first/middle/last
# word; the layout at sector 7; per btree node its header field by field
# (bkey_format byte by byte), each bset header of the first, middle and
# last bset, and of the first, middle and last key as stored the header
# bytes, every packed field at the bits the node's format gives it (or
# each unpacked field), the first/middle/last word of the value and a
# btree pointer's fields; per journal entry its header, the
# first/middle/last jset_entry header and first/middle/last key.
# First/middle/last rather than every key because the code that reads a
# key does not depend on which key it is, but the code around a bset's
# start, its end and the key compared with both neighbours does.
set -u
unset CDPATH

usage() {
	sed -n '/^# Usage:/,/^# Ends with/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

MODE=short
JOBS=1
IMAGES=
BUILD=
BIN=
SAN=
FSCK_PATH=
OUT=
ONLY=
SAMPLE=1
REPLAY=
TIMEOUT_SECS=60
while [ $# -gt 0 ]; do
	case $1 in
	--short) MODE=short; shift ;;
	--full) MODE=full; shift ;;
	--sample) [ $# -ge 2 ] || usage; SAMPLE=$2; shift 2 ;;
	-j) [ $# -ge 2 ] || usage; JOBS=$2; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--images) [ $# -ge 2 ] || usage; IMAGES=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
	--bcachefs) [ $# -ge 2 ] || usage; BIN=$2; shift 2 ;;
	--san) SAN=1; shift ;;
	--fsck) [ $# -ge 2 ] || usage; FSCK_PATH=$2; shift 2 ;;
	--no-san) SAN=0; shift ;;
	--only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
	--replay) [ $# -ge 2 ] || usage; REPLAY=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; TIMEOUT_SECS=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "campaign.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
case $JOBS$SAMPLE$TIMEOUT_SECS in
*[!0-9]*) echo "campaign.sh: -j, --sample and --timeout take numbers" >&2; exit 2 ;;
esac
if [ "$JOBS" -lt 1 ] || [ "$SAMPLE" -lt 1 ]; then
	echo "campaign.sh: -j and --sample must be >= 1" >&2
	exit 2
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
[ -n "$IMAGES" ] || IMAGES=$ROOT/../shared/images
[ -n "$BUILD" ] || BUILD=$ROOT/build
IMAGES=$(cd "$IMAGES" 2>/dev/null && pwd) || { echo "campaign.sh: no image corpus at $IMAGES" >&2; exit 2; }
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "campaign.sh: no build directory $BUILD" >&2; exit 2; }
[ -n "$BIN" ] || BIN=$ROOT/bcachefs
[ -n "$OUT" ] || OUT=$BUILD/campaign
[ -n "$SAN" ] || { [ "$MODE" = short ] && SAN=1 || SAN=0; }
TOOL=$BUILD/tools/bch_campaign
SAN_BIN=$BUILD/san/bcachefs
for b in "$BIN" "$TOOL"; do
	[ -x "$b" ] || { echo "campaign.sh: $b is not built (make bcachefs $BUILD/tools/bch_campaign)" >&2; exit 2; }
done
if [ -n "$FSCK_PATH" ]; then
	[ -x "$FSCK_PATH" ] || { echo "campaign.sh: $FSCK_PATH is not built" >&2; exit 2; }
	FSCK=$FSCK_PATH
elif [ "$SAN" = 1 ]; then
	[ -x "$SAN_BIN" ] || { echo "campaign.sh: $SAN_BIN is not built" >&2; exit 2; }
	FSCK=$SAN_BIN
else
	FSCK=$BIN
fi
[ -r "$IMAGES/index.tsv" ] || { echo "campaign.sh: no $IMAGES/index.tsv" >&2; exit 2; }
ORIG_FSCK=$FSCK

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd) || exit 2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bch-campaign.XXXXXX") || exit 2
KEEP_WORK=
trap '[ -n "$KEEP_WORK" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' HUP INT TERM

# the binaries are copied: a rebuild during the run must not mix two builds
if ! mkdir -p "$WORK/bin" || ! cp "$BIN" "$WORK/bin/bcachefs" ||
   ! cp "$FSCK" "$WORK/bin/fsck" || ! cp "$TOOL" "$WORK/bin/bch_campaign"; then
	echo "campaign.sh: cannot copy the binaries" >&2
	exit 2
fi
BIN=$WORK/bin/bcachefs
FSCK=$WORK/bin/fsck
TOOL=$WORK/bin/bch_campaign

# the images: one and two devices, formats 1.28 and 1.36, unclean (a
# journal to replay), encrypted
if [ -n "$ONLY" ]; then
	IMAGE_LIST=$(echo "$ONLY" | tr ',' ' ')
elif [ "$MODE" = full ]; then
	IMAGE_LIST="tiny-128 v136-small two-dev v136-two-dev dirty encrypted"
else
	IMAGE_LIST="tiny-128 v136-fresh-two-dev dirty encrypted"
fi
VERBS="zeroes ones firstbit middlebit lastbit random add sub"
USER_BTREES="extents inodes dirents"
MAX_KEEP=20

run_t() {	# SECS CMD...: with a time limit, stdin /dev/null
	_s=$1
	shift
	timeout -k 5 "$_s" "$@" </dev/null
}

# ---------------------------------------------------------------------------
# per image: devices, key, the structures, the fields, the undamaged lists

# prepare IMAGE: WORK/img/IMAGE/{devN.img,pass,key,devs,fields,orig.*}
prepare() {
	_name=$1
	_d=$WORK/img/$_name
	mkdir -p "$_d" || return 1
	_line=$(awk -F '\t' -v n="$_name" '$1 == n' "$IMAGES/index.tsv")
	[ -n "$_line" ] || { echo "campaign.sh: no image $_name in the index" >&2; return 1; }
	_files=$(printf '%s\n' "$_line" | cut -f2)
	_pass=$(printf '%s\n' "$_line" | cut -f5)
	_devs=
	_i=0
	for _f in $(echo "$_files" | tr ',' ' '); do
		zstd -q -d -f --sparse "$IMAGES/$_f" -o "$_d/dev$_i.img" </dev/null || return 1
		chmod 0444 "$_d/dev$_i.img"
		_devs=${_devs:+$_devs,}$_d/dev$_i.img
		_i=$((_i + 1))
	done
	echo "$_devs" >"$_d/devs"
	: >"$_d/passopt"
	: >"$_d/keyopt"
	if [ -n "$_pass" ] && [ "$_pass" != - ]; then
		printf '%s\n' "$_pass" >"$_d/pass"
		echo "--passphrase-file=$_d/pass" >"$_d/passopt"
		_key=$("$TOOL" --passphrase-file "$_d/pass" "$_devs" key) || return 1
		echo "--key $_key" >"$_d/keyopt"
	fi
	# shellcheck disable=SC2046
	set -- $(cat "$_d/passopt") $(echo "$_devs" | tr ',' ' ')
	"$BIN" list --format=nodes -b all "$@" >"$_d/nodes" 2>"$_d/nodes.err" || {
		echo "campaign.sh: $_name: list --format=nodes failed: $(head -c 300 "$_d/nodes.err")" >&2
		return 1
	}
	for _b in $USER_BTREES; do
		"$BIN" list --format=keys -b "$_b" "$@" >"$_d/orig.$_b" 2>/dev/null ||
			{ echo "campaign.sh: $_name: list -b $_b failed" >&2; return 1; }
	done
	# the structures
	{
		_i=0
		for _f in $(echo "$_devs" | tr ',' ' '); do
			echo "sb:$_i"
			echo "layout:$_i"
			_i=$((_i + 1))
		done
		awk '{ print "node:" $5 }' "$_d/nodes"
		"$TOOL" "$_devs" jsets | cut -d' ' -f1
	} >"$_d/structs" || return 1
	# shellcheck disable=SC2046
	while read -r _s; do
		"$TOOL" $(cat "$_d/keyopt") "$_devs" fields "$_s" || return 1
	done <"$_d/structs" >"$_d/fields"
}

# ---------------------------------------------------------------------------
# one case

SAN_RE='ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY: (Address|Undefined|Leak)Sanitizer'

# crashed NAME RC ERRFILE: a crash, hang or sanitizer report -> why
crashed() {
	if [ "$2" -eq 124 ] || [ "$2" -eq 137 ]; then
		why="$why [$1 hung: killed after ${TIMEOUT_SECS}s]"
	elif [ "$2" -gt 128 ]; then
		why="$why [$1 killed by signal $(($2 - 128))]"
	elif grep -qE "$SAN_RE" "$3"; then
		why="$why [$1: sanitizer: $(grep -m1 -E 'ERROR|runtime error' "$3" | cut -c1-200)]"
	else
		case $2 in
		0|1|4|8) return 1 ;;
		*) why="$why [$1 exit status $2: not one fsck(8) defines]" ;;
		esac
	fi
	return 0
}

# lists DIR TAG: DIR/TAG.B and DIR/TAG.B.rc for each user btree: one
# list of them all, or when that fails (one of them unreadable) one each
lists() {
	# shellcheck disable=SC2086
	run_t "$TIMEOUT_SECS" "$BIN" list --format=keys -b "$(echo $USER_BTREES | tr ' ' ',')" \
		$PASSOPT $DEVSP >"$1/$2.all" 2>"$1/$2.all.err"
	_rc=$?
	crashed "list ($2)" "$_rc" "$1/$2.all.err" || :
	for _b in $USER_BTREES; do
		if [ "$_rc" -eq 0 ]; then
			awk -v b="$_b" '$1 == b' "$1/$2.all" >"$1/$2.$_b"
			echo 0 >"$1/$2.$_b.rc"
			continue
		fi
		# shellcheck disable=SC2086
		run_t "$TIMEOUT_SECS" "$BIN" list --format=keys -b "$_b" $PASSOPT $DEVSP \
			>"$1/$2.$_b" 2>"$1/$2.$_b.err"
		echo $? >"$1/$2.$_b.rc"
		crashed "list -b $_b ($2)" "$(cat "$1/$2.$_b.rc")" "$1/$2.$_b.err" || :
	done
}

digest() {
	"$TOOL" "$DEVS" digest | cut -d' ' -f1 | tr '\n' ' '
}

# run_case IMAGE STRUCT FIELD BYTE BIT NBITS TOUCHED VERB SEED DIR: prints
# the result line; leaves the case's files in DIR
run_case() {
	_img=$1 _st=$2 _fld=$3 _byte=$4 _bit=$5 _nbits=$6 _tch=$7 _verb=$8 _seed=$9
	_c=${10}
	_src=$WORK/img/$_img
	rm -rf "$_c"
	mkdir -p "$_c"
	DEVS=
	DEVSP=
	for _f in $(tr ',' ' ' <"$_src/devs"); do
		_t=$_c/${_f##*/}
		if ! cp --sparse=always "$_f" "$_t" || ! chmod 0644 "$_t"; then
			echo "failure [cannot copy $_f]"
			return
		fi
		DEVS=${DEVS:+$DEVS,}$_t
		DEVSP="$DEVSP $_t"
	done
	PASSOPT=$(cat "$_src/passopt")
	why=
	notes=
	# shellcheck disable=SC2046
	"$TOOL" $(cat "$_src/keyopt") "$DEVS" mutate "$_st" "$_byte" "$_bit" "$_nbits" "$_verb" "$_seed" \
		>"$_c/mutate.out" 2>&1
	_rc=$?
	if [ "$_rc" -eq 3 ]; then
		echo "noop"
		return
	elif [ "$_rc" -ne 0 ]; then
		echo "failure [bch_campaign mutate exit status $_rc: $(head -c 200 "$_c/mutate.out")]"
		return
	fi

	_h0=$(digest)
	# shellcheck disable=SC2086
	run_t "$TIMEOUT_SECS" "$FSCK" fsck -n $PASSOPT $DEVSP >"$_c/n1.out" 2>"$_c/n1.err"
	_n1=$?
	crashed "fsck -n" "$_n1" "$_c/n1.err" || :
	_h1=$(digest)
	[ "$_h0" = "$_h1" ] || why="$why [fsck -n changed the devices]"

	lists "$_c" pre
	# shellcheck disable=SC2086
	(cd "$_c" && run_t "$TIMEOUT_SECS" "$FSCK" fsck -y --no-undo $PASSOPT $DEVSP) \
		>"$_c/y.out" 2>"$_c/y.err"
	_y=$?
	crashed "fsck -y" "$_y" "$_c/y.err" || :
	_h2=$(digest)
	# shellcheck disable=SC2086
	run_t "$TIMEOUT_SECS" "$FSCK" fsck -n $PASSOPT $DEVSP >"$_c/n2.out" 2>"$_c/n2.err"
	_n2=$?
	crashed "second fsck -n" "$_n2" "$_c/n2.err" || :
	lists "$_c" post

	case $_y in
	0|1)
		[ "$_n2" -eq 0 ] ||
			why="$why [fsck -y exit $_y, then fsck -n exit $_n2: $(grep -m1 -vE '^(device|copygc|summary|next)' "$_c/n2.out" "$_c/n2.err" | cut -d: -f2- | cut -c1-200)]"
		if [ "$_y" -eq 0 ] && [ "$_n1" -ne 0 ] && [ "$_n1" -lt 124 ]; then
			why="$why [fsck -n exit $_n1 but fsck -y exit 0]"
		fi
		;;
	4|8)
		# the reason: a "not fixed:" line, or an error on stderr
		if ! grep -qE 'not fixed:|would leave' "$_c/y.out" "$_c/y.err" && ! [ -s "$_c/y.err" ]; then
			why="$why [fsck -y exit $_y without saying why]"
		fi
		if [ "$_y" -eq 8 ] && [ "$_h1" != "$_h2" ]; then
			why="$why [fsck -y exit 8 (operational error) but it wrote]"
		fi
		;;
	esac

	# the user btrees
	for _b in $USER_BTREES; do
		_pre=$(cat "$_c/pre.$_b.rc")
		_post=$(cat "$_c/post.$_b.rc")
		[ "$_pre" -eq 0 ] || continue
		if [ "$_tch" != "*" ] && [ "$_tch" != "$_b" ] &&
		   ! cmp -s "$_c/pre.$_b" "$_src/orig.$_b"; then
			why="$why [$_b lists otherwise after damage to $_tch]"
		fi
		[ "$_y" -eq 8 ] && continue
		if [ "$_post" -ne 0 ]; then
			why="$why [$_b readable before the repair, list exit $_post after]"
		elif ! cmp -s "$_c/pre.$_b" "$_c/post.$_b"; then
			if [ "$_b" = extents ] && grep -q 'stale_dirty_ptr' "$_c/y.out"; then
				notes="$notes extents-changed-by-stale-ptr-repair"
			else
				why="$why [the repair changed what $_b lists]"
			fi
		fi
	done

	if [ -n "$why" ]; then
		echo "failure n1=$_n1 y=$_y n2=$_n2$why"
	elif [ "$_y" -eq 1 ]; then
		echo "repaired n1=$_n1 y=$_y n2=$_n2${notes:+ note:$notes}"
	elif [ "$_y" -eq 0 ]; then
		echo "unchanged n1=$_n1 y=$_y n2=$_n2${notes:+ note:$notes}"
	else
		echo "refused n1=$_n1 y=$_y n2=$_n2 $(grep -m1 -hE 'not fixed:|error|cannot' "$_c/y.out" "$_c/y.err" | cut -c1-160)${notes:+ note:$notes}"
	fi
}

# keep_failure DEST CASEDIR CASE...: the outputs of a failed case and its
# damaged devices (damaged again on a fresh copy: the case's own were
# repaired), zstd-compressed
keep_failure() {
	_k=$1
	_cd=$2
	shift 2
	rm -rf "$_k"
	mkdir -p "$_k"
	cp "$_cd"/*.out "$_cd"/*.err "$_k"/ 2>/dev/null
	echo "$*" >"$_k/case"
	_src=$WORK/img/$1
	_i=0
	_devs=
	for _f in $(tr ',' ' ' <"$_src/devs"); do
		cp --sparse=always "$_f" "$_k/dev$_i.img" && chmod 0644 "$_k/dev$_i.img"
		_devs=${_devs:+$_devs,}$_k/dev$_i.img
		_i=$((_i + 1))
	done
	# shellcheck disable=SC2046
	"$TOOL" $(cat "$_src/keyopt") "$_devs" mutate "$2" "$4" "$5" "$6" "$8" "$9" >/dev/null 2>&1
	for _f in "$_k"/dev*.img; do
		zstd -q --rm "$_f" -o "$_f.zst" </dev/null
	done
}

# shard FILE J: run the cases of FILE, results to FILE.res; the first
# failures of job J are kept in OUT/fail/J-N
shard() {
	_n=0
	_kept=0
	while IFS=' ' read -r a1 a2 a3 a4 a5 a6 a7 a8 a9; do
		_n=$((_n + 1))
		_r=$(run_case "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" "$a7" "$a8" "$a9" "$1.case")
		case $_r in
		failure*)
			if [ "$_kept" -lt "$MAX_KEEP" ]; then
				_kept=$((_kept + 1))
				keep_failure "$OUT/fail/$2-$_n" "$1.case" \
					"$a1" "$a2" "$a3" "$a4" "$a5" "$a6" "$a7" "$a8" "$a9"
				_r="$_r (kept: $OUT/fail/$2-$_n)"
			fi
			;;
		esac
		echo "$a1 $a2 $a3 $a4 $a5 $a6 $a7 $a8 $a9 | $_r"
	done <"$1" >"$1.res"
	rm -rf "$1.case"
}

# ---------------------------------------------------------------------------

START=$(date +%s)
if [ -n "$REPLAY" ]; then
	set -f
	# shellcheck disable=SC2086
	set -- $REPLAY
	set +f
	[ $# -eq 9 ] || { echo "campaign.sh: --replay wants nine fields" >&2; exit 2; }
	prepare "$1" || exit 2
	KEEP_WORK=1
	r=$(run_case "$@" "$WORK/replay")
	echo "$* | $r"
	echo "case files in $WORK/replay"
	case $r in failure*) exit 1 ;; esac
	exit 0
fi

: >"$WORK/cases"
for img in $IMAGE_LIST; do
	prepare "$img" || { echo "campaign.sh: cannot prepare image $img" >&2; exit 2; }
	# every field with every verb; the seed of random: the case's number
	awk -v img="$img" -v verbs="$VERBS" -v mode="$MODE" -v sample="$SAMPLE" '
	BEGIN {
		nv = split(verbs, v, " ")
		stride["sb"] = 127; stride["layout"] = 13; stride["node"] = 251; stride["jset"] = 199
	}
	{
		kind = $1; sub(/:.*/, "", kind)
		for (i = 1; i <= nv; i++) {
			n++
			k[kind]++
			if (mode == "short") {
				# a prime stride per structure kind (so that the
				# verbs vary); on the encrypted image, where every
				# command pays for scrypt, one node and one journal case
				if (img == "encrypted" ? kind !~ /^(node|jset)$/ || k[kind] != 1 + 8 * 29 : (k[kind] - 1) % stride[kind] != 0)
					continue
			} else if (n % (img == "encrypted" ? 8 * sample + 1 : sample) != 0)
				continue
			printf "%s %s %s %s %s %s %s %s %d\n", img, $1, $2, $3, $4, $5, $6, v[i], (n * 7919 + 17) % 1000003
		}
	}' "$WORK/img/$img/fields" >>"$WORK/cases"
done
total=$(wc -l <"$WORK/cases")
echo "campaign: $MODE, $total cases on $(echo "$IMAGE_LIST" | wc -w) images ($IMAGE_LIST), $JOBS job(s), fsck: $ORIG_FSCK"

rm -rf "$OUT/fail"
j=0
while [ "$j" -lt "$JOBS" ]; do
	awk -v j="$j" -v n="$JOBS" 'NR % n == j' "$WORK/cases" >"$WORK/shard.$j"
	shard "$WORK/shard.$j" "$j" &
	j=$((j + 1))
done
wait

cat "$WORK"/shard.*.res >"$OUT/results.tsv"
grep ' | failure' "$OUT/results.tsv" | while IFS= read -r line; do
	echo "FAIL $line"
	echo "  reproduce: sh tests/campaign/campaign.sh --replay '${line%% | *}'"
done >"$OUT/failures.txt"

count() { grep -c " | $1" "$OUT/results.tsv"; }
n_cases=$(wc -l <"$OUT/results.tsv")
n_noop=$(count noop)
n_rep=$(count repaired)
n_ref=$(count refused)
n_unch=$(count unchanged)
n_fail=$(count failure)
cat "$OUT/failures.txt"
elapsed=$(($(date +%s) - START))
echo "campaign: $((n_cases - n_noop)) cases, $n_rep clean repairs, $n_ref refusals, $n_unch unchanged (no finding), $n_noop no-ops not run, $n_fail failures (${elapsed}s; $OUT/results.tsv)"
[ "$n_fail" -eq 0 ]
