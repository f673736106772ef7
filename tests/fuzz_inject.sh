#!/bin/bash
# Injection fuzzing of the repair: random damage committed into copies of
# the clean corpus images, repaired by our `bcachefs fsck -y`, judged by
# our `fsck -n` and by upstream's fsck (the oracle).
#
# Usage: bash tests/fuzz_inject.sh [OPTION]... FIRST [LAST]
#   Runs the seeds FIRST..LAST (default LAST = FIRST), each in its own
#   temporary directory, prints one line per seed as it finishes, then the
#   failing seeds, a summary per kind and "N passed, N failed". Exit status
#   0 when no seed failed, 1 when one did, 2 on a usage error.
#
#   -j, --jobs N          seeds run in parallel (default: nproc)
#   -I, --images-dir DIR  the image corpus (default $IMAGES, else
#                         ../shared/images of the repository, as the
#                         Makefile's IMAGES)
#   -o, --out DIR         where failing seeds are kept (default
#                         build/fuzz-inject of the repository): DIR/SEED/
#                         holds the injected image before repair
#                         (injected/*.img.zst), the ops (ops.txt), every
#                         command's output, result.txt and repro.sh; the
#                         run's summary goes to DIR/summary.txt. A seed that
#                         passes leaves nothing (its old DIR/SEED is removed).
#   -k, --kinds LIST      only these injection kinds (comma-separated)
#   -i, --image LIST      only these corpus images (comma-separated names of
#                         index.tsv; default: every "clean" image but big).
#                         Fresh and corrupted images may be named too.
#   -m, --max-ops N       1..N injections per seed (default 4)
#   -b, --bcachefs PATH   the command under test (default $BCACHEFS, else
#                         ./bcachefs; e.g. build/san/bcachefs)
#       --inject PATH     bch_inject (default build/tools/bch_inject)
#       --oracle DIR      upstream's fsck builds (default $ORACLE, else
#                         /opt/oracle: fixed/ for format 1.28, v136/ for
#                         1.36); without them only our own verdicts count
#   -t, --timeout SEC     time limit of one command of ours (default 300)
#       --oracle-timeout SEC  of one oracle run (default 60)
#       --keep-all        keep passing seeds too
#
# A seed is reproducible: `RANDOM=SEED` picks the image from the image list
# (one draw, so `--image NAME SEED` repeats a seed of NAME), the number of
# injections, and for each one its kind (among --kinds, those the image
# has candidates for) and its target. The injections go in as one commit
# of tests/tools/bch_inject (a journal entry to replay), never touching the
# same key twice.
#
# Kinds (positions DEV:BUCKET; alloc_v4 value fields at byte offsets gen
# 12, data_type 14, dirty_sectors 16 (le32), as tests/t_cases.sh's
# set-alloc; data types 0 free, 1 sb, 2 journal, 3 btree, 4 user, 5 cached):
#   bp-delete            delete a random backpointer
#   bp-delete-run        delete 8 consecutive backpointers
#   lru-delete           delete a random LRU entry
#   lru-past-end         a fragmentation LRU entry ((0xffff << 48) | TIME :
#                        (DEV << 48) | BUCKET) for a bucket at or past the
#                        end of a device (nbuckets + 0..63; one in four far
#                        out, beyond 2^32)
#   lru-wrong-time       a fragmentation LRU entry at a random time for a
#                        bucket inside the device
#   alloc-sectors        an in-use (btree or user) bucket's dirty_sectors set
#                        to another value in 0..bucket size
#   alloc-delete         delete the alloc key of an in-use bucket
#   alloc-type           data_type changed: user->btree, btree->user,
#                        user->free, user->cached, or free->user (a bucket
#                        whose alloc key says free)
#   alloc-gen-up         a user (or, one in three, btree) bucket's gen + 1:
#                        its pointers become stale
#   alloc-gen-down       a bucket's gen - 1 where gen > 0 (an in-use bucket
#                        when the image has one): its pointers become newer
#                        than the bucket
#   meta-type            a superblock or journal bucket's data_type set to
#                        free or user
#   freespace-delete     delete a freespace key (a run of free buckets)
#   need_discard-insert  a need_discard key for an in-use bucket
#   bucket_gens-edit     one byte (one bucket inside the device) of a
#                        bucket_gens value changed (the key written from the
#                        alloc keys' gens when the image has none for it)
#   acct-edit            an accounting delta: dev_data_type (type 3) of a
#                        device and data type 0..4, +1..64 on one of its
#                        three counters (buckets, sectors, fragmented), as
#                        tests/cases/accounting-wrong
#
# Accounting: only dev_data_type deltas; the other accounting types (btree,
# replicas, inum, ...) are not checked by this fsck, so an edit of them
# would only measure that.
#
# Per seed (all on copies; the oracle never sees the working image):
#   1. upstream's verdict on the damage: oracle -y on a copy of the injected
#      image, then oracle -n on that copy; when that -n is not clean (or
#      the -y crashed or hung) the seed is marked "upstream cannot repair"
#      (a note, not a failure)
#   2. ours: fsck -y --no-undo, then fsck -n, on the injected image
#   3. the oracle's fsck -n on a copy of our repaired image
# PASS when: ours -y exits 1 (or 0 when upstream's -y also found nothing:
# the injection happened to be a no-op), ours -n exits 0, and the oracle's
# -n on the repaired copy exits 0. FAIL otherwise: also when bch_inject
# fails, and always on a crash or hang (an exit status >= 124 of ours) or a
# sanitizer report in our output or bch_inject's. A failing seed's line
# gives our exit statuses, the oracle's first complaint and ours' first
# "not fixed:" lines. The summary counts each seed under every kind it
# injected: run with `--kinds KIND --max-ops 1` to judge one kind alone.
# (Upstream's exit statuses: 1.36's fsck adds 8 to "errors fixed", so its
# -y says 9 where 1.28's says 1; only 0 counts as clean.)
#
# The command under test and bch_inject are copied when the run starts, so
# a rebuild during the run does not mix two builds. One seed takes about
# 2.5 s of one job on the default images (two devices or encrypted ones
# longer).
#
# Environment: IMAGES, BCACHEFS, ORACLE, TMPDIR (as the options above).
set -u
unset CDPATH

