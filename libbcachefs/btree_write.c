/*
 * The copy-on-write rewrite of btrees (btree_write.h): the old shape is
 * read once, then each layout run merges the dirty leaves with the
 * updates and cuts the result into nodes, bottom up to a new root.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bkey.h"
#include "btree_iter.h"
#include "btree_node_write.h"
#include "btree_write.h"
#include "fs.h"
#include "rebuild.h"
#include "write_plan.h"
#include "vec.h"

/* new nodes are filled to this share of their size, leaving room to grow */
#define FILL_NUM	3
#define FILL_DEN	4

/* ---- owned key lists ---- */

struct keylist {
	uint8_t		*buf;
	size_t		len, size;
	size_t		*off;
	size_t		nr, off_size;
};

static void keylist_free(struct keylist *l)
{
	free(l->buf);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

static int keylist_push(struct keylist *l, const struct bkey *k)
{
	size_t at = l->len, *off = BCH_VEC_PUSH(l->off, l->nr, l->off_size);
	uint8_t *p = off ? bch_buf_append(&l->buf, &l->len, &l->size,
					  BKEY_U64S * 8 + k->val_bytes) : NULL;

	if (!p) {
		l->nr -= !!off;
		return -BCH_ERR_NOMEM;
	}
	bch_bkey_write_unpacked(p, k);
	*off = at;
	return 0;
}

static int keylist_push_raw(struct keylist *l, const uint8_t *raw)
{
	struct bkey k;

	bch_bkey_read_unpacked(raw, &k);
	return keylist_push(l, &k);
}

static void keylist_get(const struct keylist *l, size_t i, struct bkey *k)
{
	bch_bkey_read_unpacked(l->buf + l->off[i], k);
}

static uint8_t *key_dup(const struct bkey *k)
{
	uint8_t *b = malloc(BKEY_U64S * 8 + k->val_bytes);

	if (b)
		bch_bkey_write_unpacked(b, k);
	return b;
}

/* ---- results ---- */

static int push_new_node(struct bch_btree_rewrite *rw, const struct bch_new_node *n)
{
	struct bch_new_node *v = BCH_VEC_PUSH(rw->nodes, rw->nr_nodes, rw->nodes_size);

	if (!v)
		return -BCH_ERR_NOMEM;
	*v = *n;
	return 0;
}

static int push_freed(struct bch_btree_rewrite *rw, unsigned btree_id, unsigned level,
		      struct bpos max_key, const struct bch_btree_ptr_info *ptr)
{
	struct bch_old_node *v = BCH_VEC_PUSH(rw->freed, rw->nr_freed, rw->freed_size);

	if (!v)
		return -BCH_ERR_NOMEM;
	*v = (struct bch_old_node){
		.btree_id = (uint8_t)btree_id, .level = (uint8_t)level,
		.max_key = max_key, .ptr = *ptr,
	};
	return 0;
}

/* ---- the old shape ---- */

struct shape_ctx {
	struct bch_fs		*fs;
	struct bch_rw_btree	*t;
	size_t			leaves_size, interior_size;
};

static int shape_add_leaf(struct shape_ctx *c, const struct bch_node_expect *x,
			  const struct bkey *k)
{
	struct bch_rw_btree *t = c->t;
	struct bch_rw_leaf *l = BCH_VEC_PUSH(t->leaves, t->nr_leaves, c->leaves_size);

	if (!l)
		return -BCH_ERR_NOMEM;
	memset(l, 0, sizeof(*l));
	l->x = *x;
	l->key = k ? key_dup(k) : NULL;
	return k && !l->key ? -BCH_ERR_NOMEM : 0;
}

/* an old node the new tree will not reference */
static int shape_push_node(struct shape_ctx *c, unsigned btree_id, unsigned level,
			   struct bpos max_key, const struct bch_btree_ptr_info *ptr,
			   struct bch_error *err)
{
	struct bch_rw_btree *t = c->t;
	struct bch_old_node *v = BCH_VEC_PUSH(t->interior, t->nr_interior, c->interior_size);

	if (!v)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	*v = (struct bch_old_node){
		.btree_id = (uint8_t)btree_id, .level = (uint8_t)level,
		.max_key = max_key, .ptr = *ptr,
	};
	return 0;
}

static int shape_visit(void *ctx, const struct bch_node_expect *x,
		       const struct bch_btree_node *n, const struct bkey *kids,
		       size_t nr_kids, struct bch_error *err)
{
	struct shape_ctx *c = ctx;
	int ret = shape_push_node(c, n->btree_id, n->level, x->max_key, &x->ptr, err);

	if (ret || n->level != 1)
		return ret;
	for (size_t i = 0; i < nr_kids; i++) {
		struct bch_node_expect cx;

		ret = bch_btree_child_expect(c->fs, n, kids, i, &cx, err);
		if (ret)
			return ret;
		ret = shape_add_leaf(c, &cx, &kids[i]);
		if (ret)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* a replaced btree: every node a pointer reaches is freed, read or not */
static int shape_ptr(void *ctx, unsigned btree_id, unsigned level, const struct bkey *k,
		     struct bch_error *err)
{
	struct bch_btree_ptr_info info;

	if (!level || bch_btree_ptr_decode(k, &info))
		return 0;
	return shape_push_node(ctx, btree_id, level - 1, k->p, &info, err);
}

static int shape_lost(void *ctx, const struct bch_node_expect *x, const struct bch_error *why,
		      struct bch_error *err)
{
	struct shape_ctx *c = ctx;

	(void)x, (void)why, (void)err;
	c->t->lost = true;
	return 0;
}

int bch_btree_rewrite_load(struct bch_btree_rewrite *rw, unsigned b, struct bch_error *err)
{
	struct bch_fs *fs = rw->fs;
	struct bch_rw_btree *t = &rw->bt[b];
	struct shape_ctx c = { .fs = fs, .t = t };
	const struct bch_btree_root *r = &fs->journal.roots[b];
	struct bch_node_expect x;
	int ret;

	if (t->loaded)
		return 0;
	t->loaded = true;
	if (!r->present || t->replace) {
		/* one leaf covering everything: written from the updates alone */
		memset(&x, 0, sizeof(x));
		x.btree_id = b;
		x.min_key = POS_MIN;
		x.max_key = SPOS_MAX;
		if (shape_add_leaf(&c, &x, NULL))
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		/*
		 * a root leaf the walk does not read: when it cannot be read
		 * either, its pointer may not say where it is (a bucket of
		 * nodes no pointer explains: the orphans find it)
		 */
		if (t->replace && r->present && !r->level) {
			struct bch_error e = { 0 };
			struct bch_node_expect rx;
			struct bch_btree_node n;

			if (!bch_btree_root_expect(fs, b, &rx, &e) ||
			    bch_btree_node_read(fs, &rx, &n, &e))
				t->lost = true;
			else
				bch_btree_node_free(&n);
		}
		return t->replace ? bch_btree_walk_tolerant(fs, b, false, shape_ptr, shape_lost,
							    &c, err) : 0;
	}
	if (!bch_btree_root_expect(fs, b, &x, err))
		return -err->code;
	if (!r->level)
		return shape_add_leaf(&c, &x, &r->k) ?
			bch_err(err, BCH_ERR_NOMEM, "out of memory") : 0;
	ret = bch_btree_walk_nodes_from(fs, b, 1, shape_visit, &c, err);
	if (ret)
		bch_err_prefix(err, "rewriting btree %s", bch_btree_id_name(b, fs->sb->version) ?: "?");
	return ret;
}

/* ---- the updates and journal keys of one btree ---- */

static size_t upd_lower_bound(const struct bch_key_updates *u, unsigned b, struct bpos p)
{
	return bch_key_updates_lower_bound(u, b, 0, p);
}

static bool upd_in(const struct bch_key_updates *u, size_t i, unsigned b, struct bpos max)
{
	return i < u->nr && u->v[i].btree_id == b && !u->v[i].level &&
	       bpos_cmp(bch_key_update_pos(&u->v[i]), max) <= 0;
}

static bool jkey_in(const struct bch_journal *j, size_t i, unsigned b, struct bpos max)
{
	return i < j->nr_keys && j->keys[i].btree_id == b && !j->keys[i].level &&
	       bpos_cmp(j->keys[i].k.p, max) <= 0;
}

/* first leaf whose range ends at or after p */
static size_t leaf_of(const struct bch_rw_btree *t, struct bpos p)
{
	size_t lo = 0, hi = t->nr_leaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bpos_cmp(t->leaves[mid].x.max_key, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void mark_dirty(struct bch_btree_rewrite *rw, unsigned b, const struct bch_key_updates *u)
{
	const struct bch_journal *j = &rw->fs->journal;
	struct bch_rw_btree *t = &rw->bt[b];

	for (size_t i = 0; i < t->nr_leaves; i++)
		t->leaves[i].dirty = t->replace;
	if (t->replace)
		return;
	for (size_t i = upd_lower_bound(u, b, POS_MIN); upd_in(u, i, b, SPOS_MAX); i++) {
		size_t l = leaf_of(t, bch_key_update_pos(&u->v[i]));

		if (l < t->nr_leaves)
			t->leaves[l].dirty = true;
	}
	for (size_t i = bch_journal_keys_lower_bound(j, b, 0, POS_MIN); jkey_in(j, i, b, SPOS_MAX);
	     i++) {
		size_t l = leaf_of(t, j->keys[i].k.p);

		if (l < t->nr_leaves)
			t->leaves[l].dirty = true;
	}
	/* accounting deltas of the journal are replayed into their leaves too */
	if (b == BTREE_ID_accounting)
		for (size_t i = 0; i < j->nr_acct; i++) {
			size_t l = leaf_of(t, j->acct[i].k.p);

			if (l < t->nr_leaves)
				t->leaves[l].dirty = true;
		}
}

void bch_btree_rewrite_touch(struct bch_btree_rewrite *rw, const struct bch_key_updates *u)
{
	const struct bch_journal *j = &rw->fs->journal;

	for (size_t i = 0; i < u->nr; i++)
		rw->bt[u->v[i].btree_id].touched = true;
	/* an unclean filesystem: everything the journal holds is replayed into the nodes */
	for (size_t i = 0; i < j->nr_keys; i++)
		rw->bt[j->keys[i].btree_id].touched = true;
	for (size_t i = 0; i < j->nr_acct; i++)
		rw->bt[j->acct[i].btree_id].touched = true;
}

/* ---- node building ---- */

struct builder {
	struct bch_btree_rewrite	*rw;
	unsigned			btree_id, level;
	struct bpos			min;
	struct keylist			pending;
	struct bkey_format_state	st;
	size_t				val_bytes;
	size_t				target, capacity;
	struct keylist			*out;		/* pointer keys for the level above */
	struct bkey			*tmp;
	size_t				tmp_size;
};

static void builder_reset(struct builder *nb, struct bpos min)
{
	nb->min = min;
	nb->pending.len = nb->pending.nr = 0;
	bch_bkey_format_state_init(&nb->st);
	bch_bkey_format_add_pos(&nb->st, min);
	nb->val_bytes = 0;
}

static void builder_init(struct builder *nb, struct bch_btree_rewrite *rw, unsigned btree_id,
			 unsigned level, struct bpos min, struct keylist *out)
{
	size_t node_bytes = (size_t)rw->fs->btree_node_size * 512;

	memset(nb, 0, sizeof(*nb));
	nb->rw = rw;
	nb->btree_id = btree_id;
	nb->level = level;
	nb->out = out;
	nb->capacity = node_bytes;
	nb->target = node_bytes * FILL_NUM / FILL_DEN;
	builder_reset(nb, min);
}

static void builder_exit(struct builder *nb)
{
	keylist_free(&nb->pending);
	free(nb->tmp);
}

static uint64_t random_seq(void)
{
	uint64_t v = 0;

	while (!v)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = 0x9e3779b97f4a7c15ULL;	/* never 0; only for the impossible */
	return v;
}

/* the btree_ptr_v2 key of a new node */
static int push_ptr_key(struct builder *nb, const struct bch_new_node *n, uint64_t seq,
			unsigned sectors)
{
	struct bch_btree_ptr_info info = { .v2 = true };
	uint8_t val[40 + 8 * BCH_NODE_MAX_REPLICAS];
	struct bkey k = { .p = n->max_key, .type = KEY_TYPE_btree_ptr_v2 };

	info.h.seq = seq;
	info.h.sectors_written = (uint16_t)sectors;
	info.h.min_key = n->min_key;
	info.nr_ptrs = n->nr_ptrs;
	for (unsigned i = 0; i < n->nr_ptrs; i++)
		info.ptrs[i] = (struct bch_extent_ptr){
			.offset = n->ptr[i].sector, .dev = n->ptr[i].dev, .gen = n->ptr[i].gen,
		};
	k.val_bytes = (uint16_t)bch_btree_ptr_v2_encode(&info, val);
	k.val = val;
	return keylist_push(nb->out, &k);
}

/* write one node into its slots (a real run) */
static int write_node(struct builder *nb, struct bch_new_node *n, const struct bkey *keys,
		      size_t nr, uint64_t seq, unsigned *sectors, struct bch_error *err)
{
	struct bch_btree_rewrite *rw = nb->rw;
	struct bch_fs *fs = rw->fs;
	size_t idx = rw->nr_nodes, bytes = (size_t)fs->btree_node_size * 512;
	struct bch_node_header h = {
		.btree_id = nb->btree_id, .level = nb->level,
		.min_key = n->min_key, .max_key = n->max_key,
		.seq = seq, .node_seq = (uint32_t)rw->journal_seq,
		.journal_seq = rw->journal_seq,
	};
	void *alloc;
	uint8_t *img;
	int ret;

	if ((idx + 1) * rw->replicas > rw->nr_slots)
		return bch_err(err, BCH_ERR_INVAL,
			       "btree rewrite: the layout needs more nodes than were allocated");
	img = bch_btree_node_buf_alloc(fs, &alloc);
	if (!img)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memset(img, 0, bytes);
	ret = bch_btree_node_build(fs, &h, keys, nr, img, sectors, err);
	for (unsigned r = 0; !ret && r < rw->replicas; r++) {
		const struct bch_node_slot *s = &rw->slots[idx * rw->replicas + r];
		size_t len = (size_t)*sectors * 512;
		uint8_t *copy = malloc(len);

		n->ptr[r] = *s;
		if (!copy) {
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(copy, img, len);
		ret = bch_write_plan_add(rw->plan, s->dev, s->sector * 512, copy, len, false);
		if (ret)
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	n->nr_ptrs = rw->replicas;
	free(alloc);
	return ret;
}

/* one node holding keys[0..nr) over [min, max] */
static int emit_node(struct builder *nb, struct bpos min, struct bpos max,
		     const struct bkey *keys, size_t nr, struct bch_error *err)
{
	struct bch_btree_rewrite *rw = nb->rw;
	struct bch_new_node n = {
		.btree_id = (uint8_t)nb->btree_id, .level = (uint8_t)nb->level,
		.min_key = min, .max_key = max, .nr_ptrs = rw->replicas,
	};
	struct bkey_format f;
	uint64_t seq = 0;
	unsigned sectors = rw->fs->btree_node_size;
	int ret;

	bch_btree_node_format(&min, &max, keys, nr, &f);
	if (ROUND_UP(bch_btree_node_bytes(&f, keys, nr), (size_t)rw->fs->block_size * 512) >
	    nb->capacity) {
		size_t h = nr / 2;

		if (nr < 2)
			return bch_err(err, BCH_ERR_INVAL, "btree rewrite: a key does not fit in a node");
		/* too big with its final range (the last node of a run): halve it */
		return emit_node(nb, min, keys[h - 1].p, keys, h, err) ?:
		       emit_node(nb, bpos_successor(keys[h - 1].p), max, keys + h, nr - h, err);
	}
	if (rw->slots) {
		seq = random_seq();
		ret = write_node(nb, &n, keys, nr, seq, &sectors, err);
		if (ret)
			return ret;
	}
	rw->keys_written += nr;
	ret = push_new_node(rw, &n) ?: push_ptr_key(nb, &n, seq, sectors);
	return ret ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : 0;
}

static int builder_emit(struct builder *nb, struct bpos max, struct bch_error *err)
{
	struct keylist *p = &nb->pending;

	if (p->nr > nb->tmp_size) {
		struct bkey *n = realloc(nb->tmp, p->nr * sizeof(*n));

		if (!n)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		nb->tmp = n;
		nb->tmp_size = p->nr;
	}
	for (size_t i = 0; i < p->nr; i++)
		keylist_get(p, i, &nb->tmp[i]);
	return emit_node(nb, nb->min, max, nb->tmp, p->nr, err);
}

static int builder_add(struct builder *nb, const struct bkey *k, struct bch_error *err)
{
	struct bkey_format_state st = nb->st;
	struct bkey_format f;
	size_t bytes;
	int ret;

	bch_bkey_format_add_key(&st, k);
	bch_bkey_format_done(&st, &f);
	bytes = BCH_BTREE_NODE_HEADER_BYTES + (nb->pending.nr + 1) * f.key_u64s * 8 +
		nb->val_bytes + k->val_bytes;
	if (nb->pending.nr && bytes > nb->target) {
		struct bkey last;

		keylist_get(&nb->pending, nb->pending.nr - 1, &last);
		ret = builder_emit(nb, last.p, err);
		if (ret)
			return ret;
		builder_reset(nb, bpos_successor(last.p));
		st = nb->st;
		bch_bkey_format_add_key(&st, k);
	}
	nb->st = st;
	nb->val_bytes += k->val_bytes;
	return keylist_push(&nb->pending, k) ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : 0;
}

/* the run ends at max: its last node, even an empty one */
static int builder_finish(struct builder *nb, struct bpos max, struct bch_error *err)
{
	return builder_emit(nb, max, err);
}

/* ---- merging a dirty leaf ---- */

static int cmp_acct_delta(const void *a, const void *b)
{
	const struct bch_journal_key *x = *(const struct bch_journal_key * const *)a;
	const struct bch_journal_key *y = *(const struct bch_journal_key * const *)b;
	int c = bpos_cmp(x->k.p, y->k.p);

	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool version_newer(struct bversion a, struct bversion b)
{
	return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo;
}

/* counters of an accounting value added to sum */
static void acct_add(uint64_t *sum, unsigned nr, const struct bkey *k)
{
	for (unsigned i = 0; i < nr && i * 8 < k->val_bytes; i++)
		sum[i] += get_le64(k->val + 8 * i);
}

struct acct_state {
	const struct bch_journal_key	**d;	/* journal deltas of the leaf, sorted */
	size_t				nr, i;
};

/*
 * An accounting key as replay leaves it: the node's counters, each journal
 * delta newer than what it applies to, then ours.
 */
static int acct_merge(struct builder *nb, const struct bkey *node, struct acct_state *a,
		      struct bpos p, const struct bkey *upd, struct bch_error *err)
{
	uint64_t sum[BKEY_VAL_U64S_MAX] = { 0 };
	uint8_t val[BKEY_VAL_U64S_MAX * 8];
	struct bkey out = { .p = p, .type = KEY_TYPE_accounting };
	unsigned nr = 0;
	bool any = false;

	if (node) {
		out.version = node->version;
		nr = node->val_bytes / 8;
		acct_add(sum, nr, node);
		any = true;
	}
	for (; a->i < a->nr && bpos_eq(a->d[a->i]->k.p, p); a->i++) {
		const struct bkey *d = &a->d[a->i]->k;

		if (any && !version_newer(d->version, out.version))
			continue;
		if (!any)
			nr = d->val_bytes / 8;
		acct_add(sum, nr, d);
		out.version = d->version;
		any = true;
	}
	if (upd && upd->type == KEY_TYPE_accounting) {
		if (!any)
			nr = upd->val_bytes / 8;
		acct_add(sum, nr, upd);
		out.version = (struct bversion){ .lo = nb->rw->journal_seq << 32 };
		any = true;
	}
	if (!any)
		return 0;
	bool zero = true;

	for (unsigned i = 0; i < nr; i++) {
		put_le64(val + 8 * i, sum[i]);
		zero &= !sum[i];
	}
	if (zero)
		return 0;	/* a key that counts nothing is not kept */
	out.val = val;
	out.val_bytes = (uint16_t)(nr * 8);
	return builder_add(nb, &out, err);
}

static int acct_deltas(const struct bch_journal *j, struct bpos min, struct bpos max,
		       struct acct_state *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < j->nr_acct; i++)
		if (bpos_cmp(j->acct[i].k.p, min) >= 0 && bpos_cmp(j->acct[i].k.p, max) <= 0)
			a->nr++;
	if (!a->nr)
		return 0;
	a->d = malloc(a->nr * sizeof(*a->d));
	if (!a->d)
		return -BCH_ERR_NOMEM;
	a->nr = 0;
	for (size_t i = 0; i < j->nr_acct; i++)
		if (bpos_cmp(j->acct[i].k.p, min) >= 0 && bpos_cmp(j->acct[i].k.p, max) <= 0)
			a->d[a->nr++] = &j->acct[i];
	qsort(a->d, a->nr, sizeof(*a->d), cmp_acct_delta);
	return 0;
}

/*
 * Feed the keys of leaf l as they are after this commit: the node's keys
 * with the journal overlaid (an unclean filesystem's replay, the rule the
 * iterators use), then the updates, which win. Accounting keys are
 * deltas: the node's counters, the journal's deltas, then ours, added.
 */
static int feed_leaf(struct builder *nb, unsigned b, const struct bch_rw_leaf *l,
		     const struct bch_key_updates *u, struct bch_error *err)
{
	struct bch_btree_rewrite *rw = nb->rw;
	struct bch_fs *fs = rw->fs;
	struct bch_rw_btree *t = &rw->bt[b];
	struct bch_btree_node n = {
		.btree_id = b, .min_key = l->x.min_key, .max_key = l->x.max_key,
	};
	struct acct_state acct = { 0 };
	bool is_acct = b == BTREE_ID_accounting;
	struct bkey *kids = NULL;
	const struct bkey *keys = NULL;
	size_t nr = 0, ki = 0, ui;
	int ret = 0;

	if (!t->replace) {
		if (l->key) {
			ret = bch_btree_node_read(fs, &l->x, &n, err);
			if (ret)
				return ret;
		}
		if (is_acct) {
			keys = n.keys;
			nr = n.nr_keys;
			ret = acct_deltas(&fs->journal, l->x.min_key, l->x.max_key, &acct) ?
				bch_err(err, BCH_ERR_NOMEM, "out of memory") : 0;
		} else {
			ret = bch_btree_node_overlay(fs, &n, &kids, &nr, err);
			keys = kids;
		}
	}
	ui = upd_lower_bound(u, b, l->x.min_key);

	while (!ret) {
		const struct bkey *nk = ki < nr ? &keys[ki] : NULL;
		const struct bch_key_update *uu = upd_in(u, ui, b, l->x.max_key) ? &u->v[ui] : NULL;
		const struct bkey *ad = acct.i < acct.nr ? &acct.d[acct.i]->k : NULL;
		const struct bkey *at_n, *at_u;
		struct bkey uk;
		struct bpos p;
		bool have = false;

		if (uu)
			bch_bkey_read_unpacked(uu->bytes, &uk);
		/* the smallest position of the sources */
		if (nk) {
			p = nk->p;
			have = true;
		}
		if (ad && (!have || bpos_cmp(ad->p, p) < 0)) {
			p = ad->p;
			have = true;
		}
		if (uu && (!have || bpos_cmp(uk.p, p) < 0)) {
			p = uk.p;
			have = true;
		}
		if (!have)
			break;
		at_n = nk && bpos_eq(nk->p, p) ? nk : NULL;
		at_u = uu && bpos_eq(uk.p, p) ? &uk : NULL;
		ki += !!at_n;
		ui += !!at_u;
		if (is_acct) {
			ret = acct_merge(nb, at_n, &acct, p, at_u, err);
			continue;
		}
		if (at_u ? at_u->type == KEY_TYPE_deleted : !at_n)
			continue;
		ret = builder_add(nb, at_u ?: at_n, err);
	}
	free(acct.d);
	free(kids);
	bch_btree_node_free(&n);
	return ret;
}

/* ---- one btree ---- */

static int layout_leaves(struct bch_btree_rewrite *rw, unsigned b, const struct bch_key_updates *u,
			 struct keylist *kids, struct bch_error *err)
{
	struct bch_rw_btree *t = &rw->bt[b];
	struct builder nb;
	bool in_run = false;
	int ret = 0;

	builder_init(&nb, rw, b, 0, POS_MIN, kids);
	for (size_t i = 0; i < t->nr_leaves && !ret; i++) {
		const struct bch_rw_leaf *l = &t->leaves[i];

		if (!l->dirty) {
			if (in_run)
				ret = builder_finish(&nb, t->leaves[i - 1].x.max_key, err);
			in_run = false;
			if (!ret && keylist_push_raw(kids, l->key))
				ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
			continue;
		}
		if (!in_run)
			builder_reset(&nb, l->x.min_key);
		in_run = true;
		ret = feed_leaf(&nb, b, l, u, err);
		if (!ret && l->key)
			ret = push_freed(rw, b, 0, l->x.max_key, &l->x.ptr) ?
				bch_err(err, BCH_ERR_NOMEM, "out of memory") : 0;
	}
	if (!ret && in_run)
		ret = builder_finish(&nb, t->leaves[t->nr_leaves - 1].x.max_key, err);
	builder_exit(&nb);
	return ret;
}

/* interior levels over the pointer keys of the level below, up to one root */
static int layout_interior(struct bch_btree_rewrite *rw, unsigned b, struct keylist *kids,
			   struct bch_error *err)
{
	struct bch_rw_btree *t = &rw->bt[b];
	unsigned level = 0;
	int ret = 0;

	while (kids->nr > 1) {
		struct keylist up = { 0 };
		struct builder nb;

		if (++level >= BCH_BTREE_MAX_DEPTH)
			return bch_err(err, BCH_ERR_UNSUPPORTED,
				       "btree rewrite: the new tree would be deeper than %u levels",
				       BCH_BTREE_MAX_DEPTH);
		builder_init(&nb, rw, b, level, POS_MIN, &up);
		for (size_t i = 0; i < kids->nr && !ret; i++) {
			struct bkey k;

			keylist_get(kids, i, &k);
			ret = builder_add(&nb, &k, err);
		}
		if (!ret)
			ret = builder_finish(&nb, SPOS_MAX, err);
		builder_exit(&nb);
		keylist_free(kids);
		*kids = up;
		if (ret)
			return ret;
	}
	if (!rw->slots)
		return 0;
	/* the one key left points at the root */
	struct bkey root;

	keylist_get(kids, 0, &root);
	free(t->root_key);
	t->root_key = key_dup(&root);
	if (!t->root_key)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	t->root_level = (uint8_t)level;
	t->new_root = true;
	return 0;
}

static int layout_btree(struct bch_btree_rewrite *rw, unsigned b, const struct bch_key_updates *u,
			struct bch_error *err)
{
	struct bch_rw_btree *t = &rw->bt[b];
	struct keylist kids = { 0 };
	int ret;

	ret = bch_btree_rewrite_load(rw, b, err);
	if (ret)
		return ret;
	mark_dirty(rw, b, u);
	for (size_t i = 0; i < t->nr_interior; i++)
		if (push_freed(rw, b, t->interior[i].level, t->interior[i].max_key,
			       &t->interior[i].ptr))
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = layout_leaves(rw, b, u, &kids, err) ?:
	      layout_interior(rw, b, &kids, err);
	keylist_free(&kids);
	return ret;
}

/* ---- the whole run ---- */

void bch_btree_rewrite_init(struct bch_btree_rewrite *rw, struct bch_fs *fs)
{
	memset(rw, 0, sizeof(*rw));
	rw->fs = fs;
	rw->replicas = 1;
}

void bch_btree_rewrite_exit(struct bch_btree_rewrite *rw)
{
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		struct bch_rw_btree *t = &rw->bt[b];

		for (size_t i = 0; i < t->nr_leaves; i++)
			free(t->leaves[i].key);
		free(t->leaves);
		free(t->interior);
		free(t->root_key);
	}
	free(rw->nodes);
	free(rw->freed);
	free(rw->orphans);
	memset(rw, 0, sizeof(*rw));
}

int bch_btree_rewrite_run(struct bch_btree_rewrite *rw, const struct bch_key_updates *u,
			  struct bch_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < u->nr; i++)
		if (u->v[i].level)
			return bch_err(err, BCH_ERR_UNSUPPORTED,
				       "btree rewrite: updates of interior nodes are not supported");
	rw->nr_nodes = rw->nr_freed = 0;
	rw->keys_written = 0;
	for (unsigned b = 0; b < BTREE_ID_NR_MAX && !ret; b++)
		if (rw->bt[b].touched)
			ret = layout_btree(rw, b, u, err);
	return ret;
}
