/*
 * Extent entries: the pointer lists of extent, btree_ptr(_v2), reflink_v
 * and stripe values. bcachefs-format.md §7.2 and §36.6 (upstream
 * libbcachefs/extents_format.h, extents.h).
 */
#ifndef BCH_EXTENTS_H
#define BCH_EXTENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "checksum.h"
#include "errors.h"

enum bch_extent_entry_type {
	BCH_EXTENT_ENTRY_ptr		= 0,
	BCH_EXTENT_ENTRY_crc32		= 1,
	BCH_EXTENT_ENTRY_crc64		= 2,
	BCH_EXTENT_ENTRY_crc128		= 3,
	BCH_EXTENT_ENTRY_stripe_ptr	= 4,
	BCH_EXTENT_ENTRY_rebalance	= 5,	/* rebalance_v1 in 1.33+ */
	BCH_EXTENT_ENTRY_flags		= 6,
	BCH_EXTENT_ENTRY_reconcile	= 7,	/* 1.33+ */
	BCH_EXTENT_ENTRY_reconcile_bp	= 8,	/* 1.33+ */
	BCH_EXTENT_ENTRY_NR		= 9,
};

const char *bch_extent_entry_type_name(unsigned type);

struct bch_extent_ptr {
	uint64_t	offset;		/* device sector */
	uint8_t		dev;
	uint8_t		gen;
	bool		cached;
	bool		unwritten;
};

/* a crc entry of any width, unpacked (sizes are real sizes, not minus one) */
struct bch_extent_crc {
	uint8_t		width;		/* 0 = no crc entry, else entry type 1..3 */
	uint32_t	compressed_size;
	uint32_t	uncompressed_size;
	uint32_t	offset;
	uint32_t	nonce;
	uint8_t		csum_type;
	uint8_t		compression_type;
	struct bch_csum	csum;
};

struct bch_extent_stripe_ptr {
	uint8_t		block;
	uint8_t		redundancy;
	uint64_t	idx;
};

struct bch_extent_entry {
	unsigned	type;
	unsigned	bytes;
	const uint8_t	*raw;
	union {
		struct bch_extent_ptr		ptr;
		struct bch_extent_crc		crc;
		struct bch_extent_stripe_ptr	stripe_ptr;
		uint64_t			word;	/* rebalance, flags, reconcile... */
	};
};

/*
 * Decode the entry at p (avail bytes left). Returns its size in bytes, or
 * 0 if it is not a valid entry (zero word, unknown type, truncated).
 */
unsigned bch_extent_entry_decode(const uint8_t *p, unsigned avail,
				 struct bch_extent_entry *e);

/*
 * Encoding extent entries, the inverse of bch_extent_entry_decode(): e->type
 * picks the entry (a crc entry's width is e->type, e->crc.width is
 * ignored); unknown-layout entries (rebalance, flags, reconcile...) are
 * e->word as is. out needs room for BCH_EXTENT_ENTRY_MAX_BYTES. Returns
 * the bytes written, or 0 if a field does not fit the entry (nothing is
 * truncated).
 */
#define BCH_EXTENT_ENTRY_MAX_BYTES	24u
unsigned bch_extent_entry_encode(const struct bch_extent_entry *e, uint8_t *out);

/*
 * The crc entry type upstream's write path gives c (its crc append in
 * data/extents.c): the first of crc32, crc64, crc128 whose checksum
 * room, uncompressed size limit and nonce limit fit. 0 if none does or
 * the checksum type is unknown.
 */
unsigned bch_extent_crc_pick_type(const struct bch_extent_crc *c);

/* upstream writes a crc entry only when one of these is nonzero (data/write.c) */
static inline bool bch_extent_crc_needed(const struct bch_extent_crc *c)
{
	return c->csum_type || c->compression_type || c->nonce;
}

/*
 * A new KEY_TYPE_extent as upstream's write path makes one: the crc entry
 * (if bch_extent_crc_needed(); its width picked, crc.width ignored), then
 * one pointer entry per replica.
 */
struct bch_extent_desc {
	struct bpos			pos;		/* the end: inode:offset:snapshot */
	uint32_t			size;		/* sectors */
	struct bversion			version;	/* encrypted: the nonce base */
	struct bch_extent_crc		crc;
	unsigned			nr_ptrs;
	const struct bch_extent_ptr	*ptrs;
};

/* value bytes an extent of nr_ptrs pointers may need at most */
#define BCH_EXTENT_VAL_MAX_BYTES(nr_ptrs)	(BCH_EXTENT_ENTRY_MAX_BYTES + 8 * (nr_ptrs))

