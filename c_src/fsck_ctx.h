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
#include "printbuf.h"

struct bch_fs;
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
};

extern const struct fsck_pass_info fsck_passes[PASS_NR];

enum fsck_mode {
	MODE_CHECK,	/* -n, or no terminal to ask on */
	MODE_YES,	/* -y: fix everything */
	MODE_PREEN,	/* -p/-a: fix what is safe unattended */
	MODE_ASK,	/* default on a terminal: ask per error type */
};

struct fsck_opts {
	enum fsck_mode	mode;
	bool		mode_given;
	const char	*undo_file;	/* -z; NULL: a new file in the current directory */
	bool		no_undo;
	bool		verbose;
	bool		findings;	/* print the expected-findings vocabulary */
	const char	*json_file;	/* "-" for stdout */
	bool		json;
	const char	*dump_dir;
	const char	*passphrase_file;
	bool		pass[PASS_NR];
	bool		rebuild[BTREE_ID_NR_MAX];	/* --rebuild: btrees written anew */
	bool		any_rebuild;
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
	/* messages findings point at (their why), freed with them */
	char			**notes;
	size_t			nr_notes;
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
int fsck_write_json(struct fsck_ctx *c, struct json_object *jroot);

/* fsck_repair_run.c: 1 all fixed, 4 errors left, 0 nothing to do, < 0 error */
int fsck_do_repair(struct fsck_ctx *c, char * const *devs, unsigned nr_devs,
		   struct bch_error *err);

#endif
