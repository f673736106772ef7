/* Unit tests: bkey_format validation, key unpacking, bpos ordering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bkey.h"

/* the worked example of bcachefs-format.md §6.2, from a real alloc node */
static const uint8_t alloc_format[56] = { 0x03, 0x06, 0x40, 0x40, 0x20 };

static void test_format_decode_valid(void **state)
{
	struct bkey_format f;

	(void)state;
	bch_bkey_format_decode(alloc_format, &f);
	assert_int_equal(f.key_u64s, 3);
	assert_int_equal(f.nr_fields, 6);
	assert_int_equal(f.bits_per_field[0], 64);
	assert_int_equal(f.bits_per_field[2], 32);
	assert_null(bch_bkey_format_invalid(&f));
	assert_null(bch_bkey_format_invalid(&bch_bkey_format_current));
}

static void test_format_invalid(void **state)
{
	struct bkey_format f;

	(void)state;
	bch_bkey_format_decode(alloc_format, &f);
	f.nr_fields = 5;
	assert_non_null(bch_bkey_format_invalid(&f));

	bch_bkey_format_decode(alloc_format, &f);
	f.bits_per_field[2] = 33;		/* wider than snapshot */
	assert_non_null(bch_bkey_format_invalid(&f));

	bch_bkey_format_decode(alloc_format, &f);
	f.field_offset[0] = 1;			/* full width with an offset */
	assert_non_null(bch_bkey_format_invalid(&f));

	bch_bkey_format_decode(alloc_format, &f);
	f.key_u64s = 4;				/* does not match the widths */
	assert_non_null(bch_bkey_format_invalid(&f));

	bch_bkey_format_decode(alloc_format, &f);
	f.bits_per_field[3] = 8;
	f.field_offset[3] = 0xffffff01u;	/* offset + max overflows 32 bits */
	f.key_u64s = 3;
	assert_non_null(bch_bkey_format_invalid(&f));
}

static void test_unpack_packed(void **state)
{
	uint8_t key[88] = {
		0x0b, 0x00, 0x1b, 0, 0, 0, 0, 0,	/* word 0: header */
		0x15, 0, 0, 0, 0, 0, 0, 0,		/* word 1: offset 21 */
		0, 0, 0, 0, 0, 0, 0, 0,			/* word 2: inode 0 */
	};
	struct bkey_format f;
	const char *why = NULL;
	struct bkey k;
	size_t n;

	(void)state;
	key[24] = 0xaa;		/* first value byte */
	bch_bkey_format_decode(alloc_format, &f);
	n = bch_bkey_decode(&f, key, sizeof(key), &k, &why);
	assert_int_equal(n, 88);
	assert_int_equal(k.type, KEY_TYPE_alloc_v4);
	assert_int_equal(k.format, BKEY_FORMAT_PACKED);
	assert_true(k.p.inode == 0 && k.p.offset == 21 && k.p.snapshot == 0);
	assert_int_equal(k.size, 0);
	assert_int_equal(k.val_bytes, 64);
	assert_ptr_equal(k.val, key + 24);
	assert_int_equal(k.val[0], 0xaa);
}

/* fields with offsets and widths that cross word boundaries */
static void test_unpack_offsets(void **state)
{
	struct bkey_format f = {
		.key_u64s = 2, .nr_fields = 6,
		.bits_per_field = { 20, 40, 12, 8, 0, 0 },
		.field_offset = { 4096, 1000000, 0, 0, 7, 9 },
	};
	uint8_t key[16] = { 0 };
	unsigned __int128 big = 0;
	const char *why;
	struct bkey k;

	(void)state;
	assert_null(bch_bkey_format_invalid(&f));
	/* layout from the top: inode(20) offset(40) snapshot(12) size(8) */
	big |= (unsigned __int128)(4100 - 4096) << (128 - 20);
	big |= (unsigned __int128)(1234567 - 1000000) << (128 - 60);
	big |= (unsigned __int128)3 << (128 - 72);
	big |= (unsigned __int128)8 << (128 - 80);
	for (unsigned i = 0; i < 16; i++)
		key[i] = (uint8_t)(big >> (8 * i));
	key[0] = 2;		/* u64s: no value */
	key[1] = 0;
	key[2] = KEY_TYPE_extent;
	assert_int_equal(bch_bkey_decode(&f, key, sizeof(key), &k, &why), 16);
	assert_true(k.p.inode == 4100);
	assert_true(k.p.offset == 1234567);
	assert_int_equal(k.p.snapshot, 3);
	assert_int_equal(k.size, 8);
	assert_int_equal(k.version.hi, 7);
	assert_true(k.version.lo == 9);
	assert_int_equal(k.val_bytes, 0);
}

