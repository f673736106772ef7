/* Copying a directory tree into a new filesystem (format_source.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "backpointers.h"
#include "bkey.h"
#include "btree_alloc.h"
#include "btree_iter.h"
#include "btree_lookup.h"
#include "buckets.h"
#include "check_buckets.h"
#include "checksum.h"
#include "commit.h"
#include "dirents.h"
#include "extents.h"
#include "format_fs.h"
#include "format_source.h"
#include "fs.h"
#include "inode.h"
#include "journal.h"
#include "journal_write.h"
#include "key_updates.h"
#include "lru.h"
#include "str_hash.h"
#include "super_write.h"
#include "vec.h"
#include "xattr.h"

/* upstream's copy reads and writes a file in pieces of this size (WRITE_DATA_BUF) */
#define CHUNK_BYTES		(1u << 20)
#define XATTR_LIST_BYTES	65536u
#define XATTR_VAL_BYTES		65536u
#define DT_REG_TYPE		8u

/* ---- state ---- */

/*
 * Part of a freespace key as the batch found it, and how many of its
 * buckets were taken: a key is cut where the member's btree bitmap
 * changes and at the allocation cursor, so that data keeps off marked
 * buckets and goes on from where it left off, as upstream's allocator
 * does.
 */
struct free_run {
	uint8_t		dev;
	uint8_t		class;			/* RUN_* bits: the order runs are used in */
	uint64_t	start, end, taken;	/* freespace offsets (bucket | genbits << 56) */
	uint64_t	key_end;		/* the key it is part of: position and size */
	uint32_t	key_size;
};

#define RUN_BEFORE_CURSOR	1u
#define RUN_MARKED		2u	/* its buckets are in the btree bitmap */
#define RUN_CLASSES		4u

/* a bucket whose alloc key this batch changes */
struct touched {
	uint8_t			dev;
	uint64_t		bucket;
	struct bch_alloc_v4	old, now;
};

/* the bucket one replica of file data goes into (upstream's write point) */
struct open_bucket {
	bool			open;
	uint8_t			dev;
	uint64_t		bucket;
	struct bch_alloc_v4	a;
	unsigned		batch;		/* batch whose touched[] holds it */
	size_t			touched;
};

/* user data sectors of one replicas set (device list) */
struct acct_sum {
	struct bpos	pos;
	int64_t		v;
	uint8_t		nr;
	uint8_t		devs[BCH_NODE_MAX_REPLICAS];
};

/* (a, b) pairs, a never 0: dirent slots taken in this batch */
struct pair_set {
	uint64_t	(*k)[2];
	size_t		nr, cap;
};

struct hardlink {
	uint64_t			src_dev, src_ino;
	struct bch_inode_unpacked	inode;
};

struct hardlinks {
	struct hardlink	*v;
	size_t		nr, size;
	size_t		*table;		/* index + 1 into v, 0 empty */
	size_t		cap;
};

struct dir_entry {
	uint32_t	name;		/* offset in the frame's names */
	uint8_t		type;		/* d_type as readdir gave it */
};

/* a directory being copied: what the explicit walk stack holds */
struct frame {
	int				fd;
	char				*names;
	size_t				names_len, names_size;
	struct dir_entry		*ents;
	size_t				nr, size, idx;
	struct bch_inode_unpacked	inode;
	struct bch_hash_info		hash;
	struct stat			st;
	size_t				path_len;
	bool				root;
};

struct src_ctx {
	struct bch_fs			*fs;
	const struct bch_source_opts	*o;
	struct bch_source_stats		*st;
	struct bch_error		*err;

	unsigned			block_bytes;
	unsigned			csum_type;
	uint32_t			max_extent;	/* sectors per extent */
	unsigned			nr_replicas;
	unsigned			hash_type;
	uint64_t			now;		/* filesystem time of the copy */
	uint64_t			next_inum;
	uint8_t				cursor[16];
	size_t				batch_keys;
	uint64_t			*reserve;	/* per device, buckets kept for nodes */

	/* the batch */
	struct bch_key_updates		u;
	struct bch_lookup_cache		lc;
	bool				lc_live;
	uint64_t			seq;
	unsigned			batch;
	uint64_t			clock[2];
	int64_t				nr_inodes;
	int64_t				snap_sectors;
	struct acct_sum			*repl;
	size_t				nr_repl, size_repl;
	int64_t				(*dev_acct)[BCH_DATA_NR][3];
	struct free_run			*runs;
	size_t				nr_runs, size_runs;
	size_t				(*run_cur)[RUN_CLASSES]; /* per device and class: next run */
	uint64_t			*alloc_cursor;	/* per device: where data goes on */
	uint64_t			*free_left;	/* per device */
	struct touched			*touched;
	size_t				nr_touched, size_touched;
	struct pair_set			slots;

	struct open_bucket		ob[BCH_NODE_MAX_REPLICAS];

	/* the file whose data is being written */
	bool				cur_active;
	struct bch_inode_unpacked	cur;
	int64_t				cur_acct[3];

	struct hardlinks		hl;

	struct frame			*stack;
	size_t				depth, stack_size;
	char				*path;
	size_t				path_len, path_size;

	uint8_t				*buf;
	char				*xlist, *xval;
	uint64_t			*xused;		/* slots of one inode's xattrs */
};

static int nomem(struct src_ctx *c)
{
	return bch_err(c->err, BCH_ERR_NOMEM, "out of memory");
}

static int sys_err(struct src_ctx *c, const char *what)
{
	int e = errno;

	return bch_err(c->err, BCH_ERR_IO, "%s %s: %s", what, c->path, strerror(e));
}

/* ---- keys ---- */

static int add_key(struct src_ctx *c, unsigned btree, struct bpos p, unsigned type,
		   uint32_t size, const void *val, size_t bytes)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .size = size, .val = val,
			  .val_bytes = (uint16_t)bytes };

	return bch_key_updates_add(&c->u, btree, 0, &k) ? nomem(c) : 0;
}

static int del_key(struct src_ctx *c, unsigned btree, struct bpos p, uint32_t size)
{
	return bch_key_updates_delete(&c->u, btree, 0, p, size) ? nomem(c) : 0;
}

/* disk_accounting types (upstream disk_accounting_format.h) */
#define ACCT_nr_inodes	0u
#define ACCT_inum	8u

static int add_acct(struct src_ctx *c, struct bpos p, unsigned nr, const int64_t *v)
{
	uint8_t val[24];
	bool zero = true;

	for (unsigned i = 0; i < nr; i++) {
		put_le64(val + 8 * i, (uint64_t)v[i]);
		zero &= !v[i];
	}
	return zero ? 0 : add_key(c, BTREE_ID_accounting, p, KEY_TYPE_accounting, 0, val, 8 * nr);
}

static int add_inode(struct src_ctx *c, struct bch_inode_unpacked *in)
{
	uint8_t val[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;

	in->bi_journal_seq = c->seq;
	if (bch_inode_pack(in, val, sizeof(val), &bytes))
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "inode %llu of %s does not pack",
			       (unsigned long long)in->bi_inum, c->path);
	return add_key(c, BTREE_ID_inodes, BPOS(0, in->bi_inum, BCH_ROOT_SNAPSHOT),
		       KEY_TYPE_inode_v3, 0, val, bytes);
}

/* ---- small hash tables ---- */

static size_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ b;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(h ^ h >> 29);
}

static bool pair_has(const struct pair_set *s, uint64_t a, uint64_t b)
{
	if (!s->cap)
		return false;
	for (size_t i = mix(a, b) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->k[i][0])
			return false;
		if (s->k[i][0] == a && s->k[i][1] == b)
			return true;
	}
}

static void pair_put(struct pair_set *s, uint64_t a, uint64_t b)
{
	size_t i = mix(a, b) & (s->cap - 1);

	while (s->k[i][0])
		i = (i + 1) & (s->cap - 1);
	s->k[i][0] = a;
	s->k[i][1] = b;
	s->nr++;
}

