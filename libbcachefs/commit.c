/* One commit: journal entry, then superblocks (commit.h). */
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "btree_alloc.h"
#include "btree_write.h"
#include "commit.h"
#include "journal.h"
#include "fs.h"
#include "journal_write.h"
#include "super_write.h"
#include "write_plan.h"

static int wrap_faults(struct bch_fs *fs, struct bch_io_fault *fault, struct bch_error *err)
{
	for (unsigned d = 0; d < fs->nr_devs; d++) {
		struct bch_dev *dev = fs->devs[d];
		struct bch_io *w;
		int ret;

		if (!dev)
			continue;
		ret = bch_io_fault_wrap(dev->io, fault, &w, err);
		if (ret)
			return ret;
		dev->io = w;
	}
	return 0;
}

int bch_commit_updates(struct bch_fs *fs, struct bch_key_updates *u, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_commit_info *info,
		       struct bch_error *err)
{
	struct bch_journal_write jw;
	struct bch_write_plan plan = { 0 };
	uint8_t *buf;
	int ret;

	memset(info, 0, sizeof(*info));
	bch_key_updates_finish(u);
	if (!u->nr)
		return 0;
	ret = bch_journal_write_prepare(fs, u, &jw, err);
	if (ret)
		return ret;
	info->journal_seq = jw.seq;
	info->journal_dev = jw.dev;
	info->journal_offset = jw.offset;
	info->journal_bytes = jw.len;
	buf = jw.buf;
	jw.buf = NULL;
	/* the entry must be on disk before any superblock points recovery at it */
	ret = bch_write_plan_add(&plan, jw.dev, jw.offset, buf, jw.len, true) ?:
	      bch_sb_plan_mark_dirty(fs, &plan, jw.dev, err);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory planning the commit");
	if (!ret && fault)
		ret = wrap_faults(fs, fault, err);
	if (!ret)
		ret = bch_write_plan_execute(fs, &plan, undo_path, err);
	info->nr_writes = (unsigned)plan.nr;
	bch_write_plan_free(&plan);
	bch_journal_write_free(&jw);
	return ret;
}

/* ---- a commit written into the btrees ---- */

/*
 * Layout runs before the bookkeeping must have settled, beyond one per
 * leaf of the btrees loaded: freeing an old node changes the alloc key of
 * its bucket, which dirties the alloc leaf holding that key, whose own
 * old node is then freed in turn, one leaf further per run; on a large,
 * long-lived filesystem such a chain can be as long as the alloc btree
 * has leaves, so the limit grows with the leaves loaded.
 */
#define COMMIT_MAX_ITERATIONS	12

static size_t leaves_loaded(const struct bch_btree_rewrite *rw)
{
	size_t n = 0;

	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
		n += rw->bt[b].nr_leaves;
	return n;
}

static int copy_update(struct bch_key_updates *out, const struct bch_key_update *k)
{
	struct bkey key;

	bch_bkey_read_unpacked(k->bytes, &key);
	return bch_key_updates_add(out, k->btree_id, k->level, &key);
}

/* accounting keys are folded together by finish(): those get copies */
static int union_push(struct bch_key_updates *out, const struct bch_key_update *k)
{
	return k->btree_id == BTREE_ID_accounting ? copy_update(out, k)
						  : bch_key_updates_borrow(out, k);
}

/*
 * A set of a's updates and b's (both finished, both outliving it): at a
 * position both update, b's wins, whatever either is; accounting deltas
 * add up. Keys are borrowed, not copied (but accounting ones, which
 * finish() adds into).
 */
static int updates_union(const struct bch_key_updates *a, const struct bch_key_updates *b,
			 struct bch_key_updates *out)
{
	size_t i = 0, j = 0;

	memset(out, 0, sizeof(*out));
	while (i < a->nr || j < b->nr) {
		const struct bch_key_update *x = i < a->nr ? &a->v[i] : NULL;
		const struct bch_key_update *y = j < b->nr ? &b->v[j] : NULL;
		int c = !x ? 1 : !y ? -1 :
			bch_journal_key_cmp(x->btree_id, x->level, bch_key_update_pos(x),
					    y->btree_id, y->level, bch_key_update_pos(y));

		if (c < 0 || (!c && x->btree_id == BTREE_ID_accounting)) {
			if (union_push(out, x))
				return -BCH_ERR_NOMEM;
			i++;
		}
		if (c > 0 || !c) {
			if (union_push(out, y))
				return -BCH_ERR_NOMEM;
			j++;
			i += !c && x->btree_id != BTREE_ID_accounting;
		}
	}
	bch_key_updates_finish(out);
	return 0;
}

