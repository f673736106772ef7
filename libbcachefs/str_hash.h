/*
 * String hashes of the dirents (btree 2) and xattrs (btree 3) btrees: the
 * key offset of an entry is a hash of its name, keyed by the directory's
 * (or file's) inode: its bi_hash_seed and the str hash type in bi_flags
 * bits 20..23. Facts from upstream libbcachefs/str_hash.h and str_hash.c
 * (e1e87f53c, format 1.28; libbcachefs/fs/ in v1.36.1):
 *
 *   type 0 crc32c:  crc32c(~0, le64 seed) continued over the data, no
 *		     final inversion; the 32-bit crc is the hash
 *   type 1 crc64:   crc64 (ECMA-182, MSB first) the same way, then >> 1
 *   type 2 siphash_old: SipHash-2-4 keyed with the first 16 bytes of
 *		     SHA-256(le64 seed), then >> 1
 *   type 3 siphash: SipHash-2-4 keyed with le64 seed, le64 0, then >> 1
 *
 * Dirent hashes (1.30+, dirs flagged 31bit_dirent_offset) are masked to
 * 31 bits; xattr hashes never are. The option str_hash (superblock)
 * numbers crc32c 0, crc64 1, siphash 2; siphash maps to type 3 if the
 * filesystem has the new_siphash feature, else 2.
 */
#ifndef BCH_STR_HASH_H
#define BCH_STR_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inode.h"

enum bch_str_hash_type {
	BCH_STR_HASH_crc32c		= 0,
	BCH_STR_HASH_crc64		= 1,
	BCH_STR_HASH_siphash_old	= 2,
	BCH_STR_HASH_siphash		= 3,
	BCH_STR_HASH_NR			= 4,
};

/* the str_hash option (superblock flags and format --str_hash) */
enum bch_str_hash_opt {
	BCH_STR_HASH_OPT_crc32c		= 0,
	BCH_STR_HASH_OPT_crc64		= 1,
	BCH_STR_HASH_OPT_siphash	= 2,
	BCH_STR_HASH_OPT_NR		= 3,
};

/* inode flag: dirent offsets of this directory fit in 31 bits (1.30+) */
#define BCH_INODE_FLAG_31bit_dirent_offset	(1u << 11)

struct bch_hash_info {
	uint8_t		type;		/* enum bch_str_hash_type */
	bool		is_31bit;
	uint64_t	k0, k1;		/* SipHash key; the crcs use k0 only */
};

/*
 * Hash info from a type and seed (is_31bit as the inode flag). Returns 0
 * or -BCH_ERR_INVAL for an unknown type.
 */
int bch_hash_info_init(struct bch_hash_info *h, unsigned type,
		       uint64_t hash_seed, bool is_31bit);
/* the same from an unpacked inode (its str hash bits, seed and flags) */
int bch_hash_info_from_inode(struct bch_hash_info *h,
			     const struct bch_inode_unpacked *u);

/* option value -> inode str hash type; -BCH_ERR_INVAL if unknown */
int bch_str_hash_opt_to_type(unsigned opt, bool new_siphash);

/*
 * The raw hash of len bytes (after the shift of crc64/siphash), not
 * masked to 31 bits and not clamped: what dirents and xattrs build on.
 */
uint64_t bch_str_hash(const struct bch_hash_info *h, const void *data,
		      size_t len);

#endif
