/*
 * Rebuilding the derived btrees: every key of backpointers, lru,
 * freespace, need_discard, bucket_gens (and from 1.33 the reconcile
 * *_phys btrees) follows from the alloc keys and the pointers, so a btree
 * of theirs that cannot be read is written anew from those, the way
 * upstream's fsck regenerates them. bcachefs-format.md §7.7-7.10
 * (upstream alloc_background.c, lru.c, backpointers.c).
 */
#ifndef BCH_REBUILD_H
#define BCH_REBUILD_H

#include <stdbool.h>

#include "btree_iter.h"
#include "errors.h"
#include "key_updates.h"

struct bch_fs;

/* can btree_id be rebuilt from the alloc keys and the pointers? */
bool bch_btree_is_derived(unsigned btree_id, unsigned sb_version);

/*
 * Every key btree_id should hold, appended to out (finish it after).
 * Btree nodes that cannot be read are skipped (their pointers are still
 * known from their parents); the alloc btree and the btrees holding
 * pointers must be readable.
 */
int bch_rebuild_keys(struct bch_fs *fs, unsigned btree_id, struct bch_key_updates *out,
		     struct bch_error *err);
/* the same, reading the alloc keys as fixes (sorted) corrects or adds them */
struct bch_alloc_fix;
int bch_rebuild_keys_fixed(struct bch_fs *fs, unsigned btree_id,
			   const struct bch_alloc_fix *fixes, size_t nr_fixes,
			   struct bch_key_updates *out, struct bch_error *err);
/*
 * The btrees made from the alloc keys alone (lru, freespace, need_discard,
 * bucket_gens), up to BCH_REBUILD_FROM_ALLOC_MAX of them from one walk of
 * the alloc btree: out[i] gets the keys of btrees[i].
 */
#define BCH_REBUILD_FROM_ALLOC_MAX	4u
int bch_rebuild_from_alloc_fixed(struct bch_fs *fs, const unsigned *btrees, unsigned nr,
				 const struct bch_alloc_fix *fixes, size_t nr_fixes,
				 struct bch_key_updates *out, struct bch_error *err);

/*
 * The same, fed by a walk of the caller's (fsck's alloc walk, so the
 * alloc btree is read once): begin, then every alloc key in order (those
 * outside their device are passed over here), then end; free always.
 */
struct bch_alloc_v4;
struct bch_from_alloc;
int bch_from_alloc_begin(struct bch_fs *fs, const unsigned *btrees, unsigned nr,
			 struct bch_key_updates *out, struct bch_from_alloc **set,
			 struct bch_error *err);
int bch_from_alloc_key(struct bch_from_alloc *set, unsigned dev, uint64_t bucket,
		       const struct bch_alloc_v4 *a);
int bch_from_alloc_end(struct bch_from_alloc *set, struct bch_error *err);
void bch_from_alloc_free(struct bch_from_alloc *set);

/*
 * Visit every node pointer of btree_id reachable from its root (fn gets
 * the pointer key and the level of the node holding it: the root key
 * the root's level + 1), and with leaves, every leaf key (level 0). A
 * node that cannot be read (or whose pointer is unusable) goes to lost,
 * with why, and its subtree is passed over (silently when lost is NULL).
 * fn may be NULL too.
 */
typedef int (*bch_tree_key_fn)(void *ctx, unsigned btree_id, unsigned level,
			       const struct bkey *k, struct bch_error *err);
int bch_btree_walk_tolerant(struct bch_fs *fs, unsigned btree_id, bool leaves,
			    bch_tree_key_fn fn, bch_node_lost_fn lost, void *ctx,
			    struct bch_error *err);

#endif
