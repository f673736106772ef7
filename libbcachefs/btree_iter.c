/*
 * Btree iteration with the journal overlay (bcachefs-format.md §4.6 and
 * Appendix E; upstream btree_journal_iter.c overlays the same way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree_iter.h"
#include "fs.h"

static const char *btree_name(struct bch_fs *fs, unsigned id)
{
	const char *n = bch_btree_id_name(id, fs->sb->version);

	return n ? n : "?";
}

bool bch_btree_root_expect(struct bch_fs *fs, unsigned btree_id,
			   struct bch_node_expect *x, struct bch_error *err)
{
	const struct bch_btree_root *r = &fs->journal.roots[btree_id];
	const char *why;

	memset(x, 0, sizeof(*x));
	if (!r->present)
		return false;
	x->btree_id = btree_id;
	x->level = r->level;
	x->min_key = POS_MIN;
	x->max_key = SPOS_MAX;
	why = bch_btree_ptr_decode(&r->k, &x->ptr);
	if (why) {
		bch_err(err, BCH_ERR_CORRUPT, "btree root of %s: %s", btree_name(fs, btree_id), why);
		return false;
	}
	if (!bpos_eq(r->k.p, SPOS_MAX) || (x->ptr.v2 && !bpos_eq(x->ptr.h.min_key, POS_MIN))) {
		bch_err(err, BCH_ERR_CORRUPT, "btree root of %s does not span the whole key space",
			btree_name(fs, btree_id));
		return false;
	}
	return true;
}

int bch_btree_node_overlay(struct bch_fs *fs, const struct bch_btree_node *n,
			   struct bkey **out, size_t *nr_out, struct bch_error *err)
{
	const struct bch_journal *j = &fs->journal;
	size_t ji = bch_journal_keys_lower_bound(j, n->btree_id, n->level, n->min_key);
	size_t ni = 0, nr = 0, cap = n->nr_keys + 1;
	struct bkey *kids = NULL;

	for (size_t t = ji; t < j->nr_keys && j->keys[t].btree_id == n->btree_id &&
	     j->keys[t].level == n->level && bpos_cmp(j->keys[t].k.p, n->max_key) <= 0; t++)
		cap++;
	kids = malloc(cap * sizeof(*kids));
	if (!kids)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");

	while (1) {
		const struct bkey *nk = ni < n->nr_keys ? &n->keys[ni] : NULL;
		const struct bkey *jk = NULL;
		const struct bkey *pick;

		if (ji < j->nr_keys && j->keys[ji].btree_id == n->btree_id &&
		    j->keys[ji].level == n->level && bpos_cmp(j->keys[ji].k.p, n->max_key) <= 0)
			jk = &j->keys[ji].k;
		if (!nk && !jk)
			break;
		if (jk && (!nk || bpos_cmp(jk->p, nk->p) <= 0)) {
			if (nk && bpos_eq(jk->p, nk->p))
				ni++;
			ji++;
			pick = jk;
		} else {
			ni++;
			pick = nk;
		}
		if (pick->type != KEY_TYPE_deleted)
			kids[nr++] = *pick;
	}
	*out = kids;
	*nr_out = nr;
	return 0;
}

int bch_btree_child_expect(struct bch_fs *fs, const struct bch_btree_node *n,
			   const struct bkey *kids, size_t i, struct bch_node_expect *x,
			   struct bch_error *err)
{
	struct bpos want_min = i ? bpos_successor(kids[i - 1].p) : n->min_key;
	const char *why;

	memset(x, 0, sizeof(*x));
	x->btree_id = n->btree_id;
	x->level = n->level - 1;
	x->max_key = kids[i].p;
	why = bch_btree_ptr_decode(&kids[i], &x->ptr);
	if (why)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "btree node (btree %s level %u) at device %u sector %llu: child pointer at %llu:%llu:%u: %s",
			       btree_name(fs, n->btree_id), n->level, n->dev,
			       (unsigned long long)n->sector, (unsigned long long)kids[i].p.inode,
			       (unsigned long long)kids[i].p.offset, kids[i].p.snapshot, why);
	for (unsigned p = 0; p < x->ptr.nr_ptrs; p++)
		if (x->ptr.ptrs[p].dev == n->dev && x->ptr.ptrs[p].offset == n->sector)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "btree node (btree %s level %u) at device %u sector %llu: pointer of child %zu (key %llu:%llu:%u) points back at this node (pointer cycle)",
				       btree_name(fs, n->btree_id), n->level, n->dev,
				       (unsigned long long)n->sector, i,
				       (unsigned long long)kids[i].p.inode,
				       (unsigned long long)kids[i].p.offset, kids[i].p.snapshot);
	x->min_key = x->ptr.v2 ? x->ptr.h.min_key : want_min;
	if (!bpos_eq(x->min_key, want_min))
		return bch_err(err, BCH_ERR_CORRUPT,
			       "btree node (btree %s level %u) at device %u sector %llu: children do not tile its range (gap or overlap before child %zu)",
			       btree_name(fs, n->btree_id), n->level, n->dev,
			       (unsigned long long)n->sector, i);
	return 0;
}

static int check_kids_cover(struct bch_fs *fs, const struct bch_btree_node *n,
			    const struct bkey *kids, size_t nr, struct bch_error *err)
{
	if (!nr || !bpos_eq(kids[nr - 1].p, n->max_key))
		return bch_err(err, BCH_ERR_CORRUPT,
			       "btree node (btree %s level %u) at device %u sector %llu: %s",
			       btree_name(fs, n->btree_id), n->level, n->dev,
			       (unsigned long long)n->sector,
			       nr ? "last child does not end at the node's max key"
				  : "interior node without children");
	return 0;
}

static void level_drop_next(struct bch_iter_level *l)
{
	if (l->next) {
		bch_btree_nodes_read_discard(l->next);
		free(l->next);
		l->next = NULL;
	}
}

static void level_free(struct bch_iter_level *l)
{
	for (unsigned i = 0; i < l->ra_nr; i++)
		if (!l->ra_used[i])
			bch_btree_node_free(&l->ra[i]);
	l->ra_nr = 0;
	level_drop_next(l);
	bch_btree_node_free(&l->node);
	free(l->kids);
	l->kids = NULL;
	l->nr_kids = l->idx = 0;
	l->loaded = false;
	l->as_read = false;
}

/* does a journal key of the node's btree and level fall in its range? */
static bool journal_keys_in(const struct bch_journal *j, const struct bch_btree_node *n)
{
	size_t i = bch_journal_keys_lower_bound(j, n->btree_id, n->level, n->min_key);

	return i < j->nr_keys && j->keys[i].btree_id == n->btree_id &&
	       j->keys[i].level == n->level && bpos_cmp(j->keys[i].k.p, n->max_key) <= 0;
}

