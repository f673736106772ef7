/*
 * Rewriting the superblock copies: marked not clean (so recovery reads
 * the journal), "always" feature bits set, sequence number bumped, each
 * copy with its own offset and checksum. bcachefs-format.md §2.7, §4.9.
 */
#ifndef BCH_SUPER_WRITE_H
#define BCH_SUPER_WRITE_H

#include "write_plan.h"

struct bch_fs;

/* features upstream sets whenever the filesystem is dirty (§2.5) */
#define BCH_FEATURES_ALWAYS	0x63200ULL

/*
 * Add one write per superblock copy of every opened device; the replicas
 * field gains {journal, journal_dev} if it lacks it (1.33+ drop it when
 * clean, and recovery wants the replayed entry's device marked).
 */
int bch_sb_plan_mark_dirty(struct bch_fs *fs, struct bch_write_plan *plan,
			   unsigned journal_dev, struct bch_error *err);

#endif
