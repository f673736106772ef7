#!/bin/sh
# Install tests: `make install` into a DESTDIR puts every file where it
# belongs with the right mode (fsck.bcachefs and the completion symlinks
# relative and resolving), the installed commands run from there, the
# manual pages render, the bash completion loads and completes, and `make
# uninstall` takes everything away again. Then the Debian package: `make
# deb` builds it (in a copy of the tree), it holds the same files, lintian
# reports no error, and its bcachefs runs.
#
# Environment (as tests/run.sh sets it):
#   BCACHEFS       the normal build of the command (unused: the test
#                  installs the repository's ./bcachefs, as `make install`)
#   IMAGES         directory of the *.img.zst test images
#   TMPDIR         scratch directory
# Prints "PASS name" or "FAIL name: reason"; exits non-zero if any failed.
set -u
unset CDPATH

: "${IMAGES:=../shared/images}"
: "${TMPDIR:=/tmp}"

# the repository: tests/..
case $0 in
*/*) ROOT=$(cd "${0%/*}/.." && pwd) ;;
*) ROOT=$(cd .. && pwd) ;;
esac
IMAGES=$(cd "$IMAGES" 2>/dev/null && pwd) || IMAGES=

nfail=0
W=$(mktemp -d "$TMPDIR/install.XXXXXX") || { echo "FAIL setup: mktemp"; exit 1; }
trap 'rm -rf "$W"' EXIT
trap 'exit 130' HUP INT TERM

pass() {
	echo "PASS $1"
}

fail() {
	nfail=$((nfail + 1))
	echo "FAIL $1: $2"
}

# the make this test runs is its own, not part of a `make check` run's
# jobserver, and must not rebuild anything: -o bcachefs installs the binary
# that is there (the one the other tests test)
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
mk() {
	make --no-print-directory -C "$ROOT" -o bcachefs "$@"
}

# tools the test needs (tests/deps.sh installs them)
missing=
for t in make install groff bash shellcheck dpkg-deb dpkg-buildpackage dh lintian fakeroot zstd; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -f /usr/share/bash-completion/bash_completion ] || missing="$missing bash-completion"
if [ -n "$missing" ]; then
	fail tools "missing:$missing (sh tests/deps.sh installs them)"
fi

if [ ! -x "$ROOT/bcachefs" ]; then
	fail setup "$ROOT/bcachefs is not built"
	exit 1
fi

D=$W/destdir
SBIN=$D/usr/sbin
MAN8=$D/usr/share/man/man8
COMP=$D/usr/share/bash-completion/completions

# the corpus image small (clean) and copygc-oob (fsck -n: exit 4)
SMALL=
OOB=
if [ -n "${NO_IMAGES:-}" ]; then
	echo "SKIP the installed commands on corpus images: ${NO_IMAGES}"
elif [ -z "$IMAGES" ]; then
	fail setup "no images directory"
else
	for i in small copygc-oob; do
		if zstd -q -d -f --sparse "$IMAGES/$i.img.zst" -o "$W/$i.img" </dev/null; then
			chmod 0644 "$W/$i.img"
		else
			fail setup "cannot decompress $IMAGES/$i.img.zst"
		fi
	done
	[ -f "$W/small.img" ] && SMALL=$W/small.img
	[ -f "$W/copygc-oob.img" ] && OOB=$W/copygc-oob.img
fi

# ---------------------------------------------------------------------------
# make install

if mk install DESTDIR="$D" PREFIX=/usr >"$W/log" 2>&1; then
	pass "make install"
else
	fail "make install" "exit status $?: $(tail -n 5 "$W/log" | tr '\n' ' ')"
fi

# file PATH MODE [SOURCE]: a regular file of mode MODE, equal to SOURCE
why=
file_ok() {
	if [ -L "$1" ] || [ ! -f "$1" ]; then
		why="$why [${1#"$D"}: not a regular file]"
		return
	fi
	_m=$(stat -c %a "$1")
	[ "$_m" = "$2" ] || why="$why [${1#"$D"}: mode $_m, want $2]"
	if [ -n "${3:-}" ] && ! cmp -s "$1" "$3"; then
		why="$why [${1#"$D"}: differs from ${3#"$ROOT/"}]"
	fi
}

# link_ok PATH TARGET: a symlink reading exactly TARGET (relative), resolving
# to an existing file in the same directory
link_ok() {
	if [ ! -L "$1" ]; then
		why="$why [${1#"$D"}: not a symlink]"
		return
	fi
	_t=$(readlink "$1")
	[ "$_t" = "$2" ] || why="$why [${1#"$D"}: points to '$_t', want '$2']"
	[ -f "$1" ] || why="$why [${1#"$D"}: does not resolve]"
}

file_ok "$SBIN/bcachefs" 755 "$ROOT/bcachefs"
link_ok "$SBIN/fsck.bcachefs" bcachefs
file_ok "$SBIN/bcachefs-repair" 755 "$ROOT/c_src/bcachefs-repair.sh"
for p in bcachefs fsck.bcachefs bcachefs-repair; do
	file_ok "$MAN8/$p.8" 644 "$ROOT/$p.8"
done
file_ok "$COMP/bcachefs" 644 "$ROOT/c_src/bcachefs-completion.bash"
link_ok "$COMP/fsck.bcachefs" bcachefs
link_ok "$COMP/bcachefs-repair" bcachefs

# and nothing else
cat >"$W/want" <<EOF
/usr/sbin/bcachefs
/usr/sbin/bcachefs-repair
/usr/sbin/fsck.bcachefs
/usr/share/bash-completion/completions/bcachefs
/usr/share/bash-completion/completions/bcachefs-repair
/usr/share/bash-completion/completions/fsck.bcachefs
/usr/share/man/man8/bcachefs-repair.8
/usr/share/man/man8/bcachefs.8
/usr/share/man/man8/fsck.bcachefs.8
EOF
(cd "$D" 2>/dev/null && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$W/got"
LC_ALL=C sort -o "$W/want" "$W/want"
if ! cmp -s "$W/got" "$W/want"; then
	why="$why [installed files differ: $(diff "$W/want" "$W/got" | grep '^[<>]' | tr '\n' ' ')]"
fi
if [ -z "$why" ]; then
	pass "installed files, modes and symlinks"
else
	fail "installed files, modes and symlinks" "$why"
fi

# ---------------------------------------------------------------------------
# the installed commands

# run NAME WANT CMD...: CMD exits WANT (stdout $W/out, stderr $W/err)
run() {
	_name=$1
	_want=$2
	shift 2
	timeout -k 5 120 "$@" >"$W/out" 2>"$W/err" </dev/null
	_rc=$?
	if [ "$_rc" -ne "$_want" ]; then
		fail "$_name" "exit status $_rc, want $_want: $(head -c 300 "$W/err")"
		return 1
	fi
	return 0
}

run "installed bcachefs --help" 0 "$SBIN/bcachefs" --help &&
	if grep -q fsck "$W/out" && grep -q show-super "$W/out"; then
		pass "installed bcachefs --help"
	else
		fail "installed bcachefs --help" "the usage does not name fsck and show-super"
	fi

run "installed fsck.bcachefs -V" 0 "$SBIN/fsck.bcachefs" -V &&
	if grep -qE '[0-9]+\.[0-9]+' "$W/out"; then
		pass "installed fsck.bcachefs -V ($(head -n 1 "$W/out"))"
	else
		fail "installed fsck.bcachefs -V" "no version on stdout: $(head -c 200 "$W/out")"
	fi

if [ -n "$SMALL" ]; then
	h0=$(sha256sum <"$SMALL")
	run "installed fsck.bcachefs -n small" 0 "$SBIN/fsck.bcachefs" -n "$SMALL" &&
		if [ "$(sha256sum <"$SMALL")" = "$h0" ]; then
			pass "installed fsck.bcachefs -n small (clean: exit 0)"
		else
			fail "installed fsck.bcachefs -n small" "the image was modified"
		fi
fi
if [ -n "$OOB" ]; then
	h0=$(sha256sum <"$OOB")
	run "installed fsck.bcachefs -n copygc-oob" 4 "$SBIN/fsck.bcachefs" -n "$OOB" &&
		if [ "$(sha256sum <"$OOB")" = "$h0" ]; then
			pass "installed fsck.bcachefs -n copygc-oob (errors left: exit 4)"
		else
			fail "installed fsck.bcachefs -n copygc-oob" "the image was modified"
		fi
fi

run "installed bcachefs-repair --help" 0 "$SBIN/bcachefs-repair" --help &&
	if grep -q 'bcachefs-repair' "$W/out"; then
		pass "installed bcachefs-repair --help"
	else
		fail "installed bcachefs-repair --help" "no usage on stdout"
	fi

# the installed script runs the bcachefs installed beside it (BCACHEFS,
# which tests/run.sh sets, would override that); it finds what fsck -n
# finds on copygc-oob and, as a dry run, leaves it: exit 4
if [ -n "$OOB" ]; then
	h0=$(sha256sum <"$OOB")
	if run "installed bcachefs-repair --dry-run copygc-oob" 4 \
		env -u BCACHEFS "$SBIN/bcachefs-repair" --dry-run \
		--log-dir "$W/repair-log" "$OOB"; then
		if [ "$(sha256sum <"$OOB")" != "$h0" ]; then
			fail "installed bcachefs-repair --dry-run copygc-oob" "the image was modified"
		elif ! grep -qF "bcachefs: $SBIN/bcachefs " "$W/repair-log/run.log"; then
			fail "installed bcachefs-repair --dry-run copygc-oob" \
				"did not run $SBIN/bcachefs: $(grep -m1 'bcachefs: ' "$W/repair-log/run.log")"
		else
			pass "installed bcachefs-repair --dry-run copygc-oob (exit 4, nothing written)"
		fi
	fi
fi

# ---------------------------------------------------------------------------
# manual pages: each renders without error, and under its NAME

for p in bcachefs fsck.bcachefs bcachefs-repair; do
	f=$MAN8/$p.8
	if [ ! -f "$f" ]; then
		fail "man page $p.8 renders" "not installed"
		continue
	fi
	LC_ALL=C.UTF-8 groff -man -Tutf8 -P-c -ww "$f" >"$W/out" 2>"$W/err"
	rc=$?
	name_line=$(sed 's/.\x08//g' "$W/out" | sed -n '/^NAME/{n;p;q;}')
	if [ "$rc" -ne 0 ]; then
		fail "man page $p.8 renders" "groff exit status $rc: $(head -c 300 "$W/err")"
	elif [ "$(wc -l <"$W/out")" -lt 10 ]; then
		fail "man page $p.8 renders" "only $(wc -l <"$W/out") lines"
	elif ! printf '%s\n' "$name_line" | grep -qF "$p"; then
		fail "man page $p.8 renders" "NAME section does not name $p: '$name_line'"
	else
		pass "man page $p.8 renders ($(wc -l <"$W/out") lines)"
		# groff's warnings, for whoever reads the log
		[ -s "$W/err" ] && sed "s|^|    $p.8: |" "$W/err" | head -n 5
	fi
done

# ---------------------------------------------------------------------------
# bash completion

C=$COMP/bcachefs
if [ ! -f "$C" ]; then
	fail "bash completion" "not installed"
else
	if bash -n "$C" 2>"$W/err"; then
		pass "bash completion: bash -n"
	else
		fail "bash completion: bash -n" "$(head -c 300 "$W/err")"
	fi
	if ! command -v shellcheck >/dev/null 2>&1; then
		fail "bash completion: shellcheck" "shellcheck not installed"
	elif shellcheck -s bash "$C" >"$W/out" 2>&1; then
		pass "bash completion: shellcheck -s bash"
	else
		fail "bash completion: shellcheck -s bash" "$(head -c 400 "$W/out" | tr '\n' ' ')"
	fi

	# comp FUNC WORD...: the completions of the last WORD, one a line,
	# as the function registered for the first WORD gives them
	cat >"$W/drive.bash" <<'EOF'
set -u
comp() {
	local spec fn
	# as bash: the command as typed, else its last component
	spec=$(complete -p "$1" 2>/dev/null || complete -p "${1##*/}" 2>/dev/null) ||
		{ echo "no completion for $1" >&2; return 1; }
	fn=${spec#*-F }
	fn=${fn%% *}
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || return 1
	printf '%s\n' "${COMPREPLY[@]}"
}
EOF
	# drive NAME EXPECTED WORD...: the completions are exactly EXPECTED
	# (newline-separated, any order)
	drive() {
		_name=$1
		_exp=$2
		shift 2
		(cd "$W/cwd" && bash --norc --noprofile -c '. "$1"; . "$2"; shift 2; comp "$@"' \
			sh "$C" "$W/drive.bash" "$@") >"$W/out" 2>"$W/err" </dev/null
		_rc=$?
		printf '%s\n' "$_exp" | LC_ALL=C sort >"$W/exp"
		LC_ALL=C sort "$W/out" >"$W/got"
		if [ "$_rc" -ne 0 ]; then
			fail "completion: $_name" "exit status $_rc: $(head -c 300 "$W/err")"
		elif ! cmp -s "$W/got" "$W/exp"; then
			fail "completion: $_name" "got '$(tr '\n' ' ' <"$W/got")', want '$(tr '\n' ' ' <"$W/exp")'"
		else
			pass "completion: $_name"
		fi
	}
	mkdir -p "$W/cwd/dir"
	: >"$W/cwd/disk.img"
	: >"$W/cwd/disk2.img"

	if bash --norc --noprofile -c '. "$1" && complete -p bcachefs && complete -p fsck.bcachefs && complete -p bcachefs-repair' \
		sh "$C" >"$W/out" 2>"$W/err" </dev/null; then
		pass "completion: complete -p bcachefs, fsck.bcachefs, bcachefs-repair"
	else
		fail "completion: complete -p" "$(cat "$W/out" "$W/err" | head -c 300)"
	fi
	drive "bcachefs fs<TAB>" fsck bcachefs fs
	drive "bcachefs <TAB>" "show-super
