#!/bin/sh
# Image test cases in the e2fsprogs style: tests/cases/NAME/script says
# which corpus image to start from and how to damage it; the runner then
#   1. checks that `fsck -n --findings` reports every finding kind the
#      script's "want" lines name (whatever the expected files say);
#   2. runs `bcachefs fsck -y --no-undo` and compares its output (device
#      paths made relative) and exit status with NAME/expect.1;
#   3. runs it again and compares with NAME/expect.2, which must be the
#      report of a clean filesystem (exit status 0, 0 findings), or, when
#      the script has "left" lines, report just those kinds (exit 4).
# Script lines:
#   image NAME                    the corpus image (every device of it)
#   inject OP...                  tests/tools/bch_inject OPs on its devices
#   corrupt-node BTREE LEVEL N    flip a byte under the checksum of the Nth
#                                 node (from 1) of BTREE at LEVEL
#   want KIND                     a finding kind -n must report
#   left KIND                     a kind fsck -y does not repair (yet)
# UPDATE=1 writes expect.1 and expect.2 from this run instead of comparing
# (then read them: they are what the test holds the tool to).
# Environment: BCACHEFS, BUILD, IMAGES, TMPDIR (see tests/run.sh).
set -u

. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${BUILD:?}" "${IMAGES:?}" "${TMPDIR:?}"
B=$BCACHEFS
INJ=$BUILD/tools/bch_inject
COR=$BUILD/tools/bch_corrupt
CASES=$(cd "$(dirname "$0")/cases" && pwd) || exit 1
work=$(mktemp -d "$TMPDIR/cases.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# setup CASEDIR DIR: the damaged image in DIR; prints its devices
setup() {
	_devs=
	while read -r _op _rest; do
		case $_op in
		'' | '#'*) ;;
		image)
			_devs=$(corpus_devices "$_rest" "$2") || return 1 ;;
		inject)
			# shellcheck disable=SC2086 # devices and ops are words
			"$INJ" $_devs -- $_rest > /dev/null || return 1 ;;
		corrupt-node)
			# shellcheck disable=SC2086 # BTREE LEVEL N
			set -- $_rest
			# shellcheck disable=SC2086
			_s=$("$B" list --format=nodes -b "$1" $_devs 2> /dev/null |
				awk -v l="$2" -v n="$3" '$2 == l && ++i == n { split($5, p, ","); split(p[1], q, ":"); print q[2] }')
			[ -n "$_s" ] || { echo "no node $3 of $1 at level $2" >&2; return 1; }
			_first=${_devs# }
			"$COR" "${_first%% *}" flip $((_s * 512 + 144)) > /dev/null || return 1 ;;
		want | left) ;;
		*) echo "unknown script line: $_op" >&2; return 1 ;;
		esac
	done < "$1/script"
	echo "$_devs"
}

# run_fsck DIR OUT DEVS...: fsck -y, its output with DIR/ removed and its exit status
run_fsck() {
	_dir=$1
	_out=$2
	shift 2
	timeout -k 5 300 "$B" fsck -y --no-undo "$@" > "$_out.raw" 2>&1 < /dev/null
	echo "exit status $?" >> "$_out.raw"
	sed "s|$_dir/||g" "$_out.raw" > "$_out"
}

n=0
for c in "$CASES"/*/; do
	c=${c%/}
	name=${c##*/}
	[ -f "$c/script" ] || continue
	n=$((n + 1))
	d=$work/$name
	mkdir -p "$d"
	if ! devs=$(setup "$c" "$d" 2> "$d/setup.err"); then
		fail "case $name" "setup: $(head -c 200 "$d/setup.err")"
		continue
	fi
	# 1. the findings the script wants
	# shellcheck disable=SC2086
	"$B" fsck -n --findings $devs > "$d/findings" 2> /dev/null < /dev/null
	missing=
	for k in $(awk '$1 == "want" { print $2 }' "$c/script"); do
		grep -q "^$k " "$d/findings" || missing="$missing $k"
	done
	# the summary of a second run that leaves just the "left" kinds
	left=$(awk '$1 == "left" { print $2 }' "$c/script" | sort | tr '\n' ' ')
	[ -z "$missing" ] || fail "case $name" "fsck -n does not report:$missing"
	# 2. and 3.
	# shellcheck disable=SC2086
	run_fsck "$d" "$d/out.1" $devs
	# shellcheck disable=SC2086
	run_fsck "$d" "$d/out.2" $devs
	if [ "${UPDATE:-}" = 1 ]; then
		cp "$d/out.1" "$c/expect.1"
		cp "$d/out.2" "$c/expect.2"
		echo "updated $c/expect.1 and expect.2"
	fi
	got_left=$(sed -n 's/^summary: [0-9]* findings*: \(.*\); .*; exit status .*/\1/p' "$d/out.2" |
		tr ',' '\n' | awk '{ print $1 }' | sort | tr '\n' ' ')
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
		pass "case $name: $(awk '$1 == "want" { printf "%s ", $2 }' "$c/script")found; fsck -y as expect.1, then ${left:+left: }${left:-clean}"
	fi
	rm -rf "$d"
done
[ $n -gt 0 ] || fail "cases" "no case in $CASES"
[ $nfail -eq 0 ]
