#!/bin/sh
# bcachefs-repair: check a bcachefs filesystem offline, say in plain words
# what is wrong (and whether it would crash kernels before July 2025 in
# copygc on mount), repair it with an undo file, check it again, and roll
# the repair back if the filesystem is not clean afterwards.
#
# Every report, the undo file and a log of the run go into one directory.
# Exit status as fsck(8): 0 nothing wrong, 1 repaired, 4 errors left
# (declined, dry run, rolled back), 8 operational error or refusal,
# 16 usage error, 32 interrupted by a signal. See bcachefs-repair(8).
set -u
unset CDPATH

VERSION=1.0
PROG=bcachefs-repair

usage() {
	cat <<EOF
Usage: $PROG [-y] [--dry-run] [--log-dir DIR] [--passphrase-file FILE] DEV...
Check an unmounted bcachefs filesystem, say what a repair would change and
whether the filesystem would crash kernels before July 2025 in copygc on
mount, then (after asking) repair it with an undo file, check it again, and
roll the repair back if the filesystem is not clean afterwards.

  -y, --yes               repair without asking
  -n, --dry-run           check and explain only; never write
      --log-dir DIR       keep the reports, the undo file and the log in DIR
                          (default: ./bcachefs-repair-UUID-YYYYmmdd-HHMMSS)
      --passphrase-file FILE  passphrase of an encrypted filesystem
  -h, --help              this message
  -V, --version           print the version

Give every member device of a multi-device filesystem.
Environment: BCACHEFS, the bcachefs program to run.

Exit status: 0 nothing wrong, 1 repaired, 4 errors left (declined, dry run
or rolled back), 8 operational error or refusal, 16 usage error,
32 interrupted by a signal.
EOF
}

say() { printf '%s\n' "$*"; }
err() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage_error() {
	err "$*"
	echo "Try '$PROG --help'." >&2
	exit 16
}

# q ARG: ARG quoted for the shell (bare when that is safe)
q() {
	case $1 in
	'' | *[!A-Za-z0-9_./:=@%+,-]*)
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

# qall ARG...: the arguments quoted, separated by spaces
qall() {
	_sep=
	for _a in "$@"; do
		printf '%s%s' "$_sep" "$(q "$_a")"
		_sep=' '
	done
}

# --------------------------------------------------------------------------
# options

ASSUME_YES=
DRY_RUN=
LOGDIR=
LOGDIR_SET=
PASSFILE=
VERSION_ONLY=
DEVS_Q=		# the devices, absolute paths quoted for eval
NDEV=0