KIND_LIST="bp-delete bp-delete-run lru-delete lru-past-end lru-wrong-time
alloc-sectors alloc-delete alloc-type alloc-gen-up alloc-gen-down meta-type
freespace-delete need_discard-insert bucket_gens-edit acct-edit"
# shellcheck disable=SC2086,SC2116 # one line of words
KIND_LIST=$(echo $KIND_LIST)

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# the lines of a command's output that are not what upstream complains about
ORACLE_NOISE='\.\.\. done|^ done|modprobe|^Running userspace|Using enc|starting version|with options|opts=|recovering from clean|clean shutdown complete|going read-write|insufficient writeable|rw journal devs|with devices|marked in bitmap|scheduling recovery pass btree_bitmap|requires following recovery passes to be run: btree_bitmap_gc|: errors fixed$|shutdown_with_errors_fixed'

# ---------------------------------------------------------------- helpers

# rnd N: R = a random number in [0, N) from RANDOM (30 bits; in this shell,
# never in a command substitution, so that the seed's sequence advances)
rnd() {
	R=$(( ((RANDOM << 15) | RANDOM) % $1 ))
}

# le N BYTES: N as BYTES little-endian bytes in hex
le() {
	local v=$1 i=0
	while [ "$i" -lt "$2" ]; do
		printf '%02x' $((v & 255))
		v=$((v >> 8))
		i=$((i + 1))
	done
}

