/*
 * Logged operations (btree logged_ops = 17) that this tool decodes.
 * logged_op_stripe_update (key type 37, new with the 1.37-1.39
 * releases; upstream v1.39.2 fs/logged_ops_format.h, ec/create.c):
 * a stripe being replaced by a wider one, replayed after a crash.
 *   old_idx le64 @0, new_idx le64 @8, old_blocks_nr u8 @16,
 *   old_block_map u8[16] @17 (new block i came from old block map[i]),
 *   pad to 40 bytes
 */
#ifndef BCH_LOGGED_OPS_H
#define BCH_LOGGED_OPS_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

#define BCH_LOGGED_OP_STRIPE_UPDATE_BYTES	40u
#define BCH_STRIPE_BLOCK_MAP_MAX		16u

struct bch_logged_op_stripe_update {
	uint64_t	old_idx;
	uint64_t	new_idx;
	uint8_t		old_blocks_nr;
	uint8_t		old_block_map[BCH_STRIPE_BLOCK_MAP_MAX];
};

/* 0, or -BCH_ERR_CORRUPT (why may be NULL) if the value is too short */
int bch_logged_op_stripe_update_decode(const struct bkey *k,
				       struct bch_logged_op_stripe_update *out,
				       const char **why);

/* "old_idx=1 new_idx=2 old_blocks_nr=3 old_block_map=0,1,2" */
void bch_logged_op_stripe_update_to_text(struct printbuf *out,
					 const struct bch_logged_op_stripe_update *op);

#endif
