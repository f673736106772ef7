/*
 * Btree nodes: reading one node from a replica, verifying and decrypting
 * each bset up to sectors_written, unpacking its keys with the node's
 * bkey_format and merging the bsets into one sorted key list.
 * bcachefs-format.md §5 (upstream libbcachefs/btree_io.c).
 */
#ifndef BCH_BTREE_NODE_H
#define BCH_BTREE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"
#include "extents.h"

struct bch_fs;

/* what the parent key says the node must be */
struct bch_node_expect {
	unsigned			btree_id;
	unsigned			level;
	struct bpos			min_key;	/* from btree_ptr_v2, else the parent's range */
	struct bpos			max_key;	/* the parent key's position */
	struct bch_btree_ptr_info	ptr;
};

struct bch_btree_node {
	unsigned		btree_id;
	unsigned		level;
	struct bpos		min_key;
	struct bpos		max_key;
	uint64_t		seq;
	unsigned		written;	/* sectors accepted as bsets */
	unsigned		nr_bsets;
	struct bkey_format	format;
	unsigned		dev;		/* replica it was read from */
	uint64_t		sector;
	uint8_t			*buf;		/* node bytes, decrypted, owned */
	void			*buf_alloc;
	struct bkey		*keys;		/* merged and sorted; no deleted keys */
	size_t			nr_keys;
};

/*
 * Decode a node image already read into buf (btree_node_size sectors,
 * taken over by the node). dev/sector name the replica in messages.
 */
int bch_btree_node_parse(struct bch_fs *fs, const struct bch_node_expect *x,
			 void *buf_alloc, uint8_t *buf, unsigned dev, uint64_t sector,
			 struct bch_btree_node *n, struct bch_error *err);

/* read (trying each replica in turn) and decode a node */
int bch_btree_node_read(struct bch_fs *fs, const struct bch_node_expect *x,
			struct bch_btree_node *n, struct bch_error *err);

/*
 * Read several nodes with batched I/O (first usable replica of each);
 * nodes that fail are re-read from other replicas one at a time. On error
 * the nodes already decoded are freed.
 */
int bch_btree_nodes_read(struct bch_fs *fs, const struct bch_node_expect *x,
			 unsigned nr, struct bch_btree_node *n, struct bch_error *err);

void bch_btree_node_free(struct bch_btree_node *n);

/* an aligned buffer for one node */
uint8_t *bch_btree_node_buf_alloc(struct bch_fs *fs, void **alloc);

#endif