# getle HEX OFF BYTES: the little-endian number at byte OFF of HEX
getle() {
	local i=$(($3 - 1)) v=0
	while [ "$i" -ge 0 ]; do
		v=$(((v << 8) | 16#${1:$((2 * ($2 + i))):2}))
		i=$((i - 1))
	done
	echo "$v"
}

# setle HEX OFF BYTES N: HEX with BYTES bytes at OFF replaced by N
setle() {
	echo "${1:0:$((2 * $2))}$(le "$4" "$3")${1:$((2 * ($2 + $3)))}"
}

# u64 EXPR: the value of a shell arithmetic expression as unsigned decimal
u64() {
	printf '%u' "$(($1))"
}

# complaint FILE: the oracle's first complaint lines in FILE, on one line
complaint() {
	grep -Ev "$ORACLE_NOISE" "$1" 2> /dev/null | sed 's/^ *//' | head -2 | cut -c1-120 |
		tr '\n' '|' | sed 's/|$//'
}

# ------------------------------------------------------ image preparation

# prepare NAME: NAME decompressed once into FZ_WORK/img/NAME with its keys,
# geometry and candidate lists, and caps: the kinds it can take
prepare() {
	local name=$1 c=$FZ_WORK/img/$1 line files ver pass f devs=() popt=()
	mkdir -p "$c" || return 1
	line=$(awk -F '\t' -v n="$name" 'NR > 1 && $1 == n' "$FZ_IMAGES/index.tsv")
	[ -n "$line" ] || { echo "no image $name in $FZ_IMAGES/index.tsv" > "$c/error"; return 1; }
	IFS=$'\t' read -r _ files ver _ pass <<< "$line"
	: > "$c/devs"
	for f in ${files//,/ }; do
		zstd -q -d -f --sparse "$FZ_IMAGES/$f" -o "$c/${f%.zst}" < /dev/null ||
			{ echo "cannot decompress $f" > "$c/error"; return 1; }
		echo "${f%.zst}" >> "$c/devs"
		devs+=("$c/${f%.zst}")
	done
	echo "$ver" > "$c/version"
	if [ "$pass" != - ]; then
		printf '%s\n' "$pass" > "$c/passphrase"
		popt=(--passphrase-file="$c/passphrase")
	fi
	"$FZ_B" fsck -n --no-progress "${popt[@]}" "${devs[@]}" < /dev/null > "$c/base.out" 2>&1
	echo $? > "$c/base_rc"
	sed -n 's/^device \([0-9]*\): \([0-9]*\) buckets (first \([0-9]*\), \([0-9]*\) sectors each).*/\1 \2 \3 \4/p' \
		"$c/base.out" > "$c/geom"
	[ -s "$c/geom" ] || { echo "cannot read the geometry" > "$c/error"; return 1; }
	"$FZ_B" list --format=keys -b alloc,backpointers,lru,freespace,need_discard,bucket_gens \
		"${popt[@]}" "${devs[@]}" < /dev/null > "$c/keys.txt" 2> "$c/list.err" ||
		{ echo "list failed: $(head -1 "$c/list.err")" > "$c/error"; return 1; }
	awk -v c="$c" '
	function hex(s,   i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	$1 == "backpointers" { print $2 > (c "/bp") }
	$1 == "lru" { print $2 > (c "/lru") }
	$1 == "freespace" { print $2 > (c "/freespace") }
	$1 == "bucket_gens" { print $2, $6 > (c "/bucket_gens") }
	$1 == "alloc" && $3 == "alloc_v4" {
		dt = hex(substr($6, 29, 2)); gen = hex(substr($6, 25, 2))
		print $2, dt, gen, $6 > (c "/alloc")
		if (dt == 3 || dt == 4) print $2, dt, gen, $6 > (c "/a-inuse")
		if (dt == 3) print $2, dt, gen, $6 > (c "/a-btree")
		if (dt == 4) print $2, dt, gen, $6 > (c "/a-user")
		if (dt == 0) print $2, dt, gen, $6 > (c "/a-free")
		if (dt == 1 || dt == 2) print $2, dt, gen, $6 > (c "/a-meta")
		if (gen > 0) print $2, dt, gen, $6 > (c "/a-gen")
		if (gen > 0 && (dt == 3 || dt == 4)) print $2, dt, gen, $6 > (c "/a-gen-inuse")
	}' "$c/keys.txt"
	for f in bp lru freespace bucket_gens alloc a-inuse a-btree a-user a-free a-meta a-gen a-gen-inuse; do
		touch "$c/$f"
	done
	has() { [ "$(wc -l < "$c/$1")" -ge "${2:-1}" ]; }
	{
		has bp && echo bp-delete
		has bp 8 && echo bp-delete-run
		has lru && echo lru-delete
		echo lru-past-end
		echo lru-wrong-time
		has a-inuse && echo alloc-sectors
		has a-inuse && echo alloc-delete
		{ has a-user || has a-btree || has a-free; } && echo alloc-type
		has a-user && echo alloc-gen-up
		has a-gen && echo alloc-gen-down
		has a-meta && echo meta-type
		has freespace && echo freespace-delete
		has a-inuse && echo need_discard-insert
		echo bucket_gens-edit
		echo acct-edit
	} > "$c/caps"
	echo ok > "$c/ready"
}

# ------------------------------------------------------- injection kinds
# Each gen_KIND appends bch_inject words to OPW, one line per op to OPL,
# the positions it touches to USED; returns 1 when it found no target.

# pick FILE: LINE = a random line of FILE whose first word is not in USED
# (20 draws)
pick() {
	local n t=0
	n=$(wc -l < "$1")
	[ "$n" -gt 0 ] || return 1
	while [ "$t" -lt 20 ]; do
		rnd "$n"
		LINE=$(sed -n "$((R + 1))p" "$1")
		case $USED in *" ${LINE%% *} "*) ;; *) return 0 ;; esac
		t=$((t + 1))
	done
	return 1
}

# op WORD...: one bch_inject op
op() {
	OPW+=("$@")
	OPL+=("$*")
	USED="$USED $3 "
}

# pick_dev: DEV NB FIRST of a random device
pick_dev() {
	local n
	n=$(wc -l < "$C/geom")
	rnd "$n"
	read -r DEV NB FIRST _ <<< "$(sed -n "$((R + 1))p" "$C/geom")"
}

# set_alloc LINE FIELD=VALUE...: insert the alloc key of LINE (pos dt gen
# hex) with the fields changed
set_alloc() {
	local pos v fv
	read -r pos _ _ v <<< "$1"
	shift
	for fv in "$@"; do
		case ${fv%%=*} in
		gen) v=$(setle "$v" 12 1 "${fv#*=}") ;;
		data_type) v=$(setle "$v" 14 1 "${fv#*=}") ;;
		dirty_sectors) v=$(setle "$v" 16 4 "${fv#*=}") ;;
		esac
	done
	op insert alloc "$pos" alloc_v4 "$v"
}

gen_bp-delete() {
	pick "$C/bp" || return 1
	op delete backpointers "$LINE"
}

gen_bp-delete-run() {
	local n i p
	n=$(wc -l < "$C/bp")
	[ "$n" -ge 8 ] || return 1
	rnd $((n - 7))
	while read -r p; do
		case $USED in *" $p "*) continue ;; esac
		op delete backpointers "$p"
		i=1
	done < <(sed -n "$((R + 1)),$((R + 8))p" "$C/bp")
	[ -n "${i:-}" ]
}

