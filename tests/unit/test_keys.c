/*
 * Unit tests of the key value decoders: alloc (v1..v4), backpointers,
 * LRU positions, bucket_gens, freespace, extents text, inodes and
 * bch_bkey_to_text. Values come from the image corpus and from
 * bcachefs-format.md; every value lives in a heap buffer of exactly its
 * size so the sanitizer build catches reads past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backpointers.h"
#include "bkey_to_text.h"
#include "bucket_gens.h"
#include "buckets.h"
#include "errors.h"
#include "extents_text.h"
#include "inode.h"
#include "lru.h"
#include "super.h"

/* ---- helpers ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* a key whose value is the hex string (spaces ignored), heap-allocated */
static struct bkey key_hex(unsigned type, struct bpos p, const char *hex)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	size_t n = 0, len = strlen(hex);
	uint8_t *v = malloc(len / 2 + 1);

	assert_non_null(v);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (hex[i] == ' ')
			continue;
		hi = hexdigit(hex[i]);
		lo = hexdigit(hex[i + 1]);
		assert_true(hi >= 0 && lo >= 0);
		v[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	k.val = v;
	k.val_bytes = (uint16_t)n;
	return k;
}

/* a key with a copy of len bytes as its value */
static struct bkey key_bytes(unsigned type, struct bpos p, const void *b, size_t len)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	uint8_t *v = malloc(len ? len : 1);

	assert_non_null(v);
	memcpy(v, b, len);
	k.val = v;
	k.val_bytes = (uint16_t)len;
	return k;
}

static void key_free(struct bkey *k)
{
	free((void *)k->val);
	k->val = NULL;
}

static void assert_has(const struct printbuf *pb, const char *needle)
{
	if (!pb->buf || !strstr(pb->buf, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, pb->buf ? pb->buf : "");
}

#define ALLOC_V4_CORPUS \
	"0600000000000000230000000000040000020000000000000100000000000000" \
	"201a000000000000000000000000000000000000000000000000000000000000"

#define BP_CORPUS \
	"000004000000000070000000ffffffff00010000000000002010000000000000"

/* ---- alloc ---- */

static void test_alloc_v4_corpus(void **state)
{
	struct bkey k = key_hex(KEY_TYPE_alloc_v4, BPOS(0, 60, 0), ALLOC_V4_CORPUS);
	struct bch_alloc_v4 a;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(k.val_bytes, 64);
	assert_int_equal(bch_alloc_to_v4(&k, &a), 0);
	assert_int_equal(a.journal_seq_nonempty, 6);
	assert_int_equal(a.flags, 0x23);
	assert_int_equal(BCH_ALLOC_V4_NEED_DISCARD(&a), 1);
	assert_int_equal(BCH_ALLOC_V4_NEED_INC_GEN(&a), 1);
	assert_int_equal(BCH_ALLOC_V4_BACKPOINTERS_START(&a), 8);
	assert_int_equal(BCH_ALLOC_V4_NR_BACKPOINTERS(&a), 0);
	assert_int_equal(a.gen, 0);
	assert_int_equal(a.oldest_gen, 0);
	assert_int_equal(a.data_type, BCH_DATA_user);
	assert_int_equal(a.dirty_sectors, 512);
	assert_int_equal(a.cached_sectors, 0);
	assert_int_equal(a.io_time[BCH_IO_TIME_READ], 1);
	assert_int_equal(a.io_time[BCH_IO_TIME_WRITE], 0x1a20);
	assert_int_equal(a.stripe, 0);
	assert_int_equal(a.journal_seq_empty, 0);
	assert_int_equal(a.stripe_sectors, 0);
	assert_int_equal(bch_alloc_data_type_derived(&a, a.data_type), BCH_DATA_user);

	bch_alloc_to_text(&pb, &a);
	assert_string_equal(pb.buf,
		"gen 0 oldest_gen 0 data_type user journal_seq_nonempty 6 "
		"journal_seq_empty 0 need_discard 1 need_inc_gen 1 "
		"dirty_sectors 512 cached_sectors 0 stripe_sectors 0 stripe 0 "
		"stripe_redundancy 0 io_time[READ] 1 io_time[WRITE] 6688 bp_start 8");
	pb_exit(&pb);
	key_free(&k);
}

/* fields at or past BACKPOINTERS_START * 8 read as zero */
static void test_alloc_v4_bp_start(void **state)
{
	uint8_t v[64];
	struct bch_alloc_v4 a;
	struct bkey k;
	const char *why = NULL;

	(void)state;
	memset(v, 0xaa, sizeof(v));
	put_le32(v + 8, 6u << 2);		/* start 6, no backpointers */
	k = key_bytes(KEY_TYPE_alloc_v4, POS_MIN, v, 64);
	assert_int_equal(bch_alloc_decode(&k, &a, NULL), 0);
	assert_int_equal(a.nr_external_backpointers, 0xaaaaaaaa);
	assert_int_equal(a.journal_seq_empty, 0);
	assert_int_equal(a.stripe_sectors, 0);
	assert_int_equal(a.pad, 0);
	key_free(&k);

	/* start 0 means 6: a 48-byte value is complete */
	put_le32(v + 8, 0);
	k = key_bytes(KEY_TYPE_alloc_v4, POS_MIN, v, 48);
	assert_int_equal(bch_alloc_decode(&k, &a, NULL), 0);
	assert_int_equal(a.stripe, 0xaaaaaaaa);
	assert_int_equal(a.journal_seq_empty, 0);
	key_free(&k);

	/* start 0 with inline backpointers is invalid */
	put_le32(v + 8, 1u << 8);
	k = key_bytes(KEY_TYPE_alloc_v4, POS_MIN, v, 64);
	assert_int_equal(bch_alloc_decode(&k, &a, &why), -BCH_ERR_CORRUPT);
	assert_non_null(why);
	key_free(&k);

	/* start 8 but only 48 bytes */
	put_le32(v + 8, 8u << 2);
	k = key_bytes(KEY_TYPE_alloc_v4, POS_MIN, v, 48);
	assert_int_equal(bch_alloc_decode(&k, &a, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);

	/* start 8 with one inline backpointer needs 96 bytes */
	put_le32(v + 8, 8u << 2 | 1u << 8);
	k = key_bytes(KEY_TYPE_alloc_v4, POS_MIN, v, 64);
	assert_int_equal(bch_alloc_decode(&k, &a, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
}

static void test_alloc_lru_idx(void **state)
{
	struct bch_alloc_v4 a = { .data_type = BCH_DATA_user, .dirty_sectors = 432 };

	(void)state;
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0x6C000000ULL);
	a.dirty_sectors = 416;
	a.stripe_sectors = 16;			/* stripe sectors count too */
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0x6C000000ULL);
	a.stripe_sectors = 0;
	a.dirty_sectors = 104;			/* §36.5: 104 of 128 */
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 128), 1744830464ULL);
	a.dirty_sectors = 512;			/* full */
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0);
	a.dirty_sectors = 600;			/* over-full */
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0);
	a.dirty_sectors = 0;			/* empty */
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0);
	a.data_type = BCH_DATA_free;
	a.dirty_sectors = 100;
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0);
	a.data_type = BCH_DATA_btree;
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), (100ULL << 31) / 512);
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 0), 0);
	a.data_type = BCH_DATA_cached;
	a.dirty_sectors = 0;
	a.cached_sectors = 100;
	assert_int_equal(bch_alloc_lru_idx_fragmentation(&a, 512), 0);

	/* read LRU: cached buckets only, 48 bits */
	a.io_time[BCH_IO_TIME_READ] = 0xffff000000001234ULL;
	assert_int_equal(bch_alloc_lru_idx_read(&a), 0x1234);
	a.data_type = BCH_DATA_user;
	assert_int_equal(bch_alloc_lru_idx_read(&a), 0);
}

