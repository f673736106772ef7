/* Derived btrees written anew from the alloc keys and the pointers (rebuild.h). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backpointers.h"
#include "btree_iter.h"
#include "buckets.h"
#include "check_buckets.h"
#include "fs.h"
#include "lru.h"
#include "rebuild.h"

bool bch_btree_is_derived(unsigned btree_id, unsigned sb_version)
{
	switch (btree_id) {
	case BTREE_ID_backpointers:
	case BTREE_ID_lru:
	case BTREE_ID_freespace:
	case BTREE_ID_need_discard:
	case BTREE_ID_bucket_gens:
		return true;
	case BTREE_ID_reconcile_work_phys:
	case BTREE_ID_reconcile_hipri_phys:
		return sb_version >= BCH_VERSION(1, 33);
	}
	return false;
}

/* ---- every key of the nodes a walk reaches, past nodes that cannot be read ---- */

struct key_walk {
	bch_tree_key_fn		fn;
	bch_node_lost_fn	lost;
	void			*ctx;
};

static int key_lost(void *ctx, const struct bch_node_expect *x, const struct bch_error *why,
		    struct bch_error *err)
{
	struct key_walk *w = ctx;

	return w->lost ? w->lost(w->ctx, x, why, err) : 0;
}

static int key_visit(void *ctx, const struct bch_node_expect *x, const struct bch_btree_node *n,
		     const struct bkey *kids, size_t nr, struct bch_error *err)
{
	struct key_walk *w = ctx;
	int ret = 0;

	for (size_t i = 0; i < nr && !ret; i++)
		ret = w->fn(w->ctx, x->btree_id, n->level, &kids[i], err);
	return ret;
}

int bch_btree_walk_tolerant(struct bch_fs *fs, unsigned btree_id, bool leaves,
			    bch_tree_key_fn fn, bch_node_lost_fn lost, void *ctx,
			    struct bch_error *err)
{
	const struct bch_btree_root *r = &fs->journal.roots[btree_id];
	struct key_walk w = { .fn = fn, .lost = lost, .ctx = ctx };
	int ret;

	if (!r->present)
		return 0;
	/* the root's own pointer: held one level above the root */
	ret = fn ? fn(ctx, btree_id, r->level + 1, &r->k, err) : 0;
	if (ret)
		return ret;
	return bch_btree_walk(fs, btree_id, leaves ? 0 : 1, fn ? key_visit : NULL, key_lost,
			      &w, err);
}

/* ---- the alloc keys, once ---- */

struct dev_gens {
	uint8_t		*gen;		/* nbuckets */
};

typedef int (*alloc_fn)(void *ctx, unsigned dev, uint64_t b, const struct bch_alloc_v4 *a);

struct alloc_overlay {
	const struct bch_alloc_fix	*v;
	size_t				nr;
};

static int fix_before(const struct bch_alloc_fix *f, struct bpos p)
{
	if (f->dev != p.inode)
		return f->dev < p.inode;
	return f->bucket < p.offset;
}

/* every alloc key in order, with the overlay's keys instead of (or added to) the stored ones */
static int for_each_alloc(struct bch_fs *fs, const struct alloc_overlay *ov, alloc_fn fn,
			  void *ctx, struct bch_error *err)
{
	struct bch_btree_iter it;
	size_t i = 0;
	struct bkey k;
	int ret;

	bch_btree_iter_init(&it, fs, BTREE_ID_alloc, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		struct bch_alloc_v4 a;

		ret = 0;
		/*
		 * a key at a snapshot other than 0, or of a device number that
		 * cannot be one, is no bucket's: the check reports it invalid
		 * and the repair deletes it (check_buckets.c), so it must not
		 * stand for the bucket its inode:offset names
		 */
		if (k.p.snapshot || k.p.inode >= BCH_SB_MAX_DEVICES)
			continue;
		for (; i < ov->nr && fix_before(&ov->v[i], k.p); i++) {
			ret = fn(ctx, ov->v[i].dev, ov->v[i].bucket, &ov->v[i].a);
			if (ret)
				goto out;
		}
		if (i < ov->nr && ov->v[i].dev == k.p.inode && ov->v[i].bucket == k.p.offset) {
			ret = fn(ctx, ov->v[i].dev, ov->v[i].bucket, &ov->v[i].a);
			i++;
		} else if (!bch_alloc_decode(&k, &a, NULL)) {
			ret = fn(ctx, (unsigned)k.p.inode, k.p.offset, &a);
		}	/* else a bad alloc key: the alloc check's business */
		if (ret)
			goto out;
	}
	for (; !ret && i < ov->nr; i++)
		ret = fn(ctx, ov->v[i].dev, ov->v[i].bucket, &ov->v[i].a);
out:
	bch_btree_iter_exit(&it);
	return ret;
}