gen_lru-delete() {
	pick "$C/lru" || return 1
	op delete lru "$LINE"
}

# a fragmentation LRU time: 1..2^31-1
lru_time() {
	rnd $(((1 << 31) - 1))
	# shellcheck disable=SC2034 # used in the u64 expressions
	TIME=$((R + 1))
}

gen_lru-past-end() {
	local b
	pick_dev
	rnd 4
	if [ "$R" -eq 0 ]; then
		rnd $((1 << 30))
		b=$(((1 << 32) + R))
		VARIANT=far
	else
		rnd 64
		b=$((NB + R))
	fi
	lru_time
	op insert lru "$(u64 "(0xffff << 48) | TIME"):$(u64 "(DEV << 48) | b"):0" set -
}

gen_lru-wrong-time() {
	pick_dev
	rnd $((NB - FIRST))
	local b=$((FIRST + R))
	lru_time
	op insert lru "$(u64 "(0xffff << 48) | TIME"):$(u64 "(DEV << 48) | b"):0" set -
}

gen_alloc-sectors() {
	local cur new pos sectors
	pick "$C/a-inuse" || return 1
	pos=${LINE%% *}
	sectors=$(awk -v d="${pos%%:*}" '$1 == d { print $4 }' "$C/geom")
	cur=$(getle "${LINE##* }" 16 4)
	rnd "$sectors"
	new=$R
	[ "$new" -ge "$cur" ] && new=$((new + 1))
	VARIANT="$cur->$new"
	set_alloc "$LINE" dirty_sectors="$new"
}

gen_alloc-delete() {
	pick "$C/a-inuse" || return 1
	op delete alloc "${LINE%% *}"
}

gen_alloc-type() {
	local v=()
	[ -s "$C/a-user" ] && v+=(user-btree user-free user-cached)
	[ -s "$C/a-btree" ] && v+=(btree-user)
	[ -s "$C/a-free" ] && v+=(free-user)
	[ ${#v[@]} -gt 0 ] || return 1
	rnd ${#v[@]}
	VARIANT=${v[$R]}
	case $VARIANT in
	user-btree) pick "$C/a-user" && set_alloc "$LINE" data_type=3 ;;
	user-free) pick "$C/a-user" && set_alloc "$LINE" data_type=0 ;;
	user-cached) pick "$C/a-user" && set_alloc "$LINE" data_type=5 ;;
	btree-user) pick "$C/a-btree" && set_alloc "$LINE" data_type=4 ;;
	free-user) pick "$C/a-free" && set_alloc "$LINE" data_type=4 ;;
	esac
}

gen_alloc-gen-up() {
	local gen what=user
	# one in three a btree bucket: its node pointers become stale
	rnd 3
	[ "$R" -eq 0 ] && [ -s "$C/a-btree" ] && what=btree
	pick "$C/a-$what" || return 1
	read -r _ _ gen _ <<< "$LINE"
	VARIANT="$what,$gen->$(((gen + 1) & 255))"
	set_alloc "$LINE" gen=$(((gen + 1) & 255))
}

gen_alloc-gen-down() {
	local gen f=$C/a-gen-inuse
	[ -s "$f" ] || f=$C/a-gen
	pick "$f" || return 1
	read -r _ _ gen _ <<< "$LINE"
	VARIANT="$gen->$((gen - 1))"
	set_alloc "$LINE" gen=$((gen - 1))
}

gen_meta-type() {
	local dt t
	pick "$C/a-meta" || return 1
	read -r _ dt _ _ <<< "$LINE"
	rnd 2
	t=$((R * 4))
	case $dt in 1) VARIANT=sb ;; *) VARIANT=journal ;; esac
	case $t in 0) VARIANT=$VARIANT-free ;; *) VARIANT=$VARIANT-user ;; esac
	set_alloc "$LINE" data_type=$t
}

gen_freespace-delete() {
	pick "$C/freespace" || return 1
	op delete freespace "$LINE"
}

gen_need_discard-insert() {
	local pos
	pick "$C/a-inuse" || return 1
	pos=${LINE%% *}
	# a need_discard key sits at the bucket's position, as the alloc key
	case $USED in *" nd:$pos "*) return 1 ;; esac
	op insert need_discard "$pos" set -
	USED="$USED nd:$pos "
}