static void test_alloc_data_type(void **state)
{
	struct bch_alloc_v4 a = { 0 };

	(void)state;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_user), BCH_DATA_free);
	a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_user), BCH_DATA_need_discard);
	a.flags = 0;
	a.gen = 100;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_user), BCH_DATA_need_gc_gens);
	a.cached_sectors = 8;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_user), BCH_DATA_cached);
	a.dirty_sectors = 8;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_cached), BCH_DATA_user);
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_btree), BCH_DATA_btree);
	a.stripe = 3;
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_user), BCH_DATA_stripe);
	assert_int_equal(bch_alloc_data_type_derived(&a, BCH_DATA_parity), BCH_DATA_parity);
}

static void test_varint(void **state)
{
	static const struct { uint64_t v; unsigned len; uint8_t b[9]; } vec[] = {
		{ 0,		1, { 0x00 } },
		{ 5,		1, { 0x0a } },
		{ 127,		1, { 0xfe } },
		{ 300,		2, { 0xb1, 0x04 } },
		{ 512,		2, { 0x01, 0x08 } },
		{ 70000,	3, { 0x83, 0x8b, 0x08 } },
		{ 0x123456789abcdef0ULL, 9,
		  { 0xff, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12 } },
	};
	uint8_t buf[9];
	uint64_t v;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(vec); i++) {
		assert_int_equal(bch_varint_encode(buf, vec[i].v), vec[i].len);
		assert_memory_equal(buf, vec[i].b, vec[i].len);
		assert_int_equal(bch_varint_decode(vec[i].b, vec[i].b + vec[i].len, &v),
				 (int)vec[i].len);
		assert_int_equal(v, vec[i].v);
		/* one byte short */
		assert_int_equal(bch_varint_decode(vec[i].b, vec[i].b + vec[i].len - 1, &v), -1);
	}
	/* every length round trips */
	for (unsigned s = 0; s < 64; s++) {
		uint64_t x = (1ULL << s) | (s * 0x0101010101ULL);
		unsigned n = bch_varint_encode(buf, x);

		assert_int_equal(bch_varint_decode(buf, buf + n, &v), (int)n);
		assert_int_equal(v, x);
	}
}

static void test_alloc_v1(void **state)
{
	/* fields: data_type, dirty_sectors, oldest_gen, stripe */
	uint8_t v[16] = {
		(1 << 2) | (1 << 3) | (1 << 5) | (1 << 6), 7,
		BCH_DATA_btree, 0x00, 0x02, 3, 0x78, 0x56, 0x34, 0x12,
	};
	struct bch_alloc_v4 a;
	struct bkey k = key_bytes(KEY_TYPE_alloc, POS_MIN, v, sizeof(v));

	(void)state;
	assert_int_equal(bch_alloc_to_v4(&k, &a), 0);
	assert_int_equal(a.gen, 7);
	assert_int_equal(a.data_type, BCH_DATA_btree);
	assert_int_equal(a.dirty_sectors, 512);
	assert_int_equal(a.oldest_gen, 3);
	assert_int_equal(a.stripe, 0x12345678);
	assert_int_equal(a.io_time[BCH_IO_TIME_READ], 0);
	assert_int_equal(BCH_ALLOC_V4_BACKPOINTERS_START(&a), 8);
	key_free(&k);

	/* the fields need 10 bytes: 8 is too few */
	k = key_bytes(KEY_TYPE_alloc, POS_MIN, v, 8);
	assert_int_equal(bch_alloc_to_v4(&k, &a), -BCH_ERR_CORRUPT);
	key_free(&k);
}

