/*
 * Unit tests of dump --sanitize on node images built by the node writer:
 * dirent names and inline data replaced with filler of the same length,
 * the bset checksum recomputed (the node parses again, every other byte of
 * every key unchanged), the stale space after the bset zeroed; a node
 * whose checksum is wrong, or of a btree without names, keeps its keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "btree_node.h"
#include "btree_node_write.h"
#include "fs.h"
#include "sanitize.h"

#define NODE_SECTORS	32u
#define NR_KEYS		40u
#define VAL_BYTES	32u	/* dirent: 8 target, 1 type, 23 name and padding */

struct test_fs {
	struct bch_sb	sb;
	struct bch_fs	fs;
};

static void test_fs_init(struct test_fs *t)
{
	memset(t, 0, sizeof(*t));
	t->sb.version = BCH_VERSION(1, 28);
	t->sb.bset_magic = 0x1234567890abcdefULL ^ BCH_BSET_MAGIC_XOR;
	t->sb.block_size = 8;
	t->fs.sb = &t->sb;
	t->fs.block_size = 8;
	t->fs.btree_node_size = NODE_SECTORS;
	t->fs.meta_csum_type = BCH_CSUM_crc32c_nonzero;
}

struct node {
	struct bch_node_header	h;
	struct bkey		keys[NR_KEYS];
	uint8_t			vals[NR_KEYS][VAL_BYTES];
	uint8_t			buf[NODE_SECTORS * 512];
	unsigned		sectors;
};

/*
 * a leaf of btree_id holding keys of type: dirent values named
 * "secret-name-N", or inline data of 0xab; after the bset an older node's
 * bytes
 */
static void build(struct test_fs *t, struct node *n, unsigned btree_id, unsigned type)
{
	struct bch_error err = { 0 };

	memset(n, 0, sizeof(*n));
	n->h = (struct bch_node_header){
		.btree_id = btree_id, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 0x1122334455667788ULL, .journal_seq = 9,
	};
	for (unsigned i = 0; i < NR_KEYS; i++) {
		struct bkey *k = &n->keys[i];
		uint8_t *v = n->vals[i];

		k->p = BPOS(4096, 1000 + 17 * i, UINT32_MAX);
		k->val = v;
		k->val_bytes = VAL_BYTES;
		k->type = type;
		if (type != KEY_TYPE_inline_data) {
			put_le64(v, 5000 + i);
			v[8] = 8;	/* DT_REG */
			snprintf((char *)v + 9, VAL_BYTES - 9, "secret-name-%u", i);
		} else {
			memset(v, 0xab, VAL_BYTES);
		}
	}
	if (bch_btree_node_build(&t->fs, &n->h, n->keys, NR_KEYS, n->buf, &n->sectors, &err))
		fail_msg("build: %s", err.msg);
	memcpy(n->buf + sizeof(n->buf) - 64, "stale-secret-name", 17);
}

/* parse a copy of the node; the keys in n->keys order */
static void parse(struct test_fs *t, const struct node *n, struct bch_btree_node *out)
{
	uint8_t *copy = malloc(sizeof(n->buf));
	struct bch_node_expect x = {
		.btree_id = n->h.btree_id, .min_key = n->h.min_key, .max_key = n->h.max_key,
	};
	struct bch_error err = { 0 };

	assert_non_null(copy);
	memcpy(copy, n->buf, sizeof(n->buf));
	if (bch_btree_node_parse(&t->fs, &x, copy, copy, 0, 0, out, &err))
		fail_msg("parse: %s", err.msg);
	assert_int_equal(out->nr_keys, NR_KEYS);
}

