/*
 * Unit tests of dropping pointers from data extents (extents_drop.c) and
 * of the accounting an extent counts (accounting.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "accounting.h"
#include "btree_alloc.h"
#include "extents.h"

static struct bch_extent_entry ptr_entry(uint8_t dev, uint64_t offset, uint8_t gen, bool cached)
{
	return (struct bch_extent_entry){
		.type = BCH_EXTENT_ENTRY_ptr,
		.ptr = { .dev = dev, .offset = offset, .gen = gen, .cached = cached },
	};
}

static struct bch_extent_entry crc_entry(uint32_t size, uint32_t csum)
{
	return (struct bch_extent_entry){
		.type = BCH_EXTENT_ENTRY_crc32,
		.crc = { .compressed_size = size, .uncompressed_size = size,
			 .csum_type = BCH_CSUM_crc32c, .csum = { .lo = csum } },
	};
}

/* an extent at 4096:128 of 128 sectors with these entries (after prefix bytes) */
static struct bkey make_key(unsigned type, const struct bch_extent_entry *e, unsigned nr,
			    uint8_t *val, size_t prefix)
{
	struct bch_error err = { 0 };
	size_t bytes = 0;

	memset(val, 0xab, prefix);
	assert_int_equal(bch_extent_entries_encode(e, nr, val + prefix, 256, &bytes, &err), 0);
	return (struct bkey){
		.p = BPOS(4096, 128, 7), .size = 128, .type = (uint8_t)type,
		.val = val, .val_bytes = (uint16_t)(prefix + bytes), .version = { .lo = 3 },
	};
}

struct drop_what {
	uint8_t		dev;
};

static bool drop_dev(void *ctx, const struct bch_extent_ptr *p, unsigned idx)
{
	const struct drop_what *w = ctx;

	(void)idx;
	return p->dev == w->dev;
}

static void drop(const struct bkey *k, uint8_t dev, struct bkey *out, uint8_t *val,
		 unsigned *nr)
{
	struct drop_what w = { dev };
	struct bch_error err = { 0 };

	assert_int_equal(bch_extent_drop_ptrs(k, drop_dev, &w, out, val, 2048, nr, &err), 0);
}

/* the value's bytes equal these entries' encoding */
static void assert_entries(const uint8_t *v, size_t len, const struct bch_extent_entry *e,
			   unsigned nr)
{
	uint8_t want[256];
	struct bch_error err = { 0 };
	size_t bytes = 0;

	assert_int_equal(bch_extent_entries_encode(e, nr, want, sizeof(want), &bytes, &err), 0);
	assert_int_equal(len, bytes);
	assert_memory_equal(v, want, bytes);
}

static void test_only_dirty_ptr_gives_error(void **state)
{
	struct bch_extent_entry e[] = { crc_entry(128, 0x1234), ptr_entry(0, 4096, 1, false) };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 2, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_error);
	assert_int_equal(n.val_bytes, 0);
	assert_int_equal(n.size, 128);
	assert_true(bpos_eq(n.p, k.p) && n.version.lo == 3);
}

static void test_cached_dropped_crc_kept(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1234), ptr_entry(0, 4096, 1, false), ptr_entry(1, 8192, 2, true),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 1, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, e, 2);

	/* the only dirty one: a cached pointer left does not keep the data */
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(n.type, KEY_TYPE_error);
}

static void test_first_of_two_keeps_crc(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1234), ptr_entry(0, 4096, 1, false), ptr_entry(1, 8192, 2, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0), n;
	struct bch_extent_entry left[] = { e[0], e[2] };
	unsigned nr;

	(void)state;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, left, 2);
}

static void test_only_cached_gives_deleted(void **state)
{
	struct bch_extent_entry e[] = { ptr_entry(2, 512, 0, true) };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 1, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 2, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_deleted);
	/* nothing asked: the key as it was */
	drop(&k, 9, &n, nval, &nr);
	assert_int_equal(nr, 0);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_memory_equal(n.val, k.val, k.val_bytes);
}

static void test_crc_of_dropped_ptr_goes(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1111), ptr_entry(0, 4096, 1, false),
		crc_entry(128, 0x2222), ptr_entry(1, 8192, 1, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 4, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, e + 2, 2);
	drop(&k, 1, &n, nval, &nr);
	assert_entries(n.val, n.val_bytes, e, 2);
}