list
fsck
undo
dump
version
help" bcachefs ""
	drive "bcachefs fsck --no-<TAB>" "--no-undo
--no-progress" bcachefs fsck --no-
	drive "bcachefs fsck --undo<TAB>" "--undo-file=" bcachefs fsck --undo
	# the pass names from the installed command's --list-passes
	passes=$("$SBIN/bcachefs" fsck --list-passes 2>/dev/null | awk '{ print $1 }')
	if [ -z "$passes" ]; then
		fail "completion: bcachefs fsck --pass=<TAB>" "fsck --list-passes printed nothing"
	else
		drive "bcachefs fsck --pass=<TAB>" "$passes" "$SBIN/bcachefs" fsck --pass =
	fi
	drive "bcachefs fsck --pass=lru,po<TAB>" "lru,pointers" bcachefs fsck --pass = lru,po
	drive "bcachefs fsck --rebuild=need<TAB>" need_discard bcachefs fsck --rebuild = need
	drive "bcachefs list -b backp<TAB>" backpointers bcachefs list -b backp
	drive "bcachefs list --format=n<TAB>" nodes bcachefs list --format = n
	drive "bcachefs fsck -n di<TAB> (files)" "disk.img
disk2.img
dir" bcachefs fsck -n di
	drive "fsck.bcachefs -<TAB>" "-a