/* ---- backpointers: from every pointer ---- */

struct bp_gen {
	struct bch_fs		*fs;
	struct bch_check_geom	geom;
	struct dev_gens		g[BCH_SB_MAX_DEVICES];
	struct bch_key_updates	*out;
};

static int gens_fill(void *ctx, unsigned dev, uint64_t b, const struct bch_alloc_v4 *a)
{
	struct bp_gen *c = ctx;

	if (dev < BCH_SB_MAX_DEVICES && c->g[dev].gen && b < c->geom.dev[dev].nbuckets)
		c->g[dev].gen[b] = a->gen;
	return 0;
}

static int bp_emit(void *ctx, const struct bch_extent_ptr *p, struct bpos bp_pos,
		   const struct bch_backpointer *bp)
{
	struct bp_gen *c = ctx;
	uint8_t val[BCH_BACKPOINTER_BYTES];
	struct bkey k = { .p = bp_pos, .type = KEY_TYPE_backpointer, .val = val,
			  .val_bytes = sizeof(val) };
	uint64_t bucket;

	if (!c->g[p->dev].gen)
		return 0;
	bucket = p->offset / c->geom.dev[p->dev].bucket_size;
	/* stale pointers need no backpointer */
	if (bucket >= c->geom.dev[p->dev].nbuckets || c->g[p->dev].gen[bucket] != p->gen)
		return 0;
	bch_backpointer_encode(val, bp);
	return bch_key_updates_add(c->out, BTREE_ID_backpointers, 0, &k);
}

static int bp_key(void *ctx, unsigned btree_id, unsigned level, const struct bkey *k,
		  struct bch_error *err)
{
	struct bp_gen *c = ctx;
	int ret = bch_key_backpointers(&c->geom, btree_id, level, k, bp_emit, c);

	return ret == -BCH_ERR_NOMEM ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : ret;
}

static int rebuild_backpointers(struct bch_fs *fs, const struct alloc_overlay *ov,
				struct bch_key_updates *out, struct bch_error *err)
{
	struct bp_gen *c = calloc(1, sizeof(*c));
	int ret = 0;

	if (!c)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	c->fs = fs;
	c->out = out;
	bch_check_geom_from_sb(&c->geom, fs->sb);
	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		if (!c->geom.dev[d].exists || !fs->devs[d])
			continue;
		c->g[d].gen = calloc(c->geom.dev[d].nbuckets ? c->geom.dev[d].nbuckets : 1, 1);
		if (!c->g[d].gen)
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	ret = ret ?: for_each_alloc(fs, ov, gens_fill, c, err);
	for (unsigned b = 0; b < BTREE_ID_NR_MAX && !ret; b++) {
		bool data = b == BTREE_ID_extents || b == BTREE_ID_reflink || b == BTREE_ID_stripes;

		ret = bch_btree_walk_tolerant(fs, b, data, bp_key, NULL, c, err);
	}
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++)
		free(c->g[d].gen);
	free(c);
	return ret;
}

/* ---- lru, need_discard, bucket_gens, freespace: from the alloc keys ---- */

