/*
 * The LRU entries the alloc keys call for, kept for the LRU check in
 * little memory: on a large filesystem one bucket in a few is partly
 * filled and wants a fragmentation entry, millions of them.
 *
 * A fragmentation entry's time is a function of its bucket's dirty
 * sectors d (1..bucket size, alloc.c), so those wants are kept per device
 * in one list per d of 32-bit bucket numbers, appended in bucket order as
 * the alloc walk meets them: 4 bytes a want, and the lists read in order
 * are already in LRU position order. Any other want (the read LRU of
 * cached buckets, a bucket number past 2^32) is kept whole.
 *
 * The wants are read back in LRU position order with an iterator; each
 * has its ordinal there, for a found bit.
 */
#ifndef BCH_LRU_WANTS_H
#define BCH_LRU_WANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"

/* a want kept whole: its position's inode word (LRU id and time) and target */
struct bch_lru_want {
	uint64_t	inode;
	uint64_t	bucket;
	uint8_t		dev;
};

struct bch_lru_chunk;

/* the buckets of one device whose fragmentation entry has one time */
struct bch_lru_class {
	struct bch_lru_chunk	*head, *tail;
};

struct bch_lru_frag_dev {
	uint32_t		bucket_size;	/* sectors; the times it gives */
	uint32_t		lru_id;
	struct bch_lru_class	*class;		/* [bucket_size + 1], by d */
};

struct bch_lru_wants {
	size_t			nr;		/* every want */
	struct bch_lru_frag_dev	frag[256];
	uint8_t			frag_devs[256];	/* devices with a class array */
	unsigned		nr_frag_devs;
	struct bch_lru_want	*other;
	size_t			nr_other, other_size;
};

/*
 * Adds the want for the entry (lru_id, time) -> dev:bucket. frag_id is the
 * id of dev's fragmentation LRU on this filesystem and bucket_size dev's
 * bucket size; a want of that id is kept in the class lists. Returns 0 or
 * -BCH_ERR_NOMEM.
 */
int bch_lru_wants_add(struct bch_lru_wants *w, unsigned lru_id, uint64_t time,
		      unsigned dev, uint64_t bucket, unsigned frag_id, unsigned bucket_size);
void bch_lru_wants_free(struct bch_lru_wants *w);

struct bch_lru_wants_iter {
	struct bch_lru_wants		*w;
	size_t				other;		/* next whole want */
	size_t				ordinal;	/* of the next want handed out */
	uint32_t			next_d[256];	/* per device: next nonempty class */
	int				dev;		/* the open class's device, or -1 */
	uint32_t			d;
	const struct bch_lru_chunk	*chunk;
	uint32_t			idx;
};

/* sorts the whole wants (so not while wants are still added) */
void bch_lru_wants_iter_init(struct bch_lru_wants_iter *it, struct bch_lru_wants *w);

/*
 * The next want in LRU position order: true with its position and its
 * ordinal (0, 1, ... in this order), false past the last.
 */
bool bch_lru_wants_next(struct bch_lru_wants_iter *it, struct bpos *pos, size_t *ordinal);

#endif
