/*
 * bcachefs fsck: the passes, the problem table (our finding kinds mapped
 * to upstream's sb_errors names and messages) and the reports.
 */
#ifndef BCH_FSCK_H
#define BCH_FSCK_H

#include <stdbool.h>
#include <stdio.h>

#include "check_buckets.h"
#include "printbuf.h"

struct bch_fs;

/* how a repair mends a finding (fsck_repair.c carries it out) */
enum fsck_fix {
	FIX_NONE,		/* not repaired: the fix text says why */
	FIX_FOLLOWS,		/* mended by the repair of other findings */
	FIX_DELETE_KEY,		/* delete the key at the finding's position */
	FIX_WRITE_BACKPOINTER,	/* write the backpointer the pointer wants */
	FIX_CREATE_LRU,		/* write the LRU entry the alloc key wants */
	FIX_CORRECT_ALLOC,	/* write the alloc key the pointers call for */
	FIX_PTR_GEN,		/* the bucket's gen follows, or the stale pointer goes */
	FIX_ACCOUNTING_DELTA,	/* add the difference to the accounting */
	FIX_SET_OR_DELETE,	/* reconcile phys: the key the backpointer wants */
	FIX_REBUILD_BTREE,	/* write the whole derived btree anew */
};

/*
 * One row per finding kind, in the style of e2fsck's problem table: every
 * name, message and fix of a finding is here and nowhere else.
 */
struct fsck_problem {
	const char		*name;		/* ours: --findings vocabulary, JSON "kind" */
	const char		*upstream;	/* sb_errors name (or ours, see flags) */
	const char		*msg;		/* what is wrong */
	const char		*fix;		/* what repair does; "would <fix>" under -n */
	enum fsck_fix		action;
	unsigned		btree;		/* the btree the fix writes */
	unsigned		flags;
};

#define PR_OUR_NAME	(1u << 0)	/* upstream has no error of its own for this */
#define PR_NOT_ERROR	(1u << 1)	/* informational: the bitmap contents */
#define PR_PREEN	(1u << 2)	/* -p may fix it unattended */

const struct fsck_problem *fsck_problem(enum bch_finding_kind kind);
/* the upstream name of a finding (alloc_sectors_wrong depends on the counter) */
const char *fsck_finding_error_name(const struct bch_finding *f);

/* a finding in the corpus' expected-findings vocabulary (one line, no newline) */
void fsck_finding_line(struct printbuf *out, const struct bch_finding *f,
		       const struct bch_check_geom *g, unsigned sb_version);
/*
 * for people, one line: "<upstream name>: <message>: <key and details>",
 * and with would "; would <fix>" (-n)
 */
void fsck_finding_text(struct printbuf *out, const struct bch_finding *f,
		       unsigned sb_version, bool would);

#endif
