#!/bin/sh
# fsck.bcachefs (the fsck(8) front end) and the progress reports:
#   - its options mapped onto bcachefs fsck, and fsck(8)'s exit codes
#     (0, 1, 2 reboot, 4, 8, 16, 32 cancelled);
#   - -p on a clean filesystem exits 0 without checking, but not when an
#     LRU entry points past a device end (the copygc fault);
#   - mounted filesystems (a fake mount table, through the test build's
#     --test-mountinfo): refused for repair, repaired read-only with exit 2,
#     skipped with -M;
#   - -C FD: e2fsck's protocol lines "PASS CUR MAX DEVICE", and no progress
#     on a pipe unless asked;
#   - the report for people: "would ..." under -n, the next command, the
#     copygc verdict "unknown" when its passes did not run.
# Environment: BCACHEFS, BUILD, IMAGES, TMPDIR (see tests/run.sh).
set -u

. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${BUILD:?}" "${IMAGES:?}" "${TMPDIR:?}"
work=$(mktemp -d "$TMPDIR/compat.XXXXXX") || exit 1
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the installed name: a symlink called fsck.bcachefs, to the build and to
# the test build (with --test-mountinfo)
FSCK=$work/bin/fsck.bcachefs
TFSCK=$work/tbin/fsck.bcachefs
mkdir -p "$work/bin" "$work/tbin"
ln -s "$BCACHEFS" "$FSCK"
ln -s "$BUILD/test/bcachefs" "$TFSCK"

# img NAME: a fresh copy of (single-device) corpus image NAME at $work/NAME.img
img() {
	corpus_devices "$1" "$work" > /dev/null || exit 1
}

# run OUT CMD...: stdout+stderr to OUT, stdin /dev/null; sets st
run() {
	_o=$1
	shift
	timeout -k 5 300 "$@" > "$_o" 2>&1 < /dev/null
	st=$?
}

# --- options and exit codes ---

run "$work/o" "$FSCK" -V
if [ $st -eq 0 ] && grep -q '^fsck.bcachefs .* [0-9]' "$work/o"; then
	pass "fsck.bcachefs -V prints the version"
else
	fail "fsck.bcachefs -V" "exit $st: $(head -c 200 "$work/o")"
fi

for args in "-x" "" "-n -y" "-p -n" "-C x"; do
	# shellcheck disable=SC2086 # the options are words on purpose
	run "$work/o" "$FSCK" $args "$work/none.img"
	[ "$args" = "" ] && run "$work/o" "$FSCK"
	if [ $st -eq 16 ]; then
		pass "fsck.bcachefs usage error '${args:-no device}' exits 16"
	else
		fail "fsck.bcachefs usage error '${args:-no device}'" "exit $st, want 16"
	fi
done

run "$work/o" "$FSCK" -n "$work/none.img"
[ $st -eq 8 ] && pass "fsck.bcachefs on a missing file exits 8" ||
	fail "fsck.bcachefs on a missing file" "exit $st, want 8"

run "$work/o" "$FSCK" -n LABEL=no-such-label-here
if [ $st -eq 8 ] && grep -q 'LABEL=no-such-label-here' "$work/o"; then
	pass "fsck.bcachefs LABEL= of no filesystem exits 8 naming it"
else
	fail "fsck.bcachefs LABEL= of no filesystem" "exit $st: $(head -c 200 "$work/o")"
fi

# -p on a clean filesystem: not checked, exit 0, nothing written
img small
h0=$(sha256sum < "$work/small.img")
run "$work/o" "$FSCK" -p "$work/small.img"
if [ $st -eq 0 ] && grep -q 'clean, no errors recorded' "$work/o" && ! grep -q '^summary:' "$work/o" &&
   [ "$(sha256sum < "$work/small.img")" = "$h0" ]; then
	pass "fsck.bcachefs -p on a clean filesystem exits 0 without checking"
else
	fail "fsck.bcachefs -p clean" "exit $st: $(head -c 300 "$work/o")"
fi
# -f checks it anyway; -a is -p; -T is accepted
for args in "-pf" "-a -f -T" "-n -f"; do
	# shellcheck disable=SC2086
	run "$work/o" "$FSCK" $args "$work/small.img"
	if [ $st -eq 0 ] && grep -q '^summary: 0 findings' "$work/o" &&
	   [ "$(sha256sum < "$work/small.img")" = "$h0" ]; then
		pass "fsck.bcachefs $args checks a clean filesystem, exit 0"
	else
		fail "fsck.bcachefs $args" "exit $st: $(tail -c 300 "$work/o")"
	fi
done

