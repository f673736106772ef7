/*
 * Unit tests of check_bucket_bitmaps on synthetic key streams: the
 * alloc x backpointers merge walk (gaps on either side, several devices,
 * stale gens, keys past a device end), the LRU check and the verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buckets.h"
#include "check_buckets.h"
#include "lru.h"

#define MAXK 64

struct stream {
	struct bkey	k[MAXK];
	uint8_t		val[MAXK][64];
	unsigned	nr, pos;
};

static int stream_next(void *ctx, struct bkey *k, struct bch_error *err)
{
	struct stream *s = ctx;

	(void)err;
	if (s->pos == s->nr)
		return 0;
	*k = s->k[s->pos++];
	return 1;
}

static void add_alloc(struct stream *s, unsigned dev, uint64_t bucket, uint8_t gen,
		      uint8_t type, uint32_t dirty, uint32_t cached)
{
	uint8_t *v = s->val[s->nr];

	memset(v, 0, 64);
	put_le32(v + 8, 8u << 2);	/* backpointers_start: 64-byte value */
	v[12] = gen;
	v[14] = type;
	put_le32(v + 16, dirty);
	put_le32(v + 20, cached);
	s->k[s->nr] = (struct bkey){
		.p = BPOS(dev, bucket, 0), .type = KEY_TYPE_alloc_v4,
		.format = 1, .val_bytes = 64, .val = v,
	};
	s->nr++;
}

/* a user-data backpointer at sector (of the bucket) with len sectors */
static void add_bp(struct stream *s, unsigned dev, uint64_t sector, unsigned suboff,
		   uint8_t gen, uint32_t len, uint64_t inode)
{
	uint8_t *v = s->val[s->nr];

	memset(v, 0, 32);
	v[0] = BTREE_ID_extents;
	v[2] = BCH_DATA_user;
	v[3] = gen;
	put_le32(v + 8, len);
	bpos_encode(v + 12, BPOS(inode, len, UINT32_MAX));
	s->k[s->nr] = (struct bkey){
		.p = BPOS(dev, (sector << 10) + suboff, 0), .type = KEY_TYPE_backpointer,
		.format = 1, .val_bytes = 32, .val = v,
	};
	s->nr++;
}

static void add_lru(struct stream *s, unsigned id, uint64_t time, unsigned dev, uint64_t bucket)
{
	s->k[s->nr] = (struct bkey){
		.p = bch_lru_pos(id, time, dev, bucket), .type = KEY_TYPE_set, .format = 1,
	};
	s->nr++;
}

static int cmp_key_pos(const void *a, const void *b)
{
	return bpos_cmp(((const struct bkey *)a)->p, ((const struct bkey *)b)->p);
}

struct found {
	unsigned		n[BCH_F_NR];
	struct bch_finding	last[BCH_F_NR];
};

static int on_finding(void *ctx, const struct bch_finding *f)
{
	struct found *fd = ctx;

	fd->n[f->kind]++;
	fd->last[f->kind] = *f;
	return 0;
}

/* dev 0: 256 x 512 sectors; dev 1: 128 x 1024 sectors; dev 2 missing */
static void geom(struct bch_check_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->nr_devs = 3;
	g->dev[0] = (struct bch_check_dev){ true, 256, 0, 512, false };
	g->dev[1] = (struct bch_check_dev){ true, 128, 1, 1024, false };
	g->bp_shift = 10;
	g->version = BCH_VERSION_1_28;
	g->btree_node_size = 512;
}

static void run_walk(struct bch_check *c, struct found *fd, struct stream *a, struct stream *b)
{
	struct bch_check_geom g;
	struct bch_key_src as = { stream_next, a }, bs = { stream_next, b };
	struct bch_error err = { 0 };

	geom(&g);
	memset(fd, 0, sizeof(*fd));
	assert_int_equal(bch_check_init(c, &g, on_finding, fd), 0);
	assert_int_equal(bch_check_alloc_backpointers(c, &as, &bs, &err), 0);
}

