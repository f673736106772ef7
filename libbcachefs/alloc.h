/*
 * Alloc keys (btree 4): one key per bucket, position dev:bucket:0.
 * Every value version (alloc v1..v3, alloc_v4) is decoded into the
 * in-memory alloc_v4 form. bcachefs-format.md §7.4, §7.5, §36.5
 * (upstream libbcachefs/alloc_background_format.h, alloc_background.h).
 */
#ifndef BCH_ALLOC_H
#define BCH_ALLOC_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

/* io_time[] indices */
#define BCH_IO_TIME_READ			0
#define BCH_IO_TIME_WRITE			1

#define BCH_ALLOC_V4_BYTES		64u
#define BCH_ALLOC_V4_U64S		8u	/* current fixed part */
#define BCH_ALLOC_V4_U64S_V0		6u	/* fixed part of the first alloc_v4 */
#define BCH_ALLOC_V4_BP_BYTES		32u	/* obsolete inline backpointer */

/* how far gen may run ahead of oldest_gen before need_gc_gens */
#define BCH_BUCKET_GC_GEN_MAX		96u

/*
 * The alloc_v4 value, field for field (64 bytes on disk). `stripe` is
 * called stripe_refcount and `stripe_redundancy` is obsolete in 1.36.
 * Fields at or past BACKPOINTERS_START * 8 bytes of the value read as 0.
 */
struct bch_alloc_v4 {
	uint64_t	journal_seq_nonempty;
	uint32_t	flags;
	uint8_t		gen;
	uint8_t		oldest_gen;
	uint8_t		data_type;
	uint8_t		stripe_redundancy;
	uint32_t	dirty_sectors;
	uint32_t	cached_sectors;
	uint64_t	io_time[2];
	uint32_t	stripe;
	uint32_t	nr_external_backpointers;
	uint64_t	journal_seq_empty;
	uint32_t	stripe_sectors;
	uint32_t	pad;
};

/* flags bits */
#define BCH_ALLOC_V4_NEED_DISCARD(a)		bits64((a)->flags, 0, 1)
#define BCH_ALLOC_V4_NEED_INC_GEN(a)		bits64((a)->flags, 1, 2)
#define BCH_ALLOC_V4_BACKPOINTERS_START(a)	bits64((a)->flags, 2, 8)
#define BCH_ALLOC_V4_NR_BACKPOINTERS(a)		bits64((a)->flags, 8, 14)

#define BCH_ALLOC_V4_FLAG_NEED_DISCARD		(1u << 0)
#define BCH_ALLOC_V4_FLAG_NEED_INC_GEN		(1u << 1)
#define BCH_ALLOC_V4_BP_START_SHIFT		2

/*
 * Decode an alloc, alloc_v2, alloc_v3 or alloc_v4 value into *out.
 * alloc_v4: flags are kept as stored (so BACKPOINTERS_START shows what
 * the writer used); v1..v3 get BACKPOINTERS_START 8 and keep their
 * need_discard / need_inc_gen bits. Returns 0, or -BCH_ERR_CORRUPT with
 * the reason in *why (why may be NULL); *out is zeroed on error.
 */
int bch_alloc_decode(const struct bkey *k, struct bch_alloc_v4 *out,
		     const char **why);

static inline int bch_alloc_to_v4(const struct bkey *k, struct bch_alloc_v4 *out)
{
	return bch_alloc_decode(k, out, NULL);
}

/*
 * The data type the counters imply, given the pointer-derived type ptr_type
 * (pass a->data_type to check a stored key: it must equal the result).
 */
unsigned bch_alloc_data_type_derived(const struct bch_alloc_v4 *a,
				     unsigned ptr_type);

/* dirty + stripe sectors, the "dirty" total of a bucket */
static inline uint64_t bch_alloc_sectors_dirty(const struct bch_alloc_v4 *a)
{
	return (uint64_t)a->dirty_sectors + a->stripe_sectors;
}

/*
 * Fragmentation LRU time (lru id 0xffff, from 1.39 8192 + dev: lru.h):
 * 0 unless the bucket holds btree, user, stripe (or, 1.37+, multiple) data
 * and is partially filled; then
 * floor(min(dirty + stripe, bucket_size) * 2^31 / bucket_size).
 */
uint64_t bch_alloc_lru_idx_fragmentation(const struct bch_alloc_v4 *a,
					 unsigned bucket_size);

/* read LRU time: io_time[READ] (48 bits) for cached buckets, else 0 */
uint64_t bch_alloc_lru_idx_read(const struct bch_alloc_v4 *a);

/* single line, "field value" pairs */
void bch_alloc_to_text(struct printbuf *out, const struct bch_alloc_v4 *a);

/* the 64-byte alloc_v4 value (backpointers_start 8, no inline backpointers) */
#define BCH_ALLOC_V4_BYTES	64u
void bch_alloc_v4_encode(const struct bch_alloc_v4 *a, uint8_t out[BCH_ALLOC_V4_BYTES]);

/*
 * The variable-length integer of alloc v2/v3 and of inodes (§7.4,
 * new_varint): returns the number of bytes used, or -1 if the encoding
 * runs past end.
 */
int bch_varint_decode(const uint8_t *in, const uint8_t *end, uint64_t *out);
/* the inverse: the bytes written to out (1 to 9) */
unsigned bch_varint_encode(uint8_t *out, uint64_t v);

#endif