static void test_alloc_v2(void **state)
{
	uint8_t v[32] = { 6, 3, 1, BCH_DATA_user };
	unsigned n = 4;
	struct bch_alloc_v4 a;
	struct bkey k;

	(void)state;
	n += bch_varint_encode(v + n, 0x123456789abcdef0ULL);	/* read_time, 9 bytes */
	n += bch_varint_encode(v + n, 300);			/* write_time */
	n += bch_varint_encode(v + n, 512);			/* dirty_sectors */
	n += bch_varint_encode(v + n, 0);			/* cached_sectors */
	n += bch_varint_encode(v + n, 70000);			/* stripe */
	n += bch_varint_encode(v + n, 2);			/* stripe_redundancy */
	assert_int_equal(n, 4 + 9 + 2 + 2 + 1 + 3 + 1);

	k = key_bytes(KEY_TYPE_alloc_v2, POS_MIN, v, 24);
	assert_int_equal(bch_alloc_to_v4(&k, &a), 0);
	assert_int_equal(a.gen, 3);
	assert_int_equal(a.oldest_gen, 1);
	assert_int_equal(a.data_type, BCH_DATA_user);
	assert_int_equal(a.io_time[BCH_IO_TIME_READ], 0x123456789abcdef0ULL);
	assert_int_equal(a.io_time[BCH_IO_TIME_WRITE], 300);
	assert_int_equal(a.dirty_sectors, 512);
	assert_int_equal(a.cached_sectors, 0);
	assert_int_equal(a.stripe, 70000);
	assert_int_equal(a.stripe_redundancy, 2);
	assert_int_equal(a.journal_seq_nonempty, 0);
	key_free(&k);

	/* fewer fields than known: the rest are 0 */
	v[0] = 3;
	k = key_bytes(KEY_TYPE_alloc_v2, POS_MIN, v, 24);
	assert_int_equal(bch_alloc_to_v4(&k, &a), 0);
	assert_int_equal(a.dirty_sectors, 512);
	assert_int_equal(a.stripe, 0);
	assert_int_equal(a.stripe_redundancy, 0);
	key_free(&k);

	/* the varints run past the value */
	v[0] = 6;
	k = key_bytes(KEY_TYPE_alloc_v2, POS_MIN, v, 16);
	assert_int_equal(bch_alloc_to_v4(&k, &a), -BCH_ERR_CORRUPT);
	key_free(&k);

	/* dirty_sectors does not fit 32 bits */
	memset(v, 0, sizeof(v));
	v[0] = 3;
	n = 4;
	n += bch_varint_encode(v + n, 1);
	n += bch_varint_encode(v + n, 1);
	n += bch_varint_encode(v + n, 1ULL << 32);
	k = key_bytes(KEY_TYPE_alloc_v2, POS_MIN, v, 16);
	assert_int_equal(bch_alloc_to_v4(&k, &a), -BCH_ERR_CORRUPT);
	key_free(&k);
}

static void test_alloc_v3(void **state)
{
	uint8_t v[24] = { 0 };
	unsigned n = 16;
	struct bch_alloc_v4 a;
	struct bkey k;

	(void)state;
	put_le64(v, 77);
	put_le32(v + 8, 3);		/* need_discard, need_inc_gen */
	v[12] = 3;			/* nr_fields */
	v[13] = 9;			/* gen */
	v[14] = 8;			/* oldest_gen */
	v[15] = BCH_DATA_btree;
	n += bch_varint_encode(v + n, 1);
	n += bch_varint_encode(v + n, 2);
	n += bch_varint_encode(v + n, 128);
	assert_true(n <= sizeof(v));

	k = key_bytes(KEY_TYPE_alloc_v3, POS_MIN, v, sizeof(v));
	assert_int_equal(bch_alloc_to_v4(&k, &a), 0);
	assert_int_equal(a.journal_seq_nonempty, 77);
	assert_int_equal(BCH_ALLOC_V4_NEED_DISCARD(&a), 1);
	assert_int_equal(BCH_ALLOC_V4_NEED_INC_GEN(&a), 1);
	assert_int_equal(BCH_ALLOC_V4_BACKPOINTERS_START(&a), 8);
	assert_int_equal(a.gen, 9);
	assert_int_equal(a.oldest_gen, 8);
	assert_int_equal(a.data_type, BCH_DATA_btree);
	assert_int_equal(a.io_time[BCH_IO_TIME_READ], 1);
	assert_int_equal(a.io_time[BCH_IO_TIME_WRITE], 2);
	assert_int_equal(a.dirty_sectors, 128);
	key_free(&k);

	k = key_bytes(KEY_TYPE_alloc_v3, POS_MIN, v, 8);
	assert_int_equal(bch_alloc_to_v4(&k, &a), -BCH_ERR_CORRUPT);
	key_free(&k);
}

/* ---- backpointers ---- */

