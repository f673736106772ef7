/*
 * bucket_gens (btree 14, key type 30): the gens of 256 buckets per key,
 * at dev : bucket >> 8 : 0, gens[bucket & 255]. A missing key means all
 * 256 gens are 0. bcachefs-format.md §7.7.
 */
#ifndef BCH_BUCKET_GENS_H
#define BCH_BUCKET_GENS_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

#define BCH_BUCKET_GENS_BITS	8u
#define BCH_BUCKET_GENS_NR	(1u << BCH_BUCKET_GENS_BITS)
#define BCH_BUCKET_GENS_MASK	(BCH_BUCKET_GENS_NR - 1)

struct bch_bucket_gens {
	uint8_t		gens[BCH_BUCKET_GENS_NR];
};

static inline struct bpos bch_bucket_gens_pos(unsigned dev, uint64_t bucket)
{
	return BPOS(dev, bucket >> BCH_BUCKET_GENS_BITS, 0);
}

static inline unsigned bch_bucket_gens_offset(uint64_t bucket)
{
	return (unsigned)(bucket & BCH_BUCKET_GENS_MASK);
}

/* the first bucket a bucket_gens key at position p covers */
static inline uint64_t bch_bucket_gens_first_bucket(struct bpos p)
{
	return p.offset << BCH_BUCKET_GENS_BITS;
}

/*
 * Decode a bucket_gens value (exactly 256 bytes). Returns 0, or
 * -BCH_ERR_CORRUPT (reason in *why if why is not NULL).
 */
int bch_bucket_gens_decode(const struct bkey *k, struct bch_bucket_gens *out,
			   const char **why);

/* the 256 gens, space separated (as upstream prints them) */
void bch_bucket_gens_to_text(struct printbuf *out, const struct bch_bucket_gens *g);

#endif
