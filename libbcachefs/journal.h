/*
 * Journal reading as recovery does it: scan every journal bucket of every
 * member, keep the entries from the newest usable flush entry's last_seq
 * on, take the btree roots from them and collect their keys, newest wins
 * per (btree, level, position). For a clean filesystem the roots come
 * from the superblock's clean field and there are no keys.
 * bcachefs-format.md §4 (upstream libbcachefs/journal_io.c, recovery.c,
 * btree_journal_iter.c).
 */
#ifndef BCH_JOURNAL_H
#define BCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"
#include "super.h"

struct bch_fs;

/* Byte offsets of the jset header (bcachefs-format.md §4.2) */
#define BCH_JSET_CSUM		0u	/* bch_csum: lo le64, hi le64 */
#define BCH_JSET_CSUM_FROM	16u	/* the checksum covers from here to the end */
#define BCH_JSET_MAGIC		16u	/* le64, journal magic (§1.2) */
#define BCH_JSET_SEQ		24u	/* le64 */
#define BCH_JSET_VERSION	32u	/* le32, metadata version of the writer */
#define BCH_JSET_FLAGS		36u	/* le32: csum type 0..3, big-endian 4, no_flush 5 */
#define BCH_JSET_U64S		40u	/* le32, size of the entry area */
#define BCH_JSET_ENCRYPTED_FROM	44u	/* _read_clock: encryption starts here (§3.5) */
#define BCH_JSET_LAST_SEQ	48u	/* le64, 0 in no_flush entries */
#define BCH_JSET_ENTRIES	BCH_JSET_HEADER_BYTES	/* 56: jset_entry records */

/* jset_entry header (§4.3), also the records of the clean field (§2.8.7) */
#define BCH_JSET_ENTRY_U64S	0u	/* le16, payload size (header excluded) */
#define BCH_JSET_ENTRY_BTREE_ID	2u	/* u8 */
#define BCH_JSET_ENTRY_LEVEL	3u	/* u8 */
#define BCH_JSET_ENTRY_TYPE	4u	/* u8, enum bch_jset_entry_type */
#define BCH_JSET_ENTRY_PAYLOAD	8u	/* after 3 bytes of zero padding */

struct bch_journal_key {
	uint8_t		btree_id;
	uint8_t		level;
	uint64_t	seq;
	uint32_t	order;		/* position in the entry stream, for ties */
	struct bkey	k;		/* value points into the owning entry */
};

struct bch_btree_root {
	bool		present;
	uint8_t		level;
	uint8_t		*raw;		/* unpacked key bytes, owned */
	struct bkey	k;		/* value points into raw */
};

struct bch_journal_entry {
	uint64_t	seq;
	uint64_t	last_seq;
	uint32_t	version;
	uint32_t	flags;
	bool		csum_ok;
	bool		no_flush;
	unsigned	dev;
	uint64_t	sector;		/* where it was read */
	uint8_t		*buf;		/* whole jset, decrypted, owned */
	size_t		bytes;		/* 56 + 8 * u64s */
};

struct bch_journal {
	bool				from_clean;	/* roots from the clean field */
	uint64_t			clean_seq;	/* clean.journal_seq */

	struct bch_journal_entry	*entries;	/* kept entries, by seq */
	size_t				nr_entries;
	uint64_t			last_seq;	/* replay range */
	uint64_t			newest_seq;
	uint64_t			highest_seq_seen;

	/*
	 * What the scan saw on disk, for appending: the newest entry's
	 * device, bucket (index in that device's list) and end (bytes into
	 * the bucket), and each bucket's newest seq (0: no entry).
	 */
	bool				scanned;
	bool				tail_found;
	unsigned			tail_dev;
	unsigned			tail_bucket;
	uint64_t			tail_end;
	uint64_t			*bucket_seq[BCH_SB_MAX_DEVICES];

	struct bch_journal_key		*keys;		/* sorted, deduplicated */
	size_t				nr_keys;
	/*
	 * Accounting keys are deltas: all of them, in replay order (keys[]
	 * keeps only the newest per position, which is what iterators show)
	 */
	struct bch_journal_key		*acct;
	size_t				nr_acct;

	struct bch_blacklist_range	*blacklist;	/* from journal entries */
	size_t				nr_blacklist;

	struct bch_btree_root		roots[BTREE_ID_NR_MAX];
};

int bch_journal_read(struct bch_fs *fs, struct bch_error *err);
/* scan every journal bucket for the fields above (done by the read when unclean) */
int bch_journal_scan(struct bch_fs *fs, struct bch_error *err);
void bch_journal_free(struct bch_journal *j);

/* first journal key of (btree, level) at or after pos; index into keys */
size_t bch_journal_keys_lower_bound(const struct bch_journal *j, unsigned btree,
				    unsigned level, struct bpos pos);

/* ordering of journal keys: btree, level, position */
int bch_journal_key_cmp(unsigned b1, unsigned l1, struct bpos p1,
			unsigned b2, unsigned l2, struct bpos p2);

/*
 * Walk the jset_entry records in [p, p + bytes): calls fn for each; stops
 * with an error naming the byte offset (base + offset) when one overruns.
 */
typedef int (*bch_jset_entry_fn)(void *ctx, const uint8_t *entry,
				 unsigned type, unsigned btree_id, unsigned level,
				 const uint8_t *payload, size_t payload_bytes,
				 uint64_t byte_offset, struct bch_error *err);
int bch_jset_entries_walk(const uint8_t *p, size_t bytes, uint64_t base,
			  const char *what, bch_jset_entry_fn fn, void *ctx,
			  struct bch_error *err);

#endif
