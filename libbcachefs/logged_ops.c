/* Logged operation values (logged_ops.h). */
#include <string.h>

#include "errors.h"
#include "logged_ops.h"

int bch_logged_op_stripe_update_decode(const struct bkey *k,
				       struct bch_logged_op_stripe_update *out,
				       const char **why)
{
	memset(out, 0, sizeof(*out));
	/* the pad may be missing; the map may not */
	if (k->val_bytes < 17 + BCH_STRIPE_BLOCK_MAP_MAX) {
		if (why)
			*why = "logged_op_stripe_update value too small";
		return -BCH_ERR_CORRUPT;
	}
	out->old_idx = get_le64(k->val);
	out->new_idx = get_le64(k->val + 8);
	out->old_blocks_nr = k->val[16];
	memcpy(out->old_block_map, k->val + 17, BCH_STRIPE_BLOCK_MAP_MAX);
	return 0;
}

void bch_logged_op_stripe_update_to_text(struct printbuf *out,
					 const struct bch_logged_op_stripe_update *op)
{
	unsigned nr = op->old_blocks_nr < BCH_STRIPE_BLOCK_MAP_MAX ?
		op->old_blocks_nr : BCH_STRIPE_BLOCK_MAP_MAX;

	pb_printf(out, "old_idx=%llu new_idx=%llu old_blocks_nr=%u",
		  (unsigned long long)op->old_idx, (unsigned long long)op->new_idx,
		  op->old_blocks_nr);
	if (!nr)
		return;
	pb_puts(out, " old_block_map=");
	for (unsigned i = 0; i < nr; i++)
		pb_printf(out, "%s%u", i ? "," : "", op->old_block_map[i]);
}
