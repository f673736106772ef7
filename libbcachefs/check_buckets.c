/*
 * check_bucket_bitmaps: alloc x backpointers merge walk, LRU check,
 * pointer scan of the buckets that do not add up, bucket index range
 * checks. See check_buckets.h.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buckets.h"
#include "bkey.h"
#include "check_buckets.h"
#include "extents.h"
#include "lru.h"
#include "super.h"
#include "vec.h"

/* reconcile rework (1.33): backpointer flags carry the work class */
#define BCH_VERSION_RECONCILE	BCH_VERSION(1, 33)

void bch_check_geom_from_sb(struct bch_check_geom *g, const struct bch_sb *sb)
{
	memset(g, 0, sizeof(*g));
	g->nr_devs = sb->nr_members;
	for (unsigned i = 0; i < sb->nr_members && i < 256; i++) {
		const struct bch_member *m = &sb->members[i];

		if (!m->exists)
			continue;
		g->dev[i] = (struct bch_check_dev){
			.exists		= true,
			.nbuckets	= m->nbuckets,
			.first_bucket	= m->first_bucket,
			.bucket_size	= m->bucket_size,
			.rotational	= BCH_MEMBER_ROTATIONAL(m),
		};
	}
	g->bp_shift = bch_sb_bp_shift(sb);
	g->version = sb->version;
	g->btree_node_size = (unsigned)BCH_SB_BTREE_NODE_SIZE(sb);
}

int bch_check_init(struct bch_check *c, const struct bch_check_geom *g,
		   bch_finding_fn fn, void *fn_ctx)
{
	memset(c, 0, sizeof(*c));
	c->geom = *g;
	c->fn = fn;
	c->fn_ctx = fn_ctx;
	c->acct = calloc(256, sizeof(*c->acct));
	if (!c->acct)
		return -BCH_ERR_NOMEM;
	for (unsigned d = 0; d < 256; d++) {
		uint64_t n = g->dev[d].exists ? g->dev[d].nbuckets : 0;

		if (bch_bitmap_init(&c->mismatch[d], n) || bch_bitmap_init(&c->empty[d], n) ||
		    bch_bitmap_init(&c->keyed[d], n)) {
			bch_check_exit(c);
			return -BCH_ERR_NOMEM;
		}
	}
	return 0;
}

void bch_check_exit(struct bch_check *c)
{
	for (unsigned d = 0; d < 256; d++) {
		bch_bitmap_free(&c->mismatch[d]);
		bch_bitmap_free(&c->empty[d]);
		bch_bitmap_free(&c->keyed[d]);
	}
	for (unsigned d = 0; d < 256; d++) {
		free(c->meta[d].b);
		free(c->meta[d].type);
		free(c->meta[d].sectors);
		free(c->meta[d].seen);
	}
	free(c->acct);
	free(c->phys);
	free(c->phys_fix);
	free(c->corrections);
	free(c->buckets);
	free(c->bps);
	free(c->orphans);
	free(c->strays);
	bch_lru_wants_free(&c->lru_wants);
	free(c->oob_frag_lru);
	memset(c, 0, sizeof(*c));
}

#define PUSH(c, name) BCH_VEC_PUSH((c)->name, (c)->nr_##name, (c)->name##_size)

/*
 * 1.33+: the reconcile class the backpointer at f->pos will have once
 * the finding is repaired (0: deleted), or -1 if it does not touch one
 */
static int bp_class_after(const struct bch_finding *f)
{
	switch (f->kind) {
	case BCH_F_bp_missing:
	case BCH_F_bp_fields_wrong:
		return f->want.flags & 3;
	case BCH_F_bucket_bp_excess_no_target:
	case BCH_F_bp_no_target:
	case BCH_F_bp_no_alloc_key:
	case BCH_F_bp_no_device:
	case BCH_F_bp_wrong_gen:
		return 0;
	default:
		return -1;
	}
}

static int report(struct bch_check *c, struct bch_finding *f)
{
	int class = c->geom.version >= BCH_VERSION_RECONCILE ? bp_class_after(f) : -1;

	if (class >= 0) {
		struct bch_phys_want *w = PUSH(c, phys_fix);

		if (!w)
			return -BCH_ERR_NOMEM;
		*w = (struct bch_phys_want){ .pos = f->pos, .class = (uint8_t)class };
	}
	if (f->dev < 256 && c->geom.dev[f->dev].exists) {
		f->dev_exists = true;
		f->nbuckets = c->geom.dev[f->dev].nbuckets;
	}
	c->stats.findings[f->kind]++;
	return c->fn ? c->fn(c->fn_ctx, f) : 0;
}

static unsigned bp_counter(unsigned data_type)
{
	switch (data_type) {
	case BCH_DATA_cached:
		return BCH_CTR_CACHED;
	case BCH_DATA_stripe:
	case BCH_DATA_parity:
		return BCH_CTR_STRIPE;
	default:
		return BCH_CTR_DIRTY;
	}
}

/* ---- pass 1: alloc x backpointers ---- */

struct bp_cursor {
	struct bch_key_src	*src;
	bool			have;
	bool			done;
	struct bkey		k;
	unsigned		dev;
	uint64_t		bucket;
};

static int bp_peek(struct bch_check *c, struct bp_cursor *cur, struct bch_error *err)
{
	int ret;

	if (cur->have || cur->done)
		return 0;
	ret = cur->src->next(cur->src->ctx, &cur->k, err);
	if (ret < 0)
		return ret;
	if (!ret) {
		cur->done = true;
		return 0;
	}
	c->stats.backpointers++;
	cur->have = true;
	cur->dev = cur->k.p.inode < 256 ? (unsigned)cur->k.p.inode : 256;
	cur->bucket = cur->dev < 256 && c->geom.dev[cur->dev].exists ?
		bch_bp_pos_to_bucket(cur->k.p.offset, c->geom.bp_shift,
				     c->geom.dev[cur->dev].bucket_size) : 0;
	return 0;
}

static int cmp_dev_bucket(unsigned d1, uint64_t b1, unsigned d2, uint64_t b2)
{
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	return b1 < b2 ? -1 : b1 > b2;
}

