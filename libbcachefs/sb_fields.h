/*
 * Decoders of the superblock's variable fields that the checker itself
 * does not need but show-super prints: replicas, disk groups, errors,
 * ext, downgrade, counters, recovery passes, extent_type_u64s, crypt,
 * journal bucket lists, members (straight from a members field).
 * bcachefs-format.md §2.8 and §36.2.
 *
 * Every function takes the field as found in the superblock: a pointer to
 * its 8-byte header and its length in bytes, and never reads past that
 * length; entries that do not fit whole are not returned.
 */
#ifndef BCH_SB_FIELDS_H
#define BCH_SB_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "super.h"

#define BCH_SB_FIELD_HDR_BYTES	8u

/* number of fixed-size entries starting at byte 'start' of the field */
static inline size_t bch_sb_field_nr_entries(size_t bytes, size_t start,
					     size_t entry_bytes)
{
	return bytes > start && entry_bytes ? (bytes - start) / entry_bytes : 0;
}

/* ---- journal (0), journal_v2 (9) ---- */

struct bch_sb_journal_range {
	uint64_t	start;
	uint64_t	nr;
};

size_t bch_sb_journal_nr(size_t bytes);
uint64_t bch_sb_journal_bucket(const uint8_t *f, size_t bytes, size_t i);
size_t bch_sb_journal_v2_nr(size_t bytes);
struct bch_sb_journal_range bch_sb_journal_v2_range(const uint8_t *f, size_t bytes,
						    size_t i);

/* ---- members_v1 (1), members_v2 (11) ---- */

/* bytes of one entry (v2: from the field, 0 if the field is too short) */
unsigned bch_sb_members_entry_bytes(const uint8_t *f, size_t bytes, unsigned type);
/* number of whole member entries the field holds */
unsigned bch_sb_members_nr(const uint8_t *f, size_t bytes, unsigned type);
/* decode entry i; -BCH_ERR_CORRUPT if it is not inside the field */
int bch_sb_member_get(const uint8_t *f, size_t bytes, unsigned type, unsigned i,
		      struct bch_member *m);

/* ---- crypt (2) ---- */

struct bch_sb_crypt_info {
	unsigned	kdf_type;	/* 0 = scrypt */
	unsigned	log_n, log_r, log_p;
	bool		key_plain;	/* "bch**key" magic in the clear */
};

int bch_sb_crypt_info(const uint8_t *f, size_t bytes, struct bch_sb_crypt_info *out);

/* ---- replicas_v0 (3), replicas (7) ---- */

struct bch_replicas_entry {
	uint8_t		data_type;
	uint8_t		nr_devs;
	uint8_t		nr_required;	/* 1 for v0 entries */
	const uint8_t	*devs;		/* nr_devs bytes */
};

/*
 * Next entry at *pos (start with *pos = 0): 1 and the entry, 0 at the
 * end of the list (data_type 0 or end of field), -BCH_ERR_CORRUPT if an
 * entry runs past the end of the field.
 */
int bch_sb_replicas_next(const uint8_t *f, size_t bytes, bool v0, size_t *pos,
			 struct bch_replicas_entry *e);

/*
 * Data types (bit = enum bch_data_type) the replicas field(s) list on
 * device dev: what upstream shows as "Has data".
 */
uint64_t bch_sb_dev_has_data(const struct bch_sb *sb, unsigned dev);

/* ---- quota (4) ---- */

struct bch_sb_quota_type {
	uint64_t	flags;
	uint32_t	timelimit[2];	/* space, inodes */
	uint32_t	warnlimit[2];
};

/* i = 0 user, 1 group, 2 project; -BCH_ERR_CORRUPT if not in the field */
int bch_sb_quota_get(const uint8_t *f, size_t bytes, unsigned i,
		     struct bch_sb_quota_type *q);

/* ---- disk_groups (5) ---- */

#define BCH_DISK_GROUP_BYTES	48u

struct bch_disk_group {
	char		label[33];	/* NUL terminated */
	bool		deleted;
	uint8_t		data_allowed;
	uint32_t	parent;		/* 0: top level, else parent index + 1 */
};

size_t bch_sb_disk_groups_nr(size_t bytes);
int bch_sb_disk_group_get(const uint8_t *f, size_t bytes, size_t i,
			  struct bch_disk_group *g);
/*
 * Dotted path of group i ("ssd.fast") into buf; -BCH_ERR_CORRUPT for a
 * missing or deleted group or a parent loop. Always NUL-terminates.
 */
int bch_sb_disk_group_path(const uint8_t *f, size_t bytes, size_t i,
			   char *buf, size_t buf_len);

/* ---- clean (6) ---- */

#define BCH_SB_CLEAN_FLAGS		8u	/* le32, written 0 (§2.8.7) */
#define BCH_SB_CLEAN_JOURNAL_SEQ	16u	/* le64 */
#define BCH_SB_CLEAN_ENTRIES_OFFSET	24u	/* jset_entry records (journal.h) */

struct bch_sb_clean_hdr {
	uint32_t	flags;
	uint64_t	journal_seq;
};

int bch_sb_clean_hdr(const uint8_t *f, size_t bytes, struct bch_sb_clean_hdr *h);

