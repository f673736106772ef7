#!/bin/sh
# bcachefs-repair (c_src/bcachefs-repair.sh) on copies of corpus images, in
# directories and under names with spaces:
#  - copygc-oob with -y: exit 1, the log directory (default name, in the
#    current directory) holds the reports, the undo file and run.log, the
#    filesystem checks clean afterwards, the findings and the copygc
#    verdict are explained, the undo file restores the original bytes;
#  - a clean image: exit 0, nothing written; --dry-run, declining at the
#    prompt (and EOF): exit 4, nothing written; "y" at the prompt repairs;
#  - two-dev-oob with both devices repaired; one of them only: refused;
#  - refusal of an image attached to a loop device (also found through
#    /sys without losetup) and of a mounted loop device (ext2); an
#    unmounted loop device is checked, not refused;
#  - the rollback when the check after the repair is not clean, when the
#    repair fails, and a failing rollback, through a test double of
#    bcachefs ($BCACHEFS wrapped); the copygc verdict when the report has
#    none; SIGTERM; finding bcachefs beside the script and in PATH;
#  - usage errors, shellcheck, groff.
# Environment: BCACHEFS, IMAGES, TMPDIR (see tests/run.sh).
set -u


. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${IMAGES:?}" "${TMPDIR:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
SCRIPT=$ROOT/c_src/bcachefs-repair.sh
MAN=$ROOT/bcachefs-repair.8
IMAGES=$(cd "$IMAGES" && pwd) || exit 1
case $BCACHEFS in /*) ;; *) BCACHEFS=$PWD/$BCACHEFS ;; esac
work=$(mktemp -d "$TMPDIR/repair-script.XXXXXX") || exit 1
work=$(cd "$work" && pwd) || exit 1
# run from the scratch directory: a default log directory lands there
cd "$work" || exit 1
failed=0
LOOPS=""	# loop devices we attached, detached at exit
MNT=""		# the mount point we mounted, unmounted at exit

cleanup() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1 $2"; failed=1; }

# copy NAME DIR: decompress NAME's devices into DIR as DEVFILE (without .zst)
copy() {
	mkdir -p "$2" || return 1
	for _f in $(awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$IMAGES/index.tsv" | tr , ' '); do
		zstd -q -d -f "$IMAGES/$_f" -o "$2/${_f%.zst}" </dev/null || return 1
	done
}

# repair OUT ARG...: run the script, stdout to OUT.out, stderr to OUT.err,
# stdin from /dev/null unless redirected by the caller; sets st
repair() {
	_o=$1
	shift
	sh "$SCRIPT" "$@" >"$_o.out" 2>"$_o.err"
	st=$?
	[ -n "${TRACE:-}" ] && echo "$(date +%s.%N) $_o" >&2
	return 0
}

# why OUT: the end of a run's output, for a FAIL line
why() {
	tail -n 3 "$1.err" "$1.out" 2>/dev/null | tr '\n' '|' | cut -c1-300
}

# the test double of bcachefs: runs the real one ($WRAP_REAL), except as
# $WRAP_MODE says; counts the checks (fsck -n) in $WRAP_DIR/checks
wrapper=$work/bcachefs-double
cat >"$wrapper" <<'EOF'
#!/bin/sh
real=$WRAP_REAL
dir=$WRAP_DIR
check=
json=
if [ "$1" = fsck ]; then
	for a in "$@"; do
		case $a in
		-n) check=1 ;;
		--json=*) json=${a#--json=} ;;
		esac
	done
fi
n=0
if [ -n "$check" ]; then
	n=$(cat "$dir/checks" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$dir/checks"
fi
echo "$*" >>"$dir/calls"
case ${WRAP_MODE:-} in
second-check-fails | undo-fails)
	if [ -n "$check" ] && [ "$n" -eq 2 ]; then
		"$real" "$@"
		echo "test double: the second check fails" >&2
		exit 4
	fi
	if [ "$1" = undo ] && [ "$WRAP_MODE" = undo-fails ]; then
		echo "test double: undo fails" >&2
		exit 8
	fi ;;
repair-fails)
	if [ "$1" = fsck ] && [ -z "$check" ]; then
		"$real" "$@"
		echo "test double: the repair fails after writing" >&2
		exit 8
	fi ;;
repair-fails-early)
	if [ "$1" = fsck ] && [ -z "$check" ]; then
		echo "test double: the repair fails before writing" >&2
		exit 8
	fi ;;
no-verdict)
	if [ -n "$check" ] && [ -n "$json" ]; then
		"$real" "$@"
		s=$?
		grep -v '"copygc_would_fault"' "$json" >"$json.tmp" && mv "$json.tmp" "$json"
		exit $s
	fi ;;
slow-check)
	if [ -n "$check" ]; then
		: >"$dir/started"
		sleep 2
	fi ;;
esac
exec "$real" "$@"
EOF
chmod +x "$wrapper"

# run the script through the test double in MODE: wrapped OUT MODE ARG...
wrapped() {
	_o=$1
	_m=$2
	shift 2
	rm -f "$work/calls" "$work/checks"
	env WRAP_REAL="$BCACHEFS" WRAP_DIR="$work" WRAP_MODE="$_m" BCACHEFS="$wrapper" \
		sh "$SCRIPT" "$@" >"$_o.out" 2>"$_o.err" </dev/null
	st=$?
}

uuid_of() {
	"$BCACHEFS" show-super "$1" 2>/dev/null |
		sed -n 's/^External UUID:[[:space:]]*//p' | head -n 1 | tr -d '[:space:]'
}