const struct bch_alloc_fix *bch_alloc_fix_find(const struct bch_alloc_fix *v, size_t nr,
					       unsigned dev, uint64_t bucket)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = cmp_dev_bucket(v[mid].dev, v[mid].bucket, dev, bucket);

		if (!cmp)
			return &v[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_fix(const void *a, const void *b)
{
	const struct bch_alloc_fix *x = a, *y = b;

	return cmp_dev_bucket(x->dev, x->bucket, y->dev, y->bucket);
}

static int push_correction(struct bch_check *c, unsigned dev, uint64_t bucket,
			   const struct bch_alloc_v4 *a)
{
	struct bch_alloc_fix *f = PUSH(c, corrections);

	if (!f)
		return -BCH_ERR_NOMEM;
	*f = (struct bch_alloc_fix){ .dev = (uint8_t)dev, .bucket = bucket, .a = *a };
	return 0;
}

static int bp_decode_or_report(struct bch_check *c, const struct bp_cursor *cur,
			       struct bch_backpointer *bp)
{
	const char *why = NULL;

	if (cur->k.type == KEY_TYPE_backpointer && !bch_backpointer_decode(&cur->k, bp, &why)) {
		if (c->geom.version >= BCH_VERSION_RECONCILE && (bp->flags & 3)) {
			struct bch_phys_want *w = PUSH(c, phys);

			if (!w)
				return -BCH_ERR_NOMEM;
			*w = (struct bch_phys_want){ .pos = cur->k.p, .class = bp->flags & 3 };
		}
		return 0;
	}
	struct bch_finding f = {
		.kind = BCH_F_bp_bad_value, .btree_id = BTREE_ID_backpointers,
		.pos = cur->k.p, .dev = cur->dev, .bucket = cur->bucket,
		.why = why ? why : "not a backpointer key",
	};
	return report(c, &f) ?: 1;
}

/* the backpointers of one bucket, kept while the bucket is walked */
struct bucket_bps {
	struct bch_check_bp	*v;
	size_t			nr, size;
};

static struct bch_check_bucket *push_bucket(struct bch_check *c, unsigned dev, uint64_t bucket,
					    const struct bch_alloc_v4 *a, struct bucket_bps *bb);

/*
 * A backpointer in no alloc key's bucket. On a missing device it is
 * reported now; otherwise only after the pointer scan: if a pointer wants
 * it, the bucket is in use and it is its alloc key that is missing.
 */
static int bp_orphan(struct bch_check *c, struct bp_cursor *cur)
{
	struct bch_backpointer bp;
	struct bch_check_bp *o;
	bool no_dev = cur->dev >= 256 || !c->geom.dev[cur->dev].exists;
	int ret = bp_decode_or_report(c, cur, &bp);

	if (ret)
		return ret > 0 ? 0 : ret;
	if (no_dev) {
		struct bch_finding f = {
			.kind = BCH_F_bp_no_device, .btree_id = BTREE_ID_backpointers,
			.pos = cur->k.p, .dev = cur->dev, .bucket = cur->bucket, .bp = bp,
		};

		ret = report(c, &f);
		if (ret)
			return ret;
	}
	o = PUSH(c, orphans);
	if (!o)
		return -BCH_ERR_NOMEM;
	*o = (struct bch_check_bp){
		.pos = cur->k.p, .bp = bp, .bucket = cur->bucket,
		.origin = no_dev ? BCH_BP_NO_DEVICE : BCH_BP_NO_ALLOC,
	};
	/* the pointer scan counts what points into it, to rebuild its key */
	if (no_dev || !bch_geom_bucket_valid(&c->geom, cur->dev, cur->bucket) ||
	    (c->nr_buckets && c->buckets[c->nr_buckets - 1].dev == cur->dev &&
	     c->buckets[c->nr_buckets - 1].bucket == cur->bucket))
		return 0;
	return push_bucket(c, cur->dev, cur->bucket, NULL, NULL) ? 0 : -BCH_ERR_NOMEM;
}

static bool bp_gen_wrong(const struct bch_check *c, const struct bch_backpointer *bp,
			 uint8_t gen)
{
	/* before 1.29 the word after the gen is padding that must be zero */
	if (c->geom.version < BCH_VERSION_1_29 && bp->flags)
		return true;
	return bp->bucket_gen != gen;
}

static int want_lru(struct bch_check *c, unsigned lru_id, uint64_t time,
		    unsigned dev, uint64_t bucket)
{
	return bch_lru_wants_add(&c->lru_wants, lru_id, time, dev, bucket,
				 bch_lru_frag_id(c->geom.version, dev),
				 dev < 256 ? c->geom.dev[dev].bucket_size : 0);
}

/* a bucket remembered for the pointer scan (its backpointers with it) */
static struct bch_check_bucket *push_bucket(struct bch_check *c, unsigned dev, uint64_t bucket,
					    const struct bch_alloc_v4 *a, struct bucket_bps *bb)
{
	struct bch_check_bucket *b = PUSH(c, buckets);

	if (!b)
		return NULL;
	*b = (struct bch_check_bucket){
		.dev = (uint8_t)dev, .bucket = bucket, .gen = a ? a->gen : 0,
		.data_type = a ? a->data_type : 0, .bp_first = c->nr_bps,
		.bp_nr = bb ? bb->nr : 0, .no_key = !a,
	};
	if (a) {
		b->a = *a;
		b->alloc[BCH_CTR_DIRTY] = a->dirty_sectors;
		b->alloc[BCH_CTR_CACHED] = a->cached_sectors;
		b->alloc[BCH_CTR_STRIPE] = a->stripe_sectors;
	}
	for (size_t i = 0; bb && i < bb->nr; i++) {
		struct bch_check_bp *p = PUSH(c, bps);

		if (!p)
			return NULL;
		*p = bb->v[i];
		p->bucket_idx = c->nr_buckets - 1;
	}
	return &c->buckets[c->nr_buckets - 1];
}

static int bucket_compare(struct bch_check *c, unsigned dev, uint64_t bucket,
			  const struct bch_alloc_v4 *a, struct bucket_bps *bb,
			  const uint64_t sums[BCH_CTR_NR], bool type_wrong)
{
	uint64_t alloc[BCH_CTR_NR] = { a->dirty_sectors, a->cached_sectors, a->stripe_sectors };
	bool more = false, less = false, empty = true;
	struct bch_check_bucket *b;
	int ret;

	for (unsigned i = 0; i < BCH_CTR_NR; i++) {
		more |= sums[i] > alloc[i];
		less |= sums[i] < alloc[i];
		empty &= !sums[i];
	}
	/*
	 * --full: every bucket with a key goes to the pointer scan (a pointer
	 * into a bucket that is not there then has no alloc key: a stray)
	 */
	if (!more && !less && !type_wrong && !c->full)
		return 0;

	if (more || less) {
		struct bch_finding f = {
			.kind = more ? BCH_F_bucket_bp_excess : BCH_F_bucket_bp_mismatch,
			.btree_id = BTREE_ID_alloc, .pos = BPOS(dev, bucket, 0), .dev = dev,
			.bucket = bucket, .empty = !more && empty, .alloc_gen = a->gen,
		};

		memcpy(f.bp_sectors, sums, sizeof(f.bp_sectors));
		memcpy(f.alloc_sectors, alloc, sizeof(f.alloc_sectors));
		if (!more) {
			ret = bch_bitmap_set(&c->mismatch[dev], bucket);
			if (!ret && empty)
				ret = bch_bitmap_set(&c->empty[dev], bucket);
			if (ret)
				return ret;
		}
		ret = report(c, &f);
		if (ret)
			return ret;
	}
	b = push_bucket(c, dev, bucket, a, bb);
	if (!b)
		return -BCH_ERR_NOMEM;
	b->excess = more;
	b->empty = !more && empty;
	b->type_wrong = type_wrong;
	memcpy(b->bp, sums, sizeof(b->bp));
	return 0;
}

/* sectors upstream accounts a bucket for: cached buckets their cached sectors */
static int64_t acct_sectors(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_cached ? a->cached_sectors
					       : (int64_t)a->dirty_sectors + a->stripe_sectors;
}

void bch_acct_bucket(int64_t v[BCH_DATA_NR][3], const struct bch_alloc_v4 *a,
		     int64_t bucket_size, int sign)
{
	int64_t d = acct_sectors(a);

	if (a->data_type >= BCH_DATA_NR)
		return;
	v[a->data_type][0] += sign;
	v[a->data_type][1] += sign * d;
	v[a->data_type][2] += sign * (d && d < bucket_size ? bucket_size - d : 0);
}

static void count_bucket(struct bch_check *c, unsigned dev, const struct bch_alloc_v4 *a)
{
	bch_acct_bucket(c->acct[dev].v, a, c->geom.dev[dev].bucket_size, 1);
	c->acct[dev].counted++;
}

/*
 * The superblock or journal bucket entry of dev:bucket, or -1. The walk
 * asks in bucket order, so the answer is at or just after the last one
 * (m->hint); a bucket before it is looked up from the start.
 */
static ssize_t meta_find(struct bch_check *c, unsigned dev, uint64_t bucket)
{
	struct bch_meta_buckets *m = &c->meta[dev];
	size_t lo = 0, hi = m->nr;

	if (m->hint < m->nr && (!m->hint || m->b[m->hint - 1] < bucket)) {
		while (m->hint < m->nr && m->b[m->hint] < bucket)
			m->hint++;
		return m->hint < m->nr && m->b[m->hint] == bucket ? (ssize_t)m->hint : -1;
	}
	if (m->hint >= m->nr && m->nr && m->b[m->nr - 1] < bucket)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->b[mid] < bucket)
			lo = mid + 1;
		else
			hi = mid;
	}
	m->hint = lo;
	return lo < m->nr && m->b[lo] == bucket ? (ssize_t)lo : -1;
}

/*
 * The alloc key a superblock or journal bucket must have: its type, the
 * sectors the superblock copies (or the whole journal bucket) take, and
 * nothing else counted; the rest of a stored key is kept. A new key gets
 * the flags and IO times of a fresh filesystem's (format.c).
 */
static struct bch_alloc_v4 meta_key(const struct bch_alloc_v4 *old, unsigned type,
				    uint32_t sectors)
{
	struct bch_alloc_v4 a = { 0 };

	if (old) {
		a = *old;
	} else {
		a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD | BCH_ALLOC_V4_FLAG_NEED_INC_GEN;
		a.io_time[0] = a.io_time[1] = 1;
	}
	a.flags = (a.flags & ~(0x3fu << BCH_ALLOC_V4_BP_START_SHIFT) & ~(0x3fu << 8)) |
		  BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;
	a.data_type = (uint8_t)type;
	a.dirty_sectors = sectors;
	a.cached_sectors = 0;
	a.stripe_sectors = 0;
	a.stripe = 0;
	return a;
}

static bool alloc_counters_equal(const struct bch_alloc_v4 *a, const struct bch_alloc_v4 *b)
{
	return a->dirty_sectors == b->dirty_sectors && a->cached_sectors == b->cached_sectors &&
	       a->stripe_sectors == b->stripe_sectors;
}

/* a superblock or journal bucket's key against what it must be */
static int check_meta_bucket(struct bch_check *c, unsigned dev, uint64_t bucket,
			     const struct bch_alloc_v4 *a, size_t i, struct bch_alloc_v4 *counted)
{
	const struct bch_meta_buckets *m = &c->meta[dev];
	struct bch_alloc_v4 want = meta_key(a, m->type[i], m->sectors[i]);
	struct bch_finding f = {
		.btree_id = BTREE_ID_alloc, .pos = BPOS(dev, bucket, 0), .dev = dev,
		.bucket = bucket, .alloc = *a, .alloc_new = want, .alloc_fix = true,
		.alloc_gen = a->gen, .data_type = m->type[i],
	};

	if (a->data_type == want.data_type && alloc_counters_equal(a, &want))
		return 0;
	if (!c->as_fixed)
		*counted = want;	/* the accounting counts the key as it will be */
	f.kind = alloc_counters_equal(a, &want) ? BCH_F_alloc_data_type_wrong
						: BCH_F_alloc_sectors_wrong;
	f.alloc_sectors[BCH_CTR_DIRTY] = a->dirty_sectors;
	f.alloc_sectors[BCH_CTR_CACHED] = a->cached_sectors;
	f.alloc_sectors[BCH_CTR_STRIPE] = a->stripe_sectors;
	f.ptr_sectors[BCH_CTR_DIRTY] = want.dirty_sectors;
	return push_correction(c, dev, bucket, &want) ?: report(c, &f);
}

/*
 * Does the stored data type agree with the counters and with what the
 * backpointers point from? (upstream refuses a key whose type is not the
 * one its counters imply, alloc_background.c; a user bucket marked btree
 * or the other way round shows only here)
 */
static bool alloc_type_agrees(const struct bch_check *c, const struct bch_alloc_v4 *a,
			      uint32_t bp_types)
{
	unsigned ptr_type = bp_types & (1u << BCH_DATA_btree) ? BCH_DATA_btree :
			    bp_types & (1u << BCH_DATA_user) ? BCH_DATA_user :
			    a->data_type == BCH_DATA_btree ? BCH_DATA_btree : BCH_DATA_user;
	struct bch_alloc_v4 t = *a;

	/*
	 * 1.38+: an empty bucket waits for a discard when its stored type
	 * says so; the NEED_DISCARD flag is still written but no longer read
	 * (upstream v1.39.2 fs/alloc/background.h, alloc_data_type)
	 */
	if (c->geom.version >= BCH_VERSION_1_38)
		t.flags = (t.flags & ~BCH_ALLOC_V4_FLAG_NEED_DISCARD) |
			  (t.data_type == BCH_DATA_need_discard ? BCH_ALLOC_V4_FLAG_NEED_DISCARD : 0);
	return a->data_type == bch_alloc_data_type_derived(&t, ptr_type);
}

/* one valid alloc key (as stored, or as corrected): its backpointers, sums, LRU wants */
static int check_bucket(struct bch_check *c, unsigned dev, uint64_t bucket,
			const struct bch_alloc_v4 *ap, struct bp_cursor *cur,
			struct bucket_bps *bb, struct bch_error *err)
{
	const struct bch_check_dev *d = &c->geom.dev[dev];
	const struct bch_alloc_v4 a = *ap;
	struct bch_alloc_v4 counted = a;
	uint64_t sums[BCH_CTR_NR] = { 0 };
	uint32_t bp_types = 0;
	ssize_t meta = meta_find(c, dev, bucket);
	bool checked;
	int ret;

	/* superblock, journal and parity buckets have no backpointer sums to compare */
	checked = meta < 0 && a.data_type != BCH_DATA_parity;
	if (meta >= 0) {
		c->meta[dev].seen[meta] = true;
		ret = check_meta_bucket(c, dev, bucket, &a, (size_t)meta, &counted);
		if (ret)
			return ret;
	}

