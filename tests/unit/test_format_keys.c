/*
 * Unit tests of the encoders format needs: the superblock crypt field
 * (round trip through bch_sb_crypt_parse/bch_crypt_unlock, and the field
 * of the corpus image `encrypted` rebuilt byte for byte) and extent values
 * (real extents of the image corpus decoded and re-encoded byte for byte).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "errors.h"
#include "extents.h"

/* ---- helpers ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* hex string -> heap buffer of exactly its size */
static uint8_t *unhex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2;
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		int hi = hexdigit(s[2 * i]), lo = hexdigit(s[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n;
	return b;
}

/* ---- the crypt field ---- */

static const char passphrase[] = "bcachefs-test";

/*
 * The crypt field of the corpus image `encrypted` (format --encrypted
 * --no_passphrase, then set-passphrase "bcachefs-test"), superblock
 * offset 912, and the first 8 bytes of its internal UUID
 * a9e9f7a8-a39d-48b1-854f-88ac43b4cf7f.
 */
static const uint8_t encrypted_field[64] = {
	0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0e, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x90, 0xb6, 0xe5, 0x6a, 0x53, 0xc8, 0xa9, 0xcf,
	0x8f, 0x33, 0x51, 0xd1, 0xe7, 0x86, 0x88, 0x3f,
	0x05, 0x50, 0x76, 0x6f, 0x27, 0x36, 0xaa, 0xda,
	0xdd, 0xe2, 0xf4, 0xe4, 0x66, 0x4c, 0x37, 0xff,
	0x91, 0x33, 0x4c, 0x12, 0x0a, 0xed, 0xe2, 0x73,
};

static const uint8_t encrypted_uuid[16] = {
	0xa9, 0xe9, 0xf7, 0xa8, 0xa3, 0x9d, 0x48, 0xb1,
	0x85, 0x4f, 0x88, 0xac, 0x43, 0xb4, 0xcf, 0x7f,
};

static int unlock_field(const uint8_t *field, uint64_t magic, const char *pass,
			struct bch_crypt_key *key)
{
	struct bch_error err = { 0 };
	struct bch_sb_crypt c;

	assert_int_equal(bch_sb_crypt_parse(field, BCH_SB_CRYPT_FIELD_BYTES, &c, &err), 0);
	return bch_crypt_unlock(&c, magic, pass, pass ? strlen(pass) : 0, key, &err);
}

static void test_crypt_default_kdf(void **state)
{
	(void)state;
	/* upstream c_src/crypto.c: ilog2(16384), ilog2(8), ilog2(16) */
	assert_int_equal(bch_kdf_scrypt_default_flags(), 0x000000040003000eULL);
	assert_memory_equal(encrypted_field + 16, "\x0e\x00\x03\x00\x04\x00\x00\x00", 8);
}

/* unlock the real image's key, then wrap it again: the same bytes */
static void test_crypt_real_field(void **state)
{
	uint64_t magic = get_le64(encrypted_uuid);
	struct bch_crypt_key master, again;
	struct bch_error err = { 0 };
	uint8_t field[BCH_SB_CRYPT_FIELD_BYTES];

	(void)state;
	assert_int_equal(unlock_field(encrypted_field, magic, passphrase, &master), 0);
	assert_int_equal(bch_sb_crypt_field_encode(&master, passphrase, strlen(passphrase),
						   magic, field, sizeof(field), &err), 0);
	assert_memory_equal(field, encrypted_field, sizeof(field));

	/* another filesystem (sb magic) would not unlock it either */
	assert_int_equal(unlock_field(field, magic ^ 1, passphrase, &again),
			 -BCH_ERR_NEED_KEY);
}

static void test_crypt_build_passphrase(void **state)
{
	uint64_t magic = 0x0123456789abcdefULL;
	struct bch_crypt_key master, got, master2;
	uint8_t field[BCH_SB_CRYPT_FIELD_BYTES + 8], field2[BCH_SB_CRYPT_FIELD_BYTES];
	struct bch_error err = { 0 };
	struct bch_sb_crypt c;

	(void)state;
	memset(field, 0xaa, sizeof(field));
	assert_int_equal(bch_sb_crypt_field_build(passphrase, strlen(passphrase), magic,
						  field, sizeof(field), &master, &err), 0);
	assert_int_equal(get_le32(field), 8);			/* u64s */
	assert_int_equal(get_le32(field + 4), BCH_SB_FIELD_crypt);
	assert_int_equal(get_le64(field + 8), 0);		/* KDF scrypt */
	assert_int_equal(get_le64(field + 16), bch_kdf_scrypt_default_flags());
	assert_int_equal(field[BCH_SB_CRYPT_FIELD_BYTES], 0xaa);	/* nothing past it */

	assert_int_equal(bch_sb_crypt_parse(field, BCH_SB_CRYPT_FIELD_BYTES, &c, &err), 0);
	assert_false(bch_sb_crypt_key_is_plain(&c));

	assert_int_equal(unlock_field(field, magic, passphrase, &got), 0);
	assert_memory_equal(got.key, master.key, sizeof(master.key));
	assert_int_equal(unlock_field(field, magic, "wrong", &got), -BCH_ERR_NEED_KEY);
	assert_int_equal(unlock_field(field, magic, NULL, &got), -BCH_ERR_NEED_KEY);

	/* a second build: another random key */
	assert_int_equal(bch_sb_crypt_field_build(NULL, 0, magic, field2, sizeof(field2),
						  &master2, &err), 0);
	assert_memory_not_equal(master.key, master2.key, sizeof(master.key));
}

static void test_crypt_build_plain(void **state)
{
	struct bch_crypt_key master, got;
	uint8_t field[BCH_SB_CRYPT_FIELD_BYTES];
	struct bch_error err = { 0 };
	struct bch_sb_crypt c;

	(void)state;
	for (unsigned i = 0; i < sizeof(master.key); i++)
		master.key[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(bch_sb_crypt_field_encode(&master, NULL, 0, 42, field,
						   sizeof(field), &err), 0);
	/* --no_passphrase: flags and kdf_flags 0, magic and key in the clear */
	assert_int_equal(get_le64(field + 8), 0);
	assert_int_equal(get_le64(field + 16), 0);
	assert_int_equal(get_le64(field + 24), BCH_KEY_MAGIC);
	assert_memory_equal(field + 32, master.key, sizeof(master.key));

	assert_int_equal(bch_sb_crypt_parse(field, sizeof(field), &c, &err), 0);
	assert_true(bch_sb_crypt_key_is_plain(&c));
	assert_int_equal(unlock_field(field, 42, NULL, &got), 0);
	assert_memory_equal(got.key, master.key, sizeof(master.key));
}

static void test_crypt_build_errors(void **state)
{
	struct bch_crypt_key master = { { 0 } };
	uint8_t field[BCH_SB_CRYPT_FIELD_BYTES];
	struct bch_error err = { 0 };

	(void)state;
	assert_int_equal(bch_sb_crypt_field_encode(&master, NULL, 0, 0, field,
						   sizeof(field) - 8, &err),
			 -BCH_ERR_INVAL);
	assert_int_equal(err.code, BCH_ERR_INVAL);
	assert_non_null(strstr(err.msg, "crypt field"));

	err = (struct bch_error){ 0 };
	assert_int_equal(bch_sb_crypt_field_build(NULL, 0, 0, NULL, 0, &master, &err),
			 -BCH_ERR_INVAL);
}

/* ---- extents ---- */

/* real extent values of the image corpus (keys dumps, upstream-written) */
static const struct {
	const char	*image;
	const char	*hex;
} corpus_extents[] = {
	{ "csum-nodata",	"0110040000000000" },	/* pointer only */
	{ "small",		"1e0e0005165112250120070000000000" },	/* crc32c in crc32 */
	{ "medium",		"3e1e0005df569dbe0120070000000000" },
	{ "zstd",		"1e0e00558fc2ab250120070000000000" },	/* incompressible */
	{ "zstd",		"7efe004541d2cb840121070000000000" },	/* zstd */
	{ "tiny-128",		"feff0005853017d601a0010000000000" },	/* 128 sectors */
	{ "csum-crc64",		"fcf30700000600006aff5b4408bc523c0110040000000000" },
	{ "csum-xxhash",	"fcf3070000070000d17dadffe24ad65e0110040000000000" },
	/* chacha20_poly1305_80 with a nonce: crc64 */
	{ "encrypted",		"fcf307000003fc51165c072977c943e00120070000000000" },
	{ "encrypted",		"fcf30700000314c288d5018d508ca5cc0108080000000000" },
	{ "v136-two-dev",	"9e4e00057b9a9d1401e00100000001000100020000000000" },
	{ "v136-two-dev",	"7cf4080000050000c5d0d268000000000110020000000000"
				"feff0005ef72a75a01f0010000000100" },
	/* a reconcile entry, then a pointer to BCH_SB_MEMBER_INVALID */
	{ "v136-two-dev",	"7e3e00057872b42801ae0a0000000000808002a000000000"
				"010000000000ff00" },
	{ "v136-two-dev",	"fcf60d000005000053972fd80000000001c20a0000000000"
				"808002a000000000010000000000ff00" },
};

#define MAX_ENTRIES	8

static unsigned decode_all(const uint8_t *v, size_t len, struct bch_extent_entry *e)
{
	unsigned nr = 0;
	size_t pos = 0;

	while (pos < len) {
		unsigned n = bch_extent_entry_decode(v + pos, (unsigned)(len - pos), &e[nr]);

		assert_int_not_equal(n, 0);
		assert_true(nr < MAX_ENTRIES);
		pos += n;
		nr++;
	}
	return nr;
}

/* is this value "one crc entry (or none), then pointers"? fill d if so */
static bool as_desc(const struct bch_extent_entry *e, unsigned nr,
		    struct bch_extent_desc *d, struct bch_extent_ptr *ptrs)
{
	unsigned i = 0;

	memset(d, 0, sizeof(*d));
	d->size = 1;
	if (nr && e[0].type >= BCH_EXTENT_ENTRY_crc32 && e[0].type <= BCH_EXTENT_ENTRY_crc128) {
		d->crc = e[0].crc;
		d->size = d->crc.uncompressed_size - d->crc.offset;
		i = 1;
	}
	for (; i < nr; i++) {
		if (e[i].type != BCH_EXTENT_ENTRY_ptr)
			return false;
		ptrs[d->nr_ptrs++] = e[i].ptr;
	}
	d->ptrs = ptrs;
	return d->nr_ptrs > 0;
}

static void test_extent_corpus_reencode(void **state)
{
	unsigned nr_desc = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(corpus_extents); i++) {
		struct bch_extent_entry e[MAX_ENTRIES];
		struct bch_extent_ptr ptrs[MAX_ENTRIES];
		struct bch_extent_desc d;
		struct bch_error err = { 0 };
		uint8_t out[128];
		size_t len, bytes = 0;
		uint8_t *v = unhex(corpus_extents[i].hex, &len);
		unsigned nr = decode_all(v, len, e);

		assert_int_equal(bch_extent_entries_encode(e, nr, out, sizeof(out), &bytes, &err), 0);
		assert_int_equal(bytes, len);
		assert_memory_equal(out, v, len);

		/* exactly the room it needs is enough, one byte less is not */
		assert_int_equal(bch_extent_entries_encode(e, nr, out, len, &bytes, &err), 0);
		assert_int_equal(bch_extent_entries_encode(e, nr, out, len - 1, &bytes, &err),
				 -BCH_ERR_RANGE);

		if (as_desc(e, nr, &d, ptrs)) {
			err = (struct bch_error){ 0 };
			memset(out, 0, sizeof(out));
			assert_int_equal(bch_extent_value_encode(&d, out, sizeof(out), &bytes, &err), 0);
			assert_int_equal(bytes, len);
			assert_memory_equal(out, v, len);
			nr_desc++;
		}
		free(v);
	}
	assert_int_equal(nr_desc, 11);
}

/* the fields of a few real entries, as upstream's text output shows them */
static void test_extent_corpus_fields(void **state)
{
	struct bch_extent_entry e[MAX_ENTRIES];
	size_t len;
	uint8_t *v;

	(void)state;
	/* encrypted: crc64, 128 sectors, nonce 0, chacha20_poly1305_80 */
	v = unhex(corpus_extents[8].hex, &len);
	assert_int_equal(decode_all(v, len, e), 2);
	assert_int_equal(e[0].type, BCH_EXTENT_ENTRY_crc64);
	assert_int_equal(e[0].crc.compressed_size, 128);
	assert_int_equal(e[0].crc.uncompressed_size, 128);
	assert_int_equal(e[0].crc.csum_type, BCH_CSUM_chacha20_poly1305_80);
	assert_int_equal(e[0].crc.compression_type, 0);
	assert_int_equal(bch_extent_crc_pick_type(&e[0].crc), BCH_EXTENT_ENTRY_crc64);
	free(v);

	/* zstd: crc32, 32 sectors compressed to 128 uncompressed */
	v = unhex(corpus_extents[4].hex, &len);
	assert_int_equal(decode_all(v, len, e), 2);
	assert_int_equal(e[0].type, BCH_EXTENT_ENTRY_crc32);
	assert_int_equal(e[0].crc.compressed_size, 32);
	assert_int_equal(e[0].crc.uncompressed_size, 128);
	assert_int_equal(e[0].crc.csum_type, BCH_CSUM_crc32c);
	assert_int_equal(e[0].crc.compression_type, 4);
	free(v);
}

static void test_extent_pick_type(void **state)
{
	struct bch_extent_crc c = {
		.compressed_size = 128, .uncompressed_size = 128,
		.csum_type = BCH_CSUM_crc32c,
	};

	(void)state;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc32);
	c.uncompressed_size = 129;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.uncompressed_size = 512;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.uncompressed_size = 513;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc128);
	c.uncompressed_size = 8192;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc128);
	c.uncompressed_size = 8193;
	assert_int_equal(bch_extent_crc_pick_type(&c), 0);

	c.uncompressed_size = 8;
	c.nonce = 1;		/* crc32 has no nonce */
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.nonce = 1023;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.nonce = 1024;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc128);
	c.nonce = 8192;
	assert_int_equal(bch_extent_crc_pick_type(&c), 0);

	c.nonce = 0;
	c.csum_type = BCH_CSUM_xxhash;		/* 8 bytes */
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.csum_type = BCH_CSUM_chacha20_poly1305_80;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc64);
	c.csum_type = BCH_CSUM_chacha20_poly1305_128;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc128);
	c.csum_type = BCH_CSUM_none;		/* compressed, no checksum */
	c.compression_type = 3;
	assert_int_equal(bch_extent_crc_pick_type(&c), BCH_EXTENT_ENTRY_crc32);
	c.csum_type = BCH_CSUM_NR;
	assert_int_equal(bch_extent_crc_pick_type(&c), 0);
}