# ---------------------------------------------------------------------------
# the normal path: copygc-oob with -y, default log directory

d="$work/normal dir"
copy copygc-oob "$d" || fail "copy copygc-oob" "cannot decompress"
img="$d/copygc oob.img"
mv "$d/copygc-oob.img" "$img"
orig=$(digest "$img")
mkdir -p "$work/cwd 1"
( cd "$work/cwd 1" && sh "$SCRIPT" -y "../normal dir/copygc oob.img" >"$work/n.out" 2>"$work/n.err" </dev/null )
st=$?
uuid=$(uuid_of "$img")
logdir=$(ls -d "$work/cwd 1/bcachefs-repair-$uuid"-* 2>/dev/null)
"$BCACHEFS" fsck -n "$img" >"$work/n.after" 2>&1
after=$?
if [ $st -eq 1 ] && [ $after -eq 0 ] && [ "$(digest "$img")" != "$orig" ]; then
	pass "normal copygc-oob -y: exit 1, clean afterwards"
else
	fail "normal copygc-oob -y" "exit $st, fsck -n after: $after: $(why "$work/n")"
fi
ok=1
missing=""
if [ -z "$uuid" ] || [ "$(printf '%s\n' "$logdir" | wc -l)" -ne 1 ] || [ ! -d "$logdir" ]; then
	ok=
	missing="no single log directory bcachefs-repair-$uuid-*"
else
	case ${logdir##*/} in
	bcachefs-repair-"$uuid"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]) ;;
	*) ok=; missing="bad name ${logdir##*/}" ;;
	esac
	for f in check-before.txt check-before.json repair.txt check-after.txt check-after.json \
		 run.log undo.bcachefs-undo; do
		[ -s "$logdir/$f" ] || { ok=; missing="$missing $f"; }
	done
	# the log directory is named at the start and at the end
	[ "$(grep -cF "$logdir" "$work/n.out")" -ge 2 ] || { ok=; missing="$missing (not named twice)"; }
	grep -q '"exit_status": *0' "$logdir/check-after.json" || { ok=; missing="$missing check-after.json not clean"; }
	grep -q '"exit_status": *4' "$logdir/check-before.json" || { ok=; missing="$missing check-before.json not 4"; }
	# run.log: the three commands with their exit statuses
	grep -q 'run: .* fsck -n ' "$logdir/run.log" &&
		grep -q 'run: .* fsck -y -z .*undo.bcachefs-undo' "$logdir/run.log" &&
		grep -q 'exit status 4 ' "$logdir/run.log" &&
		grep -q 'exit status 1 ' "$logdir/run.log" &&
		grep -q 'exit status 0 ' "$logdir/run.log" &&
		grep -q 'exits with status 1' "$logdir/run.log" ||
		{ ok=; missing="$missing run.log incomplete"; }
	# the repair's output is the one saved
	cmp -s "$logdir/repair.txt" /dev/null && { ok=; missing="$missing repair.txt empty"; }
