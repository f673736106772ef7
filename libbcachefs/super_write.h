/*
 * Rewriting the superblock copies: marked not clean (so recovery reads
 * the journal), "always" feature bits set, sequence number bumped, each
 * copy with its own offset and checksum. bcachefs-format.md §2.7, §4.9.
 */
#ifndef BCH_SUPER_WRITE_H
#define BCH_SUPER_WRITE_H

#include "btree_write.h"
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

/* what a commit written into the btrees changes in the superblock */
struct bch_sb_clean_update {
	uint64_t			journal_seq;	/* of the clean-shutdown journal entry */
	unsigned			journal_dev;
	unsigned			journal_bucket_idx;	/* where writing resumes */
	unsigned			journal_end_sectors;
	const struct bch_node_slot	*slots;		/* new nodes: btree_allocated_bitmap */
	size_t				nr_slots;
	unsigned			node_sectors;
};

/*
 * Add one write per superblock copy of every opened device, marking the
 * filesystem clean as upstream's clean shutdown does: the clean field
 * with the current roots (fs->journal.roots) and journal_seq, "needs
 * recovery" features cleared, alloc_info set, sequence numbers bumped,
 * the new nodes in each member's btree_allocated_bitmap and the journal
 * resume point after the clean entry.
 */
int bch_sb_plan_mark_clean(struct bch_fs *fs, struct bch_write_plan *plan,
			   const struct bch_sb_clean_update *c, struct bch_error *err);

/*
 * Add replicas entry entry (v1 form: data type, nr_devs, nr_required,
 * devs) to the replicas field of every opened device's superblock, seq
 * bumped: 1. Already listed by the newest superblock: 0, nothing
 * written. Upstream lists every replicas set of user data there
 * (alloc/replicas.c, replicas marking) before data of that set is committed.
 * The open state is not updated (bch_fs_reload()).
 */
int bch_sb_write_replicas(struct bch_fs *fs, const uint8_t *entry, struct bch_error *err);

#endif