/* ---- journal_seq_blacklist (8) ---- */

size_t bch_sb_blacklist_nr(size_t bytes);
struct bch_blacklist_range bch_sb_blacklist_get(const uint8_t *f, size_t bytes,
						size_t i);

/* ---- counters (10) ---- */

size_t bch_sb_counters_nr(size_t bytes);
uint64_t bch_sb_counter_get(const uint8_t *f, size_t bytes, size_t i);

/* ---- errors (12) ---- */

struct bch_sb_error_entry {
	uint16_t	id;
	uint64_t	nr;
	uint64_t	last_time;	/* seconds */
	uint64_t	first_time;	/* seconds; errors_v2 and damage keys only */
};

size_t bch_sb_errors_nr(size_t bytes);
struct bch_sb_error_entry bch_sb_error_get(const uint8_t *f, size_t bytes, size_t i);

/* ---- errors_v2 (17), v1.39.2 ---- */

/*
 * 16-byte entries, two le64 words w0, w1 (upstream sb/errors_format.h):
 *   id    = w0 bits 0..16
 *   nr    = w0 bits 16..48 (saturating)
 *   last  = w0 bits 48..64 (low 16 bits) | w1 bits 0..24 (high 24 bits)
 *   first = w1 bits 24..64
 * The same records make up the value of a damage key (type 38).
 */
#define BCH_SB_ERROR_V2_BYTES	16u

struct bch_sb_error_entry bch_sb_error_v2_decode(const uint8_t p[BCH_SB_ERROR_V2_BYTES]);
size_t bch_sb_errors_v2_nr(size_t bytes);
struct bch_sb_error_entry bch_sb_error_v2_get(const uint8_t *f, size_t bytes, size_t i);

/* ---- ext (13) ---- */

#define BCH_SB_EXT_MIN_BYTES	88u

struct bch_sb_ext {
	uint64_t	recovery_passes_required[2];
	uint64_t	errors_silent[8];
	bool		has_btrees_lost_data;
	uint64_t	btrees_lost_data;
	/* appended in v1.39.2; each present only if the field is long enough */
	bool		has_flags0;		/* >= 104 bytes */
	uint64_t	flags0;			/* options, BCH_SB_EXT_*() below */
	bool		has_btrees_lost_data_ever;	/* >= 112 bytes */
	uint64_t	btrees_lost_data_ever;	/* never cleared */
	bool		has_btrees_clean;	/* >= 120 bytes */
	uint64_t	btrees_clean;		/* validated since last change */
};

/* options kept in ext.flags0 (v1.39.2 fs/bcachefs_format.h) */
#define BCH_SB_EXT_DEV_READAHEAD(e)		bits64((e)->flags0, 0, 20)	/* sectors */
#define BCH_SB_EXT_EC_STRIPE_BUF_LIMIT(e)	bits64((e)->flags0, 20, 26)
#define BCH_SB_EXT_SCRUB_MAX_REWIND_SECS(e)	bits64((e)->flags0, 26, 38)
#define BCH_SB_EXT_DISCARD_BUFFER(e)		bits64((e)->flags0, 38, 42)
#define BCH_SB_EXT_BTREE_CACHE_SHRINKER_SEEKS(e) bits64((e)->flags0, 42, 49)

/* -BCH_ERR_CORRUPT if shorter than 88 bytes */
int bch_sb_ext_get(const uint8_t *f, size_t bytes, struct bch_sb_ext *e);

/* ---- downgrade (14) ---- */

struct bch_sb_downgrade_entry {
	uint16_t	version;
	uint64_t	recovery_passes[2];
	uint16_t	nr_errors;
	const uint8_t	*errors;	/* nr_errors le16 */
};

/* like bch_sb_replicas_next: 1 entry, 0 end (a record that does not fit ends the list) */
int bch_sb_downgrade_next(const uint8_t *f, size_t bytes, size_t *pos,
			  struct bch_sb_downgrade_entry *e);

static inline uint16_t bch_sb_downgrade_error(const struct bch_sb_downgrade_entry *e,
					      unsigned i)
{
	return i < e->nr_errors ? get_le16(e->errors + 2 * i) : 0;
}

/* ---- recovery_passes (15) ---- */

struct bch_sb_recovery_pass_entry {
	uint64_t	last_run;	/* seconds */
	uint32_t	last_runtime;	/* seconds */
	uint32_t	flags;		/* bit 0 no_ratelimit */
};

size_t bch_sb_recovery_passes_nr(size_t bytes);
struct bch_sb_recovery_pass_entry bch_sb_recovery_pass_get(const uint8_t *f,
							   size_t bytes, size_t i);

/* ---- extent_type_u64s (16) ---- */

/* entries up to the first zero byte or the end of the field */
size_t bch_sb_extent_type_u64s_nr(const uint8_t *f, size_t bytes);

/* ---- names ---- */

/* by stable id (as in ext, downgrade, recovery_passes); NULL if unknown */
const char *bch_recovery_pass_name(unsigned stable_id, unsigned sb_version);
/* features[0] / compat[0] bit names; NULL if unknown */
const char *bch_sb_feature_name(unsigned bit);
const char *bch_sb_compat_name(unsigned bit);

#endif
