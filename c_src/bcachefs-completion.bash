# bash completion for bcachefs, fsck.bcachefs and bcachefs-repair
# (the offline checker). Installed as
# /usr/share/bash-completion/completions/bcachefs, with fsck.bcachefs and
# bcachefs-repair as symlinks to it: bash-completion loads a command's
# completion from the file named after the command, and this file registers
# all three. It uses nothing from bash-completion, so it also works when
# sourced on its own.

# the passes of `bcachefs fsck --pass=`, if the command cannot list them
_bcachefs_static_passes="btree_nodes alloc_backpointers lru pointers bucket_index accounting reconcile_phys"

_bcachefs_btrees="extents inodes dirents xattrs alloc quotas stripes reflink
subvolumes snapshots lru freespace need_discard backpointers bucket_gens
snapshot_trees deleted_inodes logged_ops rebalance_work subvolume_children
accounting reconcile_hipri reconcile_pending reconcile_scan
reconcile_work_phys reconcile_hipri_phys bucket_to_stripe"

_bcachefs_rebuild="backpointers lru freespace need_discard bucket_gens
reconcile_hipri_phys reconcile_work_phys"

_bcachefs_sb_fields="all journal members_v1 crypt replicas_v0 quota
disk_groups clean replicas journal_seq_blacklist journal_v2 counters
members_v2 errors ext downgrade recovery_passes extent_type_u64s errors_v2
members"

# _bcachefs_passes CMD: the pass names, first column of `CMD fsck --list-passes`
_bcachefs_passes()
{
	local cmd=$1 out=
	if [[ -n $cmd ]] && type -P -- "$cmd" >/dev/null 2>&1; then
		out=$("$cmd" fsck --list-passes 2>/dev/null </dev/null | awk '{ print $1 }')
	fi
	printf '%s\n' "${out:-$_bcachefs_static_passes}"
}

# _bcachefs_add PREFIX WORD... : completions of the current word among WORDs,
# each with PREFIX in front (the part of the word already typed that bash
# does not consider: "--pass=" when '=' is not a word break, "a,b," of a list)
_bcachefs_add()
{
	local prefix=$1 w
	shift
	for w in "$@"; do
		[[ $prefix$w == "$_bcachefs_cur"* ]] && COMPREPLY+=("$prefix$w")
	done
}

# _bcachefs_list PREFIX WORD...: a comma-separated list of WORDs
_bcachefs_list()
{
	local prefix=$1 cur=$_bcachefs_cur
	shift
	# what precedes the last comma is kept as it is
	if [[ ${cur#"$prefix"} == *,* ]]; then
		prefix=$prefix${cur#"$prefix"}
		prefix=${prefix%,*},
	fi
	_bcachefs_add "$prefix" "$@"
	compopt -o nospace 2>/dev/null
}

# _bcachefs_files [PREFIX]: files and directories (image files, devices)
_bcachefs_files()
{
	local prefix=${1:-} f
	compopt -o filenames 2>/dev/null
	while IFS= read -r f; do
		COMPREPLY+=("$prefix$f")
	done < <(compgen -f -- "${_bcachefs_cur#"$prefix"}")
}

# _bcachefs_dirs [PREFIX]
_bcachefs_dirs()
{
	local prefix=${1:-} f
	compopt -o filenames 2>/dev/null
	while IFS= read -r f; do
		COMPREPLY+=("$prefix$f")
	done < <(compgen -d -- "${_bcachefs_cur#"$prefix"}")
}

# _bcachefs_value CMD OPTION PREFIX: complete the argument of OPTION; returns
# 1 if OPTION takes no argument this completion knows
_bcachefs_value()
{
	local cmd=$1 opt=$2 prefix=$3 IFS=$' \t\n'
	# shellcheck disable=SC2046,SC2086 # word lists: split on purpose
	case $opt in
	--pass)
		_bcachefs_list "$prefix" $(_bcachefs_passes "$cmd") ;;
	--rebuild)
		_bcachefs_list "$prefix" $_bcachefs_rebuild ;;
	-b|--btree)
		_bcachefs_list "$prefix" all $_bcachefs_btrees ;;
	-f)
		# list -f is --format, show-super -f is --fields
		if [[ $_bcachefs_sub == list ]]; then
			_bcachefs_add "$prefix" text keys nodes
		else
			_bcachefs_list "$prefix" $_bcachefs_sb_fields
		fi ;;
	--fields)
		_bcachefs_list "$prefix" $_bcachefs_sb_fields ;;
	--format)
		_bcachefs_add "$prefix" text keys nodes ;;
	-l|--level)
		_bcachefs_add "$prefix" 0 1 2 3 ;;
	-C|--progress)
		_bcachefs_add "$prefix" 0 1 2 3 4 5 6 7 8 9 ;;
	-s|--start|-e|--end)
		# a position inode:offset[:snapshot]: nothing to offer
		;;
	--dump-bitmaps|--log-dir|-o|--output)
		_bcachefs_dirs "$prefix" ;;
	-z|--undo-file|--passphrase-file|--json)
		_bcachefs_files "$prefix" ;;
	*)
		return 1 ;;
	esac
	return 0
}