static int pair_add(struct pair_set *s, uint64_t a, uint64_t b)
{
	if ((s->nr + 1) * 2 > s->cap) {
		struct pair_set n = { .cap = s->cap ? s->cap * 2 : 1024 };

		n.k = calloc(n.cap, sizeof(*n.k));
		if (!n.k)
			return -BCH_ERR_NOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->k[i][0])
				pair_put(&n, s->k[i][0], s->k[i][1]);
		free(s->k);
		*s = n;
	}
	pair_put(s, a, b);
	return 0;
}

static void pair_clear(struct pair_set *s)
{
	if (s->k)
		memset(s->k, 0, s->cap * sizeof(*s->k));
	s->nr = 0;
}

static struct hardlink *hl_find(struct hardlinks *h, uint64_t dev, uint64_t ino)
{
	if (!h->cap)
		return NULL;
	for (size_t i = mix(dev + 1, ino) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		struct hardlink *l;

		if (!h->table[i])
			return NULL;
		l = &h->v[h->table[i] - 1];
		if (l->src_dev == dev && l->src_ino == ino)
			return l;
	}
}

static void hl_put(struct hardlinks *h, size_t idx)
{
	const struct hardlink *l = &h->v[idx];
	size_t i = mix(l->src_dev + 1, l->src_ino) & (h->cap - 1);

	while (h->table[i])
		i = (i + 1) & (h->cap - 1);
	h->table[i] = idx + 1;
}

static int hl_add(struct hardlinks *h, uint64_t dev, uint64_t ino,
		  const struct bch_inode_unpacked *in)
{
	struct hardlink *l;

	if ((h->nr + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		size_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return -BCH_ERR_NOMEM;
		free(h->table);
		h->table = t;
		h->cap = cap;
		for (size_t i = 0; i < h->nr; i++)
			hl_put(h, i);
	}
	l = BCH_VEC_PUSH(h->v, h->nr, h->size);
	if (!l)
		return -BCH_ERR_NOMEM;
	*l = (struct hardlink){ .src_dev = dev, .src_ino = ino, .inode = *in };
	hl_put(h, h->nr - 1);
	return 0;
}

/* ---- buckets for data ---- */

static const struct bch_member *member(struct src_ctx *c, unsigned dev)
{
	return bch_fs_member(c->fs, dev);
}

/* the alloc key of a bucket as the tree holds it; none: free, gen from bucket_gens */
static int bucket_alloc_get(struct src_ctx *c, unsigned dev, uint64_t b, struct bch_alloc_v4 *a)
{
	struct bkey k;
	int ret = bch_lookup_next(&c->lc, BTREE_ID_alloc, BPOS(dev, b, 0), BPOS(dev, b, 0), &k,
				  c->err);

	memset(a, 0, sizeof(*a));
	if (ret < 0)
		return ret;
	if (ret && !bch_alloc_decode(&k, a, NULL))
		return 0;
	memset(a, 0, sizeof(*a));
	ret = bch_lookup_next(&c->lc, BTREE_ID_bucket_gens, BPOS(dev, b >> 8, 0),
			      BPOS(dev, b >> 8, 0), &k, c->err);
	if (ret < 0)
		return ret;
	if (ret && k.type == KEY_TYPE_bucket_gens && k.val_bytes >= 256)
		a->gen = k.val[b & 255];
	return 0;
}

static bool alloc_free(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_free && !a->dirty_sectors && !a->cached_sectors &&
	       !a->stripe_sectors && !a->stripe && !BCH_ALLOC_V4_NEED_DISCARD(a);
}

/* a device may take a new data bucket: member, rw, user data allowed, space left */
static uint64_t dev_room(struct src_ctx *c, unsigned dev)
{
	const struct bch_member *m = member(c, dev);

	if (!m || !c->fs->devs[dev] || BCH_MEMBER_STATE(m) != 0 ||
	    !(BCH_MEMBER_DATA_ALLOWED(m) & (1u << BCH_DATA_user)))
		return 0;
	return c->free_left[dev] > c->reserve[dev] ? c->free_left[dev] - c->reserve[dev] : 0;
}

static size_t touch(struct src_ctx *c, unsigned dev, uint64_t b, const struct bch_alloc_v4 *old)
{
	struct touched *t = BCH_VEC_PUSH(c->touched, c->nr_touched, c->size_touched);

	if (!t)
		return SIZE_MAX;
	*t = (struct touched){ .dev = (uint8_t)dev, .bucket = b, .old = *old, .now = *old };
	return c->nr_touched - 1;
}

/* the first run of dev and class with buckets left */
static struct free_run *next_run(struct src_ctx *c, unsigned dev, unsigned class)
{
	size_t i = c->run_cur[dev][class];

	while (i < c->nr_runs && c->runs[i].dev == dev &&
	       (c->runs[i].class != class || c->runs[i].taken == c->runs[i].end))
		i++;
	c->run_cur[dev][class] = i;
	return i < c->nr_runs && c->runs[i].dev == dev ? &c->runs[i] : NULL;
}

/*
 * The next free bucket of dev, in freespace order from the allocation
 * cursor on, then from the start; first among those the btree bitmap does
 * not mark (upstream alloc_foreground.c: data asks for BTREE_BITMAP_NO,
 * then takes any; each search goes on from the device's alloc_cursor)
 */
static int take_bucket(struct src_ctx *c, unsigned dev, uint64_t *bucket, struct bch_alloc_v4 *a)
{
	while (1) {
		struct free_run *r = NULL;
		uint64_t b;
		int ret;

		for (unsigned class = 0; class < RUN_CLASSES && !r; class++)
			r = next_run(c, dev, class);
		if (!r)
			return bch_err(c->err, BCH_ERR_RANGE, "device %u: no free bucket left for %s",
				       dev, c->path);
		b = bch_freespace_offset_bucket(r->taken++);
		c->free_left[dev]--;
		c->alloc_cursor[dev] = b + 1;
		ret = bucket_alloc_get(c, dev, b, a);
		if (ret)
			return ret;
		/* an index entry for a bucket that is not free: leave both alone */
		if (!alloc_free(a) || b >= member(c, dev)->nbuckets ||
		    bch_dev_is_meta_bucket(c->fs, dev, b))
			continue;
		*bucket = b;
		return 0;
	}
}

/*
 * A new bucket for replica r, on the device with the most room that no
 * other replica of the write uses. Upstream's allocator prefers the
 * emptiest devices the same way (alloc_foreground.c, the device stripe).
 */
static int open_new(struct src_ctx *c, unsigned r)
{
	struct open_bucket *ob = &c->ob[r];
	struct bch_alloc_v4 old;
	unsigned best = UINT32_MAX;
	uint64_t best_room = 0;
	int ret;

	for (unsigned d = 0; d < c->fs->nr_devs; d++) {
		uint64_t room = dev_room(c, d);
		bool used = false;

		for (unsigned o = 0; o < c->nr_replicas; o++)
			used |= o != r && c->ob[o].open && c->ob[o].dev == d;
		if (!used && room > best_room) {
			best = d;
			best_room = room;
		}
	}
	if (best == UINT32_MAX)
		return bch_err(c->err, BCH_ERR_RANGE, "no space left on the filesystem for %s",
			       c->path);
	ret = take_bucket(c, best, &ob->bucket, &old);
	if (ret)
		return ret;
	ob->open = true;
	ob->dev = (uint8_t)best;
	ob->a = old;
	ob->a.data_type = BCH_DATA_user;
	ob->a.dirty_sectors = 0;
	ob->a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD | BCH_ALLOC_V4_FLAG_NEED_INC_GEN |
		      BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;
	ob->a.io_time[BCH_IO_TIME_READ] = c->clock[0];
	ob->a.io_time[BCH_IO_TIME_WRITE] = c->clock[1];
	ob->a.journal_seq_nonempty = c->seq;
	ob->a.journal_seq_empty = 0;
	ob->batch = c->batch;
	ob->touched = touch(c, best, ob->bucket, &old);
	return ob->touched == SIZE_MAX ? nomem(c) : 0;
}

static uint32_t ob_room(struct src_ctx *c, const struct open_bucket *ob)
{
	return ob->open ? member(c, ob->dev)->bucket_size - ob->a.dirty_sectors : 0;
}

/* every replica has a bucket with room; a bucket kept from the last batch is touched again */
static int ensure_open(struct src_ctx *c)
{
	for (unsigned r = 0; r < c->nr_replicas; r++) {
		struct open_bucket *ob = &c->ob[r];
		int ret;

		if (!ob_room(c, ob)) {
			ob->open = false;
			ret = open_new(c, r);
			if (ret)
				return ret;
		}
		if (ob->batch != c->batch) {
			ob->batch = c->batch;
			ob->touched = touch(c, ob->dev, ob->bucket, &ob->a);
			if (ob->touched == SIZE_MAX)
				return nomem(c);
		}
	}
	return 0;
}

/* ---- batches ---- */

/* does the member's btree_allocated_bitmap cover all of bucket b (upstream sb-members.h)? */
static bool btree_bitmap_marked(const struct bch_member *m, uint64_t b)
{
	uint64_t start = b * m->bucket_size, end = start + m->bucket_size;
	unsigned shift = m->btree_bitmap_shift;

	if (shift >= 58 || end > 64ULL << shift)
		return false;
	for (uint64_t bit = start >> shift; bit << shift < end; bit++)
		if (!(m->btree_allocated_bitmap >> bit & 1))
			return false;
	return true;
}

/*
 * Where the run of buckets of one class from freespace offset off ends,
 * at most at end: never across the allocation cursor, nor where the
 * btree bitmap changes
 */
static uint64_t run_end(struct src_ctx *c, const struct bch_member *m, unsigned dev,
			uint64_t off, uint64_t end, bool marked)
{
	uint64_t base = off & ~BCH_FREESPACE_BUCKET_MASK, first = off - base;
	uint64_t cursor = c->alloc_cursor[dev], stop = end, o;

	if (first < cursor && cursor < first + (end - off))
		stop = base + cursor;
	for (o = off + 1; o < stop; o++) {
		uint64_t b = o - base;

		/* past what the 64 bits cover nothing is marked */
		if (!marked && (m->btree_bitmap_shift >= 58 ||
				b * m->bucket_size >= 64ULL << m->btree_bitmap_shift))
			return stop;
		if (btree_bitmap_marked(m, b) != marked)
			break;
	}
	return o;
}

/* one freespace key, cut where the btree bitmap changes and at the cursor */
static int add_runs(struct src_ctx *c, const struct bkey *k)
{
	unsigned dev = (unsigned)k->p.inode;
	const struct bch_member *m = member(c, dev);
	uint64_t off = k->p.offset - k->size;

	while (off < k->p.offset) {
		uint64_t b = bch_freespace_offset_bucket(off);
		bool marked = btree_bitmap_marked(m, b);
		struct free_run *r = BCH_VEC_PUSH(c->runs, c->nr_runs, c->size_runs);
		uint64_t end = run_end(c, m, dev, off, k->p.offset, marked);

		if (!r)
			return nomem(c);
		*r = (struct free_run){ .dev = (uint8_t)dev, .start = off, .end = end, .taken = off,
					.class = (uint8_t)((marked ? RUN_MARKED : 0) |
						(b < c->alloc_cursor[dev] ? RUN_BEFORE_CURSOR : 0)),
					.key_end = k->p.offset, .key_size = k->size };
		off = end;
	}
	c->free_left[k->p.inode] += k->size;
	return 0;
}

static int load_runs(struct src_ctx *c)
{
	struct bch_btree_iter it;
	struct bkey k;
	int ret;

	c->nr_runs = 0;
	memset(c->free_left, 0, c->fs->nr_devs * sizeof(*c->free_left));
	bch_btree_iter_init(&it, c->fs, BTREE_ID_freespace, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, c->err)) > 0) {
		if (k.type != KEY_TYPE_set || !k.size || k.size > k.p.offset ||
		    k.p.inode >= c->fs->nr_devs || !member(c, (unsigned)k.p.inode))
			continue;
		ret = add_runs(c, &k);
		if (ret)
			break;
	}
	bch_btree_iter_exit(&it);
	for (unsigned d = 0; d < c->fs->nr_devs; d++)
		for (unsigned class = 0; class < RUN_CLASSES; class++)
			c->run_cur[d][class] = c->nr_runs;
	for (size_t i = c->nr_runs; i-- > 0;)
		for (unsigned class = 0; class < RUN_CLASSES; class++)
			c->run_cur[c->runs[i].dev][class] = i;
	return ret < 0 ? ret : 0;
}