-p
-y
-n
-f
-v
-C
-T
-l
-M
-V
-z
--no-undo" fsck.bcachefs -
	drive "bcachefs-repair --<TAB>" "--yes
--dry-run
--log-dir
--passphrase-file
--help
--version" bcachefs-repair --
	drive "bcachefs-repair --log-dir <TAB> (directories)" dir bcachefs-repair --log-dir ""

	# every option a --help lists is completed (so the completion keeps up
	# with the getopt tables)
	help_opts() {
		# the option spec of each option line (before the two spaces
		# of the description): -x, --long[=ARG] ...
		timeout 30 "$@" 2>&1 </dev/null | sed -n 's/^ *\(-[^ ].*\)$/\1/p' |
			sed 's/  .*//' | grep -oE -- '--?[A-Za-z][A-Za-z0-9-]*' | LC_ALL=C sort -u
	}
	for spec in "bcachefs show-super|show-super" "bcachefs list|list" \
		"bcachefs fsck|fsck" "bcachefs undo|undo" "bcachefs dump|dump" \
		"fsck.bcachefs|" "bcachefs-repair|"; do
		cmd=${spec%%|*}
		sub=${spec#*|}
		name=${cmd#bcachefs }
		case $cmd in
		"bcachefs "*) help_opts "$SBIN/bcachefs" "$sub" --help >"$W/help" ;;
		fsck.bcachefs) help_opts "$SBIN/fsck.bcachefs" -h >"$W/help" ;;
		bcachefs-repair) help_opts "$SBIN/bcachefs-repair" --help >"$W/help" ;;
		esac
		# shellcheck disable=SC2086 # "bcachefs fsck": two words
		(cd "$W/cwd" && bash --norc --noprofile -c '. "$1"; . "$2"; shift 2; comp "$@"' \
			sh "$C" "$W/drive.bash" $cmd -) 2>"$W/err" </dev/null |
			sed 's/=$//' | LC_ALL=C sort -u >"$W/got"
		lacking=$(LC_ALL=C comm -23 "$W/help" "$W/got" | tr '\n' ' ')
		if [ ! -s "$W/help" ]; then
			fail "completion: options of $name" "its --help lists no options"
		elif [ -n "$lacking" ]; then
			fail "completion: options of $name" "--help lists options the completion lacks: $lacking"
		else
			pass "completion: options of $name ($(grep -c . "$W/help") in --help, all completed)"
		fi
	done

	# bash-completion loads a command's completion from the file named
	# after the command: fsck.bcachefs and bcachefs-repair through their
	# symlinks in the installed directory
	for cmd in bcachefs fsck.bcachefs bcachefs-repair; do
		# shellcheck disable=SC2016 # expanded by the inner bash
		if env XDG_DATA_DIRS="$D/usr/share" BASH_COMPLETION_USER_DIR="$W/none" \
			bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion &&
				__load_completion "$1" && complete -p "$1"' sh "$cmd" \
			>"$W/out" 2>"$W/err" </dev/null && grep -q -- "-F" "$W/out"; then
			pass "completion: bash-completion loads $cmd ($(cat "$W/out"))"
		else
			fail "completion: bash-completion loads $cmd" "$(cat "$W/out" "$W/err" | head -c 300)"
		fi
	done
