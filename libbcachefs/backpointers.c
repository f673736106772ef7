/* Backpointer values and their printing (bcachefs-format.md §7.9, §36.4). */
#include <string.h>

#include "backpointers.h"
#include "bkey_to_text.h"
#include "errors.h"
#include "super.h"

/* btree 18 became reconcile_work, and pad became flags, in 1.33 */
#define BCH_VERSION_RECONCILE_FLAGS	BCH_VERSION(1, 33)

int bch_backpointer_decode(const struct bkey *k, struct bch_backpointer *out,
			   const char **why)
{
	const uint8_t *p = k->val;

	/* padding too: backpointers are compared whole (tests, memcmp) */
	memset(out, 0, sizeof(*out));
	if (k->val_bytes < BCH_BACKPOINTER_BYTES) {
		if (why)
			*why = "backpointer value too small";
		return -BCH_ERR_CORRUPT;
	}
	out->btree_id	= p[0];
	out->level	= p[1];
	out->data_type	= p[2];
	out->bucket_gen	= p[3];
	out->flags	= get_le32(p + 4);
	out->bucket_len	= get_le32(p + 8);
	out->pos	= bpos_decode(p + 12);
	return 0;
}

void bch_backpointer_encode(uint8_t out[BCH_BACKPOINTER_BYTES], const struct bch_backpointer *bp)
{
	memset(out, 0, BCH_BACKPOINTER_BYTES);
	out[0] = bp->btree_id;
	out[1] = bp->level;
	out[2] = bp->data_type;
	out[3] = bp->bucket_gen;
	put_le32(out + 4, bp->flags);
	put_le32(out + 8, bp->bucket_len);
	bpos_encode(out + 12, bp->pos);
}

static void prt_btree_id(struct printbuf *out, unsigned id, unsigned sb_version)
{
	const char *name = bch_btree_id_name(id, sb_version);

	if (name)
		pb_puts(out, name);
	else
		pb_printf(out, "(unknown btree %u)", id);
}

void bch_backpointer_to_text(struct printbuf *out,
			     const struct bch_backpointer *bp,
			     unsigned sb_version)
{
	pb_puts(out, "btree=");
	prt_btree_id(out, bp->btree_id, sb_version);
	pb_printf(out, " level=%u data_type=", bp->level);
	if (bp->data_type < BCH_DATA_NR)
		pb_puts(out, bch_data_type_name(bp->data_type));
	else
		pb_printf(out, "(unknown data type %u)", bp->data_type);
	pb_printf(out, " gen=%u len=%u pos=", bp->bucket_gen, bp->bucket_len);
	bch_bpos_to_text(out, bp->pos);
	if (!bp->flags)
		return;
	if (sb_version < BCH_VERSION_RECONCILE_FLAGS) {
		pb_printf(out, " pad=%u", bp->flags);
		return;
	}
	pb_printf(out, " flags=%u", bp->flags);
	if (BCH_BACKPOINTER_RECONCILE_PHYS(bp))
		pb_puts(out, " phys");
	if (sb_version < BCH_VERSION_1_37)
		return;
	if (BCH_BACKPOINTER_ERASURE_CODED(bp))
		pb_puts(out, " ec");
	if (BCH_BACKPOINTER_STRIPE_PTR(bp))
		pb_puts(out, " stripe");
}

void bch_backpointer_key_to_text(struct printbuf *out, const struct bkey *k,
				 const struct bch_backpointer *bp,
				 const struct bch_sb *sb)
{
	unsigned shift = sb ? bch_sb_bp_shift(sb) : BCH_BP_SHIFT_DEFAULT;
	unsigned version = sb ? sb->version : BCH_VERSION_1_28;
	uint64_t sector = bch_bp_pos_to_sector(k->p.offset, shift);
	const struct bch_member *m = NULL;

	if (sb && k->p.inode < sb->nr_members)
		m = &sb->members[k->p.inode];
	if (m && m->exists && m->bucket_size)
		pb_printf(out, "bucket=%llu:%llu:%llu ",
			  (unsigned long long)k->p.inode,
			  (unsigned long long)(sector / m->bucket_size),
			  (unsigned long long)(sector % m->bucket_size));
	else
		pb_printf(out, "sector=%llu:%llu ",
			  (unsigned long long)k->p.inode,
			  (unsigned long long)sector);
	bch_backpointer_to_text(out, bp, version);
	pb_printf(out, " suboffset=%llu",
		  (unsigned long long)(k->p.offset - bch_bp_shl(sector, shift)));
}