/* synthetic values of every entry type survive encode -> decode */
static void test_extent_round_trip(void **state)
{
	const struct bch_extent_entry in[] = {
		{ .type = BCH_EXTENT_ENTRY_crc128, .crc = {
			.compressed_size = 8192, .uncompressed_size = 8192,
			.offset = 8191, .nonce = 8191,
			.csum_type = BCH_CSUM_chacha20_poly1305_128,
			.csum = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } } },
		{ .type = BCH_EXTENT_ENTRY_ptr, .ptr = {
			.offset = (1ULL << 44) - 1, .dev = 255, .gen = 255,
			.cached = true, .unwritten = true } },
		{ .type = BCH_EXTENT_ENTRY_crc64, .crc = {
			.compressed_size = 100, .uncompressed_size = 512,
			.offset = 511, .nonce = 1023, .csum_type = BCH_CSUM_xxhash,
			.compression_type = 4, .csum = { ~0ULL, 0xffff } } },
		{ .type = BCH_EXTENT_ENTRY_stripe_ptr, .stripe_ptr = {
			.block = 255, .redundancy = 15, .idx = (1ULL << 47) - 1 } },
		{ .type = BCH_EXTENT_ENTRY_ptr, .ptr = { .offset = 4096, .dev = 1, .gen = 3 } },
		{ .type = BCH_EXTENT_ENTRY_crc32, .crc = {
			.compressed_size = 1, .uncompressed_size = 128, .offset = 127,
			.csum_type = BCH_CSUM_crc32c_nonzero, .compression_type = 15,
			.csum = { 0xdeadbeef, 0 } } },
		{ .type = BCH_EXTENT_ENTRY_ptr, .ptr = { .offset = 8, .cached = true } },
		{ .type = BCH_EXTENT_ENTRY_flags, .word = 1ULL << 6 | 1ULL << 7 },
	};
	struct bch_extent_entry out[MAX_ENTRIES];
	struct bch_error err = { 0 };
	uint8_t buf[8 * 24];
	size_t bytes = 0;

	(void)state;
	assert_int_equal(bch_extent_entries_encode(in, ARRAY_SIZE(in), buf, sizeof(buf),
						   &bytes, &err), 0);
	assert_int_equal(bytes, 24 + 8 + 16 + 8 + 8 + 8 + 8 + 8);
	assert_int_equal(decode_all(buf, bytes, out), ARRAY_SIZE(in));

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		assert_int_equal(out[i].type, in[i].type);
		switch (in[i].type) {
		case BCH_EXTENT_ENTRY_ptr:
			assert_int_equal(out[i].ptr.offset, in[i].ptr.offset);
			assert_int_equal(out[i].ptr.dev, in[i].ptr.dev);
			assert_int_equal(out[i].ptr.gen, in[i].ptr.gen);
			assert_int_equal(out[i].ptr.cached, in[i].ptr.cached);
			assert_int_equal(out[i].ptr.unwritten, in[i].ptr.unwritten);
			break;
		case BCH_EXTENT_ENTRY_crc32:
		case BCH_EXTENT_ENTRY_crc64:
		case BCH_EXTENT_ENTRY_crc128:
			assert_int_equal(out[i].crc.width, in[i].type);
			assert_int_equal(out[i].crc.compressed_size, in[i].crc.compressed_size);
			assert_int_equal(out[i].crc.uncompressed_size, in[i].crc.uncompressed_size);
			assert_int_equal(out[i].crc.offset, in[i].crc.offset);
			assert_int_equal(out[i].crc.nonce, in[i].crc.nonce);
			assert_int_equal(out[i].crc.csum_type, in[i].crc.csum_type);
			assert_int_equal(out[i].crc.compression_type, in[i].crc.compression_type);
			assert_true(bch_csum_eq(out[i].crc.csum, in[i].crc.csum));
			break;
		case BCH_EXTENT_ENTRY_stripe_ptr:
			assert_int_equal(out[i].stripe_ptr.block, in[i].stripe_ptr.block);
			assert_int_equal(out[i].stripe_ptr.redundancy, in[i].stripe_ptr.redundancy);
			assert_int_equal(out[i].stripe_ptr.idx, in[i].stripe_ptr.idx);
			break;
		default:
			assert_int_equal(out[i].word, in[i].word);
		}
	}
}