fi
[ -n "$ok" ] && pass "normal: log directory with reports, undo file, run.log" ||
	fail "normal: log directory" "$missing"

# the explanation: every kind of the image's expected findings with its count
ok=1
for kind in $(grep -v '^#' "$IMAGES/copygc-oob.expected.txt" | cut -d' ' -f1 | sort -u); do
	n=$(grep -c "^$kind " "$IMAGES/copygc-oob.expected.txt")
	grep -Eq "^ +$n +.*\($kind\)" "$work/n.out" || { ok=; missing="$kind $n"; }
done
if [ -n "$ok" ] && grep -q 'WOULD crash kernels before July 2025 in copygc on mount' "$work/n.out" &&
   grep -q 'REPAIRED' "$work/n.out" && grep -q ' undo .*undo.bcachefs-undo' "$work/n.out"; then
	pass "normal: counts per finding, copygc verdict WOULD crash, rollback command"
else
	fail "normal: explanation" "missing ${missing:-verdict/REPAIRED/undo command}"
fi

# the undo file the script kept restores the original bytes
if [ -n "$logdir" ] && "$BCACHEFS" undo "$logdir/undo.bcachefs-undo" "$img" >/dev/null 2>&1 &&
   [ "$(digest "$img")" = "$orig" ]; then
	pass "normal: the undo file restores the original"
else
	fail "normal: undo" "bytes not restored"
fi

# ---------------------------------------------------------------------------
# nothing written: clean image, dry run, declined, EOF

d="$work/clean"
copy small "$d"
h=$(digest "$d/small.img")
repair "$work/c" --log-dir "$d/log" "$d/small.img"
if [ $st -eq 0 ] && [ "$(digest "$d/small.img")" = "$h" ] && [ ! -e "$d/log/undo.bcachefs-undo" ] &&
   [ ! -e "$d/log/repair.txt" ] && grep -q 'nothing to repair' "$work/c.out"; then
	pass "clean small: exit 0, nothing written"
else
	fail "clean small" "exit $st: $(why "$work/c")"
fi

d="$work/dry run"
copy copygc-oob "$d"
img=$d/copygc-oob.img
h=$(digest "$img")
mkdir -p "$d/cwd"
( cd "$d/cwd" && sh "$SCRIPT" --dry-run "$img" >"$work/d.out" 2>"$work/d.err" </dev/null )
st=$?
if [ $st -eq 4 ] && [ "$(digest "$img")" = "$h" ] && [ -z "$(ls -A "$d/cwd")" ] &&
   grep -q 'WOULD crash' "$work/d.out"; then
	pass "dry run copygc-oob: exit 4, unchanged, no files left"
else
	fail "dry run copygc-oob" "exit $st, unchanged: $([ "$(digest "$img")" = "$h" ] && echo yes || echo no): $(why "$work/d")"
fi

# (the answer from a file, not a pipe: repair must run in this shell)
printf 'n\n' >"$work/answer-n"
printf 'y\n' >"$work/answer-y"
st=
repair "$work/no" --log-dir "$d/log-n" "$img" <"$work/answer-n"
s1=$st
st=
repair "$work/eof" --log-dir "$d/log-eof" "$img"
s2=$st
if [ $s1 -eq 4 ] && [ $s2 -eq 4 ] && [ "$(digest "$img")" = "$h" ] &&
   grep -q 'Repair? \[y/N\]' "$work/no.out" && [ ! -e "$d/log-n/undo.bcachefs-undo" ] &&
   [ -s "$d/log-n/check-before.json" ] && grep -q "answer: 'n'" "$d/log-n/run.log"; then
	pass "declined at the prompt (n, EOF): exit 4, unchanged"
