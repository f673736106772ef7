#!/bin/sh
# Test runner of `make check`:
#   sh tests/run.sh --images DIR --build DIR
#
#  a. unit test binaries BUILD/unit/* and BUILD/san/unit/* (one test each)
#  b. conformance: `bcachefs list --format=keys|nodes -b all` of every image
#     in DIR/index.tsv against DIR/NAME.keys.zst / NAME.nodes.zst; then the
#     same for the 1.37-1.39 images in $IMAGES139 (environment; by default
#     DIR/../images-v139), skipped with a SKIP line when that is missing
#  c. test scripts tests/t_*.sh (they print PASS/FAIL lines, and SKIP
#     lines for what they cannot test here, with the reason)
#  d. command-line tests (options, ranges, exit statuses, read-only opening)
#
# Prints one PASS/FAIL line per test and ends with "N passed, N failed";
# exits 0 only if nothing failed. Images are decompressed into a temporary
# directory (once each), never into DIR. Without DIR (no ../shared) the
# tests that need the corpus are skipped with a SKIP line saying so.
set -u
unset CDPATH

usage() {
	echo "usage: sh tests/run.sh --images DIR --build DIR" >&2
	exit 2
}

IMAGES=
BUILD=
while [ $# -gt 0 ]; do
	case $1 in
	--images) [ $# -ge 2 ] || usage; IMAGES=$2; shift 2 ;;
	--images=*) IMAGES=${1#--images=}; shift ;;
	--build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
	--build=*) BUILD=${1#--build=}; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
[ -n "$IMAGES" ] || IMAGES=../shared/images
[ -n "$BUILD" ] || BUILD=build

# the repository root: tests/..
case $0 in
*/*) ROOT=$(cd "${0%/*}/.." && pwd) ;;
*) ROOT=$(cd .. && pwd) ;;
esac
[ -n "$ROOT" ] && [ -f "$ROOT/tests/run.sh" ] || { echo "run.sh: cannot find the repository root" >&2; exit 2; }

# relative paths are relative to the caller's directory
# without the image corpus the tests that need it are skipped, saying why
NO_IMAGES=
if ! IMAGES_ABS=$(cd "$IMAGES" 2>/dev/null && pwd) || [ ! -r "$IMAGES_ABS/index.tsv" ]; then
	NO_IMAGES="no image corpus at $IMAGES (clone shared/ beside the repository, or give IMAGES=DIR)"
else
	IMAGES=$IMAGES_ABS
fi
# the 1.37-1.39 images: $IMAGES139 from the environment, else images-v139
# beside the corpus; missing, their conformance is skipped saying why
[ -n "${IMAGES139:-}" ] || IMAGES139=$IMAGES/../images-v139
NO_IMAGES139=
if ! IMAGES139_ABS=$(cd "$IMAGES139" 2>/dev/null && pwd) || [ ! -r "$IMAGES139_ABS/index.tsv" ]; then
	NO_IMAGES139="no 1.37-1.39 images at $IMAGES139 (give IMAGES139=DIR)"
else
	IMAGES139=$IMAGES139_ABS
fi
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "run.sh: no build directory $BUILD" >&2; exit 2; }
cd "$ROOT" || exit 2
BIN=$ROOT/bcachefs
SAN_BIN=$BUILD/san/bcachefs
INDEX=$IMAGES/index.tsv

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bch-check.XXXXXX") || { echo "run.sh: mktemp failed" >&2; exit 2; }
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM

# a hung command must not hang the whole run
if command -v timeout >/dev/null 2>&1; then
	TIMEOUT="timeout -k 10"
else
	TIMEOUT=
fi
CMD_TIMEOUT=300		# one bcachefs command, one unit test binary
SCRIPT_TIMEOUT=1200	# one tests/t_*.sh script

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

npass=0
nfail=0
nskip=0
start_time=$(date +%s)

pass() {
	npass=$((npass + 1))
	echo "PASS $*"
}

fail() {
	nfail=$((nfail + 1))
	echo "FAIL $*"
}

# timed FILE SECONDS CMD...: run CMD with stdin from FILE and a time limit
timed() {
	_in=$1
	_secs=$2
	shift 2
	if [ -n "$TIMEOUT" ]; then
		$TIMEOUT "$_secs" "$@" <"$_in"
	else
		"$@" <"$_in"
	fi
}

# run OUT ERR CMD...: stdout to OUT, stderr to ERR, stdin /dev/null; sets rc
run() {
	_out=$1
	_err=$2
	shift 2
	timed /dev/null "$CMD_TIMEOUT" "$@" >"$_out" 2>"$_err"
	rc=$?
}

# indent FILE [MAX]: the first MAX (default 40) lines of FILE, indented
indent() {
	[ -s "$1" ] || return 0
	_n=$(wc -l <"$1")
	sed -n "1,${2:-40}p" "$1" | cut -c1-400 | sed 's/^/    | /'
	[ "$_n" -gt "${2:-40}" ] && echo "    | ... ($_n lines)"
	return 0
}

# line_of FILE N: line N of FILE, or <end of file>
line_of() {
	if [ "$(sed -n "$2{p;q;}" "$1" | wc -c)" -eq 0 ]; then
		echo "<end of file>"
	else
		sed -n "$2{p;q;}" "$1" | cut -c1-400
	fi
}

# first_diff GOT EXPECTED: print the first line where the files differ
first_diff() {
	_msg=$(LC_ALL=C cmp -- "$1" "$2" 2>&1)
	_line=
	case $_msg in
	*" differ: "*)
		_line=$(printf '%s\n' "$_msg" | sed -n 's/.* line \([0-9][0-9]*\).*/\1/p' | head -n 1) ;;
	esac
	if [ -z "$_line" ]; then
		# one is a prefix of the other: the line after the shorter one
		_a=$(wc -l <"$1")
		_b=$(wc -l <"$2")
		[ "$_a" -lt "$_b" ] && _line=$((_a + 1)) || _line=$((_b + 1))
	fi
	echo "    first difference at line $_line (got $(wc -l <"$1") lines, expected $(wc -l <"$2")):"
	echo "    got:      $(line_of "$1" "$_line")"
	echo "    expected: $(line_of "$2" "$_line")"
}