static void test_dirents(void **state)
{
	struct test_fs t;
	struct node *n = malloc(sizeof(*n));
	struct bch_sanitize_stats st = { 0 };
	struct bch_error err = { 0 };
	struct bch_btree_node p;

	(void)state;
	assert_non_null(n);
	test_fs_init(&t);
	build(&t, n, BTREE_ID_dirents, KEY_TYPE_dirent);
	assert_int_equal(bch_sanitize_node(&t.fs, n->buf, sizeof(n->buf), &st, &err), 0);
	assert_int_equal(st.keys, NR_KEYS);
	assert_int_equal(st.bsets, 1);
	assert_int_equal(st.skipped, 0);
	assert_true(st.stale_bytes > 0);
	assert_null(memmem(n->buf, sizeof(n->buf), "secret", 6));
	parse(&t, n, &p);
	for (unsigned i = 0; i < NR_KEYS; i++) {
		const uint8_t *v = p.keys[i].val;
		size_t len = strlen((const char *)n->vals[i] + 9);

		assert_int_equal(p.keys[i].val_bytes, VAL_BYTES);
		assert_memory_equal(v, n->vals[i], 9);		/* target and type kept */
		for (size_t j = 0; j < len; j++)
			assert_int_equal(v[9 + j], 'x');
		for (size_t j = 9 + len; j < VAL_BYTES; j++)
			assert_int_equal(v[j], 0);		/* the padding stays padding */
	}
	bch_btree_node_free(&p);
	free(n);
}

static void test_inline_data(void **state)
{
	struct test_fs t;
	struct node *n = malloc(sizeof(*n));
	struct bch_sanitize_stats st = { 0 };
	struct bch_error err = { 0 };
	struct bch_btree_node p;
	uint8_t zero[VAL_BYTES] = { 0 };

	(void)state;
	assert_non_null(n);
	test_fs_init(&t);
	build(&t, n, BTREE_ID_extents, KEY_TYPE_inline_data);
	assert_int_equal(bch_sanitize_node(&t.fs, n->buf, sizeof(n->buf), &st, &err), 0);
	assert_int_equal(st.keys, NR_KEYS);
	parse(&t, n, &p);
	for (unsigned i = 0; i < NR_KEYS; i++) {
		assert_int_equal(p.keys[i].type, KEY_TYPE_inline_data);
		assert_memory_equal(p.keys[i].val, zero, VAL_BYTES);
		assert_true(bpos_eq(p.keys[i].p, n->keys[i].p));
	}
	bch_btree_node_free(&p);
	free(n);
}

/* a bset whose checksum does not match is left as it is (and counted) */
static void test_bad_csum_untouched(void **state)
{
	struct test_fs t;
	struct node *n = malloc(sizeof(*n));
	struct bch_sanitize_stats st = { 0 };
	struct bch_error err = { 0 };
	uint8_t *before = malloc(sizeof(n->buf));

	(void)state;
	assert_non_null(n);
	assert_non_null(before);
	test_fs_init(&t);
	build(&t, n, BTREE_ID_dirents, KEY_TYPE_dirent);
	n->buf[BCH_NODE_JOURNAL_SEQ] ^= 1;	/* under the checksum */
	memcpy(before, n->buf, sizeof(n->buf));
	assert_int_equal(bch_sanitize_node(&t.fs, n->buf, sizeof(n->buf), &st, &err), 0);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.skipped, 1);
	/* only the stale tail is zeroed: nothing reads it */
	assert_memory_equal(n->buf, before, (size_t)n->sectors * 512);
	assert_non_null(memmem(n->buf, (size_t)n->sectors * 512, "secret-name-1", 13));
	free(before);
	free(n);
}

/* a node of a btree without names: keys untouched, stale tail zeroed */
static void test_other_btree(void **state)
{
	struct test_fs t;
	struct node *n = malloc(sizeof(*n));
	struct bch_sanitize_stats st = { 0 };
	struct bch_error err = { 0 };
	uint8_t *before = malloc(sizeof(n->buf));

	(void)state;
	assert_non_null(n);
	assert_non_null(before);
	test_fs_init(&t);
	/* the same values in a btree without names: inodes */
	build(&t, n, BTREE_ID_inodes, KEY_TYPE_inode_v3);
	memcpy(before, n->buf, sizeof(n->buf));
	assert_int_equal(bch_sanitize_node(&t.fs, n->buf, sizeof(n->buf), &st, &err), 0);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.bsets, 0);
	assert_int_equal(st.stale_bytes, sizeof(n->buf) - (size_t)n->sectors * 512);
	assert_memory_equal(n->buf, before, (size_t)n->sectors * 512);
	assert_null(memmem(n->buf, sizeof(n->buf), "stale-secret", 12));
	free(before);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirents),
		cmocka_unit_test(test_inline_data),
		cmocka_unit_test(test_bad_csum_untouched),
		cmocka_unit_test(test_other_btree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