static void test_backpointer_corpus(void **state)
{
	struct bkey k = key_hex(KEY_TYPE_backpointer, BPOS(0, 33554432, 0), BP_CORPUS);
	struct bch_backpointer bp;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(bch_backpointer_decode(&k, &bp, NULL), 0);
	assert_int_equal(bp.btree_id, BTREE_ID_extents);
	assert_int_equal(bp.level, 0);
	assert_int_equal(bp.data_type, BCH_DATA_user);
	assert_int_equal(bp.bucket_gen, 0);
	assert_int_equal(bp.flags, 0);
	assert_int_equal(bp.bucket_len, 112);
	assert_true(bpos_eq(bp.pos, BPOS(4128, 256, UINT32_MAX)));

	bch_backpointer_to_text(&pb, &bp, BCH_VERSION_1_28);
	assert_string_equal(pb.buf, "btree=extents level=0 data_type=user gen=0 "
			    "len=112 pos=4128:256:U32_MAX");
	pb_reset(&pb);
	bch_backpointer_key_to_text(&pb, &k, &bp, NULL);
	assert_string_equal(pb.buf, "sector=0:32768 btree=extents level=0 "
			    "data_type=user gen=0 len=112 pos=4128:256:U32_MAX "
			    "suboffset=0");

	/* 1.36 flags */
	bp.flags = 1;
	pb_reset(&pb);
	bch_backpointer_to_text(&pb, &bp, BCH_VERSION_1_36);
	assert_has(&pb, "flags=1 phys");
	pb_reset(&pb);
	bch_backpointer_to_text(&pb, &bp, BCH_VERSION_1_28);
	assert_has(&pb, "pad=1");
	pb_exit(&pb);
	key_free(&k);

	k = key_hex(KEY_TYPE_backpointer, POS_MIN,
		    "000004000000000070000000ffffffff000100000000000020100000000000");
	assert_int_equal(k.val_bytes, 31);
	assert_int_equal(bch_backpointer_decode(&k, &bp, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
}

/* the encoders give back, byte for byte, what the decoders read */
static void test_encode_round_trip(void **state)
{
	struct bkey k = key_hex(KEY_TYPE_backpointer, BPOS(0, 33554432, 0), BP_CORPUS);
	struct bch_backpointer bp, again;
	struct bch_btree_ptr_info info;
	uint8_t out[64];
	struct bkey r;

	(void)state;
	assert_int_equal(bch_backpointer_decode(&k, &bp, NULL), 0);
	bch_backpointer_encode(out, &bp);
	assert_memory_equal(out, k.val, BCH_BACKPOINTER_BYTES);
	bp.flags = 0x7;
	bp.level = 3;
	bch_backpointer_encode(out, &bp);
	r = (struct bkey){ .type = KEY_TYPE_backpointer, .val = out,
			   .val_bytes = BCH_BACKPOINTER_BYTES };
	assert_int_equal(bch_backpointer_decode(&r, &again, NULL), 0);
	assert_memory_equal(&again, &bp, sizeof(bp));
	key_free(&k);

	/* §7.1 example root key */
	k = key_hex(KEY_TYPE_btree_ptr_v2, SPOS_MAX,
		    "0000000000000000 a35943eb5aad0399 2800 0000"
		    "0000000000000000000000000000000000000000"
		    "01a0020000000000");
	assert_null(bch_btree_ptr_decode(&k, &info));
	assert_int_equal(bch_btree_ptr_v2_encode(&info, out), k.val_bytes);
	assert_memory_equal(out, k.val, k.val_bytes);
	/* two replicas, a cached one, high offsets */
	info.nr_ptrs = 2;
	info.ptrs[1] = (struct bch_extent_ptr){ .offset = (1ULL << 44) - 8, .dev = 7,
						.gen = 200, .cached = true };
	info.h.min_key = BPOS(1, 2, 3);
	r = (struct bkey){ .type = KEY_TYPE_btree_ptr_v2, .val = out,
			   .val_bytes = (uint16_t)bch_btree_ptr_v2_encode(&info, out) };
	struct bch_btree_ptr_info back;

	assert_null(bch_btree_ptr_decode(&r, &back));
	assert_int_equal(back.nr_ptrs, 2);
	assert_true(back.ptrs[1].offset == (1ULL << 44) - 8 && back.ptrs[1].dev == 7 &&
		    back.ptrs[1].gen == 200 && back.ptrs[1].cached);
	assert_true(bpos_eq(back.h.min_key, BPOS(1, 2, 3)));
	assert_true(back.h.seq == info.h.seq && back.h.sectors_written == 40);
	key_free(&k);
}

static void test_bp_positions(void **state)
{
	struct bpos p;

	(void)state;
	/* §7.9: extent pointer at sector 29184 -> 0:29884416:0 */
	p = bch_ptr_to_bp_pos(0, 29184, 0, 10);
	assert_true(bpos_eq(p, BPOS(0, 29884416, 0)));
	assert_int_equal(bch_bp_pos_to_bucket(p.offset, 10, 512), 57);
	/* btree root at sector 10752 -> 0:11010048:0 */
	assert_int_equal(bch_ptr_to_bp_pos(0, 10752, 0, 10).offset, 11010048);
	/* the corpus backpointer 0:33554432 is in bucket 64 */
	assert_int_equal(bch_bp_pos_to_bucket(33554432, 10, 512), 64);
	p = bch_bucket_to_bp_start(0, 64, 512, 10);
	assert_true(bpos_eq(p, BPOS(0, 33554432, 0)));
	p = bch_bucket_to_bp_end(0, 64, 512, 10);
	assert_true(bpos_eq(p, BPOS(0, 65ULL * 512 << 10, 0)));
	assert_int_equal(bch_bp_pos_to_bucket(p.offset - 1, 10, 512), 64);
	assert_int_equal(bch_bp_pos_to_bucket(p.offset, 10, 512), 65);
	/* crc offset in the low bits */
	assert_int_equal(bch_ptr_to_bp_pos(1, 100, 7, 10).offset, (100ULL << 10) + 7);
	assert_int_equal(bch_ptr_to_bp_pos(1, 100, 7, 10).inode, 1);

	/* §36.4: 1.36, shift 16, bucket 68 of 128 sectors */
	p = bch_bucket_to_bp_start(0, 68, 128, 16);
	assert_int_equal(p.offset, 570425344ULL);
	assert_int_equal(bch_ptr_to_bp_pos(0, 68 * 128, 0, 16).offset, 570425344ULL);
	assert_int_equal(bch_bp_pos_to_bucket(570425344ULL, 16, 128), 68);
	assert_int_equal(bch_bp_pos_to_bucket(570425344ULL, 10, 128), 68 * 64);
	assert_int_equal(bch_bucket_to_bp_end(0, 68, 128, 16).offset, 69ULL * 128 << 16);

	/* stripe pointers */
	assert_int_equal(bch_stripe_ptr_to_bp_pos(0, 1024, 256, 10).offset,
			 ((1024ULL + 256) << 10) - 1);
	/* absurd shifts do not invoke undefined behaviour */
	assert_int_equal(bch_bp_pos_to_bucket(12345, 200, 128), 0);
	assert_int_equal(bch_bucket_to_bp_start(0, 1, 128, 64).offset, 0);
}

/* ---- lru ---- */

static void test_lru_pos(void **state)
{
	struct bpos p = bch_lru_pos(BCH_LRU_FRAGMENTATION, 0x6C000000, 0, 66);
	struct printbuf pb = PRINTBUF;

	(void)state;
	/* §7.10 example */
	assert_int_equal(p.inode, 0xFFFF00006C000000ULL);
	assert_int_equal(p.offset, 66);
	assert_int_equal(p.snapshot, 0);
	assert_int_equal(bch_lru_pos_id(p), BCH_LRU_FRAGMENTATION);
	assert_int_equal(bch_lru_pos_time(p), 0x6C000000);
	assert_int_equal(bch_lru_pos_dev(p), 0);
	assert_int_equal(bch_lru_pos_bucket(p), 66);
	assert_int_equal(bch_lru_id_type(bch_lru_pos_id(p)), BCH_LRU_fragmentation);
	bch_lru_pos_to_text(&pb, p);
	assert_string_equal(pb.buf, "lru_id 65535 type fragmentation time 1811939328 bucket 0:66");

	/* §36.5: dev 1 bucket 336 */
	p = bch_lru_pos(BCH_LRU_FRAGMENTATION, 1, 1, 336);
	assert_int_equal(p.offset, 281474976710992ULL);
	assert_int_equal(bch_lru_pos_dev(p), 1);
	assert_int_equal(bch_lru_pos_bucket(p), 336);

	/* the corpus lru key 18446462600343453696:114:0 */
	p = BPOS(18446462600343453696ULL, 114, 0);
	assert_int_equal(bch_lru_pos_id(p), 0xffff);
	assert_int_equal(bch_lru_pos_time(p), 0x60000000);	/* 384 of 512 */
	assert_int_equal(bch_lru_pos_bucket(p), 114);

	/* read LRU of device 2, stripes */
	p = bch_lru_pos(2, BCH_LRU_TIME_MAX, 2, BCH_LRU_BUCKET_MASK);
	assert_int_equal(bch_lru_pos_id(p), 2);
	assert_int_equal(bch_lru_pos_time(p), BCH_LRU_TIME_MAX);
	assert_int_equal(bch_lru_pos_dev(p), 2);
	assert_int_equal(bch_lru_pos_bucket(p), BCH_LRU_BUCKET_MASK);
	assert_int_equal(bch_lru_id_type(2), BCH_LRU_read);
	p = bch_lru_pos_target(BCH_LRU_STRIPES, 5, 1234);
	pb_reset(&pb);
	bch_lru_pos_to_text(&pb, p);
	assert_string_equal(pb.buf, "lru_id 65534 type stripes time 5 stripe 1234");
	pb_exit(&pb);
}

/* ---- bucket_gens, freespace ---- */

static void test_bucket_gens(void **state)
{
	uint8_t v[256];
	struct bch_bucket_gens g;
	struct bkey k;
	struct printbuf pb = PRINTBUF;

	(void)state;
	for (unsigned i = 0; i < 256; i++)
		v[i] = (uint8_t)i;
	assert_true(bpos_eq(bch_bucket_gens_pos(1, 700), BPOS(1, 2, 0)));
	assert_int_equal(bch_bucket_gens_offset(700), 700 - 512);
	assert_int_equal(bch_bucket_gens_first_bucket(BPOS(1, 2, 0)), 512);

	k = key_bytes(KEY_TYPE_bucket_gens, BPOS(1, 2, 0), v, 256);
	assert_int_equal(bch_bucket_gens_decode(&k, &g, NULL), 0);
	assert_int_equal(g.gens[bch_bucket_gens_offset(700)], 188);
	bch_bucket_gens_to_text(&pb, &g);
	assert_true(!strncmp(pb.buf, "0 1 2 3 ", 8));
	assert_has(&pb, " 254 255");
	pb_exit(&pb);
	key_free(&k);

	k = key_bytes(KEY_TYPE_bucket_gens, BPOS(1, 2, 0), v, 248);
	assert_int_equal(bch_bucket_gens_decode(&k, &g, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
}

static void test_freespace(void **state)
{
	struct bkey k = { .p = BPOS(0, 508, 0), .size = 452, .type = KEY_TYPE_set };
	struct bch_freespace_range r;
	const char *why = NULL;

	(void)state;
	assert_int_equal(bch_freespace_genbits(0, 0), 0);
	assert_int_equal(bch_freespace_genbits(15, 0), 0);
	assert_int_equal(bch_freespace_genbits(20, 2), 1ULL << 56);
	assert_int_equal(bch_freespace_genbits(1, 2), 15ULL << 56);	/* 255 >> 4 */
	assert_int_equal(bch_freespace_offset(100, 40, 0), 100 | 2ULL << 56);
	assert_true(bpos_eq(bch_freespace_pos(1, 100, 40, 0), BPOS(1, 100 | 2ULL << 56, 0)));
	assert_int_equal(bch_freespace_offset_bucket(100 | 2ULL << 56), 100);
	assert_int_equal(bch_freespace_offset_genbits(100 | 2ULL << 56), 2);

	/* §7.8: 0:508 size 452 = buckets 56..507 */
	assert_int_equal(bch_freespace_key_range(&k, &r, NULL), 0);
	assert_int_equal(r.dev, 0);
	assert_int_equal(r.start, 56);
	assert_int_equal(r.end, 508);
	assert_true(bch_freespace_range_contains(&r, 0, 56));
	assert_true(bch_freespace_range_contains(&r, 0, 507));
	assert_false(bch_freespace_range_contains(&r, 0, 508));
	assert_false(bch_freespace_range_contains(&r, 1, 100));
	assert_false(bch_freespace_range_contains(&r, 0, 100 | 1ULL << 56));
	assert_false(bch_freespace_range_mixed_genbits(&r));

	k.size = 509;
	assert_int_equal(bch_freespace_key_range(&k, &r, &why), -BCH_ERR_CORRUPT);
	assert_non_null(why);
	k.size = 0;
	assert_int_equal(bch_freespace_key_range(&k, &r, NULL), -BCH_ERR_CORRUPT);

	assert_true(bpos_eq(bch_need_discard_pos(2, 9), BPOS(2, 9, 0)));
	assert_int_equal(bch_gen_cmp(1, 255), 2);
	assert_int_equal(bch_gen_cmp(255, 1), -2);
}

static void test_ptr_disk_sectors(void **state)
{
	struct bch_extent_crc c = {
		.width = BCH_EXTENT_ENTRY_crc32, .compressed_size = 8,
		.uncompressed_size = 128, .compression_type = 4,
	};

	(void)state;
	assert_int_equal(bch_ptr_disk_sectors(128, &c), 8);
	assert_int_equal(bch_ptr_disk_sectors(100, &c), 7);	/* ceil(800 / 128) */
	c.compression_type = 5;				/* incompressible */
	assert_int_equal(bch_ptr_disk_sectors(100, &c), 100);
	assert_int_equal(bch_ptr_disk_sectors(100, NULL), 100);
}

/* ---- extents ---- */

static void test_extent_text(void **state)
{
	struct bkey k = key_hex(KEY_TYPE_extent, BPOS(4099, 16, UINT32_MAX),
				"3e1e0005effe8419 0120070000000000");
	struct bch_member members[1] = { { .exists = true, .bucket_size = 512,
					   .nbuckets = 1024 } };
	struct bch_sb sb = { .version = BCH_VERSION_1_28, .nr_members = 1,
			     .members = members };
	struct bch_extent_entry e;
	struct printbuf pb = PRINTBUF;

	(void)state;
	k.size = 16;
	assert_int_equal(bch_extent_entry_decode(k.val, k.val_bytes, &e), 8);
	assert_int_equal(e.type, BCH_EXTENT_ENTRY_crc32);
	assert_int_equal(e.crc.compressed_size, 16);
	assert_int_equal(e.crc.uncompressed_size, 16);
	assert_int_equal(e.crc.csum_type, BCH_CSUM_crc32c);
	assert_int_equal(e.crc.csum.lo, 0x1984feef);

	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "crc32: c_size 16 size 16 offset 0 nonce 0 csum "
			    "crc32c 0:1984feef compress none ptr: 0:29184 gen 0");
	pb_reset(&pb);
	assert_int_equal(bch_extent_to_text(&pb, &k, &sb), 0);
	assert_has(&pb, "ptr: 0:29184 gen 0 bucket 57:0");

	pb_reset(&pb);
	bch_bkey_to_text(&pb, BTREE_ID_extents, 0, &k, &sb);
	assert_string_equal(pb.buf, "u64s 7 type extent 4099:16:U32_MAX len 16 ver 0:0: "
			    "crc32: c_size 16 size 16 offset 0 nonce 0 csum crc32c "
			    "0:1984feef compress none ptr: 0:29184 gen 0 bucket 57:0");
	pb_exit(&pb);
	key_free(&k);

	/* a truncated entry: crc64 needs 16 bytes */
	k = key_hex(KEY_TYPE_extent, POS_MIN, "0400000000000000");
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), -BCH_ERR_CORRUPT);
	assert_has(&pb, "(invalid extent entry 0000000000000004)");
	pb_exit(&pb);
	key_free(&k);
}

static void test_extent_entries_1_36(void **state)
{
	/* v136-two-dev: crc32, ptr, reconcile, device-255 placeholder ptr */
	struct bkey k = key_hex(KEY_TYPE_extent, BPOS(2147483811, 32, UINT32_MAX),
				"7e3e00057872b428 01ae0a0000000000"
				"808002a000000000 010000000000ff00");
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(k.val_bytes, 32);
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_has(&pb, "reconcile: need_rb=data_replicas hipri replicas=2 checksum=crc32c");
	assert_has(&pb, "ptr: 255:0 gen 0");
	pb_exit(&pb);
	key_free(&k);

	/* flags, stripe_ptr, rebalance, reconcile_bp */
	k = key_hex(KEY_TYPE_extent, POS_MIN,
		    "c000000000000000"		/* flags: poisoned */
		    "3000000000000000"		/* stripe_ptr: block 1, idx 0 */
		    "2000000000000000"		/* rebalance */
		    "0003000000000000");	/* reconcile_bp idx 1 */
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "flags: poisoned stripe_ptr: idx 0 block 1 redundancy 0 "
			    "rebalance: replicas=0 checksum=none reconcile_bp: idx 1");
	pb_exit(&pb);
	key_free(&k);
}