# expect_same NAME GOT EXPECTED ERR: PASS if rc = 0 and the files are equal
expect_same() {
	if [ "$rc" -ne 0 ]; then
		fail "$1 (exit status $rc)"
		[ -s "$2" ] && cmp -s "$2" "$3" || first_diff "$2" "$3"
		echo "    stderr:"
		indent "$4"
	elif ! cmp -s "$2" "$3"; then
		fail "$1 (output differs)"
		first_diff "$2" "$3"
		if [ -s "$4" ]; then
			echo "    stderr:"
			indent "$4"
		fi
	else
		pass "$1"
	fi
}

# expect_rc NAME WANT ERR: PASS if rc = WANT
expect_rc() {
	if [ "$rc" -eq "$2" ]; then
		pass "$1"
	else
		fail "$1 (exit status $rc, want $2)"
		indent "$3" 10
	fi
}

hash_of() {
	sha256sum <"$1" | cut -d' ' -f1
}

# --------------------------------------------------------------------------
# a. unit tests

echo "# unit tests"
for dir in "$BUILD/unit" "$BUILD/san/unit"; do
	case $dir in
	*/san/unit) label=unit-san ;;
	*) label=unit ;;
	esac
	# every tests/unit/test_*.c must have been built
	for src in tests/unit/test_*.c; do
		[ -f "$src" ] || continue
		t=${src##*/}
		t=${t%.c}
		[ -x "$dir/$t" ] || fail "$label $t (not built: $dir/$t)"
	done
	for bin in "$dir"/*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		case $bin in *.d|*.o) continue ;; esac
		t=${bin##*/}
		log=$TMP/unit.log
		timed /dev/null "$CMD_TIMEOUT" env IMAGES="$IMAGES" BUILD="$BUILD" \
			BCACHEFS="$BIN" TMPDIR="$TMP" "$bin" >"$log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			pass "$label $t"
		else
			fail "$label $t (exit status $rc)"
			indent "$log" 200
		fi
		rm -f "$log"
	done
