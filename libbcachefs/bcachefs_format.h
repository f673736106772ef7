/*
 * On-disk constants of the bcachefs format and the small in-memory types
 * (positions, versions, unpacked key headers) the rest of the library uses.
 *
 * Facts from ../shared/docs/bcachefs-format.md; re-check them in upstream
 * libbcachefs/bcachefs_format.h (v1.25.3 for 1.28, v1.36.1 for 1.36) and
 * fs/bcachefs_format.h (v1.39.2 for 1.37-1.39).
 * We never overlay C structs on disk bytes: every field is read at its
 * documented byte offset with the little-endian helpers below.
 */
#ifndef BCH_FORMAT_H
#define BCH_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

/* ---- little-endian access (we only read little-endian writers) ---- */

/*
 * Unaligned loads and stores through memcpy, converted from or to little
 * endian: one move each on x86 (the byte-by-byte form was not always
 * merged by the compiler, and these are on the key unpacking path)
 */
static inline uint16_t get_le16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t get_le32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t get_le64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void put_le16(void *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put_le32(void *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put_le64(void *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* bits [lo, hi) of a 64-bit word */
static inline uint64_t bits64(uint64_t v, unsigned lo, unsigned hi)
{
	unsigned w = hi - lo;
	return w >= 64 ? v >> lo : (v >> lo) & ((1ULL << w) - 1);
}

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ROUND_UP(n, d)		(DIV_ROUND_UP(n, d) * (d))

/* ---- units, magics, versions ---- */

#define BCH_SECTOR_SIZE		512u
#define BCH_SB_SECTOR		8u		/* primary superblock */
#define BCH_SB_LAYOUT_SECTOR	7u
#define BCH_SB_HEADER_BYTES	752u
#define BCH_SB_LAYOUT_BYTES	512u
#define BCH_SB_MAX_FIELDS_BYTES	(512u << 16)

#define BCH_JOURNAL_MAGIC_XOR	0x245235c1a3625032ULL
#define BCH_BSET_MAGIC_XOR	0x90135c78b99e07f5ULL

extern const uint8_t bch_sb_magic_uuid[16];
extern const uint8_t bcache_sb_magic_uuid[16];

#define BCH_VERSION(maj, min)	((uint16_t)((maj) << 10 | (min)))
#define BCH_VERSION_MAJOR(v)	((v) >> 10)
#define BCH_VERSION_MINOR(v)	((v) & 0x3ff)
#define BCH_VERSION_MIN		9u
#define BCH_VERSION_1_0		BCH_VERSION(1, 0)
#define BCH_VERSION_BP_GEN	BCH_VERSION(1, 14)	/* backpointer_bucket_gen */
#define BCH_VERSION_1_28	BCH_VERSION(1, 28)
#define BCH_VERSION_1_29	BCH_VERSION(1, 29)
#define BCH_VERSION_1_36	BCH_VERSION(1, 36)
#define BCH_VERSION_1_37	BCH_VERSION(1, 37)	/* erasure_coding */
#define BCH_VERSION_1_38	BCH_VERSION(1, 38)	/* need_discard_by_journal_seq */
#define BCH_VERSION_1_39	BCH_VERSION(1, 39)	/* per_dev_fragmentation_lru */
/* newest metadata version we know how to read */
#define BCH_VERSION_CURRENT	BCH_VERSION_1_39

const char *bch_version_name(unsigned v);

/* ---- positions ---- */

struct bpos {
	uint64_t	inode;
	uint64_t	offset;
	uint32_t	snapshot;
};

#define BPOS(i, o, s)	((struct bpos){ .inode = (i), .offset = (o), .snapshot = (s) })
#define POS_MIN		BPOS(0, 0, 0)
#define SPOS_MAX	BPOS(UINT64_MAX, UINT64_MAX, UINT32_MAX)

static inline int bpos_cmp(struct bpos a, struct bpos b)
{
	if (a.inode != b.inode)
		return a.inode < b.inode ? -1 : 1;
	if (a.offset != b.offset)
		return a.offset < b.offset ? -1 : 1;
	if (a.snapshot != b.snapshot)
		return a.snapshot < b.snapshot ? -1 : 1;
	return 0;
}

static inline bool bpos_eq(struct bpos a, struct bpos b)
{
	return !bpos_cmp(a, b);
}

/* full successor, snapshot carrying into offset and inode */
static inline struct bpos bpos_successor(struct bpos p)
{
	if (++p.snapshot)
		return p;
	if (++p.offset)
		return p;
	++p.inode;
	return p;
}

/* on disk: snapshot u32 @0, offset u64 @4, inode u64 @12 (20 bytes) */
static inline struct bpos bpos_decode(const void *p)
{
	const uint8_t *b = p;
	return BPOS(get_le64(b + 12), get_le64(b + 4), get_le32(b));
}

static inline void bpos_encode(void *p, struct bpos pos)
{
	uint8_t *b = p;
	put_le32(b, pos.snapshot);
	put_le64(b + 4, pos.offset);
	put_le64(b + 12, pos.inode);
}

struct bversion {
	uint64_t	lo;
	uint32_t	hi;
};

/* ---- keys ---- */

#define BKEY_U64S		5u	/* unpacked header, in u64s */
#define BKEY_FORMAT_PACKED	0u
#define BKEY_FORMAT_CURRENT	1u
#define BKEY_NR_FIELDS		6u
#define BKEY_VAL_U64S_MAX	250u

/* bkey_format field indices */
enum bkey_field {
	BKEY_FIELD_INODE,
	BKEY_FIELD_OFFSET,
	BKEY_FIELD_SNAPSHOT,
	BKEY_FIELD_SIZE,
	BKEY_FIELD_VERSION_HI,
	BKEY_FIELD_VERSION_LO,
};

struct bkey_format {
	uint8_t		key_u64s;
	uint8_t		nr_fields;
	uint8_t		bits_per_field[BKEY_NR_FIELDS];
	uint64_t	field_offset[BKEY_NR_FIELDS];
};

/*
 * An unpacked key as the library hands it out: the header fields, and a
 * pointer to the value bytes (owned by whoever produced the key: a decoded
 * btree node or a journal buffer). val_bytes is always a multiple of 8.
 */
struct bkey {
	struct bpos		p;
	struct bversion		version;
	uint32_t		size;
	uint8_t			type;
	uint8_t			format;		/* as stored: 0 packed, 1 unpacked */
	uint16_t		val_bytes;
	const uint8_t		*val;
};

/* Key types (enum bch_bkey_type); 36 is new in 1.29, 37-38 in v1.39.2 */
enum bch_bkey_type {
	KEY_TYPE_deleted		= 0,
	KEY_TYPE_whiteout		= 1,
	KEY_TYPE_error			= 2,
	KEY_TYPE_cookie			= 3,
	KEY_TYPE_hash_whiteout		= 4,
	KEY_TYPE_btree_ptr		= 5,
	KEY_TYPE_extent			= 6,
	KEY_TYPE_reservation		= 7,
	KEY_TYPE_inode			= 8,
	KEY_TYPE_inode_generation	= 9,
	KEY_TYPE_dirent			= 10,
	KEY_TYPE_xattr			= 11,
	KEY_TYPE_alloc			= 12,
	KEY_TYPE_quota			= 13,
	KEY_TYPE_stripe			= 14,
	KEY_TYPE_reflink_p		= 15,
	KEY_TYPE_reflink_v		= 16,
	KEY_TYPE_inline_data		= 17,
	KEY_TYPE_btree_ptr_v2		= 18,
	KEY_TYPE_indirect_inline_data	= 19,
	KEY_TYPE_alloc_v2		= 20,
	KEY_TYPE_subvolume		= 21,
	KEY_TYPE_snapshot		= 22,
	KEY_TYPE_inode_v2		= 23,
	KEY_TYPE_alloc_v3		= 24,
	KEY_TYPE_set			= 25,
	KEY_TYPE_lru			= 26,
	KEY_TYPE_alloc_v4		= 27,
	KEY_TYPE_backpointer		= 28,
	KEY_TYPE_inode_v3		= 29,
	KEY_TYPE_bucket_gens		= 30,
	KEY_TYPE_snapshot_tree		= 31,
	KEY_TYPE_logged_op_truncate	= 32,
	KEY_TYPE_logged_op_finsert	= 33,
	KEY_TYPE_accounting		= 34,
	KEY_TYPE_inode_alloc_cursor	= 35,
	KEY_TYPE_extent_whiteout	= 36,
	KEY_TYPE_logged_op_stripe_update = 37,
	KEY_TYPE_damage			= 38,	/* btree damage (1.39 images) */
	KEY_TYPE_NR			= 39,
};

/* NULL for a number we do not know */
const char *bch_bkey_type_name(unsigned type);

/* ---- btree ids ---- */

enum btree_id {
	BTREE_ID_extents		= 0,
	BTREE_ID_inodes			= 1,
	BTREE_ID_dirents		= 2,
	BTREE_ID_xattrs			= 3,
	BTREE_ID_alloc			= 4,
	BTREE_ID_quotas			= 5,
	BTREE_ID_stripes		= 6,
	BTREE_ID_reflink		= 7,
	BTREE_ID_subvolumes		= 8,
	BTREE_ID_snapshots		= 9,
	BTREE_ID_lru			= 10,
	BTREE_ID_freespace		= 11,
	BTREE_ID_need_discard		= 12,
	BTREE_ID_backpointers		= 13,
	BTREE_ID_bucket_gens		= 14,
	BTREE_ID_snapshot_trees		= 15,
	BTREE_ID_deleted_inodes		= 16,
	BTREE_ID_logged_ops		= 17,
	BTREE_ID_rebalance_work		= 18,	/* reconcile_work from 1.33 */
	BTREE_ID_subvolume_children	= 19,
	BTREE_ID_accounting		= 20,
	BTREE_ID_reconcile_hipri	= 21,
	BTREE_ID_reconcile_pending	= 22,
	BTREE_ID_reconcile_scan		= 23,
	BTREE_ID_reconcile_work_phys	= 24,
	BTREE_ID_reconcile_hipri_phys	= 25,
	BTREE_ID_bucket_to_stripe	= 26,
	BTREE_ID_stripe_backpointers	= 27,	/* write buffer, backpointer keys */
	BTREE_ID_damage			= 28,	/* snapshots; whiteout, damage keys */
	BTREE_ID_NR_KNOWN		= 29,
	BTREE_ID_NR_MAX			= 64,
};

/* Name of a btree id as the filesystem's version names it; NULL if unknown */
const char *bch_btree_id_name(unsigned id, unsigned sb_version);
/* id of a name (either era's spelling), or -1 */
int bch_btree_id_parse(const char *name);
/* ---- data types, checksums ---- */

enum bch_data_type {
	BCH_DATA_free		= 0,
	BCH_DATA_sb		= 1,
	BCH_DATA_journal	= 2,
	BCH_DATA_btree		= 3,
	BCH_DATA_user		= 4,
	BCH_DATA_cached		= 5,
	BCH_DATA_parity		= 6,
	BCH_DATA_stripe		= 7,
	BCH_DATA_need_gc_gens	= 8,
	BCH_DATA_need_discard	= 9,
	BCH_DATA_unstriped	= 10,
	BCH_DATA_multiple	= 11,	/* v1.39.2 (alloc/accounting_format.h) */
	BCH_DATA_NR		= 12,
};

const char *bch_data_type_name(unsigned t);

enum bch_csum_type {
	BCH_CSUM_none			= 0,
	BCH_CSUM_crc32c_nonzero		= 1,
	BCH_CSUM_crc64_nonzero		= 2,
	BCH_CSUM_chacha20_poly1305_80	= 3,
	BCH_CSUM_chacha20_poly1305_128	= 4,
	BCH_CSUM_crc32c			= 5,
	BCH_CSUM_crc64			= 6,
	BCH_CSUM_xxhash			= 7,
	BCH_CSUM_NR			= 8,
};

const char *bch_csum_type_name(unsigned t);

/* 16-byte bch_csum as stored: lo le64 @0, hi le64 @8 */
struct bch_csum {
	uint64_t	lo;
	uint64_t	hi;
};

/* ---- superblock field types ---- */

enum bch_sb_field_type {
	BCH_SB_FIELD_journal			= 0,
	BCH_SB_FIELD_members_v1			= 1,
	BCH_SB_FIELD_crypt			= 2,
	BCH_SB_FIELD_replicas_v0		= 3,
	BCH_SB_FIELD_quota			= 4,
	BCH_SB_FIELD_disk_groups		= 5,
	BCH_SB_FIELD_clean			= 6,
	BCH_SB_FIELD_replicas			= 7,
	BCH_SB_FIELD_journal_seq_blacklist	= 8,
	BCH_SB_FIELD_journal_v2			= 9,
	BCH_SB_FIELD_counters			= 10,
	BCH_SB_FIELD_members_v2			= 11,
	BCH_SB_FIELD_errors			= 12,
	BCH_SB_FIELD_ext			= 13,
	BCH_SB_FIELD_downgrade			= 14,
	BCH_SB_FIELD_recovery_passes		= 15,
	BCH_SB_FIELD_extent_type_u64s		= 16,
	BCH_SB_FIELD_errors_v2			= 17,
	BCH_SB_FIELD_NR				= 18,
};

const char *bch_sb_field_name(unsigned type);

/* ---- journal entry types ---- */

enum bch_jset_entry_type {
	BCH_JSET_ENTRY_btree_keys		= 0,
	BCH_JSET_ENTRY_btree_root		= 1,
	BCH_JSET_ENTRY_prio_ptrs		= 2,
	BCH_JSET_ENTRY_blacklist		= 3,
	BCH_JSET_ENTRY_blacklist_v2		= 4,
	BCH_JSET_ENTRY_usage			= 5,
	BCH_JSET_ENTRY_data_usage		= 6,
	BCH_JSET_ENTRY_clock			= 7,
	BCH_JSET_ENTRY_dev_usage		= 8,
	BCH_JSET_ENTRY_log			= 9,
	BCH_JSET_ENTRY_overwrite		= 10,
	BCH_JSET_ENTRY_write_buffer_keys	= 11,
	BCH_JSET_ENTRY_datetime			= 12,
	BCH_JSET_ENTRY_log_bkey			= 13,
	BCH_JSET_ENTRY_rewind_limit		= 14,	/* le64 seq (v1.39.2) */
	BCH_JSET_ENTRY_rewind			= 15,	/* le64 from, le64 to */
};

#define BCH_JSET_HEADER_BYTES		56u
#define BCH_BTREE_NODE_HEADER_BYTES	160u	/* incl. first bset header */
#define BCH_BTREE_NODE_ENTRY_BYTES	40u
#define BCH_BTREE_MAX_DEPTH		4u

/* member slot that is not a device (1.36 placeholder pointers) */
#define BCH_SB_MEMBER_INVALID		255u

#endif /* BCH_FORMAT_H */
