/*
 * Sanitizing a metadata copy (bcachefs dump --sanitize): file names and
 * inline data replaced, in place, by filler of the same length, and the
 * checksum of every bset or journal entry touched recomputed, so that the
 * copy reads as before with the private bytes gone. What is replaced:
 *   dirents   the name (and a casefolded name): 'x' for every byte
 *   xattrs    the name after its namespace, and the value: 'x' / zeros
 *   extents   inline_data: zeros
 *   reflink   indirect_inline_data: zeros after the refcount
 * Only unencrypted filesystems: an encrypted one keeps its names and data
 * encrypted in the copy, and re-encrypting would need its key written
 * into the copy's bsets.
 */
#ifndef BCH_SANITIZE_H
#define BCH_SANITIZE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct bch_fs;

struct bch_sanitize_stats {
	uint64_t	keys;		/* keys whose value was replaced */
	uint64_t	bsets;		/* bsets re-checksummed */
	uint64_t	jsets;		/* journal entries re-checksummed */
	uint64_t	skipped;	/* bsets or jsets left as they were (unreadable) */
	uint64_t	stale_bytes;	/* zeroed: node space past its last bset */
};

/*
 * One btree node as on disk (node_bytes, from its start): every bset that
 * reads (magic, seq, checksum) is sanitized; what does not is left alone
 * and counted as skipped. The space after the node's last bset, which
 * nothing reads but may hold an older node's keys, is zeroed.
 */
int bch_sanitize_node(struct bch_fs *fs, uint8_t *node, size_t node_bytes,
		      struct bch_sanitize_stats *st, struct bch_error *err);
/* one journal bucket as on disk: every jset with a good checksum */
int bch_sanitize_journal_bucket(struct bch_fs *fs, uint8_t *bucket, size_t bucket_bytes,
				struct bch_sanitize_stats *st, struct bch_error *err);

#endif