# add_dev DEV: the device as an absolute path (for the commands printed,
# and so that none starts with '-'), appended to DEVS_Q
add_dev() {
	_d=$1
	case $_d in
	'') usage_error "empty device name" ;;
	UUID=*) usage_error "give the device paths, not $_d (they are checked for being mounted)" ;;
	/*) ;;
	*) _d=$PWD/$_d ;;
	esac
	DEVS_Q="$DEVS_Q $(q "$_d")"
	NDEV=$((NDEV + 1))
}

# options and devices, in any order; everything after -- is a device
while [ $# -gt 0 ]; do
	case $1 in
	-y | --yes) ASSUME_YES=1 ;;
	-n | --dry-run) DRY_RUN=1 ;;
	--log-dir)
		[ $# -ge 2 ] || usage_error "option '$1' needs a directory"
		LOGDIR=$2
		LOGDIR_SET=1
		shift ;;
	--log-dir=*) LOGDIR=${1#--log-dir=}; LOGDIR_SET=1 ;;
	--passphrase-file)
		[ $# -ge 2 ] || usage_error "option '$1' needs a file"
		PASSFILE=$2
		shift ;;
	--passphrase-file=*) PASSFILE=${1#--passphrase-file=} ;;
	-h | --help) usage; exit 0 ;;
	-V | --version) VERSION_ONLY=1 ;;
	--)
		shift
		for _a in "$@"; do
			add_dev "$_a"
		done
		break ;;
	-?*) usage_error "unknown option '$1'" ;;
	*) add_dev "$1" ;;
	esac
	shift
done
[ -n "$LOGDIR_SET" ] && [ -z "$LOGDIR" ] && usage_error "--log-dir needs a directory"
[ -n "$ASSUME_YES" ] && [ -n "$DRY_RUN" ] &&
	usage_error "-y and --dry-run contradict each other"

# --------------------------------------------------------------------------
# the bcachefs program: $BCACHEFS, else the one beside this script, else PATH

find_bcachefs() {
	if [ -n "${BCACHEFS:-}" ]; then
		if [ -f "$BCACHEFS" ] && [ -x "$BCACHEFS" ]; then
			return 0
		fi
		_p=$(command -v -- "$BCACHEFS" 2>/dev/null) && [ -n "$_p" ] &&
			{ BCACHEFS=$_p; return 0; }
		err "BCACHEFS=$BCACHEFS is not an executable program"
		return 1
	fi
	case $0 in
	*/*) _dir=${0%/*} ;;
	*) _dir=. ;;
	esac
	if [ -f "$_dir/bcachefs" ] && [ -x "$_dir/bcachefs" ]; then
		BCACHEFS=$(cd -- "$_dir" && pwd)/bcachefs
		return 0
	fi
	BCACHEFS=$(command -v bcachefs 2>/dev/null) && [ -n "$BCACHEFS" ] && return 0
	err "cannot find the bcachefs program (not beside $0, not in PATH); set BCACHEFS"
	return 1
}

if [ -n "$VERSION_ONLY" ]; then
	say "$PROG $VERSION"
	if find_bcachefs 2>/dev/null; then
		say "using $BCACHEFS: $("$BCACHEFS" version 2>&1 | head -n 1)"
	fi
	exit 0
fi

[ "$NDEV" -gt 0 ] || usage_error "no device given"
if [ -n "$PASSFILE" ]; then
	case $PASSFILE in /*) ;; *) PASSFILE=$PWD/$PASSFILE ;; esac
	[ -r "$PASSFILE" ] || { err "cannot read the passphrase file $PASSFILE"; exit 8; }
fi

find_bcachefs || exit 8

# --------------------------------------------------------------------------
# run state, log, exit

PHASE=start		# start check-before prompt repair check-after rollback finished
TMPLOG=			# the temporary directory of a --dry-run without --log-dir
RUNLOG=
UNDO=
REPAIR_STATUS=

now() { date -u '+%Y-%m-%d %H:%M:%S UTC'; }

log() {
	[ -n "$RUNLOG" ] && printf '%s  %s\n' "$(now)" "$*" >>"$RUNLOG"
	return 0
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$TMPLOG" ] && rm -rf -- "$TMPLOG"
	return 0
}
trap cleanup EXIT

# finish STATUS: name the log directory again and exit
finish() {
	log "$PROG exits with status $1"
	if [ -n "$RUNLOG" ] && [ -z "$TMPLOG" ]; then
		say "Log directory: $LOGDIR"
	fi
	exit "$1"
}

# rollback_cmd: the command that rolls the repair back, for people
rollback_cmd() {
	printf '%s undo %s%s' "$(q "$BCACHEFS")" "$(q "$UNDO")" "$DEVS_Q"
}

# shellcheck disable=SC2317 # called by the traps
on_signal() {
	trap '' INT TERM HUP
	echo
	err "interrupted by SIG$1"
	case $PHASE in
	start | check-before | prompt)
		err "nothing was changed on the filesystem" ;;
	repair)
		err "the repair was interrupted. bcachefs fsck commits a repair in one step:"
		err "the filesystem is either unchanged or fully repaired; to see which, run"
		err "  $(q "$BCACHEFS") fsck -n$DEVS_Q"
		err "to roll back whatever was written:"
		err "  $(rollback_cmd)" ;;
	check-after)
		err "the repair was written (exit status $REPAIR_STATUS); the check after it"
		err "was interrupted. To check again: $(q "$BCACHEFS") fsck -n$DEVS_Q"
		err "To roll the repair back: $(rollback_cmd)" ;;
	rollback)
		err "the rollback was interrupted: the filesystem may be partly rolled back."
		err "Run the rollback again: $(rollback_cmd)" ;;
	*)
		err "the run had finished; see the messages above" ;;
	esac
	log "interrupted by SIG$1 during phase $PHASE"
	finish 32
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# the commands' standard input: the terminal (a passphrase prompt), else
# nothing (the answer to our question may be waiting on stdin)
if [ -t 0 ]; then
	exec 3<&0
else
	exec 3</dev/null
fi

# run_step OUT ARG...: run "$BCACHEFS" ARG... DEV..., its output shown and
# saved to OUT; sets STEP_STATUS
run_step() {
	_out=$1
	shift
	set -- "$BCACHEFS" "$@"
	[ -n "$PASSFILE" ] && [ "$2" = fsck ] && set -- "$@" "--passphrase-file=$PASSFILE"
	eval "set -- \"\$@\" $DEVS_Q"
	log "run: $(qall "$@")"
	_t0=$(date +%s)
	_st=$LOGDIR/.status
	rm -f -- "$_st"
	{ "$@" 2>&1 <&3; echo "$?" >"$_st"; } | tee -- "$_out"
	STEP_STATUS=$(cat -- "$_st" 2>/dev/null)
	rm -f -- "$_st"
	case $STEP_STATUS in
	'' | *[!0-9]*)
		STEP_STATUS=8
		log "no exit status (killed?), taken as 8" ;;
	esac
	log "exit status $STEP_STATUS after $(($(date +%s) - _t0)) s, output in ${_out##*/}"
}