fi

# ---------------------------------------------------------------------------
# make uninstall: nothing left but (empty) directories

if mk uninstall DESTDIR="$D" PREFIX=/usr >"$W/log" 2>&1; then
	left=$(find "$D" -type f -o -type l 2>/dev/null)
	if [ -z "$left" ]; then
		pass "make uninstall"
	else
		fail "make uninstall" "left behind: $(printf '%s\n' "$left" | sed "s|^$D||" | tr '\n' ' ')"
	fi
else
	fail "make uninstall" "exit status $?: $(tail -n 5 "$W/log" | tr '\n' ' ')"
fi
# ... and only what install put there: a file of someone else's stays
mkdir -p "$SBIN"
echo other >"$SBIN/other-tool"
if mk uninstall DESTDIR="$D" PREFIX=/usr >"$W/log" 2>&1 && [ -f "$SBIN/other-tool" ]; then
	pass "make uninstall leaves other files"
else
	fail "make uninstall leaves other files" "$SBIN/other-tool removed, or exit status non-zero: $(tail -n 3 "$W/log" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------------------
# the Debian package

OUT=$W/deb
t0=$(date +%s)
if mk deb DEB_OUT="$OUT" DEB_TMP="$W" >"$W/log" 2>&1; then
	pass "make deb ($(($(date +%s) - t0))s)"