gen_bucket_gens-edit() {
	local t=0 b pos v old new
	while :; do
		pick_dev
		rnd $((NB - FIRST))
		b=$((FIRST + R))
		pos=$DEV:$((b >> 8)):0
		case $USED in *" bg:$pos "*) ;; *) break ;; esac
		t=$((t + 1))
		[ "$t" -lt 20 ] || return 1
	done
	v=$(awk -v p="$pos" '$1 == p { print $2 }' "$C/bucket_gens")
	if [ -z "$v" ]; then
		# the key as the alloc keys' gens say
		v=$(awk -v d="$DEV" -v k=$((b >> 8)) '
		function hex(s,   i, x) {
			x = 0
			for (i = 1; i <= length(s); i++)
				x = x * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return x
		}
		BEGIN { for (i = 0; i < 256; i++) g[i] = 0 }
		{ split($1, p, ":"); if (p[1] == d && int(p[2] / 256) == k) g[p[2] % 256] = $3 }
		END { for (i = 0; i < 256; i++) printf "%02x", g[i]; print "" }' "$C/alloc")
		VARIANT="new-key"
	fi
	old=$((16#${v:$((2 * (b & 255))):2}))
	rnd 255
	new=$(((old + 1 + R) & 255))
	VARIANT="${VARIANT:+$VARIANT,}$DEV:$b:$old->$new"
	op insert bucket_gens "$pos" bucket_gens "$(setle "$v" $((b & 255)) 1 "$new")"
	USED="$USED bg:$pos "
}

gen_acct-edit() {
	local dt ctr delta pos t=0 val
	while :; do
		pick_dev
		rnd 5
		dt=$R
		pos=$(u64 "(3 << 56) | (DEV << 48) | (dt << 40)"):0:0
		case $USED in *" $pos "*) ;; *) break ;; esac
		t=$((t + 1))
		[ "$t" -lt 20 ] || return 1
	done
	rnd 3
	ctr=$R
	rnd 64
	delta=$((R + 1))
	case $ctr in
	0) val="$(le "$delta" 8)$(le 0 8)$(le 0 8)"; VARIANT="dev$DEV,type$dt,buckets+$delta" ;;
	1) val="$(le 0 8)$(le "$delta" 8)$(le 0 8)"; VARIANT="dev$DEV,type$dt,sectors+$delta" ;;
	*) val="$(le 0 8)$(le 0 8)$(le "$delta" 8)"; VARIANT="dev$DEV,type$dt,fragmented+$delta" ;;
	esac
	op insert accounting "$pos" accounting "$val"
}

# ------------------------------------------------------------- one seed

# oracle_run OUT ARGS...: the oracle in the current directory, output to OUT.
# A check (-n) that crashes is run once more: upstream's userspace build
# sometimes trips an assertion in its own workqueue shim
# (linux/workqueue.c: worker_thread), whatever the image.
oracle_run() {
	local o=$1 rc
	shift
	timeout -k 5 "$FZ_ORACLE_TIMEOUT" "$ORACLE_BIN" "$@" < "$PASS_IN" > "$o" 2>&1
	rc=$?
	if [ "$rc" -ge 128 ] && [ "$1" = -n ]; then
		mv "$o" "$o.crashed"
		timeout -k 5 "$FZ_ORACLE_TIMEOUT" "$ORACLE_BIN" "$@" < "$PASS_IN" > "$o" 2>&1
		rc=$?
	fi
	return "$rc"
}

# sanitizer FILE...: whether a sanitizer reported in one of the files
sanitizer() {
	grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$@" 2> /dev/null | head -1
}