/*
 * Entries in order into out (out_size bytes of room); *bytes gets the
 * value size. -BCH_ERR_INVAL naming an entry whose fields do not fit it,
 * -BCH_ERR_RANGE if out is too small.
 */
int bch_extent_entries_encode(const struct bch_extent_entry *e, unsigned nr,
			      uint8_t *out, size_t out_size, size_t *bytes,
			      struct bch_error *err);

/*
 * The value of the extent d into out, as bch_extent_entries_encode().
 * Also -BCH_ERR_INVAL for what upstream's validation refuses: size 0, no
 * pointers, crc offset + size > uncompressed size, compressed size !=
 * uncompressed size when not compressed, or no crc entry holds the crc.
 */
int bch_extent_value_encode(const struct bch_extent_desc *d, uint8_t *out,
			    size_t out_size, size_t *bytes, struct bch_error *err);

/*
 * The whole key: *k gets the header fields of d and its value, written to
 * val (val_size bytes of room), which k->val then points at.
 */
int bch_extent_key_build(const struct bch_extent_desc *d, uint8_t *val,
			 size_t val_size, struct bkey *k, struct bch_error *err);

/* compression types that mean "stored compressed" */
static inline bool bch_crc_is_compressed(const struct bch_extent_crc *c)
{
	return c->width && c->compression_type != 0 && c->compression_type != 5;
}

/* btree_ptr_v2 value header (40 bytes) */
struct bch_btree_ptr_v2 {
	uint64_t	mem_ptr;
	uint64_t	seq;
	uint16_t	sectors_written;
	uint16_t	flags;		/* bit 0 RANGE_UPDATED */
	struct bpos	min_key;
};

#define BCH_BTREE_PTR_RANGE_UPDATED	1u
#define BCH_BTREE_PTR_MAX_PTRS		16u

/* pointers of a btree_ptr/btree_ptr_v2 key, and the v2 header if v2 */
struct bch_btree_ptr_info {
	bool			v2;
	struct bch_btree_ptr_v2	h;
	unsigned		nr_ptrs;
	struct bch_extent_ptr	ptrs[BCH_BTREE_PTR_MAX_PTRS];
};

/* NULL on success, else why the key is not a usable btree pointer */
const char *bch_btree_ptr_decode(const struct bkey *k, struct bch_btree_ptr_info *out);

/* one extent pointer entry (8 bytes), the inverse of its decoding */
uint64_t bch_extent_ptr_encode(const struct bch_extent_ptr *p);
/*
 * The value of a btree_ptr_v2 key (header, then one pointer entry per
 * replica) into out (40 + 8 * nr_ptrs bytes); returns its size.
 */
size_t bch_btree_ptr_v2_encode(const struct bch_btree_ptr_info *in, uint8_t *out);

/*
 * Pointers dropped from an extent or reflink_v key as upstream's repair
 * drops them (upstream extents.c, used by buckets.c). A pointer entry goes
 * with the crc entries before it (back to the previous pointer) when no
 * pointer follows it before the next crc entry or the end. A pointer
 * asked to go while a pointer on its device is erasure coded (has a stripe
 * pointer entry: one since the previous pointer) is kept instead, its
 * device set to BCH_SB_MEMBER_INVALID; stripe pointer entries stay. A
 * key that had dirty pointers and has none left becomes KEY_TYPE_error
 * (its data is lost: reads fail), one left without any pointer
 * KEY_TYPE_deleted; both with an empty value, the header (position, size,
 * version) kept.
 *
 * drop() is asked once for each pointer as the key has it, in order (idx
 * from 0). *out gets the new key, its value in val (val_size bytes of
 * room); *nr_dropped counts the pointers dropped or made invalid, 0 means
 * unchanged. Kept entries are copied byte for byte (an invalidated
 * pointer's device byte aside), a reflink_v's refcount too.
 * -BCH_ERR_INVAL for other key types or entries that do not decode,
 * -BCH_ERR_RANGE if val is too small for what is kept.
 */
typedef bool (*bch_ptr_drop_fn)(void *ctx, const struct bch_extent_ptr *p, unsigned idx);
int bch_extent_drop_ptrs(const struct bkey *k, bch_ptr_drop_fn drop, void *ctx,
			 struct bkey *out, uint8_t *val, size_t val_size, unsigned *nr_dropped,
			 struct bch_error *err);

#endif
