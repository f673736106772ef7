/*
 * Inode values (btree 1): inode (8), inode_v2 (23), inode_v3 (29),
 * unpacked into one struct. The inode number is the key's offset.
 * Layout facts from upstream libbcachefs/inode_format.h (v1.25.3; the
 * same in v1.36.1):
 *   inode_v3: bi_journal_seq le64 @0, bi_hash_seed le64 @8, bi_flags le64
 *	@16 (bits 20..23 str hash type, 24..30 nr_fields, 31..35
 *	fields_start in u64s, 36..51 bi_mode), bi_sectors le64 @24, bi_size
 *	le64 @32, bi_version le64 @40, varint fields from byte 48.
 *   inode_v2: bi_journal_seq le64 @0, bi_hash_seed le64 @8, bi_flags le64
 *	@16 (20..23 str hash, 24..30 nr_fields), bi_mode le16 @24, varint
 *	fields from byte 26.
 *   inode: bi_hash_seed le64 @0, bi_flags le32 @8 (20..23 str hash,
 *	24..30 nr_fields, 31 new_varint), bi_mode le16 @12, fields from
 *	byte 14 (varints, or the older length-prefixed big-endian encoding).
 * 96-bit time fields are two varints (the high one must be 0).
 */
#ifndef BCH_INODE_H
#define BCH_INODE_H

#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

#define BCH_INODE_V3_FIELDS_START_INITIAL	6u
/* inode_v3: fixed part, and the largest value bch_inode_pack() writes */
#define BCH_INODE_V3_FIXED_BYTES		48u
#define BCH_INODE_V3_MAX_BYTES			184u

struct bch_inode_unpacked {
	uint64_t	bi_inum;
	uint32_t	bi_snapshot;
	uint64_t	bi_journal_seq;
	uint64_t	bi_hash_seed;
	uint64_t	bi_flags;	/* as stored: 32 bits in v1 */
	uint16_t	bi_mode;
	uint64_t	bi_size;
	uint64_t	bi_sectors;
	uint64_t	bi_version;

	/* variable-length fields, absent ones 0 */
	uint64_t	bi_atime;
	uint64_t	bi_ctime;
	uint64_t	bi_mtime;
	uint64_t	bi_otime;
	uint64_t	bi_uid;
	uint64_t	bi_gid;
	uint64_t	bi_nlink;
	uint64_t	bi_generation;
	uint64_t	bi_dev;
	uint64_t	bi_data_checksum;
	uint64_t	bi_compression;
	uint64_t	bi_project;
	uint64_t	bi_background_compression;
	uint64_t	bi_data_replicas;
	uint64_t	bi_promote_target;
	uint64_t	bi_foreground_target;
	uint64_t	bi_background_target;
	uint64_t	bi_erasure_code;
	uint64_t	bi_fields_set;
	uint64_t	bi_dir;
	uint64_t	bi_dir_offset;
	uint64_t	bi_subvol;
	uint64_t	bi_parent_subvol;
	uint64_t	bi_nocow;
	uint64_t	bi_depth;
	uint64_t	bi_inodes_32bit;
	uint64_t	bi_casefold;
	uint64_t	bi_unused_ec_max_data_blocks;	/* v1.39.2, unused upstream */

	/* from the encoding */
	uint8_t		key_type;
	unsigned	nr_fields;
};

/* inode flag bits (low 20 bits of bi_flags) */
#define BCH_INODE_FLAG_unlinked		(1u << 7)

#define BCH_INODE_STR_HASH(u)		((unsigned)bits64((u)->bi_flags, 20, 24))

/* set the str hash type (enum bch_str_hash_type, str_hash.h), bits 20..23 */
static inline void bch_inode_set_str_hash(struct bch_inode_unpacked *u,
					  unsigned type)
{
	u->bi_flags = (u->bi_flags & ~(15ULL << 20)) | (uint64_t)(type & 15) << 20;
}

/*
 * Unpack an inode, inode_v2 or inode_v3 key. Returns 0, or
 * -BCH_ERR_CORRUPT with the reason in *why (why may be NULL).
 */
int bch_inode_unpack(const struct bkey *k, struct bch_inode_unpacked *out,
		     const char **why);

/*
 * Pack as an inode_v3 value (KEY_TYPE_inode_v3, key offset bi_inum),
 * byte for byte as upstream does. bi_flags is taken as stored except
 * bits 24..51 (nr_fields, fields_start, mode), which are recomputed;
 * key_type and nr_fields of *u are ignored. Writes *val_bytes (a multiple
 * of 8, at most BCH_INODE_V3_MAX_BYTES) bytes. Returns 0, -BCH_ERR_INVAL
 * if a field exceeds its on-disk width, -BCH_ERR_RANGE if size is short.
 */
int bch_inode_pack(const struct bch_inode_unpacked *u, uint8_t *val,
		   size_t size, size_t *val_bytes);

/* file type from the S_IFMT bits: reg dir lnk chr blk fifo sock, or "unknown" */
const char *bch_inode_mode_type_name(uint16_t mode);

/*
 * Single line: "mode=100644 type=reg flags=(0) journal_seq=.. hash_seed=..
 * hash_type=siphash bi_size=.. bi_sectors=.. bi_version=.. bi_atime=.. ..."
 */
void bch_inode_to_text(struct printbuf *out, const struct bch_inode_unpacked *u);

#endif