struct from_alloc {
	struct bch_fs		*fs;
	unsigned		btree_id;
	struct bch_key_updates	*out;
	/* bucket_gens: the group being filled */
	bool			gens_open;
	struct bpos		gens_pos;
	uint8_t			gens[256];
	/* freespace: per device, the next bucket not yet accounted for */
	uint64_t		next[BCH_SB_MAX_DEVICES];
	/* freespace: the run of free buckets being collected */
	bool			run_open;
	unsigned		run_dev;
	uint64_t		run_start, run_end;	/* offsets in freespace numbering */
	/* the device of the last key, looked up once per device, not per key */
	unsigned		m_dev;		/* UINT32_MAX: none yet */
	const struct bch_member	*m;
	bool			m_indexed;
};

static int set_key(struct from_alloc *c, struct bpos p, uint32_t size)
{
	struct bkey k = { .p = p, .type = KEY_TYPE_set, .size = size };

	return bch_key_updates_add(c->out, c->btree_id, 0, &k);
}

static int gens_flush(struct from_alloc *c)
{
	struct bkey k = { .p = c->gens_pos, .type = KEY_TYPE_bucket_gens, .val = c->gens,
			  .val_bytes = 256 };
	bool zero = true;

	for (unsigned i = 0; i < 256; i++)
		zero &= !c->gens[i];
	c->gens_open = false;
	return zero ? 0 : bch_key_updates_add(c->out, BTREE_ID_bucket_gens, 0, &k);
}

/* freespace: extend the open run with offset off of dev, or start a new one */
static int free_offset(struct from_alloc *c, unsigned dev, uint64_t off)
{
	int ret = 0;

	if (c->run_open && c->run_dev == dev && c->run_end == off &&
	    c->run_end - c->run_start < UINT32_MAX) {
		c->run_end++;
		return 0;
	}
	if (c->run_open)
		ret = set_key(c, BPOS(c->run_dev, c->run_end, 0),
			      (uint32_t)(c->run_end - c->run_start));
	c->run_open = true;
	c->run_dev = dev;
	c->run_start = off;
	c->run_end = off + 1;
	return ret;
}

/*
 * buckets [from, to) of dev without alloc key: free, gen 0, so their
 * offsets are the bucket numbers; as free_offset() bucket by bucket, but
 * an open run is extended by the whole gap at once (up to its size limit)
 */
static int free_gap(struct from_alloc *c, unsigned dev, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t room, n;
		int ret;

		if (!c->run_open || c->run_dev != dev || c->run_end != from ||
		    c->run_end - c->run_start >= UINT32_MAX) {
			ret = free_offset(c, dev, from++);
			if (ret)
				return ret;
			continue;
		}
		room = UINT32_MAX - (c->run_end - c->run_start);
		n = to - from < room ? to - from : room;
		c->run_end += n;
		from += n;
	}
	return 0;
}

static bool dev_indexed(struct bch_fs *fs, unsigned dev)
{
	const struct bch_member *m = bch_fs_member(fs, dev);

	return m && fs->devs[dev] && BCH_MEMBER_FREESPACE_INIT(m);
}