# --------------------------------------------------------------------------
# devices in use

# unesc STR: a path of /proc/mounts or mountinfo with \040 etc. decoded
unesc() {
	printf '%s' "$1" | sed -e 's/\\040/ /g' -e 's/\\011/	/g' -e 's/\\134/\\/g'
}

realpath_of() {
	readlink -f -- "$1" 2>/dev/null || printf '%s' "$1"
}

# majmin BLOCKDEV: its major:minor in decimal
majmin() {
	_hex=$(stat -L -c '%t:%T' -- "$1" 2>/dev/null) || return 1
	case $_hex in
	*[!0-9a-fA-F:]* | :* | *:) return 1 ;;
	esac
	printf '%d:%d' "$((0x${_hex%%:*}))" "$((0x${_hex#*:}))"
}

# in_use DEV: true (and WHY set) if DEV is mounted, swapped on, held by
# another block device, or an image attached to a loop device
in_use() {
	_dev=$1
	_real=$(realpath_of "$_dev")
	WHY=
	if [ -b "$_dev" ]; then
		_mm=$(majmin "$_dev") || { WHY="cannot read its device number"; return 0; }
		# the device and its partitions
		_mms=" $_mm "
		_sys=/sys/dev/block/$_mm
		for _p in "$_sys"/*/partition; do
			[ -f "$_p" ] || continue
			_pmm=$(cat -- "${_p%/partition}/dev" 2>/dev/null) && _mms="$_mms$_pmm "
		done
		if [ -r /proc/self/mountinfo ]; then
			while read -r _id _parent _devno _root _mnt _rest; do
				# after " - ": fstype, source, super options
				_src=${_rest#* - }
				_src=${_src#* }
				_src=${_src%% *}
				case $_mms in
				*" $_devno "*)
					WHY="mounted on $(unesc "$_mnt") (device $_devno)"
					return 0 ;;
				esac
				# a multi-device bcachefs mount names its members dev1:dev2
				_oldifs=$IFS
				IFS=:
				set -f
				# shellcheck disable=SC2086
				set -- $_src
				set +f
				IFS=$_oldifs
				for _s in "$@"; do
					case $_s in /*) ;; *) continue ;; esac
					if [ "$(realpath_of "$(unesc "$_s")")" = "$_real" ]; then
						WHY="mounted on $(unesc "$_mnt")"
						return 0
					fi
				done
			done </proc/self/mountinfo
		fi
		if [ -r /proc/mounts ]; then
			while read -r _src _mnt _rest; do
				case $_src in /*) ;; *) continue ;; esac
				if [ "$(realpath_of "$(unesc "$_src")")" = "$_real" ]; then
					WHY="mounted on $(unesc "$_mnt")"
					return 0
				fi
			done </proc/mounts
		fi
		if [ -r /proc/swaps ]; then
			while read -r _src _rest; do
				case $_src in /*) ;; *) continue ;; esac
				if [ "$(realpath_of "$(unesc "$_src")")" = "$_real" ]; then
					WHY="in use as swap"
					return 0
				fi
			done </proc/swaps
		fi
		for _h in "$_sys"/holders/*; do
			[ -e "$_h" ] || continue
			WHY="held by the block device ${_h##*/} (device mapper, md, ...)"
			return 0
		done
	elif [ -f "$_dev" ]; then
		if command -v losetup >/dev/null 2>&1; then
			_l=$(losetup -j "$_real" 2>/dev/null | head -n 1)
			if [ -n "$_l" ]; then
				WHY="attached to the loop device ${_l%%:*} (it may be mounted)"
				return 0
			fi
		fi
		for _b in /sys/block/loop*/loop/backing_file; do
			[ -f "$_b" ] || continue
			if [ "$(cat -- "$_b" 2>/dev/null)" = "$_real" ]; then
				_l=${_b#/sys/block/}
				WHY="attached to the loop device /dev/${_l%%/*} (it may be mounted)"
				return 0
			fi
		done
	fi
	return 1
}

