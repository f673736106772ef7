/*
 * Buckets for new btree nodes, and the bookkeeping upstream keeps for
 * nodes written and freed: alloc keys, freespace / need_discard entries,
 * fragmentation LRU entries, bucket_gens, backpointers of the nodes, and
 * the accounting (dev_data_type, replicas, btree). Upstream does this in
 * its alloc and btree-pointer triggers; we compute the same key updates.
 * bcachefs-format.md §7.5-7.11 (upstream alloc_background.c
 * the alloc trigger; buckets.c, disk_accounting.c).
 */
#ifndef BCH_BTREE_ALLOC_H
#define BCH_BTREE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "btree_lookup.h"
#include "btree_write.h"
#include "errors.h"
#include "key_updates.h"

struct bch_fs;

/* how many replicas new nodes get, and on which devices (dev_out[0..n)) */
unsigned bch_node_replica_devs(struct bch_fs *fs, uint8_t dev_out[BCH_NODE_MAX_REPLICAS]);

/* is bucket b of device dev where a superblock copy or the journal lives? */
bool bch_dev_is_meta_bucket(const struct bch_fs *fs, unsigned dev, uint64_t b);

/*
 * Slots for nr nodes of replicas pointers each (slots[i * replicas + r]),
 * in buckets that are free in the alloc btree as u0 leaves it, hold no
 * backpointer and are neither superblock nor journal buckets; several
 * nodes share a bucket when it has room. Deterministic: the same request
 * gets the same slots. *slots is allocated here.
 */
int bch_node_slots_alloc(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			 size_t nr, unsigned replicas, const uint8_t *devs,
			 struct bch_node_slot **slots, struct bch_error *err);

/*
 * The key updates that account for the new nodes (their slots filled in)
 * and the freed ones, on top of u0 (finished): appended to out.
 * journal_seq is the sequence number of the commit. Lookups of the old
 * state go through lc (btree_lookup.h).
 */
int bch_btree_bookkeeping(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			  const struct bch_new_node *nodes, size_t nr_nodes,
			  const struct bch_old_node *freed, size_t nr_freed,
			  const struct bch_orphan_bucket *orphans, size_t nr_orphans,
			  uint64_t journal_seq, struct bch_key_updates *out,
			  struct bch_error *err);

/*
 * Buckets holding btree sectors that no readable node accounts for: the
 * nodes below an unreadable interior node of a btree being rebuilt
 * (lost_btree). Each gets freed of them in the bookkeeping.
 */
struct bch_orphan_bucket {
	uint8_t		dev;
	uint64_t	bucket;
	uint32_t	nodes;		/* to take off its alloc key (as the repair left it) */
	uint32_t	acct_nodes;	/* to take off the accounting (as it is on disk) */
	uint8_t		btree_id;
};

int bch_btree_orphan_buckets(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			     unsigned lost_btree, struct bch_orphan_bucket **out, size_t *nr,
			     struct bch_error *err);

/* the current IO clock (read 0, write 1) of the state we continue from */
uint64_t bch_fs_io_clock(struct bch_fs *fs, unsigned rw);

/* accounting positions (bcachefs-format.md §7.11): s is the counter's 20 identifying bytes */
struct bpos bch_acct_pos(const uint8_t s[20]);
struct bpos bch_acct_replicas_pos(unsigned data_type, unsigned nr_devs, const uint8_t *devs);
struct bpos bch_acct_btree_pos(unsigned btree_id);
/*
 * snapshot accounting: before 1.39 one counter (sectors) per snapshot id,
 * btree_id 0; from 1.39 three per (snapshot id, btree): keys, their
 * bytes unpacked, sectors (v1.39.2 alloc/accounting_format.h)
 */
struct bpos bch_acct_snapshot_pos(uint32_t snapshot, unsigned btree_id);

#endif