/* the same, with one superblock bucket in the layout (sectors of it used) */
static void run_walk_sb(struct bch_check *c, struct found *fd, struct stream *a,
			struct stream *b, unsigned dev, uint64_t bucket, uint32_t sectors)
{
	struct bch_check_geom g;
	struct bch_key_src as = { stream_next, a }, bs = { stream_next, b };
	struct bch_error err = { 0 };
	uint8_t type = BCH_DATA_sb;

	geom(&g);
	memset(fd, 0, sizeof(*fd));
	assert_int_equal(bch_check_init(c, &g, on_finding, fd), 0);
	assert_int_equal(bch_check_set_meta_buckets(c, dev, &bucket, &type, &sectors, 1), 0);
	assert_int_equal(bch_check_alloc_backpointers(c, &as, &bs, &err), 0);
}

static void test_consistent(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bch_check c;
	struct found fd;

	(void)state;
	add_alloc(a, 0, 10, 0, BCH_DATA_user, 512, 0);
	add_bp(b, 0, 10 * 512, 0, 0, 500, 4096);
	add_bp(b, 0, 10 * 512 + 500, 0, 0, 12, 4097);
	add_alloc(a, 0, 11, 3, BCH_DATA_free, 0, 0);		/* alloc key, no bps */
	add_alloc(a, 1, 5, 1, BCH_DATA_user, 1024, 0);
	add_bp(b, 1, 5 * 1024, 0, 1, 1024, 4098);
	run_walk(&c, &fd, a, b);
	for (unsigned k = 0; k < BCH_F_NR; k++)
		assert_int_equal(fd.n[k], 0);
	assert_true(c.stats.alloc_keys == 3 && c.stats.backpointers == 3);
	assert_false(bch_check_need_ptr_scan(&c));
	bch_check_exit(&c);
	free(a);
	free(b);
}

static void test_mismatch_empty_and_gaps(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bch_check c;
	struct found fd;

	(void)state;
	add_bp(b, 0, 5 * 512, 0, 0, 8, 1);		/* before any alloc key */
	add_alloc(a, 0, 10, 0, BCH_DATA_user, 512, 0);	/* no backpointers: empty */
	add_alloc(a, 0, 12, 0, BCH_DATA_user, 512, 0);	/* partly: mismatch */
	add_bp(b, 0, 12 * 512, 0, 0, 256, 2);
	add_bp(b, 0, 13 * 512, 0, 0, 8, 3);		/* gap: bucket 13 has no alloc key */
	add_alloc(a, 0, 20, 0, BCH_DATA_sb, 512, 0);	/* superblock bucket: not summed */
	add_alloc(a, 1, 3, 0, BCH_DATA_user, 1024, 0);	/* other device */
	add_bp(b, 1, 3 * 1024, 0, 0, 1024, 4);
	add_bp(b, 2, 7, 0, 0, 8, 5);			/* missing device */
	run_walk_sb(&c, &fd, a, b, 0, 20, 512);

	assert_int_equal(fd.n[BCH_F_bucket_bp_mismatch], 2);
	/* without alloc key: told only once the pointers are known */
	assert_int_equal(fd.n[BCH_F_bp_no_alloc_key], 0);
	assert_int_equal(bch_check_report_orphans_unverified(&c), 0);
	assert_int_equal(fd.n[BCH_F_bp_no_alloc_key], 2);
	assert_int_equal(fd.n[BCH_F_bp_no_device], 1);
	assert_int_equal(bch_bitmap_test(&c.mismatch[0], 10), 1);
	assert_int_equal(bch_bitmap_test(&c.empty[0], 10), 1);
	assert_int_equal(bch_bitmap_test(&c.mismatch[0], 12), 1);
	assert_int_equal(bch_bitmap_test(&c.empty[0], 12), 0);
	assert_true(bch_bitmap_weight(&c.mismatch[0]) == 2);
	assert_true(bch_bitmap_weight(&c.mismatch[1]) == 0);
	/* buckets 10 and 12, and 5 and 13 without key (to rebuild theirs) */
	assert_true(c.nr_buckets == 4 && c.nr_orphans == 3);
	assert_true(c.buckets[0].bucket == 5 && c.buckets[0].no_key);
	assert_true(c.buckets[3].bucket == 13 && c.buckets[3].no_key);
	assert_true(bch_check_need_ptr_scan(&c));
	bch_check_exit(&c);
	free(a);
	free(b);
}

