/*
 * The passes of bcachefs fsck, in order (--list-passes):
 *   btree_nodes         every node of the derived btrees and accounting,
 *                       and the interior nodes of the others: the ones
 *                       that cannot be read, with their ranges (the
 *                       leaves of alloc and backpointers: the next pass)
 *   alloc_backpointers  alloc and backpointers walked together: bucket
 *                       bitmaps, stale and orphan backpointers
 *   lru                 LRU entries against the alloc keys
 *   pointers            extents, reflink, stripes and btree node pointers
 *                       into the buckets that did not add up (--full: all)
 *   bucket_index        freespace, need_discard, bucket_gens in range;
 *                       freespace and need_discard against the alloc keys
 *   accounting          per-device bucket accounting against the alloc keys
 * The checks themselves are in libbcachefs/check_buckets.c; this feeds
 * them the btrees.
 */
#include <inttypes.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "btree_iter.h"
#include "cmds.h"
#include "fs.h"
#include "fsck_ctx.h"
#include "lru.h"
#include "rebuild.h"
#include "super.h"

/* every pass reads past the derived btrees' unreadable nodes btree_nodes finds */
#define NEEDS_NODES	PASS_BIT(PASS_NODES)
#define NEEDS_ALLOC_BP	(NEEDS_NODES | PASS_BIT(PASS_ALLOC_BP))

const struct fsck_pass_info fsck_passes[PASS_NR] = {
	[PASS_NODES]	    = { "btree_nodes",
				"btree nodes that cannot be read (derived btrees and accounting whole; interior nodes of the others; alloc and backpointers leaves as alloc_backpointers reads them)",
				0 },
	[PASS_ALLOC_BP]	    = { "alloc_backpointers",
				"alloc x backpointers merge walk: mismatch/empty bitmaps, stale and orphan backpointers",
				NEEDS_NODES },
	[PASS_LRU]	    = { "lru", "LRU entries against the alloc keys (needs alloc_backpointers)",
				NEEDS_ALLOC_BP },
	[PASS_POINTERS]	    = { "pointers",
				"pointers into mismatched buckets: missing and dangling backpointers, alloc sectors (needs alloc_backpointers)",
				NEEDS_ALLOC_BP },
	[PASS_BUCKET_INDEX] = { "bucket_index",
				"freespace, need_discard and bucket_gens entries in range; freespace and need_discard agree with the alloc keys (needs alloc_backpointers and pointers)",
				NEEDS_ALLOC_BP | PASS_BIT(PASS_POINTERS) },
	[PASS_ACCOUNTING]   = { "accounting",
				"per-device bucket accounting (buckets, sectors, fragmented per data type) against the alloc keys (needs alloc_backpointers)",
				NEEDS_ALLOC_BP },
	[PASS_RECONCILE_PHYS] = { "reconcile_phys",
				"1.33+: reconcile_hipri_phys/reconcile_work_phys keys against the backpointers' reconcile class (needs alloc_backpointers)",
				NEEDS_ALLOC_BP },
};

/* ---- key sources over btree iterators ---- */

static int iter_next(void *ctx, struct bkey *k, struct bch_error *err)
{
	return bch_btree_iter_next(ctx, k, err);
}

static void src_init(struct bch_key_src *s, struct bch_btree_iter *it, struct bch_fs *fs,
		     unsigned btree)
{
	bch_btree_iter_init(it, fs, btree, POS_MIN, SPOS_MAX);
	s->next = iter_next;
	s->ctx = it;
}


/* ---- passes ---- */

/* sectors of [start, end) in bucket b of bs sectors */
static uint32_t overlap(uint64_t b, uint64_t bs, uint64_t start, uint64_t end)
{
	uint64_t lo = b * bs > start ? b * bs : start;
	uint64_t hi = (b + 1) * bs < end ? (b + 1) * bs : end;

	return hi > lo ? (uint32_t)(hi - lo) : 0;
}