	bb->nr = 0;
	while (1) {
		struct bch_backpointer bp;

		ret = bp_peek(c, cur, err);
		if (ret)
			return ret;
		if (!cur->have || cmp_dev_bucket(cur->dev, cur->bucket, dev, bucket) > 0)
			break;
		cur->have = false;
		ret = bp_decode_or_report(c, cur, &bp);
		if (ret < 0)
			return ret;
		if (ret || !checked)
			continue;
		if (bp_gen_wrong(c, &bp, a.gen)) {
			struct bch_finding f = {
				.kind = BCH_F_bp_wrong_gen, .btree_id = BTREE_ID_backpointers,
				.pos = cur->k.p, .dev = dev, .bucket = bucket, .bp = bp,
				.alloc_gen = a.gen,
			};
			ret = report(c, &f);
			if (ret)
				return ret;
			continue;
		}
		sums[bp_counter(bp.data_type)] += bp.bucket_len;
		if (bp.data_type < 32)
			bp_types |= 1u << bp.data_type;
		if (!BCH_VEC_PUSH(bb->v, bb->nr, bb->size))
			return -BCH_ERR_NOMEM;
		bb->v[bb->nr - 1] = (struct bch_check_bp){ .pos = cur->k.p, .bp = bp };
	}

	if (checked) {
		ret = bucket_compare(c, dev, bucket, &a, bb, sums,
				     !a.stripe && !alloc_type_agrees(c, &a, bp_types));
		if (ret)
			return ret;
	}

	count_bucket(c, dev, &counted);

	uint64_t frag = bch_alloc_lru_idx_fragmentation(&a, d->bucket_size);
	uint64_t read = bch_alloc_lru_idx_read(&a);

	ret = (frag ? want_lru(c, bch_lru_frag_id(c->geom.version, dev), frag, dev, bucket) : 0) ?:
	      (read ? want_lru(c, dev, read, dev, bucket) : 0);
	return ret;
}

struct meta_sort {
	uint64_t	b;
	uint32_t	sectors;
	uint8_t		type;
};

static int cmp_meta(const void *a, const void *b)
{
	const struct meta_sort *x = a, *y = b;

	return x->b < y->b ? -1 : x->b > y->b;
}

int bch_check_set_meta_buckets(struct bch_check *c, unsigned dev, const uint64_t *buckets,
			       const uint8_t *types, const uint32_t *sectors, size_t nr)
{
	struct bch_meta_buckets *m = &c->meta[dev];
	struct meta_sort *v = malloc((nr ? nr : 1) * sizeof(*v));
	size_t out = 0;

	if (dev >= 256 || !v) {
		free(v);
		return -BCH_ERR_NOMEM;
	}
	for (size_t i = 0; i < nr; i++)
		v[i] = (struct meta_sort){ buckets[i], sectors[i], types[i] };
	qsort(v, nr, sizeof(*v), cmp_meta);
	free(m->b);
	free(m->type);
	free(m->sectors);
	free(m->seen);
	m->b = malloc((nr ? nr : 1) * sizeof(*m->b));
	m->type = malloc(nr ? nr : 1);
	m->sectors = malloc((nr ? nr : 1) * sizeof(*m->sectors));
	m->seen = calloc(nr ? nr : 1, sizeof(*m->seen));
	if (!m->b || !m->type || !m->sectors || !m->seen) {
		free(v);
		return -BCH_ERR_NOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		if (out && m->b[out - 1] == v[i].b)
			continue;
		m->b[out] = v[i].b;
		m->sectors[out] = v[i].sectors;
		m->type[out++] = v[i].type;
	}
	m->nr = out;
	m->hint = 0;
	free(v);
	return 0;
}

/* superblock and journal buckets without alloc key: rebuilt from the layout */
static int meta_missing(struct bch_check *c)
{
	int ret = 0;

	for (unsigned d = 0; d < 256 && !ret; d++) {
		const struct bch_meta_buckets *m = &c->meta[d];

		for (size_t i = 0; i < m->nr && !ret; i++) {
			struct bch_finding f = {
				.kind = BCH_F_alloc_missing, .btree_id = BTREE_ID_alloc,
				.pos = BPOS(d, m->b[i], 0), .dev = d, .bucket = m->b[i],
				.data_type = m->type[i], .alloc_fix = true,
				.alloc_new = meta_key(NULL, m->type[i], m->sectors[i]),
			};

			if (m->seen[i] || !bch_geom_bucket_valid(&c->geom, d, m->b[i]))
				continue;
			ret = push_correction(c, d, m->b[i], &f.alloc_new) ?: report(c, &f);
			if (!ret && !c->as_fixed) {
				/* as the fixed key will count it */
				bch_acct_bucket(c->acct[d].v, &f.alloc_new,
						c->geom.dev[d].bucket_size, 1);
				c->acct[d].counted++;
			}
		}
	}
	return ret;
}

/* backpointers before bucket (dev, bucket) have no alloc key */
static int orphans_before(struct bch_check *c, struct bp_cursor *cur, unsigned dev,
			  uint64_t bucket, bool to_end, struct bch_error *err)
{
	int ret;

	while (!(ret = bp_peek(c, cur, err)) && cur->have &&
	       (to_end || cmp_dev_bucket(cur->dev, cur->bucket, dev, bucket) < 0)) {
		cur->have = false;
		ret = bp_orphan(c, cur);
		if (ret)
			break;
	}
	return ret;
}

/* one alloc key position: as stored (k) or as fixed (fix), or rebuilt (fix only) */
static int walk_one(struct bch_check *c, const struct bkey *k, const struct bch_alloc_fix *fix,
		    struct bp_cursor *cur, struct bucket_bps *bb, struct bch_error *err)
{
	unsigned dev = fix ? fix->dev : (unsigned)k->p.inode;
	uint64_t bucket = fix ? fix->bucket : k->p.offset;
	struct bch_alloc_v4 a;
	const char *why = NULL;
	int ret;

	if (!fix && bch_alloc_decode(k, &a, &why)) {
		struct bch_finding f = {
			.kind = BCH_F_alloc_bad_value, .btree_id = BTREE_ID_alloc,
			.pos = k->p, .dev = dev, .bucket = bucket, .why = why,
		};
		/*
		 * its repair deletes it: as if it were missing, its backpointers
		 * are orphans and a superblock or journal bucket's key is rebuilt
		 * (the rebuilt key wins over the deletion, key_updates.h)
		 */
		return report(c, &f) ?: orphans_before(c, cur, dev, bucket + 1, false, err);
	}
	if (fix)
		a = fix->a;
	bch_bitmap_set(&c->keyed[dev], bucket);
	if (c->on_alloc && (ret = c->on_alloc(c->on_alloc_ctx, dev, bucket, &a)))
		return ret;
	ret = orphans_before(c, cur, dev, bucket, false, err);
	return ret ?: check_bucket(c, dev, bucket, &a, cur, bb, err);
}

int bch_check_alloc_backpointers(struct bch_check *c, struct bch_key_src *alloc,
				 struct bch_key_src *bps, struct bch_error *err)
{
	struct bp_cursor cur = { .src = bps };
	struct bucket_bps bb = { 0 };
	size_t fi = 0;
	struct bkey ak;
	int ret;

	while ((ret = alloc->next(alloc->ctx, &ak, err)) > 0) {
		unsigned dev = ak.p.inode < 256 ? (unsigned)ak.p.inode : 256;
		const struct bch_alloc_fix *fix = NULL;

		c->stats.alloc_keys++;
		if (dev >= 256 || !bch_geom_bucket_valid(&c->geom, dev, ak.p.offset) ||
		    ak.p.snapshot) {
			struct bch_finding f = {
				.kind = BCH_F_alloc_invalid_bucket, .btree_id = BTREE_ID_alloc,
				.pos = ak.p, .dev = dev, .bucket = ak.p.offset,
			};

			ret = report(c, &f);
			if (ret)
				break;
			continue;
		}
		/* rebuilt keys of buckets before this one */
		ret = 0;
		for (; !ret && fi < c->nr_fixes &&
		       cmp_dev_bucket(c->fixes[fi].dev, c->fixes[fi].bucket, dev, ak.p.offset) < 0;
		     fi++)
			ret = walk_one(c, NULL, &c->fixes[fi], &cur, &bb, err);
		if (!ret && fi < c->nr_fixes &&
		    !cmp_dev_bucket(c->fixes[fi].dev, c->fixes[fi].bucket, dev, ak.p.offset))
			fix = &c->fixes[fi++];
		ret = ret ?: walk_one(c, &ak, fix, &cur, &bb, err);
		if (ret)
			break;
	}
	for (; !ret && fi < c->nr_fixes; fi++)
		ret = walk_one(c, NULL, &c->fixes[fi], &cur, &bb, err);
	if (!ret)
		ret = orphans_before(c, &cur, 0, 0, true, err);
	if (!ret)
		ret = meta_missing(c);
	free(bb.v);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory in the alloc/backpointers walk");
	return ret < 0 ? ret : 0;
}

/* ---- pass 2: LRU ---- */

/*
 * An LRU entry no alloc key calls for, and, for a bucket entry, the time
 * the alloc key of its bucket calls for in that LRU (0: none)
 */
struct lru_bad {
	struct bpos	pos;
	uint64_t	expected_time;
};

struct lru_walk {
	struct lru_bad	*bad;		/* in LRU order */
	size_t		nr_bad, bad_size;
	uint64_t	*found;		/* a bit per want, by ordinal */
};

/* order by (lru id, target) for "what time should this bucket have" */
static int cmp_bad_target(const void *a, const void *b)
{
	const struct lru_bad *x = *(const struct lru_bad * const *)a;
	const struct lru_bad *y = *(const struct lru_bad * const *)b;
	unsigned xid = bch_lru_pos_id(x->pos), yid = bch_lru_pos_id(y->pos);

	if (xid != yid)
		return xid < yid ? -1 : 1;
	return x->pos.offset < y->pos.offset ? -1 : x->pos.offset > y->pos.offset;
}

/*
 * Each bad entry's expected time: the wants read once more, each looked up
 * among the bad entries by (lru id, target)
 */
