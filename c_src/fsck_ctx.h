/*
 * bcachefs fsck, the command's parts: options and state (here), the passes
 * (fsck_passes.c), the reports (fsck_report.c), the repair run
 * (fsck_repair_run.c) and the key updates it writes (fsck_repair.c).
 */
#ifndef BCH_FSCK_CTX_H
#define BCH_FSCK_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check_buckets.h"
#include "io.h"
#include "printbuf.h"
#include "rebuild.h"

struct bch_fs;
struct fsck_progress;
struct json_object;

#define FSCK_RATELIMIT	10u

enum fsck_pass {
	PASS_NODES,
	PASS_ALLOC_BP,
	PASS_LRU,
	PASS_POINTERS,
	PASS_BUCKET_INDEX,
	PASS_ACCOUNTING,
	PASS_RECONCILE_PHYS,
	PASS_NR,
};

struct fsck_pass_info {
	const char	*name;
	const char	*desc;
	unsigned	needs;		/* passes whose results it works from (bits) */
};

#define PASS_BIT(p)	(1u << (p))
/* the copygc verdict: the mismatch bitmaps and the LRU entries past a device end */
#define VERDICT_NEEDS	(PASS_BIT(PASS_ALLOC_BP) | PASS_BIT(PASS_LRU))

extern const struct fsck_pass_info fsck_passes[PASS_NR];

/*
 * btrees the btree_nodes pass reads whole (the derived ones, which it
 * rebuilds, and accounting); of the others the interior nodes. The
 * leaves of alloc and backpointers, the bulk of what fsck reads, are
 * checked by the alloc_backpointers pass as it reads them (their
 * iterators tell node_lost), so they are read once.
 */
static inline bool fsck_nodes_pass_reads_leaves(unsigned id, unsigned sb_version)
{
	if (id == BTREE_ID_alloc || id == BTREE_ID_backpointers)
		return false;
	return bch_btree_is_derived(id, sb_version) || id == BTREE_ID_accounting;
}

/* btrees whose leaves point into data buckets: the pointers pass reads them whole */
static inline bool fsck_btree_has_data(unsigned id)
{
	return id == BTREE_ID_extents || id == BTREE_ID_reflink || id == BTREE_ID_stripes;
}

enum fsck_mode {
	MODE_CHECK,	/* -n, or no terminal to ask on */
	MODE_YES,	/* -y: fix everything */
	MODE_PREEN,	/* -p/-a: fix what is safe unattended */
	MODE_ASK,	/* default on a terminal: ask per error type */
};

struct fsck_opts {
	const char	*prog;		/* how to name us in "next:" ("bcachefs fsck") */
	char * const	*devs;		/* as given */
	unsigned	nr_devs;
	enum fsck_mode	mode;
	bool		mode_given;
	const char	*undo_file;	/* -z; NULL: a new file in the current directory */
	bool		no_undo;
	bool		full;		/* every pointer, every backpointer's target */
	bool		stats;		/* --stats: what was read, time and memory */
	unsigned	threads;	/* --threads (0: the online CPUs) */
	bool		verbose;
	bool		findings;	/* print the expected-findings vocabulary */
	const char	*json_file;	/* "-" for stdout */
	bool		json;
	const char	*dump_dir;
	const char	*passphrase_file;
	bool		pass[PASS_NR];
	bool		rebuild[BTREE_ID_NR_MAX];	/* --rebuild: btrees written anew */
	bool		any_rebuild;
	int		progress_fd;	/* -C: -1 none, 0 a line on stderr, N protocol to fd N */
	/* fsck.bcachefs (cmd_fsck_compat.c) */
	bool		compat_skip_clean;	/* -p without -f: a clean filesystem is not checked */
	bool		skip_mounted;	/* -M */
	bool		allow_ro_mounted; /* repair a read-only mount, then ask for a reboot */
	const char	*mountinfo;	/* the mount table (a test build may give another) */
	unsigned	io_flags;	/* how the devices are opened (fsck_main) */
	/* test build only (BCH_TEST_HOOKS): a power cut during the repair */
	bool		inject_fault;
	struct bch_io_fault fault;
};