static void acct_bucket_delta(struct src_ctx *c, unsigned dev, const struct bch_alloc_v4 *old,
			      const struct bch_alloc_v4 *now)
{
	int64_t bs = member(c, dev)->bucket_size;

	bch_acct_bucket(c->dev_acct[dev], old, bs, -1);
	bch_acct_bucket(c->dev_acct[dev], now, bs, 1);
}

static int add_alloc(struct src_ctx *c, unsigned dev, uint64_t b, const struct bch_alloc_v4 *a)
{
	uint8_t val[BCH_ALLOC_V4_BYTES];

	bch_alloc_v4_encode(a, val);
	return add_key(c, BTREE_ID_alloc, BPOS(dev, b, 0), KEY_TYPE_alloc_v4, 0, val, sizeof(val));
}

/*
 * Buckets the last commit freed (old btree nodes, now need_discard) made
 * free again, as upstream's discard worker does between our batches
 * (alloc_background.c, discard_one_bucket): need_discard cleared, the
 * need_discard entry swapped for a freespace one.
 */
static int discard_one(struct src_ctx *c, unsigned dev, uint64_t b)
{
	unsigned version = c->fs->sb->version;
	struct bch_alloc_v4 old, a;
	int ret = bucket_alloc_get(c, dev, b, &old);

	if (ret || old.data_type != BCH_DATA_need_discard)
		return ret;
	a = old;
	a.flags &= ~BCH_ALLOC_V4_FLAG_NEED_DISCARD;
	/* v1.39.2's discard forgets both journal sequence numbers (alloc/discard.c) */
	if (version >= BCH_VERSION_1_38)
		a.journal_seq_nonempty = a.journal_seq_empty = 0;
	a.data_type = (uint8_t)bch_alloc_data_type_derived(&a, BCH_DATA_free);
	ret = add_alloc(c, dev, b, &a) ?:
	      del_key(c, BTREE_ID_need_discard,
		      bch_need_discard_key_pos(version, dev, b, old.journal_seq_empty), 0);
	if (!ret && a.data_type == BCH_DATA_free)
		ret = add_key(c, BTREE_ID_freespace,
			      BPOS(dev, bch_freespace_offset(b, a.gen, a.oldest_gen) + 1, 0),
			      KEY_TYPE_set, 1, NULL, 0);
	acct_bucket_delta(c, dev, &old, &a);
	c->st->discarded++;
	return ret;
}

static int discard_freed(struct src_ctx *c)
{
	struct bch_btree_iter it;
	struct bpos *v = NULL;
	size_t nr = 0, size = 0;
	struct bkey k;
	int ret;

	bch_btree_iter_init(&it, c->fs, BTREE_ID_need_discard, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, c->err)) > 0) {
		struct bpos *p = BCH_VEC_PUSH(v, nr, size);

		if (!p) {
			ret = nomem(c);
			break;
		}
		*p = k.p;
	}
	bch_btree_iter_exit(&it);
	for (size_t i = 0; i < nr && ret >= 0; i++) {
		unsigned dev;
		uint64_t b;

		/* dev:bucket, or from 1.38 journal_seq_empty:(dev << 48 | bucket) */
		bch_need_discard_key_bucket(c->fs->sb->version, v[i], &dev, &b);
		if (dev < c->fs->nr_devs && member(c, dev))
			ret = discard_one(c, dev, b);
	}
	free(v);
	return ret < 0 ? ret : 0;
}

static int batch_begin(struct src_ctx *c)
{
	c->batch++;
	c->nr_inodes = 0;
	c->snap_sectors = 0;
	c->nr_repl = 0;
	c->nr_touched = 0;
	memset(c->dev_acct, 0, c->fs->nr_devs * sizeof(*c->dev_acct));
	pair_clear(&c->slots);
	c->clock[0] = bch_fs_io_clock(c->fs, 0);
	c->clock[1] = bch_fs_io_clock(c->fs, 1);
	bch_lookup_cache_init(&c->lc, c->fs);
	c->lc_live = true;
	return load_runs(c) ?: discard_freed(c);
}