static void test_unpacked_roundtrip(void **state)
{
	struct bkey in = {
		.p = BPOS(0x0203010100000000ULL, 77, 0xfffffffe),
		.version = { .lo = 0x10000033cULL, .hi = 5 },
		.size = 16, .type = KEY_TYPE_accounting, .val_bytes = 8,
	};
	uint8_t buf[48] = { 0 };
	const char *why;
	struct bkey out;

	(void)state;
	bch_bkey_encode_unpacked(buf, &in);
	assert_int_equal(buf[0], 6);
	assert_int_equal(bch_bkey_decode(&bch_bkey_format_current, buf, sizeof(buf), &out, &why), 48);
	assert_true(bpos_eq(out.p, in.p));
	assert_true(out.version.lo == in.version.lo && out.version.hi == in.version.hi);
	assert_int_equal(out.size, 16);
	assert_int_equal(out.type, KEY_TYPE_accounting);
	assert_int_equal(out.format, BKEY_FORMAT_CURRENT);
}

static void test_decode_rejects(void **state)
{
	uint8_t key[40] = { 0 };
	const char *why = NULL;
	struct bkey k;

	(void)state;
	key[0] = 6;	/* claims 48 bytes, only 40 there */
	key[1] = 1;
	assert_int_equal(bch_bkey_decode(&bch_bkey_format_current, key, sizeof(key), &k, &why), 0);
	assert_non_null(why);
	key[0] = 3;	/* smaller than an unpacked header */
	assert_int_equal(bch_bkey_decode(&bch_bkey_format_current, key, sizeof(key), &k, &why), 0);
	key[0] = 5;
	key[1] = 7;	/* unknown key format */
	assert_int_equal(bch_bkey_decode(&bch_bkey_format_current, key, sizeof(key), &k, &why), 0);
	assert_int_equal(bch_bkey_decode(&bch_bkey_format_current, key, 4, &k, &why), 0);
}

/* a deterministic pseudo-random stream (xorshift64) */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* a random key whose fields span up to 'bits' bits each (0: all zero) */
static struct bkey rnd_key(uint64_t *s, unsigned bits)
{
	uint64_t m = bits >= 64 ? UINT64_MAX : (1ULL << bits) - 1;
	struct bkey k = {
		.p = BPOS(rnd(s) & m, rnd(s) & m, (uint32_t)(rnd(s) & m)),
		.size = (uint32_t)(rnd(s) & m),
		.version = { .hi = (uint32_t)(rnd(s) & m), .lo = rnd(s) & m },
		.type = (uint8_t)(rnd(s) % KEY_TYPE_NR),
		.val_bytes = (uint16_t)(8 * (rnd(s) % 4)),
	};

	return k;
}

static void assert_keys_equal(const struct bkey *a, const struct bkey *b)
{
	assert_true(bpos_eq(a->p, b->p));
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->version.hi, b->version.hi);
	assert_true(a->version.lo == b->version.lo);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->format, b->format);
	assert_int_equal(a->val_bytes, b->val_bytes);
	assert_ptr_equal(a->val, b->val);
}

/*
 * The node unpacker (bch_unpacker_init + bch_bkey_unpack) against the
 * reference decoder, on formats chosen for random key sets of every field
 * width (fields of 0 bits, fields across a word boundary, 64-bit fields),
 * with keys packed and stored unpacked, and with truncated input; a third
 * of the rounds with one size and version for all keys (only positions
 * to unpack).
 */
