/*
 * Unit tests of the write side of keys and nodes: bkey_format choice,
 * key packing (checked by unpacking with bch_bkey_decode), and whole node
 * images built by bch_btree_node_build and read back by
 * bch_btree_node_parse, for each metadata checksum type and encrypted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "btree_node.h"
#include "btree_node_write.h"
#include "fs.h"

/* xorshift64*: deterministic, so a failure reproduces */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

/* a value near base: within 2^bits of it (bits 0: base itself) */
static uint64_t near(uint64_t base, unsigned bits)
{
	return bits ? base + (rnd() & (bits >= 64 ? UINT64_MAX : (1ULL << bits) - 1)) : base;
}

static unsigned width_of(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

static void key_fields(const struct bkey *k, uint64_t v[BKEY_NR_FIELDS])
{
	v[0] = k->p.inode;
	v[1] = k->p.offset;
	v[2] = k->p.snapshot;
	v[3] = k->size;
	v[4] = k->version.hi;
	v[5] = k->version.lo;
}

static void assert_same_key(const struct bkey *a, const struct bkey *b)
{
	assert_true(bpos_eq(a->p, b->p));
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->version.hi, b->version.hi);
	assert_int_equal(a->version.lo, b->version.lo);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->val_bytes, b->val_bytes);
	if (a->val_bytes)
		assert_memory_equal(a->val, b->val, a->val_bytes);
}

/* encode k with f, decode it again, compare; returns the format byte used */
static unsigned roundtrip(const struct bkey_format *f, const struct bkey *k)
{
	uint8_t buf[(BKEY_U64S + BKEY_VAL_U64S_MAX) * 8];
	struct bkey out;
	const char *why = NULL;
	size_t n, m;

	memset(buf, 0xa5, sizeof(buf));
	n = bch_bkey_encode(f, k, buf);
	assert_int_equal(n, bch_bkey_encoded_bytes(f, k));
	assert_int_equal(n % 8, 0);
	assert_int_equal(buf[0] * 8, n);
	m = bch_bkey_decode(f, buf, n, &out, &why);
	assert_int_equal(m, n);
	assert_same_key(k, &out);
	assert_int_equal(buf[1] & 0x80, 0);	/* needs_whiteout */
	return out.format;
}

/* ---- formats and packing ---- */

static uint8_t value_bytes[BKEY_VAL_U64S_MAX * 8];

static void random_key(struct bkey *k, const uint64_t base[BKEY_NR_FIELDS],
		       const unsigned spread[BKEY_NR_FIELDS])
{
	memset(k, 0, sizeof(*k));
	k->p.inode = near(base[0], spread[0]);
	k->p.offset = near(base[1], spread[1]);
	k->p.snapshot = (uint32_t)near(base[2], spread[2]);
	k->size = (uint32_t)near(base[3], spread[3]);
	k->version.hi = (uint32_t)near(base[4], spread[4]);
	k->version.lo = near(base[5], spread[5]);
	k->type = (uint8_t)(rnd() % KEY_TYPE_NR);
	k->val_bytes = (uint16_t)(8 * (rnd() % 6));
	k->val = value_bytes + 8 * (rnd() % 64);
}

static const unsigned unpacked_width[BKEY_NR_FIELDS] = { 64, 64, 32, 32, 32, 64 };