eval "set -- $DEVS_Q"
for _d in "$@"; do
	if [ ! -e "$_d" ]; then
		err "$_d: no such file or device"
		exit 8
	fi
	if [ ! -b "$_d" ] && [ ! -f "$_d" ]; then
		err "$_d: neither a block device nor an image file"
		exit 8
	fi
	if in_use "$_d"; then
		err "refusing: $_d is $WHY"
		err "unmount the filesystem (and detach the loop device) first; nothing was changed"
		exit 8
	fi
done

# --------------------------------------------------------------------------
# the log directory

if [ -z "$LOGDIR" ] && [ -n "$DRY_RUN" ]; then
	TMPLOG=$(mktemp -d "${TMPDIR:-/tmp}/bcachefs-repair.XXXXXX") ||
		{ err "cannot make a temporary directory"; exit 8; }
	LOGDIR=$TMPLOG
elif [ -z "$LOGDIR" ]; then
	eval "set -- $DEVS_Q"
	_name=$("$BCACHEFS" show-super "$1" 2>/dev/null <&3 |
		sed -n 's/^External UUID:[[:space:]]*\([0-9a-fA-F-]*\)[[:space:]]*$/\1/p' | head -n 1)
	if [ -z "$_name" ]; then
		_name=$(printf '%s' "${1##*/}" | tr -c 'A-Za-z0-9._-' '_')
	fi
	LOGDIR=./$PROG-$_name-$(date -u +%Y%m%d-%H%M%S)
	if [ -e "$LOGDIR" ] || ! mkdir -- "$LOGDIR"; then
		err "cannot create the log directory $LOGDIR (it exists, or this directory is not writable; see --log-dir)"
		exit 8
	fi
else
	if [ -e "$LOGDIR" ] && [ ! -d "$LOGDIR" ]; then
		err "--log-dir $LOGDIR is not a directory"
		exit 8
	fi
	if [ -d "$LOGDIR" ] && [ -n "$(ls -A -- "$LOGDIR" 2>/dev/null)" ]; then
		err "the log directory $LOGDIR is not empty (it may hold the undo file of an earlier repair); give a new one"
		exit 8
	fi
	mkdir -p -- "$LOGDIR" || { err "cannot create the log directory $LOGDIR"; exit 8; }
fi
LOGDIR=$(cd -- "$LOGDIR" && pwd) || { err "cannot enter the log directory"; exit 8; }
RUNLOG=$LOGDIR/run.log
UNDO=$LOGDIR/undo.bcachefs-undo
: >"$RUNLOG" || { err "cannot write to the log directory $LOGDIR"; exit 8; }