/* fields that do not fit their entry are refused, not truncated */
static void test_extent_entry_overflow(void **state)
{
	struct bch_extent_entry e = { .type = BCH_EXTENT_ENTRY_ptr };
	uint8_t buf[BCH_EXTENT_ENTRY_MAX_BYTES];

	(void)state;
	e.ptr.offset = 1ULL << 44;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);

	e = (struct bch_extent_entry){ .type = BCH_EXTENT_ENTRY_crc32, .crc = {
		.compressed_size = 8, .uncompressed_size = 8,
		.csum_type = BCH_CSUM_crc32c } };
	assert_int_equal(bch_extent_entry_encode(&e, buf), 8);
	e.crc.csum.lo = 1ULL << 32;		/* 4 checksum bytes only */
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.crc.csum.lo = 0;
	e.crc.nonce = 1;			/* no nonce field */
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.crc.nonce = 0;
	e.crc.uncompressed_size = 129;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.crc.uncompressed_size = 0;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);

	e.type = BCH_EXTENT_ENTRY_crc64;
	e.crc.uncompressed_size = 8;
	e.crc.csum.hi = 1 << 16;		/* 10 checksum bytes only */
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.crc.csum.hi = 0;
	e.crc.csum_type = 16;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);

	e = (struct bch_extent_entry){ .type = BCH_EXTENT_ENTRY_stripe_ptr };
	e.stripe_ptr.redundancy = 16;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);

	/* opaque words must carry their own type */
	e = (struct bch_extent_entry){ .type = BCH_EXTENT_ENTRY_reconcile, .word = 1ULL << 6 };
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.word = 0;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
	e.type = BCH_EXTENT_ENTRY_NR;
	e.word = 1ULL << BCH_EXTENT_ENTRY_NR;
	assert_int_equal(bch_extent_entry_encode(&e, buf), 0);
}