else
	fail "declined at the prompt" "exit $s1/$s2: $(why "$work/no")"
fi

st=
repair "$work/yes" --log-dir "$d/log-y" "$img" <"$work/answer-y"
if [ $st -eq 1 ] && "$BCACHEFS" fsck -n "$img" >/dev/null 2>&1; then
	pass "y at the prompt: repaired"
else
	fail "y at the prompt" "exit $st: $(why "$work/yes")"
fi

# a corrupted image that would not fault copygc: the verdict follows the JSON
d="$work/missing-bp"
copy missing-bp "$d"
v=$("$BCACHEFS" fsck -n --json=- "$d/missing-bp.img" 2>/dev/null |
	sed -n 's/.*"copygc_would_fault": *\([a-z]*\).*/\1/p')
repair "$work/mb" --dry-run "$d/missing-bp.img"
case $v in
false) want='would not crash kernels before July 2025' ;;
true) want='WOULD crash kernels before July 2025' ;;
*) want='unknown whether' ;;
esac
if [ $st -eq 4 ] && [ -n "$v" ] && grep -q "$want" "$work/mb.out"; then
	pass "dry run missing-bp: copygc verdict follows the report ($v)"
else
	fail "dry run missing-bp" "exit $st, want '$want': $(why "$work/mb")"
fi

# ---------------------------------------------------------------------------
# multi-device

d="$work/two dev"
copy two-dev-oob "$d"
a=$d/two-dev-oob.img
b=$d/two-dev-oob.dev1.img
ha=$(digest "$a")
hb=$(digest "$b")
"$BCACHEFS" fsck -n "$a" >/dev/null 2>"$work/one.bch"
want=$(sed -n 's/^bcachefs: //p' "$work/one.bch" | head -n 1)
repair "$work/one" -y --log-dir "$d/log1" "$a"
if [ $st -eq 8 ] && [ "$(digest "$a")" = "$ha" ] && [ "$(digest "$b")" = "$hb" ] &&
   [ -n "$want" ] && grep -qF "$want" "$work/one.err" && grep -q 'refusing' "$work/one.err"; then
	pass "two-dev-oob with one device: refused, exit 8, the reason shown"
else
	fail "two-dev-oob with one device" "exit $st, want 8 and '$want': $(why "$work/one")"
fi

repair "$work/two" -y --log-dir "$d/log2" "$b" "$a"
if [ $st -eq 1 ] && "$BCACHEFS" fsck -n "$a" "$b" >/dev/null 2>&1 &&
   [ "$(digest "$a")" != "$ha" ] && [ "$(digest "$b")" != "$hb" ]; then
	pass "two-dev-oob with both devices: repaired, exit 1"
else
	fail "two-dev-oob with both devices" "exit $st: $(why "$work/two")"
fi

# ---------------------------------------------------------------------------
# rollback, through the test double

d="$work/rollback"
copy copygc-oob "$d"
img=$d/copygc-oob.img
h=$(digest "$img")

wrapped "$work/rb" second-check-fails -y --log-dir "$d/log1" "$img"
if [ $st -eq 4 ] && [ "$(digest "$img")" = "$h" ] && grep -q 'ROLLED BACK' "$work/rb.out" &&
   [ "$(cat "$work/checks")" = 2 ] && grep -q '^undo ' "$work/calls" && [ -s "$d/log1/rollback.txt" ]; then
	pass "rollback when the second check is not clean: exit 4, bytes restored"
else
	fail "rollback when the second check is not clean" "exit $st, restored: $([ "$(digest "$img")" = "$h" ] && echo yes || echo no): $(why "$work/rb")"
fi

wrapped "$work/rf" repair-fails -y --log-dir "$d/log2" "$img"
if [ $st -eq 4 ] && [ "$(digest "$img")" = "$h" ] && grep -q 'ROLLED BACK' "$work/rf.out" &&
   [ "$(cat "$work/checks")" = 1 ]; then
	pass "rollback when the repair fails after writing: exit 4, bytes restored"