static void test_random_roundtrip(void **state)
{
	enum { ROUNDS = 300, KEYS = 40 };

	(void)state;
	for (size_t i = 0; i < sizeof(value_bytes); i++)
		value_bytes[i] = (uint8_t)rnd();
	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t base[BKEY_NR_FIELDS], lo[BKEY_NR_FIELDS], hi[BKEY_NR_FIELDS];
		unsigned spread[BKEY_NR_FIELDS], bits = 24;
		struct bkey keys[KEYS];
		struct bkey_format_state s;
		struct bkey_format f;

		for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
			unsigned w = unpacked_width[i];

			/* 0, small, full width, or anything in between */
			switch (rnd() % 4) {
			case 0: spread[i] = 0; break;
			case 1: spread[i] = (unsigned)(rnd() % 9); break;
			case 2: spread[i] = w; break;
			default: spread[i] = (unsigned)(rnd() % (w + 1)); break;
			}
			base[i] = rnd() % 3 == 0 ? 0 : rnd();
			if (w < 64)
				base[i] &= (1ULL << w) - 1;
			/* keep base + spread inside the field */
			if (spread[i] >= w)
				base[i] = 0;
			else if (base[i] > (w == 64 ? UINT64_MAX : (1ULL << w) - 1) -
					   ((1ULL << spread[i]) - 1))
				base[i] = 0;
		}
		bch_bkey_format_state_init(&s);
		for (unsigned k = 0; k < KEYS; k++) {
			uint64_t v[BKEY_NR_FIELDS];

			random_key(&keys[k], base, spread);
			key_fields(&keys[k], v);
			for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
				lo[i] = k && lo[i] < v[i] ? lo[i] : v[i];
				hi[i] = k && hi[i] > v[i] ? hi[i] : v[i];
			}
			bch_bkey_format_add_key(&s, &keys[k]);
		}
		bch_bkey_format_done(&s, &f);
		assert_null(bch_bkey_format_invalid(&f));

		/* no fewer key words would do */
		for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
			bits += width_of(hi[i] - lo[i]);
		assert_int_equal(f.key_u64s, DIV_ROUND_UP(bits, 64));

		for (unsigned k = 0; k < KEYS; k++)
			assert_int_equal(roundtrip(&f, &keys[k]), BKEY_FORMAT_PACKED);
	}
}

