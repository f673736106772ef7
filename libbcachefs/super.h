/*
 * Superblock: reading a copy (primary, then the backups of the layout),
 * validating it, and parsing the header and the variable fields we use.
 * bcachefs-format.md §2 (upstream libbcachefs/super-io.c, sb-members.c,
 * journal_sb.c, sb-clean.c).
 */
#ifndef BCH_SUPER_H
#define BCH_SUPER_H

#include <stdbool.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"
#include "io.h"

#define BCH_SB_MAX_DEVICES	256u

/*
 * Byte offsets of the bch_sb header (bcachefs-format.md §2.2); the
 * variable fields follow at BCH_SB_FIELDS (== BCH_SB_HEADER_BYTES).
 */
#define BCH_SB_CSUM		0u	/* bch_csum: lo le64, hi le64 */
#define BCH_SB_CSUM_FROM	16u	/* the checksum covers from here to the end */
#define BCH_SB_VERSION		16u	/* le16 */
#define BCH_SB_VERSION_MIN	18u	/* le16 */
#define BCH_SB_MAGIC		24u	/* 16 bytes, bcachefs or bcache magic uuid */
#define BCH_SB_UUID		40u	/* 16 bytes, internal uuid */
#define BCH_SB_USER_UUID	56u	/* 16 bytes, external uuid */
#define BCH_SB_LABEL		72u	/* 32 bytes, NUL padded */
#define BCH_SB_OFFSET		104u	/* le64, sector of this copy */
#define BCH_SB_SEQ		112u	/* le64, bumped on every write */
#define BCH_SB_BLOCK_SIZE	120u	/* le16, sectors */
#define BCH_SB_DEV_IDX		122u	/* u8, this device's member slot */
#define BCH_SB_NR_DEVICES	123u	/* u8, member slots */
#define BCH_SB_U64S		124u	/* le32, size of the field area */
#define BCH_SB_TIME_BASE_LO	128u	/* le64 */
#define BCH_SB_TIME_BASE_HI	136u	/* le32 */
#define BCH_SB_TIME_PRECISION	140u	/* le32, ns */
#define BCH_SB_FLAGS		144u	/* le64 flags[7] (§2.4) */
#define BCH_SB_WRITE_TIME	200u	/* le64, seconds */
#define BCH_SB_FEATURES		208u	/* le64 features[2] (§2.5) */
#define BCH_SB_COMPAT		224u	/* le64 compat[2] (§2.5) */
#define BCH_SB_LAYOUT		240u	/* embedded bch_sb_layout */
#define BCH_SB_FIELDS		BCH_SB_HEADER_BYTES	/* 752: variable fields (§2.6) */

/* bch_sb_layout, at sector 7 and at BCH_SB_LAYOUT (§2.1) */
#define BCH_SB_LAYOUT_MAGIC	0u	/* 16 bytes */
#define BCH_SB_LAYOUT_TYPE	16u	/* u8, must be 0 */
#define BCH_SB_LAYOUT_MAX_SIZE_BITS 17u	/* u8, log2 sectors of one copy */
#define BCH_SB_LAYOUT_NR	18u	/* u8, nr_superblocks */
#define BCH_SB_LAYOUT_OFFSETS	24u	/* le64 sb_offset[61] */

/* every variable field's 8-byte header (§2.6) */
#define BCH_SB_FIELD_HDR_U64S	0u	/* le32, whole field in u64s */
#define BCH_SB_FIELD_HDR_TYPE	4u	/* le32 */

/* members_v2 and members_v1 fields, from the field start (§2.8.2) */
#define BCH_MEMBERS_V2_MEMBER_BYTES 8u	/* le16, size of one entry */
#define BCH_MEMBERS_V2_ENTRIES	16u	/* entries of member_bytes each */
#define BCH_MEMBERS_V1_ENTRIES	8u	/* entries of BCH_MEMBER_V1_BYTES each */
#define BCH_MEMBER_V1_BYTES	56u	/* a v1 entry: the first 56 bytes of v2 */