else
	fail "rollback when the repair fails" "exit $st: $(why "$work/rf")"
fi

wrapped "$work/re" repair-fails-early -y --log-dir "$d/log3" "$img"
if [ $st -eq 4 ] && [ "$(digest "$img")" = "$h" ] && grep -q 'no undo file' "$work/re.out" &&
   ! grep -q '^undo ' "$work/calls"; then
	pass "repair failing before writing: exit 4, nothing to roll back"
else
	fail "repair failing before writing" "exit $st: $(why "$work/re")"
fi

wrapped "$work/uf" undo-fails -y --log-dir "$d/log4" "$img"
if [ $st -eq 8 ] && grep -q 'ROLLBACK FAILED' "$work/uf.err" && grep -q ' undo .*undo.bcachefs-undo' "$work/uf.err" &&
   "$BCACHEFS" fsck -n "$img" >/dev/null 2>&1; then
	pass "failed rollback: exit 8, said so, the filesystem as the repair left it"
else
	fail "failed rollback" "exit $st: $(why "$work/uf")"
fi
"$BCACHEFS" undo "$d/log4/undo.bcachefs-undo" "$img" >/dev/null 2>&1

wrapped "$work/nv" no-verdict --dry-run "$img"
if [ $st -eq 4 ] && grep -q 'copygc: unknown whether' "$work/nv.out" && [ "$(digest "$img")" = "$h" ]; then
	pass "no copygc verdict in the report: unknown"
else
	fail "no copygc verdict" "exit $st: $(why "$work/nv")"
fi

# SIGTERM during the first check: exit 32, nothing changed
rm -f "$work/started" "$work/checks" "$work/calls"
env WRAP_REAL="$BCACHEFS" WRAP_DIR="$work" WRAP_MODE=slow-check BCACHEFS="$wrapper" \
	sh "$SCRIPT" -y --log-dir "$d/log5" "$img" >"$work/sig.out" 2>"$work/sig.err" </dev/null &
