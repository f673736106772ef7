/*
 * Backpointers (btree 13, key type 28): one per pointer to a bucket, at
 *   dev : (ptr.offset << shift) + crc.offset : 0
 * where shift is 10 on 1.28 filesystems and the superblock's
 * EXTENT_BP_SHIFT (16 as written by format) on 1.36 ones: use
 * bch_sb_bp_shift(). bcachefs-format.md §7.9, §36.4 (upstream
 * libbcachefs/backpointers.h).
 */
#ifndef BCH_BACKPOINTERS_H
#define BCH_BACKPOINTERS_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

struct bch_sb;

#define BCH_BACKPOINTER_BYTES		32u
#define BCH_BP_SHIFT_DEFAULT		10u

/* the 32-byte value (layout since version 1.14) */
struct bch_backpointer {
	uint8_t		btree_id;
	uint8_t		level;		/* 0 for leaf keys, child level + 1 for nodes */
	uint8_t		data_type;
	uint8_t		bucket_gen;
	uint32_t	flags;		/* "pad" in 1.28, must be 0 there */
	uint32_t	bucket_len;	/* on-disk sectors */
	struct bpos	pos;		/* position of the referring key */
};

/* 1.36: reconcile work class of the referring extent (0 none, 1 hipri, 2 normal) */
#define BCH_BACKPOINTER_RECONCILE_PHYS(bp)	bits64((bp)->flags, 0, 2)
/*
 * v1.39.2 (fs/bcachefs_format.h): bit 2 the referring pointer is to an
 * erasure-coded extent, bit 3 it is a stripe's own block pointer
 */
#define BCH_BACKPOINTER_ERASURE_CODED(bp)	bits64((bp)->flags, 2, 3)
#define BCH_BACKPOINTER_STRIPE_PTR(bp)		bits64((bp)->flags, 3, 4)

/*
 * Decode a backpointer value (at least 32 bytes). Returns 0, or
 * -BCH_ERR_CORRUPT (reason in *why if why is not NULL).
 */
int bch_backpointer_decode(const struct bkey *k, struct bch_backpointer *out,
			   const char **why);

/* the 32-byte value, the inverse of bch_backpointer_decode() */
void bch_backpointer_encode(uint8_t out[BCH_BACKPOINTER_BYTES], const struct bch_backpointer *bp);

/*
 * The value: "btree=extents level=0 data_type=user gen=0 len=112
 * pos=4128:256:U32_MAX", then " pad=N" (sb_version < 1.33) or
 * " flags=N" and " phys" when non-zero, and from 1.37 " ec" and
 * " stripe" for the erasure-coding bits. sb_version selects the btree
 * names (reconcile_work vs rebalance_work).
 */
void bch_backpointer_to_text(struct printbuf *out,
			     const struct bch_backpointer *bp,
			     unsigned sb_version);

/*
 * A whole backpointer key the way upstream lists it: "bucket=D:B:O " if sb
 * knows the device (else "sector=D:S "), then the value and the
 * suboffset (low shift bits of the position). sb may be NULL (shift 10).
 */
void bch_backpointer_key_to_text(struct printbuf *out, const struct bkey *k,
				 const struct bch_backpointer *bp,
				 const struct bch_sb *sb);

/* ---- position math; bucket_size in sectors, must be non-zero ---- */

/* shifts by 64 or more (a corrupt superblock shift) give 0 */
static inline uint64_t bch_bp_shl(uint64_t v, unsigned shift)
{
	return shift < 64 ? v << shift : 0;
}

static inline uint64_t bch_bp_shr(uint64_t v, unsigned shift)
{
	return shift < 64 ? v >> shift : 0;
}

/* the bucket a backpointer position's offset belongs to */
static inline uint64_t bch_bp_pos_to_bucket(uint64_t bp_offset, unsigned shift,
					    unsigned bucket_size)
{
	uint64_t sector = bch_bp_shr(bp_offset, shift);

	if (!bucket_size)
		return 0;
	/* buckets are a power of two sectors as a rule: a shift, not a division */
	if (!(bucket_size & (bucket_size - 1)))
		return sector >> __builtin_ctz(bucket_size);
	return sector / bucket_size;
}

/* the device sector a backpointer position's offset refers to */
static inline uint64_t bch_bp_pos_to_sector(uint64_t bp_offset, unsigned shift)
{
	return bch_bp_shr(bp_offset, shift);
}

/* the first position of a bucket's backpointers */
static inline struct bpos bch_bucket_to_bp_start(unsigned dev, uint64_t bucket,
						 unsigned bucket_size,
						 unsigned shift)
{
	return BPOS(dev, bch_bp_shl(bucket * bucket_size, shift), 0);
}

/* the end (exclusive) of a bucket's backpointers: the next bucket's start */
static inline struct bpos bch_bucket_to_bp_end(unsigned dev, uint64_t bucket,
					       unsigned bucket_size,
					       unsigned shift)
{
	return BPOS(dev, bch_bp_shl((bucket + 1) * bucket_size, shift), 0);
}

/* backpointer position of an extent/reflink/btree-node pointer */
static inline struct bpos bch_ptr_to_bp_pos(unsigned dev, uint64_t ptr_offset,
					    uint32_t crc_offset, unsigned shift)
{
	return BPOS(dev, bch_bp_shl(ptr_offset, shift) + crc_offset, 0);
}

/* backpointer position of a stripe key's pointer */
static inline struct bpos bch_stripe_ptr_to_bp_pos(unsigned dev,
						   uint64_t ptr_offset,
						   unsigned stripe_sectors,
						   unsigned shift)
{
	return BPOS(dev, bch_bp_shl(ptr_offset + stripe_sectors, shift) - 1, 0);
}

#endif