run_seed() {
	local seed=$1 pool=() app=() k n i d kinds='' reason='' verdict='' ri=- ry=- rn=- ro=- upy=- upn=-
	local start=$SECONDS f popt=() devs=() cant='' note=''
	RANDOM=$seed
	mapfile -t pool < "$FZ_WORK/pool"
	rnd ${#pool[@]}
	local img=${pool[$R]}
	C=$FZ_WORK/img/$img
	for k in $FZ_KINDS; do
		grep -qx -- "$k" "$C/caps" && app+=("$k")
	done
	rm -rf "${FZ_OUT:?}/$seed"
	d=$FZ_WORK/s/$seed
	rm -rf "$d"
	mkdir -p "$d" || return 1
	OPW=()
	OPL=()
	USED=" "
	rnd "$FZ_MAXOPS"
	n=$((R + 1))
	for i in $(seq 1 "$n"); do
		rnd ${#app[@]}
		k=${app[$R]}
		VARIANT=
		if "gen_$k"; then
			kinds="$kinds${kinds:+,}$k${VARIANT:+($VARIANT)}"
		else
			kinds="$kinds${kinds:+,}$k(no target)"
		fi
	done
	cd "$d" || return 1
	printf '%s\n' "${OPL[@]}" > ops.txt
	while read -r f; do
		cp --sparse=always "$C/$f" "$f" || return 1
		devs+=("$f")
	done < "$C/devs"
	PASS_IN=/dev/null
	if [ -f "$C/passphrase" ]; then
		cp "$C/passphrase" passphrase
		popt=(--passphrase-file=passphrase)
		PASS_IN=$d/passphrase
	fi
	case $(cat "$C/version") in
	1.36) ORACLE_BIN=$FZ_ORACLE/v136/bcachefs-fsck ;;
	*) ORACLE_BIN=$FZ_ORACLE/fixed/bcachefs-fsck ;;
	esac
	[ -x "$ORACLE_BIN" ] || ORACLE_BIN=

	if [ ${#OPW[@]} -eq 0 ]; then
		verdict=SKIP
		reason="no injection found a target"
	else
		timeout -k 5 "$FZ_TIMEOUT" "$FZ_INJ" "${popt[@]}" "${devs[@]}" -- "${OPW[@]}" \
			< /dev/null > inject.out 2>&1
		ri=$?
	fi
	if [ "$ri" = 0 ]; then
		mkdir injected && cp --sparse=always "${devs[@]}" injected/ || return 1
		# 1. upstream on a copy of the damage: -y, then -n
		if [ -n "$ORACLE_BIN" ]; then
			mkdir up && cp --sparse=always "${devs[@]}" up/ || return 1
			(cd up && oracle_run ../up-y.out -y "${devs[@]}")
			upy=$?
			(cd up && oracle_run ../up-n.out -n "${devs[@]}")
			upn=$?
			rm -rf up
			[ "$upy" -ge 124 ] || [ "$upn" != 0 ] && cant=1
		fi
		# 2. ours
		timeout -k 5 "$FZ_TIMEOUT" "$FZ_B" fsck "${popt[@]}" -y --no-undo "${devs[@]}" \
			< /dev/null > y.out 2>&1
		ry=$?
		timeout -k 5 "$FZ_TIMEOUT" "$FZ_B" fsck "${popt[@]}" -n "${devs[@]}" \
			< /dev/null > n.out 2>&1
		rn=$?
		# 3. upstream's -n on a copy of our repair
		if [ -n "$ORACLE_BIN" ]; then
			mkdir up && cp --sparse=always "${devs[@]}" up/ || return 1
			(cd up && oracle_run ../o.out -n "${devs[@]}")
			ro=$?
			rm -rf up
		fi
	fi

	# the verdict
	local r=()
	if [ "$ri" != 0 ] && [ "$ri" != - ]; then
		r+=("bch_inject exit $ri: $(grep -v '^committed' inject.out | head -2 | tr '\n' '|' | sed 's/|$//')")
	elif [ "$ri" = 0 ]; then
		[ "$ry" -ge 124 ] && r+=("ours -y crashed or hung (exit $ry)")
		[ "$rn" -ge 124 ] && r+=("ours -n crashed or hung (exit $rn)")
		f=$(sanitizer inject.out y.out n.out)
		[ -n "$f" ] && r+=("sanitizer report in $f: $(grep -m1 -E 'ERROR: |runtime error:' "$f")")
		if [ "$ry" = 0 ]; then
			# a no-op only if upstream found nothing either
			if [ -n "$ORACLE_BIN" ] && [ "$upy" != 0 ]; then
				r+=("ours -y found nothing (exit 0), upstream -y exit $upy: $(complaint up-y.out)")
			fi
		elif [ "$ry" != 1 ] && [ "$ry" -lt 124 ]; then
			r+=("ours -y exit $ry")
		fi
		if [ "$rn" != 0 ] && [ "$rn" -lt 124 ]; then
			r+=("ours -n exit $rn: $(grep -m1 '^summary:' n.out | sed 's/; nothing was changed.*//')")
		fi
		if [ -n "$ORACLE_BIN" ] && [ "$ro" != 0 ]; then
			r+=("upstream -n on the repaired copy exit $ro: $(complaint o.out)")
		fi
		# what ours says it left
		f=$(grep '^not fixed:' y.out | sed 's/ (.*//' | head -3 | tr '\n' '|' | sed 's/|$//')
		[ ${#r[@]} -gt 0 ] && [ -n "$f" ] && r+=("ours -y $f")
	fi
	if [ "${verdict:-}" != SKIP ]; then
		if [ ${#r[@]} -eq 0 ]; then
			verdict=PASS
		else
			verdict=FAIL
			reason=$(printf '%s; ' "${r[@]}")
			reason=${reason%; }
		fi
	fi
	if [ -n "$cant" ]; then
		note="upstream cannot repair: -y $upy, -n $upn: "
		case $upy:$upn in
		12[4-9]:* | 1[3-9]?:* | 2??:*) note="$note-y crashed or hung: $(complaint up-y.out)" ;;
		*:12[4-9]) note="$note-n hung (timeout)" ;;
		*) note="$note$(complaint up-n.out)" ;;
		esac
	fi
	[ "$upy" = 0 ] && [ "$ry" != 0 ] && note="upstream -y found nothing"
	local el=$((SECONDS - start))
	reason=${reason//$'\t'/ }
	note=${note//$'\t'/ }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$verdict" "$img" "$kinds" \
		"$ry" "$rn" "$ro" "$upy" "$upn" "$el" "$reason" "$note" > "$FZ_WORK/res/$seed"
	local line="seed $seed $img $kinds: $verdict (ours -y $ry, -n $rn; upstream -n $ro; upstream on the damage: -y $upy, -n $upn)"
	[ -n "$reason" ] && line="$line: $reason"
	[ -n "$note" ] && line="$line [$note]"
	echo "$line"

	cd "$FZ_WORK" || return 1
	if [ "$verdict" = PASS ] && [ -z "$FZ_KEEP" ]; then
		rm -rf "$d"
		return 0
	fi
	# keep: the injected image (compressed), the outputs, a reproducer
	rm -f "${devs[@]/#/$d/}"
	[ -d "$d/injected" ] && zstd -q --rm -T1 "$d"/injected/*.img
	echo "$line" > "$d/result.txt"
	{
		echo "#!/bin/sh"
		echo "# seed $seed: $img, injected: $kinds"
		echo "# the injected image is injected/*.img.zst (the damage is in its journal)."
		echo "# reproduce: sh repro.sh [BCACHEFS]; or: bash tests/fuzz_inject.sh --image $img --kinds $(echo "$FZ_KINDS" | tr ' ' ,) --max-ops $FZ_MAXOPS $seed"
		echo "set -e"
		echo "cd \"\$(dirname \"\$0\")\""
		echo "B=\${1:-$FZ_BIN}"
		for f in "${devs[@]}"; do
			echo "zstd -q -d -f --sparse injected/$f.zst -o $f"
		done
		echo "\"\$B\" fsck ${popt[*]} -y --no-undo ${devs[*]} || true"
		echo "\"\$B\" fsck ${popt[*]} -n ${devs[*]}"
	} > "$d/repro.sh"
	mkdir -p "$FZ_OUT" && mv "$d" "$FZ_OUT/$seed"
}

# ------------------------------------------------------------------ main

case ${1:-} in
--prepare) shift; prepare "$1"; exit $? ;;
--seed) shift; run_seed "$1"; exit $? ;;
esac

usage() {
	sed -n '/^# Usage:/,/^# A seed is/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 2
jobs=$(nproc 2> /dev/null || echo 2)
images_dir=${IMAGES:-$ROOT/../shared/images}
out=$ROOT/build/fuzz-inject
kinds=$KIND_LIST
image_list=
maxops=4
bin=${BCACHEFS:-$ROOT/bcachefs}
inj=$ROOT/build/tools/bch_inject
oracle=${ORACLE:-/opt/oracle}
tmo=300
otmo=60
keep=
seeds=()
while [ $# -gt 0 ]; do
	case $1 in
	-j | --jobs) jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-I | --images-dir) images_dir=$2; shift 2 ;;
	-o | --out) out=$2; shift 2 ;;
	-k | --kinds) kinds=$(echo "$2" | tr ',' ' '); shift 2 ;;
	--kinds=*) kinds=$(echo "${1#*=}" | tr ',' ' '); shift ;;
	--image=*) image_list=$(echo "${1#*=}" | tr ',' ' '); shift ;;
	-i | --image) image_list=$(echo "$2" | tr ',' ' '); shift 2 ;;
	-m | --max-ops) maxops=$2; shift 2 ;;
	-b | --bcachefs) bin=$2; shift 2 ;;
	--inject) inj=$2; shift 2 ;;
	--oracle) oracle=$2; shift 2 ;;
	-t | --timeout) tmo=$2; shift 2 ;;
	--oracle-timeout) otmo=$2; shift 2 ;;
	--keep-all) keep=1; shift ;;
	-h | --help) usage ;;
	-*) echo "fuzz_inject.sh: unknown option $1" >&2; usage ;;
	*) seeds+=("$1"); shift ;;
	esac
done
case ${#seeds[@]} in
1) seeds+=("${seeds[0]}") ;;
2) ;;
*) usage ;;
esac
for v in "${seeds[@]}" "$jobs" "$maxops" "$tmo" "$otmo"; do
	case $v in '' | *[!0-9]*) echo "fuzz_inject.sh: not a number: '$v'" >&2; exit 2 ;; esac
done
{ [ "$jobs" -ge 1 ] && [ "$maxops" -ge 1 ]; } || usage
for k in $kinds; do
	case " $KIND_LIST " in *" $k "*) ;; *) echo "fuzz_inject.sh: unknown kind '$k' (kinds: $KIND_LIST)" >&2; exit 2 ;; esac
done
# in the order of KIND_LIST, so that a seed does not depend on the order given
kinds=$(for k in $KIND_LIST; do case " $kinds " in *" $k "*) echo "$k" ;; esac; done | tr '\n' ' ')
kinds=${kinds% }
# every path absolute (the seeds run in their own directories)
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
if ! images_dir=$(cd "$images_dir" 2> /dev/null && pwd) || [ ! -r "$images_dir/index.tsv" ]; then
	echo "fuzz_inject.sh: no image corpus (index.tsv) at ${IMAGES:-$ROOT/../shared/images}" >&2
	exit 2
fi
self=$(abs "$0")
bin=$(abs "$bin")
inj=$(abs "$inj")
out=$(abs "$out")
oracle=$(abs "$oracle")
[ -x "$bin" ] || { echo "fuzz_inject.sh: $bin not built (make bcachefs)" >&2; exit 2; }
[ -x "$inj" ] || { echo "fuzz_inject.sh: $inj not built (make build/tools/bch_inject)" >&2; exit 2; }
[ -n "$image_list" ] ||
	image_list=$(awk -F '\t' 'NR > 1 && $4 == "clean" && $1 != "big" { print $1 }' "$images_dir/index.tsv")

FZ_WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-inject.XXXXXX") || exit 2
trap 'rm -rf "$FZ_WORK"' EXIT
trap 'exit 130' HUP INT TERM
mkdir -p "$FZ_WORK/res" "$FZ_WORK/s" "$out" || exit 2
# the binaries copied: a rebuild during the run does not change what runs
mkdir -p "$FZ_WORK/bin" && cp "$bin" "$FZ_WORK/bin/bcachefs" && cp "$inj" "$FZ_WORK/bin/bch_inject" || exit 2
FZ_IMAGES=$images_dir FZ_OUT=$out FZ_KINDS=$kinds FZ_MAXOPS=$maxops
FZ_B=$FZ_WORK/bin/bcachefs FZ_INJ=$FZ_WORK/bin/bch_inject FZ_BIN=$bin
FZ_ORACLE=$oracle FZ_TIMEOUT=$tmo FZ_ORACLE_TIMEOUT=$otmo FZ_KEEP=$keep
export FZ_BIN FZ_WORK FZ_IMAGES FZ_OUT FZ_KINDS FZ_MAXOPS FZ_B FZ_INJ FZ_ORACLE FZ_TIMEOUT FZ_ORACLE_TIMEOUT FZ_KEEP

t0=$SECONDS
[ -x "$oracle/fixed/bcachefs-fsck" ] || [ -x "$oracle/v136/bcachefs-fsck" ] ||
	echo "NOTE: no upstream fsck under $oracle: only our own exit statuses are judged"
# the images, prepared in parallel; those our fsck -n does not find clean,
# and those that cannot take any of the kinds, are left out
# shellcheck disable=SC2086 # names
printf '%s\n' $image_list | xargs -P "$jobs" -I{} bash "$self" --prepare {}
: > "$FZ_WORK/pool"
for im in $image_list; do
	c=$FZ_WORK/img/$im
	if [ ! -f "$c/ready" ]; then
		echo "NOTE: image $im left out: $(cat "$c/error" 2> /dev/null)"
	elif [ "$(cat "$c/base_rc")" != 0 ]; then
		echo "NOTE: image $im left out: our fsck -n exits $(cat "$c/base_rc") on it before any injection"
	elif [ -z "$(for k in $kinds; do grep -x -- "$k" "$c/caps"; done)" ]; then
		echo "NOTE: image $im left out: no target for any of the kinds"
	else
		echo "$im" >> "$FZ_WORK/pool"
	fi
done
[ -s "$FZ_WORK/pool" ] || { echo "fuzz_inject.sh: no image to fuzz" >&2; exit 2; }
echo "seeds ${seeds[0]}..${seeds[1]}, $jobs jobs, images: $(tr '\n' ' ' < "$FZ_WORK/pool")"
echo "kinds: $kinds"

seq "${seeds[0]}" "${seeds[1]}" | xargs -P "$jobs" -I{} bash "$self" --seed {}

# the summary
{
	echo
	echo "failing seeds:"
	for s in $(seq "${seeds[0]}" "${seeds[1]}"); do
		[ -f "$FZ_WORK/res/$s" ] || continue
		awk -F '\t' '$2 == "FAIL" { print "  seed " $1 " " $3 " " $4 ": " $11 }' "$FZ_WORK/res/$s"
	done | grep . || echo "  none"
	echo
	echo "upstream cannot repair (its -n after its own -y is not clean):"
	for s in $(seq "${seeds[0]}" "${seeds[1]}"); do
		[ -f "$FZ_WORK/res/$s" ] || continue
		awk -F '\t' '$12 ~ /^upstream cannot/ { print "  seed " $1 " " $3 " " $4 ": " $12 }' "$FZ_WORK/res/$s"
	done | grep . || echo "  none"
	echo
	cat "$FZ_WORK"/res/* | awk -F '\t' -v kl="$kinds" -v wall=$((SECONDS - t0)) '
	{
		n++; v[$2]++; t += $10
		cant = ($12 ~ /^upstream cannot/)
		if (cant) nc++
		split($4, ks, ",")
		delete seen
		for (i in ks) {
			k = ks[i]; sub(/\(.*/, "", k)
			if (ks[i] ~ /no target/ || k in seen) continue
			seen[k] = 1
			kn[k]++; kv[k, $2]++
			if (cant) kc[k]++
		}
	}
	END {
		printf "%-20s %6s %6s %6s %6s %s\n", "kind", "seeds", "PASS", "FAIL", "SKIP", "upstream-cannot-repair"
		m = split(kl, kk, " ")
		for (i = 1; i <= m; i++) {
			k = kk[i]
			printf "%-20s %6d %6d %6d %6d %d\n", k, kn[k], kv[k, "PASS"], kv[k, "FAIL"], kv[k, "SKIP"], kc[k]
		}
		printf "%-20s %6d %6d %6d %6d %d\n", "all", n, v["PASS"], v["FAIL"], v["SKIP"], nc
		printf "(a seed counts under every kind it injected)\n"
		printf "wall time %d s; per seed %.1f s of one job\n", wall, n ? t / n : 0
		printf "%d passed, %d failed\n", v["PASS"], v["FAIL"]
	}'
} | tee "$out/summary.txt"
! grep -q $'\tFAIL\t' "$FZ_WORK"/res/* 2> /dev/null
