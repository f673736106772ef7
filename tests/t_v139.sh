#!/bin/sh
# fsck on the format 1.39 images (upstream v1.39.2: per-device
# fragmentation LRUs, need_discard keyed by journal sequence number):
#   1. fsck -n --findings on every image reports exactly the findings of
#      NAME.expected.txt (a finding matches an expected line when it has
#      the line's words in order: some expected lines leave fields out),
#      exits 0 (clean) or 4 (corrupted), gives the verdict of its
#      "# copygc fault condition ...: YES|NO" line, writes nothing; the
#      sanitizer build reports the same and no sanitizer error;
#   2. fsck -y on a copy of each corrupted image repairs it: exit 1, then
#      fsck -n finds nothing and exits 0;
#   3. on a copy of v139-two-dev-data, damage only 1.38/1.39 rules can see
#      (an entry in the other device's fragmentation LRU, one in the
#      obsolete fs-wide LRU 65535, a need_discard key at the wrong journal
#      sequence number, one naming a missing device) is found by its
#      kinds, repaired, and a second check is clean;
#   4. where upstream v1.39.2's fsck is at ORACLE/v139/bcachefs-fsck (built
#      outside the repository, ORACLE by default /opt/oracle), its fsck -n
#      on a copy of each image repaired in 2 and 3 exits 0, and ours finds
#      upstream's fsck -y of each corrupted image clean.
# The images: IMAGES139, by default $IMAGES/../images-v139 (as tests/run.sh
# finds them); without them every test is skipped, saying so.
# Environment: BCACHEFS, BCACHEFS_SAN, BUILD, IMAGES, TMPDIR (see tests/run.sh).
set -u

# shellcheck source=tests/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
: "${BCACHEFS:?}" "${BUILD:?}" "${TMPDIR:?}"
[ -n "${IMAGES139:-}" ] || IMAGES139=${IMAGES:-../shared/images}/../images-v139
if [ ! -r "$IMAGES139/index.tsv" ]; then
	echo "SKIP all: no 1.37-1.39 images at $IMAGES139 (give IMAGES139=DIR)"
	exit 0