static void test_stale_gen_and_excess(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bch_check c;
	struct found fd;

	(void)state;
	add_alloc(a, 0, 30, 2, BCH_DATA_user, 512, 0);
	add_bp(b, 0, 30 * 512, 0, 5, 256, 1);		/* stale gen: not summed */
	add_bp(b, 0, 30 * 512 + 256, 0, 5, 256, 2);
	add_alloc(a, 0, 31, 0, BCH_DATA_user, 300, 0);
	add_bp(b, 0, 31 * 512, 0, 0, 512, 3);		/* more than the alloc key says */
	run_walk(&c, &fd, a, b);

	assert_int_equal(fd.n[BCH_F_bp_wrong_gen], 2);
	assert_int_equal(fd.last[BCH_F_bp_wrong_gen].alloc_gen, 2);
	assert_int_equal(fd.n[BCH_F_bucket_bp_mismatch], 1);
	assert_true(fd.last[BCH_F_bucket_bp_mismatch].empty);
	assert_int_equal(fd.n[BCH_F_bucket_bp_excess], 1);
	/* excess buckets are verified, not marked */
	assert_int_equal(bch_bitmap_test(&c.mismatch[0], 31), 0);
	assert_int_equal(bch_bitmap_test(&c.empty[0], 30), 1);
	bch_check_exit(&c);
	free(a);
	free(b);
}

static void test_keys_past_end(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct stream *l = calloc(1, sizeof(*l));
	struct bch_key_src ls = { stream_next, l };
	struct bch_error err = { 0 };
	struct bch_check c;
	struct found fd;
	bool any;

	(void)state;
	add_alloc(a, 0, 60, 0, BCH_DATA_user, 512, 0);		/* empty: mismatch */
	add_alloc(a, 0, 114, 0, BCH_DATA_user, 384, 0);		/* fragmented */
	add_bp(b, 0, 114 * 512, 0, 0, 384, 7);
	add_alloc(a, 0, 256, 0, BCH_DATA_user, 512, 0);		/* == nbuckets */
	add_alloc(a, 1, 0, 0, BCH_DATA_user, 1024, 0);		/* < first_bucket */
	add_alloc(a, 1, 1ULL << 40, 0, BCH_DATA_user, 1024, 0);	/* far past the end */
	add_alloc(a, 2, 1, 0, BCH_DATA_user, 1024, 0);		/* missing device */
	add_bp(b, 0, 256 * 512, 0, 0, 8, 9);			/* bp past the end */
	run_walk(&c, &fd, a, b);
	assert_int_equal(fd.n[BCH_F_alloc_invalid_bucket], 4);
	assert_int_equal(bch_check_report_orphans_unverified(&c), 0);
	assert_int_equal(fd.n[BCH_F_bp_no_alloc_key], 1);
	assert_int_equal(fd.n[BCH_F_bucket_bp_mismatch], 1);

	/* LRU: the right entry for 114, one past the end, one stale */
	add_lru(l, BCH_LRU_FRAGMENTATION, 384ULL << 31 >> 9, 0, 114);
	add_lru(l, BCH_LRU_FRAGMENTATION, 1000, 0, 256);
	add_lru(l, BCH_LRU_FRAGMENTATION, 1001, 0, 1ULL << 40);
	add_lru(l, BCH_LRU_FRAGMENTATION, 7777, 0, 200);
	add_lru(l, BCH_LRU_FRAGMENTATION, 5, 9, 1);		/* no device 9 */
	/* sorted by position, as in the btree */
	qsort(l->k, l->nr, sizeof(l->k[0]), cmp_key_pos);
	assert_int_equal(bch_check_lru(&c, &ls, &err), 0);
	assert_int_equal(fd.n[BCH_F_lru_invalid_bucket], 3);
	assert_int_equal(fd.n[BCH_F_lru_wrong_time], 1);
	assert_true(fd.last[BCH_F_lru_wrong_time].expected_time == 0);
	assert_int_equal(fd.n[BCH_F_lru_missing], 0);
	assert_true(bch_check_copygc_would_fault(&c, &any));
	assert_true(any);
	bch_check_exit(&c);
	free(a);
	free(b);
	free(l);
}

