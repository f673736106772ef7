#!/bin/sh
# The manual pages (bcachefs.8, fsck.bcachefs.8, bcachefs-repair.8):
#  - groff -ww finds nothing to warn about, and each page renders;
#  - each has the conventional sections, in order (bcachefs.8: all ten of
#    NAME ... SEE ALSO);
#  - bcachefs.8 documents what the program says it does: every option
#    printed by the --help of the commands, every pass of
#    `fsck --list-passes`, every upstream error name and every finding
#    kind of the problem table (c_src/fsck_problems.c);
#  - fsck.bcachefs.8 every option of `fsck.bcachefs --help`.
# Environment: BCACHEFS, TMPDIR (see tests/run.sh); IMAGES and BUILD are
# not used.
set -u
unset CDPATH

: "${BCACHEFS:?}" "${TMPDIR:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
work=$(mktemp -d "$TMPDIR/man.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1 $2"; failed=1; }

if ! command -v groff >/dev/null 2>&1; then
	fail "manpages" "groff is not installed (apt-get install groff-base)"
	exit 1
fi

# plain text, one line per paragraph (no hyphenation, no line breaks), so
# that an option or a name is never cut in two
render() {
	groff -man -Tascii -P-c -P-b -P-u -rLL=3000n -rHY=0 "$1" 2>/dev/null
}

# is the word (an option or a name) in the text, not as part of a longer one?
has_word() {
	grep -qE -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$1" | sed 's/[.[\*^$]/\\&/g')([^A-Za-z0-9_-]|$)" "$2"
}

# the words of a list file missing from a text, on one line
missing_words() {
	while read -r w; do
		[ -n "$w" ] || continue
		has_word "$w" "$2" || printf '%s ' "$w"
	done < "$1"
}

# long and short options printed by a usage text (file $1), one per line:
# the words of the text, split at blanks and at []()|,/=
options_of() {
	tr '\133\135()|,/=\t ' '[\n*]' < "$1" |
		grep -E -- '^(-[A-Za-z]|--[a-z][a-z0-9-]*)$' | sort -u
}

# the section headings of a rendered page, in order
headings() {
	grep -E '^[A-Z][A-Z ]*[A-Z]$' "$1"
}

# are the headings given (one per line in $2) all in $1, in that order?
in_order() {
	printf '%s\n' "$2" | awk -v f="$1" '
		BEGIN { while ((getline l < f) > 0) h[++n] = l }
		NF { want = $0; while (++i <= n && h[i] != want); if (i > n) { print want; exit } }'
}

common_sections='NAME
SYNOPSIS
DESCRIPTION
OPTIONS
EXIT STATUS
SEE ALSO'
all_sections='NAME
SYNOPSIS
DESCRIPTION
COMMANDS
OPTIONS
EXIT STATUS
FILES
ENVIRONMENT
EXAMPLES
SEE ALSO'

for page in bcachefs.8 fsck.bcachefs.8 bcachefs-repair.8; do
	src=$ROOT/$page
	if [ ! -f "$src" ]; then
		fail "manpage $page" "missing"
		continue
	fi

	# 1. groff has nothing to say
	groff -ww -man -z "$src" > "$work/lint" 2>&1
	st=$?
	if [ "$st" -ne 0 ] || [ -s "$work/lint" ]; then
		fail "manpage-lint $page" "groff -ww exit $st: $(head -3 "$work/lint" | tr '\n' '|')"
	else
		pass "manpage-lint $page"
	fi

	# 2. it renders
	groff -man -Tutf8 "$src" > "$work/utf8" 2> "$work/utf8.err"
	st=$?
	if [ "$st" -ne 0 ] || [ -s "$work/utf8.err" ] || [ "$(wc -l < "$work/utf8")" -lt 20 ]; then
		fail "manpage-render $page" "exit $st, $(wc -l < "$work/utf8") lines: $(head -3 "$work/utf8.err" | tr '\n' '|')"
	else
		pass "manpage-render $page"
	fi

	# 3. the conventional sections, in order
	render "$src" > "$work/$page.txt"
	headings "$work/$page.txt" > "$work/heads"
	want=$common_sections
	[ "$page" = bcachefs.8 ] && want=$all_sections
	miss=$(in_order "$work/heads" "$want")
	if [ -n "$miss" ]; then
		fail "manpage-sections $page" "no section $miss where expected; sections: $(tr '\n' ',' < "$work/heads")"
	else
		pass "manpage-sections $page"
	fi
done