static void test_btree_ptr_v2_and_friends(void **state)
{
	/* §7.1 example root key */
	struct bkey k = key_hex(KEY_TYPE_btree_ptr_v2, SPOS_MAX,
				"0000000000000000 a35943eb5aad0399 2800 0000"
				"0000000000000000000000000000000000000000"
				"01a0020000000000");
	struct printbuf pb = PRINTBUF;
	struct bch_reflink_p rp;
	struct bch_reservation rs;

	(void)state;
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "seq 9903ad5aeb4359a3 written 40 min_key POS_MIN "
			    "ptr: 0:10752 gen 0");
	pb_reset(&pb);
	bch_bkey_to_text(&pb, BTREE_ID_alloc, 1, &k, NULL);
	assert_true(!strncmp(pb.buf, "u64s 11 type btree_ptr_v2 SPOS_MAX len 0 ver 0:0: seq ", 54));
	pb_exit(&pb);
	key_free(&k);

	k = key_hex(KEY_TYPE_reflink_v, POS_MIN, "0200000000000000 0120070000000000");
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "refcount 2 ptr: 0:29184 gen 0");
	pb_exit(&pb);
	key_free(&k);

	k = key_hex(KEY_TYPE_reflink_p, POS_MIN, "6400000000000001 03000000 04000000");
	assert_int_equal(bch_reflink_p_decode(&k, &rp, NULL), 0);
	assert_int_equal(rp.idx, 100);
	assert_true(rp.error);
	assert_int_equal(rp.front_pad, 3);
	assert_int_equal(rp.back_pad, 4);
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "idx 100 front_pad 3 back_pad 4 error");
	pb_exit(&pb);
	key_free(&k);

	k = key_hex(KEY_TYPE_reflink_p, POS_MIN, "6400000000000000");
	assert_int_equal(bch_reflink_p_decode(&k, &rp, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);

	k = key_hex(KEY_TYPE_reservation, POS_MIN, "0500000002000000");
	assert_int_equal(bch_reservation_decode(&k, &rs, NULL), 0);
	assert_int_equal(rs.generation, 5);
	assert_int_equal(rs.nr_replicas, 2);
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "generation 5 replicas 2");
	pb_exit(&pb);
	key_free(&k);
}