/*
 * The buckets the superblock copies and the journal live in, and the
 * sectors their alloc keys count (bcachefs-format.md §2.1): sectors 0..7
 * and each copy's whole slot; a journal bucket whole.
 */
static int set_meta_buckets(struct fsck_ctx *c, struct bch_error *err)
{
	for (unsigned d = 0; d < c->fs->nr_devs; d++) {
		const struct bch_dev *dev = c->fs->devs[d];
		const struct bch_sb *sb = dev ? &dev->sb : NULL;
		const struct bch_member *m = bch_fs_member(c->fs, d);
		uint64_t *b, bs, slot;
		uint32_t *sectors;
		uint8_t *t;
		size_t nr = 0, max;
		int ret;

		if (!dev || !m || !m->bucket_size)
			continue;
		bs = m->bucket_size;
		slot = 1ULL << sb->layout.sb_max_size_bits;
		max = sb->nr_journal_buckets + 64;
		for (unsigned i = 0; i < sb->layout.nr_superblocks; i++)
			max += slot / bs + 2;
		b = malloc(max * sizeof(*b));
		sectors = malloc(max * sizeof(*sectors));
		t = malloc(max);
		if (!b || !t || !sectors) {
			free(b);
			free(t);
			free(sectors);
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		}
		for (uint64_t x = 0; x <= 7 / bs; x++) {
			b[nr] = x;
			t[nr++] = BCH_DATA_sb;
		}
		for (unsigned i = 0; i < sb->layout.nr_superblocks; i++) {
			uint64_t start = sb->layout.sb_offset[i];
			uint64_t end = start + slot - 1;

			for (uint64_t x = start / bs; x <= end / bs && nr < max; x++) {
				b[nr] = x;
				t[nr++] = BCH_DATA_sb;
			}
		}
		for (size_t i = 0; i < nr; i++) {
			sectors[i] = overlap(b[i], bs, 0, 8);
			for (unsigned j = 0; j < sb->layout.nr_superblocks; j++)
				sectors[i] += overlap(b[i], bs, sb->layout.sb_offset[j],
						      sb->layout.sb_offset[j] + slot);
		}
		for (unsigned i = 0; i < sb->nr_journal_buckets && nr < max; i++) {
			b[nr] = sb->journal_buckets[i];
			sectors[nr] = (uint32_t)bs;
			t[nr++] = BCH_DATA_journal;
		}
		ret = bch_check_set_meta_buckets(&c->chk, d, b, t, sectors, nr);
		free(b);
		free(t);
		free(sectors);
		if (ret)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- btree_nodes ---- */

static int node_lost(void *ctx, const struct bch_node_expect *x, const struct bch_error *why,
		     struct bch_error *err)
{
	struct fsck_ctx *c = ctx;
	struct bch_fs *fs = c->fs;
	const struct bch_btree_root *r = &fs->journal.roots[x->btree_id];
	struct bch_finding f = {
		.kind = BCH_F_node_unreadable, .btree_id = x->btree_id, .level = x->level,
		.pos = x->min_key, .want_pos = x->max_key,
		.root = r->present && r->level == x->level && bpos_eq(x->min_key, POS_MIN) &&
			bpos_eq(x->max_key, SPOS_MAX),
		.rebuildable = bch_btree_is_derived(x->btree_id, fs->sb->version),
	};

	char *note = strdup(why && why->msg[0] ? why->msg : "unreadable");
	char **notes = realloc(c->notes, (c->nr_notes + 1) * sizeof(*notes));

	if (!note || !notes) {
		free(note);
		if (notes)
			c->notes = notes;
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	c->notes = notes;
	c->notes[c->nr_notes++] = note;
	f.why = note;
	/* the passes go on over what is left of it: it is rebuilt whole */
	if (f.rebuildable)
		fs->skip_unreadable |= 1ULL << x->btree_id;
	c->chk.stats.findings[f.kind]++;
	return c->chk.fn ? c->chk.fn(c->chk.fn_ctx, &f) : 0;
}

static int pass_nodes(struct fsck_ctx *c, struct bch_error *err)
{
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		int ret = bch_btree_walk_tolerant(c->fs, b,
						  fsck_nodes_pass_reads_leaves(b, c->fs->sb->version),
						  NULL, node_lost, c, err);

		if (ret)
			return ret;
	}
	return 0;
}

/* was a node of this btree found unreadable? (its rebuild covers the rest) */
static bool btree_lost(const struct fsck_ctx *c, unsigned btree)
{
	for (size_t i = 0; i < c->nr_found; i++)
		if (c->found[i].kind == BCH_F_node_unreadable && c->found[i].btree_id == btree)
			return true;
	return false;
}

/* the index btrees bucket_index checks */
static const unsigned index_btrees[] = {
	BTREE_ID_freespace, BTREE_ID_need_discard, BTREE_ID_bucket_gens,
};

static void idx_free(struct fsck_ctx *c)
{
	bch_from_alloc_free(c->idx_set);
	c->idx_set = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(c->idx_want); i++)
		bch_key_updates_free(&c->idx_want[i]);
	memset(c->idx_want, 0, sizeof(c->idx_want));
	c->nr_idx = 0;
	c->idx_ready = false;
}

/* the index btrees to judge: those not found damaged (a rebuild writes those whole) */
static void idx_select(struct fsck_ctx *c)
{
	c->nr_idx = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(index_btrees); i++)
		if (!btree_lost(c, index_btrees[i]))
			c->idx_btrees[c->nr_idx++] = index_btrees[i];
}