/* one member entry (§2.8.2) */
#define BCH_MEMBER_UUID		0u	/* 16 bytes; all-zero: empty slot */
#define BCH_MEMBER_NBUCKETS	16u	/* le64 */
#define BCH_MEMBER_FIRST_BUCKET	24u	/* le16 */
#define BCH_MEMBER_BUCKET_SIZE	26u	/* le16, sectors */
#define BCH_MEMBER_BTREE_BITMAP_SHIFT 28u /* u8 */
#define BCH_MEMBER_LAST_MOUNT	32u	/* le64, seconds */
#define BCH_MEMBER_FLAGS	40u	/* le64, BCH_MEMBER_STATE() etc. below */
#define BCH_MEMBER_IOPS		48u	/* le32 iops[4] */
#define BCH_MEMBER_ERRORS	64u	/* le64 errors[3] */
#define BCH_MEMBER_ERRORS_AT_RESET 88u	/* le64 errors_at_reset[3] */
#define BCH_MEMBER_ERRORS_RESET_TIME 112u /* le64 */
#define BCH_MEMBER_SEQ		120u	/* le64, sb seq last written to it */
#define BCH_MEMBER_BTREE_BITMAP	128u	/* le64 btree_allocated_bitmap */
#define BCH_MEMBER_LAST_JOURNAL_BUCKET 136u /* le32, index in the journal list */
#define BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET 140u /* le32, sectors */
#define BCH_MEMBER_DEVICE_NAME	144u	/* 16 bytes (1.36) */
#define BCH_MEMBER_DEVICE_MODEL	160u	/* 64 bytes (1.36) */
#define BCH_MEMBER_BYTES_MAX	224u	/* a 1.36 entry (what format writes) */
/* appended by the 1.37-1.39 releases (v1.39.2 sb/members_format.h) */
#define BCH_MEMBER_FLUSH_ERRORS	224u	/* le64 */
#define BCH_MEMBER_DEVICE_SERIAL 232u	/* 64 bytes */
#define BCH_MEMBER_FAILURE_DOMAIN 296u	/* 32 bytes, a name; empty: none */
#define BCH_MEMBER_BYTES_1_39	328u	/* a v1.39.2 entry: the most we decode */

struct bch_sb_layout {
	uint8_t		magic[16];
	uint8_t		layout_type;
	uint8_t		sb_max_size_bits;
	uint8_t		nr_superblocks;
	uint64_t	sb_offset[61];
};

/* one member slot (members_v2, or members_v1 when there is no v2) */
struct bch_member {
	bool		exists;		/* uuid not all-zero */
	uint8_t		uuid[16];
	uint64_t	nbuckets;
	uint16_t	first_bucket;
	uint16_t	bucket_size;	/* sectors */
	uint8_t		btree_bitmap_shift;
	uint64_t	last_mount;
	uint64_t	flags;
	uint32_t	iops[4];
	uint64_t	errors[3];
	uint64_t	errors_at_reset[3];
	uint64_t	errors_reset_time;
	uint64_t	seq;
	uint64_t	btree_allocated_bitmap;
	uint32_t	last_journal_bucket;
	uint32_t	last_journal_bucket_offset;
	char		device_name[17];
	char		device_model[65];
	/* v1.39.2 (zero / empty in shorter entries) */
	uint64_t	flush_errors;
	char		device_serial[65];
	char		failure_domain[33];
};

/* member flags (bits of bch_member.flags) */
#define BCH_MEMBER_STATE(m)		bits64((m)->flags, 0, 4)
#define BCH_MEMBER_DISCARD(m)		bits64((m)->flags, 14, 15)
#define BCH_MEMBER_DATA_ALLOWED(m)	bits64((m)->flags, 15, 20)
#define BCH_MEMBER_GROUP(m)		bits64((m)->flags, 20, 28)
#define BCH_MEMBER_DURABILITY(m)	bits64((m)->flags, 28, 30)
#define BCH_MEMBER_FREESPACE_INIT(m)	bits64((m)->flags, 30, 31)
#define BCH_MEMBER_RESIZE_ON_MOUNT(m)	bits64((m)->flags, 31, 32)
#define BCH_MEMBER_ROTATIONAL(m)	bits64((m)->flags, 32, 33)
/* v1.39.2: 0 initialized, else the step a device add stopped before */
#define BCH_MEMBER_INITIALIZED(m)	bits64((m)->flags, 34, 38)

struct bch_blacklist_range {
	uint64_t	start;		/* inclusive */
	uint64_t	end;		/* exclusive */
};

/* a field found in the variable area */
struct bch_sb_field_ref {
	const uint8_t	*p;		/* start of the field, header included */
	uint32_t	bytes;		/* 8 * u64s */
	uint32_t	type;
};

struct bch_sb {
	/* the copy as read, and where it came from */
	uint8_t		*bytes;
	size_t		len;		/* 752 + 8 * u64s */
	uint64_t	sector;		/* sector it was read at */
	bool		from_backup;

