/*
 * The problem table of check_bucket_bitmaps: each finding kind with the
 * upstream fsck error name it is reported under (the sb_errors names,
 * bcachefs-format.md §8.10 and Appendix A), its message, and its repair.
 * Where upstream has no error of its own we name it and keep the name
 * stable (PR_OUR_NAME).
 */
#include <inttypes.h>

#include "fsck.h"
#include "lru.h"

static const struct fsck_problem problems[BCH_F_NR] = {
	[BCH_F_alloc_invalid_bucket] = { BCH_F_alloc_invalid_bucket, "alloc_key_to_missing_dev_bucket",
	  "alloc key for a bucket outside its device", "delete the alloc key", 0 },
	[BCH_F_alloc_bad_value] = { BCH_F_alloc_bad_value, "alloc_v4_val_size_bad",
	  "alloc key value cannot be decoded", "delete the alloc key", 0 },
	[BCH_F_alloc_sectors_wrong] = { BCH_F_alloc_sectors_wrong, "alloc_key_dirty_sectors_wrong",
	  "alloc key sector counts differ from the pointers into the bucket",
	  "correct the alloc key and what derives from it", 0 },
	[BCH_F_bucket_bp_mismatch] = { BCH_F_bucket_bp_mismatch, "bucket_backpointer_mismatch",
	  "bucket's backpointers add up to less than its alloc counters",
	  "recreate the missing backpointers", PR_OUR_NAME | PR_NOT_ERROR },
	[BCH_F_bucket_bp_excess] = { BCH_F_bucket_bp_excess, "bucket_backpointer_excess",
	  "bucket's backpointers add up to more than its alloc counters",
	  "check each backpointer against its target", PR_OUR_NAME | PR_NOT_ERROR },
	[BCH_F_bucket_bp_excess_no_target] = { BCH_F_bucket_bp_excess_no_target, "backpointer_to_missing_ptr",
	  "backpointer of an over-full bucket points to no pointer",
	  "delete the backpointer", 0 },
	[BCH_F_bp_missing] = { BCH_F_bp_missing, "ptr_to_missing_backpointer",
	  "pointer without its backpointer", "create the backpointer", 0 },
	[BCH_F_bp_no_target] = { BCH_F_bp_no_target, "backpointer_to_missing_ptr",
	  "backpointer doesn't match any pointer", "delete the backpointer", 0 },
	[BCH_F_bp_no_alloc_key] = { BCH_F_bp_no_alloc_key, "backpointer_to_missing_alloc",
	  "backpointer for a bucket without alloc key", "delete the backpointer", 0 },
	[BCH_F_bp_no_device] = { BCH_F_bp_no_device, "backpointer_to_missing_device",
	  "backpointer for a missing device", "delete the backpointer", 0 },
	[BCH_F_bp_wrong_gen] = { BCH_F_bp_wrong_gen, "backpointer_to_stale_bucket_gen",
	  "backpointer with a bucket generation other than the bucket's",
	  "delete the backpointer", PR_OUR_NAME },
	[BCH_F_bp_fields_wrong] = { BCH_F_bp_fields_wrong, "ptr_to_missing_backpointer",
	  "backpointer at the right position with wrong fields",
	  "rewrite the backpointer", 0 },
	[BCH_F_bp_bad_value] = { BCH_F_bp_bad_value, "backpointer_bad_value",
	  "backpointer value cannot be decoded", "delete the backpointer", PR_OUR_NAME },
	[BCH_F_lru_invalid_bucket] = { BCH_F_lru_invalid_bucket, "lru_entry_to_invalid_bucket",
	  "LRU entry points outside its device", "delete the LRU entry", 0 },
	[BCH_F_lru_wrong_time] = { BCH_F_lru_wrong_time, "lru_entry_bad",
	  "LRU entry disagrees with its bucket's alloc key", "delete the LRU entry", 0 },
	[BCH_F_lru_missing] = { BCH_F_lru_missing, "alloc_key_to_missing_lru_entry",
	  "alloc key without the LRU entry it needs", "create the LRU entry", 0 },
	[BCH_F_freespace_invalid_bucket] = { BCH_F_freespace_invalid_bucket, "need_discard_freespace_key_to_invalid_dev_bucket",
	  "freespace entry for buckets outside a device", "delete the freespace entry", 0 },
	[BCH_F_need_discard_invalid_bucket] = { BCH_F_need_discard_invalid_bucket, "need_discard_freespace_key_to_invalid_dev_bucket",
	  "need_discard entry for a bucket outside a device", "delete the need_discard entry", 0 },
	[BCH_F_bucket_gens_invalid_dev] = { BCH_F_bucket_gens_invalid_dev, "bucket_gens_to_invalid_dev",
	  "bucket_gens entry for a missing device", "delete the bucket_gens entry", 0 },
	[BCH_F_bucket_gens_invalid_bucket] = { BCH_F_bucket_gens_invalid_bucket, "bucket_gens_to_invalid_buckets",
	  "bucket_gens entry past the end of its device", "delete the bucket_gens entry", 0 },
	[BCH_F_bucket_gens_nonzero_invalid] = { BCH_F_bucket_gens_nonzero_invalid, "bucket_gens_nonzero_for_invalid_buckets",
	  "bucket_gens entry has gens for buckets outside the device",
	  "zero those gens", 0 },
	[BCH_F_ptr_gen_mismatch] = { BCH_F_ptr_gen_mismatch, "stale_dirty_ptr",
	  "dirty pointer whose generation is not its bucket's",
	  "(not repaired: the extent must be fixed)", 0 },
	[BCH_F_reconcile_phys_wrong] = { BCH_F_reconcile_phys_wrong, "reconcile_work_phys_incorrectly_set",
	  "reconcile phys key disagrees with the backpointer's reconcile class",
	  "set or delete the key", 0 },
	[BCH_F_alloc_missing] = { BCH_F_alloc_missing, "ptr_to_missing_alloc_key",
	  "bucket in use (pointers and backpointers into it) has no alloc key",
	  "(not repaired: the alloc key must be rebuilt)", 0 },
	[BCH_F_node_unreadable] = { BCH_F_node_unreadable, "btree_node_read_error",
	  "btree node cannot be read: the keys of its range are lost",
	  "rebuild its btree from the alloc keys and the pointers (derived btrees only)", 0 },
	[BCH_F_accounting_dev_data_type_wrong] = { BCH_F_accounting_dev_data_type_wrong, "accounting_mismatch",
	  "device bucket accounting differs from the alloc keys",
	  "add the difference to the accounting", 0 },
};