log "$PROG $VERSION started by user $(id -un 2>/dev/null || echo '?') in $PWD"
log "devices:$DEVS_Q"
log "bcachefs: $BCACHEFS ($("$BCACHEFS" version 2>&1 </dev/null | head -n 1))"
log "options: yes=${ASSUME_YES:-0} dry-run=${DRY_RUN:-0}${PASSFILE:+ passphrase-file=$PASSFILE}"
if [ -n "$TMPLOG" ]; then
	say "Dry run: the reports go to a temporary directory, removed at the end (keep them with --log-dir)."
else
	say "Log directory: $LOGDIR"
	say "(the reports, the undo file and a log of this run are kept there)"
fi
say

# --------------------------------------------------------------------------
# JSON report of bcachefs fsck (json-c, pretty-printed): read with sed only

# json_flat FILE: the file on one line
json_flat() {
	tr -d '\r\n' <"$1"
}

# json_word FILE KEY: the bare value (true, false, null, a number) of KEY
json_word() {
	json_flat "$1" |
		sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\\([A-Za-z0-9]*\\).*/\\1/p" | head -n 1
}

# json_counts FILE: "COUNT KIND" per line, from the "counts" object
json_counts() {
	json_flat "$1" |
		sed -n 's/.*"counts"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		sed -n 's/^[[:space:]]*"\([A-Za-z0-9_]*\)"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\2 \1/p'
}

# json_kinds FILE: "KIND ERROR" per finding kind (one object per line)
json_kinds() {
	json_flat "$1" | tr '{' '\n' |
		sed -n -e 's/.*"error"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_]*\)".*"kind"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_]*\)".*/\2 \1/p' \
			-e 't' \
			-e 's/.*"kind"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_]*\)".*"error"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_]*\)".*/\1 \2/p' |
		sort -u
}

# copygc_words VALUE: the copygc verdict in words
copygc_words() {
	case $1 in
	true) say "copygc: this filesystem WOULD crash kernels before July 2025 in copygc on mount." ;;
	false) say "copygc: this filesystem would not crash kernels before July 2025 in copygc on mount." ;;
	*) say "copygc: unknown whether this filesystem would crash kernels before July 2025 in copygc on mount." ;;
	esac
}

# explain JSON REPORT: what a repair would change, and the copygc verdict
explain() {
	_counts=$(json_counts "$1" 2>/dev/null)
	if [ -n "$_counts" ]; then
		_kinds=$(json_kinds "$1" 2>/dev/null)
		_total=0
		for _n in $(printf '%s\n' "$_counts" | cut -d' ' -f1); do
			_total=$((_total + _n))
		done
		say "The check found $_total problem(s); a repair would try to correct:"
		printf '%s\n' "$_counts" | while read -r _n _kind; do
			_err=$(printf '%s\n' "$_kinds" | sed -n "s/^$_kind \\([A-Za-z0-9_]*\\)\$/\\1/p" | head -n 1)
			_what=
			if [ -n "$_err" ]; then
				# the description the report gives the error, if it does
				_what=$(sed -n "s/^$_err: \\([^:]*\\): .*/\\1/p" "$2" | head -n 1)
				_name="$_err ($_kind)"
			else
				_name=$_kind
			fi
			printf '  %6s  %s%s\n' "$_n" "$_name" "${_what:+: $_what}"
		done
	else
		_sum=$(sed -n 's/^summary: //p' "$2" | tail -n 1)
		if [ -n "$_sum" ]; then
			say "The check found problems: $_sum"
		else
			say "The check found problems (see its report above)."
		fi
	fi
	copygc_words "$(json_word "$1" copygc_would_fault 2>/dev/null)"
}

# --------------------------------------------------------------------------
# 1. the check

PHASE=check-before
say "Checking (nothing is written):"
run_step "$LOGDIR/check-before.txt" fsck -n "--json=$LOGDIR/check-before.json"
CHECK1=$STEP_STATUS
say
case $CHECK1 in
0)
	say "The check found nothing wrong: nothing to repair."
	PHASE=finished
	finish 0 ;;
