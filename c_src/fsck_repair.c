/*
 * Repair for check_bucket_bitmaps: turns findings into key updates the
 * way upstream repairs them, and commits them as one journal entry that
 * recovery replays (journal_write.c), made visible by marking the
 * superblocks not clean (super_write.c), after saving every byte about to
 * be overwritten to an undo file (write_plan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backpointers.h"
#include "commit.h"
#include "fs.h"
#include "fsck_repair.h"
#include "rebuild.h"
#include "lru.h"

static int del(struct fsck_repair *r, unsigned btree, struct bpos p, uint32_t size)
{
	return bch_key_updates_delete(&r->u, btree, 0, p, size);
}

/* add want - have to a dev_data_type accounting key (a journal delta) */
static int accounting_delta(struct fsck_repair *r, const struct bch_finding *f)
{
	uint8_t val[24];
	struct bkey k = {
		.p = f->pos, .type = KEY_TYPE_accounting, .val_bytes = 24, .val = val,
	};

	for (unsigned i = 0; i < 3; i++)
		put_le64(val + 8 * i, (uint64_t)(f->acct_want[i] - f->acct_have[i]));
	return bch_key_updates_add(&r->u, BTREE_ID_accounting, 0, &k);
}

int fsck_repair_finding(struct fsck_repair *r, const struct bch_finding *f, bool *fixed)
{
	uint8_t v[BCH_BACKPOINTER_BYTES];
	struct bkey k = { 0 };

	*fixed = true;
	switch (f->kind) {
	case BCH_F_lru_invalid_bucket:
	case BCH_F_lru_wrong_time:
		return del(r, BTREE_ID_lru, f->pos, 0);
	case BCH_F_lru_missing:
		k = (struct bkey){ .p = f->want_pos, .type = KEY_TYPE_set };
		return bch_key_updates_add(&r->u, BTREE_ID_lru, 0, &k);
	case BCH_F_alloc_invalid_bucket:
	case BCH_F_alloc_bad_value:
		return del(r, BTREE_ID_alloc, f->pos, 0);
	case BCH_F_bp_wrong_gen:
	case BCH_F_bp_no_target:
	case BCH_F_bp_no_alloc_key:
	case BCH_F_bp_no_device:
	case BCH_F_bp_bad_value:
	case BCH_F_bucket_bp_excess_no_target:
		return del(r, BTREE_ID_backpointers, f->pos, 0);
	case BCH_F_bp_missing:
	case BCH_F_bp_fields_wrong:
		bch_backpointer_encode(v, &f->want);
		k = (struct bkey){
			.p = f->pos, .type = KEY_TYPE_backpointer,
			.val_bytes = BCH_BACKPOINTER_BYTES, .val = v,
		};
		return bch_key_updates_add(&r->u, BTREE_ID_backpointers, 0, &k);
	case BCH_F_freespace_invalid_bucket:
		return del(r, BTREE_ID_freespace, f->pos, f->key_size);
	case BCH_F_need_discard_invalid_bucket:
		return del(r, BTREE_ID_need_discard, f->pos, 0);
	case BCH_F_bucket_gens_invalid_dev:
	case BCH_F_bucket_gens_invalid_bucket:
		return del(r, BTREE_ID_bucket_gens, f->pos, 0);
	case BCH_F_accounting_dev_data_type_wrong:
		return accounting_delta(r, f);
	case BCH_F_reconcile_phys_wrong:
		if (f->time)	/* a key where none (or the other one) belongs */
			return del(r, f->btree_id, f->pos, 0);
		k = (struct bkey){ .p = f->pos, .type = KEY_TYPE_set };
		return bch_key_updates_add(&r->u, f->btree_id, 0, &k);
	case BCH_F_node_unreadable:
		*fixed = f->rebuildable;
		if (f->rebuildable)
			r->rebuild[f->btree_id] = true;
		return 0;
	case BCH_F_bucket_bp_mismatch:
	case BCH_F_bucket_bp_excess:
		return 0;	/* the bitmaps: fixed by fixing the backpointers */
	default:
		*fixed = false;
		return 0;
	}
}

const char *fsck_repair_alloc_fix(const struct bch_finding *f, const struct bch_check_geom *g,
				  struct bch_alloc_fix *fix)
{
	return bch_alloc_correction(&f->alloc, f->ptr_sectors, f->ptr_gen_mismatch, f->dev,
				    f->bucket, g->dev[f->dev].bucket_size, fix);
}

int fsck_repair_alloc_apply(struct fsck_repair *r, const struct bch_finding *f,
			    const struct bch_alloc_fix *fix, const struct bch_check_geom *g)
{
	struct bch_alloc_v4 n = f->alloc;
	uint8_t v[BCH_ALLOC_V4_BYTES];
	struct bkey k = {
		.p = BPOS(f->dev, f->bucket, 0), .type = KEY_TYPE_alloc_v4,
		.val_bytes = BCH_ALLOC_V4_BYTES, .val = v,
	};

	(void)g;
	n.dirty_sectors = fix->dirty_sectors;
	n.cached_sectors = fix->cached_sectors;
	bch_alloc_v4_encode(&n, v);
	/* the accounting follows from the accounting pass, re-run on the fix */
	return bch_key_updates_add(&r->u, BTREE_ID_alloc, 0, &k);
}

void fsck_repair_init(struct fsck_repair *r)
{
	memset(r, 0, sizeof(*r));
}

void fsck_repair_exit(struct fsck_repair *r)
{
	bch_key_updates_free(&r->u);
}

/*
 * A btree rebuilt whole: the finding-by-finding updates of it give way to
 * all of its keys, regenerated from the alloc keys and the pointers.
 */
static int add_rebuilds(struct bch_fs *fs, struct fsck_repair *r, struct bch_error *err)
{
	int ret = 0;

	for (unsigned b = 0; b < BTREE_ID_NR_MAX && !ret; b++)
		if (r->rebuild[b]) {
			bch_key_updates_drop_btree(&r->u, b);
			ret = bch_rebuild_keys(fs, b, &r->u, err);
		}
	return ret;
}

int fsck_repair_commit(struct bch_fs *fs, struct fsck_repair *r, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_error *err)
{
	return add_rebuilds(fs, r, err) ?:
	       bch_commit_btrees(fs, &r->u, r->rebuild, undo_path, fault, &r->info, err);
}