static int lru_expected_times(struct bch_check *c, struct lru_walk *lw)
{
	struct lru_bad **idx = malloc(lw->nr_bad * sizeof(*idx));
	struct bch_lru_wants_iter it;
	struct bpos p;
	size_t ord;

	if (!idx)
		return -BCH_ERR_NOMEM;
	for (size_t i = 0; i < lw->nr_bad; i++)
		idx[i] = &lw->bad[i];
	qsort(idx, lw->nr_bad, sizeof(*idx), cmp_bad_target);

	bch_lru_wants_iter_init(&it, &c->lru_wants);
	while (bch_lru_wants_next(&it, &p, &ord)) {
		struct lru_bad key = { .pos = p }, *kp = &key, **r;

		r = bsearch(&kp, idx, lw->nr_bad, sizeof(*idx), cmp_bad_target);
		if (!r)
			continue;
		/* every bad entry of that (id, target), they differ in time only */
		while (r > idx && !cmp_bad_target(r - 1, &kp))
			r--;
		for (; r < idx + lw->nr_bad && !cmp_bad_target(r, &kp); r++)
			(*r)->expected_time = bch_lru_pos_time(p);
	}
	free(idx);
	return 0;
}

/* an entry no alloc key calls for: what is wrong with it */
static int lru_entry_bad(struct bch_check *c, const struct lru_bad *b)
{
	struct bpos pos = b->pos;
	unsigned lru_id = bch_lru_pos_id(pos);
	uint64_t time = bch_lru_pos_time(pos);
	unsigned dev = bch_lru_pos_dev(pos);
	uint64_t bucket = bch_lru_pos_bucket(pos);
	struct bch_finding f = {
		.btree_id = BTREE_ID_lru, .pos = pos, .lru_id = lru_id, .time = time,
		.dev = dev, .bucket = bucket,
	};
	bool per_dev = c->geom.version >= BCH_VERSION_1_39;
	enum bch_lru_type type = bch_lru_id_type(lru_id);
	/* the fragmentation LRU copygc walks: per device from 1.39 */
	bool copygc_lru = per_dev ? type == BCH_LRU_fragmentation && lru_id != BCH_LRU_FRAGMENTATION
				  : lru_id == BCH_LRU_FRAGMENTATION;

	if (lru_id == BCH_LRU_STRIPES)
		return 0;	/* targets stripes, not buckets */
	/*
	 * 1.39: the fs-wide fragmentation LRU is obsolete; upstream's
	 * check_lrus deletes its entries (silently while the upgrade to 1.39
	 * is incomplete, as lru_entry_bad after: v1.39.2 fs/alloc/lru.c,
	 * bch2_check_lru_key)
	 */
	if (per_dev && lru_id == BCH_LRU_FRAGMENTATION) {
		f.kind = BCH_F_lru_obsolete;
		return report(c, &f);
	}
	if (!bch_geom_bucket_valid(&c->geom, dev, bucket)) {
		if (copygc_lru && dev < 256 && c->geom.dev[dev].exists &&
		    bucket >= c->geom.dev[dev].nbuckets) {
			struct bch_bad_lru *o = PUSH(c, oob_frag_lru);

			if (!o)
				return -BCH_ERR_NOMEM;
			*o = (struct bch_bad_lru){ .pos = pos, .dev = dev, .bucket = bucket };
		}
		f.kind = BCH_F_lru_invalid_bucket;
		return report(c, &f);
	}
	/*
	 * 1.39: a read or fragmentation entry must be in the LRU of its
	 * bucket's device (bch2_check_lru_key as above); ids nothing uses
	 * count as read LRU ids there
	 */
	if (per_dev) {
		unsigned want_id = type == BCH_LRU_fragmentation ? bch_lru_dev_frag_id(dev) : dev;

		if (lru_id != want_id) {
			f.kind = BCH_F_lru_wrong_dev;
			f.want_lru_id = want_id;
			return report(c, &f);
		}
	}
	f.kind = BCH_F_lru_wrong_time;
	f.expected_time = b->expected_time;
	return report(c, &f);
}

/* every want the walk did not find, in LRU order */
static int lru_report_missing(struct bch_check *c, const uint64_t *found)
{
	struct bch_lru_wants_iter it;
	struct bpos p;
	size_t ord;
	int ret = 0;

	bch_lru_wants_iter_init(&it, &c->lru_wants);
	while (!ret && bch_lru_wants_next(&it, &p, &ord)) {
		unsigned dev = bch_lru_pos_dev(p);
		uint64_t bucket = bch_lru_pos_bucket(p);
		struct bch_finding f = {
			.kind = BCH_F_lru_missing, .btree_id = BTREE_ID_alloc,
			.pos = BPOS(dev, bucket, 0), .dev = dev, .bucket = bucket,
			.lru_id = bch_lru_pos_id(p), .time = bch_lru_pos_time(p),
			.want_pos = p,
		};

		if (!(found[ord / 64] & (1ULL << (ord % 64))))
			ret = report(c, &f);
	}
	return ret;
}

/*
 * The LRU btree against what the alloc keys call for: both are in LRU
 * position order, so one merge; the entries nobody calls for are judged
 * after it, once their buckets' expected times are known, and reported
 * in LRU order, then the wants with no entry.
 */
int bch_check_lru(struct bch_check *c, struct bch_key_src *lru, struct bch_error *err)
{
	struct lru_walk lw = { 0 };
	struct bch_lru_wants_iter it;
	struct bpos want;
	size_t ord = 0;
	bool have;
	struct bkey k;
	int ret;

	lw.found = calloc(c->lru_wants.nr / 64 + 1, sizeof(*lw.found));
	if (!lw.found)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	bch_lru_wants_iter_init(&it, &c->lru_wants);
	have = bch_lru_wants_next(&it, &want, &ord);

	while ((ret = lru->next(lru->ctx, &k, err)) > 0) {
		int cmp = -1;

		c->stats.lru_keys++;
		while (have && (cmp = bpos_cmp(want, k.p)) < 0)
			have = bch_lru_wants_next(&it, &want, &ord);
		if (have && !cmp) {
			lw.found[ord / 64] |= 1ULL << (ord % 64);
			have = bch_lru_wants_next(&it, &want, &ord);
			continue;
		}
		struct lru_bad *b = BCH_VEC_PUSH(lw.bad, lw.nr_bad, lw.bad_size);

		if (!b) {
			ret = -BCH_ERR_NOMEM;
			break;
		}
		*b = (struct lru_bad){ .pos = k.p };
	}
	if (!ret && lw.nr_bad)
		ret = lru_expected_times(c, &lw);
	for (size_t i = 0; !ret && i < lw.nr_bad; i++)
		ret = lru_entry_bad(c, &lw.bad[i]);
	if (!ret)
		ret = lru_report_missing(c, lw.found);
	free(lw.bad);
	free(lw.found);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory in the LRU check");
	return ret < 0 ? ret : 0;
}

/* ---- pass 3: pointers ---- */

bool bch_check_need_ptr_scan(const struct bch_check *c)
{
	return c->nr_buckets || c->nr_orphans || c->hunt_strays;
}

static struct bch_check_bucket *find_bucket(struct bch_check *c, unsigned dev, uint64_t bucket)
{
	size_t lo = 0, hi = c->nr_buckets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = cmp_dev_bucket(c->buckets[mid].dev, c->buckets[mid].bucket, dev, bucket);

