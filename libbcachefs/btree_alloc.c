/* Buckets for new nodes and the bookkeeping of nodes written and freed (btree_alloc.h). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backpointers.h"
#include "bkey.h"
#include "btree_alloc.h"
#include "btree_iter.h"
#include "btree_lookup.h"
#include "buckets.h"
#include "check_buckets.h"
#include "fs.h"
#include "lru.h"
#include "rebuild.h"
#include "vec.h"

/* ---- devices, clocks, positions ---- */

unsigned bch_node_replica_devs(struct bch_fs *fs, uint8_t dev_out[BCH_NODE_MAX_REPLICAS])
{
	unsigned want = (unsigned)bits64(fs->sb->flags[0], 48, 52), nr = 0;

	if (!want)
		want = 1;
	if (want > BCH_NODE_MAX_REPLICAS)
		want = BCH_NODE_MAX_REPLICAS;
	for (unsigned d = 0; d < fs->nr_devs && nr < want; d++) {
		const struct bch_member *m = bch_fs_member(fs, d);

		if (!m || !fs->devs[d] || BCH_MEMBER_STATE(m) != 0 ||
		    !(BCH_MEMBER_DATA_ALLOWED(m) & (1u << BCH_DATA_btree)))
			continue;
		dev_out[nr++] = (uint8_t)d;
	}
	return nr;
}

bool bch_dev_is_meta_bucket(const struct bch_fs *fs, unsigned dev, uint64_t b)
{
	const struct bch_member *m = bch_fs_member(fs, dev);
	const struct bch_sb *sb = fs->devs[dev] ? &fs->devs[dev]->sb : NULL;

	if (!m || !sb || !m->bucket_size)
		return true;
	/* sectors 0..7 (the layout copy), then each superblock copy's area (§2.1) */
	if (b * m->bucket_size < 8)
		return true;
	for (unsigned i = 0; i < sb->layout.nr_superblocks; i++) {
		uint64_t start = sb->layout.sb_offset[i];
		uint64_t end = start + (1ULL << sb->layout.sb_max_size_bits);

		if (b * m->bucket_size < end && (b + 1) * m->bucket_size > start)
			return true;
	}
	for (unsigned i = 0; i < sb->nr_journal_buckets; i++)
		if (sb->journal_buckets[i] == b)
			return true;
	return false;
}

struct clock_ctx {
	unsigned	rw;
	uint64_t	time;
};

static int find_clock(void *ctx, const uint8_t *entry, unsigned type, unsigned btree,
		      unsigned level, const uint8_t *payload, size_t bytes, uint64_t at,
		      struct bch_error *err)
{
	struct clock_ctx *c = ctx;

	(void)entry, (void)btree, (void)level, (void)at, (void)err;
	/* jset_entry_clock: rw u8, pad[7], time le64 */
	if (type == BCH_JSET_ENTRY_clock && bytes >= 16 && payload[0] == c->rw)
		c->time = get_le64(payload + 8);
	return 0;
}

uint64_t bch_fs_io_clock(struct bch_fs *fs, unsigned rw)
{
	const struct bch_journal *j = &fs->journal;
	struct clock_ctx c = { .rw = rw };

	if (j->from_clean) {
		const struct bch_sb_field_ref *f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_clean);

		if (f && f->bytes > 24)
			bch_jset_entries_walk(f->p + 24, f->bytes - 24, 0, "clean field",
					      find_clock, &c, NULL);
	} else if (j->nr_entries) {
		const struct bch_journal_entry *e = &j->entries[j->nr_entries - 1];

		bch_jset_entries_walk(e->buf + BCH_JSET_HEADER_BYTES,
				      e->bytes - BCH_JSET_HEADER_BYTES, 0, "journal entry",
				      find_clock, &c, NULL);
	}
	return c.time;
}

/* the accounting position is the structure's bytes, most significant first (§7.11) */
struct bpos bch_acct_pos(const uint8_t s[20])
{
	uint64_t inode = 0, offset = 0;
	uint32_t snap = 0;

	for (unsigned i = 0; i < 8; i++)
		inode = inode << 8 | s[i];
	for (unsigned i = 8; i < 16; i++)
		offset = offset << 8 | s[i];
	for (unsigned i = 16; i < 20; i++)
		snap = snap << 8 | s[i];
	return BPOS(inode, offset, snap);
}

struct bpos bch_acct_replicas_pos(unsigned data_type, unsigned nr_devs, const uint8_t *devs)
{
	uint8_t s[20] = { 2, (uint8_t)data_type, (uint8_t)nr_devs, 1 };

	for (unsigned i = 0; i < nr_devs && 4 + i < 20; i++)
		s[4 + i] = devs[i];
	return bch_acct_pos(s);
}

struct bpos bch_acct_btree_pos(unsigned btree_id)
{
	uint8_t s[20] = { 6 };

	put_le32(s + 1, btree_id);
	return bch_acct_pos(s);
}

struct bpos bch_acct_snapshot_pos(uint32_t snapshot, unsigned btree_id)
{
	uint8_t s[20] = { 5 };