static void test_extremes(void **state)
{
	struct bkey_format_state s;
	struct bkey_format f;
	struct bkey a = { .p = POS_MIN }, b = {
		.p = SPOS_MAX, .size = UINT32_MAX,
		.version = { .lo = UINT64_MAX, .hi = UINT32_MAX },
	};

	(void)state;
	/* every field from 0 to its maximum: the unpacked widths */
	bch_bkey_format_state_init(&s);
	bch_bkey_format_add_key(&s, &a);
	bch_bkey_format_add_key(&s, &b);
	bch_bkey_format_done(&s, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_int_equal(f.key_u64s, 5);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		assert_int_equal(f.bits_per_field[i], unpacked_width[i]);
		assert_int_equal(f.field_offset[i], 0);
	}
	assert_int_equal(roundtrip(&f, &a), BKEY_FORMAT_PACKED);
	assert_int_equal(roundtrip(&f, &b), BKEY_FORMAT_PACKED);

	/* all fields at their maximum: 0 bits, offsets at the top */
	bch_bkey_format_state_init(&s);
	bch_bkey_format_add_key(&s, &b);
	bch_bkey_format_done(&s, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_int_equal(f.key_u64s, 1);
	assert_int_equal(f.field_offset[BKEY_FIELD_INODE], UINT64_MAX);
	assert_int_equal(roundtrip(&f, &b), BKEY_FORMAT_PACKED);
	assert_int_equal(roundtrip(&f, &a), BKEY_FORMAT_CURRENT);

	/* nothing added: a valid, minimal format holding only zeros */
	bch_bkey_format_state_init(&s);
	bch_bkey_format_done(&s, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_int_equal(f.key_u64s, 1);
	assert_int_equal(roundtrip(&f, &a), BKEY_FORMAT_PACKED);
	assert_int_equal(roundtrip(&f, &b), BKEY_FORMAT_CURRENT);

	/* positions only: size and versions must be 0 to pack */
	bch_bkey_format_state_init(&s);
	bch_bkey_format_add_pos(&s, BPOS(5, 100, 0));
	bch_bkey_format_add_pos(&s, BPOS(5, 300, 0));
	bch_bkey_format_done(&s, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_int_equal(f.key_u64s, 1);
	assert_int_equal(f.bits_per_field[BKEY_FIELD_SIZE], 0);
	a = (struct bkey){ .p = BPOS(5, 200, 0), .type = KEY_TYPE_set };
	assert_int_equal(roundtrip(&f, &a), BKEY_FORMAT_PACKED);
	a.size = 1;
	assert_int_equal(roundtrip(&f, &a), BKEY_FORMAT_CURRENT);
}

static void test_outside_format(void **state)
{
	struct bkey_format_state s;
	struct bkey_format f;
	struct bkey k = { .p = BPOS(1000, 7, 1), .type = KEY_TYPE_extent, .size = 8 };
	uint64_t top;

	(void)state;
	bch_bkey_format_state_init(&s);
	bch_bkey_format_add_key(&s, &k);
	k.p.inode = 1010;
	bch_bkey_format_add_key(&s, &k);
	bch_bkey_format_done(&s, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_true(f.field_offset[BKEY_FIELD_INODE] <= 1000);
	top = f.field_offset[BKEY_FIELD_INODE] + (1ULL << f.bits_per_field[BKEY_FIELD_INODE]);

	k.p.inode = 1005;
	assert_int_equal(roundtrip(&f, &k), BKEY_FORMAT_PACKED);
	k.p.inode = top - 1;
	assert_int_equal(roundtrip(&f, &k), BKEY_FORMAT_PACKED);
	k.p.inode = top;		/* one past the widest packed value */
	assert_false(bch_bkey_fits_format(&f, &k));
	assert_int_equal(roundtrip(&f, &k), BKEY_FORMAT_CURRENT);
	assert_int_equal(bch_bkey_encoded_bytes(&f, &k), 40);
	k.p.inode = 1005;
	k.version.lo = 1;		/* a field that was always 0 */
	assert_int_equal(roundtrip(&f, &k), BKEY_FORMAT_CURRENT);
	if (f.field_offset[BKEY_FIELD_INODE]) {
		k.version.lo = 0;
		k.p.inode = f.field_offset[BKEY_FIELD_INODE] - 1;
		assert_int_equal(roundtrip(&f, &k), BKEY_FORMAT_CURRENT);
	}
}

static void test_format_encode(void **state)
{
	struct bkey_format f = {
		.key_u64s = 3, .nr_fields = 6, .bits_per_field = { 64, 64, 32, 0, 0, 0 },
	}, g;
	uint8_t b[56];
	static const uint8_t want[56] = { 0x03, 0x06, 0x40, 0x40, 0x20 };

	(void)state;
	bch_bkey_format_encode(b, &f);
	assert_memory_equal(b, want, 56);	/* bcachefs-format.md §6.2 example */
	f.field_offset[3] = 0x0102030405060708ULL;
	f.field_offset[5] = 9;
	bch_bkey_format_encode(b, &f);
	bch_bkey_format_decode(b, &g);
	assert_memory_equal(&f, &g, sizeof(f));
}

/* the §6.2 worked example, encoded instead of decoded */
static void test_pack_known(void **state)
{
	static const uint8_t fmt[56] = { 0x03, 0x06, 0x40, 0x40, 0x20 };
	static const uint8_t want[24] = {
		0x03, 0x00, 0x1b, 0, 0, 0, 0, 0,
		0x15, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct bkey_format f;
	struct bkey k = { .p = BPOS(0, 21, 0), .type = KEY_TYPE_alloc_v4 };
	uint8_t b[24];

	(void)state;
	bch_bkey_format_decode(fmt, &f);
	assert_int_equal(bch_bkey_encode(&f, &k, b), 24);
	assert_memory_equal(b, want, 24);
	k.p = BPOS(0x1122334455667788ULL, 21, 0x99aabbcc);
	bch_bkey_encode(&f, &k, b);
	assert_int_equal(get_le64(b + 16), 0x1122334455667788ULL);
	assert_int_equal(get_le64(b + 8), 21);
	assert_int_equal(get_le32(b + 4), 0x99aabbcc);
}

/* the node format: range ends covered, deleted keys ignored, room for sizes */
static void test_node_format(void **state)
{
	struct bkey keys[3] = {
		{ .p = BPOS(10, 100, 0), .type = KEY_TYPE_extent, .size = 8 },
		{ .p = BPOS(10, 200, 0), .type = KEY_TYPE_deleted, .version = { .lo = 1ULL << 60 } },
		{ .p = BPOS(10, 300, 0), .type = KEY_TYPE_extent, .size = 8 },
	};
	struct bpos min = BPOS(10, 50, 0), max = BPOS(12, 0, 0);
	struct bkey_format f;
	struct bkey k = { .type = KEY_TYPE_extent };

	(void)state;
	bch_btree_node_format(&min, &max, keys, 3, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_int_equal(f.bits_per_field[BKEY_FIELD_VERSION_LO], 0);
	assert_int_equal(f.field_offset[BKEY_FIELD_SIZE], 0);
	assert_true(f.bits_per_field[BKEY_FIELD_SIZE] >= 8);	/* 8 << 4 */
	assert_false(bch_bkey_fits_format(&f, &keys[1]));
	assert_true(bch_bkey_fits_format(&f, &keys[0]));
	k.p = min;
	assert_true(bch_bkey_fits_format(&f, &k));
	k.p = max;
	k.size = 128;
	assert_true(bch_bkey_fits_format(&f, &k));
	k.size = 0;
	assert_true(bch_bkey_fits_format(&f, &k));

	/* no keys: still covers the range */
	bch_btree_node_format(&min, &max, NULL, 0, &f);
	assert_null(bch_bkey_format_invalid(&f));
	assert_true(bch_bkey_fits_format(&f, &k));
	assert_int_equal(f.bits_per_field[BKEY_FIELD_SIZE], 0);
}

/* ---- whole nodes ---- */

struct test_fs {
	struct bch_sb	sb;
	struct bch_fs	fs;
};

static void test_fs_init(struct test_fs *t, unsigned csum_type, unsigned block,
			 unsigned node, uint16_t version)
{
	memset(t, 0, sizeof(*t));
	t->sb.version = version;
	t->sb.bset_magic = 0x1234567890abcdefULL ^ BCH_BSET_MAGIC_XOR;
	t->sb.block_size = (uint16_t)block;
	t->fs.sb = &t->sb;
	t->fs.block_size = block;
	t->fs.btree_node_size = node;
	t->fs.meta_csum_type = csum_type;
	if (bch_csum_type_is_encryption(csum_type)) {
		t->fs.encrypted = true;
		for (unsigned i = 0; i < sizeof(t->fs.key.key); i++)
			t->fs.key.key[i] = (uint8_t)(0x40 + i);
	}
}

struct node_keys {
	struct bkey	*keys;
	size_t		nr;
	uint8_t		*vals;
};

static void node_keys_free(struct node_keys *nk)
{
	free(nk->keys);
	free(nk->vals);
}

/* leaf keys: increasing positions from start, random types and values */
static void leaf_keys(struct node_keys *nk, size_t nr, struct bpos start)
{
	struct bpos p = start;

	nk->keys = calloc(nr ? nr : 1, sizeof(*nk->keys));
	nk->vals = malloc(nr * 64 + 8);
	assert_non_null(nk->keys);
	assert_non_null(nk->vals);
	for (size_t i = 0; i < nr * 64 + 8; i++)
		nk->vals[i] = (uint8_t)rnd();
	for (size_t i = 0; i < nr; i++) {
		struct bkey *k = &nk->keys[i];
		static const uint8_t types[] = {
			KEY_TYPE_extent, KEY_TYPE_extent, KEY_TYPE_reservation,
			KEY_TYPE_whiteout, KEY_TYPE_deleted, KEY_TYPE_inline_data,
		};

		p.offset += 1 + rnd() % 1000;
		if (rnd() % 16 == 0)
			p.inode += 1 + rnd() % 3;
		p.snapshot = rnd() % 8 == 0 ? UINT32_MAX - (uint32_t)(rnd() % 4) : 1;
		k->p = p;
		k->type = types[rnd() % sizeof(types)];
		k->size = k->type == KEY_TYPE_deleted ? 0 : (uint32_t)(rnd() % 256);
		k->version.lo = rnd() % 4 == 0 ? rnd() : 0;
		k->version.hi = rnd() % 50 == 0 ? (uint32_t)rnd() : 0;
		k->val_bytes = k->type == KEY_TYPE_deleted || k->type == KEY_TYPE_whiteout ?
			0 : (uint16_t)(8 * (1 + rnd() % 8));
		k->val = nk->vals + 8 * i;
	}
}

/* btree_ptr_v2 keys of an interior node: children tiling [min, max] */
static void interior_keys(struct node_keys *nk, size_t nr, struct bpos min, struct bpos max)
{
	struct bpos child_min = min;

	nk->keys = calloc(nr, sizeof(*nk->keys));
	nk->vals = calloc(nr, 48);
	assert_non_null(nk->keys);
	assert_non_null(nk->vals);
	for (size_t i = 0; i < nr; i++) {
		struct bkey *k = &nk->keys[i];
		uint8_t *v = nk->vals + 48 * i;

		k->p = i + 1 == nr ? max : BPOS(min.inode + i + 1, rnd() % 100000, UINT32_MAX);
		k->type = KEY_TYPE_btree_ptr_v2;
		k->val_bytes = 48;
		k->val = v;
		put_le64(v + 8, rnd() | 1);		/* child seq */
		put_le16(v + 16, 8);			/* sectors_written */
		bpos_encode(v + 20, child_min);
		put_le64(v + 40, 4096 * (i + 1) << 1);	/* device 0, offset, gen 0 */
		child_min = bpos_successor(k->p);
	}
}

/* build, parse with a v2 pointer, compare every surviving key */
static void build_and_parse(struct test_fs *t, const struct bch_node_header *h,
			    const struct node_keys *nk, bool v2)
{
	struct bch_fs *fs = &t->fs;
	size_t node_bytes = (size_t)fs->btree_node_size * 512;
	uint8_t *buf = malloc(node_bytes);
	struct bch_node_expect x = {
		.btree_id = h->btree_id, .level = h->level,
		.min_key = h->min_key, .max_key = h->max_key,
	};
	struct bch_error err = { 0 };
	struct bch_btree_node n;
	struct bkey_format f;
	size_t bytes, j = 0;
	unsigned sectors = 0;
	int ret;

	assert_non_null(buf);
	memset(buf, 0xcc, node_bytes);
	ret = bch_btree_node_build(fs, h, nk->keys, nk->nr, buf, &sectors, &err);
	if (ret)
		fail_msg("build: %s", err.msg);

	bch_btree_node_format(&h->min_key, &h->max_key, nk->keys, nk->nr, &f);
	assert_null(bch_bkey_format_invalid(&f));
	bytes = bch_btree_node_bytes(&f, nk->keys, nk->nr);
	assert_int_equal(sectors, ROUND_UP(bytes, (size_t)fs->block_size * 512) / 512);
	assert_int_equal(get_le16(buf + BCH_NODE_U64S) * 8 + BCH_NODE_KEYS, bytes);
	for (size_t i = bytes; i < node_bytes; i++)
		if (buf[i])
			fail_msg("node byte %zu after the bset is not zero", i);
	assert_int_equal(get_le32(buf + BCH_NODE_BSET_FLAGS), fs->meta_csum_type);
	assert_int_equal(get_le16(buf + BCH_NODE_VERSION), t->sb.version);
	assert_int_equal(get_le64(buf + BCH_NODE_SEQ), h->seq);
	assert_int_equal(get_le64(buf + BCH_NODE_JOURNAL_SEQ), h->journal_seq);
	if (!fs->encrypted) {
		struct bkey_format g;
		uint64_t flags = get_le64(buf + BCH_NODE_FLAGS);

		bch_bkey_format_decode(buf + BCH_NODE_FORMAT, &g);
		assert_memory_equal(&f, &g, sizeof(f));
		assert_int_equal(flags >> 32, h->node_seq);
		assert_int_equal(flags & BCH_NODE_NEW_EXTENT_OVERWRITE,
				 BCH_NODE_NEW_EXTENT_OVERWRITE);
		assert_int_equal(get_le64(buf + BCH_NODE_PTR), 0);
	} else {
		uint8_t plain[20];

		/* the header is ciphertext on disk */
		bpos_encode(plain, h->min_key);
		assert_memory_not_equal(buf + BCH_NODE_MIN_KEY, plain, 20);
	}

	if (v2) {
		x.ptr.v2 = true;
		x.ptr.h.seq = h->seq;
		x.ptr.h.sectors_written = (uint16_t)sectors;
		x.ptr.h.min_key = h->min_key;
	}
	ret = bch_btree_node_parse(fs, &x, buf, buf, 0, 0, &n, &err);
	if (ret) {
		bch_btree_node_free(&n);
		fail_msg("parse: %s", err.msg);
	}
	assert_int_equal(n.btree_id, h->btree_id);
	assert_int_equal(n.level, h->level);
	assert_true(bpos_eq(n.min_key, h->min_key));
	assert_true(bpos_eq(n.max_key, h->max_key));
	assert_int_equal(n.seq, h->seq);
	assert_int_equal(n.written, sectors);
	assert_int_equal(n.nr_bsets, 1);
	assert_memory_equal(&n.format, &f, sizeof(f));
	for (size_t i = 0; i < nk->nr; i++) {
		const struct bkey *k = &nk->keys[i];

		if (k->type == KEY_TYPE_deleted)	/* the reader drops them */
			continue;
		assert_true(j < n.nr_keys);
		assert_same_key(k, &n.keys[j]);
		assert_int_equal(n.keys[j].format, bch_bkey_fits_format(&f, k) ?
				 BKEY_FORMAT_PACKED : BKEY_FORMAT_CURRENT);
		j++;
	}
	assert_int_equal(j, n.nr_keys);
	bch_btree_node_free(&n);
}

static const unsigned csum_types[] = {
	BCH_CSUM_none, BCH_CSUM_crc32c_nonzero, BCH_CSUM_crc64_nonzero, BCH_CSUM_xxhash,
	BCH_CSUM_chacha20_poly1305_128, BCH_CSUM_chacha20_poly1305_80,
};

static void test_leaf_nodes(void **state)
{
	(void)state;
	for (unsigned c = 0; c < ARRAY_SIZE(csum_types); c++) {
		for (unsigned round = 0; round < 4; round++) {
			struct test_fs t;
			struct node_keys nk = { 0 };
			struct bch_node_header h = {
				.btree_id = round == 3 ? BTREE_ID_reconcile_hipri_phys :
					    BTREE_ID_extents,
				.level = 0,
				.min_key = round ? BPOS(4096, 10, 0) : POS_MIN,
				.max_key = round ? BPOS(9000, 0, UINT32_MAX) : SPOS_MAX,
				.seq = rnd() | 1,
				.node_seq = (uint32_t)rnd(),
				.journal_seq = round == 1 ? 0 : rnd() >> 20,
			};
			size_t nr = round == 2 ? 0 : 20 + rnd() % 200;

			test_fs_init(&t, csum_types[c], round == 1 ? 8 : 1, 512,
				     round & 1 ? BCH_VERSION_1_28 : BCH_VERSION_1_36);
			leaf_keys(&nk, nr, BPOS(4096, 10, 0));
			nk.nr = nr;
			build_and_parse(&t, &h, &nk, true);
			build_and_parse(&t, &h, &nk, false);
			node_keys_free(&nk);
		}
	}
}

static void test_interior_nodes(void **state)
{
	(void)state;
	for (unsigned c = 0; c < ARRAY_SIZE(csum_types); c++) {
		struct test_fs t;
		struct node_keys nk = { 0 };
		struct bch_node_header h = {
			.btree_id = BTREE_ID_alloc,
			.level = 1 + c % 3,
			.min_key = c & 1 ? BPOS(3, 0, 0) : POS_MIN,
			.max_key = SPOS_MAX,
			.seq = rnd() | 1,
			.node_seq = 7,
			.journal_seq = 1234,
		};

		test_fs_init(&t, csum_types[c], 8, 256, BCH_VERSION_1_36);
		interior_keys(&nk, 30, h.min_key, h.max_key);
		nk.nr = 30;
		build_and_parse(&t, &h, &nk, true);
		node_keys_free(&nk);
	}
}

/* build with a fresh error (the first error recorded in a bch_error wins) */
static int build(struct test_fs *t, const struct bch_node_header *h, const struct bkey *keys,
		 size_t nr, uint8_t *buf, unsigned *sectors)
{
	struct bch_error err = { 0 };

	return bch_btree_node_build(&t->fs, h, keys, nr, buf, sectors, &err);
}

/* a tampered node must fail to parse: the test above can fail */
static void test_tamper_detected(void **state)
{
	struct test_fs t;
	struct node_keys nk = { 0 };
	struct bch_node_header h = {
		.btree_id = BTREE_ID_extents, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 77, .journal_seq = 5,
	};
	struct bch_node_expect x = { .btree_id = 0, .min_key = POS_MIN, .max_key = SPOS_MAX };
	struct bch_btree_node n;
	unsigned sectors;

	(void)state;
	for (unsigned c = 1; c < ARRAY_SIZE(csum_types); c++) {
		struct bch_error err = { 0 };
		uint8_t *buf = malloc(256 * 512);

		test_fs_init(&t, csum_types[c], 1, 256, BCH_VERSION_1_36);
		leaf_keys(&nk, 10, BPOS(1, 1, 0));
		nk.nr = 10;
		assert_int_equal(build(&t, &h, nk.keys, nk.nr, buf, &sectors), 0);
		buf[BCH_NODE_KEYS + 5] ^= 1;
		assert_int_equal(bch_btree_node_parse(&t.fs, &x, buf, buf, 0, 0, &n, &err),
				 -BCH_ERR_CORRUPT);
		bch_btree_node_free(&n);
		node_keys_free(&nk);
	}
}

static void test_too_big(void **state)
{
	struct test_fs t;
	struct node_keys nk = { 0 };
	struct bch_node_header h = {
		.btree_id = BTREE_ID_extents, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 1,
	};
	uint8_t *buf;
	unsigned sectors = 0;
	struct bkey_format f;
	size_t nr = 400;

	(void)state;
	test_fs_init(&t, BCH_CSUM_crc32c_nonzero, 8, 64, BCH_VERSION_1_36);	/* 32 KiB */
	buf = malloc(64 * 512);
	leaf_keys(&nk, nr, BPOS(1, 1, 0));
	for (size_t i = 0; i < nr; i++) {
		nk.keys[i].type = KEY_TYPE_extent;
		nk.keys[i].val_bytes = 64;
	}
	nk.nr = nr;
	bch_btree_node_format(&h.min_key, &h.max_key, nk.keys, nr, &f);
	assert_true(bch_btree_node_bytes(&f, nk.keys, nr) > 64 * 512);
	assert_int_equal(build(&t, &h, nk.keys, nr, buf, &sectors), -BCH_ERR_CORRUPT);

	/* the largest prefix that fits builds */
	while (ROUND_UP(bch_btree_node_bytes(&f, nk.keys, nr), 4096u) > 64 * 512) {
		nr--;
		bch_btree_node_format(&h.min_key, &h.max_key, nk.keys, nr, &f);
	}
	assert_int_equal(build(&t, &h, nk.keys, nr, buf, &sectors), 0);
	assert_true(sectors <= 64);
	assert_int_equal(build(&t, &h, nk.keys, nr + 1, buf, &sectors), -BCH_ERR_CORRUPT);

	/* unusable arguments */
	h.seq = 0;
	assert_int_equal(build(&t, &h, nk.keys, 2, buf, &sectors), -BCH_ERR_INVAL);
	h.seq = 1;
	nk.keys[1].p = nk.keys[0].p;
	assert_int_equal(build(&t, &h, nk.keys, 2, buf, &sectors), -BCH_ERR_INVAL);
	free(buf);
	node_keys_free(&nk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_outside_format),
		cmocka_unit_test(test_format_encode),
		cmocka_unit_test(test_pack_known),
		cmocka_unit_test(test_node_format),
		cmocka_unit_test(test_leaf_nodes),
		cmocka_unit_test(test_interior_nodes),
		cmocka_unit_test(test_tamper_detected),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