		if (!cmp)
			return &c->buckets[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct bch_check_bp *find_bp(struct bch_check_bp *v, size_t nr, struct bpos p)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = bpos_cmp(v[mid].pos, p);

		if (!cmp)
			return &v[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool bp_fields_equal(const struct bch_check *c, const struct bch_backpointer *a,
			    const struct bch_backpointer *b)
{
	return a->btree_id == b->btree_id && a->level == b->level &&
	       a->data_type == b->data_type && a->bucket_gen == b->bucket_gen &&
	       a->bucket_len == b->bucket_len && bpos_eq(a->pos, b->pos) &&
	       (c->geom.version < BCH_VERSION_1_29 || a->flags == b->flags);
}

static int report_ptr_gen(struct bch_check *c, const struct bch_extent_ptr *p, uint64_t bucket,
			  uint8_t bucket_gen, const struct bch_backpointer *want)
{
	struct bch_finding f = {
		.kind = BCH_F_ptr_gen_mismatch, .btree_id = want->btree_id,
		.pos = want->pos, .dev = p->dev, .bucket = bucket,
		.alloc_gen = bucket_gen, .ptr_gen = p->gen, .bp = *want,
		.ptr = *p,
	};

	return report(c, &f);
}

static void count_ptr(uint64_t sums[BCH_CTR_NR], uint32_t *types,
		      const struct bch_backpointer *want)
{
	sums[bp_counter(want->data_type)] += want->bucket_len;
	if (want->data_type < 32)
		*types |= 1u << want->data_type;
}

/*
 * A pointer of another generation than its bucket's. A dirty pointer
 * newer than the bucket, or a btree node pointer of any other generation,
 * says what the bucket's generation should be (upstream raises the bucket
 * to a newer dirty pointer, and keeps btree node pointers, setting their
 * generation to the bucket's: buckets.c); what such pointers add up to is
 * counted apart, for the key rebuilt at that generation. Older dirty data
 * pointers are stale: upstream drops them from their extent. Cached
 * pointers newer than the bucket are dropped too.
 */
static int ptr_other_gen(struct bch_check *c, struct bch_check_bucket *b,
			 const struct bch_extent_ptr *p, uint64_t bucket,
			 const struct bch_backpointer *want)
{
	bool newer = bch_gen_cmp(p->gen, b->gen) > 0;

	b->ptr_gen_mismatch = true;
	if (!p->cached && (newer || want->level)) {
		if (!b->has_newer || bch_gen_cmp(p->gen, b->newer_gen) > 0) {
			b->has_newer = true;
			b->newer_gen = p->gen;
			memset(b->ptr_newer, 0, sizeof(b->ptr_newer));
			b->ptr_types_newer = 0;
		}
		if (p->gen == b->newer_gen)
			count_ptr(b->ptr_newer, &b->ptr_types_newer, want);
	}
	return report_ptr_gen(c, p, bucket, b->gen, want);
}

/* a pointer into a bucket without alloc key: the first dirty one gives the generation */
static int no_key_ptr(struct bch_check *c, struct bch_check_bucket *b,
		      const struct bch_extent_ptr *p, uint64_t bucket,
		      const struct bch_backpointer *want)
{
	if (!b->gen_known && !p->cached) {
		b->gen = p->gen;
		b->gen_known = true;
	}
	if (!b->gen_known || p->gen != b->gen)
		return b->gen_known ? ptr_other_gen(c, b, p, bucket, want) : 0;
	count_ptr(b->ptr, &b->ptr_types, want);
	return 0;
}

/* one pointer and the backpointer it needs */
static int check_ptr(struct bch_check *c, const struct bch_extent_ptr *p, struct bpos bp_pos,
		     const struct bch_backpointer *want)
{
	const struct bch_check_dev *d;
	struct bch_check_bucket *b;
	struct bch_check_bp *have;
	uint64_t bucket;

	c->stats.ptrs_scanned++;
	if (p->dev == BCH_SB_MEMBER_INVALID || !c->geom.dev[p->dev].exists)
		return 0;
	d = &c->geom.dev[p->dev];
	bucket = p->offset / d->bucket_size;

	if (c->nr_orphans) {
		have = find_bp(c->orphans, c->nr_orphans, bp_pos);
		if (have && bp_fields_equal(c, &have->bp, want))
			have->matched = true;
	}
	b = find_bucket(c, p->dev, bucket);
	if (!b && bucket >= d->first_bucket && bucket < d->nbuckets &&
	    (c->full || bch_bitmap_test(&c->keyed[p->dev], bucket) <= 0)) {
		struct bch_stray_ptr *s = PUSH(c, strays);

		if (!s)
			return -BCH_ERR_NOMEM;
		*s = (struct bch_stray_ptr){
			.dev = p->dev, .bucket = bucket, .ptr = *p, .want = *want,
		};
		return 0;
	}
	if (!b)
		return 0;
	if (b->no_key)	/* its backpointers are orphans, matched above */
		return no_key_ptr(c, b, p, bucket, want);
	/* stale cached pointers count for nothing and need no backpointer */
	if (p->cached && bch_gen_cmp(b->gen, p->gen) > 0)
		return 0;
	if (p->gen != b->gen)
		return ptr_other_gen(c, b, p, bucket, want);
	count_ptr(b->ptr, &b->ptr_types, want);

	/* c->bps is NULL while no backpointer was kept: no offset from it */
	have = b->bp_nr ? find_bp(c->bps + b->bp_first, b->bp_nr, bp_pos) : NULL;
	if (have && bp_fields_equal(c, &have->bp, want)) {
		have->matched = true;
		return 0;
	}

	struct bch_finding f = {
		.kind = have ? BCH_F_bp_fields_wrong : BCH_F_bp_missing,
		.btree_id = BTREE_ID_backpointers, .pos = bp_pos, .dev = p->dev,
		.bucket = bucket, .bp = have ? have->bp : *want, .want = *want,
		.alloc_gen = b->gen,
	};
	if (have)
		have->explained = true;
	return report(c, &f);
}

/* work class of a 1.33+ reconcile entry: 0 none/pending, 1 hipri, 2 normal */
static unsigned reconcile_class(uint64_t w)
{
	unsigned need_rb = (unsigned)bits64(w, 17, 22);

	if (!need_rb || bits64(w, 16, 17))
		return 0;
	return bits64(w, 15, 16) ? 1 : 2;
}

struct ptr_walk {
	const struct bch_check_geom *g;
	bch_bp_fn		fn;
	void			*ctx;
	unsigned		btree_id;
	unsigned		level;
	const struct bkey	*k;
	unsigned		live;		/* sectors of the key */
	unsigned		flags;		/* expected backpointer flags */
};

static int data_ptr(struct ptr_walk *w, const struct bch_extent_ptr *p,
		    const struct bch_extent_crc *crc, bool stripe)
{
	const struct bch_check_geom *g = w->g;
	struct bch_backpointer want = {
		.btree_id	= (uint8_t)w->btree_id,
		.level		= 0,
		.data_type	= p->cached ? BCH_DATA_cached : stripe ? BCH_DATA_stripe : BCH_DATA_user,
		.bucket_gen	= p->gen,
		.bucket_len	= bch_ptr_disk_sectors(w->live, crc->width ? crc : NULL),
		.pos		= w->k->p,
	};

	if (p->dev != BCH_SB_MEMBER_INVALID && g->dev[p->dev].rotational &&
	    g->version >= BCH_VERSION_RECONCILE)
		want.flags = w->flags;
	return w->fn(w->ctx, p, bch_ptr_to_bp_pos(p->dev, p->offset,
						  crc->width ? crc->offset : 0, g->bp_shift),
		     &want);
}

/* extent and reflink_v entries: a crc applies to the pointers after it */
static int data_entries(struct ptr_walk *w, const uint8_t *p, const uint8_t *end)
{
	struct bch_extent_crc crc = { 0 };
	struct bch_extent_entry e;
	struct bch_extent_ptr pending;
	bool have_pending = false;
	const uint8_t *q;
	int ret;

	/* the reconcile entry anywhere in the key decides the flags */
	for (q = p; q < end; q += e.bytes) {
		if (!bch_extent_entry_decode(q, (unsigned)(end - q), &e))
			break;
		if (e.type == BCH_EXTENT_ENTRY_reconcile)
			w->flags = reconcile_class(e.word);
	}
	for (; p < end; p += e.bytes) {
		if (!bch_extent_entry_decode(p, (unsigned)(end - p), &e))
			break;	/* invalid entries are another pass's business */
		if (have_pending) {
			ret = data_ptr(w, &pending, &crc, e.type == BCH_EXTENT_ENTRY_stripe_ptr);
			if (ret)
				return ret;
			have_pending = false;
		}
		if (e.type == BCH_EXTENT_ENTRY_ptr) {
			pending = e.ptr;
			have_pending = true;
		} else if (e.type >= BCH_EXTENT_ENTRY_crc32 && e.type <= BCH_EXTENT_ENTRY_crc128) {
			crc = e.crc;
		}
	}
	return have_pending ? data_ptr(w, &pending, &crc, false) : 0;
}

static int node_ptrs(struct ptr_walk *w)
{
	struct bch_btree_ptr_info info;
	int ret;

	if (bch_btree_ptr_decode(w->k, &info))
		return 0;
	for (unsigned i = 0; i < info.nr_ptrs; i++) {
		const struct bch_extent_ptr *p = &info.ptrs[i];
		struct bch_backpointer want = {
			.btree_id	= (uint8_t)w->btree_id,
			.level		= (uint8_t)w->level,
			.data_type	= BCH_DATA_btree,
			.bucket_gen	= p->gen,
			.bucket_len	= w->g->btree_node_size,
			.pos		= w->k->p,
		};

		ret = w->fn(w->ctx, p, bch_ptr_to_bp_pos(p->dev, p->offset, 0, w->g->bp_shift),
			    &want);
		if (ret)
			return ret;
	}
	return 0;
}

/* stripe value: header, nr_blocks pointers; the last nr_redundant are parity */
static int stripe_ptrs(struct ptr_walk *w)
{
	const struct bkey *k = w->k;
	unsigned sectors, nr_blocks, nr_redundant;
	int ret;

	if (k->val_bytes < 8)
		return 0;
	sectors = get_le16(k->val);
	nr_blocks = k->val[3];
	nr_redundant = k->val[4];
	if (8 + (size_t)nr_blocks * 8 > k->val_bytes || nr_redundant > nr_blocks)
		return 0;
	for (unsigned i = 0; i < nr_blocks; i++) {
		struct bch_extent_entry e;
		struct bch_backpointer want;

		if (!bch_extent_entry_decode(k->val + 8 + i * 8, 8, &e) ||
		    e.type != BCH_EXTENT_ENTRY_ptr)
			continue;
		want = (struct bch_backpointer){
			.btree_id	= BTREE_ID_stripes,
			.level		= 0,
			.data_type	= i >= nr_blocks - nr_redundant ? BCH_DATA_parity : BCH_DATA_user,
			.bucket_gen	= e.ptr.gen,
			.bucket_len	= 0,
			.pos		= k->p,
		};
		ret = w->fn(w->ctx, &e.ptr,
			    bch_stripe_ptr_to_bp_pos(e.ptr.dev, e.ptr.offset, sectors,
						     w->g->bp_shift), &want);
		if (ret)
			return ret;
	}
	return 0;
}

int bch_key_backpointers(const struct bch_check_geom *g, unsigned btree_id, unsigned level,
			 const struct bkey *k, bch_bp_fn fn, void *ctx)
{
	struct ptr_walk w = {
		.g = g, .fn = fn, .ctx = ctx, .btree_id = btree_id, .level = level, .k = k,
		.live = k->size,
	};
	int ret = 0;

	if (level) {
		if (k->type == KEY_TYPE_btree_ptr || k->type == KEY_TYPE_btree_ptr_v2)
			ret = node_ptrs(&w);
	} else if (k->type == KEY_TYPE_extent) {
		ret = data_entries(&w, k->val, k->val + k->val_bytes);
	} else if (k->type == KEY_TYPE_reflink_v && k->val_bytes >= 8) {
		ret = data_entries(&w, k->val + 8, k->val + k->val_bytes);
	} else if (k->type == KEY_TYPE_stripe && btree_id == BTREE_ID_stripes) {
		ret = stripe_ptrs(&w);
	}
	return ret;
}

static int check_ptr_fn(void *ctx, const struct bch_extent_ptr *p, struct bpos bp_pos,
			const struct bch_backpointer *want)
{
	return check_ptr(ctx, p, bp_pos, want);
}

int bch_check_ptr_key(struct bch_check *c, unsigned btree_id, unsigned level,
		      const struct bkey *k, struct bch_error *err)
{
	int ret;

	c->stats.keys_scanned++;
	ret = bch_key_backpointers(&c->geom, btree_id, level, k, check_ptr_fn, c);
	if (ret == -BCH_ERR_NOMEM)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory in the pointer scan");
	return ret;
}

static int report_dangling(struct bch_check *c, const struct bch_check_bp *bp,
			   const struct bch_check_bucket *b)
{
	struct bch_finding f = {
		.kind = BCH_F_bp_no_target, .btree_id = BTREE_ID_backpointers,
		.pos = bp->pos, .dev = (unsigned)bp->pos.inode, .bp = bp->bp,
		.bucket = b ? b->bucket : 0,
	};
	int ret = report(c, &f);

	if (ret || !b || !b->excess)
		return ret;
	f.kind = BCH_F_bucket_bp_excess_no_target;
	return report(c, &f);
}

static int report_orphan(struct bch_check *c, const struct bch_check_bp *o,
			 const struct bch_check_bp *prev)
{
	unsigned dev = (unsigned)o->pos.inode;

	if (o->origin == BCH_BP_NO_DEVICE)
		return o->matched ? 0 : report_dangling(c, o, NULL);
	if (o->matched) {
		/* a bucket in use without alloc key: once per bucket */
		struct bch_finding f = {
			.kind = BCH_F_alloc_missing, .btree_id = BTREE_ID_alloc,
			.pos = BPOS(dev, o->bucket, 0), .dev = dev, .bucket = o->bucket,
			.why = "the bucket is not on its device",
		};

		/* reported with the key rebuilt for it */
		if (find_bucket(c, dev, o->bucket))
			return 0;
		if (prev && prev->origin == BCH_BP_NO_ALLOC && prev->matched &&
		    prev->pos.inode == o->pos.inode && prev->bucket == o->bucket)
			return 0;
		if (dev < 256)
			c->alloc_missing[dev]++;
		return report(c, &f);
	}
	struct bch_finding f = {
		.kind = BCH_F_bp_no_alloc_key, .btree_id = BTREE_ID_backpointers,
		.pos = o->pos, .dev = dev, .bucket = o->bucket, .bp = o->bp,
	};
	int ret = report(c, &f);

	return ret ?: report_dangling(c, o, NULL);
}

const char *bch_check_bucket_truth(const struct bch_check *c, const struct bch_check_bucket *b,
				   struct bch_alloc_v4 *out)
{
	const uint64_t *ptr = b->has_newer ? b->ptr_newer : b->ptr;
	uint32_t types = b->has_newer ? b->ptr_types_newer : b->ptr_types;
	uint64_t bucket_size = c->geom.dev[b->dev].bucket_size;
	struct bch_alloc_v4 a = b->a;

	if (b->no_key) {
		/* as a bucket looks once allocated (format.c's fresh keys for the times) */
		memset(&a, 0, sizeof(a));
		a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD | BCH_ALLOC_V4_FLAG_NEED_INC_GEN |
			  BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;
		a.io_time[0] = a.io_time[1] = 1;
	}
	if (ptr[BCH_CTR_STRIPE] != a.stripe_sectors || a.stripe)
		return "stripe buckets are not corrected by this tool";
	if ((types & (1u << BCH_DATA_btree)) && (types & ~(1u << BCH_DATA_btree)))
		return "btree nodes and other data point into one bucket";
	if (ptr[BCH_CTR_DIRTY] + a.stripe_sectors > bucket_size ||
	    ptr[BCH_CTR_CACHED] > bucket_size)
		return "the pointers add up to more than the bucket holds";
	a.gen = b->has_newer ? b->newer_gen : b->gen;
	if (bch_gen_cmp(a.oldest_gen, a.gen) > 0)
		a.oldest_gen = a.gen;
	a.dirty_sectors = (uint32_t)ptr[BCH_CTR_DIRTY];
	a.cached_sectors = (uint32_t)ptr[BCH_CTR_CACHED];
	a.data_type = (uint8_t)bch_alloc_data_type_derived(&a, types & (1u << BCH_DATA_btree) ?
							   BCH_DATA_btree : BCH_DATA_user);
	*out = a;
	return NULL;
}

/* the bucket's alloc key against what its pointers say */
static int bucket_truth(struct bch_check *c, const struct bch_check_bucket *b)
{
	const uint64_t *ptr = b->has_newer ? b->ptr_newer : b->ptr;
	unsigned size = c->geom.dev[b->dev].bucket_size;
	struct bch_finding f = {
		.btree_id = BTREE_ID_alloc, .pos = BPOS(b->dev, b->bucket, 0), .dev = b->dev,
		.bucket = b->bucket, .alloc_gen = b->gen, .alloc = b->a,
		.ptr_gen_mismatch = b->ptr_gen_mismatch,
	};
	const char *why = bch_check_bucket_truth(c, b, &f.alloc_new);
	bool counters;
	int ret;

	if (b->no_key && !b->gen_known)
		return 0;	/* nothing points into it: its backpointers are dangling */
	memcpy(f.alloc_sectors, b->alloc, sizeof(f.alloc_sectors));
	memcpy(f.ptr_sectors, ptr, sizeof(f.ptr_sectors));
	memcpy(f.bp_sectors, b->bp, sizeof(f.bp_sectors));
	counters = memcmp(b->alloc, ptr, sizeof(b->alloc));
	if (b->no_key)
		f.kind = BCH_F_alloc_missing;
	else if (counters)
		f.kind = BCH_F_alloc_sectors_wrong;
	else if (why)
		return 0;
	else if (f.alloc_new.data_type != b->a.data_type)
		f.kind = BCH_F_alloc_data_type_wrong;
	else if (f.alloc_new.gen != b->a.gen)
		f.kind = BCH_F_alloc_gen_wrong;
	else
		return 0;
	f.why = why;
	f.alloc_fix = !why;
	if (why) {
		if (b->no_key)
			c->alloc_missing[b->dev]++;
		return report(c, &f);
	}
	ret = push_correction(c, b->dev, b->bucket, &f.alloc_new);
	if (ret)
		return ret;
	/* the accounting pass counts the keys as they will be */
	if (c->as_fixed)
		return report(c, &f);
	if (b->no_key)
		c->acct[b->dev].counted++;
	else
		bch_acct_bucket(c->acct[b->dev].v, &b->a, size, -1);
	bch_acct_bucket(c->acct[b->dev].v, &f.alloc_new, size, 1);
	return report(c, &f);
}

static int cmp_stray(const void *a, const void *b)
{
	const struct bch_stray_ptr *x = a, *y = b;

	return cmp_dev_bucket(x->dev, x->bucket, y->dev, y->bucket);
}

/*
 * --full: buckets in use with neither alloc key nor backpointers, their
 * keys rebuilt from the pointers into them (their backpointers follow
 * from the check run again over the rebuilt keys)
 */
static int stray_buckets(struct bch_check *c)
{
	int ret = 0;

	if (c->nr_strays)
		qsort(c->strays, c->nr_strays, sizeof(*c->strays), cmp_stray);
	for (size_t i = 0, j; i < c->nr_strays && !ret; i = j) {
		struct bch_check_bucket b = {
			.dev = c->strays[i].dev, .bucket = c->strays[i].bucket, .no_key = true,
		};

		for (j = i; j < c->nr_strays && !cmp_stray(&c->strays[i], &c->strays[j]) && !ret; j++)
			ret = no_key_ptr(c, &b, &c->strays[j].ptr, b.bucket, &c->strays[j].want);
		if (!ret)
			ret = bucket_truth(c, &b);
	}
	return ret;
}

int bch_check_ptrs_finish(struct bch_check *c, struct bch_error *err)
{
	int ret = 0;

	c->ptrs_scanned = true;
	(void)err;
	ret = stray_buckets(c);
	for (size_t i = 0; i < c->nr_buckets && !ret; i++) {
		const struct bch_check_bucket *b = &c->buckets[i];

		for (size_t j = 0; j < b->bp_nr && !ret; j++) {
			const struct bch_check_bp *bp = &c->bps[b->bp_first + j];

			if (!bp->matched && !bp->explained)
				ret = report_dangling(c, bp, b);
		}
		if (!ret)
			ret = bucket_truth(c, b);
	}
	for (size_t i = 0; i < c->nr_orphans && !ret; i++)
		ret = report_orphan(c, &c->orphans[i], i ? &c->orphans[i - 1] : NULL);
	if (c->nr_corrections)
		qsort(c->corrections, c->nr_corrections, sizeof(*c->corrections), cmp_fix);
	return ret < 0 ? ret : 0;
}

int bch_check_report_orphans_unverified(struct bch_check *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_orphans && !ret; i++) {
		const struct bch_check_bp *o = &c->orphans[i];
		struct bch_finding f = {
			.kind = BCH_F_bp_no_alloc_key, .btree_id = BTREE_ID_backpointers,
			.pos = o->pos, .dev = (unsigned)o->pos.inode, .bucket = o->bucket,
			.bp = o->bp,
		};

		if (o->origin == BCH_BP_NO_ALLOC)
			ret = report(c, &f);
	}
	return ret < 0 ? ret : 0;
}

/* ---- pass 4: bucket indexes ---- */

static int check_index_key(struct bch_check *c, unsigned btree_id, const struct bkey *k)
{
	unsigned dev = k->p.inode < 256 ? (unsigned)k->p.inode : 256;
	const struct bch_check_dev *d = dev < 256 ? &c->geom.dev[dev] : NULL;
	struct bch_finding f = {
		.btree_id = btree_id, .pos = k->p, .dev = dev, .key_size = k->size,
	};

	if (btree_id == BTREE_ID_freespace) {
		uint64_t end = bch_freespace_offset_bucket(k->p.offset);
		uint64_t start = k->size <= k->p.offset ?
			bch_freespace_offset_bucket(k->p.offset - k->size) : 0;

		/*
		 * an extent of no buckets, or of more than its position: a key
		 * upstream's validation refuses (btree/bkey_methods.c), which
		 * would otherwise hide inside a run of free buckets
		 */
		if (!k->size || k->size > k->p.offset) {
			f.kind = BCH_F_freespace_key_bad;
			f.bucket = end;
			return report(c, &f);
		}
		f.kind = BCH_F_freespace_invalid_bucket;
		f.bucket = start;
		if (!d || !d->exists || start < d->first_bucket || end > d->nbuckets)
			return report(c, &f);
		return 0;
	}
	if (btree_id == BTREE_ID_need_discard) {
		f.kind = BCH_F_need_discard_invalid_bucket;
		bch_need_discard_key_bucket(c->geom.version, k->p, &f.dev, &f.bucket);
		if (!bch_geom_bucket_valid(&c->geom, f.dev, f.bucket))
			return report(c, &f);
		return 0;
	}
	/* bucket_gens: 256 gens per key */
	f.bucket = k->p.offset << 8;
	if (!d || !d->exists) {
		f.kind = BCH_F_bucket_gens_invalid_dev;
		return report(c, &f);
	}
	if (k->p.offset > (d->nbuckets - 1) >> 8) {
		f.kind = BCH_F_bucket_gens_invalid_bucket;
		return report(c, &f);
	}
	for (unsigned i = 0; i < 256 && i < k->val_bytes; i++) {
		uint64_t b = (k->p.offset << 8) + i;

		if (k->val[i] && (b < d->first_bucket || b >= d->nbuckets)) {
			f.kind = BCH_F_bucket_gens_nonzero_invalid;
			f.bucket = b;
			f.rebuildable = true;	/* written anew from the alloc keys */
			return report(c, &f);
		}
	}
	return 0;
}

int bch_check_bucket_index(struct bch_check *c, unsigned btree_id,
			   struct bch_key_src *src, struct bch_error *err)
{
	struct bkey k;
	int ret;

	while ((ret = src->next(src->ctx, &k, err)) > 0) {
		if (k.type != KEY_TYPE_set && k.type != KEY_TYPE_bucket_gens)
			continue;
		ret = check_index_key(c, btree_id, &k);
		if (ret)
			break;
	}
	return ret < 0 ? ret : 0;
}

/* ---- pass 4: the indexes agree with the alloc keys ---- */

/* a run [start, end) of freespace (or need_discard) offsets on one device */
struct index_run {
	uint64_t	dev, start, end;
};

/* the run a key covers: an extent of freespace offsets, or one need_discard bucket */
static struct index_run key_run(const struct bch_check *c, unsigned btree_id,
				const struct bkey *k)
{
	if (btree_id == BTREE_ID_need_discard) {
		unsigned dev;
		uint64_t b;

		bch_need_discard_key_bucket(c->geom.version, k->p, &dev, &b);
		return (struct index_run){ dev, b, b + 1 };
	}
	return (struct index_run){ k->p.inode,
				   k->p.offset >= k->size ? k->p.offset - k->size : 0,
				   k->p.offset };
}

static bool run_in_device(const struct bch_check *c, const struct index_run *r,
			  const bool *indexed)
{
	const struct bch_check_dev *d = r->dev < 256 ? &c->geom.dev[r->dev] : NULL;

	return d && d->exists && indexed[r->dev] &&
	       bch_freespace_offset_bucket(r->start) >= d->first_bucket &&
	       bch_freespace_offset_bucket(r->end - 1) < d->nbuckets;
}

/* the next run of a stream, adjacent runs of one device merged; 0 at the end */
struct run_stream {
	const struct bch_key_updates	*u;
	size_t				i;
	unsigned			btree_id;
	struct bch_key_src		*src;
	struct index_run		next;
	bool				has_next, done;
	struct bpos			pos;	/* of the last key stream_key() gave */
};

static int stream_key(struct run_stream *s, const struct bch_check *c, const bool *indexed,
		      struct index_run *r, struct bch_error *err)
{
	struct bkey k;
	int ret;

	while (1) {
		if (s->u) {
			if (s->i >= s->u->nr)
				return 0;
			const struct bch_key_update *x = &s->u->v[s->i++];

			if (x->btree_id != s->btree_id || x->level)
				continue;
			bch_bkey_read_unpacked(x->bytes, &k);
		} else {
			ret = s->src->next(s->src->ctx, &k, err);
			if (ret <= 0)
				return ret;
		}
		if (k.type != KEY_TYPE_set)
			continue;
		*r = key_run(c, s->btree_id, &k);
		s->pos = k.p;
		if (r->end > r->start && run_in_device(c, r, indexed))
			return 1;
	}
}

static int stream_next(struct run_stream *s, const struct bch_check *c, const bool *indexed,
		       struct index_run *out, struct bch_error *err)
{
	struct index_run r;
	int ret;

	if (s->done)
		return 0;
	if (!s->has_next) {
		ret = stream_key(s, c, indexed, &s->next, err);
		if (ret <= 0) {
			s->done = true;
			return ret;
		}
	}
	*out = s->next;
	s->has_next = false;
	while ((ret = stream_key(s, c, indexed, &r, err)) > 0) {
		if (r.dev == out->dev && r.start <= out->end) {
			if (r.end > out->end)
				out->end = r.end;
			continue;
		}
		s->next = r;
		s->has_next = true;
		return 1;
	}
	if (ret < 0)
		return ret;
	s->done = true;
	return 1;
}

static int report_run(struct bch_check *c, unsigned btree_id, uint64_t dev, uint64_t start,
		      uint64_t end, bool missing)
{
	struct bch_finding f = {
		.kind = btree_id == BTREE_ID_freespace ? BCH_F_freespace_wrong
						       : BCH_F_need_discard_wrong,
		.btree_id = btree_id, .dev = (unsigned)dev,
		.pos = BPOS(dev, btree_id == BTREE_ID_freespace ? end : start, 0),
		.bucket = bch_freespace_offset_bucket(start),
		.key_size = end - start > UINT32_MAX ? UINT32_MAX : (uint32_t)(end - start),
		.time = missing, .rebuildable = true,
	};

	return report(c, &f);
}

/* 1.38+: one need_discard key at p (bucket r->start) missing, or there for nothing */
static int report_key(struct bch_check *c, struct bpos p, const struct index_run *r, bool missing)
{
	struct bch_finding f = {
		.kind = BCH_F_need_discard_wrong, .btree_id = BTREE_ID_need_discard,
		.dev = (unsigned)r->dev, .pos = p, .bucket = r->start, .key_size = 1,
		.time = missing, .rebuildable = true, .one_key = true,
	};

	return report(c, &f);
}

/* runs a and b of one device: report [from, to) where only one of them covers */
static int diff_runs(struct bch_check *c, unsigned btree_id, const struct index_run *w,
		     const struct index_run *h)
{
	uint64_t lo = w->start < h->start ? w->start : h->start;
	uint64_t hi = w->end > h->end ? w->end : h->end;
	uint64_t ilo = w->start > h->start ? w->start : h->start;
	uint64_t ihi = w->end < h->end ? w->end : h->end;
	int ret = 0;

	if (ilo >= ihi)	/* disjoint: both whole */
		return report_run(c, btree_id, w->dev, w->start, w->end, true) ?:
		       report_run(c, btree_id, h->dev, h->start, h->end, false);
	if (lo < ilo)
		ret = report_run(c, btree_id, w->dev, lo, ilo, w->start == lo);
	if (!ret && ihi < hi)
		ret = report_run(c, btree_id, w->dev, ihi, hi, w->end == hi);
	return ret;
}

static int run_cmp(const struct index_run *a, const struct index_run *b)
{
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->end <= b->start)
		return -1;
	if (b->end <= a->start)
		return 1;
	return 0;	/* they overlap */
}

/*
 * 1.38+: need_discard keys are ordered by journal sequence number, not by
 * bucket, so they are compared key by key: a key where the alloc key
 * wants none (or at another sequence number) and the other way round
 */
static int discard_keys_agree(struct bch_check *c, const bool *indexed,
			      struct run_stream *ws, struct run_stream *hs, struct bch_error *err)
{
	struct index_run w, h;
	int wr, hr, ret = 0;