	/* header */
	struct bch_csum	csum;
	uint16_t	version;
	uint16_t	version_min;
	uint8_t		magic[16];
	uint8_t		uuid[16];
	uint8_t		user_uuid[16];
	char		label[33];
	uint64_t	offset;
	uint64_t	seq;
	uint16_t	block_size;	/* sectors */
	uint8_t		dev_idx;
	uint8_t		nr_devices;
	uint32_t	u64s;
	uint64_t	time_base_lo;
	uint32_t	time_base_hi;
	uint32_t	time_precision;
	uint64_t	flags[7];
	uint64_t	write_time;
	uint64_t	features[2];
	uint64_t	compat[2];
	struct bch_sb_layout layout;

	/* fields */
	unsigned	nr_fields;
	struct bch_sb_field_ref	fields[64];

	unsigned	nr_members;	/* == nr_devices */
	struct bch_member *members;	/* nr_devices entries */
	uint16_t	member_bytes;	/* 0 if from members_v1 */

	uint64_t	*journal_buckets;	/* this device's journal, ring order */
	unsigned	nr_journal_buckets;

	unsigned	nr_blacklist;
	struct bch_blacklist_range *blacklist;

	/* derived */
	uint64_t	sb_magic;	/* first 8 bytes of uuid, le64 */
	uint64_t	journal_magic;
	uint64_t	bset_magic;
};

/* flags[] bitfields we use (bcachefs-format.md §2.4, §36.2) */
#define BCH_SB_CLEAN(sb)		bits64((sb)->flags[0], 1, 2)
#define BCH_SB_CSUM_TYPE(sb)		bits64((sb)->flags[0], 2, 8)
#define BCH_SB_BTREE_NODE_SIZE(sb)	bits64((sb)->flags[0], 12, 28)
#define BCH_SB_META_CSUM_TYPE(sb)	bits64((sb)->flags[0], 40, 44)
#define BCH_SB_DATA_CSUM_TYPE(sb)	bits64((sb)->flags[0], 44, 48)
#define BCH_SB_HAS_ERRORS(sb)		bits64((sb)->flags[0], 60, 61)
#define BCH_SB_HAS_TOPOLOGY_ERRORS(sb)	bits64((sb)->flags[0], 61, 62)
#define BCH_SB_BIG_ENDIAN(sb)		bits64((sb)->flags[0], 62, 63)
#define BCH_SB_ENCRYPTION_TYPE(sb)	bits64((sb)->flags[1], 10, 14)
#define BCH_SB_ENCODED_EXTENT_MAX_BITS(sb) bits64((sb)->flags[1], 14, 20)
#define BCH_SB_VERSION_UPGRADE_COMPLETE(sb) bits64((sb)->flags[5], 0, 16)
#define BCH_SB_VERSION_INCOMPAT(sb)	bits64((sb)->flags[5], 32, 48)
#define BCH_SB_VERSION_INCOMPAT_ALLOWED(sb) bits64((sb)->flags[5], 48, 64)
#define BCH_SB_EXTENT_BP_SHIFT_RAW(sb)	bits64((sb)->flags[6], 40, 48)

/* backpointer position shift: 0 in the superblock means 10 (§36.2) */
static inline unsigned bch_sb_bp_shift(const struct bch_sb *sb)
{
	unsigned s = (unsigned)BCH_SB_EXTENT_BP_SHIFT_RAW(sb);

	return s ? s : 10;
}

/* the metadata checksum type for journal and btree writes */
unsigned bch_sb_meta_csum_type(const struct bch_sb *sb);

/*
 * Read and validate one device's superblock: the primary copy at sector 8,
 * else each backup listed in the layout. Backup use is reported through
 * msgs. -BCH_ERR_NOT_BCACHEFS if no copy has the magic.
 */
int bch_sb_read(struct bch_io *io, const struct bch_msg_sink *msgs,
		struct bch_sb *sb, struct bch_error *err);
/* read and validate the copy at exactly this sector */
int bch_sb_read_at(struct bch_io *io, uint64_t sector, struct bch_sb *sb,
		   struct bch_error *err);
/* parse and validate a superblock image already in memory (takes ownership) */
int bch_sb_parse(uint8_t *bytes, size_t len, uint64_t sector, const char *path,
		 struct bch_sb *sb, struct bch_error *err);
void bch_sb_free(struct bch_sb *sb);

/* one member entry of bytes bytes (56 for members_v1); missing fields read 0 */
void bch_member_decode(const uint8_t *p, unsigned bytes, struct bch_member *m);

const struct bch_sb_field_ref *bch_sb_field_get(const struct bch_sb *sb,
						unsigned type);

#endif