done

# --------------------------------------------------------------------------
# d. command-line tests without an image

echo "# command line"
out=$TMP/out
err=$TMP/err

run "$out" "$err" "$BIN" --help
if [ "$rc" -eq 0 ] && grep -q 'show-super' "$out" && grep -q 'list' "$out"; then
	pass "cli --help"
else
	fail "cli --help (exit status $rc; want 0 and a usage naming show-super and list)"
	indent "$err" 10
fi

run "$out" "$err" "$BIN" list
expect_rc "cli list without a device exits 16" 16 "$err"

run "$out" "$err" "$BIN" list --format=bogus x
expect_rc "cli list --format=bogus exits 16" 16 "$err"
rm -f "$out" "$err"

# --------------------------------------------------------------------------
# b. conformance, and the command-line tests that need an image

# image-specific command-line tests; $W is the image's directory, $EXP_KEYS
# its expected key dump, "$@" its devices (after the passphrase option)
cli_small() {
	img=$1
	exp=$EXP_KEYS

	run "$out" "$err" "$BIN" show-super "$img"
	uuid=$(sed -n 's/^External UUID:[[:space:]]*//p' "$IMAGES/small.show-super.txt" | head -n 1 | tr -d '[:space:]')
	if [ -z "$uuid" ]; then
		fail "cli show-super small (no External UUID in small.show-super.txt)"
	elif [ "$rc" -eq 0 ] && grep -qiF "$uuid" "$out"; then
		pass "cli show-super small"
	else
		fail "cli show-super small (exit status $rc; want 0 and External UUID $uuid)"
		indent "$out" 10
		indent "$err" 10
	fi

	grep -E '^alloc 0:(60|61):0 ' "$exp" >"$W/want"
	run "$out" "$err" "$BIN" list --format=keys -b alloc -s 0:60 -e 0:61 "$img"
	if [ ! -s "$W/want" ]; then
		fail "cli list -s 0:60 -e 0:61 small (no such alloc keys in small.keys)"
	else
		expect_same "cli list -b alloc -s 0:60 -e 0:61 small" "$out" "$W/want" "$err"
	fi

	grep -E '^(alloc|lru) ' "$exp" >"$W/want"
	run "$out" "$err" "$BIN" list --format=keys -b alloc,lru "$img"
	expect_same "cli list -b alloc,lru small" "$out" "$W/want" "$err"

	want=$(grep -c '^alloc ' "$exp")
	run "$out" "$err" "$BIN" list --format=text -b alloc "$img"
	got=$(wc -l <"$out")
	if [ "$rc" -eq 0 ] && [ "$got" -eq "$want" ]; then
		pass "cli list --format=text -b alloc small"
	else
		fail "cli list --format=text -b alloc small (exit status $rc, $got lines, want 0 and $want lines)"
		indent "$out" 5
		indent "$err" 10
	fi
	rm -f "$W/want" "$out" "$err"
}