	wr = stream_key(ws, c, indexed, &w, err);
	hr = wr < 0 ? 0 : stream_key(hs, c, indexed, &h, err);
	while (!ret && wr >= 0 && hr >= 0 && (wr > 0 || hr > 0)) {
		int cmp = wr <= 0 ? 1 : hr <= 0 ? -1 : bpos_cmp(ws->pos, hs->pos);

		if (cmp)
			ret = cmp < 0 ? report_key(c, ws->pos, &w, true)
				      : report_key(c, hs->pos, &h, false);
		if (!ret && cmp <= 0)
			wr = stream_key(ws, c, indexed, &w, err);
		if (!ret && cmp >= 0)
			hr = stream_key(hs, c, indexed, &h, err);
	}
	if (!ret)
		ret = wr < 0 ? wr : hr < 0 ? hr : 0;
	return ret;
}

int bch_check_index_agrees(struct bch_check *c, unsigned btree_id, const bool *indexed,
			   const struct bch_key_updates *want, struct bch_key_src *have,
			   struct bch_error *err)
{
	struct run_stream ws = { .u = want, .btree_id = btree_id };
	struct run_stream hs = { .src = have, .btree_id = btree_id };
	struct index_run w, h;
	int wr, hr, ret = 0;

	if (btree_id == BTREE_ID_need_discard && c->geom.version >= BCH_VERSION_1_38)
		return discard_keys_agree(c, indexed, &ws, &hs, err);

