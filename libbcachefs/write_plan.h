/*
 * A plan of writes, executed in order after every byte it will overwrite
 * has been saved to an undo file. The repair is one such plan: the
 * journal entry first (flushed), then the superblock copies that make
 * recovery read it; a power cut at any point leaves either the old
 * filesystem (superblocks still clean, the entry ignored) or the repaired
 * one.
 */
#ifndef BCH_WRITE_PLAN_H
#define BCH_WRITE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct bch_fs;

struct bch_write_op {
	unsigned	dev;
	uint64_t	offset;		/* bytes */
	uint8_t		*buf;		/* owned */
	size_t		len;
	bool		flush_after;	/* make everything so far durable first */
};

struct bch_write_plan {
	struct bch_write_op	*ops;
	size_t			nr, size;
};

/* takes ownership of buf */
int bch_write_plan_add(struct bch_write_plan *p, unsigned dev, uint64_t offset,
		       uint8_t *buf, size_t len, bool flush_after);
void bch_write_plan_free(struct bch_write_plan *p);

/*
 * Save the current contents of every region to undo_path (if not NULL),
 * then write. The devices must be open read-write.
 */
int bch_write_plan_execute(struct bch_fs *fs, const struct bch_write_plan *p,
			   const char *undo_path, struct bch_error *err);

#endif