static int idx_on_alloc(void *ctx, unsigned dev, uint64_t bucket, const struct bch_alloc_v4 *a)
{
	struct fsck_ctx *c = ctx;

	return bch_from_alloc_key(c->idx_set, dev, bucket, a);
}

/* derive the index btrees' keys during the alloc walk (bucket_index reads them) */
static int idx_begin(struct fsck_ctx *c, struct bch_error *err)
{
	int ret;

	idx_free(c);
	if (!c->o->pass[PASS_BUCKET_INDEX])
		return 0;
	idx_select(c);
	ret = bch_from_alloc_begin(c->fs, c->idx_btrees, c->nr_idx, c->idx_want, &c->idx_set, err);
	if (!ret) {
		c->chk.on_alloc = idx_on_alloc;
		c->chk.on_alloc_ctx = c;
	}
	return ret;
}

static int idx_end(struct fsck_ctx *c, int walk_ret, struct bch_error *err)
{
	int ret = walk_ret;

	c->chk.on_alloc = NULL;
	c->chk.on_alloc_ctx = NULL;
	if (!c->idx_set)
		return ret;
	ret = ret ?: bch_from_alloc_end(c->idx_set, err);
	bch_from_alloc_free(c->idx_set);
	c->idx_set = NULL;
	c->idx_ready = !ret;
	return ret;
}

static int pass_alloc_bp(struct fsck_ctx *c, struct bch_error *err)
{
	struct bch_btree_iter ai, bi;
	struct bch_key_src as, bs;
	int ret;

	ret = set_meta_buckets(c, err) ?: idx_begin(c, err);
	if (ret)
		return ret;
	src_init(&as, &ai, c->fs, BTREE_ID_alloc);
	src_init(&bs, &bi, c->fs, BTREE_ID_backpointers);
	/* their leaves were left to this pass by btree_nodes */
	bch_btree_iter_on_lost(&ai, node_lost, c);
	bch_btree_iter_on_lost(&bi, node_lost, c);
	ret = bch_check_alloc_backpointers(&c->chk, &as, &bs, err);
	bch_btree_iter_exit(&ai);
	bch_btree_iter_exit(&bi);
	return idx_end(c, ret, err);
}