	put_le32(s + 1, snapshot);
	put_le32(s + 5, btree_id);
	return bch_acct_pos(s);
}

/* ---- looking keys up as the commit leaves them ---- */

/* index of the update at (btree, level 0, p), or -1 */
static ssize_t upd_find(const struct bch_key_updates *u, unsigned btree, struct bpos p)
{
	size_t i = bch_key_updates_lower_bound(u, btree, 0, p);

	return i < u->nr && u->v[i].btree_id == btree && !u->v[i].level &&
	       bpos_eq(bch_key_update_pos(&u->v[i]), p) ? (ssize_t)i : -1;
}

/* the first update of (btree, level 0) in [start, end] that is not a deletion */
static int upd_next(const struct bch_key_updates *u, unsigned btree, struct bpos start,
		    struct bpos end, struct bkey *k)
{
	size_t lo = bch_key_updates_lower_bound(u, btree, 0, start);

	for (; lo < u->nr && u->v[lo].btree_id == btree && !u->v[lo].level &&
	       bpos_cmp(bch_key_update_pos(&u->v[lo]), end) <= 0; lo++) {
		if (u->v[lo].bytes[2] == KEY_TYPE_deleted)
			continue;
		bch_bkey_read_unpacked(u->v[lo].bytes, k);
		return 1;
	}
	return 0;
}

/*
 * The first key in [start, end] of a btree as the tree holds it, or for
 * a btree being replaced whole, as the updates do.
 */
static int next_key(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
		    unsigned btree, struct bpos start, struct bpos end, struct bkey *k,
		    struct bch_error *err)
{
	if (lc->replaced >> btree & 1)
		return upd_next(u0, btree, start, end, k);
	return bch_lookup_next(lc, btree, start, end, k, err);
}

/*
 * The first key in [start, end] as the tree holds it after u0 (u0's
 * inserts replace the tree's keys at their positions, its deletions hide
 * them): for carving a freespace key the updates themselves changed or
 * added (format --source fills and discards buckets in the same commit).
 */
static int next_key_after(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			  unsigned btree, struct bpos start, struct bpos end, struct bkey *k,
			  struct bch_error *err)
{
	if (lc->replaced >> btree & 1)
		return upd_next(u0, btree, start, end, k);
	while (1) {
		size_t i = bch_key_updates_lower_bound(u0, btree, 0, start);
		bool has_upd = i < u0->nr && u0->v[i].btree_id == btree && !u0->v[i].level &&
			       bpos_cmp(bch_key_update_pos(&u0->v[i]), end) <= 0;
		struct bpos up = has_upd ? bch_key_update_pos(&u0->v[i]) : end;
		int ret = bch_lookup_next(lc, btree, start, up, k, err);

		if (ret < 0)
			return ret;
		if (ret && (!has_upd || bpos_cmp(k->p, up) < 0))
			return 1;
		if (!has_upd)
			return 0;
		if (u0->v[i].bytes[2] != KEY_TYPE_deleted) {
			bch_bkey_read_unpacked(u0->v[i].bytes, k);
			return 1;
		}
		if (bpos_eq(up, end))
			return 0;
		start = bpos_successor(up);
	}
}

/*
 * The key at p after u0: 1 and *k (value copied into buf, at most
 * BKEY_VAL_U64S_MAX * 8 bytes), 0 if there is none.
 */
static int lookup(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
		  unsigned btree, struct bpos p, struct bkey *k, uint8_t *buf,
		  struct bch_error *err)
{
	ssize_t i = upd_find(u0, btree, p);
	int ret;

	if (i >= 0) {
		bch_bkey_read_unpacked(u0->v[i].bytes, k);
		if (k->type == KEY_TYPE_deleted)
			return 0;
	} else {
		ret = next_key(lc, u0, btree, p, p, k, err);
		if (ret <= 0)
			return ret;
	}
	memcpy(buf, k->val, k->val_bytes);
	k->val = buf;
	return 1;
}

static int bucket_gen_of(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			 unsigned dev, uint64_t b, uint8_t *gen, struct bch_error *err)
{
	uint8_t buf[BKEY_VAL_U64S_MAX * 8];
	struct bkey k;
	int ret = lookup(lc, u0, BTREE_ID_bucket_gens, BPOS(dev, b >> 8, 0), &k, buf, err);

	if (ret < 0)
		return ret;
	*gen = ret && k.type == KEY_TYPE_bucket_gens && k.val_bytes >= 256 ? buf[b & 255] : 0;
	return 0;
}

/* the alloc key of a bucket after u0; a bucket without one is free, with bucket_gens' gen */
static int alloc_of(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
		    unsigned dev, uint64_t b, struct bch_alloc_v4 *a, bool *has_key,
		    struct bch_error *err)
{
	uint8_t buf[BKEY_VAL_U64S_MAX * 8];
	struct bkey k;
	int ret = lookup(lc, u0, BTREE_ID_alloc, BPOS(dev, b, 0), &k, buf, err);