static void test_stripe_text(void **state)
{
	/*
	 * 2+1 stripe of 8 sectors, crc32c per 4096 sectors (1 csum per block):
	 * header, 3 pointers, 3 x 4 csum bytes, 3 block counts (padded).
	 */
	struct bkey k = key_hex(KEY_TYPE_stripe, BPOS(0, 7, 0),
				"0800 00 03 01 0c 05 00"
				"0101000000000000 0102000000000100 0103000000000200"
				"11111111 22222222 33333333"
				"0800 0400 0000 000000000000");
	struct bch_stripe s;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(bch_stripe_decode(&k, &s, NULL), 0);
	assert_int_equal(s.sectors, 8);
	assert_int_equal(s.nr_blocks, 3);
	assert_int_equal(s.nr_redundant, 1);
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "algo 0 sectors 8 blocks 2:1 csum crc32c gran 4096 "
			    "ptr: 0:16 gen 0#8 ptr: 1:32 gen 0#4 ptr: 2:48 gen 0");
	pb_exit(&pb);
	key_free(&k);
}

/* ---- inodes ---- */

static void test_inode_v3_corpus(void **state)
{
	/* small: inode 4099, a 100-byte regular file */
	struct bkey k = key_hex(KEY_TYPE_inode_v3, BPOS(0, 4099, UINT32_MAX),
		"06000000000000009fa1dd83c4c7c1b300003015431a0800"
		"080000000000000064000000000000000000000000000000"
		"ff23412fb343a529ff00ff6d0a466ef9ffffff00ff23412fb343a529ff00"
		"87070607000000000000000000000000000000000940ff01d7d524a15b20"
		"6b000000");
	struct bch_inode_unpacked u;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), 0);
	assert_int_equal(u.bi_inum, 4099);
	assert_int_equal(u.bi_snapshot, UINT32_MAX);
	assert_int_equal(u.bi_journal_seq, 6);
	assert_int_equal(u.bi_mode, 0100644);
	assert_string_equal(bch_inode_mode_type_name(u.bi_mode), "reg");
	assert_int_equal(u.bi_size, 100);
	assert_int_equal(u.bi_sectors, 8);
	assert_int_equal(BCH_INODE_STR_HASH(&u), 3);
	assert_int_equal(u.nr_fields, 21);
	assert_int_equal(u.bi_nlink, 0);	/* stored minus 1 for files */
	assert_int_equal(u.bi_dir, 4098);
	assert_int_equal(u.bi_otime, 7364728);
	bch_inode_to_text(&pb, &u);
	assert_true(!strncmp(pb.buf, "mode=100644 type=reg flags=", 27));
	assert_has(&pb, "hash_type=siphash bi_size=100 bi_sectors=8");
	assert_has(&pb, " bi_nlink=0 ");
	assert_has(&pb, " bi_dir=4098 ");
	pb_exit(&pb);
	key_free(&k);

	/* cut to 48 bytes: the varints run past the value */
	k = key_hex(KEY_TYPE_inode_v3, BPOS(0, 4099, UINT32_MAX),
		"06000000000000009fa1dd83c4c7c1b300003015431a0800"
		"080000000000000064000000000000000000000000000000");
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);

	/* and to 40: smaller than the fixed part */
	k = key_hex(KEY_TYPE_inode_v3, BPOS(0, 4099, UINT32_MAX),
		"06000000000000009fa1dd83c4c7c1b300003015431a0800"
		"0800000000000000 6400000000000000");
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
}