# copygc-oob is shut down cleanly, yet faults copygc: -p must look
img copygc-oob
h0=$(sha256sum < "$work/copygc-oob.img")
run "$work/o" "$FSCK" -n "$work/copygc-oob.img"
if [ $st -eq 4 ] && [ "$(sha256sum < "$work/copygc-oob.img")" = "$h0" ]; then
	pass "fsck.bcachefs -n on copygc-oob exits 4, writes nothing"
else
	fail "fsck.bcachefs -n copygc-oob" "exit $st"
fi
run "$work/o" "$FSCK" -p "$work/copygc-oob.img"
if [ $st -eq 1 ] && grep -q 'LRU entries point past the end of a device: checking' "$work/o" &&
   ! ls "$work"/*.undo > /dev/null 2>&1 && ! ls ./*.undo > /dev/null 2>&1; then
	pass "fsck.bcachefs -p checks and repairs a clean copygc-faulting image, exit 1, no undo file"
else
	fail "fsck.bcachefs -p copygc-oob" "exit $st: $(tail -c 300 "$work/o")"
fi
run "$work/o" "$FSCK" -n -f "$work/copygc-oob.img"
[ $st -eq 0 ] && pass "fsck.bcachefs -n -f after the repair exits 0" ||
	fail "fsck.bcachefs -n -f after -p" "exit $st"

# -y with -z: an undo file, and it restores
img lru-wrong-time
h0=$(sha256sum < "$work/lru-wrong-time.img")
run "$work/o" "$FSCK" -y -z "$work/lwt.undo" "$work/lru-wrong-time.img"
s1=$st
run "$work/o2" "$BCACHEFS" undo "$work/lwt.undo" "$work/lru-wrong-time.img"
if [ $s1 -eq 1 ] && [ $st -eq 0 ] && [ "$(sha256sum < "$work/lru-wrong-time.img")" = "$h0" ]; then
	pass "fsck.bcachefs -y -z FILE repairs (exit 1) and the undo file restores"
else
	fail "fsck.bcachefs -y -z" "repair exit $s1, undo exit $st"
fi

# fstab's "dev0:dev1" of a multi-device filesystem
zstd -q -d -f "$IMAGES/two-dev.img.zst" -o "$work/a.img" &&
zstd -q -d -f "$IMAGES/two-dev.dev1.img.zst" -o "$work/b.img" || exit 1
run "$work/o" "$FSCK" -n "$work/a.img:$work/b.img"
if [ $st -eq 0 ] && grep -q '^device 1:' "$work/o"; then
	pass "fsck.bcachefs dev0:dev1 opens both members"
else
	fail "fsck.bcachefs dev0:dev1" "exit $st: $(head -c 300 "$work/o")"
fi

# one block device of a multi-device filesystem (what fsck(8) gives): the
# other members are found by the filesystem's UUID (needs loop devices)
if [ "$(id -u)" -eq 0 ] && la=$(losetup -f --show "$work/a.img" 2>/dev/null); then
	if lb=$(losetup -f --show "$work/b.img" 2>/dev/null); then
		run "$work/o" "$FSCK" -n -f "$la"
		losetup -d "$lb"
		if [ $st -eq 0 ] && grep -q "^$la is one of 2 member devices" "$work/o" &&
		   grep -q '^device 1:' "$work/o"; then
			pass "fsck.bcachefs on one member block device finds the other by UUID"
		else
			fail "fsck.bcachefs one member of two" "exit $st: $(head -c 300 "$work/o")"
		fi
	fi
	losetup -d "$la"
else
	echo "SKIP finding the other members: no loop devices"
fi

# -l: waits for another holder of the device's lock; a signal while
# waiting cancels, exit 32
if command -v flock > /dev/null 2>&1; then
	flock -x "$work/small.img" sleep 30 &
	lockpid=$!
	pids="$pids $lockpid"
	sleep 0.3
	"$FSCK" -n -l "$work/small.img" > "$work/o" 2>&1 < /dev/null &
	fpid=$!
	i=0
	while [ $i -lt 50 ] && ! grep -q 'locked by another fsck' "$work/o"; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -TERM "$fpid" 2>/dev/null
	wait "$fpid"
	st=$?
	kill "$lockpid" 2>/dev/null
	wait "$lockpid" 2>/dev/null
	if [ $st -eq 32 ] && grep -q 'locked by another fsck' "$work/o" && grep -q 'cancelled' "$work/o"; then
		pass "fsck.bcachefs -l waits for the lock; SIGTERM cancels with exit 32"
	else
		fail "fsck.bcachefs -l / SIGTERM" "exit $st: $(head -c 300 "$work/o")"
	fi
	run "$work/o" "$FSCK" -n -l -f "$work/small.img"
	[ $st -eq 0 ] && pass "fsck.bcachefs -l on a free device checks, exit 0" ||
		fail "fsck.bcachefs -l" "exit $st"
else
	echo "SKIP -l and the signal exit: no flock(1)"
fi

# --- mounted filesystems, through a fake mount table ---

img copygc-oob
h0=$(sha256sum < "$work/copygc-oob.img")
mi=$work/mountinfo
echo "22 1 0:5 / /proc rw,nosuid - proc proc rw" > "$mi"
echo "36 25 0:77 / /mnt/x rw,relatime shared:1 - bcachefs $work/copygc-oob.img rw" >> "$mi"
run "$work/o" "$TFSCK" --test-mountinfo="$mi" -y "$work/copygc-oob.img"
if [ $st -eq 8 ] && grep -q 'mounted read-write at /mnt/x' "$work/o" &&
   [ "$(sha256sum < "$work/copygc-oob.img")" = "$h0" ]; then
	pass "a filesystem mounted read-write is not repaired (exit 8, nothing written)"
else
	fail "mounted read-write -y" "exit $st: $(head -c 300 "$work/o")"
fi
run "$work/o" "$TFSCK" --test-mountinfo="$mi" -n "$work/copygc-oob.img"
if [ $st -eq 4 ] && grep -q 'warning: .*mounted read-write' "$work/o"; then
	pass "a filesystem mounted read-write is checked under -n, with a warning"
else
	fail "mounted read-write -n" "exit $st: $(head -c 300 "$work/o")"
fi
# the mount table escapes spaces (\040) in paths
mkdir -p "$work/sp ace"
cp "$work/copygc-oob.img" "$work/sp ace/x.img"
printf '%s\n' "37 25 0:78 / /mnt/with\\040space rw - bcachefs $(printf '%s' "$work/sp ace/x.img" | sed 's/ /\\040/g') rw" > "$mi.sp"
run "$work/o" "$TFSCK" --test-mountinfo="$mi.sp" -y "$work/sp ace/x.img"
if [ $st -eq 8 ] && grep -q 'mounted read-write at /mnt/with space' "$work/o"; then
	pass "mount table paths with escaped spaces are matched"
else
	fail "escaped mount table paths" "exit $st: $(head -c 300 "$work/o")"
fi
run "$work/o" "$TFSCK" --test-mountinfo="$mi" -M -y "$work/copygc-oob.img"
if [ $st -eq 0 ] && grep -q 'not checked (-M)' "$work/o" &&
   [ "$(sha256sum < "$work/copygc-oob.img")" = "$h0" ]; then
	pass "-M skips a mounted filesystem, exit 0"
else
	fail "-M" "exit $st: $(head -c 300 "$work/o")"
fi
# the root filesystem at boot: mounted read-only, repaired, reboot
sed -i 's| rw,relatime shared:1 | ro,relatime shared:1 |' "$mi"
run "$work/o" "$TFSCK" --test-mountinfo="$mi" -p "$work/copygc-oob.img"
if [ $st -eq 3 ] && grep -q 'reboot' "$work/o"; then
	pass "a filesystem mounted read-only is repaired with exit 3 (1 corrected | 2 reboot)"
else
	fail "mounted read-only -p" "exit $st: $(tail -c 300 "$work/o")"
fi
run "$work/o" "$BCACHEFS" fsck -n "$work/copygc-oob.img"
[ $st -eq 0 ] && pass "the read-only-mounted repair left it clean" ||
	fail "after the read-only-mounted repair" "exit $st"
# bcachefs fsck (not the fsck(8) front end) never writes under a mount
img copygc-oob
run "$work/o" "$BUILD/test/bcachefs" fsck --test-mountinfo="$mi" -y "$work/copygc-oob.img"
if [ $st -eq 8 ] && [ "$(sha256sum < "$work/copygc-oob.img")" = "$h0" ]; then
	pass "bcachefs fsck -y refuses a read-only mount (exit 8)"
else
	fail "bcachefs fsck -y read-only mount" "exit $st"
fi

# a real loop device: an attached image is refused for repair
if [ "$(id -u)" -eq 0 ] && loop=$(losetup -f --show "$work/copygc-oob.img" 2>/dev/null); then
	run "$work/o" "$FSCK" -y "$work/copygc-oob.img"
	s1=$st
	run "$work/o2" "$FSCK" -M -n "$work/copygc-oob.img"
	losetup -d "$loop"
	if [ $s1 -eq 8 ] && grep -q "attached to $loop" "$work/o" && [ $st -eq 0 ] &&
	   [ "$(sha256sum < "$work/copygc-oob.img")" = "$h0" ]; then
		pass "an image attached to a loop device is refused (-y: 8) or skipped (-M: 0)"
	else
		fail "loop-attached image" "-y exit $s1, -M exit $st: $(head -c 300 "$work/o")"
	fi
else
	echo "SKIP the loop-attached refusal: no loop device"
fi

# a real mount (ext2 on a loop device: the kernel here has no bcachefs):
# the mount table is read for a block device by its device number, a
# read-write mount is refused for repair, and a mounted device is opened
# beside the kernel (no O_EXCL), so that what is found is "not bcachefs"
# rather than "busy"
if [ "$(id -u)" -eq 0 ] && command -v mke2fs > /dev/null 2>&1 &&
   truncate -s 8M "$work/e2.img" && mke2fs -q -F "$work/e2.img" > /dev/null 2>&1 &&
   eloop=$(losetup -f --show "$work/e2.img" 2>/dev/null); then
	mkdir -p "$work/mnt"
	if mount "$eloop" "$work/mnt" 2> /dev/null; then
		run "$work/o" "$FSCK" -y "$eloop"
		s1=$st
		run "$work/o2" "$FSCK" -n "$eloop"
		s2=$st
		run "$work/o3" "$FSCK" -M -y "$eloop"
		s3=$st
		mount -o remount,ro "$work/mnt" 2> /dev/null
		run "$work/o4" "$FSCK" -y "$eloop"
		s4=$st
		umount "$work/mnt"
		if [ $s1 -eq 8 ] && grep -q "mounted read-write at $work/mnt" "$work/o" &&
		   [ $s2 -eq 8 ] && grep -q 'warning: .*mounted read-write' "$work/o2" &&
		   ! grep -q 'open exclusive' "$work/o2" &&
		   [ $s3 -eq 0 ] && grep -q 'not checked (-M)' "$work/o3" &&
		   [ $s4 -eq 8 ] && grep -q "mounted read-only at $work/mnt: repairing" "$work/o4" &&
		   ! grep -q 'open exclusive' "$work/o4"; then
			pass "a mounted block device: repair refused read-write, -n and a read-only repair read beside the kernel, -M skips"
		else
			fail "a mounted block device" "exits $s1/$s2/$s3/$s4: $(head -c 200 "$work/o") | $(head -c 200 "$work/o2") | $(head -c 200 "$work/o4")"
		fi
	else
		echo "SKIP the real mount: cannot mount ext2 here"
	fi
	losetup -d "$eloop"
else
	echo "SKIP the real mount: no mke2fs or loop devices"
fi

# --- progress ---

# check_protocol FILE DEV: every line "PASS CUR MAX DEV", CUR <= MAX, passes
# in order, each pass ending with CUR = MAX
check_protocol() {
	awk -v dev="$2" '
		NF != 4 || $1 !~ /^[1-5]$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ || $4 != dev {
			print "bad line " NR ": " $0; bad = 1; exit }
		$2 + 0 > $3 + 0 { print "CUR > MAX at line " NR; bad = 1; exit }
		$1 < last { print "pass went back at line " NR; bad = 1; exit }
		$1 != last && NR > 1 && lcur != lmax { print "pass " last " ended at " lcur "/" lmax; bad = 1; exit }
		{ last = $1; lcur = $2; lmax = $3; n++; seen[$1] = 1 }
		END {
			if (bad) exit 1
			if (lcur != lmax) { print "last pass ended at " lcur "/" lmax; exit 1 }
			for (p = 1; p <= 5; p++) if (!seen[p]) { print "no line for pass " p; exit 1 }
			print n " lines"
		}' "$1"
}

for name in medium copygc-oob; do
	img $name
	"$BCACHEFS" fsck -n -C 3 "$work/$name.img" 3> "$work/proto" > "$work/o" 2> "$work/e" < /dev/null
	st=$?
	why=$(check_protocol "$work/proto" "$work/$name.img")
	if [ $? -eq 0 ] && { [ $st -eq 0 ] || [ $st -eq 4 ]; } && [ ! -s "$work/e" ]; then
		pass "bcachefs fsck -C 3 on $name: protocol lines PASS CUR MAX DEVICE ($why)"
	else
		fail "bcachefs fsck -C 3 on $name" "exit $st: $why $(head -c 200 "$work/e")"
	fi
done
"$FSCK" -n -C 5 "$work/medium.img" 5> "$work/proto" > /dev/null 2>&1 < /dev/null
why=$(check_protocol "$work/proto" "$work/medium.img") &&
	pass "fsck.bcachefs -C 5: protocol lines ($why)" ||
	fail "fsck.bcachefs -C 5" "$why"
# nothing on a pipe unless asked; a line (carriage returns) when asked
"$BCACHEFS" fsck -n "$work/medium.img" 2>&1 < /dev/null | cat > "$work/o"
if ! grep -q "$(printf '\r')" "$work/o"; then
	pass "no progress on a pipe by default"
else
	fail "progress on a pipe" "carriage returns in the output"
fi
"$BCACHEFS" fsck -n -C 0 "$work/medium.img" > /dev/null 2> "$work/e" < /dev/null
if grep -q "$(printf '\r')btree_nodes" "$work/e" && grep -q 'alloc_backpointers' "$work/e"; then
	pass "-C 0 draws the progress line when asked"
else
	fail "-C 0" "no progress line: $(head -c 200 "$work/e" | tr '\r' '|')"
fi
# a reader that goes away does not kill the check
"$BCACHEFS" fsck -n -C 3 "$work/medium.img" 3>&- > /dev/null 2>&1 < /dev/null
st=$?
mkfifo "$work/fifo"
( exec 4< "$work/fifo"; exec 4<&- ) &
"$BCACHEFS" fsck -n -C 3 "$work/medium.img" 3> "$work/fifo" > /dev/null 2>&1 < /dev/null
st2=$?
if [ $st -eq 0 ] && [ $st2 -eq 0 ]; then
	pass "the check goes on when the progress descriptor is closed or its reader gone"
else
	fail "progress descriptor gone" "closed: exit $st, reader gone: exit $st2"
fi

# --- the report for people ---

img copygc-oob
run "$work/o" "$BCACHEFS" fsck -n "$work/copygc-oob.img"
nf=$(grep -c '^[a-z_]*: .*: .*' "$work/o")
nw=$(grep -c '; would ' "$work/o")
if [ $st -eq 4 ] && [ "$nf" -gt 0 ] && [ "$nw" -eq 8 ] &&
   grep -q '; would delete the LRU entry$' "$work/o" &&
   grep -q "^next: bcachefs fsck -y $work/copygc-oob.img\$" "$work/o"; then
	pass "-n: every finding says what -y would do; the summary names the next command"
else
	fail "-n messages" "exit $st, $nw 'would' lines: $(tail -c 300 "$work/o")"
fi
run "$work/o" "$BCACHEFS" fsck -n --pass=alloc_backpointers --json="$work/j" "$work/copygc-oob.img"
if grep -q '^copygc verdict: unknown' "$work/o" && grep -q '"copygc_would_fault":null' "$work/j" &&
   grep -q '"copygc_verdict":"unknown"' "$work/j"; then
	pass "--pass=alloc_backpointers: copygc verdict unknown (lru did not run)"
else
	fail "verdict unknown" "$(grep verdict "$work/o") $(grep copygc "$work/j" | head -3)"
fi
run "$work/o" "$BCACHEFS" fsck -n --json="$work/j" "$work/copygc-oob.img"
if grep -q '"copygc_verdict":"would_fault"' "$work/j" && grep -q '"would":"delete the LRU entry"' "$work/j" &&
   grep -q '"message":"LRU entry points outside its device"' "$work/j" &&
   grep -q '"next_command":"bcachefs fsck -y ' "$work/j"; then
	pass "JSON: verdict, each finding's message and fix, the next command"
else
	fail "JSON fields" "$(head -c 300 "$work/j")"
fi
run "$work/o" "$BCACHEFS" fsck -n --json="$work/j" "$work/none.img"
if [ $st -eq 8 ] && grep -q '"exit_status":8' "$work/j" &&
   grep -q "\"error\":\"$work/none.img: open: No such file or directory\"" "$work/j"; then
	pass "JSON when the filesystem cannot be opened: exit_status and the error"
else
	fail "JSON of a failure" "exit $st: $(head -c 300 "$work/j")"
fi
run "$work/o" "$BCACHEFS" fsck -y -z "$work/u.undo" "$work/copygc-oob.img"
if [ $st -eq 1 ] && grep -q "^fixed: lru_entry_to_invalid_bucket 1 (delete the LRU entry)" "$work/o" &&
   grep -q "^next: mount the filesystem; to put back what the repair changed: bcachefs undo $work/u.undo $work/copygc-oob.img\$" "$work/o"; then
	pass "-y: what was fixed and how; next: mount, or undo"
else
	fail "-y messages" "exit $st: $(tail -c 400 "$work/o")"
fi

[ $nfail -eq 0 ]
