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

#endif
