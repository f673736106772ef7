/*
 * Bucket arithmetic, generations, and the freespace / need_discard
 * index positions. bcachefs-format.md §7.2 (pointer -> bucket,
 * generations), §7.8 (freespace, need_discard).
 */
#ifndef BCH_BUCKETS_H
#define BCH_BUCKETS_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "extents.h"

/* ---- sectors and buckets (bucket_size in sectors, non-zero) ---- */

static inline uint64_t bch_sector_to_bucket(uint64_t sector, unsigned bucket_size)
{
	return sector / bucket_size;
}

static inline uint32_t bch_sector_offset_in_bucket(uint64_t sector,
						   unsigned bucket_size)
{
	return (uint32_t)(sector % bucket_size);
}

static inline uint64_t bch_bucket_to_sector(uint64_t bucket, unsigned bucket_size)
{
	return bucket * bucket_size;
}

/*
 * Sectors a pointer occupies on disk: `live` (the key size, or the btree
 * node size for node pointers) scaled by the compression ratio of the
 * governing crc entry (crc may be NULL, or have width 0 for none).
 */
uint32_t bch_ptr_disk_sectors(uint32_t live, const struct bch_extent_crc *crc);

/* ---- generations ---- */

/* a - b as a signed 8-bit difference: > 0 if a is after b */
static inline int bch_gen_cmp(uint8_t a, uint8_t b)
{
	return (int8_t)(uint8_t)(a - b);
}

/* gen - oldest_gen mod 256 */
static inline uint8_t bch_gc_gen(uint8_t gen, uint8_t oldest_gen)
{
	return (uint8_t)(gen - oldest_gen);
}

/* ---- freespace (btree 11): extents-style set keys ---- */

#define BCH_FREESPACE_GENBITS_SHIFT	56
#define BCH_FREESPACE_BUCKET_MASK	((1ULL << BCH_FREESPACE_GENBITS_SHIFT) - 1)

/* ((gen - oldest_gen) & 255) >> 4, placed in bits 56..63 */
static inline uint64_t bch_freespace_genbits(uint8_t gen, uint8_t oldest_gen)
{
	return (uint64_t)(bch_gc_gen(gen, oldest_gen) >> 4)
		<< BCH_FREESPACE_GENBITS_SHIFT;
}

/* the offset a free bucket has in the freespace numbering */
static inline uint64_t bch_freespace_offset(uint64_t bucket, uint8_t gen,
					    uint8_t oldest_gen)
{
	return bucket | bch_freespace_genbits(gen, oldest_gen);
}

static inline struct bpos bch_freespace_pos(unsigned dev, uint64_t bucket,
					    uint8_t gen, uint8_t oldest_gen)
{
	return BPOS(dev, bch_freespace_offset(bucket, gen, oldest_gen), 0);
}

static inline uint64_t bch_freespace_offset_bucket(uint64_t offset)
{
	return offset & BCH_FREESPACE_BUCKET_MASK;
}

static inline unsigned bch_freespace_offset_genbits(uint64_t offset)
{
	return (unsigned)(offset >> BCH_FREESPACE_GENBITS_SHIFT);
}

/*
 * What a freespace key covers: offsets [start, end) of device dev in the
 * freespace numbering (bucket | genbits << 56).
 */
struct bch_freespace_range {
	unsigned	dev;
	uint64_t	start;
	uint64_t	end;
};

/*
 * Decode a freespace key's range: [p.offset - size, p.offset). Returns 0,
 * or -BCH_ERR_CORRUPT (reason in *why, why may be NULL) if size is 0 or
 * larger than the offset.
 */
int bch_freespace_key_range(const struct bkey *k, struct bch_freespace_range *r,
			    const char **why);

static inline bool bch_freespace_range_contains(const struct bch_freespace_range *r,
						unsigned dev, uint64_t offset)
{
	return dev == r->dev && offset >= r->start && offset < r->end;
}

/* true if the range's first and last offsets carry different genbits */
static inline bool bch_freespace_range_mixed_genbits(const struct bch_freespace_range *r)
{
	return bch_freespace_offset_genbits(r->start) !=
	       bch_freespace_offset_genbits(r->end - 1);
}

/* ---- need_discard (btree 12): set keys at dev:bucket:0 ---- */

static inline struct bpos bch_need_discard_pos(unsigned dev, uint64_t bucket)
{
	return BPOS(dev, bucket, 0);
}

static inline uint64_t bch_need_discard_pos_bucket(struct bpos p)
{
	return p.offset;
}

/*
 * From 1.38 (need_discard_by_journal_seq) the key of a bucket waiting for
 * a discard is at journal_seq_empty:(dev << 48 | bucket):0, the alloc
 * key's journal_seq_empty (upstream v1.39.2 fs/alloc/background.c,
 * bch2_bucket_do_discard_index; checked by fs/alloc/check.c,
 * bch2_check_discard_key). Before, at dev:bucket:0.
 */
static inline struct bpos bch_need_discard_key_pos(unsigned sb_version, unsigned dev,
						   uint64_t bucket, uint64_t journal_seq_empty)
{
	if (sb_version >= BCH_VERSION_1_38)
		return BPOS(journal_seq_empty,
			    (uint64_t)dev << 48 | (bucket & ((1ULL << 48) - 1)), 0);
	return bch_need_discard_pos(dev, bucket);
}

/* the bucket a need_discard key names (device 256 and up: none) */
static inline void bch_need_discard_key_bucket(unsigned sb_version, struct bpos p,
					       unsigned *dev, uint64_t *bucket)
{
	if (sb_version >= BCH_VERSION_1_38) {
		*dev = (unsigned)(p.offset >> 48);
		*bucket = p.offset & ((1ULL << 48) - 1);
		return;
	}
	*dev = p.inode < 256 ? (unsigned)p.inode : 256;
	*bucket = p.offset;
}

#endif
