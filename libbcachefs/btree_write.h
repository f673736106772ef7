/*
 * Writing key updates into the btrees themselves, copy-on-write: every
 * leaf an update falls into is merged with its updates and written again
 * as new nodes in free buckets, the interior nodes of that btree are
 * rebuilt above the new and the untouched leaves, and the btree gets a
 * new root. Nothing live is overwritten; the old nodes are freed by the
 * bookkeeping (btree_alloc.h) in the same commit.
 *
 * The layout is a pure function of the old tree and the updates, so it
 * can be run dry (to count the nodes a commit needs, and so the buckets
 * and bookkeeping keys) and then for real with the same result.
 * bcachefs-format.md §5 (nodes, topology), §7.1 (btree_ptr_v2).
 */
#ifndef BCH_BTREE_WRITE_H
#define BCH_BTREE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "btree_node.h"
#include "errors.h"
#include "extents.h"
#include "key_updates.h"

struct bch_fs;
struct bch_orphan_bucket;
struct bch_write_plan;

#define BCH_NODE_MAX_REPLICAS	4u

/* where one replica of a new node goes */
struct bch_node_slot {
	uint8_t		dev;
	uint8_t		gen;
	uint64_t	sector;
};

/* a node of the new trees, in the order the layout emits them */
struct bch_new_node {
	uint8_t			btree_id;
	uint8_t			level;
	struct bpos		min_key;
	struct bpos		max_key;
	unsigned		nr_ptrs;
	struct bch_node_slot	ptr[BCH_NODE_MAX_REPLICAS];
};

/* a node of the old trees that the new ones no longer reference */
struct bch_old_node {
	uint8_t				btree_id;
	uint8_t				level;
	struct bpos			max_key;
	struct bch_btree_ptr_info	ptr;
};

/* the old shape of one btree: its leaves in order, its interior nodes */
struct bch_rw_leaf {
	struct bch_node_expect	x;
	uint8_t			*key;		/* its pointer key as in the parent (owned) */
	bool			dirty;		/* updates fall into it: rewritten */
};

struct bch_rw_btree {
	bool			loaded;
	bool			touched;	/* rewritten in this commit */
	bool			replace;	/* old contents dropped: the updates are all of it */
	bool			lost;		/* nodes unreadable: only a replace can rewrite it */
	struct bch_rw_leaf	*leaves;
	size_t			nr_leaves;
	struct bch_old_node	*interior;
	size_t			nr_interior;
	/* new root, after a real run */
	bool			new_root;
	uint8_t			root_level;
	uint8_t			*root_key;	/* unpacked btree_ptr_v2 key at SPOS_MAX (owned) */
};

struct bch_btree_rewrite {
	struct bch_fs		*fs;
	struct bch_rw_btree	bt[BTREE_ID_NR_MAX];
	unsigned		replicas;	/* pointers per new node */
	uint64_t		journal_seq;	/* for new bsets and accounting versions */

	/* what a layout run produced */
	struct bch_new_node	*nodes;
	size_t			nr_nodes, nodes_size;
	struct bch_old_node	*freed;
	size_t			nr_freed, freed_size;
	uint64_t		keys_written;

	/* buckets of nodes lost below unreadable ones (btree_alloc.h), freed too */
	struct bch_orphan_bucket *orphans;
	size_t			nr_orphans;

	/* a real run: slots[i * replicas + r] is replica r of node i */
	const struct bch_node_slot *slots;
	size_t			nr_slots;
	struct bch_write_plan	*plan;
};

void bch_btree_rewrite_init(struct bch_btree_rewrite *rw, struct bch_fs *fs);
void bch_btree_rewrite_exit(struct bch_btree_rewrite *rw);

/*
 * Lay out every touched btree with the updates u (finished, level 0
 * only; accounting keys are deltas). Without rw->slots the run is dry:
 * rw->nodes and rw->freed are filled, nothing is built. With slots (one
 * per replica of each node a dry run emitted), the nodes are built and
 * their writes added to rw->plan, and each touched btree gets its root.
 */
int bch_btree_rewrite_run(struct bch_btree_rewrite *rw, const struct bch_key_updates *u,
			  struct bch_error *err);

/* read the old shape of btree b (done by the first run otherwise) */
int bch_btree_rewrite_load(struct bch_btree_rewrite *rw, unsigned b, struct bch_error *err);

/* mark the btrees the updates fall into (and, unclean, those with journal keys) */
void bch_btree_rewrite_touch(struct bch_btree_rewrite *rw, const struct bch_key_updates *u);

#endif
