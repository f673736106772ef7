/*
 * In-order iteration over a btree as recovery would see it: the keys of
 * the nodes reachable from the root, with the journal keys overlaid
 * (journal wins at equal positions, journal deletions hide keys), at
 * every level. Children of an interior node are read ahead in batches.
 */
#ifndef BCH_BTREE_ITER_H
#define BCH_BTREE_ITER_H

#include <stdbool.h>

#include "btree_node.h"

struct bch_fs;

#define BCH_ITER_READAHEAD	16u

/* a node that cannot be read, or whose pointer is unusable: x says what it was to be */
typedef int (*bch_node_lost_fn)(void *ctx, const struct bch_node_expect *x,
				const struct bch_error *why, struct bch_error *err);

struct bch_iter_level {
	bool			loaded;
	struct bch_btree_node	node;
	struct bkey		*kids;		/* node keys merged with journal keys */
	size_t			nr_kids;
	bool			as_read;	/* a leaf no journal key falls in: its keys as read */
	size_t			idx;		/* next child to descend into */
	/* read-ahead of children kids[ra_start .. ra_start + ra_nr) */
	struct bch_btree_node	ra[BCH_ITER_READAHEAD];
	size_t			ra_start;
	unsigned		ra_nr;
	bool			ra_used[BCH_ITER_READAHEAD];
	/* the batch after it, being read in the background (fs->workers) */
	struct bch_nodes_job	*next;
	size_t			next_start;
};

struct bch_btree_iter {
	struct bch_fs		*fs;
	unsigned		btree_id;
	struct bpos		start;
	struct bpos		end;
	bool			no_root;
	bool			no_journal;	/* the btree nodes alone */
	bool			started;
	bool			done;
	unsigned		root_level;
	struct bch_iter_level	l[BCH_BTREE_MAX_DEPTH];
	/* current leaf: its keys (leaf_keys()), the next one to hand out */
	const struct bkey	*leaf;
	size_t			leaf_nr;
	size_t			leaf_idx;
	/* all of the leaf's range is in [start, end]: no key needs comparing */
	bool			leaf_inside;
	/* journal keys of (btree, level 0) */
	size_t			j_idx;
	size_t			j_end;
	/*
	 * A leaf that cannot be read is told to lost (bch_btree_iter_on_lost)
	 * before anything else happens: then, if its btree is one whose
	 * unreadable nodes are passed over (fs->skip_unreadable, which lost
	 * may set), the iteration goes on after it, else it ends in the error.
	 */
	bch_node_lost_fn	lost;
	void			*lost_ctx;
};

void bch_btree_iter_init(struct bch_btree_iter *it, struct bch_fs *fs, unsigned btree_id,
			 struct bpos start, struct bpos end);
/* tell lost(ctx, ...) of each leaf that cannot be read (see lost above) */
static inline void bch_btree_iter_on_lost(struct bch_btree_iter *it, bch_node_lost_fn lost,
					  void *ctx)
{
	it->lost = lost;
	it->lost_ctx = ctx;
}

/* iterate the keys in the btree nodes only, without the journal overlay */
static inline void bch_btree_iter_nodes_only(struct bch_btree_iter *it)
{
	it->no_journal = true;
}

/*
 * Next key in [start, end]: returns 1 and sets *k (valid until the next
 * call), 0 at the end, or a negative error. Deleted keys are never
 * returned; whiteouts are.
 */
int bch_btree_iter_next(struct bch_btree_iter *it, struct bkey *k, struct bch_error *err);
void bch_btree_iter_exit(struct bch_btree_iter *it);

/* the expectation for the root node of a btree (false if it has none) */
bool bch_btree_root_expect(struct bch_fs *fs, unsigned btree_id,
			   struct bch_node_expect *x, struct bch_error *err);

/*
 * The keys of node n as recovery sees them: overlaid with the journal keys
 * of its btree, level and range (journal wins, deletions hide). *out is
 * allocated; its values point into the node and the journal.
 */
int bch_btree_node_overlay(struct bch_fs *fs, const struct bch_btree_node *n,
			   struct bkey **out, size_t *nr_out, struct bch_error *err);

/*
 * What child i of interior node n (its kids: keys overlaid with the
 * journal) must look like; an error if its pointer is unusable or the
 * children do not tile the node's range.
 */
int bch_btree_child_expect(struct bch_fs *fs, const struct bch_btree_node *n,
			   const struct bkey *kids, size_t i, struct bch_node_expect *x,
			   struct bch_error *err);

/*
 * Visit every node of a btree, parents before children, children in key
 * order. fn gets the node and the pointer it was reached by.
 */
typedef int (*bch_node_visit_fn)(void *ctx, const struct bch_node_expect *x,
				 const struct bch_btree_node *n, const struct bkey *kids,
				 size_t nr_kids, struct bch_error *err);
/*
 * The walk itself: nodes at min_level and above, parents first. Without
 * lost, a node that cannot be read ends the walk with its error; with it,
 * lost is told and the node's subtree passed over.
 */
int bch_btree_walk(struct bch_fs *fs, unsigned btree_id, unsigned min_level,
		   bch_node_visit_fn fn, bch_node_lost_fn lost, void *ctx, struct bch_error *err);
int bch_btree_walk_nodes(struct bch_fs *fs, unsigned btree_id, bch_node_visit_fn fn,
			 void *ctx, struct bch_error *err);
/* the same, without reading nodes below min_level (their pointers are visited) */
int bch_btree_walk_nodes_from(struct bch_fs *fs, unsigned btree_id, unsigned min_level,
			      bch_node_visit_fn fn, void *ctx, struct bch_error *err);

#endif