static void test_extent_key_build(void **state)
{
	const struct bch_extent_ptr ptrs[2] = {
		{ .offset = 1792, .dev = 0, .gen = 1 },
		{ .offset = 2048, .dev = 1, .gen = 0 },
	};
	struct bch_extent_desc d = {
		.pos = { 4099, 128, 0xffffffff }, .size = 128,
		.version = { .lo = 1 },
		.crc = { .compressed_size = 128, .uncompressed_size = 128,
			 .csum_type = BCH_CSUM_chacha20_poly1305_80,
			 .csum = { 0x1122334455667788ULL, 0x99aa } },
		.nr_ptrs = 2, .ptrs = ptrs,
	};
	uint8_t val[BCH_EXTENT_VAL_MAX_BYTES(2)];
	struct bch_extent_entry e[MAX_ENTRIES];
	struct bch_error err = { 0 };
	struct bkey k;

	(void)state;
	assert_int_equal(bch_extent_key_build(&d, val, sizeof(val), &k, &err), 0);
	assert_int_equal(k.type, KEY_TYPE_extent);
	assert_int_equal(k.p.inode, 4099);
	assert_int_equal(k.p.offset, 128);
	assert_int_equal(k.p.snapshot, 0xffffffff);
	assert_int_equal(k.size, 128);
	assert_int_equal(k.version.lo, 1);
	assert_ptr_equal(k.val, val);
	assert_int_equal(k.val_bytes, 16 + 8 + 8);
	assert_int_equal(decode_all(k.val, k.val_bytes, e), 3);
	assert_int_equal(e[0].type, BCH_EXTENT_ENTRY_crc64);
	assert_true(bch_csum_eq(e[0].crc.csum, d.crc.csum));
	assert_int_equal(e[1].ptr.offset, 1792);
	assert_int_equal(e[2].ptr.dev, 1);

	/* no checksum, compression or nonce: pointers only */
	d.crc = (struct bch_extent_crc){ 0 };
	d.nr_ptrs = 1;
	assert_int_equal(bch_extent_key_build(&d, val, sizeof(val), &k, &err), 0);
	assert_int_equal(k.val_bytes, 8);
	assert_int_equal(get_le64(val), bch_extent_ptr_encode(&ptrs[0]));
}

