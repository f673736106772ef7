/*
 * Writing one journal entry that upstream recovery replays: the keys of
 * a set of updates plus the btree roots, placed after the newest entry
 * on disk, with a sequence number after every one in use.
 * bcachefs-format.md §4.9 (what such an entry needs), §4.2-4.4 (layout).
 */
#ifndef BCH_JOURNAL_WRITE_H
#define BCH_JOURNAL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "key_updates.h"

struct bch_fs;

struct bch_journal_write {
	unsigned	dev;
	uint64_t	offset;		/* bytes from the start of the device */
	uint64_t	seq;
	uint64_t	last_seq;
	uint8_t		*buf;		/* the entry, padded to the block size */
	size_t		len;
};

/*
 * Build the entry for updates u (finished) and choose where it goes.
 * For a clean filesystem the roots come from the clean field and
 * last_seq = seq; otherwise last_seq stays that of the replay range, so
 * the entries not yet flushed are still replayed.
 */
int bch_journal_write_prepare(struct bch_fs *fs, const struct bch_key_updates *u,
			      struct bch_journal_write *w, struct bch_error *err);
/*
 * The entry a clean shutdown ends with: no keys, every root, last_seq =
 * seq (nothing before it is needed any more). Placed like the above,
 * without overwriting entries an unclean filesystem still replays.
 * *bucket_idx and *end_sectors say where it ends (member resume point).
 */
int bch_journal_write_prepare_clean(struct bch_fs *fs, struct bch_journal_write *w,
				    unsigned *bucket_idx, unsigned *end_sectors,
				    struct bch_error *err);
/*
 * The superblock clean field (8-byte field header included) for a clean
 * shutdown at journal_seq, with the current roots, usage and clocks; at
 * least min_bytes long. *out is allocated.
 */
int bch_clean_field_build(struct bch_fs *fs, uint64_t journal_seq, size_t min_bytes,
			  uint8_t **out, size_t *len, struct bch_error *err);
/* the sequence number the next entry gets */
uint64_t bch_journal_next_seq(struct bch_fs *fs);
void bch_journal_write_free(struct bch_journal_write *w);

#endif