static void test_inode_v2_and_v1(void **state)
{
	uint8_t v[48] = { 0 };
	unsigned n = 26;
	struct bch_inode_unpacked u;
	struct bkey k;

	(void)state;
	/* inode_v2: journal_seq, hash_seed, flags (5 fields), mode, varints */
	put_le64(v, 9);
	put_le64(v + 8, 0x1122334455667788ULL);
	put_le64(v + 16, 5ULL << 24 | 3ULL << 20);
	put_le16(v + 24, 040755);
	n += bch_varint_encode(v + n, 1000);	/* atime lo */
	n += bch_varint_encode(v + n, 0);	/* atime hi */
	n += bch_varint_encode(v + n, 2000);	/* ctime */
	n += bch_varint_encode(v + n, 0);
	n += bch_varint_encode(v + n, 0);	/* mtime */
	n += bch_varint_encode(v + n, 0);
	n += bch_varint_encode(v + n, 0);	/* otime */
	n += bch_varint_encode(v + n, 0);
	n += bch_varint_encode(v + n, 4096);	/* bi_size */
	assert_true(n <= 40);
	k = key_bytes(KEY_TYPE_inode_v2, BPOS(0, 4200, 1), v, 40);
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), 0);
	assert_int_equal(u.bi_mode, 040755);
	assert_int_equal(u.bi_atime, 1000);
	assert_int_equal(u.bi_ctime, 2000);
	assert_int_equal(u.bi_size, 4096);
	assert_int_equal(u.bi_sectors, 0);
	assert_int_equal(u.bi_hash_seed, 0x1122334455667788ULL);
	key_free(&k);

	/* a non-zero high half of a 96-bit time is refused */
	v[28] = 2;	/* atime hi varint = 1 */
	k = key_bytes(KEY_TYPE_inode_v2, BPOS(0, 4200, 1), v, 40);
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);

	/* inode v1, old encoding: 2 fields: atime 0x0123 (2 bytes), ctime 5 (1 byte) */
	memset(v, 0, sizeof(v));
	put_le64(v, 1);
	put_le32(v + 8, 2u << 24);
	put_le16(v + 12, 0100600);
	v[14] = 0x41;	/* 01 marker + 0x01 */
	v[15] = 0x23;
	v[16] = 0x85;	/* 1 marker + 5 */
	k = key_bytes(KEY_TYPE_inode, BPOS(0, 4300, 1), v, 24);
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), 0);
	assert_int_equal(u.bi_mode, 0100600);
	assert_int_equal(u.bi_atime, 0x0123);
	assert_int_equal(u.bi_ctime, 5);
	assert_int_equal(u.bi_mtime, 0);
	key_free(&k);

	/* inode v1 with new_varint */
	memset(v, 0, sizeof(v));
	put_le32(v + 8, 1u << 31 | 1u << 24);
	put_le16(v + 12, 0120777);
	n = 14;
	n += bch_varint_encode(v + n, 77);
	n += bch_varint_encode(v + n, 0);
	k = key_bytes(KEY_TYPE_inode, BPOS(0, 4301, 1), v, 16);
	assert_int_equal(bch_inode_unpack(&k, &u, NULL), 0);
	assert_string_equal(bch_inode_mode_type_name(u.bi_mode), "lnk");
	assert_int_equal(u.bi_atime, 77);
	key_free(&k);
}

