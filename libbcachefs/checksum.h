/*
 * Metadata and data checksums (enum bch_csum_type) over byte ranges.
 * CRCs come from isa-l, xxhash from libxxhash, the MAC types from
 * libsodium through crypt.h. See bcachefs-format.md §3 (upstream
 * libbcachefs/checksum.c).
 */
#ifndef BCH_CHECKSUM_H
#define BCH_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"

/* ChaCha20 nonce: four little-endian u32 words (bcachefs-format.md §3.4) */
struct bch_nonce {
	uint32_t d[4];
};

#define BCH_NONCE_EXTENT	0x10000000u
#define BCH_NONCE_BTREE		0x20000000u
#define BCH_NONCE_JOURNAL	0x30000000u

/* the nonce of a journal entry (jset) of sequence number seq */
static inline struct bch_nonce bch_journal_nonce(uint64_t seq)
{
	return (struct bch_nonce){ { 0, (uint32_t)seq, (uint32_t)(seq >> 32), BCH_NONCE_JOURNAL } };
}
#define BCH_NONCE_POLY		0x80000000u

/* advance by a number of bytes (a multiple of 64: one ChaCha block) */
static inline struct bch_nonce bch_nonce_add(struct bch_nonce n, unsigned bytes)
{
	n.d[0] += bytes / 64;
	return n;
}

bool bch_csum_type_valid(unsigned type);
bool bch_csum_type_is_encryption(unsigned type);
/* bytes of the checksum that are stored (0, 4, 8, 10 or 16) */
unsigned bch_csum_bytes(unsigned type);

struct bch_crypt_key;	/* crypt.h */

/*
 * Checksum of len bytes. For the MAC types key must be the filesystem's
 * master key (NULL -> returns -1); for the others key and nonce are unused.
 * Returns 0 and fills *out (unused bytes zero), or -1.
 */
int bch_checksum(unsigned type, const struct bch_crypt_key *key,
		 struct bch_nonce nonce, const void *data, size_t len,
		 struct bch_csum *out);

static inline bool bch_csum_eq(struct bch_csum a, struct bch_csum b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static inline struct bch_csum bch_csum_decode(const void *p)
{
	return (struct bch_csum){ get_le64(p), get_le64((const uint8_t *)p + 8) };
}

/* store a checksum as every structure holds it: lo, then hi, little-endian */
static inline void bch_csum_encode(void *p, struct bch_csum c)
{
	put_le64(p, c.lo);
	put_le64((uint8_t *)p + 8, c.hi);
}

/* raw primitives, exposed for unit tests */
uint32_t bch_crc32c(uint32_t crc, const void *p, size_t len);	/* no inversion */
uint64_t bch_crc64(uint64_t crc, const void *p, size_t len);	/* no inversion */
uint64_t bch_xxhash64(const void *p, size_t len);

#endif