struct fsck_ctx {
	struct bch_fs		*fs;
	struct fsck_opts	*o;
	struct bch_check	chk;
	unsigned		printed[BCH_F_NR];
	uint64_t		nr_findings;
	struct json_object	*jfindings;
	struct printbuf		pb;
	FILE			*out;	/* human report; NULL when silent */
	bool			collect;	/* keep every finding (repair) */
	struct bch_finding	*found;
	size_t			nr_found, found_size;
	/*
	 * Missing backpointers, by far the most numerous finding (all of them
	 * when the btree was lost): kept in this short form for the repair
	 */
	struct fsck_bp_missing {
		struct bpos		pos;
		struct bch_backpointer	want;
		uint64_t		bucket;
		uint8_t			dev;
	}			*bpm;
	size_t			nr_bpm, bpm_size;
	uint64_t		nr_declined;	/* findings the user or -p chose not to fix */
	char			undo_path[512];	/* the undo file a repair wrote, or "" */
	struct fsck_progress	*progress;	/* NULL: none */
	/* messages findings point at (their why), freed with them */
	char			**notes;
	size_t			nr_notes;
	/*
	 * the freespace, need_discard and bucket_gens keys the alloc keys call
	 * for, derived during the alloc x backpointers walk (idx_ready), so the
	 * bucket_index pass need not walk alloc again unless corrections
	 * found later change the keys
	 */
	struct bch_from_alloc	*idx_set;
	struct bch_key_updates	idx_want[3];
	unsigned		idx_btrees[3], nr_idx;
	bool			idx_ready;
	/* --stats: wall seconds of opening and of each pass (0: not run) */
	double			open_s;
	double			pass_s[PASS_NR];
	/*
	 * the alloc x backpointers pass: the CPU time of the thread running
	 * it, and of all node reading and decoding meanwhile (one thread:
	 * the difference is the merge walk's own)
	 */
	double			merge_thread_cpu_s, merge_node_cpu_s;
};

/* fsck_passes.c */
int fsck_run_passes(struct fsck_ctx *c, struct bch_error *err);

/* fsck_report.c */
int fsck_on_finding(void *ctx, const struct bch_finding *f);
void fsck_free_findings(struct fsck_ctx *c);
void fsck_print_ratelimited(struct fsck_ctx *c);
void fsck_report_devices(struct fsck_ctx *c, struct json_object *jdevs);
void fsck_report_copygc(struct fsck_ctx *c, struct json_object *jroot);
int fsck_dump_bitmaps(struct fsck_ctx *c);
void fsck_report_summary(struct fsck_ctx *c, int status, const char *what,
			 struct json_object *jroot);
int fsck_write_json(const struct fsck_opts *o, struct json_object *jroot);
/* --json when the check could not run: {"exit_status", "error"} */
void fsck_write_json_failure(const struct fsck_opts *o, int status, const char *why);

/* cmd_fsck.c: check (and repair) with these options; the exit status */
int fsck_main(struct fsck_opts *o, char * const *devs, unsigned nr_devs);
void fsck_opts_init(struct fsck_opts *o);
/* -C FD */
int parse_progress_fd(const char *s, int *fd);

/*
 * fsck_passes.c: is the filesystem clean enough not to be checked (-p)?
 * Shut down cleanly, no errors recorded, and no LRU entry pointing past the
 * end of a device (the copygc fault, which a clean shutdown does not rule
 * out). *status: 0, or 8 if the LRU could not be read.
 */
bool fsck_is_clean(struct bch_fs *fs, int *status);

/* fsck_progress.c: progress line (fd 0) or e2fsck's protocol (fd > 0) */
struct fsck_progress *fsck_progress_new(struct bch_fs *fs, int fd, const char *devname);
void fsck_progress_free(struct fsck_progress *p);
void fsck_progress_pass(struct fsck_progress *p, const bool run[PASS_NR], enum fsck_pass pass,
			bool done);
/* erase the progress line before other output (p may be NULL) */
void fsck_progress_clear(struct fsck_progress *p);

/* fsck_repair_run.c: 1 all fixed, 4 errors left, 0 nothing to do, < 0 error */
int fsck_do_repair(struct fsck_ctx *c, char * const *devs, unsigned nr_devs,
		   struct bch_error *err);

#endif