txt=$work/bcachefs.8.txt
if [ -s "$txt" ]; then
	# 4. every option the commands print in their --help
	for cmd in "" fsck list show-super undo dump format; do
		# shellcheck disable=SC2086
		"$BCACHEFS" $cmd --help > "$work/help" 2>&1
		st=$?
		name="manpage-options bcachefs${cmd:+ $cmd}"
		options_of "$work/help" > "$work/opts"
		if [ "$st" -ne 0 ] || [ ! -s "$work/opts" ]; then
			fail "$name" "--help: exit $st, no options found"
			continue
		fi
		miss=$(missing_words "$work/opts" "$txt")
		if [ -n "$miss" ]; then
			fail "$name" "not in bcachefs.8: $miss"
		else
			pass "$name"
		fi
	done

	# 5. every pass
	"$BCACHEFS" fsck --list-passes > "$work/passes.raw" 2>&1
	awk 'NF { print $1 }' "$work/passes.raw" > "$work/passes"
	miss=$(missing_words "$work/passes" "$txt")
	if [ "$(wc -l < "$work/passes")" -lt 5 ]; then
		fail "manpage-passes" "fsck --list-passes lists $(wc -l < "$work/passes") passes"
	elif [ -n "$miss" ]; then
		fail "manpage-passes" "not in bcachefs.8: $miss"
	else
		pass "manpage-passes"
	fi

	# 6. every upstream error name and finding kind of the problem table:
	#    the name fields of its rows (.upstream = "..." / .name = "...",
	#    or the older positional { BCH_F_x, "upstream", ... }) and the
	#    names fsck_finding_error_name() returns
	table=$ROOT/c_src/fsck_problems.c
	if [ ! -f "$table" ]; then
		fail "manpage-errors" "no $table"
	else
		{
			grep -oE '\.upstream *= *"[a-z0-9_]+"' "$table"
			grep -oE '\{ *BCH_F_[A-Za-z0-9_]+, *"[a-z0-9_]+"' "$table"
			sed -n '/^const char \*fsck_finding_error_name/,/^}/p' "$table" |
				grep -oE 'return +"[a-z0-9_]+"'
		} | grep -oE '"[a-z0-9_]+"' | tr -d '"' | sort -u > "$work/errors"
		grep -oE '\.name *= *"[a-z0-9_]+"' "$table" | grep -oE '"[a-z0-9_]+"' | tr -d '"' |
			sort -u > "$work/kinds"
		# before the table carried our names, they were in check_buckets.c
		if [ ! -s "$work/kinds" ] && [ -f "$ROOT/libbcachefs/check_buckets.c" ]; then
			sed -n '/finding_names\[BCH_F_NR\]/,/^};/p' "$ROOT/libbcachefs/check_buckets.c" |
				grep -oE '= *"[a-z0-9_]+"' | grep -oE '"[a-z0-9_]+"' | tr -d '"' |
				sort -u > "$work/kinds"
		fi
		miss=$(missing_words "$work/errors" "$txt")
		if [ "$(wc -l < "$work/errors")" -lt 15 ]; then
			fail "manpage-errors" "only $(wc -l < "$work/errors") error names found in $table"
		elif [ -n "$miss" ]; then
			fail "manpage-errors" "not in bcachefs.8: $miss"
		else
			pass "manpage-errors"
		fi
		miss=$(missing_words "$work/kinds" "$txt")
		if [ "$(wc -l < "$work/kinds")" -lt 15 ]; then
			fail "manpage-kinds" "only $(wc -l < "$work/kinds") finding kinds found"
		elif [ -n "$miss" ]; then
			fail "manpage-kinds" "not in bcachefs.8: $miss"
		else
			pass "manpage-kinds"
		fi
	fi
fi

# 7. fsck.bcachefs: the options of its usage text, in fsck.bcachefs.8
txt=$work/fsck.bcachefs.8.txt
if [ -s "$txt" ]; then
	ln -s "$BCACHEFS" "$work/fsck.bcachefs"
	"$work/fsck.bcachefs" --help > "$work/help" 2>&1
	st=$?
	options_of "$work/help" > "$work/opts"
	if [ "$st" -ne 0 ] || ! grep -q 'fsck\.bcachefs' "$work/help" || [ ! -s "$work/opts" ]; then
		fail "manpage-options fsck.bcachefs" "fsck.bcachefs --help: exit $st, no usage of fsck.bcachefs: $(head -2 "$work/help" | tr '\n' '|')"
	else
		miss=$(missing_words "$work/opts" "$txt")
		if [ -n "$miss" ]; then
			fail "manpage-options fsck.bcachefs" "not in fsck.bcachefs.8: $miss"
		else
			pass "manpage-options fsck.bcachefs"
		fi
	fi
fi

exit $failed