/* each bucket's new alloc key, fragmentation LRU entry and share of the accounting */
static int emit_buckets(struct src_ctx *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_touched && !ret; i++) {
		const struct touched *t = &c->touched[i];
		unsigned bs = member(c, t->dev)->bucket_size;
		/* the device's own fragmentation LRU from 1.39 */
		unsigned frag_id = bch_lru_frag_id(c->fs->sb->version, t->dev);
		uint64_t lru_old = bch_alloc_lru_idx_fragmentation(&t->old, bs);
		uint64_t lru_new = bch_alloc_lru_idx_fragmentation(&t->now, bs);

		ret = add_alloc(c, t->dev, t->bucket, &t->now);
		if (!ret && lru_old != lru_new && lru_old)
			ret = del_key(c, BTREE_ID_lru,
				      bch_lru_pos(frag_id, lru_old, t->dev, t->bucket), 0);
		if (!ret && lru_old != lru_new && lru_new)
			ret = add_key(c, BTREE_ID_lru,
				      bch_lru_pos(frag_id, lru_new, t->dev, t->bucket),
				      KEY_TYPE_set, 0, NULL, 0);
		acct_bucket_delta(c, t->dev, &t->old, &t->now);
	}
	return ret;
}

/*
 * Runs [i, j) of one freespace key: if buckets were taken, the key goes
 * and what is left of it comes back as keys ending where each free
 * piece ends (one of them, at the old end, replacing it)
 */
static int emit_key_runs(struct src_ctx *c, size_t i, size_t j)
{
	const struct free_run *r = &c->runs[i];
	bool changed = false;
	int ret;

	for (size_t n = i; n < j; n++)
		changed |= c->runs[n].taken != c->runs[n].start;
	if (!changed)
		return 0;
	ret = del_key(c, BTREE_ID_freespace, BPOS(r->dev, r->key_end, 0), r->key_size);
	for (size_t n = i; n < j && !ret;) {
		uint64_t start = c->runs[n].taken, end = c->runs[n].end;

		/* a piece goes on into the next run if nothing of that was taken */
		for (n++; n < j && c->runs[n].taken == c->runs[n].start && c->runs[n].start == end; n++)
			end = c->runs[n].end;
		if (end > start)
			ret = add_key(c, BTREE_ID_freespace, BPOS(r->dev, end, 0), KEY_TYPE_set,
				      (uint32_t)(end - start), NULL, 0);
	}
	return ret;
}

static int emit_runs(struct src_ctx *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_runs && !ret;) {
		size_t j = i + 1;

		while (j < c->nr_runs && c->runs[j].dev == c->runs[i].dev &&
		       c->runs[j].key_end == c->runs[i].key_end)
			j++;
		ret = emit_key_runs(c, i, j);
		i = j;
	}
	return ret;
}

/* the key's bytes as upstream's accounting counts them: unpacked header and value */
static int64_t key_acct_bytes(size_t val_bytes)
{
	return 40 + (int64_t)((val_bytes + 7) & ~(size_t)7);
}

static bool key_counted(unsigned type)
{
	return type != KEY_TYPE_deleted && type != KEY_TYPE_whiteout &&
	       type != KEY_TYPE_extent_whiteout;
}

/*
 * From 1.39 the accounting counts the keys of each snapshot btree per
 * snapshot: how many, their bytes and, for extents, their sectors (v1.39.2
 * alloc/buckets.c, bch2_trigger_snapshot_nr_keys and the extent trigger).
 * The batch's updates of those btrees against what the tree holds; the
 * extents are all new. Everything the copy writes is in the root snapshot.
 */
static int emit_snapshot_acct(struct src_ctx *c)
{
	static const unsigned btrees[] = { BTREE_ID_extents, BTREE_ID_inodes, BTREE_ID_dirents,
					   BTREE_ID_xattrs };
	int64_t v[4][3] = { { 0 } };
	int ret = 0;

	bch_key_updates_finish(&c->u);
	for (size_t i = 0; i < c->u.nr && ret >= 0; i++) {
		const struct bch_key_update *k = &c->u.v[i];
		struct bpos p = bch_key_update_pos(k);
		struct bkey old;
		unsigned b = 0;

		while (b < 4 && btrees[b] != k->btree_id)
			b++;
		if (b == 4 || k->level || p.snapshot != BCH_ROOT_SNAPSHOT)
			continue;
		if (key_counted(k->bytes[2])) {
			v[b][0]++;
			v[b][1] += (int64_t)bch_key_update_bytes(k);
		}
		if (k->btree_id == BTREE_ID_extents)
			continue;
		ret = bch_lookup_next(&c->lc, k->btree_id, p, p, &old, c->err);
		if (ret > 0 && key_counted(old.type)) {
			v[b][0]--;
			v[b][1] -= key_acct_bytes(old.val_bytes);
		}
	}
	v[0][2] = c->snap_sectors;
	for (unsigned b = 0; b < 4 && ret >= 0; b++)
		ret = add_acct(c, bch_acct_snapshot_pos(BCH_ROOT_SNAPSHOT, btrees[b]), 3, v[b]);
	return ret < 0 ? ret : 0;
}

static int emit_acct(struct src_ctx *c)
{
	int ret = add_acct(c, BPOS(0, 0, 0), 1, &c->nr_inodes);

	/* before 1.39 the extents' sectors per snapshot, one counter */
	if (!ret && c->fs->sb->version < BCH_VERSION_1_39)
		ret = add_acct(c, bch_acct_snapshot_pos(BCH_ROOT_SNAPSHOT, 0), 1, &c->snap_sectors);
	else if (!ret)
		ret = emit_snapshot_acct(c);

	for (size_t i = 0; i < c->nr_repl && !ret; i++)
		ret = add_acct(c, c->repl[i].pos, 1, &c->repl[i].v);
	for (unsigned d = 0; d < c->fs->nr_devs && !ret; d++)
		for (unsigned t = 0; t < BCH_DATA_NR && !ret; t++)
			ret = add_acct(c, bch_acct_dev_data_type_pos(d, t), 3, c->dev_acct[d][t]);
	return ret;
}

/* the file being written, as far as it got: its inode and its inum accounting */
static int emit_cur(struct src_ctx *c)
{
	uint8_t s[20] = { ACCT_inum };
	int ret;

	if (!c->cur_active)
		return 0;
	put_le64(s + 1, c->cur.bi_inum);
	ret = add_inode(c, &c->cur) ?: add_acct(c, bch_acct_pos(s), 3, c->cur_acct);
	memset(c->cur_acct, 0, sizeof(c->cur_acct));
	return ret;
}

