/*
 * Where a filesystem's metadata lives on its devices: the superblock
 * area and every superblock copy, the journal buckets, and every btree
 * node reachable from the roots (every replica). What `bcachefs dump`
 * copies: with these regions, and nothing else, every check reads the
 * same bytes as on the original.
 */
#ifndef BCH_METADATA_REGIONS_H
#define BCH_METADATA_REGIONS_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct bch_fs;

enum bch_region_kind {
	BCH_REGION_SB,		/* sectors 0-7 (the layout) and each superblock copy */
	BCH_REGION_JOURNAL,	/* a journal bucket */
	BCH_REGION_BTREE,	/* a btree node (one replica) */
	BCH_REGION_NR,
};

struct bch_region {
	uint64_t	offset;		/* bytes */
	uint64_t	len;		/* bytes */
	uint8_t		dev;
	uint8_t		kind;
};

struct bch_regions {
	struct bch_region	*r;
	size_t			nr, size;
	uint64_t		nodes_lost;	/* pointers whose node could not be read */
};

/*
 * Every metadata region of fs, one per superblock area, journal bucket
 * and btree node replica, sorted by device and offset. A btree node that
 * cannot be read is still a region (its bytes are what a check reads);
 * its subtree is not reachable and is counted in nodes_lost.
 */
int bch_metadata_regions(struct bch_fs *fs, struct bch_regions *out, struct bch_error *err);
/* merge overlapping and adjacent regions (of any kind: the first one's kind stays) */
void bch_regions_merge(struct bch_regions *rs);
/* a copy of src into dst (dst's own memory) */
int bch_regions_copy(struct bch_regions *dst, const struct bch_regions *src,
		     struct bch_error *err);
void bch_regions_free(struct bch_regions *r);

#endif
