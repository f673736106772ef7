/*
 * LRU btree (10) positions: `set` keys at
 *   inode  = lru_id << 48 | time
 *   offset = target: dev << 48 | bucket for the bucket LRUs, the stripe
 *            index for the stripe LRU
 * bcachefs-format.md §7.10, §36.5 (upstream libbcachefs/lru_format.h,
 * lru.h).
 */
#ifndef BCH_LRU_H
#define BCH_LRU_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

#define BCH_LRU_TIME_BITS	48
#define BCH_LRU_TIME_MAX	((1ULL << BCH_LRU_TIME_BITS) - 1)
#define BCH_LRU_BUCKET_MASK	((1ULL << 48) - 1)

/* lru ids with a fixed meaning; any other id is a device's read LRU */
#define BCH_LRU_FRAGMENTATION	0xffffu
#define BCH_LRU_STRIPES		0xfffeu

enum bch_lru_type {
	BCH_LRU_read,
	BCH_LRU_fragmentation,
	BCH_LRU_stripes,
};

static inline unsigned bch_lru_pos_id(struct bpos p)
{
	return (unsigned)(p.inode >> BCH_LRU_TIME_BITS);
}

static inline uint64_t bch_lru_pos_time(struct bpos p)
{
	return p.inode & BCH_LRU_TIME_MAX;
}

/* the target of a bucket LRU entry */
static inline unsigned bch_lru_pos_dev(struct bpos p)
{
	return (unsigned)(p.offset >> 48);
}

static inline uint64_t bch_lru_pos_bucket(struct bpos p)
{
	return p.offset & BCH_LRU_BUCKET_MASK;
}

/* dev:bucket packed as in LRU targets (bucket masked to 48 bits, as 1.36) */
static inline uint64_t bch_bucket_to_u64(unsigned dev, uint64_t bucket)
{
	return (uint64_t)dev << 48 | (bucket & BCH_LRU_BUCKET_MASK);
}

/* position of a bucket LRU entry (time masked to 48 bits) */
struct bpos bch_lru_pos(unsigned lru_id, uint64_t time, unsigned dev,
			uint64_t bucket);
/* position of an entry with a raw target (the stripe LRU) */
struct bpos bch_lru_pos_target(unsigned lru_id, uint64_t time, uint64_t target);

enum bch_lru_type bch_lru_id_type(unsigned lru_id);
const char *bch_lru_type_name(enum bch_lru_type type);

/*
 * "lru_id 65535 type fragmentation time 1811939328 bucket 0:66"; stripe
 * LRU entries end in "stripe N" instead.
 */
void bch_lru_pos_to_text(struct printbuf *out, struct bpos p);

/*
 * The obsolete `lru` value type (26): idx le64. Returns 0, or
 * -BCH_ERR_CORRUPT if the value is shorter than 8 bytes.
 */
int bch_lru_val_decode(const struct bkey *k, uint64_t *idx);

#endif