static void test_extent_desc_invalid(void **state)
{
	const struct bch_extent_ptr ptr = { .offset = 64 };
	const struct bch_extent_desc good = {
		.pos = { 1, 16, 0 }, .size = 8,
		.crc = { .compressed_size = 16, .uncompressed_size = 16, .offset = 8,
			 .csum_type = BCH_CSUM_crc32c },
		.nr_ptrs = 1, .ptrs = &ptr,
	};
	struct bch_extent_desc d;
	struct bch_error err;
	uint8_t val[64];
	size_t bytes;

#define expect_inval(_d) do {						\
		err = (struct bch_error){ 0 };				\
		assert_int_equal(bch_extent_value_encode(&(_d), val, sizeof(val), \
							 &bytes, &err), \
				 -BCH_ERR_INVAL);			\
	} while (0)

	(void)state;
	assert_int_equal(bch_extent_value_encode(&good, val, sizeof(val), &bytes, &err), 0);
	assert_int_equal(bytes, 16);

	d = good; d.size = 0;			expect_inval(d);
	d = good; d.nr_ptrs = 0;		expect_inval(d);
	d = good; d.size = 9;			expect_inval(d);	/* offset + size > 16 */
	d = good; d.crc.compressed_size = 8;	expect_inval(d);	/* not compressed */
	d.crc.compression_type = 4;
	assert_int_equal(bch_extent_value_encode(&d, val, sizeof(val), &bytes, &err), 0);
	d = good; d.crc.uncompressed_size = d.crc.compressed_size = 8193;
	expect_inval(d);					/* no entry holds it */
	assert_non_null(strstr(err.msg, "no crc entry"));
	err = (struct bch_error){ 0 };
	assert_int_equal(bch_extent_value_encode(&good, val, 8, &bytes, &err),
			 -BCH_ERR_RANGE);
#undef expect_inval
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypt_default_kdf),
		cmocka_unit_test(test_crypt_real_field),
		cmocka_unit_test(test_crypt_build_passphrase),
		cmocka_unit_test(test_crypt_build_plain),
		cmocka_unit_test(test_crypt_build_errors),
		cmocka_unit_test(test_extent_corpus_reencode),
		cmocka_unit_test(test_extent_corpus_fields),
		cmocka_unit_test(test_extent_pick_type),
		cmocka_unit_test(test_extent_round_trip),
		cmocka_unit_test(test_extent_entry_overflow),
		cmocka_unit_test(test_extent_key_build),
		cmocka_unit_test(test_extent_desc_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