cli_medium() {
	img=$1
	exp=$EXP_NODES

	# one level-1 key per level-0 node of extents, at the node's max_key
	awk '$1 == "extents" && $2 == "0" { print $4 }' "$exp" >"$W/want"
	run "$out" "$err" "$BIN" list -l 1 --format=keys -b extents "$img"
	awk '{ print $2 }' "$out" >"$W/got"
	if [ "$rc" -eq 0 ] && [ "$(wc -l <"$out")" -eq "$(wc -l <"$W/want")" ] &&
	   cmp -s "$W/got" "$W/want" && ! grep -qv '^extents ' "$out"; then
		pass "cli list -l 1 -b extents medium ($(wc -l <"$out") level-0 nodes)"
	else
		fail "cli list -l 1 -b extents medium (exit status $rc, $(wc -l <"$out") lines, want $(wc -l <"$W/want"))"
		first_diff "$W/got" "$W/want"
		indent "$err" 10
	fi
	rm -f "$W/want" "$W/got" "$out" "$err"
}

cli_encrypted() {
	run "$out" "$err" "$BIN" list --format=keys -b alloc "$@"
	if [ "$rc" -eq 8 ] && grep -qi 'passphrase' "$err"; then
		pass "cli encrypted without passphrase exits 8"
	else
		fail "cli encrypted without passphrase (exit status $rc, want 8 and a message about the passphrase)"
		indent "$err" 10
	fi
	rm -f "$out" "$err"
}

# the read-only images: hashed before the first and after the last command
ro_image() {
	case $1 in small|dirty|two-dev) return 0 ;; esac
	return 1
}

# conformance_dir DIR: keys and nodes of every image in DIR/index.tsv
# against DIR/NAME.keys.zst and DIR/NAME.nodes.zst (and the command-line
# tests of the images that have them)
conformance_dir() {
	CDIR=$1
	lineno=0
	while IFS=$tab read -r name devs _version _kind passphrase <&3; do
		lineno=$((lineno + 1))
		[ "$lineno" -eq 1 ] && [ "$name" = name ] && continue
		[ -n "$name" ] || continue
		case $name in
		*/*|.|..|-*) fail "index line $lineno: bad image name '$name'"; continue ;;
		esac
		W=$TMP/img
		rm -rf "$W"
		mkdir -p "$W" || { fail "keys $name (mkdir)"; continue; }

		# decompress the devices, device 0 first
		old_ifs=$IFS
		IFS=,
		set -f
		# shellcheck disable=SC2086
		set -- $devs
		set +f
		IFS=$old_ifs
		ndev=$#
		ok=1
		for d in "$@"; do
			case $d in
			*/*|.|..|'') ok=; echo "    bad device file name '$d'"; continue ;;
			esac
			dst=$W/${d%.zst}
			if ! zstd -q -d -f --sparse "$CDIR/$d" -o "$dst" </dev/null; then
				ok=
				echo "    cannot decompress $CDIR/$d"
			fi
			chmod u+w "$dst" 2>/dev/null
			set -- "$@" "$dst"
		done
		shift "$ndev"
		if [ -z "$ok" ] || [ "$ndev" -eq 0 ]; then
			fail "keys $name (cannot decompress the image)"
			fail "nodes $name (cannot decompress the image)"
			rm -rf "$W"
			continue
		fi
		img0=$1
		has_pass=
		if [ -n "$passphrase" ] && [ "$passphrase" != - ]; then
			printf '%s\n' "$passphrase" >"$W/passphrase"
			set -- "--passphrase-file=$W/passphrase" "$@"
			has_pass=1
		fi

		h0=
		ro_image "$name" && h0=$(hash_of "$img0")

		EXP_KEYS=$W/expected.keys
		EXP_NODES=$W/expected.nodes
		out=$W/out
		err=$W/err

		for f in keys nodes; do
			exp=$W/expected.$f
			if ! zstd -q -dc <"$CDIR/$name.$f.zst" >"$exp"; then
				fail "$f $name (cannot read $CDIR/$name.$f.zst)"
				continue
			fi
			run "$out" "$err" "$BIN" list "--format=$f" -b all "$@"
			expect_same "$f $name" "$out" "$exp" "$err"
			rm -f "$out" "$err"
		done

		case $name in
		small) seen_small=1; cli_small "$img0" ;;
		medium) seen_medium=1; cli_medium "$img0" ;;
		esac
		if [ -n "$has_pass" ] && [ -z "$seen_encrypted" ]; then
			seen_encrypted=1
			shift
			cli_encrypted "$@"
		fi

		if [ -n "$h0" ]; then
			h1=$(hash_of "$img0")
			if [ "$h0" = "$h1" ]; then
				pass "read-only $name (image unchanged after the list runs)"
			else
				fail "read-only $name (the image was modified)"
			fi
		fi
		rm -rf "$W"
	done 3<"$CDIR/index.tsv"
}