static int pass_lru(struct fsck_ctx *c, struct bch_error *err)
{
	struct bch_btree_iter it;
	struct bch_key_src s;
	int ret;

	src_init(&s, &it, c->fs, BTREE_ID_lru);
	ret = bch_check_lru(&c->chk, &s, err);
	bch_btree_iter_exit(&it);
	return ret;
}

struct ptr_scan {
	struct fsck_ctx	*c;
	unsigned	btree;
};

static int scan_visit(void *ctx, const struct bch_node_expect *x, const struct bch_btree_node *n,
		      const struct bkey *kids, size_t nr, struct bch_error *err)
{
	struct ptr_scan *s = ctx;
	int ret = 0;

	(void)x;
	if (!n->level && !fsck_btree_has_data(s->btree))
		return 0;
	for (size_t i = 0; i < nr && !ret; i++)
		ret = bch_check_ptr_key(&s->c->chk, s->btree, n->level, &kids[i], err);
	return ret;
}

static int scan_key(void *ctx, unsigned btree_id, unsigned level, const struct bkey *k,
		    struct bch_error *err)
{
	struct fsck_ctx *c = ctx;

	return level ? bch_check_ptr_key(&c->chk, btree_id, level, k, err) : 0;
}

static int pass_pointers(struct fsck_ctx *c, struct bch_error *err)
{
	int ret = 0;

	if (!bch_check_need_ptr_scan(&c->chk))
		return 0;
	for (unsigned id = 0; id < BTREE_ID_NR_MAX && !ret; id++) {
		const struct bch_btree_root *r = &c->fs->journal.roots[id];
		struct ptr_scan s = { .c = c, .btree = id };

		if (!r->present)
			continue;
		/* a damaged derived btree: the node pointers that can still be read */
		if (c->fs->skip_unreadable >> id & 1) {
			ret = bch_btree_walk_tolerant(c->fs, id, false, scan_key, NULL, c, err);
			continue;
		}
		/* the root's own pointer: its backpointer has level root + 1 */
		ret = bch_check_ptr_key(&c->chk, id, r->level + 1, &r->k, err) ?:
		      bch_btree_walk_nodes_from(c->fs, id, fsck_btree_has_data(id) ? 0 : 1,
						scan_visit, &s, err);
	}
	return ret ?: bch_check_ptrs_finish(&c->chk, err);
}

/*
 * The devices whose index btree is judged: those that keep it (freespace
 * and need_discard once freespace is initialised, bucket_gens always),
 * less any with a bucket in use that has lost its alloc key and whose
 * key cannot be rebuilt: it would read as free, so its device is not
 * judged (nor rebuilt) until that key is back.
 */
static void judged_devices(const struct fsck_ctx *c, unsigned btree, bool judged[256])
{
	memset(judged, 0, 256 * sizeof(*judged));
	for (unsigned d = 0; d < c->fs->nr_devs && d < 256; d++) {
		const struct bch_member *m = bch_fs_member(c->fs, d);

		judged[d] = m && c->fs->devs[d] &&
			    (btree == BTREE_ID_bucket_gens || BCH_MEMBER_FREESPACE_INIT(m));
	}
	for (size_t i = 0; i < c->nr_found; i++)
		if (c->found[i].kind == BCH_F_alloc_missing && !c->found[i].alloc_fix &&
		    c->found[i].dev < 256)
			judged[c->found[i].dev] = false;
}

/*
 * freespace, need_discard and bucket_gens against what the alloc keys
 * call for (the keys a rebuild would write): as derived during the alloc
 * walk, unless corrections found since change the keys; then all three
 * are made again in one walk of the alloc keys as the repair will leave
 * them
 */