static int flush_devices(struct src_ctx *c)
{
	for (unsigned d = 0; d < c->fs->nr_devs; d++) {
		struct bch_io *io = c->fs->devs[d] ? c->fs->devs[d]->io : NULL;
		int ret = io && io->ops->flush ? io->ops->flush(io, c->err) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The superblock lists every replicas set of user data (1.36 as well),
 * and upstream marks a set there before data of it is committed
 * (alloc/replicas.c, replicas marking): a commit then keeps what it says.
 * Not once no_sb_user_data_replicas (1.36) is an incompatible feature in
 * use, as on a new 1.39 filesystem: then only btree and journal sets are
 * kept there.
 */
static int mark_sb_replicas(struct src_ctx *c)
{
	if (bits64(c->fs->sb->flags[5], 32, 48) >= BCH_VERSION_1_36)
		return 0;
	for (size_t i = 0; i < c->nr_repl; i++) {
		uint8_t e[3 + BCH_NODE_MAX_REPLICAS] = { BCH_DATA_user, c->repl[i].nr, 1 };
		int ret;

		memcpy(e + 3, c->repl[i].devs, c->repl[i].nr);
		ret = bch_sb_write_replicas(c->fs, e, c->err);
		/* written: the next entry and the commit start from that superblock */
		if (ret > 0)
			ret = bch_fs_reload(c->fs, c->err);
		if (ret)
			return ret;
	}
	return 0;
}

/* everything of the batch into the btrees: the data is on disk first */
static int batch_commit(struct src_ctx *c)
{
	struct bch_btree_commit_info info;
	int ret;

	put_le64(c->cursor + 8, c->next_inum);
	ret = emit_cur(c) ?: emit_buckets(c) ?: emit_runs(c) ?: emit_acct(c) ?:
	      add_key(c, BTREE_ID_logged_ops, bch_format_inode_cursor_pos(c->fs),
		      KEY_TYPE_inode_alloc_cursor, 0, c->cursor, sizeof(c->cursor));
	bch_lookup_cache_exit(&c->lc);
	c->lc_live = false;
	ret = ret ?: flush_devices(c) ?: mark_sb_replicas(c) ?:
	      bch_commit_btrees(c->fs, &c->u, NULL, NULL, NULL, &info, c->err);
	bch_key_updates_free(&c->u);
	/* what the commit allocated goes back: memory stays that of one batch */
	malloc_trim(0);
	/* the next batch starts from what is on disk now */
	ret = ret ?: bch_fs_reload(c->fs, c->err);
	if (ret)
		return ret;
	c->st->commits++;
	c->seq = bch_journal_next_seq(c->fs);
	return 0;
}

static int maybe_commit(struct src_ctx *c)
{
	if (c->u.nr < c->batch_keys)
		return 0;
	return batch_commit(c) ?: batch_begin(c);
}

/* ---- file data ---- */

static int acct_replicas(struct src_ctx *c, const struct bch_extent_ptr *p, unsigned nr,
			 int64_t sectors)
{
	uint8_t devs[BCH_NODE_MAX_REPLICAS];
	struct bpos pos;
	struct acct_sum *s;

	for (unsigned i = 0; i < nr; i++) {
		unsigned j = i;

		for (; j && devs[j - 1] > p[i].dev; j--)
			devs[j] = devs[j - 1];
		devs[j] = p[i].dev;
	}
	pos = bch_acct_replicas_pos(BCH_DATA_user, nr, devs);
	for (size_t i = 0; i < c->nr_repl; i++)
		if (bpos_eq(c->repl[i].pos, pos)) {
			c->repl[i].v += sectors;
			return 0;
		}
	s = BCH_VEC_PUSH(c->repl, c->nr_repl, c->size_repl);
	if (!s)
		return nomem(c);
	*s = (struct acct_sum){ .pos = pos, .v = sectors, .nr = (uint8_t)nr };
	memcpy(s->devs, devs, nr);
	return 0;
}

/* the extent key, one backpointer per pointer (upstream backpointers.h) */
static int add_extent(struct src_ctx *c, uint64_t end, uint32_t n, const struct bch_extent_crc *crc,
		      const struct bch_extent_ptr *p, unsigned nr)
{
	struct bch_extent_desc d = { .pos = BPOS(c->cur.bi_inum, end, BCH_ROOT_SNAPSHOT),
				     .size = n, .crc = *crc, .nr_ptrs = nr, .ptrs = p };
	uint8_t val[BCH_EXTENT_VAL_MAX_BYTES(BCH_NODE_MAX_REPLICAS)];
	struct bkey k;
	int ret = bch_extent_key_build(&d, val, sizeof(val), &k, c->err);

	if (ret || bch_key_updates_add(&c->u, BTREE_ID_extents, 0, &k))
		return ret ?: nomem(c);
	for (unsigned r = 0; r < nr && !ret; r++) {
		uint8_t bv[BCH_BACKPOINTER_BYTES];
		struct bch_backpointer bp = {
			.btree_id = BTREE_ID_extents, .data_type = BCH_DATA_user,
			.bucket_gen = p[r].gen, .bucket_len = n, .pos = d.pos,
		};

		bch_backpointer_encode(bv, &bp);
		ret = add_key(c, BTREE_ID_backpointers,
			      bch_ptr_to_bp_pos(p[r].dev, p[r].offset, 0, c->fs->bp_shift),
			      KEY_TYPE_backpointer, 0, bv, sizeof(bv));
	}
	return ret;
}

/*
 * One piece of file data, written as extents the way upstream's write
 * path cuts them (data/write.c): at the end of the open bucket of each
 * replica and, when checksummed, at encoded_extent_max.
 */
static int write_piece(struct src_ctx *c, uint64_t sector, const uint8_t *data, uint32_t *done,
		       uint32_t left)
{
	struct bch_extent_ptr p[BCH_NODE_MAX_REPLICAS] = { { 0 } };
	struct bch_extent_crc crc = { .csum_type = (uint8_t)c->csum_type };
	uint32_t n = left < c->max_extent ? left : c->max_extent;
	int ret = ensure_open(c);

	if (ret)
		return ret;
	for (unsigned r = 0; r < c->nr_replicas; r++)
		if (ob_room(c, &c->ob[r]) < n)
			n = ob_room(c, &c->ob[r]);
	for (unsigned r = 0; r < c->nr_replicas && !ret; r++) {
		struct open_bucket *ob = &c->ob[r];

		p[r] = (struct bch_extent_ptr){ .dev = ob->dev, .gen = ob->a.gen,
			.offset = ob->bucket * member(c, ob->dev)->bucket_size + ob->a.dirty_sectors };
		ret = bch_io_write(c->fs->devs[ob->dev]->io, p[r].offset << 9, data,
				   (size_t)n << 9, c->err);
	}
	if (ret)
		return ret;
	if (c->csum_type) {
		crc.compressed_size = crc.uncompressed_size = n;
		if (bch_checksum(c->csum_type, NULL, (struct bch_nonce){ { 0 } }, data,
				 (size_t)n << 9, &crc.csum))
			return bch_err(c->err, BCH_ERR_UNSUPPORTED, "checksum type %u", c->csum_type);
	}
	ret = add_extent(c, sector + n, n, &crc, p, c->nr_replicas) ?:
	      acct_replicas(c, p, c->nr_replicas, (int64_t)n * c->nr_replicas);
	if (ret)
		return ret;
	for (unsigned r = 0; r < c->nr_replicas; r++) {
		c->ob[r].a.dirty_sectors += n;
		c->touched[c->ob[r].touched].now = c->ob[r].a;
	}
	c->snap_sectors += (int64_t)n * c->nr_replicas;
	c->cur_acct[0] += 1;
	c->cur_acct[1] += n;
	c->cur_acct[2] += (int64_t)n * c->nr_replicas;
	c->cur.bi_sectors += n;
	c->st->extents++;
	*done = n;
	return 0;
}

/* len bytes (whole blocks) of the file at byte offset off */
static int write_run(struct src_ctx *c, uint64_t off, const uint8_t *data, size_t len)
{
	uint64_t sector = off >> 9;
	uint32_t left = (uint32_t)(len >> 9);

	c->st->bytes += len;
	while (left) {
		uint32_t n = 0;
		int ret = write_piece(c, sector, data, &n, left) ?: maybe_commit(c);

		if (ret)
			return ret;
		sector += n;
		data += (size_t)n << 9;
		left -= n;
	}
	return 0;
}

static bool block_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/*
 * One read piece: upstream compares it with what the new file reads back
 * (zeros) and writes only the differing blocks, each run of them as one
 * write (posix_to_bcachefs.c, copy_sync_file_range).
 */
static int write_chunk(struct src_ctx *c, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t bs = c->block_bytes;

	for (size_t o = 0; o < len;) {
		size_t s;

		while (o < len && block_zero(buf + o, bs))
			o += bs;
		s = o;
		while (o < len && !block_zero(buf + o, bs))
			o += bs;
		if (o > s) {
			int ret = write_run(c, off + s, buf + s, o - s);

			if (ret)
				return ret;
		}
	}
	return 0;
}

static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (!r)
			break;	/* shrank meanwhile: the rest reads as zeros */
		buf += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

struct range {
	uint64_t	start, end;
};

/* the next data of the file at or after o, as [start, end) (end 0: none) */
static int seek_data(int fd, uint64_t size, uint64_t o, struct range *r)
{
	off_t s = lseek(fd, (off_t)o, SEEK_DATA), e;

	*r = (struct range){ 0, 0 };
	if (s < 0 && errno == ENXIO)
		return 0;
	if (s < 0 && errno == EINVAL) {
		/* no SEEK_DATA here: everything from o is data */
		if (o < size)
			*r = (struct range){ o, size };
		return 0;
	}
	if (s < 0)
		return -1;
	e = lseek(fd, s, SEEK_HOLE);
	if (e < 0 && errno == ENXIO)
		e = (off_t)size;
	if (e < 0)
		return -1;
	*r = (struct range){ (uint64_t)s, (uint64_t)e };
	return 0;
}

static uint64_t round_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

/* data ranges widened to blocks, touching ones merged (upstream's seek_data_aligned) */
static int seek_data_aligned(struct src_ctx *c, int fd, uint64_t size, uint64_t o,
			     struct range *r)
{
	uint64_t bs = c->block_bytes;
	struct range n;

	if (seek_data(fd, size, o, r))
		return -1;
	if (!r->end)
		return 0;
	r->start = round_down(r->start, bs);
	r->end = round_down(r->end + bs - 1, bs);
	while (1) {
		if (seek_data(fd, size, r->end, &n))
			return -1;
		if (!n.end || r->end < round_down(n.start, bs))
			return 0;
		r->end = round_down(n.end + bs - 1, bs);
	}
}

static int copy_file_data(struct src_ctx *c, int fd, uint64_t size)
{
	struct range r;
	uint64_t pos = 0;

	while (1) {
		if (seek_data_aligned(c, fd, size, pos, &r))
			return sys_err(c, "seeking data in");
		if (!r.end)
			return 0;
		for (uint64_t s = r.start; s < r.end; s += CHUNK_BYTES) {
			size_t b = r.end - s < CHUNK_BYTES ? (size_t)(r.end - s) : CHUNK_BYTES;
			int ret;

			memset(c->buf, 0, b);
			if (s < size && read_full(fd, c->buf, size - s < b ? (size_t)(size - s) : b, s))
				return sys_err(c, "reading");
			ret = write_chunk(c, s, c->buf, b);
			if (ret)
				return ret;
		}
		pos = r.end;
	}
}

/* ---- names ---- */

static int path_set(struct src_ctx *c, size_t base, const char *name)
{
	size_t n = strlen(name), need = base + 1 + n + 1;

	if (need > c->path_size) {
		char *p = realloc(c->path, need * 2);

		if (!p)
			return nomem(c);
		c->path = p;
		c->path_size = need * 2;
	}
	c->path[base] = '/';
	memcpy(c->path + base + 1, name, n + 1);
	c->path_len = base + 1 + n;
	return 0;
}

/* is dirent slot (dir, off) taken, in this batch or in the tree? */
static int slot_taken(struct src_ctx *c, uint64_t dir, uint64_t off, bool *taken)
{
	struct bpos p = BPOS(dir, off, BCH_ROOT_SNAPSHOT);
	struct bkey k;
	int ret;

	*taken = pair_has(&c->slots, dir, off);
	if (*taken)
		return 0;
	ret = bch_lookup_next(&c->lc, BTREE_ID_dirents, p, p, &k, c->err);
	if (ret < 0)
		return ret;
	/* a hash whiteout is a free slot for an insert (upstream str_hash.h) */
	*taken = ret > 0 && k.type != KEY_TYPE_hash_whiteout;
	return 0;
}

/* a dirent for name in f's directory, at the first free slot from its hash */
static int add_dirent(struct src_ctx *c, struct frame *f, const char *name, unsigned d_type,
		      uint64_t inum, uint64_t *offset)
{
	struct bch_dirent_unpacked d = { .d_inum = inum, .d_type = (uint8_t)d_type,
					 .name = (const uint8_t *)name,
					 .name_len = (unsigned)strlen(name) };
	uint8_t val[BCH_DIRENT_MAX_BYTES];
	uint64_t dir = f->inode.bi_inum, off = bch_dirent_hash(&f->hash, name, d.name_len);
	size_t bytes;
	bool taken;
	int ret;

	if (bch_dirent_pack(&d, val, sizeof(val), &bytes))
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "%s: name not allowed in bcachefs", c->path);
	while (1) {
		ret = slot_taken(c, dir, off, &taken);
		if (ret)
			return ret;
		if (!taken)
			break;
		off++;
	}
	if (pair_add(&c->slots, dir, off))
		return nomem(c);
	*offset = off;
	return add_key(c, BTREE_ID_dirents, BPOS(dir, off, BCH_ROOT_SNAPSHOT), KEY_TYPE_dirent, 0,
		       val, bytes);
}

static bool slot_used(const uint64_t *used, unsigned nr, uint64_t off)
{
	for (unsigned i = 0; i < nr; i++)
		if (used[i] == off)
			return true;
	return false;
}

/* one attribute: at its hash, past the slots this inode's earlier ones took */
static int add_xattr(struct src_ctx *c, const struct bch_inode_unpacked *in,
		     const struct bch_hash_info *h, unsigned type, const char *name,
		     const char *value, size_t len, uint64_t *used, unsigned nr_used)
{
	struct bch_xattr_unpacked x = { .type = (uint8_t)type, .name = (const uint8_t *)name,
					.name_len = (unsigned)strlen(name),
					.value = (const uint8_t *)value, .val_len = (unsigned)len };
	uint8_t val[BCH_XATTR_MAX_BYTES];
	uint64_t off = bch_xattr_hash(h, type, name, x.name_len);
	size_t bytes;
	int ret = bch_xattr_pack(&x, val, sizeof(val), &bytes);

	if (ret)
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "%s: xattr %s does not fit a bcachefs key",
			       c->path, name);
	while (slot_used(used, nr_used, off))
		off++;
	used[nr_used] = off;
	return add_key(c, BTREE_ID_xattrs, BPOS(in->bi_inum, off, BCH_ROOT_SNAPSHOT),
		       KEY_TYPE_xattr, 0, val, bytes);
}