static void test_reflink_prefix_kept(void **state)
{
	struct bch_extent_entry e[] = { ptr_entry(0, 4096, 1, false), ptr_entry(1, 64, 0, false) };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_reflink_v, e, 2, val, 8), n;
	unsigned nr;

	(void)state;
	drop(&k, 1, &n, nval, &nr);
	assert_int_equal(n.type, KEY_TYPE_reflink_v);
	assert_int_equal(n.val_bytes, 16);
	assert_memory_equal(n.val, val, 8);
	assert_entries(n.val + 8, 8, e, 1);
}

static void test_second_of_two_keeps_crc(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1234), ptr_entry(0, 4096, 1, false), ptr_entry(1, 8192, 2, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 1, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, e, 2);
	assert_true(bpos_eq(n.p, k.p) && n.size == 128 && n.version.lo == 3);
}

/* pointers picked by their ordinal; records what it was asked */
struct drop_idx {
	uint32_t	mask;		/* bit i: drop pointer i */
	unsigned	nr_asked;
	uint8_t		devs[8];
	unsigned	idx[8];
};

static bool drop_by_idx(void *ctx, const struct bch_extent_ptr *p, unsigned idx)
{
	struct drop_idx *w = ctx;

	if (w->nr_asked < 8) {
		w->devs[w->nr_asked] = p->dev;
		w->idx[w->nr_asked] = idx;
	}
	w->nr_asked++;
	return idx < 32 && (w->mask >> idx & 1);
}

static int drop_mask(const struct bkey *k, uint32_t mask, struct bkey *out, uint8_t *val,
		     unsigned *nr)
{
	struct drop_idx w = { .mask = mask };
	struct bch_error err = { 0 };

	return bch_extent_drop_ptrs(k, drop_by_idx, &w, out, val, 2048, nr, &err);
}

static void test_asked_in_order(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1111), ptr_entry(4, 4096, 1, false),
		crc_entry(128, 0x2222), ptr_entry(2, 8192, 1, true), ptr_entry(7, 64, 0, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 5, val, 0), n;
	struct drop_idx w = { .mask = 0 };
	struct bch_error err = { 0 };
	unsigned nr = 99;

	(void)state;
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_by_idx, &w, &n, nval, 2048, &nr, &err), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(w.nr_asked, 3);
	assert_int_equal(w.idx[0], 0);
	assert_int_equal(w.idx[1], 1);
	assert_int_equal(w.idx[2], 2);
	assert_int_equal(w.devs[0], 4);
	assert_int_equal(w.devs[1], 2);
	assert_int_equal(w.devs[2], 7);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_int_equal(n.val_bytes, k.val_bytes);
	assert_memory_equal(n.val, k.val, k.val_bytes);
}

/* each pointer dropped in turn, as upstream restarts after every drop */
static void test_two_dropped_crc_goes(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1111), ptr_entry(0, 4096, 1, false), ptr_entry(1, 4096, 1, false),
		crc_entry(128, 0x2222), ptr_entry(2, 8192, 1, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 5, val, 0), n;
	unsigned nr;

	(void)state;
	assert_int_equal(drop_mask(&k, 3, &n, nval, &nr), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, e + 3, 2);

	/* the last two: the second crc goes with the last, the first stays */
	assert_int_equal(drop_mask(&k, 6, &n, nval, &nr), 0);
	assert_int_equal(nr, 2);
	assert_entries(n.val, n.val_bytes, e, 2);
}