static int index_agrees(struct fsck_ctx *c, struct bch_error *err)
{
	int ret = 0;

	if (!c->idx_ready || (!c->chk.as_fixed && c->chk.nr_corrections)) {
		idx_free(c);
		idx_select(c);
		ret = c->chk.as_fixed ?
			bch_rebuild_from_alloc_fixed(c->fs, c->idx_btrees, c->nr_idx, c->chk.fixes,
						     c->chk.nr_fixes, c->idx_want, err) :
			bch_rebuild_from_alloc_fixed(c->fs, c->idx_btrees, c->nr_idx,
						     c->chk.corrections, c->chk.nr_corrections,
						     c->idx_want, err);
	}
	for (unsigned i = 0; i < c->nr_idx && !ret; i++) {
		unsigned btree = c->idx_btrees[i];
		struct bch_btree_iter it;
		struct bch_key_src s;
		bool judged[256];

		judged_devices(c, btree, judged);
		bch_key_updates_finish(&c->idx_want[i]);
		src_init(&s, &it, c->fs, btree);
		ret = btree == BTREE_ID_bucket_gens ?
			bch_check_gens_agree(&c->chk, judged, &c->idx_want[i], &s, err) :
			bch_check_index_agrees(&c->chk, btree, judged, &c->idx_want[i], &s, err);
		bch_btree_iter_exit(&it);
	}
	idx_free(c);
	return ret;
}

static int pass_bucket_index(struct fsck_ctx *c, struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(index_btrees) && !ret; i++) {
		struct bch_btree_iter it;
		struct bch_key_src s;

		src_init(&s, &it, c->fs, index_btrees[i]);
		ret = bch_check_bucket_index(&c->chk, index_btrees[i], &s, err);
		bch_btree_iter_exit(&it);
	}
	return ret ?: index_agrees(c, err);
}

static int pass_accounting(struct fsck_ctx *c, struct bch_error *err)
{
	const struct bch_journal *j = &c->fs->journal;
	struct bkey *deltas = calloc(j->nr_acct ? j->nr_acct : 1, sizeof(*deltas));
	struct bch_btree_iter it;
	struct bch_key_src s;
	int ret;

	if (!deltas)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < j->nr_acct; i++)
		deltas[i] = j->acct[i].k;
	src_init(&s, &it, c->fs, BTREE_ID_accounting);
	bch_btree_iter_nodes_only(&it);
	ret = bch_check_dev_accounting(&c->chk, &s, deltas, j->nr_acct, err);
	bch_btree_iter_exit(&it);
	free(deltas);
	return ret;
}


static int pass_reconcile_phys(struct fsck_ctx *c, struct bch_error *err)
{
	struct bch_btree_iter hi, wi;
	struct bch_key_src hs, ws;
	int ret;

	src_init(&hs, &hi, c->fs, BTREE_ID_reconcile_hipri_phys);
	src_init(&ws, &wi, c->fs, BTREE_ID_reconcile_work_phys);
	ret = bch_check_reconcile_phys(&c->chk, &hs, &ws, err);
	bch_btree_iter_exit(&hi);
	bch_btree_iter_exit(&wi);
	return ret;
}

/*
 * Something was found but no pointer was scanned (every bucket's sums
 * agreed): a bucket whose alloc key and backpointers were both lost
 * shows only as indexes and accounting that disagree with the keys, and
 * following them would free the bucket under its data. So the pointers
 * are scanned for strays before any of that is believed; a stray's key
 * is rebuilt (alloc_missing) and the repair checks again over it.
 */
