/*
 * Per-device bucket bitmaps (the backpointer "mismatch" and "empty"
 * bitmaps). Exactly nbits bits; every access is bounds-checked and an
 * index outside [0, nbits) is an error, never a read or write past the
 * end. Storage is allocated in chunks on the first set bit of each chunk,
 * so a device with 10^7 buckets and a few mismatches costs a few KiB.
 */
#ifndef BCH_BITMAP_H
#define BCH_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#define BCH_BITMAP_CHUNK_BITS	65536ULL
#define BCH_BITMAP_CHUNK_WORDS	(BCH_BITMAP_CHUNK_BITS / 64)

struct bch_bitmap {
	uint64_t	nbits;
	uint64_t	nr_chunks;
	uint64_t	**chunks;	/* NULL entries: all zero */
	uint64_t	nr_set;
};

int bch_bitmap_init(struct bch_bitmap *b, uint64_t nbits);
void bch_bitmap_free(struct bch_bitmap *b);
/* change the size; bits below min(old, new) are kept, the rest dropped */
int bch_bitmap_resize(struct bch_bitmap *b, uint64_t nbits);

/* -BCH_ERR_RANGE if bit >= nbits, -BCH_ERR_NOMEM */
int bch_bitmap_set(struct bch_bitmap *b, uint64_t bit);
int bch_bitmap_clear(struct bch_bitmap *b, uint64_t bit);
/* 1 set, 0 clear, -BCH_ERR_RANGE outside */
int bch_bitmap_test(const struct bch_bitmap *b, uint64_t bit);

static inline uint64_t bch_bitmap_weight(const struct bch_bitmap *b)
{
	return b->nr_set;
}

/* first set bit >= from; false if none */
bool bch_bitmap_next_set(const struct bch_bitmap *b, uint64_t from, uint64_t *bit);
/* first clear bit >= from (< nbits); false if none */
bool bch_bitmap_next_clear(const struct bch_bitmap *b, uint64_t from, uint64_t *bit);

/* write nbits bits, LSB first in each byte, ceil(nbits / 8) bytes */
typedef int (*bch_bitmap_write_fn)(void *ctx, const void *buf, size_t len);
int bch_bitmap_export(const struct bch_bitmap *b, bch_bitmap_write_fn fn, void *ctx);

#endif