/* the user, trusted and security attributes of c->path (upstream's copy_xattrs) */
static int copy_xattrs(struct src_ctx *c, const struct bch_inode_unpacked *in)
{
	struct bch_hash_info h;
	unsigned nr_used = 0;
	ssize_t n = llistxattr(c->path, c->xlist, XATTR_LIST_BYTES);

	if (n < 0 && (errno == ENOTSUP || errno == ENOSYS))
		return 0;
	if (n < 0)
		return sys_err(c, "listing the xattrs of");
	if (bch_hash_info_from_inode(&h, in))
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "hash type of inode %llu",
			       (unsigned long long)in->bi_inum);
	for (const char *a = c->xlist; a < c->xlist + n; a += strlen(a) + 1) {
		ssize_t len = lgetxattr(c->path, a, c->xval, XATTR_VAL_BYTES);
		const char *name;
		unsigned type;
		int ret;

		if (len < 0 && errno == ENODATA)
			continue;
		if (len < 0)
			return sys_err(c, "reading an xattr of");
		if (bch_xattr_name_parse(a, &type, &name)) {
			c->st->skipped_xattrs++;
			continue;
		}
		ret = add_xattr(c, in, &h, type, name, c->xval, (size_t)len, c->xused, nr_used++);
		if (ret)
			return ret;
		c->st->xattrs++;
	}
	return 0;
}

/* ---- inodes ---- */

static uint64_t fs_time(struct src_ctx *c, const struct timespec *ts)
{
	const struct bch_sb *sb = c->fs->sb;
	int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec - (int64_t)sb->time_base_lo;

	return (uint64_t)(sb->time_precision > 1 ? ns / (int64_t)sb->time_precision : ns);
}