static int hunt_strays(struct fsck_ctx *c, struct bch_error *err)
{
	int ret;

	if (!c->o->pass[PASS_POINTERS] || !c->nr_findings || bch_check_need_ptr_scan(&c->chk))
		return 0;
	c->chk.hunt_strays = true;
	ret = pass_pointers(c, err);
	if (ret)
		bch_err_prefix(err, "pass %s (strays)", fsck_passes[PASS_POINTERS].name);
	return ret;
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int fsck_run_passes(struct fsck_ctx *c, struct bch_error *err)
{
	static int (*const fns[PASS_NR])(struct fsck_ctx *, struct bch_error *) = {
		[PASS_NODES]		= pass_nodes,
		[PASS_ALLOC_BP]		= pass_alloc_bp,
		[PASS_LRU]		= pass_lru,
		[PASS_POINTERS]		= pass_pointers,
		[PASS_BUCKET_INDEX]	= pass_bucket_index,
		[PASS_ACCOUNTING]	= pass_accounting,
		[PASS_RECONCILE_PHYS]	= pass_reconcile_phys,
	};

	c->chk.full = c->o->full;
	for (unsigned i = 0; i < PASS_NR; i++) {
		struct timespec t0, t1, c0, c1;
		uint64_t node_ns;
		int ret;

		if (i == PASS_POINTERS && !c->o->pass[i]) {
			ret = bch_check_report_orphans_unverified(&c->chk);
			if (ret)
				return ret;
		}
		if (!c->o->pass[i])
			continue;
		fsck_progress_pass(c->progress, c->o->pass, i, false);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		node_ns = c->fs->node_cpu_ns;
		ret = fns[i](c, err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		c->pass_s[i] += ts_diff(&t0, &t1);
		if (i == PASS_ALLOC_BP) {
			c->merge_thread_cpu_s += ts_diff(&c0, &c1);
			c->merge_node_cpu_s += (double)(c->fs->node_cpu_ns - node_ns) / 1e9;
		}
		fsck_progress_pass(c->progress, c->o->pass, i, true);
		if (ret) {
			idx_free(c);
			bch_err_prefix(err, "pass %s", fsck_passes[i].name);
			return ret;
		}
		if (c->out && c->o->verbose)
			fsck_progress_clear(c->progress);
		if (c->out && c->o->verbose)
			fprintf(c->out, "pass %s done: %" PRIu64 " alloc keys, %" PRIu64
				" backpointers, %" PRIu64 " lru keys, %" PRIu64
				" keys and %" PRIu64 " pointers scanned\n", fsck_passes[i].name,
				c->chk.stats.alloc_keys, c->chk.stats.backpointers,
				c->chk.stats.lru_keys, c->chk.stats.keys_scanned,
				c->chk.stats.ptrs_scanned);
	}
	idx_free(c);	/* bucket_index did not run, or ended early */
	return hunt_strays(c, err);
}


/* ---- fsck.bcachefs -p: is a check needed at all? ---- */

bool fsck_is_clean(struct bch_fs *fs, int *status)
{
	const struct bch_sb *sb = fs->sb;
	struct bch_error err = { 0 };
	struct bch_btree_iter it;
	struct bkey k;
	bool clean = true;
	int ret;

	*status = EXIT_OK;
	if (!BCH_SB_CLEAN(sb) || BCH_SB_HAS_ERRORS(sb) || BCH_SB_HAS_TOPOLOGY_ERRORS(sb))
		return false;
	/* the LRU btree is small: one entry per fragmented or cached bucket */
	bch_btree_iter_init(&it, fs, BTREE_ID_lru, POS_MIN, SPOS_MAX);
	while (clean && (ret = bch_btree_iter_next(&it, &k, &err)) > 0) {
		const struct bch_member *m = bch_fs_member(fs, bch_lru_pos_dev(k.p));

		if (k.type == KEY_TYPE_set)
			clean = m && bch_lru_pos_bucket(k.p) < m->nbuckets;
	}
	bch_btree_iter_exit(&it);
	if (ret < 0) {
		fprintf(stderr, "bcachefs: %s\n", err.msg[0] ? err.msg : bch_errcode_name(ret));
		*status = EXIT_OPERATIONAL;
		return true;
	}
	if (!clean)
		printf("%s: shut down cleanly, but LRU entries point past the end of a device: checking\n",
		       fs->devs[sb->dev_idx] ? fs->devs[sb->dev_idx]->io->path : "filesystem");
	return clean;
}
