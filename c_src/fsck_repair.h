/* Turning fsck findings into key updates, and committing them. */
#ifndef BCH_FSCK_REPAIR_H
#define BCH_FSCK_REPAIR_H

#include <stdbool.h>

#include "check_buckets.h"
#include "commit.h"
#include "io.h"
#include "key_updates.h"

struct bch_fs;
struct ptr_drop;

struct fsck_repair {
	struct bch_key_updates		u;
	bool				rebuild[BTREE_ID_NR_MAX];	/* btrees rebuilt whole */
	/* the alloc keys as corrected (sorted): rebuilt btrees follow them */
	const struct bch_alloc_fix	*fixes;
	size_t				nr_fixes;
	/* stale pointers to drop from their extents */
	struct ptr_drop			*drops;
	size_t				nr_drops, drops_size;
	struct bch_btree_commit_info	info;
};

void fsck_repair_init(struct fsck_repair *r);
void fsck_repair_exit(struct fsck_repair *r);

/* the key updates that fix one finding; *fixed false if we do not repair it */
int fsck_repair_finding(struct fsck_repair *r, const struct bch_finding *f, bool *fixed);

/*
 * ptr_gen_mismatch: the stale data pointer to drop from its extent (0),
 * or 1 if it is not dropped (btree node pointers, stripes)
 */
int fsck_repair_drop_ptr(struct fsck_repair *r, const struct bch_finding *f);
/*
 * The extents rewritten without the pointers to drop, and their
 * accounting; *nr_done: how many of the pointers were dropped
 */
int fsck_repair_drop_ptrs(struct bch_fs *fs, struct fsck_repair *r, size_t *nr_done,
			  struct bch_error *err);

/* a corrected or rebuilt alloc key, written as it is */
int fsck_repair_alloc_apply(struct fsck_repair *r, const struct bch_alloc_fix *fix);

/*
 * Write everything into the btrees (commit.h): undo file first (if
 * undo_path), then the new nodes, the clean-shutdown journal entry and
 * the superblocks. fault (tests): inject a power cut.
 */
int fsck_repair_commit(struct bch_fs *fs, struct fsck_repair *r, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_error *err);

#endif