static void test_lru_missing_and_no_fault(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct stream *l = calloc(1, sizeof(*l));
	struct bch_key_src ls = { stream_next, l };
	struct bch_error err = { 0 };
	struct bch_check c;
	struct found fd;
	bool any;

	(void)state;
	add_alloc(a, 0, 114, 0, BCH_DATA_user, 384, 0);
	add_bp(b, 0, 114 * 512, 0, 0, 384, 7);
	add_alloc(a, 1, 9, 0, BCH_DATA_user, 1024, 0);	/* dev 1 mismatch */
	run_walk(&c, &fd, a, b);
	/* entry past the end of dev 0, mismatch only on dev 1: no fault */
	add_lru(l, BCH_LRU_FRAGMENTATION, 1000, 0, 300);
	assert_int_equal(bch_check_lru(&c, &ls, &err), 0);
	assert_int_equal(fd.n[BCH_F_lru_missing], 1);
	assert_true(bpos_eq(fd.last[BCH_F_lru_missing].want_pos,
			    bch_lru_pos(BCH_LRU_FRAGMENTATION, 1610612736, 0, 114)));
	assert_false(bch_check_copygc_would_fault(&c, &any));
	assert_true(any);
	bch_check_exit(&c);
	free(a);
	free(b);
	free(l);
}

/* a bucket whose alloc key is gone but whose pointer and backpointer are there */
static void test_alloc_missing(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bch_error err = { 0 };
	uint8_t v[16];
	struct bch_check c;
	struct found fd;
	struct bkey k;

	(void)state;
	add_alloc(a, 0, 10, 0, BCH_DATA_user, 512, 0);
	add_bp(b, 0, 10 * 512, 0, 0, 512, 1);
	add_bp(b, 0, 12 * 512, 0, 0, 8, 4096);		/* bucket 12: no alloc key */
	add_bp(b, 0, 13 * 512, 0, 0, 8, 4097);		/* bucket 13: nor a pointer */
	run_walk(&c, &fd, a, b);
	assert_true(bch_check_need_ptr_scan(&c));
	/* the extent 4096:8 with one pointer to sector 12 * 512 */
	put_le64(v, 1 | (uint64_t)(12 * 512) << 4);
	put_le64(v + 8, 0);
	k = (struct bkey){
		.p = BPOS(4096, 8, UINT32_MAX), .size = 8, .type = KEY_TYPE_extent,
		.format = 1, .val_bytes = 8, .val = v,
	};
	assert_int_equal(bch_check_ptr_key(&c, BTREE_ID_extents, 0, &k, &err), 0);
	assert_int_equal(bch_check_ptrs_finish(&c, &err), 0);
	assert_int_equal(fd.n[BCH_F_alloc_missing], 1);
	assert_true(fd.last[BCH_F_alloc_missing].bucket == 12);
	assert_int_equal(fd.n[BCH_F_bp_no_alloc_key], 1);
	assert_true(fd.last[BCH_F_bp_no_alloc_key].bucket == 13);
	assert_int_equal(fd.n[BCH_F_bp_no_target], 1);
	bch_check_exit(&c);
	free(a);
	free(b);
}