	wr = stream_next(&ws, c, indexed, &w, err);
	hr = wr < 0 ? 0 : stream_next(&hs, c, indexed, &h, err);
	while (!ret && wr > 0 && hr > 0) {
		int cmp = run_cmp(&w, &h);

		if (cmp) {
			/* the earlier run has no counterpart */
			ret = cmp < 0 ? report_run(c, btree_id, w.dev, w.start, w.end, true)
				      : report_run(c, btree_id, h.dev, h.start, h.end, false);
			if (cmp < 0)
				wr = stream_next(&ws, c, indexed, &w, err);
			else
				hr = stream_next(&hs, c, indexed, &h, err);
			continue;
		}
		/* overlapping: the parts before the later end are settled */
		if (w.start != h.start || w.end != h.end) {
			struct index_run a = w, b = h;
			uint64_t cut = w.end < h.end ? w.end : h.end;

			a.end = b.end = cut;
			ret = diff_runs(c, btree_id, &a, &b);
			w.start = h.start = cut;
			if (w.start >= w.end)
				wr = stream_next(&ws, c, indexed, &w, err);
			if (h.start >= h.end)
				hr = stream_next(&hs, c, indexed, &h, err);
			continue;
		}
		wr = stream_next(&ws, c, indexed, &w, err);
		hr = stream_next(&hs, c, indexed, &h, err);
	}
	while (!ret && wr > 0) {
		ret = report_run(c, btree_id, w.dev, w.start, w.end, true);
		wr = stream_next(&ws, c, indexed, &w, err);
	}
	while (!ret && hr > 0) {
		ret = report_run(c, btree_id, h.dev, h.start, h.end, false);
		hr = stream_next(&hs, c, indexed, &h, err);
	}
	if (!ret)
		ret = wr < 0 ? wr : hr < 0 ? hr : 0;
	return ret;
}

/* the next bucket_gens key of want (from index *i) or of have; 0 at the end */
static int gens_next(const struct bch_key_updates *want, size_t *i, struct bch_key_src *have,
		     struct bpos *p, uint8_t gens[256], struct bch_error *err)
{
	struct bkey k;
	int ret;