static bool updates_equal(const struct bch_key_updates *a, const struct bch_key_updates *b)
{
	if (a->nr != b->nr)
		return false;
	for (size_t i = 0; i < a->nr; i++)
		if (a->v[i].btree_id != b->v[i].btree_id || a->v[i].level != b->v[i].level ||
		    bch_key_update_bytes(&a->v[i]) != bch_key_update_bytes(&b->v[i]) ||
		    memcmp(a->v[i].bytes, b->v[i].bytes, bch_key_update_bytes(&a->v[i])))
			return false;
	return true;
}

/* the slots of a dry run's nodes filled in, for the bookkeeping */
static void nodes_set_slots(struct bch_btree_rewrite *rw, const struct bch_node_slot *slots)
{
	for (size_t i = 0; i < rw->nr_nodes; i++) {
		rw->nodes[i].nr_ptrs = rw->replicas;
		for (unsigned r = 0; r < rw->replicas; r++)
			rw->nodes[i].ptr[r] = slots[i * rw->replicas + r];
	}
}

/*
 * Lay out, allocate, account, and again, until the bookkeeping the new
 * and freed nodes need no longer changes the layout. On success *all is
 * the final update set and *slots the buckets of its nodes.
 */
static int settle(struct bch_btree_rewrite *rw, struct bch_lookup_cache *lc,
		  const struct bch_key_updates *u0, const uint8_t *devs,
		  struct bch_key_updates *all, struct bch_key_updates *book_out,
		  struct bch_node_slot **slots, struct bch_btree_commit_info *info,
		  struct bch_error *err)
{
	struct bch_key_updates book = { 0 };
	int ret = 0;

	*slots = NULL;
	memset(all, 0, sizeof(*all));
	memset(book_out, 0, sizeof(*book_out));
	for (unsigned it = 0; it < COMMIT_MAX_ITERATIONS + leaves_loaded(rw); it++) {
		struct bch_key_updates next = { 0 };

		bch_key_updates_free(all);
		free(*slots);
		*slots = NULL;
		ret = updates_union(u0, &book, all);
		if (ret)
			break;
		bch_btree_rewrite_touch(rw, all);
		ret = bch_btree_rewrite_run(rw, all, err) ?:
		      bch_node_slots_alloc(lc, u0, rw->nr_nodes, rw->replicas, devs, slots, err);
		if (ret)
			break;
		nodes_set_slots(rw, *slots);
		ret = bch_btree_bookkeeping(lc, u0, rw->nodes, rw->nr_nodes, rw->freed,
					    rw->nr_freed, rw->orphans, rw->nr_orphans,
					    rw->journal_seq, &next, err);
		if (ret) {
			bch_key_updates_free(&next);
			break;
		}
		bch_key_updates_finish(&next);
		info->iterations = it + 1;
		if (it && updates_equal(&next, &book)) {
			info->nr_bookkeeping = next.nr;
			bch_key_updates_free(&next);
			*book_out = book;	/* all borrows its keys */
			return 0;
		}
		bch_key_updates_free(&book);
		book = next;
	}
	if (!ret)
		ret = bch_err(err, BCH_ERR_UNSUPPORTED,
			      "btree rewrite: the bookkeeping of new nodes did not settle after %u layouts",
			      info->iterations);
	bch_key_updates_free(all);
	bch_key_updates_free(&book);
	free(*slots);
	*slots = NULL;
	return ret;
}

/*
 * A btree rebuilt whole that had unreadable interior nodes left nodes no
 * one can find below them: their buckets are found by what the alloc keys
 * count and no reachable node explains.
 */
static int find_orphans(struct bch_btree_rewrite *rw, struct bch_lookup_cache *lc,
			const struct bch_key_updates *u0, struct bch_error *err)
{
	int ret;

	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		if (!rw->bt[b].replace)
			continue;
		ret = bch_btree_rewrite_load(rw, b, err);
		if (ret)
			return ret;
		if (rw->bt[b].lost)
			return bch_btree_orphan_buckets(lc, u0, b, &rw->orphans, &rw->nr_orphans,
							err);
	}
	return 0;
}

/* the new roots become the filesystem's (what the clean field and entry carry) */
static void install_roots(struct bch_btree_rewrite *rw)
{
	struct bch_fs *fs = rw->fs;

	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		struct bch_rw_btree *t = &rw->bt[b];
		struct bch_btree_root *r = &fs->journal.roots[b];

		if (!t->new_root)
			continue;
		free(r->raw);
		r->raw = t->root_key;
		t->root_key = NULL;
		r->present = true;
		r->level = t->root_level;
		bch_bkey_read_unpacked(r->raw, &r->k);
	}
}