/* a dev_data_type accounting key: buckets, sectors, fragmented */
static void add_acct(struct stream *s, unsigned dev, unsigned dt, uint64_t b, uint64_t sec,
		     uint64_t frag)
{
	uint8_t *v = s->val[s->nr];

	put_le64(v, b);
	put_le64(v + 8, sec);
	put_le64(v + 16, frag);
	s->k[s->nr] = (struct bkey){
		.p = bch_acct_dev_data_type_pos(dev, dt), .type = KEY_TYPE_accounting,
		.format = 1, .val_bytes = 24, .val = v, .version = { .lo = 10 },
	};
	s->nr++;
}

static void test_accounting(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct stream *n = calloc(1, sizeof(*n));
	struct bch_key_src ns = { stream_next, n };
	struct bch_error err = { 0 };
	struct bkey delta;
	uint8_t dv[24] = { 0 };
	struct bch_check c;
	struct found fd;

	(void)state;
	add_alloc(a, 0, 10, 0, BCH_DATA_user, 512, 0);
	add_bp(b, 0, 10 * 512, 0, 0, 512, 1);
	add_alloc(a, 0, 11, 0, BCH_DATA_user, 384, 0);
	add_bp(b, 0, 11 * 512, 0, 0, 384, 2);
	add_alloc(a, 1, 2, 0, BCH_DATA_sb, 8, 0);
	run_walk_sb(&c, &fd, a, b, 1, 2, 8);
	/* dev 0: 254 free; user 2 buckets, 896 sectors, 128 fragmented */
	add_acct(n, 0, BCH_DATA_free, 254, 0, 0);
	add_acct(n, 0, BCH_DATA_user, 2, 900, 124);	/* off by 4, fixed by the delta */
	/* dev 1 (127 usable buckets): one sb bucket of 1024 sectors with 8 used */
	add_acct(n, 1, BCH_DATA_free, 126, 0, 0);
	add_acct(n, 1, BCH_DATA_sb, 1, 8, 1016);
	put_le64(dv + 8, (uint64_t)-4);
	put_le64(dv + 16, 4);
	delta = (struct bkey){
		.p = bch_acct_dev_data_type_pos(0, BCH_DATA_user), .type = KEY_TYPE_accounting,
		.format = 1, .val_bytes = 24, .val = dv, .version = { .lo = 11 },
	};
	assert_int_equal(bch_check_dev_accounting(&c, &ns, &delta, 1, &err), 0);
	for (unsigned k = 0; k < BCH_F_NR; k++)
		assert_int_equal(fd.n[k], 0);

	/* an older delta is already in the btree key: not added again */
	n->pos = 0;
	delta.version.lo = 9;
	assert_int_equal(bch_check_dev_accounting(&c, &ns, &delta, 1, &err), 0);
	assert_int_equal(fd.n[BCH_F_accounting_dev_data_type_wrong], 1);
	assert_int_equal(fd.last[BCH_F_accounting_dev_data_type_wrong].data_type, BCH_DATA_user);
	assert_true(fd.last[BCH_F_accounting_dev_data_type_wrong].acct_want[1] == 896);
	assert_true(fd.last[BCH_F_accounting_dev_data_type_wrong].acct_have[1] == 900);
	bch_check_exit(&c);
	free(a);
	free(b);
	free(n);
}

/* run_walk on a filesystem of metadata version version */
static void run_walk_version(struct bch_check *c, struct found *fd, struct stream *a,
			     struct stream *b, unsigned version)
{
	struct bch_check_geom g;
	struct bch_key_src as = { stream_next, a }, bs = { stream_next, b };
	struct bch_error err = { 0 };

