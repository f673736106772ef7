/* Lookups through a cache of decoded nodes (btree_lookup.h). */
#include <stdlib.h>
#include <string.h>

#include "btree_iter.h"
#include "btree_lookup.h"
#include "fs.h"

void bch_lookup_cache_init(struct bch_lookup_cache *c, struct bch_fs *fs)
{
	memset(c, 0, sizeof(*c));
	c->fs = fs;
}

static void slot_free(struct bch_lookup_node *s)
{
	if (s->used)
		bch_btree_node_free(&s->n);
	free(s->kids);
	memset(s, 0, sizeof(*s));
}

void bch_lookup_cache_exit(struct bch_lookup_cache *c)
{
	for (unsigned i = 0; i < BCH_LOOKUP_CACHE_NODES; i++)
		slot_free(&c->nodes[i]);
}

static bool same_node(const struct bch_lookup_node *s, const struct bch_node_expect *x)
{
	const struct bch_btree_node *n = &s->n;

	return s->used && n->btree_id == x->btree_id && n->level == x->level &&
	       bpos_eq(n->min_key, x->min_key) && bpos_eq(n->max_key, x->max_key) &&
	       (!x->ptr.v2 || n->seq == x->ptr.h.seq);
}

/* the node x names, from the cache or read and decoded into it */
static int get_node(struct bch_lookup_cache *c, const struct bch_node_expect *x,
		    struct bch_lookup_node **out, struct bch_error *err)
{
	struct bch_lookup_node *victim = &c->nodes[0];
	int ret;

	for (unsigned i = 0; i < BCH_LOOKUP_CACHE_NODES; i++) {
		struct bch_lookup_node *s = &c->nodes[i];

		if (same_node(s, x)) {
			s->last_use = ++c->clock;
			*out = s;
			return 0;
		}
		if (!s->used || (victim->used && s->last_use < victim->last_use))
			victim = s;
	}
	slot_free(victim);
	ret = bch_btree_node_read(c->fs, x, &victim->n, err);
	if (ret)
		return ret;
	victim->used = true;
	ret = bch_btree_node_overlay(c->fs, &victim->n, &victim->kids, &victim->nr_kids, err);
	if (ret) {
		slot_free(victim);
		return ret;
	}
	victim->last_use = ++c->clock;
	*out = victim;
	return 0;
}

/* first key at or after p in kids[0..nr) */
static size_t lower_bound(const struct bkey *kids, size_t nr, struct bpos p)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bpos_cmp(kids[mid].p, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the leaf whose range holds p */
static int find_leaf(struct bch_lookup_cache *c, unsigned btree, struct bpos p,
		     struct bch_lookup_node **leaf, struct bch_error *err)
{
	struct bch_node_expect x;
	struct bch_lookup_node *s;
	int ret;

	if (!bch_btree_root_expect(c->fs, btree, &x, err))
		return err && err->code ? -err->code : 1;	/* no root: an empty btree */
	while (1) {
		size_t i;

		ret = get_node(c, &x, &s, err);
		if (ret)
			return ret;
		if (!s->n.level) {
			*leaf = s;
			return 0;
		}
		i = lower_bound(s->kids, s->nr_kids, p);
		if (i == s->nr_kids)
			return 1;
		ret = bch_btree_child_expect(c->fs, &s->n, s->kids, i, &x, err);
		if (ret)
			return ret;
	}
}

int bch_lookup_next(struct bch_lookup_cache *c, unsigned btree, struct bpos start,
		    struct bpos end, struct bkey *k, struct bch_error *err)
{
	struct bpos p = start;

	while (bpos_cmp(p, end) <= 0) {
		struct bch_lookup_node *leaf;
		size_t i;
		int ret = find_leaf(c, btree, p, &leaf, err);

		if (ret)
			return ret > 0 ? 0 : ret;
		for (i = lower_bound(leaf->kids, leaf->nr_kids, p); i < leaf->nr_kids; i++) {
			if (bpos_cmp(leaf->kids[i].p, end) > 0)
				return 0;
			*k = leaf->kids[i];	/* overlay keeps no deleted keys */
			return 1;
		}
		if (bpos_eq(leaf->n.max_key, SPOS_MAX))
			return 0;
		p = bpos_successor(leaf->n.max_key);
	}
	return 0;
}