4) ;;
8)
	_why=$(grep '^bcachefs:' "$LOGDIR/check-before.txt" | sed 's/^bcachefs: *//')
	[ -n "$_why" ] || _why=$(tail -n 3 "$LOGDIR/check-before.txt")
	err "refusing: the check could not read the filesystem (exit status 8):"
	printf '%s\n' "$_why" | sed 's/^/  /' >&2
	err "give every member device, unmounted; nothing was changed"
	finish 8 ;;
16)
	err "bcachefs fsck did not accept its arguments (exit status 16); nothing was changed"
	finish 16 ;;
*)
	err "the check failed (exit status $CHECK1); nothing was changed"
	finish 8 ;;
esac

explain "$LOGDIR/check-before.json" "$LOGDIR/check-before.txt"
say

if [ -n "$DRY_RUN" ]; then
	say "Dry run: nothing was changed."
	PHASE=finished
	finish 4
fi

# --------------------------------------------------------------------------
# 2. ask

PHASE=prompt
if [ -z "$ASSUME_YES" ]; then
	printf 'Repair? [y/N] '
	_answer=
	if ! read -r _answer; then
		_answer=
		echo
	elif [ ! -t 0 ]; then
		# the answer came from a pipe or a file: show it
		printf '%s\n' "$_answer"
	fi
	log "asked to repair; answer: '$_answer'"
	case $_answer in
	[yY] | [yY][eE][sS]) ;;
	*)
		say "Not repaired: nothing changed."
		PHASE=finished
		finish 4 ;;
	esac
fi

# --------------------------------------------------------------------------
# 3. repair, 4. check again, 5. roll back if it is not clean

rollback() {
	PHASE=rollback
	if [ ! -f "$UNDO" ]; then
		say "There is no undo file: the repair stopped before it wrote anything."
		log "no undo file, nothing to roll back"
		return 0
	fi
	say "Rolling the repair back:"
	run_step "$LOGDIR/rollback.txt" undo "$UNDO"
	[ "$STEP_STATUS" -eq 0 ]
}

PHASE=repair
say "Repairing (undo file: $UNDO):"
run_step "$LOGDIR/repair.txt" fsck -y -z "$UNDO"
REPAIR_STATUS=$STEP_STATUS
say
case $REPAIR_STATUS in
0 | 1 | 4) ;;
*)
	err "the repair failed (exit status $REPAIR_STATUS)"
	if rollback; then
		say
		say "ROLLED BACK: the repair failed, and the filesystem is as it was before it."
		PHASE=finished
		finish 4
	fi
	say
	err "THE ROLLBACK FAILED (exit status $STEP_STATUS): the filesystem may be partly repaired."
	err "Keep the log directory; to try the rollback again: $(rollback_cmd)"
	PHASE=finished
	finish 8 ;;
esac

PHASE=check-after
say "Checking again (nothing is written):"
run_step "$LOGDIR/check-after.txt" fsck -n "--json=$LOGDIR/check-after.json"
CHECK2=$STEP_STATUS
say

if [ "$CHECK2" -ne 0 ]; then
	err "the check after the repair is not clean (exit status $CHECK2)"
	if rollback; then
		say
		say "ROLLED BACK: the repair did not leave a clean filesystem, so it was undone;"
		say "the filesystem is as it was before. Nothing was repaired."
		PHASE=finished
		finish 4
	fi
	say
	err "THE ROLLBACK FAILED (exit status $STEP_STATUS): the filesystem is as the repair left it."
	err "Keep the log directory; to try the rollback again: $(rollback_cmd)"
	PHASE=finished
	finish 8
fi

PHASE=finished
if [ "$REPAIR_STATUS" -eq 0 ]; then
	say "The repair found nothing to change, and the filesystem checks clean."
	finish 0
fi
say "REPAIRED: the check after the repair is clean."
copygc_words "$(json_word "$LOGDIR/check-after.json" copygc_would_fault 2>/dev/null)"
say "The undo file is $UNDO"
say "To roll the repair back by hand (before the filesystem is mounted read-write):"
say "  $(rollback_cmd)"
finish 1
