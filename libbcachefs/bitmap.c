/* Chunked, bounds-checked bucket bitmaps. */
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"

static uint64_t chunks_for(uint64_t nbits)
{
	return nbits / BCH_BITMAP_CHUNK_BITS + !!(nbits % BCH_BITMAP_CHUNK_BITS);
}

int bch_bitmap_init(struct bch_bitmap *b, uint64_t nbits)
{
	memset(b, 0, sizeof(*b));
	return bch_bitmap_resize(b, nbits);
}

void bch_bitmap_free(struct bch_bitmap *b)
{
	for (uint64_t i = 0; i < b->nr_chunks; i++)
		free(b->chunks[i]);
	free(b->chunks);
	memset(b, 0, sizeof(*b));
}

static uint64_t chunk_weight(const uint64_t *c, uint64_t from_word)
{
	uint64_t n = 0;

	for (uint64_t w = from_word; w < BCH_BITMAP_CHUNK_WORDS; w++)
		n += (uint64_t)__builtin_popcountll(c[w]);
	return n;
}

int bch_bitmap_resize(struct bch_bitmap *b, uint64_t nbits)
{
	uint64_t nr = chunks_for(nbits);

	/* shrinking: drop whole chunks past the end, then bits of the last */
	for (uint64_t i = nr; i < b->nr_chunks; i++) {
		if (b->chunks[i])
			b->nr_set -= chunk_weight(b->chunks[i], 0);
		free(b->chunks[i]);
		b->chunks[i] = NULL;
	}
	if (nbits < b->nbits && nbits % BCH_BITMAP_CHUNK_BITS && b->chunks[nr - 1]) {
		uint64_t *c = b->chunks[nr - 1];
		uint64_t off = nbits % BCH_BITMAP_CHUNK_BITS;
		uint64_t word = off / 64;

		if (off % 64) {
			uint64_t keep = (1ULL << (off % 64)) - 1;

			b->nr_set -= (uint64_t)__builtin_popcountll(c[word] & ~keep);
			c[word] &= keep;
			word++;
		}
		b->nr_set -= chunk_weight(c, word);
		memset(c + word, 0, (BCH_BITMAP_CHUNK_WORDS - word) * 8);
	}
	if (nr != b->nr_chunks) {
		uint64_t **n = realloc(b->chunks, (nr ? nr : 1) * sizeof(*n));

		if (!n)
			return -BCH_ERR_NOMEM;
		for (uint64_t i = b->nr_chunks; i < nr; i++)
			n[i] = NULL;
		b->chunks = n;
		b->nr_chunks = nr;
	}
	b->nbits = nbits;
	return 0;
}

int bch_bitmap_set(struct bch_bitmap *b, uint64_t bit)
{
	uint64_t ci = bit / BCH_BITMAP_CHUNK_BITS, off = bit % BCH_BITMAP_CHUNK_BITS;
	uint64_t mask = 1ULL << (off % 64), *w;

	if (bit >= b->nbits)
		return -BCH_ERR_RANGE;
	if (!b->chunks[ci]) {
		b->chunks[ci] = calloc(BCH_BITMAP_CHUNK_WORDS, sizeof(uint64_t));
		if (!b->chunks[ci])
			return -BCH_ERR_NOMEM;
	}
	w = &b->chunks[ci][off / 64];
	if (!(*w & mask)) {
		*w |= mask;
		b->nr_set++;
	}
	return 0;
}

int bch_bitmap_clear(struct bch_bitmap *b, uint64_t bit)
{
	uint64_t ci = bit / BCH_BITMAP_CHUNK_BITS, off = bit % BCH_BITMAP_CHUNK_BITS;
	uint64_t mask = 1ULL << (off % 64), *w;

	if (bit >= b->nbits)
		return -BCH_ERR_RANGE;
	if (!b->chunks[ci])
		return 0;
	w = &b->chunks[ci][off / 64];
	if (*w & mask) {
		*w &= ~mask;
		b->nr_set--;
	}
	return 0;
}

int bch_bitmap_test(const struct bch_bitmap *b, uint64_t bit)
{
	uint64_t ci = bit / BCH_BITMAP_CHUNK_BITS, off = bit % BCH_BITMAP_CHUNK_BITS;

	if (bit >= b->nbits)
		return -BCH_ERR_RANGE;
	if (!b->chunks[ci])
		return 0;
	return (b->chunks[ci][off / 64] >> (off % 64)) & 1;
}

bool bch_bitmap_next_set(const struct bch_bitmap *b, uint64_t from, uint64_t *bit)
{
	while (from < b->nbits) {
		uint64_t ci = from / BCH_BITMAP_CHUNK_BITS, off = from % BCH_BITMAP_CHUNK_BITS;
		const uint64_t *c = b->chunks[ci];

		if (!c) {
			from = (ci + 1) * BCH_BITMAP_CHUNK_BITS;
			continue;
		}
		for (uint64_t w = off / 64; w < BCH_BITMAP_CHUNK_WORDS; w++) {
			uint64_t v = c[w];

			if (w == off / 64)
				v &= ~0ULL << (off % 64);
			if (v) {
				uint64_t found = ci * BCH_BITMAP_CHUNK_BITS + w * 64 +
						 (uint64_t)__builtin_ctzll(v);

				if (found >= b->nbits)
					return false;
				*bit = found;
				return true;
			}
		}
		from = (ci + 1) * BCH_BITMAP_CHUNK_BITS;
	}
	return false;
}

bool bch_bitmap_next_clear(const struct bch_bitmap *b, uint64_t from, uint64_t *bit)
{
	for (; from < b->nbits; from++) {
		if (!bch_bitmap_test(b, from)) {
			*bit = from;
			return true;
		}
	}
	return false;
}

int bch_bitmap_export(const struct bch_bitmap *b, bch_bitmap_write_fn fn, void *ctx)
{
	static const uint8_t zero[BCH_BITMAP_CHUNK_BITS / 8];
	uint64_t bytes = b->nbits / 8 + !!(b->nbits % 8);

	for (uint64_t ci = 0; ci < b->nr_chunks; ci++) {
		uint64_t start = ci * (BCH_BITMAP_CHUNK_BITS / 8);
		uint64_t len = bytes - start < sizeof(zero) ? bytes - start : sizeof(zero);
		uint8_t buf[BCH_BITMAP_CHUNK_BITS / 8];
		const void *p = zero;
		int ret;

		if (b->chunks[ci]) {
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)(b->chunks[ci][i / 8] >> (8 * (i % 8)));
			p = buf;
		}
		ret = fn(ctx, p, len);
		if (ret)
			return ret;
	}
	return 0;
}