static int level_set_node(struct bch_fs *fs, struct bch_iter_level *l,
			  struct bch_btree_node *n, bool with_journal, struct bch_error *err)
{
	int ret;

	l->node = *n;
	l->loaded = true;
	l->idx = 0;
	/*
	 * a leaf read without the journal, or with no journal key in its
	 * range, is iterated as the node holds it (the iterator passes over
	 * its deleted keys, as the overlay would drop them)
	 */
	if (!n->level && (!with_journal || !journal_keys_in(&fs->journal, n))) {
		l->as_read = true;
		return 0;
	}
	ret = bch_btree_node_overlay(fs, &l->node, &l->kids, &l->nr_kids, err);
	if (!ret && n->level)
		ret = check_kids_cover(fs, &l->node, l->kids, l->nr_kids, err);
	return ret;
}

/* the keys the iterator hands out from the current leaf */
static const struct bkey *leaf_keys(const struct bch_btree_iter *it, size_t *nr)
{
	const struct bch_iter_level *l = &it->l[0];

	if (l->as_read) {
		*nr = l->node.nr_keys;
		return l->node.keys;
	}
	*nr = l->nr_kids;
	return l->kids;
}

/*
 * The batch read_child reads from child idx of p: up to
 * BCH_ITER_READAHEAD leaves under a level 1 node, else one child; *nr
 * and their expectations x. An error if any of them has an unusable
 * pointer.
 */
