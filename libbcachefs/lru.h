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

#include <stdbool.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

#define BCH_LRU_TIME_BITS	48
#define BCH_LRU_TIME_MAX	((1ULL << BCH_LRU_TIME_BITS) - 1)
#define BCH_LRU_BUCKET_MASK	((1ULL << 48) - 1)

/* lru ids with a fixed meaning; any other id is a device's read LRU */
#define BCH_LRU_FRAGMENTATION	0xffffu		/* fs-wide; obsolete from 1.39 */
#define BCH_LRU_STRIPES		0xfffeu

/*
 * 1.39 (per_dev_fragmentation_lru) splits the id space per device:
 * ids below 8192 are the read LRU of device id, ids 8192 + dev (up to
 * 16383) the bucket fragmentation LRU of device dev (upstream
 * fs/alloc/lru_format.h, lru.h in v1.39.2).
 */
#define BCH_LRU_READ_END		(1u << 13)
#define BCH_LRU_DEV_FRAG_START		(1u << 13)
#define BCH_LRU_DEV_FRAG_END		(2u << 13)

/* the per-device fragmentation LRU id of device dev (1.39) */
static inline unsigned bch_lru_dev_frag_id(unsigned dev)
{
	return BCH_LRU_DEV_FRAG_START + dev;
}

/*
 * The id of device dev's fragmentation LRU on a filesystem of metadata
 * version sb_version: per device from 1.39, the one fs-wide id before
 * (upstream v1.39.2 fs/alloc/background.c, bch2_trigger_alloc).
 */
static inline unsigned bch_lru_frag_id(unsigned sb_version, unsigned dev)
{
	return sb_version >= BCH_VERSION_1_39 ? bch_lru_dev_frag_id(dev) : BCH_LRU_FRAGMENTATION;
}

/*
 * The device a per-device LRU id belongs to: true and *dev set for a
 * read LRU id or a 1.39 fragmentation LRU id; false for the stripe LRU,
 * the fs-wide fragmentation LRU and ids nothing uses.
 */
bool bch_lru_id_dev(unsigned lru_id, unsigned *dev);

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

/* the kind of LRU an id names, whatever the version (ids 8192..16383 and
 * 65535 are both fragmentation) */
enum bch_lru_type bch_lru_id_type(unsigned lru_id);
const char *bch_lru_type_name(enum bch_lru_type type);

/*
 * "lru_id 65535 type fragmentation time 1811939328 bucket 0:66"; stripe
 * LRU entries end in "stripe N" instead. A per-device id also names its
 * device: "lru_id 8193 type fragmentation dev 1 time ...".
 */
void bch_lru_pos_to_text(struct printbuf *out, struct bpos p);

/*
 * The obsolete `lru` value type (26): idx le64. Returns 0, or
 * -BCH_ERR_CORRUPT if the value is shorter than 8 bytes.
 */
int bch_lru_val_decode(const struct bkey *k, uint64_t *idx);

#endif