echo "# conformance"
seen_small=
seen_medium=
seen_encrypted=
tab=$(printf '\t')
if [ -n "$NO_IMAGES" ]; then
	echo "SKIP conformance and the command-line tests on images: $NO_IMAGES"
	nskip=$((nskip + 1))
elif [ ! -r "$INDEX" ]; then
	fail "conformance (cannot read $INDEX)"
else
	conformance_dir "$IMAGES"
fi
# the 1.37-1.39 images, kept apart from the others (IMAGES139, by default
# the directory images-v139 beside the corpus)
if [ -n "$NO_IMAGES139" ]; then
	echo "SKIP conformance of the 1.37-1.39 images: $NO_IMAGES139"
	nskip=$((nskip + 1))
else
	conformance_dir "$IMAGES139"
fi
if [ -z "$NO_IMAGES" ]; then
	[ -n "$seen_small" ] || fail "cli tests on small (image small missing or unreadable)"
	[ -n "$seen_medium" ] || fail "cli tests on medium (image medium missing or unreadable)"
	[ -n "$seen_encrypted" ] || fail "cli encrypted without passphrase (no readable image with a passphrase in the index)"
fi

# --------------------------------------------------------------------------
# c. bad-input test scripts

echo "# test scripts"
for script in tests/t_*.sh; do
	[ -f "$script" ] || continue
	s=${script##*/}
	s=${s%.sh}
	dir=$TMP/script
	rm -rf "$dir"
	mkdir -p "$dir/tmp"
	timed /dev/null "$SCRIPT_TIMEOUT" env BCACHEFS="$BIN" BCACHEFS_SAN="$SAN_BIN" \
		IMAGES="$IMAGES" NO_IMAGES="$NO_IMAGES" IMAGES139="$IMAGES139" BUILD="$BUILD" \
		TMPDIR="$dir/tmp" sh "$script" >"$dir/log" 2>&1
	rc=$?
	p=$(grep -cE '^PASS( |$)' "$dir/log")
	f=$(grep -cE '^FAIL( |$)' "$dir/log")
	k=$(grep -cE '^SKIP( |$)' "$dir/log")
	npass=$((npass + p))
	nfail=$((nfail + f))
	nskip=$((nskip + k))
	grep -E '^(PASS|FAIL|SKIP)( |$)' "$dir/log" | cut -c1-400 |
		sed -e "s|^PASS|PASS $s:|" -e "s|^FAIL|FAIL $s:|" -e "s|^SKIP|SKIP $s:|"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "$s (exit status $rc without a FAIL line)"
	elif [ "$rc" -eq 0 ] && [ "$f" -gt 0 ]; then
		echo "    ($s exited 0 despite $f FAIL lines)"
	fi
	if [ "$rc" -ne 0 ] || [ "$f" -gt 0 ]; then
		echo "    output of $script:"
		grep -vE '^(PASS|FAIL)( |$)' "$dir/log" >"$dir/other"
		indent "$dir/other" 100
	elif [ "$p" -eq 0 ] && [ "$k" -eq 0 ]; then
		fail "$s (no PASS, FAIL or SKIP line printed)"
	fi
	rm -rf "$dir"
done

elapsed=$(($(date +%s) - start_time))
echo "# ${elapsed}s"
[ "$nskip" -eq 0 ] || echo "# $nskip skipped (SKIP lines above say why)"
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