/* a new inode as upstream's create path starts it (inode.c, inode init) */
static void inode_new(struct src_ctx *c, struct bch_inode_unpacked *in, const struct stat *st)
{
	memset(in, 0, sizeof(*in));
	in->bi_inum = c->next_inum++;
	in->bi_snapshot = BCH_ROOT_SNAPSHOT;
	in->bi_mode = (uint16_t)st->st_mode;
	in->bi_uid = st->st_uid;
	in->bi_gid = st->st_gid;
	/* the kernel's device number encoding, major << 20 | minor */
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		in->bi_dev = (uint32_t)(major(st->st_rdev) << 20 | (minor(st->st_rdev) & 0xfffff));
	bch_inode_set_str_hash(in, c->hash_type);
	randombytes_buf(&in->bi_hash_seed, sizeof(in->bi_hash_seed));
	in->bi_otime = c->now;
	in->bi_atime = in->bi_mtime = in->bi_ctime = c->now;
}

static void inode_times(struct src_ctx *c, struct bch_inode_unpacked *in, const struct stat *st)
{
	in->bi_atime = fs_time(c, &st->st_atim);
	in->bi_mtime = fs_time(c, &st->st_mtim);
	in->bi_ctime = fs_time(c, &st->st_ctim);
}

static int copy_regular(struct src_ctx *c, int dirfd, const char *name, const struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME);
	int ret;

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return sys_err(c, "opening");
	c->cur.bi_size = (uint64_t)st->st_size;
	ret = copy_file_data(c, fd, (uint64_t)st->st_size);
	close(fd);
	c->st->files++;
	return ret;
}

/* the target, zero-padded to a block, is the symlink's data (upstream's copy_link) */
static int copy_symlink(struct src_ctx *c, int dirfd, const char *name)
{
	ssize_t n = readlinkat(dirfd, name, (char *)c->buf, CHUNK_BYTES);
	size_t len;

	if (n < 0)
		return sys_err(c, "reading the symlink");
	len = ((size_t)n + c->block_bytes - 1) / c->block_bytes * c->block_bytes;
	memset(c->buf + n, 0, len - (size_t)n);
	c->cur.bi_size = (uint64_t)n;
	c->st->symlinks++;
	return write_run(c, 0, c->buf, len);
}

/* another name for a file copied already: a dirent and one more link */
static int add_link(struct src_ctx *c, struct frame *f, const char *name, struct hardlink *l)
{
	uint64_t off;
	int ret = add_dirent(c, f, name, DT_REG_TYPE, l->inode.bi_inum, &off);

	if (ret)
		return ret;
	l->inode.bi_nlink++;
	c->st->hardlinks++;
	return add_inode(c, &l->inode);
}

static int cmp_entry(const void *a, const void *b, void *names)
{
	const struct dir_entry *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp((const char *)names + x->name, (const char *)names + y->name);
}

/* a directory's entries, sorted by type and name as upstream's copy_dir() takes them */
static int read_dir(struct src_ctx *c, struct frame *f)
{
	int fd = dup(f->fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return sys_err(c, "reading the directory");
	}
	while ((errno = 0, e = readdir(d))) {
		size_t n = strlen(e->d_name) + 1;
		struct dir_entry *de;
		char *dst;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		de = BCH_VEC_PUSH(f->ents, f->nr, f->size);
		dst = (char *)bch_buf_append((uint8_t **)&f->names, &f->names_len, &f->names_size, n);
		if (!de || !dst) {
			closedir(d);
			return nomem(c);
		}
		*de = (struct dir_entry){ .name = (uint32_t)(dst - f->names), .type = e->d_type };
		memcpy(dst, e->d_name, n);
	}
	if (errno) {
		int ret = sys_err(c, "reading the directory");

		closedir(d);
		return ret;
	}
	closedir(d);
	if (f->nr)
		qsort_r(f->ents, f->nr, sizeof(*f->ents), cmp_entry, f->names);
	return 0;
}

static void frame_free(struct frame *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->names);
	free(f->ents);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static int push_dir(struct src_ctx *c, int fd, const struct bch_inode_unpacked *in,
		    const struct stat *st, bool root)
{
	struct frame *f = BCH_VEC_PUSH(c->stack, c->depth, c->stack_size);

	if (!f) {
		close(fd);
		return nomem(c);
	}
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->inode = *in;
	f->st = *st;
	f->root = root;
	f->path_len = c->path_len;
	if (bch_hash_info_from_inode(&f->hash, in))
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "hash type of directory inode %llu",
			       (unsigned long long)in->bi_inum);
	return read_dir(c, f);
}

/* a directory whose entries are all copied: its inode as it ends up */
static int finish_dir(struct src_ctx *c)
{
	struct frame *f = &c->stack[c->depth - 1];
	int ret;

	/* upstream's root keeps mode and owner; its times are those of the copy */
	if (f->root)
		f->inode.bi_mtime = f->inode.bi_ctime = c->now;
	else
		inode_times(c, &f->inode, &f->st);
	ret = add_inode(c, &f->inode);
	frame_free(f);
	c->depth--;
	return ret;
}

static int new_dir(struct src_ctx *c, struct frame *f, const char *name,
		   struct bch_inode_unpacked *in, const struct stat *st)
{
	int fd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	int ret;

	if (fd < 0)
		return sys_err(c, "opening the directory");
	in->bi_depth = f->inode.bi_depth + 1;
	c->st->dirs++;
	/*
	 * Both written now, so that every batch leaves a whole filesystem
	 * (a directory's nlink is its subdirectories': the bias of 2 is not
	 * stored), and the new one again once its entries are in.
	 */
	f->inode.bi_nlink++;
	ret = add_inode(c, &f->inode) ?: add_inode(c, in);
	if (ret) {
		close(fd);
		return ret;
	}
	return push_dir(c, fd, in, st, false);	/* f may move: nothing of it used after */
}

/* a file, symlink or special inode: its data, then the inode as it ends up */
static int copy_leaf(struct src_ctx *c, struct frame *f, const char *name,
		     const struct bch_inode_unpacked *in, const struct stat *st)
{
	int ret = 0;

	c->cur = *in;
	c->cur_active = true;
	memset(c->cur_acct, 0, sizeof(c->cur_acct));
	if (S_ISREG(st->st_mode))
		ret = copy_regular(c, f->fd, name, st);
	else if (S_ISLNK(st->st_mode))
		ret = copy_symlink(c, f->fd, name);
	else
		c->st->specials++;
	if (ret)
		return ret;
	inode_times(c, &c->cur, st);
	ret = emit_cur(c);
	c->cur_active = false;
	/* a file with other names: the map finds it when they come */
	if (!ret && S_ISREG(st->st_mode) && st->st_nlink > 1 &&
	    hl_add(&c->hl, st->st_dev, st->st_ino, &c->cur))
		ret = nomem(c);
	return ret;
}

static int copy_entry(struct src_ctx *c, struct frame *f, const struct dir_entry *e)
{
	const char *name = f->names + e->name;
	struct bch_inode_unpacked in;
	struct hardlink *l = NULL;
	struct stat st;
	uint64_t off;
	int ret = path_set(c, f->path_len, name);

	if (ret)
		return ret;
	if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return sys_err(c, "stat");
	/* the new filesystem's own lost+found stays (upstream skips the source's) */
	if (f->root && !strcmp(name, "lost+found"))
		return 0;
	if (S_ISREG(st.st_mode) && st.st_nlink > 1)
		l = hl_find(&c->hl, st.st_dev, st.st_ino);
	if (l)
		return add_link(c, f, name, l);

	inode_new(c, &in, &st);
	c->nr_inodes++;
	ret = add_dirent(c, f, name, bch_mode_to_d_type(in.bi_mode), in.bi_inum, &off);
	if (ret)
		return ret;
	in.bi_dir = f->inode.bi_inum;
	in.bi_dir_offset = off;
	ret = copy_xattrs(c, &in);
	if (ret)
		return ret;
	return S_ISDIR(st.st_mode) ? new_dir(c, f, name, &in, &st)
				   : copy_leaf(c, f, name, &in, &st);
}