static int alloc_key(void *ctx, unsigned dev, uint64_t b, const struct bch_alloc_v4 *a)
{
	struct from_alloc *c = ctx;
	const struct bch_member *m;
	int ret = 0;

	if (dev != c->m_dev) {
		c->m_dev = dev;
		c->m = bch_fs_member(c->fs, dev);
		c->m_indexed = dev_indexed(c->fs, dev);
	}
	m = c->m;
	if (!m || b < m->first_bucket || b >= m->nbuckets)
		return 0;	/* outside the device: the alloc check's business */
	switch (c->btree_id) {
	case BTREE_ID_lru: {
		uint64_t frag = bch_alloc_lru_idx_fragmentation(a, m->bucket_size);
		uint64_t read = bch_alloc_lru_idx_read(a);

		if (frag)
			ret = set_key(c, bch_lru_pos(bch_lru_frag_id(c->fs->sb->version, dev),
						     frag, dev, b), 0);
		if (!ret && read)
			ret = set_key(c, bch_lru_pos(dev, read, dev, b), 0);
		return ret;
	}
	case BTREE_ID_need_discard:
		return a->data_type == BCH_DATA_need_discard && c->m_indexed ?
			set_key(c, bch_need_discard_key_pos(c->fs->sb->version, dev, b,
							    a->journal_seq_empty), 0) : 0;
	case BTREE_ID_bucket_gens: {
		struct bpos p = BPOS(dev, b >> 8, 0);

		if (c->gens_open && !bpos_eq(p, c->gens_pos))
			ret = gens_flush(c);
		if (!c->gens_open) {
			memset(c->gens, 0, sizeof(c->gens));
			c->gens_pos = p;
			c->gens_open = true;
		}
		c->gens[b & 255] = a->gen;
		return ret;
	}
	case BTREE_ID_freespace:
		if (!c->m_indexed)
			return 0;
		if (c->next[dev] < m->first_bucket)
			c->next[dev] = m->first_bucket;
		ret = free_gap(c, dev, c->next[dev], b);
		c->next[dev] = b + 1;
		if (!ret && a->data_type == BCH_DATA_free)
			ret = free_offset(c, dev, bch_freespace_offset(b, a->gen, a->oldest_gen));
		return ret;
	}
	return 0;
}

/* what follows the last alloc key: the open bucket_gens group, freespace's tail */
static int from_alloc_finish(struct from_alloc *c)
{
	struct bch_fs *fs = c->fs;
	int ret = 0;

	if (c->gens_open)
		ret = gens_flush(c);
	/* freespace: the buckets after each device's last alloc key */
	for (unsigned d = 0; !ret && c->btree_id == BTREE_ID_freespace && d < fs->nr_devs; d++) {
		const struct bch_member *m = bch_fs_member(fs, d);

		if (!dev_indexed(fs, d))
			continue;
		ret = free_gap(c, d, c->next[d] > m->first_bucket ? c->next[d] : m->first_bucket,
			       m->nbuckets);
	}
	if (!ret && c->run_open)
		ret = set_key(c, BPOS(c->run_dev, c->run_end, 0), (uint32_t)(c->run_end - c->run_start));
	return ret;
}

struct bch_from_alloc {
	struct from_alloc	c[BCH_REBUILD_FROM_ALLOC_MAX];
	unsigned		nr;
};

int bch_from_alloc_key(struct bch_from_alloc *set, unsigned dev, uint64_t bucket,
		       const struct bch_alloc_v4 *a)
{
	int ret = 0;

	for (unsigned i = 0; i < set->nr && !ret; i++)
		ret = alloc_key(&set->c[i], dev, bucket, a);
	return ret;
}

static int alloc_key_all(void *ctx, unsigned dev, uint64_t b, const struct bch_alloc_v4 *a)
{
	return bch_from_alloc_key(ctx, dev, b, a);
}

static bool from_alloc_btree(unsigned btree_id)
{
	return btree_id == BTREE_ID_lru || btree_id == BTREE_ID_freespace ||
	       btree_id == BTREE_ID_need_discard || btree_id == BTREE_ID_bucket_gens;
}

int bch_from_alloc_begin(struct bch_fs *fs, const unsigned *btrees, unsigned nr,
			 struct bch_key_updates *out, struct bch_from_alloc **setp,
			 struct bch_error *err)
{
	struct bch_from_alloc *set;

	*setp = NULL;
	if (nr > BCH_REBUILD_FROM_ALLOC_MAX)
		return bch_err(err, BCH_ERR_INVAL, "more than %u btrees from one alloc walk",
			       BCH_REBUILD_FROM_ALLOC_MAX);
	for (unsigned i = 0; i < nr; i++)
		if (!from_alloc_btree(btrees[i]))
			return bch_err(err, BCH_ERR_INVAL, "btree %s is not made from the alloc keys",
				       bch_btree_id_name(btrees[i], fs->sb->version) ?: "?");
	set = calloc(1, sizeof(*set));
	if (!set)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (; set->nr < nr; set->nr++) {
		set->c[set->nr].fs = fs;
		set->c[set->nr].btree_id = btrees[set->nr];
		set->c[set->nr].out = &out[set->nr];
		set->c[set->nr].m_dev = UINT32_MAX;
	}
	*setp = set;
	return 0;
}

