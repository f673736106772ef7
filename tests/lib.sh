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

# --- for the tests/t_*.sh scripts ---

# skip_without_images: without the image corpus (tests/run.sh sets
# NO_IMAGES) a script that needs it ends here, saying why
skip_without_images() {
	if [ -n "${NO_IMAGES:-}" ]; then
		echo "SKIP all: ${NO_IMAGES}"
		exit 0
	fi
}

# pass NAME, fail NAME WHY: the lines tests/run.sh counts; fail counts nfail
nfail=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: $2"
	nfail=$((nfail + 1))
}

# corpus_devices NAME DIR: every device of corpus image NAME decompressed
# (sparse) into DIR, named as in the corpus without .zst; prints the paths
corpus_devices() {
	_cd=
	for _cf in $(awk -F '\t' -v n="$1" '$1 == n { print $2 }' "$IMAGES/index.tsv" | tr ',' ' '); do
		zstd -q -d -f --sparse "$IMAGES/$_cf" -o "$2/${_cf%.zst}" < /dev/null || return 1
		_cd="$_cd $2/${_cf%.zst}"
	done
	[ -n "$_cd" ] || { echo "no image $1 in $IMAGES/index.tsv" >&2; return 1; }
	echo "$_cd"
}
