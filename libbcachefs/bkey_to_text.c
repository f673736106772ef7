/* Keys as text: header, then the value decoded by key type. */
#include "alloc.h"
#include "backpointers.h"
#include "bkey_to_text.h"
#include "bucket_gens.h"
#include "damage.h"
#include "errors.h"
#include "extents_text.h"
#include "inode.h"
#include "logged_ops.h"
#include "lru.h"
#include "snapshots.h"
#include "super.h"

void bch_bpos_to_text(struct printbuf *out, struct bpos p)
{
	if (bpos_eq(p, POS_MIN)) {
		pb_puts(out, "POS_MIN");
		return;
	}
	if (bpos_eq(p, BPOS(UINT64_MAX, UINT64_MAX, 0))) {
		pb_puts(out, "POS_MAX");
		return;
	}
	if (bpos_eq(p, SPOS_MAX)) {
		pb_puts(out, "SPOS_MAX");
		return;
	}
	if (p.inode == UINT64_MAX)
		pb_puts(out, "U64_MAX");
	else
		pb_printf(out, "%llu", (unsigned long long)p.inode);
	if (p.offset == UINT64_MAX)
		pb_puts(out, ":U64_MAX");
	else
		pb_printf(out, ":%llu", (unsigned long long)p.offset);
	if (p.snapshot == UINT32_MAX)
		pb_puts(out, ":U32_MAX");
	else
		pb_printf(out, ":%u", p.snapshot);
}

void bch_bkey_hdr_to_text(struct printbuf *out, const struct bkey *k)
{
	const char *name = bch_bkey_type_name(k->type);

	pb_printf(out, "u64s %u type ", BKEY_U64S + k->val_bytes / 8u);
	if (name)
		pb_puts(out, name);
	else
		pb_printf(out, "%u", k->type);
	pb_puts(out, " ");
	bch_bpos_to_text(out, k->p);
	pb_printf(out, " len %u ver %u:%llu", k->size, k->version.hi,
		  (unsigned long long)k->version.lo);
}

static void val_hex(struct printbuf *out, const struct bkey *k)
{
	pb_hex(out, k->val, k->val_bytes);
}

static int val_invalid(struct printbuf *out, const struct bkey *k,
		       const char *why)
{
	pb_printf(out, "(invalid: %s) ", why ? why : "malformed value");
	val_hex(out, k);
	return -BCH_ERR_CORRUPT;
}

static int alloc_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_alloc_v4 a;
	const char *why = NULL;

	if (bch_alloc_decode(k, &a, &why))
		return val_invalid(out, k, why);
	bch_alloc_to_text(out, &a);
	return 0;
}

static int backpointer_val_to_text(struct printbuf *out, const struct bkey *k,
				   const struct bch_sb *sb)
{
	struct bch_backpointer bp;
	const char *why = NULL;

	if (bch_backpointer_decode(k, &bp, &why))
		return val_invalid(out, k, why);
	bch_backpointer_key_to_text(out, k, &bp, sb);
	return 0;
}

static int inode_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_inode_unpacked u;
	const char *why = NULL;

	if (bch_inode_unpack(k, &u, &why))
		return val_invalid(out, k, why);
	bch_inode_to_text(out, &u);
	return 0;
}

static int bucket_gens_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_bucket_gens g;
	const char *why = NULL;

	if (bch_bucket_gens_decode(k, &g, &why))
		return val_invalid(out, k, why);
	bch_bucket_gens_to_text(out, &g);
	return 0;
}

static int subvolume_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_subvolume s;
	const char *why = NULL;

	if (bch_subvolume_decode(k, &s, &why))
		return val_invalid(out, k, why);
	bch_subvolume_to_text(out, &s);
	return 0;
}

static int snapshot_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_snapshot s;
	const char *why = NULL;

	if (bch_snapshot_decode(k, &s, &why))
		return val_invalid(out, k, why);
	bch_snapshot_to_text(out, &s);
	return 0;
}