	geom(&g);
	g.version = version;
	memset(fd, 0, sizeof(*fd));
	assert_int_equal(bch_check_init(c, &g, on_finding, fd), 0);
	assert_int_equal(bch_check_alloc_backpointers(c, &as, &bs, &err), 0);
}

/* 1.39: fragmentation LRU 8192 + dev, the fs-wide id obsolete, ids checked against devices */
static void test_lru_per_dev_v139(void **state)
{
	struct stream *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct stream *l = calloc(1, sizeof(*l));
	struct bch_key_src ls = { stream_next, l };
	struct bch_error err = { 0 };
	uint64_t t114 = 384ULL << 31 >> 9, t9 = 1ULL << 30;
	struct bch_check c;
	struct found fd;
	bool any;

	(void)state;
	add_alloc(a, 0, 60, 0, BCH_DATA_user, 512, 0);		/* empty: mismatch */
	add_alloc(a, 0, 114, 0, BCH_DATA_user, 384, 0);
	add_bp(b, 0, 114 * 512, 0, 0, 384, 7);
	add_alloc(a, 1, 9, 0, BCH_DATA_user, 512, 0);
	add_bp(b, 1, 9 * 1024, 0, 0, 512, 8);
	run_walk_version(&c, &fd, a, b, BCH_VERSION_1_39);

	add_lru(l, 8192, t114, 0, 114);				/* right */
	add_lru(l, 8192, t9, 1, 9);				/* device 0's LRU, bucket of 1 */
	add_lru(l, BCH_LRU_FRAGMENTATION, t114, 0, 114);	/* obsolete id */
	add_lru(l, BCH_LRU_FRAGMENTATION, 1000, 0, 256);	/* obsolete, past the end too */
	add_lru(l, 8192, 1000, 0, 256);				/* past the end of dev 0 */
	qsort(l->k, l->nr, sizeof(l->k[0]), cmp_key_pos);
	assert_int_equal(bch_check_lru(&c, &ls, &err), 0);
	assert_int_equal(fd.n[BCH_F_lru_wrong_dev], 1);
	assert_int_equal(fd.last[BCH_F_lru_wrong_dev].want_lru_id, 8193);
	assert_int_equal(fd.n[BCH_F_lru_obsolete], 2);
	assert_int_equal(fd.n[BCH_F_lru_invalid_bucket], 1);
	assert_int_equal(fd.n[BCH_F_lru_wrong_time], 0);
	/* 1:9's entry belongs in LRU 8193 */
	assert_int_equal(fd.n[BCH_F_lru_missing], 1);
	assert_true(bpos_eq(fd.last[BCH_F_lru_missing].want_pos, bch_lru_pos(8193, t9, 1, 9)));
	/* the verdict counts the per-device entry past the end, not the obsolete one */
	assert_int_equal(c.nr_oob_frag_lru, 1);
	assert_true(bch_check_copygc_would_fault(&c, &any));
	bch_check_exit(&c);

	/* before 1.39 the same alloc keys want entries in LRU 65535 */
	a->pos = b->pos = 0;
	run_walk_version(&c, &fd, a, b, BCH_VERSION_1_36);
	l->nr = l->pos = 0;
	add_lru(l, 8192, t114, 0, 114);
	assert_int_equal(bch_check_lru(&c, &ls, &err), 0);
	assert_int_equal(fd.n[BCH_F_lru_wrong_dev] + fd.n[BCH_F_lru_obsolete], 0);
	assert_int_equal(fd.n[BCH_F_lru_wrong_time], 1);
	assert_int_equal(fd.n[BCH_F_lru_missing], 2);
	assert_int_equal(c.nr_oob_frag_lru, 0);
	bch_check_exit(&c);
	free(a);
	free(b);
	free(l);
}

static void add_set(struct stream *s, struct bpos p)
{
	s->k[s->nr++] = (struct bkey){ .p = p, .type = KEY_TYPE_set, .format = 1 };
}

