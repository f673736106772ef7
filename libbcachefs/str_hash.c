/* String hashes of dirents and xattrs (facts in str_hash.h). */
#include <sodium.h>

#include "checksum.h"
#include "errors.h"
#include "str_hash.h"

int bch_hash_info_init(struct bch_hash_info *h, unsigned type,
		       uint64_t hash_seed, bool is_31bit)
{
	uint8_t seed[8], digest[crypto_hash_sha256_BYTES];

	if (type >= BCH_STR_HASH_NR)
		return -BCH_ERR_INVAL;
	h->type = (uint8_t)type;
	h->is_31bit = is_31bit;
	h->k0 = hash_seed;
	h->k1 = 0;
	if (type != BCH_STR_HASH_siphash_old)
		return 0;
	/* old siphash: the key is the start of SHA-256 of the seed (str_hash.c) */
	put_le64(seed, hash_seed);
	crypto_hash_sha256(digest, seed, sizeof(seed));
	h->k0 = get_le64(digest);
	h->k1 = get_le64(digest + 8);
	return 0;
}

int bch_hash_info_from_inode(struct bch_hash_info *h,
			     const struct bch_inode_unpacked *u)
{
	return bch_hash_info_init(h, BCH_INODE_STR_HASH(u), u->bi_hash_seed,
				  u->bi_flags & BCH_INODE_FLAG_31bit_dirent_offset);
}

int bch_str_hash_opt_to_type(unsigned opt, bool new_siphash)
{
	switch (opt) {
	case BCH_STR_HASH_OPT_crc32c:
		return BCH_STR_HASH_crc32c;
	case BCH_STR_HASH_OPT_crc64:
		return BCH_STR_HASH_crc64;
	case BCH_STR_HASH_OPT_siphash:
		return new_siphash ? BCH_STR_HASH_siphash : BCH_STR_HASH_siphash_old;
	default:
		return -BCH_ERR_INVAL;
	}
}

static uint64_t siphash24(const struct bch_hash_info *h, const void *data,
			  size_t len)
{
	uint8_t key[crypto_shorthash_siphash24_KEYBYTES];
	uint8_t out[crypto_shorthash_siphash24_BYTES];

	put_le64(key, h->k0);
	put_le64(key + 8, h->k1);
	crypto_shorthash_siphash24(out, len ? data : (const void *)"", len, key);
	return get_le64(out);
}

uint64_t bch_str_hash(const struct bch_hash_info *h, const void *data,
		      size_t len)
{
	uint8_t seed[8];

	/* the crcs start from ~0 run over the seed's 8 bytes */
	put_le64(seed, h->k0);
	switch (h->type) {
	case BCH_STR_HASH_crc32c:
		return bch_crc32c(bch_crc32c(~0u, seed, sizeof(seed)), data, len);
	case BCH_STR_HASH_crc64:
		return bch_crc64(bch_crc64(~0ULL, seed, sizeof(seed)), data, len) >> 1;
	default:
		return siphash24(h, data, len) >> 1;
	}
}