/* entries other than pointers, crc and stripe pointers are kept; the walk back passes them */
static void test_other_entries_kept(void **state)
{
	struct bch_extent_entry flags = {
		.type = BCH_EXTENT_ENTRY_flags, .word = 1ULL << BCH_EXTENT_ENTRY_flags | 1ULL << 40,
	};
	struct bch_extent_entry rebalance = {
		.type = BCH_EXTENT_ENTRY_rebalance,
		.word = 1ULL << BCH_EXTENT_ENTRY_rebalance | 0x5a5aULL << 20,
	};
	struct bch_extent_entry e[] = {
		flags, crc_entry(128, 0x1111), ptr_entry(0, 4096, 1, true),
		crc_entry(128, 0x2222), rebalance, ptr_entry(1, 8192, 1, false),
	};
	struct bch_extent_entry left0[] = { flags, e[3], rebalance, e[5] };
	struct bch_extent_entry left1[] = { flags, e[1], e[2], rebalance };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 6, val, 0), n;
	unsigned nr;

	(void)state;
	assert_int_equal(drop_mask(&k, 1, &n, nval, &nr), 0);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, left0, 4);

	/* the only dirty pointer: an error key, whatever else the value had */
	assert_int_equal(drop_mask(&k, 2, &n, nval, &nr), 0);
	assert_int_equal(n.type, KEY_TYPE_error);
	assert_int_equal(n.val_bytes, 0);

	/* a cached-only key keeps the walk-back rule: crc 2 goes, rebalance stays */
	e[5].ptr.cached = true;
	k = make_key(KEY_TYPE_extent, e, 6, val, 0);
	left1[2].ptr.cached = true;
	assert_int_equal(drop_mask(&k, 2, &n, nval, &nr), 0);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, left1, 4);
}

static struct bch_extent_entry stripe_entry(uint64_t idx, uint8_t block)
{
	return (struct bch_extent_entry){
		.type = BCH_EXTENT_ENTRY_stripe_ptr,
		.stripe_ptr = { .idx = idx, .block = block, .redundancy = 1 },
	};
}

/* an erasure-coded pointer is not dropped: its device becomes invalid */
static void test_ec_ptr_invalidated(void **state)
{
	struct bch_extent_entry e[] = {
		crc_entry(128, 0x1111), stripe_entry(5, 2), ptr_entry(0, 4096, 1, false),
		ptr_entry(1, 8192, 3, false),
	};
	struct bch_extent_entry want[4];
	uint8_t val[256], nval[2048], nval2[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 4, val, 0), n, n2;
	unsigned nr;

	(void)state;
	memcpy(want, e, sizeof(e));
	want[2].ptr.dev = BCH_SB_MEMBER_INVALID;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, want, 4);

	/* already invalid: nothing changes */
	drop(&n, BCH_SB_MEMBER_INVALID, &n2, nval2, &nr);
	assert_int_equal(nr, 0);
	assert_memory_equal(n2.val, n.val, n.val_bytes);

	/* the only dirty pointer, erasure coded: still a dirty pointer, no error key */
	k = make_key(KEY_TYPE_extent, e + 1, 2, val, 0);
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, want + 1, 2);

	/* the other pointer of the first key is dropped as usual, crc kept */
	k = make_key(KEY_TYPE_extent, e, 4, val, 0);
	drop(&k, 1, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_entries(n.val, n.val_bytes, e, 3);
}

/* a stripe pointer entry is the next pointer's: dropping the one before keeps it */
static void test_stripe_belongs_to_next_ptr(void **state)
{
	struct bch_extent_entry e[] = {
		ptr_entry(0, 4096, 1, false), stripe_entry(9, 0), ptr_entry(1, 8192, 1, false),
	};
	struct bch_extent_entry want[] = { e[0], e[1], e[2] };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0), n;
	unsigned nr;

	(void)state;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_entries(n.val, n.val_bytes, e + 1, 2);

	want[2].ptr.dev = BCH_SB_MEMBER_INVALID;
	drop(&k, 1, &n, nval, &nr);
	assert_int_equal(nr, 1);
	assert_entries(n.val, n.val_bytes, want, 3);
}

/* upstream checks the device: another pointer there erasure coded is enough */
static void test_ec_same_device(void **state)
{
	struct bch_extent_entry e[] = {
		stripe_entry(5, 1), ptr_entry(3, 4096, 1, false), ptr_entry(3, 9000, 4, true),
	};
	struct bch_extent_entry want[] = { e[0], e[1], e[2] };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0), n;
	unsigned nr;

	(void)state;
	want[2].ptr.dev = BCH_SB_MEMBER_INVALID;
	assert_int_equal(drop_mask(&k, 2, &n, nval, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(n.type, KEY_TYPE_extent);
	assert_entries(n.val, n.val_bytes, want, 3);
}

static void test_reflink_all_dirty_dropped(void **state)
{
	struct bch_extent_entry e[] = { crc_entry(128, 0x1), ptr_entry(0, 4096, 1, false) };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_reflink_v, e, 2, val, 8), n;
	unsigned nr;

	(void)state;
	drop(&k, 0, &n, nval, &nr);
	assert_int_equal(n.type, KEY_TYPE_error);
	assert_int_equal(n.val_bytes, 0);
	assert_int_equal(n.size, 128);
}