/* 1.38+: need_discard keys at journal_seq_empty:(dev << 48 | bucket) */
static void test_need_discard_by_seq(void **state)
{
	struct stream *h = calloc(1, sizeof(*h)), *r = calloc(1, sizeof(*r));
	struct bch_key_src hs = { stream_next, h }, rs = { stream_next, r };
	struct bch_key_updates want = { 0 };
	struct bch_error err = { 0 };
	struct bch_check_geom g;
	bool indexed[256] = { true, true };
	struct bch_check c;
	struct found fd = { 0 };
	struct bkey k = { .type = KEY_TYPE_set };

	(void)state;
	assert_true(bpos_eq(bch_need_discard_key_pos(BCH_VERSION_1_38, 1, 3, 5),
			    BPOS(5, 1ULL << 48 | 3, 0)));
	assert_true(bpos_eq(bch_need_discard_key_pos(BCH_VERSION_1_36, 1, 3, 5), BPOS(1, 3, 0)));
	geom(&g);
	g.version = BCH_VERSION_1_39;
	assert_int_equal(bch_check_init(&c, &g, on_finding, &fd), 0);

	/* in range: 20:0:81 is bucket 0:81, not device 20's */
	add_set(r, bch_need_discard_key_pos(g.version, 0, 81, 20));
	add_set(r, bch_need_discard_key_pos(g.version, 0, 999, 7));	/* past dev 0's end */
	assert_int_equal(bch_check_bucket_index(&c, BTREE_ID_need_discard, &rs, &err), 0);
	assert_int_equal(fd.n[BCH_F_need_discard_invalid_bucket], 1);
	assert_int_equal(fd.last[BCH_F_need_discard_invalid_bucket].dev, 0);
	assert_true(fd.last[BCH_F_need_discard_invalid_bucket].bucket == 999);

	k.p = bch_need_discard_key_pos(g.version, 1, 3, 5);
	assert_int_equal(bch_key_updates_add(&want, BTREE_ID_need_discard, 0, &k), 0);
	k.p = bch_need_discard_key_pos(g.version, 0, 81, 20);
	assert_int_equal(bch_key_updates_add(&want, BTREE_ID_need_discard, 0, &k), 0);
	k.p = bch_need_discard_key_pos(g.version, 0, 89, 22);
	assert_int_equal(bch_key_updates_add(&want, BTREE_ID_need_discard, 0, &k), 0);
	bch_key_updates_finish(&want);
	add_set(h, bch_need_discard_key_pos(g.version, 1, 3, 5));
	add_set(h, bch_need_discard_key_pos(g.version, 0, 999, 7));	/* left to the range check */
	add_set(h, bch_need_discard_key_pos(g.version, 0, 81, 20));
	add_set(h, bch_need_discard_key_pos(g.version, 0, 89, 21));	/* another seq */
	assert_int_equal(bch_check_index_agrees(&c, BTREE_ID_need_discard, indexed, &want, &hs,
						&err), 0);
	/* 0:89 at 21 is there for nothing, at 22 missing */
	assert_int_equal(fd.n[BCH_F_need_discard_wrong], 2);
	assert_true(fd.last[BCH_F_need_discard_wrong].one_key);
	assert_true(bpos_eq(fd.last[BCH_F_need_discard_wrong].pos, BPOS(22, 89, 0)));
	assert_true(fd.last[BCH_F_need_discard_wrong].time == 1);
	bch_key_updates_free(&want);
	bch_check_exit(&c);
	free(h);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru_per_dev_v139),
		cmocka_unit_test(test_need_discard_by_seq),
		cmocka_unit_test(test_consistent),
		cmocka_unit_test(test_mismatch_empty_and_gaps),
		cmocka_unit_test(test_stale_gen_and_excess),
		cmocka_unit_test(test_keys_past_end),
		cmocka_unit_test(test_lru_missing_and_no_fault),
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_alloc_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
