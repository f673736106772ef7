/*
 * Repair for bcachefs fsck: turns findings into key updates the way
 * upstream repairs them, as the problem table says (fsck_problems.c), and
 * commits them into the btrees (commit.c: undo file, new nodes, a clean
 * shutdown journal entry, the superblocks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "backpointers.h"
#include "btree_lookup.h"
#include "commit.h"
#include "extents.h"
#include "fs.h"
#include "fsck.h"
#include "fsck_repair.h"
#include "rebuild.h"
#include "lru.h"
#include "vec.h"

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

/* the action comes from the problem table (fsck_problems.c) */
int fsck_repair_finding(struct fsck_repair *r, const struct bch_finding *f, bool *fixed)
{
	const struct fsck_problem *p = fsck_problem(f->kind);
	uint8_t v[BCH_BACKPOINTER_BYTES];
	struct bkey k = { 0 };

	*fixed = true;
	switch (p->action) {
	case FIX_DELETE_KEY:
		return del(r, p->btree, f->pos, p->btree == BTREE_ID_freespace ? f->key_size : 0);
	case FIX_WRITE_BACKPOINTER:
		bch_backpointer_encode(v, &f->want);
		k = (struct bkey){
			.p = f->pos, .type = KEY_TYPE_backpointer,
			.val_bytes = BCH_BACKPOINTER_BYTES, .val = v,
		};
		return bch_key_updates_add(&r->u, BTREE_ID_backpointers, 0, &k);
	case FIX_CREATE_LRU:
		k = (struct bkey){ .p = f->want_pos, .type = KEY_TYPE_set };
		return bch_key_updates_add(&r->u, BTREE_ID_lru, 0, &k);
	case FIX_ACCOUNTING_DELTA:
		return accounting_delta(r, f);
	case FIX_SET_OR_DELETE:
		if (f->time)	/* a key where none (or the other one) belongs */
			return del(r, f->btree_id, f->pos, 0);
		k = (struct bkey){ .p = f->pos, .type = KEY_TYPE_set };
		return bch_key_updates_add(&r->u, f->btree_id, 0, &k);
	case FIX_REBUILD_BTREE:
		*fixed = f->rebuildable;
		if (f->rebuildable)
			r->rebuild[f->btree_id] = true;
		return 0;
	case FIX_FOLLOWS:
		return 0;	/* the bitmaps: fixed by fixing the backpointers */
	case FIX_CORRECT_ALLOC:	/* fsck_repair_alloc_apply(), before the others */
	case FIX_PTR_GEN:	/* decided with the alloc corrections */
	case FIX_NONE:
		break;
	}
	*fixed = false;
	return 0;
}

/* the alloc key as the pointers call for it (the LRU, index and accounting follow from the recheck) */
int fsck_repair_alloc_apply(struct fsck_repair *r, const struct bch_alloc_fix *fix)
{
	uint8_t v[BCH_ALLOC_V4_BYTES];
	struct bkey k = {
		.p = BPOS(fix->dev, fix->bucket, 0), .type = KEY_TYPE_alloc_v4,
		.val_bytes = BCH_ALLOC_V4_BYTES, .val = v,
	};

	bch_alloc_v4_encode(&fix->a, v);
	return bch_key_updates_add(&r->u, BTREE_ID_alloc, 0, &k);
}

/* ---- stale pointers dropped from their extents ---- */

struct ptr_drop {
	unsigned		btree_id;
	struct bpos		pos;		/* the key's */
	struct bch_extent_ptr	ptr;
};

static int cmp_drop(const void *a, const void *b)
{
	const struct ptr_drop *x = a, *y = b;

	if (x->btree_id != y->btree_id)
		return x->btree_id < y->btree_id ? -1 : 1;
	return bpos_cmp(x->pos, y->pos);
}

int fsck_repair_drop_ptr(struct fsck_repair *r, const struct bch_finding *f)
{
	struct ptr_drop *d;

	if (f->bp.level || (f->bp.btree_id != BTREE_ID_extents &&
			    f->bp.btree_id != BTREE_ID_reflink))
		return 1;	/* btree node pointers and stripes: not dropped */
	d = BCH_VEC_PUSH(r->drops, r->nr_drops, r->drops_size);
	if (!d)
		return -BCH_ERR_NOMEM;
	*d = (struct ptr_drop){ .btree_id = f->bp.btree_id, .pos = f->bp.pos, .ptr = f->ptr };
	return 0;
}

struct drop_set {
	const struct ptr_drop	*v;
	size_t			nr;
};

static bool drop_this(void *ctx, const struct bch_extent_ptr *p, unsigned idx)
{
	const struct drop_set *s = ctx;

	(void)idx;
	for (size_t i = 0; i < s->nr; i++)
		if (s->v[i].ptr.dev == p->dev && s->v[i].ptr.offset == p->offset &&
		    s->v[i].ptr.gen == p->gen && s->v[i].ptr.cached == p->cached)
			return true;
	return false;
}

