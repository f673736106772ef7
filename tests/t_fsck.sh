#!/bin/sh
# fsck -n on every image of the corpus: exactly the findings of
# NAME.expected.txt, exit 4 (corrupted) or 0 (clean), the copygc verdict
# of the image's README section / copygc probe, image bytes unchanged,
# devices opened read-only; plus --json and --dump-bitmaps.
# Environment: BCACHEFS, IMAGES, TMPDIR (see tests/run.sh).
set -u


. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${IMAGES:?}" "${TMPDIR:?}"
work=$(mktemp -d "$TMPDIR/fsck.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1 $2"; failed=1; }

# the verdict upstream's copygc probe gave (BUGGY, last run), or the
# README's fault condition for images without a probe
expected_verdict() {
	probe="$IMAGES/$1.copygc-probe.txt"
	if [ -f "$probe" ]; then
		st=$(awk '/^# \$ .*copygc-probe-buggy/ { b = 1; next }
			  /^# \$ / { b = 0 }
			  b && /^# exit status:/ { s = $4 }
			  END { print s }' "$probe")
		[ "$st" = 66 ] && echo yes || echo no
	elif grep -q '^# copygc fault condition.*(same device: yes' "$IMAGES/$1.expected.txt"; then
		echo yes
	else
		echo no
	fi
}


have_strace=0
command -v strace >/dev/null 2>&1 && have_strace=1

tail -n +2 "$IMAGES/index.tsv" | while IFS='	' read -r name devs version kind passphrase; do
	files=""
	for d in $(echo "$devs" | tr , ' '); do
		f="$work/${d%.zst}"
		zstd -q -d --sparse "$IMAGES/$d" -o "$f" || { fail "fsck $name" "cannot decompress $d"; continue 2; }
		files="$files $f"
	done
	popt=""
	if [ "$passphrase" != "-" ]; then
		printf '%s\n' "$passphrase" > "$work/pass"
		popt="--passphrase-file=$work/pass"
	fi
	want_status=0
	[ "$kind" = corrupted ] && want_status=4
	before=$(digest $files)

	# 1. findings
	grep -v '^#' "$IMAGES/$name.expected.txt" | sed '/^$/d' | sort > "$work/want"
	# shellcheck disable=SC2086
	"$BCACHEFS" fsck -n --findings $popt $files > "$work/got.raw" 2> "$work/err"
	st=$?
	sort "$work/got.raw" > "$work/got"
	if [ "$st" -ne "$want_status" ]; then
		fail "fsck $name" "exit status $st, want $want_status: $(head -c 300 "$work/err")"
	elif ! cmp -s "$work/want" "$work/got"; then
		fail "fsck $name" "findings differ: $(diff "$work/want" "$work/got" | head -5 | tr '\n' '|')"
	else
		pass "fsck $name"
	fi

	# 1b. the sanitizer build agrees and reports nothing
	if [ -n "${BCACHEFS_SAN:-}" ] && [ -x "$BCACHEFS_SAN" ]; then
		# shellcheck disable=SC2086
		"$BCACHEFS_SAN" fsck -n --findings $popt $files > "$work/san.raw" 2> "$work/san.err"
		sst=$?
		if [ "$sst" -ne "$want_status" ] || ! sort "$work/san.raw" | cmp -s - "$work/got" ||
		   grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/san.err"; then
			fail "fsck-san $name" "exit $sst: $(grep -m1 -E 'ERROR|runtime error' "$work/san.err")"
		else
			pass "fsck-san $name"
		fi
	fi

	# 2. verdict, human report and JSON
	want_v=$(expected_verdict "$name")
	# shellcheck disable=SC2086
	"$BCACHEFS" fsck -n --json="$work/report.json" $popt $files > "$work/report" 2>&1
	st=$?
	if grep -q '^copygc verdict: WOULD FAULT' "$work/report"; then got_v=yes; else got_v=no; fi
	if grep -q '"copygc_would_fault":true' "$work/report.json"; then json_v=yes; else json_v=no; fi
	if [ "$st" -ne "$want_status" ] || [ "$got_v" != "$want_v" ] || [ "$json_v" != "$want_v" ] ||
	   ! grep -q "\"exit_status\":$want_status" "$work/report.json" ||
	   ! grep -q '"devices":\[' "$work/report.json"; then
		fail "verdict $name" "status $st verdict $got_v json $json_v, want $want_v"
	else
		pass "verdict $name"
	fi

	# 3. nothing written, nothing opened for writing
	after=$(digest $files)
	if [ "$before" != "$after" ]; then
		fail "readonly $name" "image bytes changed"
	elif [ $have_strace = 1 ]; then
		# shellcheck disable=SC2086
		strace -f -e trace=open,openat -o "$work/trace" "$BCACHEFS" fsck -n $popt $files >/dev/null 2>&1
		if grep -E "$work/[^\"]*\.img\"" "$work/trace" | grep -qE 'O_RDWR|O_WRONLY'; then
			fail "readonly $name" "a device was opened for writing"
		else
			pass "readonly $name"
		fi
	else
		pass "readonly $name"
	fi
	rm -f $files
done > "$work/results"
cat "$work/results"

# --dump-bitmaps: nbuckets bits per device, the mismatched bucket set
img="$work/copygc-oob.img"
zstd -q -d --sparse "$IMAGES/copygc-oob.img.zst" -o "$img"
"$BCACHEFS" fsck -n --dump-bitmaps="$work/bm" "$img" > /dev/null 2>&1
size=$(wc -c < "$work/bm/dev0.mismatch" 2>/dev/null)
byte7=$(od -An -tx1 -j7 -N1 "$work/bm/dev0.mismatch" 2>/dev/null | tr -d ' ')
set=$(od -An -tx1 -v "$work/bm/dev0.mismatch" 2>/dev/null | tr -s ' \n' '\n\n' | grep -cv '^00$\|^$')
if [ "$size" = 32 ] && [ "$byte7" = 10 ] && [ "$set" = 1 ] && cmp -s "$work/bm/dev0.mismatch" "$work/bm/dev0.empty"; then
	echo "PASS dump-bitmaps"
else
	echo "FAIL dump-bitmaps size=$size byte7=$byte7 nonzero=$set"
	failed=1
fi

# Cold reads: what the page cache does not hold is read through io_uring,
# or through libaio where io_uring_setup fails (strace makes it fail);
# both give the findings of a warm run (medium: some of its nodes are
# read in batches).
drop_cache() {
	sync "$1" && dd if="$1" iflag=nocache count=0 status=none
}
cold="$work/medium.img"
zstd -q -d --sparse "$IMAGES/medium.img.zst" -o "$cold"
"$BCACHEFS" fsck -n --findings "$cold" > "$work/warm.f" 2>/dev/null
if [ $have_strace = 0 ]; then
	echo "SKIP cold reads: no strace"
else
	for q in io_uring libaio; do
		inj=
		[ $q = libaio ] && inj="-e inject=io_uring_setup:error=ENOSYS"
		drop_cache "$cold"
		# shellcheck disable=SC2086
		strace -f -o "$work/q.trace" -e trace=io_uring_setup,io_setup $inj \
			"$BCACHEFS" fsck -n --findings --stats "$cold" > "$work/cold.f" 2> "$work/cold.err"
		dev=$(sed -n 's/.*device_bytes=\([0-9]*\).*/\1/p' "$work/cold.err")
		if [ $q = io_uring ]; then used=$(grep -c '^[0-9]* *io_uring_setup(.*= [0-9]' "$work/q.trace")
		else used=$(grep -c '^[0-9]* *io_setup(.*= 0' "$work/q.trace"); fi
		if [ "${dev:-0}" -gt 0 ] && [ "$used" -ge 1 ] && cmp -s "$work/warm.f" "$work/cold.f"; then
			echo "PASS cold reads through $q ($dev bytes from the device, findings as warm)"
		else
			echo "FAIL cold reads through $q: device_bytes=${dev:-none} setup calls=$used $(diff "$work/warm.f" "$work/cold.f" | head -3 | tr '\n' '|')"
			failed=1
		fi
	done
fi
rm -f "$cold"

# --pass and --list-passes
if "$BCACHEFS" fsck --list-passes | grep -q '^alloc_backpointers' &&
   "$BCACHEFS" fsck -n --pass=lru --findings "$img" | grep -q '^lru_invalid_bucket' &&
   ! "$BCACHEFS" fsck -n --pass=lru --findings "$img" | grep -q '^bp_missing' &&
   { "$BCACHEFS" fsck -n --pass=bogus "$img" >/dev/null 2>&1; [ $? = 16 ]; }; then
	echo "PASS fsck passes"
else
	echo "FAIL fsck passes"
	failed=1
fi

grep -q '^FAIL' "$work/results" && failed=1
exit $failed