pid=$!
i=0
while [ ! -e "$work/started" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
st=$?
if [ $st -eq 32 ] && grep -q 'interrupted by SIGTERM' "$work/sig.err" &&
   grep -q 'nothing was changed' "$work/sig.err" && [ "$(digest "$img")" = "$h" ] &&
   [ ! -e "$d/log5/undo.bcachefs-undo" ] && grep -q 'interrupted by SIGTERM' "$d/log5/run.log"; then
	pass "SIGTERM: exit 32, state told, nothing changed"
else
	fail "SIGTERM" "exit $st: $(why "$work/sig")"
fi

# ---------------------------------------------------------------------------
# which bcachefs: beside the script, else in PATH

mkdir -p "$work/beside" "$work/alone" "$work/pathbin"
cp "$SCRIPT" "$work/beside/bcachefs-repair"
cp "$SCRIPT" "$work/alone/bcachefs-repair"
printf '#!/bin/sh\n: >"$WRAP_DIR/used-%s"\nexec "$WRAP_REAL" "$@"\n' beside >"$work/beside/bcachefs"
printf '#!/bin/sh\n: >"$WRAP_DIR/used-%s"\nexec "$WRAP_REAL" "$@"\n' path >"$work/pathbin/bcachefs"
chmod +x "$work/beside/bcachefs" "$work/pathbin/bcachefs"
env -u BCACHEFS WRAP_REAL="$BCACHEFS" WRAP_DIR="$work" PATH="$work/pathbin:$PATH" \
	sh "$work/beside/bcachefs-repair" --dry-run "$img" >/dev/null 2>&1
s1=$?
env -u BCACHEFS WRAP_REAL="$BCACHEFS" WRAP_DIR="$work" PATH="$work/pathbin:$PATH" \
	sh "$work/alone/bcachefs-repair" --dry-run "$img" >/dev/null 2>&1
s2=$?
if [ $s1 -eq 4 ] && [ $s2 -eq 4 ] && [ -e "$work/used-beside" ] && [ -e "$work/used-path" ]; then
	pass "bcachefs found beside the script, else in PATH"
else
	fail "finding bcachefs" "exit $s1/$s2"
fi

# ---------------------------------------------------------------------------
# devices in use

d="$work/loop dir"
copy copygc-oob "$d"
img=$d/copygc-oob.img
h=$(digest "$img")
loop=
if command -v losetup >/dev/null 2>&1; then
	loop=$(losetup -f --show "$img" 2>"$work/losetup.err") || loop=
fi
if [ -z "$loop" ]; then
	if [ "$(id -u)" = 0 ] && [ -e /dev/loop-control ]; then
		fail "refuse devices in use" "losetup -f --show failed as root: $(head -c 200 "$work/losetup.err" 2>/dev/null)"
	else
		echo "SKIP refuse devices in use: no loop devices (not root, or no /dev/loop-control)"
	fi
else
	LOOPS="$LOOPS $loop"
	repair "$work/att" -y --log-dir "$d/log-att" "$img"
	if [ $st -eq 8 ] && grep -qF "$loop" "$work/att.err" && [ "$(digest "$img")" = "$h" ] &&
	   [ ! -e "$d/log-att" ]; then
		pass "refuse an image attached to a loop device"
	else
		fail "refuse an image attached to a loop device" "exit $st: $(why "$work/att")"
	fi

	# without a working losetup: found through /sys/block/loop*/loop/backing_file
	mkdir -p "$work/nolosetup"
	printf '#!/bin/sh\nexit 1\n' >"$work/nolosetup/losetup"
	chmod +x "$work/nolosetup/losetup"
	PATH="$work/nolosetup:$PATH" sh "$SCRIPT" -y --log-dir "$d/log-sys" "$img" \
		>"$work/sys.out" 2>"$work/sys.err" </dev/null
	st=$?
	if [ $st -eq 8 ] && grep -qF "$loop" "$work/sys.err" && [ "$(digest "$img")" = "$h" ]; then
		pass "refuse an attached image found through /sys"
	else
		fail "refuse an attached image found through /sys" "exit $st: $(why "$work/sys")"
	fi

	# the loop device itself is not mounted: checked through it
	repair "$work/ld" --dry-run "$loop"
	if [ $st -eq 4 ] && grep -q 'WOULD crash' "$work/ld.out" && [ "$(digest "$img")" = "$h" ]; then
		pass "an unmounted loop device is checked, not refused"
	else
		fail "an unmounted loop device" "exit $st: $(why "$work/ld")"
	fi
	losetup -d "$loop" && LOOPS=$(printf '%s' "$LOOPS" | sed "s| $loop||")

	# a mounted loop device (ext2): refused before anything is read
	if command -v mke2fs >/dev/null 2>&1 && command -v mount >/dev/null 2>&1; then
		e="$d/ext 2.img"
		dd if=/dev/zero of="$e" bs=1M count=4 2>/dev/null
		mnt="$d/mount point"
		mkdir -p "$mnt"
		eloop=
		if mke2fs -q -F "$e" >/dev/null 2>&1 && eloop=$(losetup -f --show "$e" 2>/dev/null); then
			LOOPS="$LOOPS $eloop"
			if mount "$eloop" "$mnt" 2>"$work/mount.err"; then
				MNT=$mnt
				repair "$work/mnt" -y --log-dir "$d/log-mnt" "$eloop"
				if [ $st -eq 8 ] && grep -qF "mounted on $mnt" "$work/mnt.err" && [ ! -e "$d/log-mnt" ]; then
					pass "refuse a mounted loop device"
				else
					fail "refuse a mounted loop device" "exit $st: $(why "$work/mnt")"
				fi
				repair "$work/mnt2" -y --log-dir "$d/log-mnt2" "$e"
				if [ $st -eq 8 ] && grep -qF "$eloop" "$work/mnt2.err"; then
					pass "refuse the image of a mounted loop device"
				else
					fail "refuse the image of a mounted loop device" "exit $st: $(why "$work/mnt2")"
				fi
				umount "$mnt" && MNT=
			else
				echo "SKIP refuse a mounted device: mount failed: $(head -c 200 "$work/mount.err")"
			fi
		else
			echo "SKIP refuse a mounted device: cannot make an ext2 loop device"
		fi
	else
		echo "SKIP refuse a mounted device: no mke2fs or mount"
	fi
fi

# ---------------------------------------------------------------------------
# usage and operational errors

d="$work/usage"
copy tiny-128 "$d"
img=$d/tiny-128.img
bad=""
repair "$work/u" ; [ $st -eq 16 ] || bad="$bad no-device:$st"
repair "$work/u" --bogus "$img"; [ $st -eq 16 ] || bad="$bad --bogus:$st"
repair "$work/u" -y --dry-run "$img"; [ $st -eq 16 ] || bad="$bad -y--dry-run:$st"
repair "$work/u" "$img" --log-dir; [ $st -eq 16 ] || bad="$bad --log-dir:$st"
repair "$work/u" --log-dir= "$img"; [ $st -eq 16 ] || bad="$bad --log-dir=:$st"
repair "$work/u" UUID=00000000-0000-0000-0000-000000000000; [ $st -eq 16 ] || bad="$bad UUID=:$st"
repair "$work/u" --help; { [ $st -eq 0 ] && grep -q 'Usage' "$work/u.out"; } || bad="$bad --help:$st"
repair "$work/u" -V; { [ $st -eq 0 ] && grep -q 'bcachefs-repair' "$work/u.out"; } || bad="$bad -V:$st"
for f in "$d"/* "$d"/.[!.]*; do
	case ${f##*/} in tiny-128.img | '*' | '.[!.]*') ;; *) bad="$bad (left ${f##*/})" ;; esac