/* the devices of a data key's dirty pointers (at most 16) */
static unsigned dirty_devs(const struct bkey *k, uint8_t devs[16])
{
	const uint8_t *p = k->val + (k->type == KEY_TYPE_reflink_v ? 8 : 0);
	const uint8_t *end = k->val + k->val_bytes;
	struct bch_extent_entry e;
	unsigned nr = 0;

	if (k->type != KEY_TYPE_extent && k->type != KEY_TYPE_reflink_v)
		return 0;
	for (; p < end && nr < 16; p += e.bytes) {
		if (!bch_extent_entry_decode(p, (unsigned)(end - p), &e))
			break;
		if (e.type == BCH_EXTENT_ENTRY_ptr && !e.ptr.cached &&
		    e.ptr.dev != BCH_SB_MEMBER_INVALID)
			devs[nr++] = e.ptr.dev;
	}
	return nr;
}

/* reconcile_scan: device scans (upstream data/reconcile/format.h) */
#define RECONCILE_SCAN_COOKIE_DEVICE	32

/*
 * From 1.33 an extent left with fewer replicas than it should have is
 * reconcile's work: a scan cookie on its remaining devices has it
 * re-replicated at the next mount (upstream's check accepts a degraded
 * extent while its device has one; its own repair writes the extent's
 * reconcile entry instead)
 */
static int degraded_scan(struct fsck_repair *r, struct bch_lookup_cache *lc,
			 const struct bkey *old, const struct bkey *now, struct bch_error *err)
{
	uint8_t before[16], after[16], val[8];
	unsigned nb = dirty_devs(old, before), na = dirty_devs(now, after);

	if (lc->fs->sb->version < BCH_VERSION(1, 33) || !na || na >= nb)
		return 0;
	for (unsigned i = 0; i < na; i++) {
		struct bpos p = BPOS(0, RECONCILE_SCAN_COOKIE_DEVICE + after[i], 0);
		struct bkey c = { .p = p, .type = KEY_TYPE_cookie, .val = val, .val_bytes = 8 };
		struct bkey have;
		int ret = bch_lookup_next(lc, BTREE_ID_reconcile_scan, p, p, &have, err);

		if (ret < 0)
			return ret;
		put_le64(val, (ret && have.type == KEY_TYPE_cookie && have.val_bytes >= 8 ?
			       get_le64(have.val) : 0) + 1);
		ret = bch_key_updates_add(&r->u, BTREE_ID_reconcile_scan, 0, &c);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * One key without the pointers to drop (as upstream drops them: an
 * extent left without dirty pointers becomes an error extent, one left
 * without any pointer is deleted), and the accounting that follows.
 */
static int drop_key(struct fsck_repair *r, struct bch_lookup_cache *lc,
		    const struct drop_set *set, struct bch_error *err)
{
	unsigned btree = set->v[0].btree_id;
	struct bpos pos = set->v[0].pos;
	uint8_t val[BKEY_VAL_U64S_MAX * 8];
	struct bkey k, n;
	unsigned nr = 0;
	int ret;

	ret = bch_lookup_next(lc, btree, pos, pos, &k, err);
	if (ret <= 0)
		return ret ?: 1;	/* gone: nothing to drop */
	ret = bch_extent_drop_ptrs(&k, drop_this, (void *)set, &n, val, sizeof(val), &nr, err);
	if (ret || !nr)
		return ret ?: 1;
	ret = bch_extent_accounting(lc->fs->sb->version, btree, &k, -1, &r->u) ?:
	      bch_extent_accounting(lc->fs->sb->version, btree, &n, 1, &r->u);
	if (ret)
		return ret == -BCH_ERR_INVAL ? 1 : ret;
	ret = degraded_scan(r, lc, &k, &n, err);
	if (ret)
		return ret;
	if (n.type == KEY_TYPE_deleted)
		return bch_key_updates_delete(&r->u, btree, 0, pos, k.size);
	return bch_key_updates_add(&r->u, btree, 0, &n);
}

int fsck_repair_drop_ptrs(struct bch_fs *fs, struct fsck_repair *r, size_t *nr_done,
			  struct bch_error *err)
{
	struct bch_lookup_cache *lc = malloc(sizeof(*lc));
	int ret = 0;

	*nr_done = 0;
	if (!lc)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	bch_lookup_cache_init(lc, fs);
	if (r->nr_drops)
		qsort(r->drops, r->nr_drops, sizeof(*r->drops), cmp_drop);
	for (size_t i = 0, j; i < r->nr_drops && ret >= 0; i = j) {
		struct drop_set set = { .v = &r->drops[i] };

		for (j = i; j < r->nr_drops && !cmp_drop(&r->drops[i], &r->drops[j]); j++)
			;
		set.nr = j - i;
		ret = drop_key(r, lc, &set, err);
		if (!ret)
			*nr_done += set.nr;
	}
	bch_lookup_cache_exit(lc);
	free(lc);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory dropping stale pointers");
	return ret < 0 ? ret : 0;
}

void fsck_repair_init(struct fsck_repair *r)
{
	memset(r, 0, sizeof(*r));
}

void fsck_repair_exit(struct fsck_repair *r)
{
	bch_key_updates_free(&r->u);
	free(r->drops);
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
			ret = bch_rebuild_keys_fixed(fs, b, r->fixes, r->nr_fixes, &r->u, err);
		}
	return ret;
}

int fsck_repair_commit(struct bch_fs *fs, struct fsck_repair *r, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_error *err)
{
	return add_rebuilds(fs, r, err) ?:
	       bch_commit_btrees(fs, &r->u, r->rebuild, undo_path, fault, &r->info, err);
}