	memset(a, 0, sizeof(*a));
	*has_key = ret > 0;
	if (ret < 0)
		return ret;
	if (ret && !bch_alloc_decode(&k, a, NULL))
		return 0;
	*has_key = false;
	return bucket_gen_of(lc, u0, dev, b, &a->gen, err);
}

/* ---- slots ---- */

static bool alloc_is_free(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_free && !a->dirty_sectors && !a->cached_sectors &&
	       !a->stripe_sectors && !a->stripe && !BCH_ALLOC_V4_NEED_DISCARD(a);
}

static int bucket_has_bps(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			  unsigned dev, uint64_t b, bool *has, struct bch_error *err)
{
	struct bch_fs *fs = lc->fs;
	const struct bch_member *m = bch_fs_member(fs, dev);
	struct bpos start = bch_bucket_to_bp_start(dev, b, m->bucket_size, fs->bp_shift);
	struct bpos end = bch_bucket_to_bp_end(dev, b, m->bucket_size, fs->bp_shift);
	struct bkey k;
	int ret;

	end.offset--;
	/* in the tree, or put there by the updates: either way not free */
	ret = next_key(lc, u0, BTREE_ID_backpointers, start, end, &k, err);
	*has = ret > 0 || upd_next(u0, BTREE_ID_backpointers, start, end, &k);
	return ret < 0 ? ret : 0;
}

/* does the member's btree_allocated_bitmap already cover bucket b? */
static bool bucket_in_btree_bitmap(const struct bch_member *m, uint64_t b)
{
	uint64_t start = b * m->bucket_size, end = start + m->bucket_size;
	unsigned shift = m->btree_bitmap_shift;

	if (shift >= 58)
		return false;
	for (uint64_t bit = start >> shift; (bit << shift) < end; bit++)
		if (bit >= 64 || !(m->btree_allocated_bitmap >> bit & 1))
			return false;
	return true;
}

/*
 * Where the search for free buckets is: first the buckets the bitmap
 * already marks as possibly holding btree nodes (as upstream's allocator
 * prefers, so the bitmap does not grow), then the others.
 */
struct bucket_cursor {
	uint64_t	b;
	bool		unmarked;
};

/* the next usable bucket of dev at or after the cursor */
static int next_free_bucket(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			    unsigned dev, struct bucket_cursor *cur, uint8_t *gen,
			    struct bch_error *err)
{
	struct bch_fs *fs = lc->fs;
	const struct bch_member *m = bch_fs_member(fs, dev);

	while (1) {
		struct bch_alloc_v4 a;
		bool has_key, has_bps;
		uint64_t b = cur->b;
		int ret;

		if (b >= m->nbuckets) {
			if (cur->unmarked)
				break;
			cur->unmarked = true;
			cur->b = 0;
			continue;
		}
		/* cheapest tests first: the superblock/journal test walks the journal */
		if (b < m->first_bucket || bucket_in_btree_bitmap(m, b) == cur->unmarked) {
			cur->b++;
			continue;
		}
		ret = alloc_of(lc, u0, dev, b, &a, &has_key, err);
		if (ret)
			return ret;
		if (!alloc_is_free(&a) || bch_dev_is_meta_bucket(fs, dev, b)) {
			cur->b++;
			continue;
		}
		/* a bucket that still has backpointers is not really free: keep off it */
		ret = bucket_has_bps(lc, u0, dev, b, &has_bps, err);
		if (ret)
			return ret;
		if (has_bps) {
			cur->b++;
			continue;
		}
		*gen = a.gen;
		return 0;
	}
	return bch_err(err, BCH_ERR_RANGE,
		       "no free bucket left on device %u for new btree nodes", dev);
}

int bch_node_slots_alloc(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			 size_t nr, unsigned replicas, const uint8_t *devs,
			 struct bch_node_slot **slots, struct bch_error *err)
{
	struct bch_fs *fs = lc->fs;
	struct bch_node_slot *s = calloc(nr && replicas ? nr * replicas : 1, sizeof(*s));
	int ret = 0;

	if (!s)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (unsigned r = 0; r < replicas && !ret; r++) {
		unsigned dev = devs[r];
		const struct bch_member *m = bch_fs_member(fs, dev);
		unsigned per_bucket = m->bucket_size / fs->btree_node_size;
		struct bucket_cursor cur = { 0 };
		uint8_t gen = 0;

		for (size_t i = 0; i < nr && !ret; i++) {
			if (!(i % per_bucket)) {
				if (i)
					cur.b++;
				ret = next_free_bucket(lc, u0, dev, &cur, &gen, err);
			}
			s[i * replicas + r] = (struct bch_node_slot){
				.dev = (uint8_t)dev, .gen = gen,
				.sector = cur.b * m->bucket_size +
					  (i % per_bucket) * fs->btree_node_size,
			};
		}
	}
	if (ret) {
		free(s);
		return ret;
	}
	*slots = s;
	return 0;
}

/* ---- bookkeeping ---- */

struct bucket_delta {
	uint8_t		dev;
	uint64_t	bucket;
	int64_t		nodes;		/* nodes added minus nodes freed */
};