/* ---- bch_bkey_to_text ---- */

static void test_bkey_to_text(void **state)
{
	struct bkey k = key_hex(KEY_TYPE_alloc_v4, BPOS(0, 60, 0), ALLOC_V4_CORPUS);
	struct bkey set = { .p = BPOS(18446462600343453696ULL, 114, 0),
			    .type = KEY_TYPE_set };
	struct printbuf pb = PRINTBUF;

	(void)state;
	bch_bkey_to_text(&pb, BTREE_ID_alloc, 0, &k, NULL);
	assert_string_equal(pb.buf,
		"u64s 13 type alloc_v4 0:60:0 len 0 ver 0:0: gen 0 oldest_gen 0 "
		"data_type user journal_seq_nonempty 6 journal_seq_empty 0 "
		"need_discard 1 need_inc_gen 1 dirty_sectors 512 cached_sectors 0 "
		"stripe_sectors 0 stripe 0 stripe_redundancy 0 io_time[READ] 1 "
		"io_time[WRITE] 6688 bp_start 8");
	key_free(&k);

	pb_reset(&pb);
	bch_bkey_to_text(&pb, BTREE_ID_lru, 0, &set, NULL);
	assert_string_equal(pb.buf, "u64s 5 type set 18446462600343453696:114:0 len 0 ver 0:0");

	/* a truncated alloc_v4 prints the reason and the bytes */
	k = key_hex(KEY_TYPE_alloc_v4, BPOS(0, 60, 0),
		    "0600000000000000230000000000040000020000000000000100000000000000");
	pb_reset(&pb);
	assert_int_equal(bch_bkey_val_to_text(&pb, BTREE_ID_alloc, 0, &k, NULL),
			 -BCH_ERR_CORRUPT);
	assert_has(&pb, "(invalid: alloc_v4 value too small) 0600");
	key_free(&k);

	/* unknown types and accounting keys: hex */
	k = key_hex(200, BPOS(1, 2, 3), "0102030405060708");
	k.version.hi = 7;
	k.version.lo = 9;
	pb_reset(&pb);
	bch_bkey_to_text(&pb, 0, 0, &k, NULL);
	assert_string_equal(pb.buf, "u64s 6 type 200 1:2:3 len 0 ver 7:9: 0102030405060708");
	key_free(&k);

	/* backpointer with a superblock: bucket, shift from the sb */
	{
		struct bch_member m[1] = { { .exists = true, .bucket_size = 512 } };
		struct bch_sb sb = { .version = BCH_VERSION_1_28, .nr_members = 1,
				     .members = m };

		k = key_hex(KEY_TYPE_backpointer, BPOS(0, 33554432 + 5, 0), BP_CORPUS);
		pb_reset(&pb);
		bch_bkey_to_text(&pb, BTREE_ID_backpointers, 0, &k, &sb);
		assert_string_equal(pb.buf,
			"u64s 9 type backpointer 0:33554437:0 len 0 ver 0:0: "
			"bucket=0:64:0 btree=extents level=0 data_type=user gen=0 "
			"len=112 pos=4128:256:U32_MAX suboffset=5");
		key_free(&k);
	}
	pb_exit(&pb);
}

static void test_truncated_values(void **state)
{
	static const struct { unsigned type; unsigned bytes; } cases[] = {
		{ KEY_TYPE_alloc,	  0 },
		{ KEY_TYPE_alloc_v2,	  0 },
		{ KEY_TYPE_alloc_v3,	  8 },
		{ KEY_TYPE_alloc_v4,	 40 },
		{ KEY_TYPE_backpointer,	 24 },
		{ KEY_TYPE_bucket_gens,	 8 },
		{ KEY_TYPE_inode,	  8 },
		{ KEY_TYPE_inode_v2,	 24 },
		{ KEY_TYPE_inode_v3,	 40 },
		{ KEY_TYPE_btree_ptr_v2, 32 },
		{ KEY_TYPE_reflink_v,	  0 },
		{ KEY_TYPE_reflink_p,	  8 },
		{ KEY_TYPE_reservation,	  0 },
		{ KEY_TYPE_stripe,	  0 },
		{ KEY_TYPE_inode_generation, 0 },
		{ KEY_TYPE_lru,		  0 },
	};
	uint8_t zero[64] = { 0 };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bkey k = key_bytes(cases[i].type, BPOS(0, 1, 0), zero,
					  cases[i].bytes);
		struct printbuf pb = PRINTBUF;

		/* an empty value prints no ": " and is not decoded */
		if (cases[i].bytes) {
			assert_int_equal(bch_bkey_val_to_text(&pb, 0, 0, &k, NULL),
					 -BCH_ERR_CORRUPT);
		} else {
			bch_bkey_to_text(&pb, 0, 0, &k, NULL);
			assert_null(strstr(pb.buf, ": "));
			pb_reset(&pb);
			assert_int_equal(bch_bkey_val_to_text(&pb, 0, 0, &k, NULL),
					 -BCH_ERR_CORRUPT);
		}
		pb_exit(&pb);
		key_free(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_v4_corpus),
		cmocka_unit_test(test_alloc_v4_bp_start),
		cmocka_unit_test(test_alloc_lru_idx),
		cmocka_unit_test(test_alloc_data_type),
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_alloc_v1),
		cmocka_unit_test(test_alloc_v2),
		cmocka_unit_test(test_alloc_v3),
		cmocka_unit_test(test_backpointer_corpus),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_bp_positions),
		cmocka_unit_test(test_lru_pos),
		cmocka_unit_test(test_bucket_gens),
		cmocka_unit_test(test_freespace),
		cmocka_unit_test(test_ptr_disk_sectors),
		cmocka_unit_test(test_extent_text),
		cmocka_unit_test(test_extent_entries_1_36),
		cmocka_unit_test(test_btree_ptr_v2_and_friends),
		cmocka_unit_test(test_stripe_text),
		cmocka_unit_test(test_inode_v3_corpus),
		cmocka_unit_test(test_inode_v2_and_v1),
		cmocka_unit_test(test_bkey_to_text),
		cmocka_unit_test(test_truncated_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
