/* Turning fsck findings into key updates, and committing them. */
#ifndef BCH_FSCK_REPAIR_H
#define BCH_FSCK_REPAIR_H

#include <stdbool.h>

#include "check_buckets.h"
#include "io.h"
#include "key_updates.h"

struct bch_fs;

struct fsck_repair {
	struct bch_key_updates	u;
	uint64_t		journal_seq;
	unsigned		journal_dev;
	uint64_t		journal_offset;
	size_t			journal_bytes;
	unsigned		nr_writes;
};

void fsck_repair_init(struct fsck_repair *r);
void fsck_repair_exit(struct fsck_repair *r);

/* the key updates that fix one finding; *fixed false if we do not repair it */
int fsck_repair_finding(struct fsck_repair *r, const struct bch_finding *f, bool *fixed);

/* alloc_sectors_wrong: the corrected counters, or why we leave the key alone */
const char *fsck_repair_alloc_fix(const struct bch_finding *f, const struct bch_check_geom *g,
				  struct bch_alloc_fix *fix);
/* the corrected alloc key and the accounting delta it implies */
int fsck_repair_alloc_apply(struct fsck_repair *r, const struct bch_finding *f,
			    const struct bch_alloc_fix *fix, const struct bch_check_geom *g);

/*
 * Write everything: undo file first (if undo_path), then the journal
 * entry, then the superblocks. fault (tests): inject a power cut.
 */
int fsck_repair_commit(struct bch_fs *fs, struct fsck_repair *r, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_error *err);

#endif