struct acct_delta {
	struct bpos	pos;
	unsigned	nr;
	int64_t		v[3];
};

struct gens_entry {
	struct bpos	pos;
	uint8_t		gens[256];
};

/* a freespace key losing some of its buckets */
struct carve {
	struct bpos	key;		/* the freespace key's position */
	uint32_t	size;
	uint64_t	off;		/* the offset taken out */
};

struct book {
	struct bch_fs			*fs;
	struct bch_lookup_cache		*lc;
	const struct bch_key_updates	*u0;
	struct bch_key_updates		*out;
	uint64_t			seq;
	struct bucket_delta		*b;
	size_t				nr_b, size_b;
	struct acct_delta		*acct;
	size_t				nr_acct, size_acct;
	struct gens_entry		*gens;
	size_t				nr_gens, size_gens;
	struct carve			*carve;
	size_t				nr_carve, size_carve;
};

static int bucket_add(struct book *bk, unsigned dev, uint64_t bucket, int64_t n)
{
	struct bucket_delta *d = BCH_VEC_PUSH(bk->b, bk->nr_b, bk->size_b);

	if (!d)
		return -BCH_ERR_NOMEM;
	*d = (struct bucket_delta){ .dev = (uint8_t)dev, .bucket = bucket, .nodes = n };
	return 0;
}

static int acct_add_delta(struct book *bk, struct bpos pos, unsigned nr, const int64_t *v)
{
	for (size_t i = 0; i < bk->nr_acct; i++)
		if (bpos_eq(bk->acct[i].pos, pos)) {
			for (unsigned j = 0; j < nr; j++)
				bk->acct[i].v[j] += v[j];
			return 0;
		}
	struct acct_delta *d = BCH_VEC_PUSH(bk->acct, bk->nr_acct, bk->size_acct);

	if (!d)
		return -BCH_ERR_NOMEM;
	*d = (struct acct_delta){ .pos = pos, .nr = nr };
	memcpy(d->v, v, nr * sizeof(*v));
	return 0;
}

/*
 * A node of node_size sectors at level with these pointers, added (sign 1)
 * or freed (-1); sign -n: n such nodes freed. From 1.31 (btree_node_accounting) the per-btree key also
 * counts nodes and interior nodes (upstream buckets.c, the btree pointer
 * trigger).
 */
