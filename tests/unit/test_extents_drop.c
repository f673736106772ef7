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

static void test_refused(void **state)
{
	struct bch_extent_entry e[] = {
		{ .type = BCH_EXTENT_ENTRY_stripe_ptr, .stripe_ptr = { .idx = 5 } },
		ptr_entry(0, 4096, 1, false),
	};
	uint8_t val[256], nval[2048];
	struct bkey k = make_key(KEY_TYPE_extent, e, 2, val, 0), n;
	struct drop_what w = { 0 };
	struct bch_error err = { 0 };
	unsigned nr;

	(void)state;
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	memset(val, 0, 16);	/* a zero word is no entry */
	k.val_bytes = 16;
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
	k.type = KEY_TYPE_set;
	assert_int_equal(bch_extent_drop_ptrs(&k, drop_dev, &w, &n, nval, 2048, &nr, &err),
			 -BCH_ERR_INVAL);
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
	assert_int_equal(bch_extent_accounting(BTREE_ID_extents, &k, -1, &u), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_dirty_ptr_gives_error),
		cmocka_unit_test(test_cached_dropped_crc_kept),
		cmocka_unit_test(test_first_of_two_keeps_crc),
		cmocka_unit_test(test_only_cached_gives_deleted),
		cmocka_unit_test(test_crc_of_dropped_ptr_goes),
		cmocka_unit_test(test_reflink_prefix_kept),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_accounting_of_extent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