	while (1) {
		if (want) {
			if (*i >= want->nr)
				return 0;
			const struct bch_key_update *x = &want->v[(*i)++];

			if (x->btree_id != BTREE_ID_bucket_gens || x->level)
				continue;
			bch_bkey_read_unpacked(x->bytes, &k);
		} else {
			ret = have->next(have->ctx, &k, err);
			if (ret <= 0)
				return ret;
		}
		if (k.type != KEY_TYPE_bucket_gens)
			continue;
		*p = k.p;
		memset(gens, 0, 256);
		memcpy(gens, k.val, k.val_bytes < 256 ? k.val_bytes : 256);
		return 1;
	}
}

static int gens_compare(struct bch_check *c, const bool *judged, struct bpos p,
			const uint8_t *w, const uint8_t *h)
{
	unsigned dev = p.inode < 256 ? (unsigned)p.inode : 256;
	const struct bch_check_dev *d = dev < 256 ? &c->geom.dev[dev] : NULL;
	struct bch_finding f = {
		.kind = BCH_F_bucket_gens_wrong, .btree_id = BTREE_ID_bucket_gens, .pos = p,
		.dev = dev, .rebuildable = true,
	};

	if (!d || !d->exists || !judged[dev])
		return 0;
	for (unsigned j = 0; j < 256; j++) {
		uint64_t b = (p.offset << 8) + j;

		if (b < d->first_bucket || b >= d->nbuckets || w[j] == h[j])
			continue;
		if (!f.key_size) {
			f.bucket = b;
			f.time = h[j];
			f.expected_time = w[j];
		}
		f.key_size++;
	}
	return f.key_size ? report(c, &f) : 0;
}

int bch_check_gens_agree(struct bch_check *c, const bool *judged,
			 const struct bch_key_updates *want, struct bch_key_src *have,
			 struct bch_error *err)
{
	static const uint8_t zero[256];
	uint8_t wg[256], hg[256];
	struct bpos wp, hp;
	size_t i = 0;
	int wr, hr, ret = 0;

	wr = gens_next(want, &i, NULL, &wp, wg, err);
	hr = gens_next(NULL, NULL, have, &hp, hg, err);
	while (!ret && (wr > 0 || hr > 0)) {
		int cmp = wr <= 0 ? 1 : hr <= 0 ? -1 : bpos_cmp(wp, hp);

		if (cmp < 0)
			ret = gens_compare(c, judged, wp, wg, zero);
		else if (cmp > 0)
			ret = gens_compare(c, judged, hp, zero, hg);
		else
			ret = gens_compare(c, judged, wp, wg, hg);
		if (cmp <= 0)
			wr = gens_next(want, &i, NULL, &wp, wg, err);
		if (cmp >= 0)
			hr = gens_next(NULL, NULL, have, &hp, hg, err);
	}
	if (!ret)
		ret = wr < 0 ? wr : hr < 0 ? hr : 0;
	return ret;
}

/* ---- pass 6: reconcile phys ---- */

/* in the first n of c->phys (sorted) */
static struct bch_phys_want *find_phys_in(struct bch_check *c, size_t n, struct bpos p)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = bpos_cmp(c->phys[mid].pos, p);

		if (!cmp)
			return &c->phys[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct bch_phys_want *find_phys(struct bch_check *c, struct bpos p)
{
	return find_phys_in(c, c->nr_phys, p);
}

static int phys_btree(struct bch_check *c, struct bch_key_src *src, unsigned btree,
		      unsigned class, struct bch_error *err)
{
	struct bkey k;
	int ret;

	while ((ret = src->next(src->ctx, &k, err)) > 0) {
		struct bch_phys_want *w = find_phys(c, k.p);

		if (k.type != KEY_TYPE_set)
			continue;
		if (w && w->class == class) {
			w->found = true;
			continue;
		}
		struct bch_finding f = {
			.kind = BCH_F_reconcile_phys_wrong, .btree_id = btree, .pos = k.p,
			.dev = k.p.inode < 256 ? (unsigned)k.p.inode : 256,
			.time = class, .expected_time = w ? w->class : 0,
		};

		ret = report(c, &f);
		if (ret)
			break;
	}
	return ret < 0 ? ret : 0;
}

static int cmp_phys_pos(const void *a, const void *b)
{
	return bpos_cmp(((const struct bch_phys_want *)a)->pos,
			((const struct bch_phys_want *)b)->pos);
}

/* the backpointers' classes as the repair will leave them (phys_fix over phys) */
static int phys_apply_fixes(struct bch_check *c)
{
	size_t base = c->nr_phys;

	for (size_t i = 0; i < c->nr_phys_fix; i++) {
		const struct bch_phys_want *fx = &c->phys_fix[i];
		/* the sorted part by bisection, what was added here by a scan */
		struct bch_phys_want *w = find_phys_in(c, base, fx->pos);

		for (size_t j = base; !w && j < c->nr_phys; j++)
			if (bpos_eq(c->phys[j].pos, fx->pos))
				w = &c->phys[j];
		if (!w && fx->class) {
			w = PUSH(c, phys);
			if (!w)
				return -BCH_ERR_NOMEM;
			w->pos = fx->pos;
		}
		if (w) {
			w->class = fx->class;
			w->found = false;
		}
	}
	if (c->nr_phys > base)
		qsort(c->phys, c->nr_phys, sizeof(*c->phys), cmp_phys_pos);
	c->nr_phys_fix = 0;
	return 0;
}

int bch_check_reconcile_phys(struct bch_check *c, struct bch_key_src *hipri,
			     struct bch_key_src *work, struct bch_error *err)
{
	int ret;

	if (c->geom.version < BCH_VERSION_RECONCILE)
		return 0;
	ret = phys_apply_fixes(c);
	if (ret)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = phys_btree(c, hipri, BTREE_ID_reconcile_hipri_phys, 1, err) ?:
	      phys_btree(c, work, BTREE_ID_reconcile_work_phys, 2, err);
	for (size_t i = 0; !ret && i < c->nr_phys; i++) {
		const struct bch_phys_want *w = &c->phys[i];
		struct bch_finding f = {
			.kind = BCH_F_reconcile_phys_wrong,
			.btree_id = w->class == 1 ? BTREE_ID_reconcile_hipri_phys
						  : BTREE_ID_reconcile_work_phys,
			.pos = w->pos, .dev = (unsigned)w->pos.inode,
			.time = 0, .expected_time = w->class,
		};

		if (!w->found && w->class && w->class <= 2)
			ret = report(c, &f);
	}
	return ret < 0 ? ret : 0;
}

/* ---- pass 5: dev_data_type accounting ---- */

/* accounting positions are the byte-reversed disk_accounting_pos (§7.11) */
struct bpos bch_acct_dev_data_type_pos(unsigned dev, unsigned data_type)
{
	return BPOS((3ULL << 56) | (uint64_t)(dev & 0xff) << 48 | (uint64_t)(data_type & 0xff) << 40,
		    0, 0);
}

static bool acct_is_dev_data_type(const struct bkey *k, unsigned *dev, unsigned *dt)
{
	if (k->type != KEY_TYPE_accounting || k->val_bytes < 24 || k->p.inode >> 56 != 3 ||
	    k->p.offset || k->p.snapshot || (k->p.inode & ((1ULL << 40) - 1)))
		return false;
	*dev = (unsigned)(k->p.inode >> 48) & 0xff;
	*dt = (unsigned)(k->p.inode >> 40) & 0xff;
	return *dt < BCH_DATA_NR;
}

static bool version_newer(struct bversion a, struct bversion b)
{
	return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo;
}

struct acct_stored {
	int64_t		v[3];
	bool		in_btree;
	struct bversion	version;
};

int bch_check_dev_accounting(struct bch_check *c, struct bch_key_src *nodes,
			     const struct bkey *deltas, size_t nr_deltas,
			     struct bch_error *err)
{
	struct acct_stored *st = calloc(256 * BCH_DATA_NR, sizeof(*st));
	unsigned dev, dt;
	struct bkey k;
	int ret;

	if (!st)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	while ((ret = nodes->next(nodes->ctx, &k, err)) > 0) {
		struct acct_stored *s;

		if (!acct_is_dev_data_type(&k, &dev, &dt))
			continue;
		s = &st[dev * BCH_DATA_NR + dt];
		for (unsigned i = 0; i < 3; i++)
			s->v[i] = (int64_t)get_le64(k.val + 8 * i);
		s->in_btree = true;
		s->version = k.version;
	}
	/* journal deltas newer than the btree's key add to it */
	for (size_t i = 0; !ret && i < nr_deltas; i++) {
		struct acct_stored *s;

		if (!acct_is_dev_data_type(&deltas[i], &dev, &dt))
			continue;
		s = &st[dev * BCH_DATA_NR + dt];
		if (s->in_btree && !version_newer(deltas[i].version, s->version))
			continue;
		for (unsigned j = 0; j < 3; j++)
			s->v[j] += (int64_t)get_le64(deltas[i].val + 8 * j);
	}
	for (dev = 0; !ret && dev < 256; dev++) {
		const struct bch_check_dev *d = &c->geom.dev[dev];
		int64_t want[BCH_DATA_NR][3];

		/* with alloc keys missing, the alloc keys say nothing about the totals */
		if (!d->exists || c->alloc_missing[dev])
			continue;
		memcpy(want, c->acct[dev].v, sizeof(want));
		/* buckets without alloc key are free */
		want[BCH_DATA_free][0] += (int64_t)(d->nbuckets - d->first_bucket) -
					  (int64_t)c->acct[dev].counted;
		for (dt = 0; !ret && dt < BCH_DATA_NR; dt++) {
			const struct acct_stored *s = &st[dev * BCH_DATA_NR + dt];
			struct bch_finding f = {
				.kind = BCH_F_accounting_dev_data_type_wrong,
				.btree_id = BTREE_ID_accounting,
				.pos = bch_acct_dev_data_type_pos(dev, dt),
				.dev = dev, .data_type = dt,
			};

			if (!memcmp(want[dt], s->v, sizeof(s->v)))
				continue;
			memcpy(f.acct_want, want[dt], sizeof(f.acct_want));
			memcpy(f.acct_have, s->v, sizeof(f.acct_have));
			ret = report(c, &f);
		}
	}
	free(st);
	return ret < 0 ? ret : 0;
}

bool bch_check_copygc_would_fault(const struct bch_check *c, bool *any_mismatch)
{
	bool fault = false;

	*any_mismatch = false;
	for (unsigned d = 0; d < 256; d++)
		*any_mismatch |= bch_bitmap_weight(&c->mismatch[d]) > 0;
	for (size_t i = 0; i < c->nr_oob_frag_lru; i++)
		fault |= bch_bitmap_weight(&c->mismatch[c->oob_frag_lru[i].dev]) > 0;
	return fault;
}