static int node_acct(struct book *bk, unsigned btree_id, unsigned level, unsigned nr_devs,
		     const uint8_t *devs, int64_t sign)
{
	int64_t s = sign * (int64_t)bk->fs->btree_node_size;
	uint8_t sorted[BCH_BTREE_PTR_MAX_PTRS];
	int64_t total = s * nr_devs;
	int64_t per_btree[3] = { total, sign, level ? sign : 0 };
	unsigned nr_counters = bk->fs->sb->version >= BCH_VERSION(1, 31) ? 3 : 1;

	memcpy(sorted, devs, nr_devs);
	for (unsigned i = 1; i < nr_devs; i++)
		for (unsigned j = i; j && sorted[j - 1] > sorted[j]; j--) {
			uint8_t t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	/* replicas counts every replica's sectors, as does the per-btree total */
	return acct_add_delta(bk, bch_acct_replicas_pos(BCH_DATA_btree, nr_devs, sorted), 1,
			      &total) ?:
	       acct_add_delta(bk, bch_acct_btree_pos(btree_id), nr_counters, per_btree);
}

static int emit(struct book *bk, unsigned btree, const struct bkey *k)
{
	return bch_key_updates_add(bk->out, btree, 0, k);
}

static int emit_set(struct book *bk, unsigned btree, struct bpos p, uint32_t size)
{
	struct bkey k = { .p = p, .type = KEY_TYPE_set, .size = size };

	return emit(bk, btree, &k);
}

static int emit_bp(struct book *bk, const struct bch_node_slot *s, unsigned btree_id,
		   unsigned level, struct bpos max_key, bool insert)
{
	struct bpos pos = bch_ptr_to_bp_pos(s->dev, s->sector, 0, bk->fs->bp_shift);
	uint8_t val[BCH_BACKPOINTER_BYTES];
	struct bkey k = { .p = pos, .type = KEY_TYPE_backpointer, .val = val,
			  .val_bytes = sizeof(val) };
	/* the pointer's key is one level above the node it points at (§7.9) */
	struct bch_backpointer bp = {
		.btree_id = (uint8_t)btree_id, .level = (uint8_t)(level + 1),
		.data_type = BCH_DATA_btree, .bucket_gen = s->gen,
		.bucket_len = bk->fs->btree_node_size, .pos = max_key,
	};

	if (!insert)
		return bch_key_updates_delete(bk->out, BTREE_ID_backpointers, 0, pos, 0);
	bch_backpointer_encode(val, &bp);
	return emit(bk, BTREE_ID_backpointers, &k);
}

static int cmp_bucket_delta(const void *a, const void *b)
{
	const struct bucket_delta *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

static int gens_set(struct book *bk, unsigned dev, uint64_t b, uint8_t gen,
		    struct bch_error *err)
{
	struct bpos pos = BPOS(dev, b >> 8, 0);
	struct gens_entry *g = NULL;

	for (size_t i = 0; i < bk->nr_gens; i++)
		if (bpos_eq(bk->gens[i].pos, pos))
			g = &bk->gens[i];
	if (!g) {
		uint8_t buf[BKEY_VAL_U64S_MAX * 8];
		struct bkey k;
		int ret;

		g = BCH_VEC_PUSH(bk->gens, bk->nr_gens, bk->size_gens);
		if (!g)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		memset(g, 0, sizeof(*g));
		g->pos = pos;
		ret = lookup(bk->lc, bk->u0, BTREE_ID_bucket_gens, pos, &k, buf, err);
		if (ret < 0)
			return ret;
		if (ret && k.type == KEY_TYPE_bucket_gens && k.val_bytes >= 256)
			memcpy(g->gens, buf, 256);
	}
	g->gens[b & 255] = gen;
	return 0;
}

/* the freespace key holding offset off of dev, recorded for carving */
static int carve_out(struct book *bk, unsigned dev, uint64_t off, struct bch_error *err)
{
	struct bkey k;
	struct bpos from = BPOS(dev, off + 1, 0);
	int ret;

	/* past keys of no buckets (invalid, the check deletes them): they hold nothing */
	while ((ret = next_key_after(bk->lc, bk->u0, BTREE_ID_freespace, from,
				     BPOS(dev, UINT64_MAX, UINT32_MAX), &k, err)) > 0 &&
	       !k.size && k.p.offset < UINT64_MAX)
		from = BPOS(dev, k.p.offset + 1, 0);
	if (ret <= 0)
		return ret;
	if (k.p.offset - k.size > off || k.p.offset <= off)
		return 0;	/* not indexed as free: nothing to take out */
	struct carve *cv = BCH_VEC_PUSH(bk->carve, bk->nr_carve, bk->size_carve);

	if (!cv)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	*cv = (struct carve){ .key = k.p, .size = k.size, .off = off };
	return 0;
}

static int cmp_carve(const void *a, const void *b)
{
	const struct carve *x = a, *y = b;
	int c = bpos_cmp(x->key, y->key);

	return c ? c : x->off < y->off ? -1 : x->off > y->off;
}

/* each freespace key that lost buckets: deleted, its remaining pieces inserted */
static int carve_emit(struct book *bk)
{
	int ret = 0;

	if (bk->nr_carve)
		qsort(bk->carve, bk->nr_carve, sizeof(*bk->carve), cmp_carve);
	for (size_t i = 0; i < bk->nr_carve && !ret; ) {
		struct bpos key = bk->carve[i].key;
		uint64_t start = key.offset - bk->carve[i].size;

		ret = bch_key_updates_delete(bk->out, BTREE_ID_freespace, 0, key, bk->carve[i].size);
		for (; !ret && i < bk->nr_carve && bpos_eq(bk->carve[i].key, key); i++) {
			uint64_t off = bk->carve[i].off;

			if (off > start)
				ret = emit_set(bk, BTREE_ID_freespace, BPOS(key.inode, off, 0),
					       (uint32_t)(off - start));
			start = off + 1;
		}
		if (!ret && key.offset > start)
			ret = emit_set(bk, BTREE_ID_freespace, key, (uint32_t)(key.offset - start));
	}
	return ret;
}

/*
 * Delete the backpointers of btree nodes (of btree btree_id, or of any
 * when it is -1) into bucket b of dev: no node answers to them any more
 */
static int btree_bps_drop(struct book *bk, unsigned dev, uint64_t b, int btree_id,
			  struct bch_error *err)
{
	struct bch_fs *fs = bk->fs;
	const struct bch_member *m = bch_fs_member(fs, dev);
	struct bpos p = bch_bucket_to_bp_start(dev, b, m->bucket_size, fs->bp_shift);
	struct bpos end = bch_bucket_to_bp_end(dev, b, m->bucket_size, fs->bp_shift);
	int ret;

	end.offset--;
	while (1) {
		struct bch_backpointer bp;
		struct bkey k;

		ret = next_key(bk->lc, bk->u0, BTREE_ID_backpointers, p, end, &k, err);
		if (ret <= 0)
			return ret;
		if (!bch_backpointer_decode(&k, &bp, NULL) && bp.data_type == BCH_DATA_btree &&
		    (btree_id < 0 || bp.btree_id == btree_id)) {
			ret = bch_key_updates_delete(bk->out, BTREE_ID_backpointers, 0, k.p, 0);
			if (ret)
				return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		}
		if (bpos_eq(k.p, end))
			return 0;
		p = bpos_successor(k.p);
	}
}

/*
 * One bucket whose node count changes by n: its new alloc key, and the
 * index, LRU, bucket_gens and dev accounting changes that follow, the
 * way upstream's alloc trigger makes them.
 */
static int bucket_update(struct book *bk, unsigned dev, uint64_t b, int64_t n,
			 struct bch_error *err)
{
	struct bch_fs *fs = bk->fs;
	const struct bch_member *m = bch_fs_member(fs, dev);
	struct bch_alloc_v4 old, a;
	int64_t acct[BCH_DATA_NR][3] = { { 0 } };
	int64_t sectors;
	bool has_key, was_empty, now_empty;
	uint8_t val[BCH_ALLOC_V4_BYTES];
	struct bkey k = { .p = BPOS(dev, b, 0), .type = KEY_TYPE_alloc_v4, .val = val,
			  .val_bytes = sizeof(val) };
	int ret;

	ret = alloc_of(bk->lc, bk->u0, dev, b, &old, &has_key, err);
	if (ret)
		return ret;
	a = old;
	sectors = (int64_t)a.dirty_sectors + n * (int64_t)fs->btree_node_size;
	if (sectors < 0)
		sectors = 0;	/* counters already wrong: never below empty */
	a.dirty_sectors = (uint32_t)sectors;
	was_empty = !bch_alloc_sectors_dirty(&old) && !old.cached_sectors;
	now_empty = !bch_alloc_sectors_dirty(&a) && !a.cached_sectors;
	a.flags = (a.flags & ~(0x3fu << BCH_ALLOC_V4_BP_START_SHIFT) & ~(0x3fu << 8)) |
		  BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;

	if (was_empty && !now_empty) {
		/* empty -> in use: fresh IO times, gen to bump and discard when it empties */
		a.data_type = BCH_DATA_btree;
		a.io_time[BCH_IO_TIME_READ] = bch_fs_io_clock(fs, 0);
		a.io_time[BCH_IO_TIME_WRITE] = bch_fs_io_clock(fs, 1);
		a.flags |= BCH_ALLOC_V4_FLAG_NEED_INC_GEN | BCH_ALLOC_V4_FLAG_NEED_DISCARD;
		a.journal_seq_nonempty = bk->seq;
		a.journal_seq_empty = 0;
	}
	if (now_empty && !was_empty) {
		if (BCH_ALLOC_V4_NEED_INC_GEN(&a)) {
			if (a.oldest_gen == a.gen)
				a.oldest_gen++;
			a.gen++;
			a.flags &= ~BCH_ALLOC_V4_FLAG_NEED_INC_GEN;
		}
		a.journal_seq_empty = bk->seq;
		/*
		 * every node it held is gone: so are their backpointers, also
		 * one a freed node's pointer missed (a pointer into the
		 * middle of the node, which could not be read)
		 */
		ret = btree_bps_drop(bk, dev, b, -1, err);
		if (ret)
			return ret;
	}
	a.data_type = (uint8_t)bch_alloc_data_type_derived(&a, a.data_type);
	bch_alloc_v4_encode(&a, val);
	ret = emit(bk, BTREE_ID_alloc, &k);

	/* the freespace / need_discard index (only once the device keeps one) */
	if (!ret && m && BCH_MEMBER_FREESPACE_INIT(m) &&
	    (old.data_type != a.data_type ||
	     (a.data_type == BCH_DATA_free &&
	      bch_freespace_genbits(old.gen, old.oldest_gen) !=
	      bch_freespace_genbits(a.gen, a.oldest_gen)))) {
		if (old.data_type == BCH_DATA_free)
			ret = carve_out(bk, dev, bch_freespace_offset(b, old.gen, old.oldest_gen),
					err);
		else if (old.data_type == BCH_DATA_need_discard)
			ret = bch_key_updates_delete(bk->out, BTREE_ID_need_discard, 0,
						     bch_need_discard_key_pos(bk->fs->sb->version, dev, b,
									      old.journal_seq_empty), 0);
		if (!ret && a.data_type == BCH_DATA_free)
			ret = emit_set(bk, BTREE_ID_freespace,
				       BPOS(dev, bch_freespace_offset(b, a.gen, a.oldest_gen) + 1, 0),
				       1);
		else if (!ret && a.data_type == BCH_DATA_need_discard)
			ret = emit_set(bk, BTREE_ID_need_discard,
				       bch_need_discard_key_pos(bk->fs->sb->version, dev, b,
								a.journal_seq_empty), 0);
	}
	/* the fragmentation LRU entry follows the counters (per device from 1.39) */
	unsigned frag_id = bch_lru_frag_id(bk->fs->sb->version, dev);
	uint64_t lru_old = bch_alloc_lru_idx_fragmentation(&old, m->bucket_size);
	uint64_t lru_new = bch_alloc_lru_idx_fragmentation(&a, m->bucket_size);

	if (!ret && lru_old != lru_new) {
		if (lru_old)
			ret = bch_key_updates_delete(bk->out, BTREE_ID_lru, 0,
						     bch_lru_pos(frag_id, lru_old, dev, b), 0);
		if (!ret && lru_new)
			ret = emit_set(bk, BTREE_ID_lru,
				       bch_lru_pos(frag_id, lru_new, dev, b), 0);
	}
	if (!ret && old.gen != a.gen)
		ret = gens_set(bk, dev, b, a.gen, err);

	bch_acct_bucket(acct, &old, m->bucket_size, -1);
	bch_acct_bucket(acct, &a, m->bucket_size, 1);
	for (unsigned t = 0; t < BCH_DATA_NR && !ret; t++)
		if (acct[t][0] || acct[t][1] || acct[t][2])
			ret = acct_add_delta(bk, bch_acct_dev_data_type_pos(dev, t), 3, acct[t]);
	return ret == -BCH_ERR_NOMEM ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : ret;
}

static int emit_acct_and_gens(struct book *bk)
{
	int ret = 0;

	for (size_t i = 0; i < bk->nr_acct && !ret; i++) {
		const struct acct_delta *d = &bk->acct[i];
		uint8_t val[24];
		struct bkey k = { .p = d->pos, .type = KEY_TYPE_accounting, .val = val,
				  .val_bytes = (uint16_t)(d->nr * 8) };
		bool zero = true;

		for (unsigned j = 0; j < d->nr; j++) {
			put_le64(val + 8 * j, (uint64_t)d->v[j]);
			zero &= !d->v[j];
		}
		if (!zero)
			ret = emit(bk, BTREE_ID_accounting, &k);
	}
	for (size_t i = 0; i < bk->nr_gens && !ret; i++) {
		struct bkey k = { .p = bk->gens[i].pos, .type = KEY_TYPE_bucket_gens,
				  .val = bk->gens[i].gens, .val_bytes = 256 };
		bool zero = true;

		for (unsigned j = 0; j < 256; j++)
			zero &= !bk->gens[i].gens[j];
		ret = zero ? bch_key_updates_delete(bk->out, BTREE_ID_bucket_gens, 0, k.p, 0)
			   : emit(bk, BTREE_ID_bucket_gens, &k);
	}
	return ret;
}

/* ---- orphans: btree sectors below unreadable nodes ---- */

struct node_census {
	uint64_t	*sector;	/* dev << 56 | sector of every known node, sorted */
	size_t		nr, size;
};

static int census_key(void *ctx, unsigned btree_id, unsigned level, const struct bkey *k,
		      struct bch_error *err)
{
	struct node_census *c = ctx;
	struct bch_btree_ptr_info info;

	(void)btree_id;
	if (!level || bch_btree_ptr_decode(k, &info))
		return 0;
	for (unsigned i = 0; i < info.nr_ptrs; i++) {
		uint64_t *v = BCH_VEC_PUSH(c->sector, c->nr, c->size);

		if (!v)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		*v = (uint64_t)info.ptrs[i].dev << 56 | info.ptrs[i].offset;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* known nodes in [from, to) */
static size_t census_count(const struct node_census *c, uint64_t from, uint64_t to)
{
	size_t lo = 0, hi = c->nr, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->sector[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nr && c->sector[lo] < to; lo++)
		n++;
	return n;
}

int bch_btree_orphan_buckets(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			     unsigned lost_btree, struct bch_orphan_bucket **out, size_t *nr,
			     struct bch_error *err)
{
	struct bch_fs *fs = lc->fs;
	struct node_census c = { 0 };
	struct bch_btree_iter it;
	struct bkey k;
	size_t size = 0;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	/* every node pointer that can still be reached, of every btree */
	for (unsigned b = 0; b < BTREE_ID_NR_MAX && !ret; b++)
		ret = bch_btree_walk_tolerant(fs, b, false, census_key, NULL, &c, err);
	if (ret)
		goto out;
	if (c.nr)
		qsort(c.sector, c.nr, sizeof(*c.sector), cmp_u64);
	bch_btree_iter_init(&it, fs, BTREE_ID_alloc, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		const struct bch_member *m = bch_fs_member(fs, (unsigned)k.p.inode);
		struct bch_alloc_v4 a;
		uint64_t start, known;

		ssize_t fix = upd_find(u0, BTREE_ID_alloc, k.p);
		struct bch_alloc_v4 now;
		uint64_t known_sectors;

		if (!m || bch_alloc_decode(&k, &a, NULL) || a.data_type != BCH_DATA_btree)
			continue;
		now = a;
		/* the counters as the repair leaves them (an alloc correction) */
		if (fix >= 0) {
			bch_bkey_read_unpacked(u0->v[fix].bytes, &k);
			if (bch_alloc_decode(&k, &now, NULL))
				now = a;
		}
		start = k.p.inode << 56 | k.p.offset * m->bucket_size;
		known = census_count(&c, start, start + m->bucket_size);
		known_sectors = known * fs->btree_node_size;
		if (a.dirty_sectors <= known_sectors)
			continue;
		struct bch_orphan_bucket *o = BCH_VEC_PUSH(*out, *nr, size);

		if (!o) {
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
			break;
		}
		*o = (struct bch_orphan_bucket){
			.dev = (uint8_t)k.p.inode, .bucket = k.p.offset, .btree_id = (uint8_t)lost_btree,
			.nodes = now.dirty_sectors > known_sectors ?
				(uint32_t)((now.dirty_sectors - known_sectors) / fs->btree_node_size) : 0,
			.acct_nodes = (uint32_t)((a.dirty_sectors - known_sectors) /
						 fs->btree_node_size),
		};
	}
	bch_btree_iter_exit(&it);
out:
	free(c.sector);
	if (ret) {
		free(*out);
		*out = NULL;
		*nr = 0;
	}
	return ret < 0 ? ret : 0;
}

/* an orphan bucket's backpointers of btree nodes, which no node answers to any more */
static int orphan_bps(struct book *bk, const struct bch_orphan_bucket *o, struct bch_error *err)
{
	return btree_bps_drop(bk, o->dev, o->bucket, o->btree_id, err);
}

int bch_btree_bookkeeping(struct bch_lookup_cache *lc, const struct bch_key_updates *u0,
			  const struct bch_new_node *nodes, size_t nr_nodes,
			  const struct bch_old_node *freed, size_t nr_freed,
			  const struct bch_orphan_bucket *orphans, size_t nr_orphans,
			  uint64_t journal_seq, struct bch_key_updates *out,
			  struct bch_error *err)
{
	struct bch_fs *fs = lc->fs;
	struct book bk = { .fs = fs, .lc = lc, .u0 = u0, .out = out, .seq = journal_seq };
	int ret = 0;

	for (size_t i = 0; i < nr_nodes && !ret; i++) {
		const struct bch_new_node *n = &nodes[i];
		uint8_t devs[BCH_NODE_MAX_REPLICAS];

		for (unsigned r = 0; r < n->nr_ptrs && !ret; r++) {
			const struct bch_node_slot *s = &n->ptr[r];

			devs[r] = s->dev;
			ret = bucket_add(&bk, s->dev, s->sector / bch_fs_member(fs, s->dev)->bucket_size,
					 1) ?:
			      emit_bp(&bk, s, n->btree_id, n->level, n->max_key, true);
		}
		ret = ret ?: node_acct(&bk, n->btree_id, n->level, n->nr_ptrs, devs, 1);
	}
	for (size_t i = 0; i < nr_freed && !ret; i++) {
		const struct bch_old_node *o = &freed[i];
		uint8_t devs[BCH_BTREE_PTR_MAX_PTRS];
		unsigned nr = 0;

		for (unsigned r = 0; r < o->ptr.nr_ptrs && !ret; r++) {
			const struct bch_extent_ptr *p = &o->ptr.ptrs[r];
			const struct bch_member *m = bch_fs_member(fs, p->dev);
			struct bch_node_slot s = { .dev = p->dev, .gen = p->gen, .sector = p->offset };
			struct bch_alloc_v4 a;
			bool has_key;

			if (!m || !fs->devs[p->dev] || p->offset / m->bucket_size >= m->nbuckets)
				continue;
			ret = alloc_of(lc, u0, p->dev, p->offset / m->bucket_size, &a, &has_key, err);
			/*
			 * a stale pointer holds nothing in its bucket, nor one
			 * into a bucket of no btree nodes (an unreadable node's
			 * pointer that went astray)
			 */
			if (ret || a.gen != p->gen || a.data_type != BCH_DATA_btree)
				continue;
			devs[nr++] = p->dev;
			ret = bucket_add(&bk, p->dev, p->offset / m->bucket_size, -1) ?:
			      emit_bp(&bk, &s, o->btree_id, o->level, o->max_key, false);
		}
		if (!ret && nr)
			ret = node_acct(&bk, o->btree_id, o->level, nr, devs, -1);
	}
	/* what sat below unreadable nodes: counted as leaves of their btree */
	for (size_t i = 0; i < nr_orphans && !ret; i++) {
		const struct bch_orphan_bucket *o = &orphans[i];

		ret = (o->nodes ? bucket_add(&bk, o->dev, o->bucket, -(int64_t)o->nodes) : 0) ?:
		      orphan_bps(&bk, o, err);
		/* acct_nodes leaves at once: a damaged alloc key may claim millions */
		if (o->acct_nodes && !ret)
			ret = node_acct(&bk, o->btree_id, 0, 1, &o->dev, -(int64_t)o->acct_nodes);
	}
	if (!ret && bk.nr_b)
		qsort(bk.b, bk.nr_b, sizeof(*bk.b), cmp_bucket_delta);
	for (size_t i = 0; i < bk.nr_b && !ret; ) {
		size_t j = i;
		int64_t n = 0;

		for (; j < bk.nr_b && bk.b[j].dev == bk.b[i].dev && bk.b[j].bucket == bk.b[i].bucket; j++)
			n += bk.b[j].nodes;
		if (n)
			ret = bucket_update(&bk, bk.b[i].dev, bk.b[i].bucket, n, err);
		i = j;
	}
	ret = ret ?: carve_emit(&bk) ?: emit_acct_and_gens(&bk);
	if (ret == -BCH_ERR_NOMEM)
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
	free(bk.b);
	free(bk.acct);
	free(bk.gens);
	free(bk.carve);
	return ret;
}