static void test_refused(void **state)
{
	struct bch_extent_entry e[] = { ptr_entry(0, 4096, 1, false), ptr_entry(1, 64, 0, false) };
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 2, val, 0), n;
	struct drop_what w = { 1 };
	struct bch_error err = { 0 };
	unsigned nr;

	(void)state;
	/* no room for what is kept */
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 8, &nr, &err),
			 -BCH_ERR_RANGE);
	/* a truncated entry */
	k.val_bytes = 12;
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	assert_true(err.msg[0]);
	/* an unknown entry type */
	put_le64(val + 8, 1ULL << 12);
	k.val_bytes = 16;
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	memset(val, 0, 16);	/* a zero word is no entry */
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	k.type = KEY_TYPE_reflink_v;
	k.val_bytes = 4;	/* not even the refcount */
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	k.type = KEY_TYPE_set;
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
}

/* random values: an answer or an error, never a crash (run under ASan too) */
static void test_garbage(void **state)
{
	uint8_t val[512], nval[512];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct bch_error err;
	struct bkey k, n;
	unsigned nr;

	(void)state;
	for (unsigned round = 0; round < 20000; round++) {
		struct drop_idx w = { 0 };
		int ret;

		/* mostly words whose low bits say pointer, crc or stripe pointer */
		for (unsigned i = 0; i < sizeof(val); i += 8) {
			static const uint64_t low[8] = { 1, 1, 1, 1, 2, 4, 16, 0 };
			uint64_t t;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			t = low[x & 7];
			put_le64(val + i, t ? (x & ~(2 * t - 1)) | t : x);
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		w.mask = (uint32_t)x;
		k = (struct bkey){
			.type = round & 1 ? KEY_TYPE_extent : KEY_TYPE_reflink_v,
			.size = 8, .val = val, .val_bytes = (uint16_t)(x >> 40) % sizeof(val),
		};
		err = (struct bch_error){ 0 };
		ret = bch_extent_drop_ptrs(&k, drop_by_idx, &w, &n, nval, sizeof(nval), &nr, &err);
		assert_true(ret == 0 || ret == -BCH_ERR_INVAL);
		if (ret) {
			assert_true(err.msg[0]);
			continue;
		}
		assert_true(n.val_bytes <= k.val_bytes);
		if (!nr)
			assert_memory_equal(n.val, k.val, k.val_bytes);
	}
}

/* the accounting delta at p in a finished set, counter i of nr */
static int64_t acct_at(struct bch_key_updates *u, struct bpos p, unsigned i, unsigned nr)
{
	size_t j = bch_key_updates_lower_bound(u, BTREE_ID_accounting, 0, p);

	if (j >= u->nr || !bpos_eq(bch_key_update_pos(&u->v[j]), p))
		return 0;
	return (int64_t)get_le64(u->v[j].bytes + bch_key_update_bytes(&u->v[j]) - 8 * nr + 8 * i);
}

static void test_accounting_of_extent(void **state)
{
	struct bch_extent_entry e[] = {
		ptr_entry(1, 4096, 1, false), ptr_entry(0, 64, 0, false), ptr_entry(2, 8, 0, true),
	};
	uint8_t val[256], devs[2] = { 0, 1 }, two = 2, s[20] = { BCH_ACCT_inum };
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0);
	struct bch_key_updates u = { 0 };

	(void)state;
	assert_int_equal(bch_extent_accounting(BCH_VERSION_1_36, BTREE_ID_extents, &k, -1, &u), 0);
	bch_key_updates_finish(&u);
	put_le64(s + 1, 4096);
	assert_true(acct_at(&u, bch_acct_replicas_pos(BCH_DATA_user, 2, devs), 0, 1) == -256);
	assert_true(acct_at(&u, bch_acct_replicas_pos(BCH_DATA_cached, 1, &two), 0, 1) == -128);
	assert_true(acct_at(&u, bch_acct_pos(s), 0, 3) == -1);
	assert_true(acct_at(&u, bch_acct_pos(s), 1, 3) == -128);
	assert_true(acct_at(&u, bch_acct_pos(s), 2, 3) == -256);
	memset(s, 0, sizeof(s));
	s[0] = BCH_ACCT_snapshot;
	put_le32(s + 1, 7);
	assert_true(acct_at(&u, bch_acct_pos(s), 0, 1) == -256);
	bch_key_updates_free(&u);
}

