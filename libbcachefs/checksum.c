/*
 * Checksums of metadata and data (enum bch_csum_type).
 *
 * The CRCs are the raw shift-register updates: bcachefs' "nonzero"
 * variants start from all ones and invert the result, the plain ones
 * start from zero and do not invert. isa-l's crc32_iscsi() is already a
 * raw update, but crc64_ecma_norm() inverts its seed on entry and its
 * result on return, so bch_crc64() undoes both.
 */
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/crc64.h>
#include <xxhash.h>

#include "checksum.h"
#include "crypt.h"

/* crc32_iscsi() takes an int length: feed it at most this much at once */
#define CRC32_CHUNK	(1u << 30)

static const uint8_t csum_bytes[BCH_CSUM_NR] = {
	[BCH_CSUM_none]			= 0,
	[BCH_CSUM_crc32c_nonzero]	= 4,
	[BCH_CSUM_crc64_nonzero]	= 8,
	[BCH_CSUM_chacha20_poly1305_80]	= 10,
	[BCH_CSUM_chacha20_poly1305_128] = 16,
	[BCH_CSUM_crc32c]		= 4,
	[BCH_CSUM_crc64]		= 8,
	[BCH_CSUM_xxhash]		= 8,
};

bool bch_csum_type_valid(unsigned type)
{
	return type < BCH_CSUM_NR;
}

bool bch_csum_type_is_encryption(unsigned type)
{
	return type == BCH_CSUM_chacha20_poly1305_80 ||
	       type == BCH_CSUM_chacha20_poly1305_128;
}

unsigned bch_csum_bytes(unsigned type)
{
	return bch_csum_type_valid(type) ? csum_bytes[type] : 0;
}

uint32_t bch_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		size_t n = len < CRC32_CHUNK ? len : CRC32_CHUNK;

		crc = crc32_iscsi((unsigned char *)b, (int)n, crc);
		b += n;
		len -= n;
	}
	return crc;
}

uint64_t bch_crc64(uint64_t crc, const void *p, size_t len)
{
	if (!len)
		return crc;
	/* isa-l computes ~raw(~seed): invert around it to get raw(seed) */
	return ~crc64_ecma_norm(~crc, p, len);
}

uint64_t bch_xxhash64(const void *p, size_t len)
{
	return XXH64(len ? p : "", len, 0);
}

/* tag bytes as stored: lo = le64 of bytes 0..7, hi = le64 of bytes 8..15 */
static int csum_mac(unsigned type, const struct bch_crypt_key *key,
		    struct bch_nonce nonce, const void *data, size_t len,
		    struct bch_csum *out)
{
	uint8_t tag[16];

	if (!key)
		return -1;
	bch_poly1305_mac(key, nonce, data, len, tag);
	if (type == BCH_CSUM_chacha20_poly1305_80)
		memset(tag + 10, 0, sizeof(tag) - 10);
	*out = bch_csum_decode(tag);
	return 0;
}

int bch_checksum(unsigned type, const struct bch_crypt_key *key,
		 struct bch_nonce nonce, const void *data, size_t len,
		 struct bch_csum *out)
{
	*out = (struct bch_csum){ 0, 0 };

	switch (type) {
	case BCH_CSUM_none:
		return 0;
	case BCH_CSUM_crc32c_nonzero:
		out->lo = bch_crc32c(~0u, data, len) ^ ~0u;
		return 0;
	case BCH_CSUM_crc64_nonzero:
		out->lo = bch_crc64(~0ULL, data, len) ^ ~0ULL;
		return 0;
	case BCH_CSUM_crc32c:
		out->lo = bch_crc32c(0, data, len);
		return 0;
	case BCH_CSUM_crc64:
		out->lo = bch_crc64(0, data, len);
		return 0;
	case BCH_CSUM_xxhash:
		out->lo = bch_xxhash64(data, len);
		return 0;
	case BCH_CSUM_chacha20_poly1305_80:
	case BCH_CSUM_chacha20_poly1305_128:
		return csum_mac(type, key, nonce, data, len, out);
	default:
		return -1;
	}
}
