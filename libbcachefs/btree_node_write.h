/*
 * Building a new btree node image: node header, bkey_format chosen for
 * its keys, one bset with the keys packed, encrypted and checksummed the
 * way the reader (btree_node.c) expects. bcachefs-format.md §5.2-5.3,
 * §5.8 (upstream libbcachefs/btree_io.c, the node write;
 * btree_update_interior.c, the node format calculation).
 */
#ifndef BCH_BTREE_NODE_WRITE_H
#define BCH_BTREE_NODE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"

struct bch_fs;

/* what a new node says about itself (bcachefs-format.md §5.2, §5.8) */
struct bch_node_header {
	unsigned	btree_id, level;
	struct bpos	min_key, max_key;
	uint64_t	seq;		/* random, non-zero: every bset's seq, and btree_ptr_v2.seq in the parent */
	uint32_t	node_seq;	/* flags bits 32..63 */
	uint64_t	journal_seq;	/* bset journal_seq */
};

/*
 * The format of a node holding keys[0..nr) over [min_key, max_key], as
 * upstream's node format calculation makes it: it covers both range ends
 * and every key that is not KEY_TYPE_deleted (one that does not fit is
 * written unpacked), sizes from 0 up to 16 times the largest key size.
 */
void bch_btree_node_format(const struct bpos *min_key, const struct bpos *max_key,
			   const struct bkey *keys, size_t nr, struct bkey_format *f);

/* bytes of node header + first bset with these keys, before block padding */
size_t bch_btree_node_bytes(const struct bkey_format *f, const struct bkey *keys, size_t nr);

/*
 * Build the image of a new node (fs->btree_node_size sectors, all of buf
 * written; zero past the bset): header from h, format from
 * bch_btree_node_format(), one bset with keys[0..nr) (sorted, unique
 * positions inside [min_key, max_key]; deleted keys and whiteouts allowed)
 * checksummed with fs->meta_csum_type, and encrypted first if that is a
 * MAC type. *sectors = sectors of the bset, rounded up to the block size:
 * the parent's btree_ptr_v2.sectors_written.
 *
 * -BCH_ERR_CORRUPT if the keys do not fit in the node, -BCH_ERR_INVAL for
 * unusable arguments (seq 0, unsorted keys, bad value sizes).
 */
int bch_btree_node_build(struct bch_fs *fs, const struct bch_node_header *h,
			 const struct bkey *keys, size_t nr, uint8_t *buf,
			 unsigned *sectors, struct bch_error *err);

#endif
