/*
 * A key as text, in the style of upstream's `bcachefs list`:
 *   u64s 13 type alloc_v4 0:60:0 len 0 ver 0:0: gen 0 oldest_gen 0 ...
 * The value is decoded by key type; types without a decoder (dirents,
 * accounting, ...) print as hex.
 */
#ifndef BCH_BKEY_TO_TEXT_H
#define BCH_BKEY_TO_TEXT_H

#include "bcachefs_format.h"
#include "printbuf.h"

struct bch_sb;

/*
 * A position the way upstream prints it: "POS_MIN", "SPOS_MAX", else
 * inode:offset:snapshot with U64_MAX / U32_MAX for all-ones fields.
 */
void bch_bpos_to_text(struct printbuf *out, struct bpos p);

/* "u64s N type NAME POS len SIZE ver HI:LO" */
void bch_bkey_hdr_to_text(struct printbuf *out, const struct bkey *k);

/*
 * The value alone. sb (may be NULL) supplies bucket sizes, the
 * backpointer shift and the version for btree names. Returns 0, or
 * -BCH_ERR_CORRUPT if the value did not decode (then a "(reason)" and
 * the value's hex are printed).
 */
int bch_bkey_val_to_text(struct printbuf *out, unsigned btree_id,
			 unsigned level, const struct bkey *k,
			 const struct bch_sb *sb);

/* header, then ": " and the value if the value is not empty */
void bch_bkey_to_text(struct printbuf *out, unsigned btree_id, unsigned level,
		      const struct bkey *k, const struct bch_sb *sb);

#endif
