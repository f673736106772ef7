/*
 * Point and short range lookups in the btrees as recovery sees them
 * (journal overlaid), through a small cache of decoded nodes: what the
 * bookkeeping of a commit does thousands of times, each near the last.
 * An iterator would read a whole batch of leaves ahead for each.
 */
#ifndef BCH_BTREE_LOOKUP_H
#define BCH_BTREE_LOOKUP_H

#include <stdint.h>

#include "btree_node.h"

struct bch_fs;

#define BCH_LOOKUP_CACHE_NODES	32u

struct bch_lookup_node {
	bool			used;
	uint64_t		last_use;
	struct bch_btree_node	n;
	struct bkey		*kids;		/* overlaid with the journal */
	size_t			nr_kids;
};

struct bch_lookup_cache {
	struct bch_fs		*fs;
	/*
	 * Btrees (bit = id) being replaced whole: their old nodes are never
	 * read, the caller's updates hold every key (see btree_alloc.c)
	 */
	uint64_t		replaced;
	uint64_t		clock;
	struct bch_lookup_node	nodes[BCH_LOOKUP_CACHE_NODES];
};

void bch_lookup_cache_init(struct bch_lookup_cache *c, struct bch_fs *fs);
void bch_lookup_cache_exit(struct bch_lookup_cache *c);

/*
 * The first key of btree (level 0) in [start, end]: 1 and *k (valid until
 * the next lookup), 0 if there is none, or a negative error. Deleted keys
 * are never returned.
 */
int bch_lookup_next(struct bch_lookup_cache *c, unsigned btree, struct bpos start,
		    struct bpos end, struct bkey *k, struct bch_error *err);

#endif