int bch_commit_btrees(struct bch_fs *fs, struct bch_key_updates *u, const bool *rebuild,
		      const char *undo_path, struct bch_io_fault *fault,
		      struct bch_btree_commit_info *info, struct bch_error *err)
{
	struct bch_btree_rewrite rw;
	struct bch_lookup_cache lc = { 0 };
	struct bch_key_updates all = { 0 }, book = { 0 };
	struct bch_node_slot *slots = NULL;
	struct bch_write_plan plan = { 0 };
	struct bch_journal_write jw = { 0 };
	struct bch_sb_clean_update cu = { 0 };
	uint8_t devs[BCH_NODE_MAX_REPLICAS];
	bool any_rebuild = false;
	size_t dry_nodes;
	int ret;

	memset(info, 0, sizeof(*info));
	bch_key_updates_finish(u);
	for (unsigned b = 0; rebuild && b < BTREE_ID_NR_MAX; b++)
		any_rebuild |= rebuild[b];
	info->nr_updates = u->nr;
	if (!u->nr && !any_rebuild)
		return 0;

	bch_btree_rewrite_init(&rw, fs);
	rw.replicas = bch_node_replica_devs(fs, devs);
	if (!rw.replicas) {
		ret = bch_err(err, BCH_ERR_DEVICES, "no writable device may hold btree nodes");
		goto out;
	}
	/* the whole journal scanned first: the new entry's seq follows every seq on disk */
	ret = bch_journal_scan(fs, err);
	if (ret)
		goto out;
	rw.journal_seq = bch_journal_next_seq(fs);
	for (unsigned b = 0; rebuild && b < BTREE_ID_NR_MAX; b++)
		if (rebuild[b])
			rw.bt[b].touched = rw.bt[b].replace = true;

	bch_lookup_cache_init(&lc, fs);
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
		if (rw.bt[b].replace)
			lc.replaced |= 1ULL << b;
	ret = find_orphans(&rw, &lc, u, err) ?:
	      settle(&rw, &lc, u, devs, &all, &book, &slots, info, err);
	if (ret)
		goto out;
	/* the bookkeeping is done looking things up; all holds u's keys now */
	bch_lookup_cache_exit(&lc);
	bch_key_updates_drop_list(u);
	/* the real run: the same layout, now built into the slots */
	dry_nodes = rw.nr_nodes;
	rw.slots = slots;
	rw.nr_slots = dry_nodes * rw.replicas;
	rw.plan = &plan;
	ret = bch_btree_rewrite_run(&rw, &all, err);
	if (!ret && rw.nr_nodes != dry_nodes)
		ret = bch_err(err, BCH_ERR_INVAL,
			      "btree rewrite: the real layout (%zu nodes) differs from the planned one (%zu)",
			      rw.nr_nodes, dry_nodes);
	if (ret)
		goto out;
	if (plan.nr)
		plan.ops[plan.nr - 1].flush_after = true;	/* nodes durable before anything points at them */
	info->nr_nodes = rw.nr_nodes;
	info->nr_freed = rw.nr_freed;
	info->keys_written = rw.keys_written;
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
		info->nr_btrees += rw.bt[b].new_root;
	/* the keys are in the new nodes now: their sets go before the writing */
	bch_key_updates_free(&all);
	bch_key_updates_free(&book);
	bch_key_updates_free(u);

	install_roots(&rw);
	ret = bch_journal_write_prepare_clean(fs, &jw, &cu.journal_bucket_idx,
					      &cu.journal_end_sectors, err);
	if (ret)
		goto out;
	if (jw.seq != rw.journal_seq) {
		ret = bch_err(err, BCH_ERR_INVAL, "journal sequence moved during the commit");
		goto out;
	}
	info->journal_seq = jw.seq;
	cu.journal_seq = jw.seq;
	cu.journal_dev = jw.dev;
	cu.slots = slots;
	cu.nr_slots = rw.nr_slots;
	cu.node_sectors = fs->btree_node_size;
	ret = bch_write_plan_add(&plan, jw.dev, jw.offset, jw.buf, jw.len, true);
	if (ret) {
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
		goto out;
	}
	jw.buf = NULL;
	ret = bch_sb_plan_mark_clean(fs, &plan, &cu, err);
	if (!ret && fault)
		ret = wrap_faults(fs, fault, err);
	if (!ret)
		ret = bch_write_plan_execute(fs, &plan, undo_path, err);
	info->nr_writes = (unsigned)plan.nr;
out:
	bch_journal_write_free(&jw);
	bch_write_plan_free(&plan);
	bch_key_updates_free(&all);	/* before what it borrows from */
	bch_key_updates_free(&book);
	free(slots);
	bch_lookup_cache_exit(&lc);
	bch_btree_rewrite_exit(&rw);
	return ret;
}