static int batch_expect(struct bch_btree_iter *it, struct bch_iter_level *p, size_t idx,
			struct bch_node_expect *x, unsigned *nr, struct bch_error *err)
{
	*nr = p->node.level == 1 ? BCH_ITER_READAHEAD : 1;
	if (*nr > p->nr_kids - idx)
		*nr = (unsigned)(p->nr_kids - idx);
	for (unsigned i = 0; i < *nr; i++) {
		int ret = bch_btree_child_expect(it->fs, &p->node, p->kids, idx + i, &x[i], err);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Start reading the batch of leaves after the one just taken, so it is
 * read (and, with worker threads, decoded) while this one is walked. It
 * is the batch read_child would read next (the same children, the same
 * errors): not started when a child of it has an unusable pointer
 * (read_child meets that in turn), nor past the iterator's end, nor
 * where reading ahead does not pay (bch_btree_readahead_pays).
 */
static void start_next_batch(struct bch_btree_iter *it, struct bch_iter_level *p, size_t idx)
{
	struct bch_node_expect x[BCH_ITER_READAHEAD];
	unsigned nr;

	if (p->node.level != 1 || idx >= p->nr_kids || !idx ||
	    bpos_cmp(p->kids[idx - 1].p, it->end) >= 0 || !bch_btree_readahead_pays(it->fs))
		return;
	if (batch_expect(it, p, idx, x, &nr, NULL) || !(p->next = malloc(sizeof(*p->next))))
		return;
	p->next_start = idx;
	bch_btree_nodes_read_start(it->fs, x, nr, p->next);
}

/* read child idx of parent level p, using and refilling the read-ahead */
static int read_child(struct bch_btree_iter *it, struct bch_iter_level *p, size_t idx,
		      struct bch_btree_node *out, struct bch_node_expect *lost,
		      struct bch_error *err)
{
	struct bch_node_expect x[BCH_ITER_READAHEAD];
	unsigned nr;
	int ret;

	if (idx >= p->ra_start && idx < p->ra_start + p->ra_nr &&
	    !p->ra_used[idx - p->ra_start]) {
		*out = p->ra[idx - p->ra_start];
		p->ra_used[idx - p->ra_start] = true;
		return 0;
	}
	for (unsigned i = 0; i < p->ra_nr; i++)
		if (!p->ra_used[i])
			bch_btree_node_free(&p->ra[i]);
	p->ra_nr = 0;

	if (p->next && p->next_start == idx) {
		struct bch_nodes_job *j = p->next;

		p->next = NULL;
		nr = j->nr;
		memcpy(x, j->x, nr * sizeof(x[0]));
		ret = bch_btree_nodes_read_finish(j, p->ra, err);
		free(j);
	} else {
		level_drop_next(p);
		ret = batch_expect(it, p, idx, x, &nr, err);
		if (ret)
			return ret;
		ret = bch_btree_nodes_read(it->fs, x, nr, p->ra, err);
	}
	if (ret && ret != -BCH_ERR_NOMEM &&
	    ((it->fs->skip_unreadable >> it->btree_id & 1) || (it->lost && p->node.level == 1))) {
		struct bch_error e = { 0 };

		/*
		 * the batch failed: this child alone, and if it cannot be read,
		 * lost is told, and it is skipped if its btree allows that
		 */
		nr = 1;
		if (bch_btree_nodes_read(it->fs, x, 1, p->ra, &e)) {
			if (it->lost && p->node.level == 1) {
				ret = it->lost(it->lost_ctx, &x[0], &e, err);
				if (ret)
					return ret;
			}
			if (!(it->fs->skip_unreadable >> it->btree_id & 1)) {
				if (err)
					*err = e;
				return -e.code;
			}
			if (err)
				memset(err, 0, sizeof(*err));
			*lost = x[0];
			return 1;
		}
		if (err)
			memset(err, 0, sizeof(*err));
		ret = 0;
	}
	if (ret)
		return ret;
	p->ra_start = idx;
	p->ra_nr = nr;
	memset(p->ra_used, 0, sizeof(p->ra_used));
	*out = p->ra[0];
	p->ra_used[0] = true;
	start_next_batch(it, p, idx + nr);
	return 0;
}

/*
 * A child that cannot be read (skip_unreadable): it and the levels below
 * it become empty nodes over its range, so iteration goes on after it.
 */
static void skip_lost(struct bch_btree_iter *it, unsigned lvl, const struct bch_node_expect *x)
{
	for (unsigned l = 0; l <= lvl; l++) {
		struct bch_iter_level *lv = &it->l[l];

		level_free(lv);
		lv->loaded = true;
		lv->node.btree_id = x->btree_id;
		lv->node.level = l;
		lv->node.min_key = x->min_key;
		lv->node.max_key = x->max_key;
	}
}

/* from level lvl (loaded, idx set) down to a leaf */
static int descend(struct bch_btree_iter *it, unsigned lvl, bool seek, struct bch_error *err)
{
	int ret;

	while (lvl > 0) {
		struct bch_iter_level *p = &it->l[lvl];
		struct bch_btree_node child;

		if (seek)
			while (p->idx + 1 < p->nr_kids && bpos_cmp(p->kids[p->idx].p, it->start) < 0)
				p->idx++;
		struct bch_node_expect lost;

		ret = read_child(it, p, p->idx++, &child, &lost, err);
		if (ret == 1) {
			skip_lost(it, lvl - 1, &lost);
			break;
		}
		if (ret)
			return ret;
		level_free(&it->l[lvl - 1]);
		ret = level_set_node(it->fs, &it->l[lvl - 1], &child, !it->no_journal, err);
		if (ret)
			return ret;
		lvl--;
	}
	it->leaf_idx = 0;
	it->leaf = leaf_keys(it, &it->leaf_nr);
	it->leaf_inside = bpos_cmp(it->l[0].node.min_key, it->start) >= 0 &&
			  bpos_cmp(it->l[0].node.max_key, it->end) <= 0;
	if (seek) {
		size_t lo = 0, hi = it->leaf_nr;
		const struct bkey *keys = it->leaf;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (bpos_cmp(keys[mid].p, it->start) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		it->leaf_idx = lo;
	}
	return 0;
}

/* next leaf; 0 and it->done when there is none */
static int next_leaf(struct bch_btree_iter *it, struct bch_error *err)
{
	unsigned lvl = 1;

	while (lvl <= it->root_level && it->l[lvl].idx >= it->l[lvl].nr_kids)
		lvl++;
	if (lvl > it->root_level ||
	    bpos_cmp(it->l[0].node.max_key, it->end) >= 0) {
		it->done = true;
		return 0;
	}
	return descend(it, lvl, false, err);
}

void bch_btree_iter_init(struct bch_btree_iter *it, struct bch_fs *fs, unsigned btree_id,
			 struct bpos start, struct bpos end)
{
	memset(it, 0, sizeof(*it));
	it->fs = fs;
	it->btree_id = btree_id;
	it->start = start;
	it->end = end;
}

static int iter_start(struct bch_btree_iter *it, struct bch_error *err)
{
	const struct bch_journal *j = &it->fs->journal;
	struct bch_node_expect x;
	struct bch_btree_node root;
	int ret;

	it->started = true;
	it->j_idx = bch_journal_keys_lower_bound(j, it->btree_id, 0, it->start);
	it->j_end = bch_journal_keys_lower_bound(j, it->btree_id, 1, POS_MIN);
	if (it->no_journal)
		it->j_idx = it->j_end;
	if (!bch_btree_root_expect(it->fs, it->btree_id, &x, err)) {
		if (err && err->code)
			return -err->code;
		it->no_root = true;
		return 0;
	}
	ret = bch_btree_node_read(it->fs, &x, &root, err);
	/* a root that is a leaf is told to lost as any leaf */
	if (ret && ret != -BCH_ERR_NOMEM && it->lost && !x.level) {
		struct bch_error why = err ? *err : (struct bch_error){ .code = -ret };
		int r = it->lost(it->lost_ctx, &x, &why, err);

		if (r)
			return r;
		if (err && !(it->fs->skip_unreadable >> it->btree_id & 1))
			*err = why;
	}
	if (ret && ret != -BCH_ERR_NOMEM &&
	    (it->fs->skip_unreadable >> it->btree_id & 1)) {
		if (err)
			memset(err, 0, sizeof(*err));
		it->no_root = true;	/* an unreadable root: nothing but the journal */
		return 0;
	}
	if (ret)
		return ret;
	it->root_level = root.level;
	ret = level_set_node(it->fs, &it->l[root.level], &root, !it->no_journal, err);
	if (ret)
		return ret;
	return descend(it, it->root_level, true, err);
}

int bch_btree_iter_next(struct bch_btree_iter *it, struct bkey *k, struct bch_error *err)
{
	const struct bch_journal *j = &it->fs->journal;
	int ret;

	if (!it->started && (ret = iter_start(it, err)))
		return ret;
	while (!it->done) {
		const struct bkey *pick;

		if (it->no_root) {
			/* no root node: the journal's keys are all there is */
			if (it->j_idx >= it->j_end) {
				it->done = true;
				break;
			}
			pick = &j->keys[it->j_idx++].k;
		} else {
			if (it->leaf_idx >= it->leaf_nr) {
				ret = next_leaf(it, err);
				if (ret)
					return ret;
				continue;
			}
			pick = &it->leaf[it->leaf_idx++];
			/* the common case: a leaf within the range, no deleted keys */
			if (it->leaf_inside && pick->type != KEY_TYPE_deleted) {
				*k = *pick;
				return 1;
			}
		}
		if (bpos_cmp(pick->p, it->end) > 0) {
			it->done = true;
			break;
		}
		if (pick->type == KEY_TYPE_deleted || bpos_cmp(pick->p, it->start) < 0)
			continue;
		*k = *pick;
		return 1;
	}
	return 0;
}

void bch_btree_iter_exit(struct bch_btree_iter *it)
{
	for (unsigned i = 0; i < BCH_BTREE_MAX_DEPTH; i++)
		level_free(&it->l[i]);
}

struct walk {
	struct bch_fs		*fs;
	unsigned		min_level;
	bch_node_visit_fn	fn;
	bch_node_lost_fn	lost;	/* NULL: a node that cannot be read is an error */
	void			*ctx;
};

/* x could not be read or decoded: an error, or handed to lost and passed over */
static int walk_lost(struct walk *w, const struct bch_node_expect *x, int ret,
		     struct bch_error *why, struct bch_error *err)
{
	if (!w->lost || ret == -BCH_ERR_NOMEM) {
		*err = *why;
		return ret;
	}
	return w->lost(w->ctx, x, why, err);
}

static int walk_node(struct walk *w, const struct bch_node_expect *x, struct bch_error *err);

/* what child i of n was to cover, for a report when it cannot be expected */
static void child_range(const struct bch_btree_node *n, const struct bkey *kids, size_t i,
			struct bch_node_expect *cx)
{
	memset(cx, 0, sizeof(*cx));
	cx->btree_id = n->btree_id;
	cx->level = n->level - 1;
	cx->min_key = i ? bpos_successor(kids[i - 1].p) : n->min_key;
	cx->max_key = kids[i].p;
}

static int walk_loaded(struct walk *w, const struct bch_node_expect *x,
		       struct bch_btree_node *n, struct bch_error *err);

/*
 * A chunk of children of n: up to BCH_ITER_READAHEAD from start, ending
 * before a child that cannot be expected (cnt 0: child start is one);
 * with more than one, read in one batch (one queue of reads per device),
 * in the background when there are workers.
 */
struct chunk {
	size_t			start;
	unsigned		cnt;
	struct bch_node_expect	cx[BCH_ITER_READAHEAD];
	struct bch_nodes_job	*job;
};

static void chunk_start(struct walk *w, const struct bch_btree_node *n, const struct bkey *kids,
			size_t nr, size_t start, struct chunk *ch)
{
	ch->start = start;
	ch->cnt = 0;
	ch->job = NULL;
	while (start + ch->cnt < nr && ch->cnt < BCH_ITER_READAHEAD &&
	       !bch_btree_child_expect(w->fs, n, kids, start + ch->cnt, &ch->cx[ch->cnt], NULL))
		ch->cnt++;
	if (ch->cnt > 1 && (ch->job = malloc(sizeof(*ch->job))))
		bch_btree_nodes_read_start(w->fs, ch->cx, ch->cnt, ch->job);
}

static size_t chunk_end(const struct chunk *ch)
{
	return ch->start + (ch->cnt ? ch->cnt : 1);
}

static void chunk_drop(struct chunk *ch)
{
	if (ch->job) {
		bch_btree_nodes_read_discard(ch->job);
		free(ch->job);
		ch->job = NULL;
	}
}

/*
 * Walk the chunk's children. If its batch could not be read whole, they
 * are walked one at a time, so each unreadable one is reported (or
 * handed to lost) alone.
 */
static int chunk_walk(struct walk *w, const struct bch_btree_node *n, const struct bkey *kids,
		      struct chunk *ch, struct bch_error *err)
{
	struct bch_btree_node kid[BCH_ITER_READAHEAD];
	struct bch_error e = { 0 };
	int ret = 0;

	if (!ch->cnt) {
		struct bch_node_expect cx;

		ret = bch_btree_child_expect(w->fs, n, kids, ch->start, &cx, &e);
		child_range(n, kids, ch->start, &cx);
		return walk_lost(w, &cx, ret, &e, err);
	}
	if (!ch->job || bch_btree_nodes_read_finish(ch->job, kid, &e)) {
		free(ch->job);
		ch->job = NULL;
		for (unsigned j = 0; j < ch->cnt && !ret; j++)
			ret = walk_node(w, &ch->cx[j], err);
		return ret;
	}
	free(ch->job);
	ch->job = NULL;
	for (unsigned j = 0; j < ch->cnt; j++) {
		if (!ret)
			ret = walk_loaded(w, &ch->cx[j], &kid[j], err);
		else
			bch_btree_node_free(&kid[j]);
	}
	return ret;
}

/* the children of n, chunk by chunk, the next one read while this one is walked */
static int walk_children(struct walk *w, const struct bch_btree_node *n, const struct bkey *kids,
			 size_t nr, struct bch_error *err)
{
	struct chunk *cur = malloc(2 * sizeof(*cur)), *next;
	int ret = 0;

	if (!cur)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	next = cur + 1;
	next->job = NULL;
	chunk_start(w, n, kids, nr, 0, cur);
	while (!ret) {
		struct chunk *t;
		bool more = chunk_end(cur) < nr;

		if (more)
			chunk_start(w, n, kids, nr, chunk_end(cur), next);
		ret = chunk_walk(w, n, kids, cur, err);
		if (!more)
			break;
		t = cur;
		cur = next;
		next = t;
	}
	chunk_drop(cur);
	chunk_drop(next);
	free(cur < next ? cur : next);
	return ret;
}

/* n has been read: visit it, then its children; n is freed */
static int walk_loaded(struct walk *w, const struct bch_node_expect *x,
		       struct bch_btree_node *n, struct bch_error *err)
{
	struct bch_fs *fs = w->fs;
	struct bkey *kids = NULL;
	size_t nr = 0;
	int ret;

	/* a node read only to see that it can be (no visitor, no children): done */
	if (!w->fn && n->level <= w->min_level) {
		bch_btree_node_free(n);
		return 0;
	}
	ret = bch_btree_node_overlay(fs, n, &kids, &nr, err);
	if (!ret && n->level && !w->lost)
		ret = check_kids_cover(fs, n, kids, nr, err);
	if (!ret)
		ret = w->fn ? w->fn(w->ctx, x, n, kids, nr, err) : 0;
	if (!ret && n->level > w->min_level && nr)
		ret = walk_children(w, n, kids, nr, err);
	free(kids);
	bch_btree_node_free(n);
	return ret;
}

static int walk_node(struct walk *w, const struct bch_node_expect *x, struct bch_error *err)
{
	struct bch_error e = { 0 };
	struct bch_btree_node n;
	int ret;

	ret = bch_btree_node_read(w->fs, x, &n, &e);
	if (ret)
		return walk_lost(w, x, ret, &e, err);
	return walk_loaded(w, x, &n, err);
}

int bch_btree_walk(struct bch_fs *fs, unsigned btree_id, unsigned min_level,
		   bch_node_visit_fn fn, bch_node_lost_fn lost, void *ctx, struct bch_error *err)
{
	const struct bch_btree_root *r = &fs->journal.roots[btree_id];
	struct walk w = { .fs = fs, .min_level = min_level, .fn = fn, .lost = lost, .ctx = ctx };
	struct bch_error e = { 0 };
	struct bch_node_expect x;

	if (!r->present)
		return 0;
	if (!bch_btree_root_expect(fs, btree_id, &x, &e)) {
		memset(&x, 0, sizeof(x));
		x.btree_id = btree_id;
		x.level = r->level;
		x.min_key = POS_MIN;
		x.max_key = SPOS_MAX;
		return walk_lost(&w, &x, -e.code, &e, err);
	}
	if (x.level < min_level)
		return 0;
	return walk_node(&w, &x, err);
}

int bch_btree_walk_nodes_from(struct bch_fs *fs, unsigned btree_id, unsigned min_level,
			      bch_node_visit_fn fn, void *ctx, struct bch_error *err)
{
	return bch_btree_walk(fs, btree_id, min_level, fn, NULL, ctx, err);
}

int bch_btree_walk_nodes(struct bch_fs *fs, unsigned btree_id, bch_node_visit_fn fn,
			 void *ctx, struct bch_error *err)
{
	return bch_btree_walk(fs, btree_id, 0, fn, NULL, ctx, err);
}