else
	fail "make deb" "exit status $? after $(($(date +%s) - t0))s: $(tail -n 15 "$W/log" | cut -c1-200 | tr '\n' ' ')"
fi
grep '^deb:' "$W/log" | sed 's/^/    /'

deb=
for f in "$OUT"/bcachefs-offline-fsck_*.deb; do
	[ -f "$f" ] && deb=$f
done
if [ -z "$deb" ]; then
	fail "package contents" "no bcachefs-offline-fsck_*.deb in $OUT"
else
	dpkg-deb -c "$deb" >"$W/contents" 2>"$W/err" || fail "package contents" "dpkg-deb -c: $(cat "$W/err")"
	why=
	for want in \
		'^-rwxr-xr-x .* \./usr/sbin/bcachefs$' \
		'^lrwxrwxrwx .* \./usr/sbin/fsck\.bcachefs -> bcachefs$' \
		'^-rwxr-xr-x .* \./usr/sbin/bcachefs-repair$' \
		'^-rw-r--r-- .* \./usr/share/man/man8/bcachefs\.8\.gz$' \
		'^-rw-r--r-- .* \./usr/share/man/man8/fsck\.bcachefs\.8\.gz$' \
		'^-rw-r--r-- .* \./usr/share/man/man8/bcachefs-repair\.8\.gz$' \
		'^-rw-r--r-- .* \./usr/share/bash-completion/completions/bcachefs$' \
		'^lrwxrwxrwx .* \./usr/share/bash-completion/completions/fsck\.bcachefs -> bcachefs$' \
		'^lrwxrwxrwx .* \./usr/share/bash-completion/completions/bcachefs-repair -> bcachefs$' \
		'^-rw-r--r-- .* \./usr/share/doc/bcachefs-offline-fsck/copyright$'; do
		grep -qE "$want" "$W/contents" || why="$why [no /$want/]"
	done
	if [ -z "$why" ]; then
		pass "package contents ($(grep -c . "$W/contents") entries)"
	else
		fail "package contents" "$why"
		sed 's/^/    | /' "$W/contents"
	fi

	why=
	[ "$(dpkg-deb -f "$deb" Package)" = bcachefs-offline-fsck ] || why="$why [Package]"
	[ "$(dpkg-deb -f "$deb" Section)" = admin ] || why="$why [Section]"
	dpkg-deb -f "$deb" Conflicts | grep -qw bcachefs-tools || why="$why [Conflicts bcachefs-tools]"
	dpkg-deb -f "$deb" Replaces | grep -qw bcachefs-tools || why="$why [Replaces bcachefs-tools]"
	dpkg-deb -f "$deb" Depends | grep -q libc6 || why="$why [Depends: no shlibs]"
	if [ -z "$why" ]; then
		pass "package control fields"
	else
		fail "package control fields" "$why"
	fi

	# lintian: make deb ran it on the .deb; no error
	if [ ! -f "$OUT/lintian.txt" ]; then
		fail "lintian" "no lintian report"
	elif grep -q '^E:' "$OUT/lintian.txt"; then
		fail "lintian" "$(grep '^E:' "$OUT/lintian.txt" | head -n 5 | tr '\n' ' ')"
	else
		pass "lintian: no errors ($(grep -c '^W:' "$OUT/lintian.txt") warnings, $(grep -c '^I:' "$OUT/lintian.txt") info)"
	fi
	grep -E '^[WI]:' "$OUT/lintian.txt" 2>/dev/null | head -n 20 | sed 's/^/    /'

	# the packaged commands run
	X=$W/x
	if dpkg-deb -x "$deb" "$X" 2>"$W/err" &&
	   run "packaged fsck.bcachefs -V" 0 "$X/usr/sbin/fsck.bcachefs" -V; then
		pass "packaged fsck.bcachefs -V ($(head -n 1 "$W/out"))"
	fi
	if [ -n "$SMALL" ] && [ -x "$X/usr/sbin/bcachefs" ] &&
	   run "packaged bcachefs fsck -n small" 0 "$X/usr/sbin/bcachefs" fsck -n "$SMALL"; then
		pass "packaged bcachefs fsck -n small"
	fi
fi

[ "$nfail" -eq 0 ]
