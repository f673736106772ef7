/*
 * The problem table of bcachefs fsck: each finding kind with our name (the
 * vocabulary of the corpus' expected findings), the upstream fsck error
 * name it is reported under (the sb_errors names, bcachefs-format.md §8.10
 * and Appendix A), its message, its repair and whether -p may make it.
 * Where upstream has no error of its own we name it and keep the name
 * stable (PR_OUR_NAME).
 */
#include <inttypes.h>

#include "fsck.h"
#include "lru.h"

static const struct fsck_problem problems[BCH_F_NR] = {
	[BCH_F_alloc_invalid_bucket] = {
		.name = "alloc_invalid_bucket", .upstream = "alloc_key_to_missing_dev_bucket",
		.msg = "alloc key for a bucket outside its device",
		.fix = "delete the alloc key",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_alloc, .flags = PR_PREEN,
	},
	[BCH_F_alloc_bad_value] = {
		.name = "alloc_bad_value", .upstream = "alloc_v4_val_size_bad",
		.msg = "alloc key value cannot be decoded",
		.fix = "delete the alloc key",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_alloc, .flags = PR_PREEN,
	},
	[BCH_F_alloc_sectors_wrong] = {
		.name = "alloc_sectors_wrong", .upstream = "alloc_key_dirty_sectors_wrong",
		.msg = "alloc key sector counts differ from the pointers into the bucket",
		.fix = "write the alloc key the pointers call for; its LRU, index and accounting follow",
		.action = FIX_CORRECT_ALLOC, .btree = BTREE_ID_alloc, .flags = 0,
	},
	[BCH_F_alloc_data_type_wrong] = {
		.name = "alloc_data_type_wrong", .upstream = "alloc_key_data_type_wrong",
		.msg = "alloc key data type is not what its counters and the pointers into the bucket say",
		.fix = "write the alloc key the pointers call for; its LRU, index and accounting follow",
		.action = FIX_CORRECT_ALLOC, .btree = BTREE_ID_alloc, .flags = 0,
	},
	[BCH_F_alloc_gen_wrong] = {
		.name = "alloc_gen_wrong", .upstream = "ptr_gen_newer_than_bucket_gen",
		.msg = "alloc key generation is not the one the pointers into the bucket have",
		.fix = "write the alloc key the pointers call for; its LRU, index and accounting follow",
		.action = FIX_CORRECT_ALLOC, .btree = BTREE_ID_alloc, .flags = 0,
	},
	[BCH_F_bucket_bp_mismatch] = {
		.name = "bucket_bp_mismatch", .upstream = "bucket_backpointer_mismatch",
		.msg = "bucket's backpointers add up to less than its alloc counters",
		.fix = "recreate its missing backpointers (ptr_to_missing_backpointer)",
		.action = FIX_FOLLOWS, .btree = BTREE_ID_backpointers, .flags = PR_OUR_NAME | PR_NOT_ERROR | PR_PREEN,
	},
	[BCH_F_bucket_bp_excess] = {
		.name = "bucket_bp_excess", .upstream = "bucket_backpointer_excess",
		.msg = "bucket's backpointers add up to more than its alloc counters",
		.fix = "delete its backpointers that have no target (backpointer_to_missing_ptr)",
		.action = FIX_FOLLOWS, .btree = BTREE_ID_backpointers, .flags = PR_OUR_NAME | PR_NOT_ERROR | PR_PREEN,
	},
	[BCH_F_bucket_bp_excess_no_target] = {
		.name = "bucket_bp_excess_no_target", .upstream = "backpointer_to_missing_ptr",
		.msg = "backpointer of an over-full bucket points to no pointer",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_missing] = {
		.name = "bp_missing", .upstream = "ptr_to_missing_backpointer",
		.msg = "pointer without its backpointer",
		.fix = "create the backpointer",
		.action = FIX_WRITE_BACKPOINTER, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_no_target] = {
		.name = "bp_no_target", .upstream = "backpointer_to_missing_ptr",
		.msg = "backpointer doesn't match any pointer",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_no_alloc_key] = {
		.name = "bp_no_alloc_key", .upstream = "backpointer_to_missing_alloc",
		.msg = "backpointer for a bucket without alloc key",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_no_device] = {
		.name = "bp_no_device", .upstream = "backpointer_to_missing_device",
		.msg = "backpointer for a missing device",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_wrong_gen] = {
		.name = "bp_wrong_gen", .upstream = "backpointer_to_stale_bucket_gen",
		.msg = "backpointer with a bucket generation other than the bucket's",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_OUR_NAME | PR_PREEN,
	},
	[BCH_F_bp_fields_wrong] = {
		.name = "bp_fields_wrong", .upstream = "ptr_to_missing_backpointer",
		.msg = "backpointer at the right position with wrong fields",
		.fix = "rewrite the backpointer",
		.action = FIX_WRITE_BACKPOINTER, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
	[BCH_F_bp_bad_value] = {
		.name = "bp_bad_value", .upstream = "backpointer_bad_value",
		.msg = "backpointer value cannot be decoded",
		.fix = "delete the backpointer",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_backpointers, .flags = PR_OUR_NAME | PR_PREEN,
	},
	[BCH_F_lru_invalid_bucket] = {
		.name = "lru_invalid_bucket", .upstream = "lru_entry_to_invalid_bucket",
		.msg = "LRU entry points outside its device",
		.fix = "delete the LRU entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_lru, .flags = PR_PREEN,
	},
	[BCH_F_lru_wrong_time] = {
		.name = "lru_wrong_time", .upstream = "lru_entry_bad",
		.msg = "LRU entry disagrees with its bucket's alloc key",
		.fix = "delete the LRU entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_lru, .flags = PR_PREEN,
	},
	[BCH_F_lru_missing] = {
		.name = "lru_missing", .upstream = "alloc_key_to_missing_lru_entry",
		.msg = "alloc key without the LRU entry it needs",
		.fix = "create the LRU entry",
		.action = FIX_CREATE_LRU, .btree = BTREE_ID_lru, .flags = PR_PREEN,
	},
	[BCH_F_lru_obsolete] = {
		.name = "lru_obsolete", .upstream = "lru_entry_bad",
		.msg = "entry of the filesystem-wide fragmentation LRU, obsolete from 1.39",
		.fix = "delete the LRU entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_lru, .flags = PR_PREEN,
	},
	[BCH_F_lru_wrong_dev] = {
		.name = "lru_wrong_dev", .upstream = "lru_entry_bad",
		.msg = "LRU entry in another device's LRU than its bucket's",
		.fix = "delete the LRU entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_lru, .flags = PR_PREEN,
	},
	[BCH_F_freespace_invalid_bucket] = {
		.name = "freespace_invalid_bucket", .upstream = "need_discard_freespace_key_to_invalid_dev_bucket",
		.msg = "freespace entry for buckets outside a device",
		.fix = "delete the freespace entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_freespace, .flags = PR_PREEN,
	},
	[BCH_F_freespace_key_bad] = {
		.name = "freespace_key_bad", .upstream = "bkey_extent_size_zero",
		.msg = "freespace entry of size 0, or larger than its position",
		.fix = "delete the freespace entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_freespace, .flags = PR_PREEN,
	},
	[BCH_F_need_discard_invalid_bucket] = {
		.name = "need_discard_invalid_bucket", .upstream = "need_discard_freespace_key_to_invalid_dev_bucket",
		.msg = "need_discard entry for a bucket outside a device",
		.fix = "delete the need_discard entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_need_discard, .flags = PR_PREEN,
	},
	[BCH_F_bucket_gens_invalid_dev] = {
		.name = "bucket_gens_invalid_dev", .upstream = "bucket_gens_to_invalid_dev",
		.msg = "bucket_gens entry for a missing device",
		.fix = "delete the bucket_gens entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_bucket_gens, .flags = PR_PREEN,
	},
	[BCH_F_bucket_gens_invalid_bucket] = {
		.name = "bucket_gens_invalid_bucket", .upstream = "bucket_gens_to_invalid_buckets",
		.msg = "bucket_gens entry past the end of its device",
		.fix = "delete the bucket_gens entry",
		.action = FIX_DELETE_KEY, .btree = BTREE_ID_bucket_gens, .flags = PR_PREEN,
	},
	[BCH_F_bucket_gens_nonzero_invalid] = {
		.name = "bucket_gens_nonzero_invalid", .upstream = "bucket_gens_nonzero_for_invalid_buckets",
		.msg = "bucket_gens entry has gens for buckets outside the device",
		.fix = "write the bucket_gens btree anew from the alloc keys",
		.action = FIX_REBUILD_BTREE, .btree = BTREE_ID_bucket_gens, .flags = PR_PREEN,
	},
	[BCH_F_accounting_dev_data_type_wrong] = {
		.name = "accounting_dev_data_type_wrong", .upstream = "accounting_mismatch",
		.msg = "device bucket accounting differs from the alloc keys",
		.fix = "add the difference to the accounting",
		.action = FIX_ACCOUNTING_DELTA, .btree = BTREE_ID_accounting, .flags = PR_PREEN,
	},
	[BCH_F_ptr_gen_mismatch] = {
		.name = "ptr_gen_mismatch", .upstream = "stale_dirty_ptr",
		.msg = "pointer whose generation is not its bucket's",
		.fix = "a newer pointer (or a btree node's) gives the bucket its generation; a stale one is dropped from its extent",
		.action = FIX_PTR_GEN, .btree = BTREE_ID_extents, .flags = 0,
	},
	[BCH_F_reconcile_phys_wrong] = {
		.name = "reconcile_phys_wrong", .upstream = "reconcile_work_phys_incorrectly_set",
		.msg = "reconcile phys key disagrees with the backpointer's reconcile class",
		.fix = "set or delete the key",
		.action = FIX_SET_OR_DELETE, .btree = BTREE_ID_reconcile_work_phys, .flags = PR_PREEN,
	},
	[BCH_F_alloc_missing] = {
		.name = "alloc_missing", .upstream = "ptr_to_missing_alloc_key",
		.msg = "bucket in use (pointers into it, or the superblock or journal) has no alloc key",
		.fix = "write the alloc key the pointers (or the layout) call for; its LRU, index and accounting follow",
		.action = FIX_CORRECT_ALLOC, .btree = BTREE_ID_alloc, .flags = 0,
	},
	[BCH_F_freespace_wrong] = {
		.name = "freespace_wrong", .upstream = "freespace_hole_missing",
		.msg = "freespace btree disagrees with the alloc keys",
		.fix = "write the freespace btree anew from the alloc keys",
		.action = FIX_REBUILD_BTREE, .btree = BTREE_ID_freespace, .flags = PR_PREEN,
	},
	[BCH_F_need_discard_wrong] = {
		.name = "need_discard_wrong", .upstream = "need_discard_key_wrong",
		.msg = "need_discard btree disagrees with the alloc keys",
		.fix = "write the need_discard btree anew from the alloc keys",
		.action = FIX_REBUILD_BTREE, .btree = BTREE_ID_need_discard, .flags = PR_PREEN,
	},
	[BCH_F_bucket_gens_wrong] = {
		.name = "bucket_gens_wrong", .upstream = "bucket_gens_key_wrong",
		.msg = "bucket_gens entry disagrees with the alloc keys' generations",
		.fix = "write the bucket_gens btree anew from the alloc keys",
		.action = FIX_REBUILD_BTREE, .btree = BTREE_ID_bucket_gens, .flags = PR_PREEN,
	},
	[BCH_F_node_unreadable] = {
		.name = "node_unreadable", .upstream = "btree_node_read_error",
		.msg = "btree node cannot be read: the keys of its range are lost",
		.fix = "rebuild its btree from the alloc keys and the pointers (derived btrees only)",
		.action = FIX_REBUILD_BTREE, .btree = BTREE_ID_backpointers, .flags = PR_PREEN,
	},
};

const struct fsck_problem *fsck_problem(enum bch_finding_kind kind)
{
	return &problems[kind];
}

const char *fsck_finding_error_name(const struct bch_finding *f)
{
	if (f->kind == BCH_F_node_unreadable && f->root)
		return "btree_root_read_error";
	if (f->kind == BCH_F_freespace_key_bad && f->key_size)
		return "bkey_extent_size_greater_than_offset";
	/* freespace entries where the buckets are not free */
	if (f->kind == BCH_F_freespace_wrong && !f->time)
		return "freespace_key_wrong";
	/* 1.38+: a need_discard key the alloc key does not call for (check.c, bch2_check_discard_key) */
	if (f->kind == BCH_F_need_discard_wrong && f->one_key && !f->time)
		return "need_discard_freespace_key_bad";
	/* a superblock or journal bucket without alloc key reads as free */
	if (f->kind == BCH_F_alloc_missing && f->data_type)
		return "alloc_key_data_type_wrong";
	if (f->kind == BCH_F_ptr_gen_mismatch && (int8_t)(f->ptr_gen - f->alloc_gen) > 0)
		return "ptr_gen_newer_than_bucket_gen";
	/* a btree node pointer older than its bucket: the bucket follows the node */
	if (f->kind == BCH_F_alloc_gen_wrong && (int8_t)(f->alloc_new.gen - f->alloc_gen) < 0)
		return "stale_dirty_ptr";
	if (f->kind == BCH_F_ptr_gen_mismatch && f->ptr.cached)
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

/* the key the repair would write, or why there is none */
static void pb_alloc_new(struct printbuf *out, const struct bch_finding *f)
{
	const struct bch_alloc_v4 *a = &f->alloc_new;

	if (f->alloc_fix)
		pb_printf(out, " want: gen=%u data_type=%s dirty=%u cached=%u", a->gen,
			  bch_data_type_name(a->data_type), a->dirty_sectors, a->cached_sectors);
	else if (f->why)
		pb_printf(out, " (%s)", f->why);
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
	case BCH_F_alloc_data_type_wrong:
	case BCH_F_alloc_gen_wrong:
		pb_printf(out, "bucket=%u:%" PRIu64 " gen=%u data_type=%s dirty=%u cached=%u",
			  f->dev, f->bucket, f->alloc.gen, bch_data_type_name(f->alloc.data_type),
			  f->alloc.dirty_sectors, f->alloc.cached_sectors);
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
	case BCH_F_lru_obsolete:
	case BCH_F_lru_wrong_dev:
		pb_puts(out, "lru:");
		pb_bpos(out, f->pos);
		pb_printf(out, " lru_id=%#x time=%" PRIu64 " dev=%u bucket=%" PRIu64,
			  f->lru_id, f->time, f->dev, f->bucket);
		if (f->kind == BCH_F_lru_invalid_bucket)
			pb_printf(out, " nbuckets=%" PRIu64, f->nbuckets);
		else if (f->kind == BCH_F_lru_wrong_time)
			pb_printf(out, " expected_time=%" PRIu64, f->expected_time);
		else if (f->kind == BCH_F_lru_wrong_dev)
			pb_printf(out, " expected_id=%#x", f->want_lru_id);
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
	case BCH_F_freespace_wrong:
	case BCH_F_need_discard_wrong:
		if (f->one_key) {	/* 1.38+: journal_seq_empty:dev_bucket */
			pb_puts(out, "need_discard:");
			pb_bpos(out, f->pos);
			pb_puts(out, " ");
		}
		pb_printf(out, "dev=%u buckets=%" PRIu64 "-%" PRIu64 " %s", f->dev, f->bucket,
			  f->bucket + f->key_size - 1,
			  f->time ? (f->kind == BCH_F_freespace_wrong ? "free but not indexed"
							: "waiting for a discard but not indexed")
				  : (f->kind == BCH_F_freespace_wrong ? "indexed as free but not free"
								: "indexed but not waiting for a discard"));
		break;
	case BCH_F_bucket_gens_wrong:
		pb_printf(out, "bucket_gens:");
		pb_bpos(out, f->pos);
		pb_printf(out, " dev=%u bucket=%" PRIu64 " gen=%" PRIu64 " alloc_gen=%" PRIu64
			  " (%u entries wrong)", f->dev, f->bucket, f->time, f->expected_time,
			  f->key_size);
		break;
	case BCH_F_freespace_key_bad:
		pb_puts(out, "freespace:");
		pb_bpos(out, f->pos);
		pb_printf(out, " size=%u", f->key_size);
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
	pb_printf(out, "%s ", problems[f->kind].name);
	finding_details(out, f, sb_version);
}

void fsck_finding_text(struct printbuf *out, const struct bch_finding *f,
		       unsigned sb_version, bool would)
{
	const struct fsck_problem *p = &problems[f->kind];

	pb_printf(out, "%s: %s: ", fsck_finding_error_name(f), p->msg);
	finding_details(out, f, sb_version);
	if (p->action == FIX_CORRECT_ALLOC)
		pb_alloc_new(out, f);
	if (would && p->action == FIX_REBUILD_BTREE && !f->rebuildable)
		pb_puts(out, "; would leave it: only a derived btree can be rebuilt");
	else if (would)
		pb_printf(out, "; would %s", p->fix);
}
