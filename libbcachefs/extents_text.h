/*
 * Printing of the values that carry extent entries (extent, reflink_v,
 * btree_ptr, btree_ptr_v2, stripe) and of reflink_p and reservation,
 * with small decoders for the last three. bcachefs-format.md §7.1-§7.3,
 * §36.6.
 */
#ifndef BCH_EXTENTS_TEXT_H
#define BCH_EXTENTS_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "extents.h"
#include "printbuf.h"

struct bch_sb;

/* enum bch_compression_type: none lz4_old gzip lz4 zstd incompressible */
const char *bch_compression_type_name(unsigned t);

/*
 * One entry, prefixed with its type name: "ptr: 0:29184 gen 0",
 * "crc32: c_size 16 size 16 offset 0 nonce 0 csum crc32c 0:1984feef
 * compress none", ... If sb is given and has the pointer's device, the
 * bucket and offset in it follow ("bucket 57:0").
 */
void bch_extent_entry_to_text(struct printbuf *out,
			      const struct bch_extent_entry *e,
			      const struct bch_sb *sb);

/*
 * The entries in p[0..bytes), space separated. An entry that cannot be
 * decoded is printed as "(invalid extent entry XXXXXXXXXXXXXXXX)" and
 * ends the list; then -BCH_ERR_CORRUPT is returned, else 0.
 */
int bch_extent_entries_to_text(struct printbuf *out, const uint8_t *p,
			       unsigned bytes, const struct bch_sb *sb);

/* ---- values without entries ---- */

struct bch_reflink_p {
	uint64_t	idx;		/* bits 0..55 of idx_flags */
	bool		error;		/* bit 56 */
	bool		may_update_options; /* bit 57 */
	uint32_t	front_pad;
	uint32_t	back_pad;
};

struct bch_reservation {
	uint32_t	generation;
	uint8_t		nr_replicas;
};

/* the 8-byte stripe header; nr_blocks pointers follow it */
struct bch_stripe {
	uint16_t	sectors;
	/*
	 * byte 2: the whole byte was the algorithm up to 1.36; from v1.39.2
	 * (ec/format.h) bits 0-3 algorithm, bit 4 needs_reconcile, bits 5-7
	 * can_widen. Only algorithm 0 was ever written, so the split reads
	 * older stripes the same.
	 */
	uint8_t		algorithm;
	uint8_t		needs_reconcile;
	uint8_t		can_widen;
	uint8_t		nr_blocks;
	uint8_t		nr_redundant;
	uint8_t		csum_granularity_bits;
	uint8_t		csum_type;
	uint8_t		disk_label;
};

#define BCH_STRIPE_HDR_BYTES	8u

/* 0, or -BCH_ERR_CORRUPT (reason in *why, why may be NULL) */
int bch_reflink_p_decode(const struct bkey *k, struct bch_reflink_p *out,
			 const char **why);
int bch_reservation_decode(const struct bkey *k, struct bch_reservation *out,
			   const char **why);
/* header only; the pointers must also fit in the value */
int bch_stripe_decode(const struct bkey *k, struct bch_stripe *out,
		      const char **why);

void bch_reflink_p_to_text(struct printbuf *out, const struct bch_reflink_p *p);
void bch_reservation_to_text(struct printbuf *out, const struct bch_reservation *r);

/*
 * The value of an extent, reflink_v ("refcount N" first), btree_ptr,
 * btree_ptr_v2 ("seq X written N min_key POS" first), stripe (header,
 * then pointers with "#blockcount"), reflink_p or reservation key. sb may
 * be NULL. Returns 0, or -BCH_ERR_CORRUPT if the value is malformed (what
 * could be decoded is printed, then a "(...)" note), or -BCH_ERR_INVAL
 * for another key type (nothing printed).
 */
int bch_extent_to_text(struct printbuf *out, const struct bkey *k,
		       const struct bch_sb *sb);

#endif
