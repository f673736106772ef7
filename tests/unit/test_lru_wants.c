/*
 * Unit tests of the compact LRU want list: whatever is added, in bucket
 * order as the alloc walk adds it, reads back in LRU position order,
 * each want once, the same as sorting the full positions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "lru.h"
#include "lru_wants.h"

static int cmp_pos(const void *a, const void *b)
{
	return bpos_cmp(*(const struct bpos *)a, *(const struct bpos *)b);
}

/* what bch_alloc_lru_idx_fragmentation gives for d of bucket_size */
static uint64_t frag_time(uint64_t d, unsigned bucket_size)
{
	return (d << 31) / bucket_size;
}

struct model {
	struct bpos	*pos;
	size_t		nr;
};

static void add(struct bch_lru_wants *w, struct model *m, unsigned lru_id, uint64_t time,
		unsigned dev, uint64_t bucket, unsigned frag_id, unsigned bucket_size)
{
	assert_int_equal(bch_lru_wants_add(w, lru_id, time, dev, bucket, frag_id, bucket_size), 0);
	m->pos[m->nr++] = bch_lru_pos(lru_id, time, dev, bucket);
}

static void expect_order(struct bch_lru_wants *w, struct model *m)
{
	struct bch_lru_wants_iter it;
	struct bpos p;
	size_t ord, n = 0;

	qsort(m->pos, m->nr, sizeof(*m->pos), cmp_pos);
	assert_true(w->nr == m->nr);
	bch_lru_wants_iter_init(&it, w);
	while (bch_lru_wants_next(&it, &p, &ord)) {
		assert_true(ord == n);
		assert_true(n < m->nr);
		assert_true(bpos_eq(p, m->pos[n]));
		n++;
	}
	assert_true(n == m->nr);
	assert_false(bch_lru_wants_next(&it, &p, &ord));
}

/*
 * devices of different bucket sizes, every bucket a want with a random
 * d, some cached buckets with read wants too; version chooses one
 * fragmentation LRU for all devices (before 1.39) or one per device
 */
static void run(unsigned version, unsigned nr_devs, unsigned nbuckets)
{
	static const unsigned sizes[] = { 128, 2048, 7, 65535, 1 };
	struct bch_lru_wants w = { 0 };
	struct model m = { .pos = calloc((size_t)nr_devs * nbuckets * 2 + 2, sizeof(*m.pos)) };
	unsigned seed = 1;

	assert_non_null(m.pos);
	for (unsigned dev = 0; dev < nr_devs; dev++) {
		unsigned bs = sizes[dev % 5];
		unsigned frag_id = bch_lru_frag_id(version, dev);

		for (unsigned b = 0; b < nbuckets; b++) {
			seed = seed * 1103515245 + 12345;
			uint64_t d = 1 + (seed >> 8) % bs;

			if ((seed >> 4) % 4 == 0)
				continue;	/* full or empty: no want */
			add(&w, &m, frag_id, frag_time(d, bs), dev, b, frag_id, bs);
			if ((seed >> 6) % 16 == 0)
				add(&w, &m, dev, 1000 + (seed >> 10) % 50, dev, b, frag_id, bs);
		}
	}
	/* a bucket past 2^32 and a time no d gives: kept whole, still in order */
	add(&w, &m, bch_lru_frag_id(version, 0), frag_time(3, 128), 0, 1ULL << 33,
	    bch_lru_frag_id(version, 0), 128);
	add(&w, &m, bch_lru_frag_id(version, 0), frag_time(3, 128) + 1, 0, 5,
	    bch_lru_frag_id(version, 0), 128);
	expect_order(&w, &m);
	bch_lru_wants_free(&w);
	free(m.pos);
}

static void test_one_dev(void **state)
{
	(void)state;
	run(BCH_VERSION_1_28, 1, 20000);
}

static void test_devs_shared_lru(void **state)
{
	(void)state;
	run(BCH_VERSION_1_28, 5, 3000);
}

static void test_devs_per_dev_lru(void **state)
{
	(void)state;
	run(BCH_VERSION_1_39, 5, 3000);
}

static void test_empty(void **state)
{
	struct bch_lru_wants w = { 0 };
	struct bch_lru_wants_iter it;
	struct bpos p;
	size_t ord;

	(void)state;
	bch_lru_wants_iter_init(&it, &w);
	assert_false(bch_lru_wants_next(&it, &p, &ord));
	bch_lru_wants_free(&w);
}

/* the time of each d is its own: d = bucket size gives 2^31 */
static void test_full_bucket_time(void **state)
{
	struct bch_lru_wants w = { 0 };
	struct model m = { .pos = calloc(4, sizeof(*m.pos)) };

	(void)state;
	add(&w, &m, BCH_LRU_FRAGMENTATION, 1ULL << 31, 0, 9, BCH_LRU_FRAGMENTATION, 128);
	add(&w, &m, BCH_LRU_FRAGMENTATION, frag_time(127, 128), 0, 10, BCH_LRU_FRAGMENTATION, 128);
	add(&w, &m, BCH_LRU_FRAGMENTATION, frag_time(1, 65535), 1, 0, BCH_LRU_FRAGMENTATION, 65535);
	expect_order(&w, &m);
	assert_true(w.nr_other == 0);
	bch_lru_wants_free(&w);
	free(m.pos);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_dev),
		cmocka_unit_test(test_devs_shared_lru),
		cmocka_unit_test(test_devs_per_dev_lru),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_full_bucket_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