static int walk(struct src_ctx *c)
{
	while (c->depth) {
		struct frame *f = &c->stack[c->depth - 1];
		int ret;

		c->path_len = f->path_len;
		c->path[c->path_len] = 0;
		ret = f->idx == f->nr ? finish_dir(c) : copy_entry(c, f, &f->ents[f->idx++]);
		ret = ret ?: maybe_commit(c);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- setting up ---- */

static int read_fs_state(struct src_ctx *c, struct bch_inode_unpacked *root)
{
	struct bpos rp = BPOS(0, BCH_ROOT_INO, BCH_ROOT_SNAPSHOT);
	struct bpos cp = bch_format_inode_cursor_pos(c->fs);
	struct bkey k;
	int ret = bch_lookup_next(&c->lc, BTREE_ID_inodes, rp, rp, &k, c->err);

	if (ret < 0)
		return ret;
	if (!ret || bch_inode_unpack(&k, root, NULL))
		return bch_err(c->err, BCH_ERR_CORRUPT, "no root directory inode");
	ret = bch_lookup_next(&c->lc, BTREE_ID_logged_ops, cp, cp, &k, c->err);
	if (ret < 0)
		return ret;
	if (ret && k.type == KEY_TYPE_inode_alloc_cursor && k.val_bytes >= 16)
		memcpy(c->cursor, k.val, 16);
	c->next_inum = get_le64(c->cursor + 8);
	if (c->next_inum <= BCH_ROOT_INO)
		c->next_inum = bch_format_first_inum(c->fs) + 1;
	return 0;
}

static int check_fs(struct src_ctx *c)
{
	const struct bch_sb *sb = c->fs->sb;

	if (c->fs->encrypted)
		return bch_err(c->err, BCH_ERR_UNSUPPORTED,
			       "copying into an encrypted filesystem is not implemented");
	if (bits64(sb->flags[1], 4, 8) || bits64(sb->flags[2], 0, 4))
		return bch_err(c->err, BCH_ERR_UNSUPPORTED,
			       "copying into a compressing filesystem is not implemented");
	return 0;
}

/* the filesystem's options as the copy's writes follow them */
static int ctx_init(struct src_ctx *c, struct bch_fs *fs)
{
	static const unsigned csum[] = { BCH_CSUM_none, BCH_CSUM_crc32c, BCH_CSUM_crc64,
					 BCH_CSUM_xxhash };
	const struct bch_sb *sb = fs->sb;
	unsigned data_csum = (unsigned)BCH_SB_DATA_CSUM_TYPE(sb), usable = 0;
	int hash = bch_str_hash_opt_to_type((unsigned)bits64(sb->flags[1], 0, 4), true);
	struct timespec ts;

	if (data_csum > 3 || hash < 0)
		return bch_err(c->err, BCH_ERR_UNSUPPORTED, "unknown data checksum or str_hash option");
	c->csum_type = csum[data_csum];
	c->hash_type = (unsigned)hash;
	c->block_bytes = fs->block_size << 9;
	/* checksummed extents are cut at encoded_extent_max (data/write.c) */
	c->max_extent = c->csum_type ? 1u << BCH_SB_ENCODED_EXTENT_MAX_BITS(sb) : UINT32_MAX;
	c->reserve = calloc(fs->nr_devs, sizeof(*c->reserve));
	c->free_left = calloc(fs->nr_devs, sizeof(*c->free_left));
	c->run_cur = calloc(fs->nr_devs, sizeof(*c->run_cur));
	c->alloc_cursor = calloc(fs->nr_devs, sizeof(*c->alloc_cursor));
	c->dev_acct = calloc(fs->nr_devs, sizeof(*c->dev_acct));
	c->buf = malloc(CHUNK_BYTES);
	c->xlist = malloc(XATTR_LIST_BYTES);
	c->xval = malloc(XATTR_VAL_BYTES);
	c->xused = malloc(XATTR_LIST_BYTES / 2 * sizeof(*c->xused));
	if (!c->reserve || !c->free_left || !c->run_cur || !c->alloc_cursor || !c->dev_acct || !c->buf || !c->xlist ||
	    !c->xval || !c->xused)
		return nomem(c);
	for (unsigned d = 0; d < fs->nr_devs; d++) {
		const struct bch_member *m = member(c, d);

		if (!m)
			continue;
		/* copygc's gc_reserve_percent, and room for the nodes of a few commits */
		c->reserve[d] = m->nbuckets * bits64(sb->flags[0], 28, 33) / 100 + 8;
		usable += fs->devs[d] && BCH_MEMBER_STATE(m) == 0 &&
			  (BCH_MEMBER_DATA_ALLOWED(m) & (1u << BCH_DATA_user));
	}
	/*
	 * 1.28's copy writes one replica whatever --data_replicas says (its
	 * write_data()); 1.36's leaves data_replicas of them, its reconcile
	 * adding the others before format ends (../shared/images/README.md)
	 */
	c->nr_replicas = 1;
	if (sb->version >= BCH_VERSION(1, 29))
		c->nr_replicas = (unsigned)bits64(sb->flags[0], 52, 56);
	/* 1.36 wants reconcile work on extents with fewer (data/reconcile.c) */
	if (c->nr_replicas > usable && c->nr_replicas > 1)
		return bch_err(c->err, BCH_ERR_UNSUPPORTED,
			       "data_replicas %u with %u device%s for user data: the extents would need "
			       "reconcile work, which is not implemented", c->nr_replicas, usable,
			       usable == 1 ? "" : "s");
	if (c->nr_replicas > BCH_NODE_MAX_REPLICAS)
		c->nr_replicas = BCH_NODE_MAX_REPLICAS;
	if (!c->nr_replicas)
		return bch_err(c->err, BCH_ERR_DEVICES, "no device takes user data");
	c->batch_keys = c->o->batch_keys ? c->o->batch_keys : BCH_SOURCE_BATCH_KEYS;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (c->o->now_ns) {
		ts.tv_sec = (time_t)(c->o->now_ns / 1000000000ULL);
		ts.tv_nsec = (long)(c->o->now_ns % 1000000000ULL);
	}
	c->now = fs_time(c, &ts);
	return 0;
}

static void ctx_exit(struct src_ctx *c)
{
	while (c->depth)
		frame_free(&c->stack[--c->depth]);
	if (c->lc_live)
		bch_lookup_cache_exit(&c->lc);
	bch_key_updates_free(&c->u);
	free(c->stack);
	free(c->path);
	free(c->reserve);
	free(c->free_left);
	free(c->run_cur);
	free(c->alloc_cursor);
	free(c->dev_acct);
	free(c->runs);
	free(c->touched);
	free(c->repl);
	free(c->slots.k);
	free(c->hl.v);
	free(c->hl.table);
	free(c->buf);
	free(c->xlist);
	free(c->xval);
	free(c->xused);
}

static int copy_tree(struct src_ctx *c)
{
	struct bch_inode_unpacked root;
	struct stat st;
	int fd, ret;

	ret = bch_journal_scan(c->fs, c->err);
	if (ret)
		return ret;
	c->seq = bch_journal_next_seq(c->fs);
	ret = batch_begin(c) ?: read_fs_state(c, &root);
	if (ret)
		return ret;
	c->path_size = strlen(c->o->src) + 256;
	c->path = malloc(c->path_size);
	if (!c->path)
		return nomem(c);
	snprintf(c->path, c->path_size, "%s", c->o->src);
	c->path_len = strlen(c->path);
	fd = open(c->o->src, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return sys_err(c, "opening the source directory");
	if (fstat(fd, &st)) {
		ret = sys_err(c, "stat");
		close(fd);
		return ret;
	}
	/* the source's own attributes go to the root, as upstream's copy_fs() does */
	ret = copy_xattrs(c, &root);
	if (ret) {
		close(fd);
		return ret;
	}
	return push_dir(c, fd, &root, &st, true) ?: walk(c) ?: batch_commit(c);
}

int bch_format_source(struct bch_fs *fs, const struct bch_source_opts *o,
		      struct bch_source_stats *st, struct bch_error *err)
{
	struct src_ctx *c = calloc(1, sizeof(*c));
	int ret;

	memset(st, 0, sizeof(*st));
	if (!c)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	c->fs = fs;
	c->o = o;
	c->st = st;
	c->err = err;
	ret = check_fs(c) ?: ctx_init(c, fs);
	if (!ret && sodium_init() < 0)
		ret = bch_err(err, BCH_ERR_IO, "libsodium did not initialise");
	if (!ret)
		ret = copy_tree(c);
	ctx_exit(c);
	free(c);
	return ret;
}
