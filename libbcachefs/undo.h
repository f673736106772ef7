/*
 * Undo files: the bytes a repair is about to overwrite, saved before the
 * first write, so that `bcachefs undo` can put the filesystem back byte
 * for byte. Our own format (little-endian), zstd-compressed as a whole:
 *
 *   header   "BCHUNDO1", version u32 (1), nr_regions u32,
 *            filesystem internal UUID [16], created u64 (seconds)
 *   region   device index u32, pad u32, member UUID [16], offset u64,
 *            len u64, xxh64 of the bytes the repair wrote u64,
 *            xxh64 of the saved bytes u64, then the saved bytes
 *   trailer  xxh64 of everything before it, u64
 *
 * The hash of what was written lets undo refuse a target that changed
 * since the repair.
 */
#ifndef BCH_UNDO_H
#define BCH_UNDO_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define BCH_UNDO_MAGIC		"BCHUNDO1"
#define BCH_UNDO_VERSION	1u

struct bch_undo_region {
	unsigned	dev;
	uint8_t		dev_uuid[16];
	uint64_t	offset;
	uint64_t	len;
	uint64_t	after_hash;	/* of the bytes the repair wrote */
	uint8_t		*before;	/* the saved bytes */
};

struct bch_undo {
	uint8_t			fs_uuid[16];
	uint64_t		created;
	unsigned		nr;
	struct bch_undo_region	*r;
};

uint64_t bch_undo_hash(const void *p, size_t len);

/* write atomically (temporary file, fsync, rename) */
int bch_undo_write(const char *path, const struct bch_undo *u, struct bch_error *err);

/*
 * The same, a region at a time, so that no more than one region's saved
 * bytes need be in memory: open (raw_bytes = bch_undo_raw_bytes() of the
 * regions to come), add each region, commit (or abort, which removes the
 * temporary file; commit and abort both free the writer).
 */
struct bch_undo_writer;
uint64_t bch_undo_raw_bytes(unsigned nr, const uint64_t *lens);
int bch_undo_writer_open(const char *path, const uint8_t fs_uuid[16], uint64_t created,
			 unsigned nr, uint64_t raw_bytes, struct bch_undo_writer **w,
			 struct bch_error *err);
int bch_undo_writer_add(struct bch_undo_writer *w, const struct bch_undo_region *r,
			struct bch_error *err);
int bch_undo_writer_commit(struct bch_undo_writer *w, struct bch_error *err);
void bch_undo_writer_abort(struct bch_undo_writer *w);
int bch_undo_read(const char *path, struct bch_undo *u, struct bch_error *err);
void bch_undo_free(struct bch_undo *u);

#endif
