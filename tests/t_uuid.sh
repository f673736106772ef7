#!/bin/sh
# UUID=<uuid> finds the member devices (needs loop devices to attach the
# images as block devices; without them it says so and tests nothing).
# Environment: BCACHEFS, IMAGES, TMPDIR (see tests/run.sh).
set -u

. "$(dirname "$0")/lib.sh"
skip_without_images
: "${BCACHEFS:?}" "${IMAGES:?}" "${TMPDIR:?}"
work=$(mktemp -d "$TMPDIR/uuid.XXXXXX") || exit 1
loops=""
cleanup() {
	for l in $loops; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

zstd -q -d --sparse "$IMAGES/two-dev.img.zst" -o "$work/a.img" &&
zstd -q -d --sparse "$IMAGES/two-dev.dev1.img.zst" -o "$work/b.img" || exit 1
for f in a b; do
	l=$(losetup -f --show "$work/$f.img" 2>/dev/null) || {
		echo "SKIP UUID= lookup: no loop devices"
		exit 0
	}
	loops="$loops $l"
done

uuid=$(awk '/^External UUID:/ { print $3; exit }' "$IMAGES/two-dev.show-super.txt")
"$BCACHEFS" list --format=keys -b all "UUID=$uuid" > "$work/keys" 2> "$work/err"
st=$?
if [ $st -eq 0 ] && zstd -dc "$IMAGES/two-dev.keys.zst" | cmp -s - "$work/keys"; then
	echo "PASS UUID= finds both members of two-dev"
else
	echo "FAIL UUID= finds both members of two-dev exit $st: $(head -c 200 "$work/err")"
	exit 1
fi
"$BCACHEFS" list --format=keys -b alloc "UUID=00000000-1111-2222-3333-444444444444" \
	> /dev/null 2> "$work/err"
st=$?
if [ $st -eq 8 ] && grep -q 'no device of a filesystem with UUID=' "$work/err"; then
	echo "PASS UUID= of no filesystem"
else
	echo "FAIL UUID= of no filesystem exit $st"
	exit 1
fi
