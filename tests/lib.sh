# Shell helpers shared by the test, demo and bench scripts (sourced).

# repo_setup SCRIPT [IMAGES]: ROOT (the repository), IMAGES (absolute; the
# argument relative to the caller's directory, default ../shared/images of
# the repository) and BIN (the built tool); changes to ROOT.
repo_setup() {
	unset CDPATH
	ROOT=$(cd "$(dirname "$1")/.." && pwd) || exit 1
	IMAGES=${2:-$ROOT/../shared/images}
	IMAGES=$(cd "$IMAGES" 2>/dev/null && pwd) ||
		{ echo "${1##*/}: no images directory ${2:-}" >&2; exit 1; }
	cd "$ROOT" || exit 1
	BIN=$ROOT/bcachefs
	[ -x "$BIN" ] || { echo "${1##*/}: $BIN not built (make bcachefs)" >&2; exit 1; }
}

# digest FILE...: sha256 of each file; for files over 1 GiB (the 8 GiB
# sparse image) size and mtime to the nanosecond, which any write changes
digest() {
	for f in "$@"; do
		if [ "$(stat -c %s "$f")" -gt 1073741824 ]; then
			stat -c '%s %y' "$f"
		else
			sha256sum < "$f"
		fi
	done
}
