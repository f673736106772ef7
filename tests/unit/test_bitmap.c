/* Unit tests of the bucket bitmap type. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bitmap.h"

static void check_size(uint64_t n)
{
	struct bch_bitmap b;
	uint64_t bit;

	assert_int_equal(bch_bitmap_init(&b, n), 0);
	assert_true(b.nbits == n);
	/* just past the end, far past the end: errors, never accesses */
	assert_int_equal(bch_bitmap_test(&b, n), -BCH_ERR_RANGE);
	assert_int_equal(bch_bitmap_set(&b, n), -BCH_ERR_RANGE);
	assert_int_equal(bch_bitmap_set(&b, n + 1000000), -BCH_ERR_RANGE);
	assert_int_equal(bch_bitmap_test(&b, UINT64_MAX), -BCH_ERR_RANGE);
	assert_int_equal(bch_bitmap_clear(&b, n), -BCH_ERR_RANGE);
	if (n) {
		assert_int_equal(bch_bitmap_set(&b, 0), 0);
		assert_int_equal(bch_bitmap_set(&b, n - 1), 0);
		assert_int_equal(bch_bitmap_test(&b, 0), 1);
		assert_int_equal(bch_bitmap_test(&b, n - 1), 1);
		assert_true(bch_bitmap_weight(&b) == (n == 1 ? 1 : 2));
		assert_true(bch_bitmap_next_set(&b, 1, &bit) == (n > 1));
		if (n > 1)
			assert_true(bit == n - 1);
	}
	assert_false(bch_bitmap_next_set(&b, n, &bit));
	bch_bitmap_free(&b);
}

static void test_sizes(void **state)
{
	(void)state;
	check_size(0);
	check_size(1);
	check_size(63);
	check_size(64);
	check_size(65);
	check_size(BCH_BITMAP_CHUNK_BITS + 1);
	check_size((1ULL << 32) + 1);	/* chunks are allocated lazily */
}

static void test_resize_keeps_bits(void **state)
{
	struct bch_bitmap b;

	(void)state;
	assert_int_equal(bch_bitmap_init(&b, 256), 0);
	assert_int_equal(bch_bitmap_set(&b, 60), 0);
	assert_int_equal(bch_bitmap_set(&b, 200), 0);
	/* grow: bits kept, new range clear and usable */
	assert_int_equal(bch_bitmap_resize(&b, 512), 0);
	assert_int_equal(bch_bitmap_test(&b, 60), 1);
	assert_int_equal(bch_bitmap_test(&b, 200), 1);
	assert_int_equal(bch_bitmap_test(&b, 300), 0);
	assert_int_equal(bch_bitmap_set(&b, 511), 0);
	assert_true(bch_bitmap_weight(&b) == 3);
	/* shrink: bits past the new end dropped and out of range */
	assert_int_equal(bch_bitmap_resize(&b, 100), 0);
	assert_int_equal(bch_bitmap_test(&b, 60), 1);
	assert_int_equal(bch_bitmap_test(&b, 200), -BCH_ERR_RANGE);
	assert_true(bch_bitmap_weight(&b) == 1);
	/* grow again: the dropped bits do not come back */
	assert_int_equal(bch_bitmap_resize(&b, 1ULL << 20), 0);
	assert_int_equal(bch_bitmap_test(&b, 200), 0);
	assert_int_equal(bch_bitmap_test(&b, 511), 0);
	assert_true(bch_bitmap_weight(&b) == 1);
	/* shrink across chunks */
	assert_int_equal(bch_bitmap_set(&b, (1ULL << 20) - 1), 0);
	assert_int_equal(bch_bitmap_resize(&b, 61), 0);
	assert_true(bch_bitmap_weight(&b) == 1);
	assert_int_equal(bch_bitmap_resize(&b, 60), 0);
	assert_true(bch_bitmap_weight(&b) == 0);
	bch_bitmap_free(&b);
}

static void test_iterate(void **state)
{
	static const uint64_t bits[] = { 3, 64, 65, 70000, 131071, 131072, 200000 };
	struct bch_bitmap b;
	uint64_t bit = 0, found;
	unsigned i = 0;

	(void)state;
	assert_int_equal(bch_bitmap_init(&b, 200001), 0);
	for (unsigned j = 0; j < sizeof(bits) / sizeof(bits[0]); j++)
		assert_int_equal(bch_bitmap_set(&b, bits[j]), 0);
	while (bch_bitmap_next_set(&b, bit, &found)) {
		assert_true(found == bits[i++]);
		bit = found + 1;
	}
	assert_int_equal(i, sizeof(bits) / sizeof(bits[0]));
	assert_int_equal(bch_bitmap_clear(&b, 64), 0);
	assert_true(bch_bitmap_next_set(&b, 4, &found) && found == 65);
	assert_true(bch_bitmap_next_clear(&b, 3, &found) && found == 4);
	bch_bitmap_free(&b);
}

struct sink {
	uint8_t	buf[64];
	size_t	len;
};

static int sink_write(void *ctx, const void *p, size_t len)
{
	struct sink *s = ctx;

	assert_true(s->len + len <= sizeof(s->buf));
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	return 0;
}

static void test_export(void **state)
{
	struct sink s = { .len = 0 };
	struct bch_bitmap b;

	(void)state;
	assert_int_equal(bch_bitmap_init(&b, 17), 0);
	assert_int_equal(bch_bitmap_set(&b, 0), 0);
	assert_int_equal(bch_bitmap_set(&b, 9), 0);
	assert_int_equal(bch_bitmap_set(&b, 16), 0);
	assert_int_equal(bch_bitmap_export(&b, sink_write, &s), 0);
	assert_int_equal(s.len, 3);	/* ceil(17 / 8) */
	assert_int_equal(s.buf[0], 0x01);
	assert_int_equal(s.buf[1], 0x02);
	assert_int_equal(s.buf[2], 0x01);
	bch_bitmap_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_resize_keeps_bits),
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