# _bcachefs_complete_opts CMD OPTS-WITH-ARGS OPTIONS...: the common part:
# the argument of an option, an option, or a device
_bcachefs_complete_opts()
{
	local cmd=$1 argopts=" $2 " cur=$_bcachefs_cur prev=$_bcachefs_prev
	shift 2

	# --opt=value, split by bash at the '=' (the default COMP_WORDBREAKS)
	if [[ $cur == = && $prev == --* ]]; then
		_bcachefs_cur=
		_bcachefs_value "$cmd" "$prev" ""
		return
	fi
	if [[ $prev == = && $_bcachefs_prev2 == --* ]]; then
		_bcachefs_value "$cmd" "$_bcachefs_prev2" ""
		return
	fi
	# --opt=value as one word ('=' not a word break)
	if [[ $cur == --*=* ]]; then
		_bcachefs_value "$cmd" "${cur%%=*}" "${cur%%=*}="
		return
	fi
	# the argument of the previous word, an option that takes one
	if [[ $argopts == *" $prev "* ]]; then
		_bcachefs_value "$cmd" "$prev" "" || _bcachefs_files
		return
	fi
	if [[ $cur == -* ]]; then
		_bcachefs_add "" "$@"
		# options that take their value after '=': no space after them
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] &&
			compopt -o nospace 2>/dev/null
		return
	fi
	_bcachefs_files
}

# the current word and the two before it, into _bcachefs_cur/prev/prev2
# (locals of the caller, as is _bcachefs_sub, the subcommand)
_bcachefs_words()
{
	_bcachefs_cur=${COMP_WORDS[COMP_CWORD]}
	_bcachefs_prev=
	_bcachefs_prev2=
	((COMP_CWORD >= 1)) && _bcachefs_prev=${COMP_WORDS[COMP_CWORD - 1]}
	((COMP_CWORD >= 2)) && _bcachefs_prev2=${COMP_WORDS[COMP_CWORD - 2]}
	return 0
}

_bcachefs()
{
	local cmd=${COMP_WORDS[0]}
	local _bcachefs_cur _bcachefs_prev _bcachefs_prev2 _bcachefs_sub=
	COMPREPLY=()
	_bcachefs_words

	if ((COMP_CWORD == 1)); then
		if [[ $_bcachefs_cur == -* ]]; then
			_bcachefs_add "" --help --version
		else
			_bcachefs_add "" show-super list fsck undo dump version help
		fi
		return 0
	fi
	_bcachefs_sub=${COMP_WORDS[1]}

	case $_bcachefs_sub in
	show-super)
		_bcachefs_complete_opts "$cmd" "-f --fields" \
			-f --fields= -l --layout -h --help ;;
	list)
		_bcachefs_complete_opts "$cmd" \
			"-b --btree -s --start -e --end -l --level -f --format --passphrase-file" \
			-b --btree= -s --start= -e --end= -l --level= -f --format= \
			--passphrase-file= -h --help ;;
	fsck)
		_bcachefs_complete_opts "$cmd" \
			"-z --undo-file -C --progress --pass --rebuild --dump-bitmaps --passphrase-file" \
			-n -y -p -a -f -v --verbose -z --undo-file= --no-undo --full --stats --threads= \
			--rebuild= -C --progress= --no-progress --json --json= \
			--findings --pass= --list-passes --dump-bitmaps= \
			--passphrase-file= -h --help ;;
	undo)
		# FILE (an undo file), then the devices
		_bcachefs_complete_opts "$cmd" "" -n -h --help ;;
	dump)
		_bcachefs_complete_opts "$cmd" "-o --output --passphrase-file" \
			-o --output= --sanitize --passphrase-file= -h --help ;;
	*)
		;;
	esac
	return 0
}

# fsck.bcachefs: the options of fsck(8)'s filesystem checkers
_fsck_bcachefs()
{
	local _bcachefs_cur _bcachefs_prev _bcachefs_prev2 _bcachefs_sub=
	COMPREPLY=()
	_bcachefs_words
	_bcachefs_complete_opts "" "-C -z" \
		-a -p -y -n -f -v -C -T -l -M -V -z --no-undo
	return 0
}

# bcachefs-repair
_bcachefs_repair()
{
	local _bcachefs_cur _bcachefs_prev _bcachefs_prev2 _bcachefs_sub=
	COMPREPLY=()
	_bcachefs_words
	_bcachefs_complete_opts "" "--log-dir --passphrase-file" \
		-y --yes -n --dry-run --log-dir --passphrase-file -h --help \
		-V --version
	return 0
}

complete -F _bcachefs bcachefs
complete -F _fsck_bcachefs fsck.bcachefs
complete -F _bcachefs_repair bcachefs-repair
