/*
 * A set of key updates (inserts and deletions) to be committed together:
 * the key writer shared by repair (and, later, format). Keys are kept
 * unpacked, as they go into a journal entry's btree_keys.
 */
#ifndef BCH_KEY_UPDATES_H
#define BCH_KEY_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"

struct bch_key_update {
	uint8_t		btree_id;
	uint8_t		level;
	uint32_t	order;		/* insertion order: later wins */
	uint8_t		*bytes;		/* unpacked key, 8 * bytes[0] long */
};

struct bch_key_updates {
	struct bch_key_update	*v;
	size_t			nr, size;
	uint32_t		next_order;
	/* the key bytes, packed into chunks: freed with the set, never one by one */
	uint8_t			**chunks;
	size_t			nr_chunks;
	size_t			chunk_used;
};

/* insert or overwrite k (header fields and value are copied) */
int bch_key_updates_add(struct bch_key_updates *u, unsigned btree_id, unsigned level,
			const struct bkey *k);
/*
 * Add another set's update without copying its key: the bytes stay the
 * other set's, which must outlive this one and not change meanwhile.
 */
int bch_key_updates_borrow(struct bch_key_updates *u, const struct bch_key_update *k);
/*
 * Drop the list of updates but keep their key bytes, for another set
 * that borrowed them (its entries stay valid until bch_key_updates_free)
 */
void bch_key_updates_drop_list(struct bch_key_updates *u);
/* drop every update of one btree (finished or not) */
void bch_key_updates_drop_btree(struct bch_key_updates *u, unsigned btree_id);
/* delete whatever is at p (size: for extents-style btrees, the key's size) */
int bch_key_updates_delete(struct bch_key_updates *u, unsigned btree_id, unsigned level,
			   struct bpos p, uint32_t size);
/*
 * Sort by (btree, level, position) and keep one update per position: the
 * last one added, except that an insert beats a deletion at the same
 * position whatever the order. Accounting keys are deltas: those at one
 * position are added up.
 */
void bch_key_updates_finish(struct bch_key_updates *u);
void bch_key_updates_free(struct bch_key_updates *u);

static inline size_t bch_key_update_bytes(const struct bch_key_update *k)
{
	return (size_t)k->bytes[0] * 8;
}

/* the position of an update's key (unpacked key header: pos at byte 20) */
static inline struct bpos bch_key_update_pos(const struct bch_key_update *k)
{
	return bpos_decode(k->bytes + 20);
}

/* in a finished set: the first update at or after (btree, level, pos) */
size_t bch_key_updates_lower_bound(const struct bch_key_updates *u, unsigned btree,
				   unsigned level, struct bpos pos);

#endif