static int stripe_update_val_to_text(struct printbuf *out, const struct bkey *k)
{
	struct bch_logged_op_stripe_update op;
	const char *why = NULL;

	if (bch_logged_op_stripe_update_decode(k, &op, &why))
		return val_invalid(out, k, why);
	bch_logged_op_stripe_update_to_text(out, &op);
	return 0;
}

static int damage_val_to_text(struct printbuf *out, const struct bkey *k)
{
	const char *why = NULL;

	if (bch_damage_validate(k, &why))
		return val_invalid(out, k, why);
	bch_damage_to_text(out, k);
	return 0;
}

/* values that are one little-endian number, printed as "<label>N" */
static int le_val_to_text(struct printbuf *out, const struct bkey *k,
			  const char *label, unsigned bytes)
{
	if (k->val_bytes < bytes)
		return val_invalid(out, k, "value too small");
	pb_printf(out, "%s%llu", label, (unsigned long long)
		  (bytes == 4 ? get_le32(k->val) : get_le64(k->val)));
	return 0;
}

static int inline_data_to_text(struct printbuf *out, const struct bkey *k,
			       unsigned skip)
{
	if (k->val_bytes < skip)
		return val_invalid(out, k, "value too small");
	if (skip)
		pb_printf(out, "refcount %llu ", (unsigned long long)get_le64(k->val));
	pb_printf(out, "datalen %u: ", k->val_bytes - skip);
	pb_hex(out, k->val + skip, k->val_bytes - skip);
	return 0;
}

int bch_bkey_val_to_text(struct printbuf *out, unsigned btree_id,
			 unsigned level, const struct bkey *k,
			 const struct bch_sb *sb)
{
	int ret;

	(void)btree_id;
	(void)level;
	switch (k->type) {
	case KEY_TYPE_btree_ptr:
	case KEY_TYPE_btree_ptr_v2:
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v:
	case KEY_TYPE_stripe:
	case KEY_TYPE_reflink_p:
	case KEY_TYPE_reservation:
		ret = bch_extent_to_text(out, k, sb);
		if (ret) {
			pb_puts(out, " ");
			val_hex(out, k);
		}
		return ret;
	case KEY_TYPE_alloc:
	case KEY_TYPE_alloc_v2:
	case KEY_TYPE_alloc_v3:
	case KEY_TYPE_alloc_v4:
		return alloc_val_to_text(out, k);
	case KEY_TYPE_backpointer:
		return backpointer_val_to_text(out, k, sb);
	case KEY_TYPE_inode:
	case KEY_TYPE_inode_v2:
	case KEY_TYPE_inode_v3:
		return inode_val_to_text(out, k);
	case KEY_TYPE_inode_generation:
		return le_val_to_text(out, k, "generation ", 4);
	case KEY_TYPE_bucket_gens:
		return bucket_gens_val_to_text(out, k);
	case KEY_TYPE_lru:
		return le_val_to_text(out, k, "idx ", 8);
	case KEY_TYPE_cookie:
		return le_val_to_text(out, k, "", 8);
	case KEY_TYPE_inline_data:
		return inline_data_to_text(out, k, 0);
	case KEY_TYPE_indirect_inline_data:
		return inline_data_to_text(out, k, 8);
	case KEY_TYPE_subvolume:
		return subvolume_val_to_text(out, k);
	case KEY_TYPE_snapshot:
		return snapshot_val_to_text(out, k);
	case KEY_TYPE_logged_op_stripe_update:
		return stripe_update_val_to_text(out, k);
	case KEY_TYPE_damage:
		return damage_val_to_text(out, k);
	default:
		val_hex(out, k);
		return 0;
	}
}

void bch_bkey_to_text(struct printbuf *out, unsigned btree_id, unsigned level,
		      const struct bkey *k, const struct bch_sb *sb)
{
	bch_bkey_hdr_to_text(out, k);
	if (!k->val_bytes)
		return;
	pb_puts(out, ": ");
	bch_bkey_val_to_text(out, btree_id, level, k, sb);
}