const struct fsck_problem *fsck_problem(enum bch_finding_kind kind)
{
	return &problems[kind];
}

const char *fsck_finding_error_name(const struct bch_finding *f)
{
	if (f->kind == BCH_F_node_unreadable && f->root)
		return "btree_root_read_error";
	/* a superblock or journal bucket without alloc key reads as free */
	if (f->kind == BCH_F_alloc_missing && f->data_type)
		return "alloc_key_data_type_wrong";
	if (f->kind == BCH_F_ptr_gen_mismatch && (int8_t)(f->ptr_gen - f->alloc_gen) > 0)
		return "ptr_gen_newer_than_bucket_gen";
	if (f->kind == BCH_F_alloc_sectors_wrong &&
	    f->ptr_sectors[BCH_CTR_STRIPE] != f->alloc_sectors[BCH_CTR_STRIPE])
		return "alloc_key_stripe_sectors_wrong";
	if (f->kind == BCH_F_alloc_sectors_wrong &&
	    f->ptr_sectors[BCH_CTR_DIRTY] == f->alloc_sectors[BCH_CTR_DIRTY])
		return "alloc_key_cached_sectors_wrong";
	return problems[f->kind].upstream;
}

static void pb_bp_target(struct printbuf *out, const struct bch_backpointer *bp,
			 unsigned sb_version)
{
	const char *n = bch_btree_id_name(bp->btree_id, sb_version);

	if (n)
		pb_printf(out, "target=%s:", n);
	else
		pb_printf(out, "target=btree_%u:", bp->btree_id);
	pb_bpos(out, bp->pos);
}

static void pb_sums(struct printbuf *out, const char *name, const uint64_t v[BCH_CTR_NR])
{
	pb_printf(out, " %s=[%" PRIu64 ", %" PRIu64 ", %" PRIu64 "]", name, v[0], v[1], v[2]);
}