done
[ -z "$bad" ] && pass "usage errors exit 16" || fail "usage errors" "$bad"

bad=""
repair "$work/o" -y "$d/no such device"; [ $st -eq 8 ] || bad="$bad missing:$st"
mkdir -p "$d/full"
: >"$d/full/x"
repair "$work/o" -y --log-dir "$d/full" "$img"; [ $st -eq 8 ] || bad="$bad non-empty-log-dir:$st"
BCACHEFS="$d/none" sh "$SCRIPT" -y "$img" >/dev/null 2>&1 </dev/null
st=$?; [ $st -eq 8 ] || bad="$bad no-bcachefs:$st"
[ -z "$bad" ] && pass "operational errors exit 8" || fail "operational errors" "$bad"

# an encrypted (clean) image through --passphrase-file: nothing asked
d="$work/enc"
copy encrypted "$d"
printf 'bcachefs-test\n' >"$d/pw"
h=$(digest "$d/encrypted.img")
repair "$work/enc" -y --log-dir "$d/log" --passphrase-file "$d/pw" "$d/encrypted.img"
if [ $st -eq 0 ] && [ "$(digest "$d/encrypted.img")" = "$h" ]; then
	pass "encrypted with --passphrase-file: clean, exit 0"
else
	fail "encrypted with --passphrase-file" "exit $st: $(why "$work/enc")"
fi

# ---------------------------------------------------------------------------
# static checks of the script and the man page

if command -v shellcheck >/dev/null 2>&1; then
	if shellcheck -s sh "$SCRIPT" >"$work/sc" 2>&1; then
		pass "shellcheck -s sh bcachefs-repair.sh"
	else
		fail "shellcheck" "$(head -5 "$work/sc" | tr '\n' '|')"
	fi
else
	echo "SKIP shellcheck: not installed"
fi
if command -v groff >/dev/null 2>&1; then
	groff -ww -man -z "$MAN" >"$work/groff" 2>&1
	st=$?
	if [ $st -eq 0 ] && [ ! -s "$work/groff" ]; then
		pass "groff -ww -man -z bcachefs-repair.8"
	else
		fail "groff bcachefs-repair.8" "exit $st: $(head -3 "$work/groff" | tr '\n' '|')"
	fi
else
	echo "SKIP groff: not installed"
fi

exit $failed