int bch_from_alloc_end(struct bch_from_alloc *set, struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < set->nr && !ret; i++)
		ret = from_alloc_finish(&set->c[i]);
	return ret == -BCH_ERR_NOMEM ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : ret;
}

void bch_from_alloc_free(struct bch_from_alloc *set)
{
	free(set);
}

/* several btrees made from one walk of the alloc keys: out[i] gets btrees[i]'s */
static int rebuild_from_alloc(struct bch_fs *fs, const struct alloc_overlay *ov,
			      const unsigned *btrees, unsigned nr, struct bch_key_updates *out,
			      struct bch_error *err)
{
	struct bch_from_alloc *set;
	int ret = bch_from_alloc_begin(fs, btrees, nr, out, &set, err);

	if (ret)
		return ret;
	ret = for_each_alloc(fs, ov, alloc_key_all, set, err);
	if (ret == -BCH_ERR_NOMEM)
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = ret ?: bch_from_alloc_end(set, err);
	bch_from_alloc_free(set);
	return ret;
}

int bch_rebuild_from_alloc_fixed(struct bch_fs *fs, const unsigned *btrees, unsigned nr,
				 const struct bch_alloc_fix *fixes, size_t nr_fixes,
				 struct bch_key_updates *out, struct bch_error *err)
{
	const struct alloc_overlay ov = { .v = fixes, .nr = nr_fixes };

	return rebuild_from_alloc(fs, &ov, btrees, nr, out, err);
}

/* ---- reconcile *_phys: from the backpointers' reconcile class ---- */

static int rebuild_phys(struct bch_fs *fs, unsigned btree_id, struct bch_key_updates *out,
			struct bch_error *err)
{
	unsigned want = btree_id == BTREE_ID_reconcile_hipri_phys ? 1 : 2;
	struct bch_btree_iter it;
	struct bkey k;
	int ret;

	bch_btree_iter_init(&it, fs, BTREE_ID_backpointers, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		struct bch_backpointer bp;
		struct bkey s = { .p = k.p, .type = KEY_TYPE_set };

		if (bch_backpointer_decode(&k, &bp, NULL) || BCH_BACKPOINTER_RECONCILE_PHYS(&bp) != want)
			continue;
		ret = bch_key_updates_add(out, btree_id, 0, &s);
		if (ret) {
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
			break;
		}
	}
	bch_btree_iter_exit(&it);
	return ret;
}

int bch_rebuild_keys_fixed(struct bch_fs *fs, unsigned btree_id,
			   const struct bch_alloc_fix *fixes, size_t nr_fixes,
			   struct bch_key_updates *out, struct bch_error *err)
{
	const struct alloc_overlay ov = { .v = fixes, .nr = nr_fixes };

	switch (btree_id) {
	case BTREE_ID_backpointers:
		return rebuild_backpointers(fs, &ov, out, err);
	case BTREE_ID_lru:
	case BTREE_ID_freespace:
	case BTREE_ID_need_discard:
	case BTREE_ID_bucket_gens:
		return rebuild_from_alloc(fs, &ov, &btree_id, 1, out, err);
	case BTREE_ID_reconcile_work_phys:
	case BTREE_ID_reconcile_hipri_phys:
		if (bch_btree_is_derived(btree_id, fs->sb->version))
			return rebuild_phys(fs, btree_id, out, err);
	}
	return bch_err(err, BCH_ERR_INVAL, "btree %s cannot be rebuilt from other btrees",
		       bch_btree_id_name(btree_id, fs->sb->version) ?: "?");
}

int bch_rebuild_keys(struct bch_fs *fs, unsigned btree_id, struct bch_key_updates *out,
		     struct bch_error *err)
{
	return bch_rebuild_keys_fixed(fs, btree_id, NULL, 0, out, err);
}