fi
INJ=$BUILD/tools/bch_inject
UP=${ORACLE:-/opt/oracle}/v139/bcachefs-fsck
work=$(mktemp -d "$TMPDIR/v139.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

# decompress NAME: every device of image NAME into $work, paths printed
decompress() {
	_d=
	for _f in $(awk -F '\t' -v n="$1" '$1 == n { print $2 }' "$IMAGES139/index.tsv" | tr ',' ' '); do
		zstd -q -d -f --sparse "$IMAGES139/$_f" -o "$work/${_f%.zst}" < /dev/null || return 1
		chmod u+w "$work/${_f%.zst}"
		_d="$_d $work/${_f%.zst}"
	done
	[ -n "$_d" ] || return 1
	echo "$_d"
}

# oracle_clean WHAT FILES...: upstream's fsck -n on a copy of the files
# (it writes in memory only, but a copy keeps that a fact) exits 0
oracle_clean() {
	_what=$1
	shift
	if [ ! -x "$UP" ]; then
		echo "SKIP v139 upstream $_what: no upstream v1.39.2 fsck at $UP"
		return
	fi
	mkdir -p "$work/up"
	_c=
	for _f in "$@"; do
		cp --sparse=always "$_f" "$work/up/" || { fail "v139 upstream $_what" "copy"; return; }
		_c="$_c $work/up/${_f##*/}"
	done
	# shellcheck disable=SC2086
	timeout -k 5 300 "$UP" -n $_c < /dev/null > "$work/up.out" 2>&1
	_st=$?
	if [ "$_st" -eq 0 ]; then
		pass "v139 upstream $_what: v1.39.2's fsck -n clean"
	else
		fail "v139 upstream $_what" "v1.39.2's fsck -n exits $_st: $(grep -v '\.\.\. done' "$work/up.out" | head -n 8 | tr '\n' '|')"
	fi
	rm -rf "$work/up"
}

# upstream_repair_clean NAME FILES...: upstream's fsck -y on a copy, then
# ours finds nothing
upstream_repair_clean() {
	_what=$1
	shift
	[ -x "$UP" ] || return 0
	mkdir -p "$work/upy"
	_c=
	for _f in "$@"; do
		cp --sparse=always "$_f" "$work/upy/" || { fail "v139 upstream -y $_what" "copy"; return; }
		_c="$_c $work/upy/${_f##*/}"
	done
	# shellcheck disable=SC2086
	timeout -k 5 300 "$UP" -y $_c < /dev/null > "$work/upy.out" 2>&1
	_ust=$?
	# shellcheck disable=SC2086
	"$BCACHEFS" fsck -n --findings $_c > "$work/upy.ours" 2>&1
	_st=$?
	# upstream's exit: 1 (fixed), with 8 for its shutdown_with_errors_fixed
	if [ $((_ust & 6)) -ne 0 ] || [ "$_st" -ne 0 ] || [ -s "$work/upy.ours" ]; then
		fail "v139 upstream -y $_what" "v1.39.2's fsck -y exits $_ust, then ours exits $_st: $(head -n 3 "$work/upy.ours" | tr '\n' '|')"
	else
		pass "v139 upstream -y $_what: ours finds v1.39.2's repair clean"
	fi
	rm -rf "$work/upy"
}

# findings_match WANT GOT: every line of GOT matches one line of WANT, one
# to one, where a line matches when it has the expected line's words in
# order (the first word, the kind, and the second, the key, exactly)
findings_match() {
	awk '
	function sub_of(w, g,    a, b, na, nb, i, j) {
		na = split(w, a, " ")
		nb = split(g, b, " ")
		if (na < 2 || nb < 2 || a[1] != b[1] || a[2] != b[2])
			return 0
		j = 3
		for (i = 3; i <= na; i++) {
			while (j <= nb && b[j] != a[i])
				j++
			if (j > nb)
				return 0
			j++
		}
		return 1
	}
	NR == FNR { want[++nw] = $0; next }
	{ got[++ng] = $0 }
	END {
		if (nw != ng)
			exit 1
		for (i = 1; i <= ng; i++) {
			for (k = 1; k <= nw; k++)
				if (!used[k] && sub_of(want[k], got[i])) {
					used[k] = 1
					break
				}
			if (k > nw)
				exit 1
		}
	}' "$1" "$2"
}

tail -n +2 "$IMAGES139/index.tsv" | while IFS='	' read -r name devs _ kind _; do
	files=$(decompress "$name") || { fail "v139 $name" "cannot decompress $devs"; continue; }
	want_status=0
	[ "$kind" = corrupted ] && want_status=4
	if grep -q '^# copygc fault condition.*: YES' "$IMAGES139/$name.expected.txt"; then
		want_v=true
	else
		want_v=false
	fi
	# shellcheck disable=SC2086
	before=$(digest $files)

	# 1. the findings, the verdict, nothing written
	grep -v '^#' "$IMAGES139/$name.expected.txt" | sed '/^$/d' > "$work/want"
	# shellcheck disable=SC2086
	"$BCACHEFS" fsck -n --findings $files > "$work/got" 2> "$work/err"
	st=$?
	if [ "$st" -ne "$want_status" ]; then
		fail "v139 fsck $name" "exit status $st, want $want_status: $(head -c 300 "$work/err")"
	elif ! findings_match "$work/want" "$work/got"; then
		fail "v139 fsck $name" "findings differ: $(head -5 "$work/got" | tr '\n' '|')"
	else
		pass "v139 fsck $name ($(wc -l < "$work/got") findings)"
	fi
	# shellcheck disable=SC2086
	"$BCACHEFS" fsck -n --json="$work/report.json" $files > "$work/report" 2>&1
	if ! grep -q "\"copygc_would_fault\":$want_v" "$work/report.json"; then
		fail "v139 verdict $name" "want copygc_would_fault $want_v: $(grep '^copygc' "$work/report" | tr '\n' '|')"
	elif [ "$want_v" = true ] && ! grep -q '^copygc verdict: WOULD FAULT' "$work/report"; then
		fail "v139 verdict $name" "the report does not say WOULD FAULT"
	else
		pass "v139 verdict $name ($want_v)"
	fi
	if [ -n "${BCACHEFS_SAN:-}" ] && [ -x "$BCACHEFS_SAN" ]; then
		# shellcheck disable=SC2086
		"$BCACHEFS_SAN" fsck -n --findings $files > "$work/san" 2> "$work/san.err"
		sst=$?
		if [ "$sst" -ne "$want_status" ] || ! cmp -s "$work/san" "$work/got" ||
		   grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/san.err"; then
			fail "v139 fsck-san $name" "exit $sst: $(grep -m1 -E 'ERROR|runtime error' "$work/san.err")"
		else
			pass "v139 fsck-san $name"
		fi
	fi
	# shellcheck disable=SC2086
	if [ "$before" != "$(digest $files)" ]; then
		fail "v139 readonly $name" "fsck -n changed the image"
	fi

	# 2. repair a corrupted image, then it checks clean
	if [ "$kind" = corrupted ]; then
		# shellcheck disable=SC2086
		upstream_repair_clean "$name" $files
		# shellcheck disable=SC2086
		(cd "$work" && "$BCACHEFS" fsck -y --no-undo $files > "$work/fix" 2>&1)
		st=$?
		# shellcheck disable=SC2086
		"$BCACHEFS" fsck -n --findings $files > "$work/after" 2>&1
		st2=$?
		if [ "$st" -ne 1 ] || [ "$st2" -ne 0 ] || [ -s "$work/after" ]; then
			fail "v139 repair $name" "fsck -y exit $st, then fsck -n exit $st2: $(grep -E '^(summary|after)' "$work/fix" | tr '\n' '|') $(head -3 "$work/after" | tr '\n' '|')"
		else
			pass "v139 repair $name"
		fi
		# shellcheck disable=SC2086
		oracle_clean "$name repaired" $files
	fi
	# shellcheck disable=SC2086
	rm -f $files
done > "$work/results"
cat "$work/results"
grep -q '^FAIL' "$work/results" && nfail=$((nfail + 1))

# 3. damage only the 1.38/1.39 rules see, on two devices
if [ ! -x "$INJ" ]; then
	fail "v139 injected" "$INJ not built (make $INJ)"
elif ! files=$(decompress v139-two-dev-data); then
	fail "v139 injected" "no image v139-two-dev-data"
else
	# shellcheck disable=SC2046,SC2086 # the LRU entries' positions
	set -- $("$BCACHEFS" list --format=keys -b lru $files 2> /dev/null | awk '{ print $2 }')
	l1=${1:-0:0:0}
	l2=${2:-}
	# shellcheck disable=SC2086
	nd=$("$BCACHEFS" list --format=keys -b need_discard $files 2> /dev/null | awk 'NR == 1 { print $2 }')
	# l1 moved from its device's LRU id (8192 + dev) to the other device's
	# (ids differ by 1 in the top 16 bits), l2 copied into LRU 65535, nd
	# moved one journal sequence number back, and a key naming device 5
	ino=${l1%%:*}
	id=$((ino >> 48))
	other=$(((id ^ 1) << 48 | (ino & 0xffffffffffff)))
	old=$(printf '%u' $((0xffff << 48 | (${l2%%:*} & 0xffffffffffff))))
	seq=${nd%%:*}
	rest=${nd#*:}
	# shellcheck disable=SC2086
	if [ -z "$l2" ] || [ -z "$nd" ] ||
	   ! "$INJ" $files -- delete lru "$l1" insert lru "$other:${l1#*:}" set - \
		insert lru "$old:${l2#*:}" set - \
		delete need_discard "$nd" insert need_discard "$((seq - 1)):$rest" set - \
		insert need_discard "$seq:$((5 << 48 | 7)):0" set - > "$work/inj" 2>&1; then
		fail "v139 injected" "could not damage the image: l1=$l1 l2=$l2 nd=$nd $(head -c 200 "$work/inj")"
	else
		# shellcheck disable=SC2086
		"$BCACHEFS" fsck -n --findings $files > "$work/got" 2>&1
		st=$?
		kinds=$(awk '{ print $1 }' "$work/got" | sort | uniq -c | awk '{ printf "%s %s,", $2, $1 }')
		want="lru_missing 1,lru_obsolete 1,lru_wrong_dev 1,need_discard_invalid_bucket 1,need_discard_wrong 2,"
		if [ "$st" -ne 4 ] || [ "$kinds" != "$want" ]; then
			fail "v139 injected check" "exit $st, kinds $kinds, want $want"
		else
			pass "v139 injected check ($kinds)"
		fi
		if ! grep -q "^need_discard_wrong need_discard:$((seq - 1)):$rest " "$work/got"; then
			fail "v139 injected need_discard" "the key at the wrong sequence number is not named: $(grep need_discard_wrong "$work/got" | tr '\n' '|')"
		else
			pass "v139 injected need_discard"
		fi
		# shellcheck disable=SC2086
		(cd "$work" && "$BCACHEFS" fsck -y --no-undo $files > "$work/fix" 2>&1)
		st=$?
		# shellcheck disable=SC2086
		"$BCACHEFS" fsck -n --findings $files > "$work/after" 2>&1
		st2=$?
		# shellcheck disable=SC2086
		if [ "$st" -ne 1 ] || [ "$st2" -ne 0 ] || [ -s "$work/after" ] ||
		   "$BCACHEFS" list --format=keys -b lru $files | grep -q "^lru $old:"; then
			fail "v139 injected repair" "fsck -y exit $st, then fsck -n exit $st2: $(head -3 "$work/after" | tr '\n' '|')"
		else
			pass "v139 injected repair"
		fi
		# shellcheck disable=SC2086
		oracle_clean "injected repaired" $files
	fi
fi
exit $((nfail > 0))