static void finding_details(struct printbuf *out, const struct bch_finding *f,
			    unsigned sb_version)
{
	switch (f->kind) {
	case BCH_F_alloc_invalid_bucket:
		pb_puts(out, "alloc:");
		pb_bpos(out, f->pos);
		pb_printf(out, " dev=%u bucket=%" PRIu64 " nbuckets=%" PRIu64,
			  f->dev, f->bucket, f->nbuckets);
		break;
	case BCH_F_alloc_bad_value:
		pb_puts(out, "alloc:");
		pb_bpos(out, f->pos);
		pb_printf(out, " %s", f->why ? f->why : "");
		break;
	case BCH_F_alloc_sectors_wrong:
		pb_printf(out, "bucket=%u:%" PRIu64 " alloc_dirty=%" PRIu64 " extents_dirty=%" PRIu64
			  " alloc_cached=%" PRIu64 " extents_cached=%" PRIu64, f->dev, f->bucket,
			  f->alloc_sectors[0], f->ptr_sectors[0], f->alloc_sectors[1],
			  f->ptr_sectors[1]);
		break;
	case BCH_F_bucket_bp_mismatch:
	case BCH_F_bucket_bp_excess:
		pb_printf(out, "bucket=%u:%" PRIu64, f->dev, f->bucket);
		pb_sums(out, "bp_sectors", f->bp_sectors);
		pb_sums(out, "alloc", f->alloc_sectors);
		if (f->empty)
			pb_puts(out, " empty");
		break;
	case BCH_F_bp_missing:
	case BCH_F_bp_fields_wrong:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		pb_printf(out, " bucket=%u:%" PRIu64 " btree_id=%u level=%u len=%u target=",
			  f->dev, f->bucket, f->want.btree_id, f->want.level, f->want.bucket_len);
		if (f->want.level)
			pb_puts(out, "btree-node");
		else
			pb_bpos(out, f->want.pos);
		if (f->kind == BCH_F_bp_fields_wrong)
			pb_printf(out, " found_btree_id=%u found_level=%u found_len=%u found_gen=%u",
				  f->bp.btree_id, f->bp.level, f->bp.bucket_len, f->bp.bucket_gen);
		break;
	case BCH_F_bp_no_target:
	case BCH_F_bucket_bp_excess_no_target:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		pb_puts(out, " ");
		pb_bp_target(out, &f->bp, sb_version);
		if (f->kind == BCH_F_bp_no_target)
			pb_printf(out, " level=%u", f->bp.level);
		break;
	case BCH_F_node_unreadable:
		pb_printf(out, "btree=%s level=%u range=",
			  bch_btree_id_name(f->btree_id, sb_version) ?: "?", f->level);
		pb_bpos(out, f->pos);
		pb_puts(out, "-");
		pb_bpos(out, f->want_pos);
		pb_printf(out, " %s: %s", f->rebuildable ? "rebuildable" : "not rebuildable",
			  f->why ? f->why : "");
		break;
	case BCH_F_alloc_missing:
		pb_printf(out, "bucket=%u:%" PRIu64, f->dev, f->bucket);
		if (f->data_type)
			pb_printf(out, " data_type=%s", bch_data_type_name(f->data_type));
		break;
	case BCH_F_bp_no_alloc_key:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		pb_printf(out, " bucket=%u:%" PRIu64, f->dev, f->bucket);
		break;
	case BCH_F_bp_no_device:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		break;
	case BCH_F_bp_wrong_gen:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		pb_printf(out, " bucket=%u:%" PRIu64 " bp_gen=%u alloc_gen=%u pad=%u",
			  f->dev, f->bucket, f->bp.bucket_gen, f->alloc_gen, f->bp.flags);
		break;
	case BCH_F_bp_bad_value:
		pb_puts(out, "backpointers:");
		pb_bpos(out, f->pos);
		pb_printf(out, " %s", f->why ? f->why : "");
		break;
	case BCH_F_lru_invalid_bucket:
	case BCH_F_lru_wrong_time:
		pb_puts(out, "lru:");
		pb_bpos(out, f->pos);
		pb_printf(out, " lru_id=%#x time=%" PRIu64 " dev=%u bucket=%" PRIu64,
			  f->lru_id, f->time, f->dev, f->bucket);
		if (f->kind == BCH_F_lru_invalid_bucket)
			pb_printf(out, " nbuckets=%" PRIu64, f->nbuckets);
		else
			pb_printf(out, " expected_time=%" PRIu64, f->expected_time);
		break;
	case BCH_F_lru_missing:
		pb_puts(out, "alloc:");
		pb_bpos(out, f->pos);
		pb_puts(out, " want lru:");
		pb_bpos(out, f->want_pos);
		pb_printf(out, " (time=%" PRIu64 ")", f->time);
		break;
	case BCH_F_ptr_gen_mismatch:
		pb_bp_target(out, &f->bp, sb_version);
		pb_printf(out, " level=%u bucket=%u:%" PRIu64 " ptr_gen=%u bucket_gen=%u",
			  f->bp.level, f->dev, f->bucket, f->ptr_gen, f->alloc_gen);
		break;
	case BCH_F_reconcile_phys_wrong:
		pb_printf(out, "%s:", bch_btree_id_name(f->btree_id, sb_version));
		pb_bpos(out, f->pos);
		pb_printf(out, " found_class=%" PRIu64 " bp_class=%" PRIu64, f->time, f->expected_time);
		break;
	case BCH_F_accounting_dev_data_type_wrong:
		pb_printf(out, "dev=%u data_type=%s want=[%" PRId64 ", %" PRId64 ", %" PRId64
			  "] have=[%" PRId64 ", %" PRId64 ", %" PRId64 "]", f->dev,
			  bch_data_type_name(f->data_type), f->acct_want[0], f->acct_want[1],
			  f->acct_want[2], f->acct_have[0], f->acct_have[1], f->acct_have[2]);
		break;
	default:
		pb_printf(out, "%s:", bch_btree_id_name(f->btree_id, sb_version));
		pb_bpos(out, f->pos);
		pb_printf(out, " dev=%u bucket=%" PRIu64 " nbuckets=%" PRIu64,
			  f->dev, f->bucket, f->nbuckets);
		break;
	}
}

void fsck_finding_line(struct printbuf *out, const struct bch_finding *f,
		       const struct bch_check_geom *g, unsigned sb_version)
{
	(void)g;
	pb_printf(out, "%s ", bch_finding_name(f->kind));
	finding_details(out, f, sb_version);
}

void fsck_finding_text(struct printbuf *out, const struct bch_finding *f,
		       unsigned sb_version)
{
	const struct fsck_problem *p = &problems[f->kind];

	pb_printf(out, "%s: %s: ", fsck_finding_error_name(f), p->msg);
	finding_details(out, f, sb_version);
}
