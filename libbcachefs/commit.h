/*
 * Committing a set of key updates to a filesystem the way upstream's own
 * commits reach the disk: one journal entry that recovery replays, then
 * the superblocks marked for replay (write_plan.h says why that order is
 * atomic). Shared by repair and by the test tools that inject keys.
 */
#ifndef BCH_COMMIT_H
#define BCH_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "io.h"
#include "key_updates.h"

struct bch_fs;

struct bch_commit_info {
	uint64_t	journal_seq;
	unsigned	journal_dev;
	uint64_t	journal_offset;
	size_t		journal_bytes;
	unsigned	nr_writes;
};

/*
 * Write updates u (finished here): undo file first when undo_path is set,
 * then the journal entry, then the superblocks. fault, for tests, wraps
 * the devices in the fault-injecting back end first. Nothing to do: 0.
 */
int bch_commit_updates(struct bch_fs *fs, struct bch_key_updates *u, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_commit_info *info,
		       struct bch_error *err);

/* what a commit written into the btrees did */
struct bch_btree_commit_info {
	uint64_t	journal_seq;	/* of its clean-shutdown entry */
	size_t		nr_updates;	/* key updates asked for */
	size_t		nr_bookkeeping;	/* key updates the new and freed nodes needed */
	size_t		nr_nodes;	/* new nodes written */
	size_t		nr_freed;	/* old nodes freed */
	uint64_t	keys_written;	/* keys in the new nodes */
	unsigned	nr_btrees;	/* btrees rewritten */
	unsigned	iterations;	/* layout runs until the bookkeeping settled */
	unsigned	nr_writes;
};

/*
 * Write updates u (finished here, and freed once they are in the new
 * nodes: info says how many there were) into the btrees copy-on-write
 * (btree_write.h), with the bookkeeping of the nodes written and freed
 * (btree_alloc.h), and leave the filesystem clean: new nodes first, then
 * the journal entry of a clean shutdown, then every superblock copy,
 * marked clean, with the new roots. A filesystem that was not clean has
 * its journal replayed into the btrees in the same commit. rebuild, if
 * not NULL, lists btrees whose old contents are dropped: u holds all of
 * their keys. Nothing to do (no updates, no rebuild): 0, nothing written,
 * not even the replay of an unclean filesystem's journal.
 */
int bch_commit_btrees(struct bch_fs *fs, struct bch_key_updates *u, const bool *rebuild,
		      const char *undo_path, struct bch_io_fault *fault,
		      struct bch_btree_commit_info *info, struct bch_error *err);

#endif