static void test_unpacker_matches_decode(void **state)
{
	static const uint8_t zero_val[32];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (unsigned round = 0; round < 2000; round++) {
		unsigned bits = round % 65;
		struct bkey_format_state st;
		struct bkey_format f;
		struct bch_unpacker u;
		struct bkey keys[8];

		bch_bkey_format_state_init(&st);
		for (unsigned i = 0; i < 8; i++) {
			keys[i] = rnd_key(&seed, bits);
			keys[i].val = zero_val;
			if (round % 3 == 0) {
				/*
				 * the same size and version in all keys: fields
				 * of 0 bits with an offset, the unpacker's shortcut
				 */
				keys[i].size = round;
				keys[i].version.hi = round * 3;
				keys[i].version.lo = round * 1000003ULL;
			}
			if (i < 6)	/* two keys may fall outside: stored unpacked */
				bch_bkey_format_add_key(&st, &keys[i]);
		}
		bch_bkey_format_done(&st, &f);
		assert_null(bch_bkey_format_invalid(&f));
		bch_unpacker_init(&u, &f);
		for (unsigned i = 0; i < 8; i++) {
			uint8_t buf[BKEY_U64S * 8 + 32];
			size_t n = bch_bkey_encode(&f, &keys[i], buf);
			const char *why1 = NULL, *why2 = NULL;
			struct bkey a = { 0 }, b = { 0 };
			size_t na, nb;

			na = bch_bkey_decode(&f, buf, n, &a, &why1);
			nb = bch_bkey_unpack(&u, buf, n, &b, &why2);
			assert_int_equal(na, n);
			assert_int_equal(nb, n);
			assert_keys_equal(&a, &b);
			assert_true(bpos_eq(b.p, keys[i].p));
			assert_true(b.version.lo == keys[i].version.lo);
			/* cut short: both refuse, for the same reason */
			na = bch_bkey_decode(&f, buf, n - 8, &a, &why1);
			nb = bch_bkey_unpack(&u, buf, n - 8, &b, &why2);
			assert_int_equal(na, 0);
			assert_int_equal(nb, 0);
			assert_string_equal(why1, why2);
		}
	}
}

static void test_bpos_order(void **state)
{
	(void)state;
	assert_true(bpos_cmp(BPOS(0, 0, 0), BPOS(0, 0, 1)) < 0);
	assert_true(bpos_cmp(BPOS(0, 1, 0), BPOS(0, 0, UINT32_MAX)) > 0);
	assert_true(bpos_cmp(BPOS(1, 0, 0), BPOS(0, UINT64_MAX, UINT32_MAX)) > 0);
	assert_true(bpos_cmp(BPOS(UINT64_MAX, 0, 0), BPOS(1, 0, 0)) > 0);	/* unsigned */
	assert_int_equal(bpos_cmp(SPOS_MAX, SPOS_MAX), 0);
	assert_true(bpos_eq(bpos_successor(BPOS(0, 0, UINT32_MAX)), BPOS(0, 1, 0)));
	assert_true(bpos_eq(bpos_successor(BPOS(3, UINT64_MAX, UINT32_MAX)), BPOS(4, 0, 0)));
	assert_true(bpos_eq(bpos_successor(BPOS(3, 4, 5)), BPOS(3, 4, 6)));
}

static void test_bpos_encoding(void **state)
{
	uint8_t b[20];
	struct bpos p = BPOS(0x1122334455667788ULL, 0x99aabbccddeeff00ULL, 0x01020304);

	(void)state;
	bpos_encode(b, p);
	assert_int_equal(b[0], 0x04);	/* snapshot first, lowest byte first */
	assert_int_equal(b[4], 0x00);	/* then offset */
	assert_int_equal(b[19], 0x11);	/* inode last */
	assert_true(bpos_eq(bpos_decode(b), p));
}

static void test_bpos_parse(void **state)
{
	struct bpos p;

	(void)state;
	assert_int_equal(bch_bpos_parse("4096:8:4294967295", &p), 0);
	assert_true(bpos_eq(p, BPOS(4096, 8, UINT32_MAX)));
	assert_int_equal(bch_bpos_parse("0:60", &p), 0);
	assert_true(bpos_eq(p, BPOS(0, 60, 0)));
	assert_int_equal(bch_bpos_parse("min", &p), 0);
	assert_true(bpos_eq(p, POS_MIN));
	assert_int_equal(bch_bpos_parse("max", &p), 0);
	assert_true(bpos_eq(p, SPOS_MAX));
	assert_int_equal(bch_bpos_parse("1:2:3x", &p), -1);
	assert_int_equal(bch_bpos_parse("12", &p), -1);
	assert_int_equal(bch_bpos_parse("", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_decode_valid),
		cmocka_unit_test(test_format_invalid),
		cmocka_unit_test(test_unpack_packed),
		cmocka_unit_test(test_unpack_offsets),
		cmocka_unit_test(test_unpacked_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_unpacker_matches_decode),
		cmocka_unit_test(test_bpos_order),
		cmocka_unit_test(test_bpos_encoding),
		cmocka_unit_test(test_bpos_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