/*
 * From 1.39 the snapshot's entry is per (snapshot, btree): the key, its
 * bytes unpacked, its dirty sectors; counted for a key of no dirty
 * pointer too (the position of btree 0, extents, is the old one's)
 */
static void test_accounting_of_extent_v139(void **state)
{
	struct bch_extent_entry e[] = {
		ptr_entry(1, 4096, 1, false), ptr_entry(0, 64, 0, false), ptr_entry(2, 8, 0, true),
	};
	struct bch_extent_entry c[] = { ptr_entry(2, 8, 0, true) };
	uint8_t val[256], val2[256];
	struct bkey k = make_key(KEY_TYPE_extent, e, 3, val, 0);
	struct bkey only_cached = make_key(KEY_TYPE_extent, c, 1, val2, 0);
	struct bpos p = bch_acct_snapshot_pos(7, BTREE_ID_extents);
	struct bch_key_updates u = { 0 };

	(void)state;
	assert_int_equal(bch_extent_accounting(BCH_VERSION_1_39, BTREE_ID_extents, &k, -1, &u), 0);
	bch_key_updates_finish(&u);
	assert_true(acct_at(&u, p, 0, 3) == -1);
	assert_true(acct_at(&u, p, 1, 3) == -(40 + (int64_t)k.val_bytes));
	assert_true(acct_at(&u, p, 2, 3) == -256);
	bch_key_updates_free(&u);

	memset(&u, 0, sizeof(u));
	assert_int_equal(bch_extent_accounting(BCH_VERSION_1_39, BTREE_ID_extents, &only_cached,
					       1, &u), 0);
	bch_key_updates_finish(&u);
	assert_true(acct_at(&u, p, 0, 3) == 1);
	assert_true(acct_at(&u, p, 1, 3) == 40 + (int64_t)only_cached.val_bytes);
	assert_true(acct_at(&u, p, 2, 3) == 0);
	bch_key_updates_free(&u);

	/* an error key, as a repair leaves one: a key of 40 bytes; before 1.39 nothing */
	only_cached.type = KEY_TYPE_error;
	only_cached.val_bytes = 0;
	memset(&u, 0, sizeof(u));
	assert_int_equal(bch_extent_accounting(BCH_VERSION_1_39, BTREE_ID_extents, &only_cached,
					       1, &u), 0);
	bch_key_updates_finish(&u);
	assert_true(acct_at(&u, p, 0, 3) == 1);
	assert_true(acct_at(&u, p, 1, 3) == 40);
	bch_key_updates_free(&u);
	memset(&u, 0, sizeof(u));
	assert_int_equal(bch_extent_accounting(BCH_VERSION_1_36, BTREE_ID_extents, &only_cached,
					       1, &u), 0);
	assert_int_equal(u.nr, 0);
	bch_key_updates_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_dirty_ptr_gives_error),
		cmocka_unit_test(test_cached_dropped_crc_kept),
		cmocka_unit_test(test_first_of_two_keeps_crc),
		cmocka_unit_test(test_only_cached_gives_deleted),
		cmocka_unit_test(test_crc_of_dropped_ptr_goes),
		cmocka_unit_test(test_reflink_prefix_kept),
		cmocka_unit_test(test_second_of_two_keeps_crc),
		cmocka_unit_test(test_asked_in_order),
		cmocka_unit_test(test_two_dropped_crc_goes),
		cmocka_unit_test(test_other_entries_kept),
		cmocka_unit_test(test_ec_ptr_invalidated),
		cmocka_unit_test(test_stripe_belongs_to_next_ptr),
		cmocka_unit_test(test_ec_same_device),
		cmocka_unit_test(test_reflink_all_dirty_dropped),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_accounting_of_extent),
		cmocka_unit_test(test_accounting_of_extent_v139),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
