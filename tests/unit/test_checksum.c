/* Unit tests of checksum.c and crypt.c against known vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include "checksum.h"
#include "crypt.h"

static const char check_str[] = "123456789";

struct csum_vector {
	unsigned	type;
	uint64_t	v;
};

static const struct csum_vector check_vectors[] = {
	{ BCH_CSUM_crc32c_nonzero,	0xE3069283ULL },
	{ BCH_CSUM_crc64_nonzero,	0x62EC59E3F1A4F00AULL },
	{ BCH_CSUM_crc32c,		0x58E3FA20ULL },
	{ BCH_CSUM_crc64,		0x6C40DF5F0B497347ULL },
	{ BCH_CSUM_xxhash,		0x8CB841DB40E6AE83ULL },
};

static const struct csum_vector seq100_vectors[] = {
	{ BCH_CSUM_crc32c_nonzero,	0xC1CAEBE5ULL },
	{ BCH_CSUM_crc64_nonzero,	0xFDCA1E051D685E46ULL },
	{ BCH_CSUM_crc32c,		0xC6017413ULL },
	{ BCH_CSUM_crc64,		0xA6E0D1D76D56887BULL },
	{ BCH_CSUM_xxhash,		0x6AC1E58032166597ULL },
};

static const uint8_t mac128[16] = {
	0x5e, 0x78, 0x45, 0x35, 0x0a, 0x93, 0x08, 0x62,
	0x31, 0xed, 0x89, 0xe9, 0x15, 0x97, 0x39, 0x31,
};

static const uint8_t mac80[16] = {
	0x5e, 0x78, 0x45, 0x35, 0x0a, 0x93, 0x08, 0x62,
	0x31, 0xed,
};

static const uint8_t keystream16[16] = {
	0x51, 0x9b, 0x69, 0x6d, 0x03, 0xc5, 0x12, 0x34,
	0x8b, 0x01, 0x8f, 0xb3, 0xfe, 0xc8, 0xb0, 0xe3,
};

static const struct bch_nonce zero_nonce;
static const struct bch_nonce test_nonce = { { 1, 2, 3, 4 } };

static void seq_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)i;
}

static struct bch_crypt_key seq_key(void)
{
	struct bch_crypt_key k;

	seq_bytes(k.key, sizeof(k.key));
	return k;
}

static void check_one(const struct csum_vector *v, const void *data, size_t len)
{
	struct bch_csum c;

	assert_int_equal(bch_checksum(v->type, NULL, zero_nonce, data, len, &c), 0);
	assert_int_equal(c.lo, v->v);
	assert_int_equal(c.hi, 0);
}

static void test_check_string(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(check_vectors); i++)
		check_one(&check_vectors[i], check_str, 9);
}

static void test_seq100(void **state)
{
	uint8_t buf[100];

	(void)state;
	seq_bytes(buf, sizeof(buf));
	for (size_t i = 0; i < ARRAY_SIZE(seq100_vectors); i++)
		check_one(&seq100_vectors[i], buf, sizeof(buf));
}

static void test_raw_primitives(void **state)
{
	(void)state;
	assert_int_equal(bch_crc32c(0, check_str, 9), 0x58E3FA20u);
	assert_int_equal(bch_crc32c(~0u, check_str, 9) ^ ~0u, 0xE3069283u);
	assert_int_equal(bch_crc64(0, check_str, 9), 0x6C40DF5F0B497347ULL);
	assert_int_equal(bch_crc64(~0ULL, check_str, 9) ^ ~0ULL,
			 0x62EC59E3F1A4F00AULL);
	assert_int_equal(bch_xxhash64(check_str, 9), 0x8CB841DB40E6AE83ULL);
	/* empty input leaves the register alone */
	assert_int_equal(bch_crc32c(0x12345678u, NULL, 0), 0x12345678u);
	assert_int_equal(bch_crc64(0x123456789abcdefULL, NULL, 0),
			 0x123456789abcdefULL);
}

static void test_incremental(void **state)
{
	uint8_t buf[1000];
	uint32_t c32_all;
	uint64_t c64_all;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);

	c32_all = bch_crc32c(~0u, buf, sizeof(buf));
	c64_all = bch_crc64(~0ULL, buf, sizeof(buf));

	for (size_t split = 0; split <= sizeof(buf); split += 37) {
		uint32_t c32 = bch_crc32c(~0u, buf, split);
		uint64_t c64 = bch_crc64(~0ULL, buf, split);

		c32 = bch_crc32c(c32, buf + split, sizeof(buf) - split);
		c64 = bch_crc64(c64, buf + split, sizeof(buf) - split);
		assert_int_equal(c32, c32_all);
		assert_int_equal(c64, c64_all);
	}

	/* three pieces, zero seed */
	assert_int_equal(bch_crc64(bch_crc64(bch_crc64(0, buf, 1), buf + 1, 500),
				   buf + 501, 499),
			 bch_crc64(0, buf, sizeof(buf)));
	assert_int_equal(bch_crc32c(bch_crc32c(bch_crc32c(0, buf, 3), buf + 3, 64),
				    buf + 67, 933),
			 bch_crc32c(0, buf, sizeof(buf)));
}

static void test_csum_bytes(void **state)
{
	static const unsigned want[BCH_CSUM_NR] = { 0, 4, 8, 10, 16, 4, 8, 8 };

	(void)state;
	for (unsigned t = 0; t < BCH_CSUM_NR; t++) {
		assert_true(bch_csum_type_valid(t));
		assert_int_equal(bch_csum_bytes(t), want[t]);
		assert_int_equal(bch_csum_type_is_encryption(t),
				 t == BCH_CSUM_chacha20_poly1305_80 ||
				 t == BCH_CSUM_chacha20_poly1305_128);
	}
	assert_false(bch_csum_type_valid(BCH_CSUM_NR));
	assert_int_equal(bch_csum_bytes(BCH_CSUM_NR), 0);
	assert_int_equal(bch_csum_bytes(255), 0);
}

static void test_invalid_type(void **state)
{
	struct bch_crypt_key k = seq_key();
	struct bch_csum c = { 1, 1 };

	(void)state;
	assert_int_equal(bch_checksum(BCH_CSUM_NR, &k, zero_nonce, check_str, 9, &c), -1);
	assert_int_equal(bch_checksum(1000, NULL, zero_nonce, check_str, 9, &c), -1);
	/* MAC types need the key */
	assert_int_equal(bch_checksum(BCH_CSUM_chacha20_poly1305_128, NULL,
				      test_nonce, check_str, 9, &c), -1);
	assert_int_equal(bch_checksum(BCH_CSUM_chacha20_poly1305_80, NULL,
				      test_nonce, check_str, 9, &c), -1);
}

static void test_none(void **state)
{
	struct bch_csum c = { 1, 1 };

	(void)state;
	assert_int_equal(bch_checksum(BCH_CSUM_none, NULL, zero_nonce, check_str, 9, &c), 0);
	assert_int_equal(c.lo, 0);
	assert_int_equal(c.hi, 0);
}

static void test_mac(void **state)
{
	struct bch_crypt_key k = seq_key();
	struct bch_csum c;
	uint8_t tag[16];

	(void)state;
	bch_poly1305_mac(&k, test_nonce, check_str, 9, tag);
	assert_memory_equal(tag, mac128, 16);

	assert_int_equal(bch_checksum(BCH_CSUM_chacha20_poly1305_128, &k,
				      test_nonce, check_str, 9, &c), 0);
	assert_true(bch_csum_eq(c, bch_csum_decode(mac128)));

	assert_int_equal(bch_checksum(BCH_CSUM_chacha20_poly1305_80, &k,
				      test_nonce, check_str, 9, &c), 0);
	assert_true(bch_csum_eq(c, bch_csum_decode(mac80)));
	assert_int_equal(c.hi >> 16, 0);

	/* a different nonce gives a different tag */
	assert_int_equal(bch_checksum(BCH_CSUM_chacha20_poly1305_128, &k,
				      zero_nonce, check_str, 9, &c), 0);
	assert_false(bch_csum_eq(c, bch_csum_decode(mac128)));
}

static void test_keystream(void **state)
{
	struct bch_crypt_key k = seq_key();
	uint8_t buf[200], orig[200];

	(void)state;
	memset(buf, 0, sizeof(buf));
	bch_chacha20_xor(&k, test_nonce, buf, sizeof(buf));
	assert_memory_equal(buf, keystream16, 16);

	/* the keystream continues block by block: nonce_add skips blocks */
	{
		uint8_t tail[200 - 128];

		memset(tail, 0, sizeof(tail));
		bch_chacha20_xor(&k, bch_nonce_add(test_nonce, 128), tail, sizeof(tail));
		assert_memory_equal(tail, buf + 128, sizeof(tail));
	}

	/* XOR twice restores the data */
	seq_bytes(orig, sizeof(orig));
	memcpy(buf, orig, sizeof(buf));
	bch_chacha20_xor(&k, test_nonce, buf, sizeof(buf));
	assert_memory_not_equal(buf, orig, sizeof(buf));
	bch_chacha20_xor(&k, test_nonce, buf, sizeof(buf));
	assert_memory_equal(buf, orig, sizeof(buf));
}

/* the 32-bit block counter wraps to 0 without touching the nonce words */
static void test_keystream_wrap(void **state)
{
	struct bch_crypt_key k = seq_key();
	struct bch_nonce n = { { 0xffffffffu, 2, 3, 4 } };
	struct bch_nonce n0 = { { 0, 2, 3, 4 } };
	uint8_t both[192], last[64], first[128];

	(void)state;
	memset(both, 0, sizeof(both));
	memset(last, 0, sizeof(last));
	memset(first, 0, sizeof(first));
	bch_chacha20_xor(&k, n, both, sizeof(both));
	bch_chacha20_xor(&k, n, last, sizeof(last));
	bch_chacha20_xor(&k, n0, first, sizeof(first));
	assert_memory_equal(both, last, 64);
	assert_memory_equal(both + 64, first, 128);
}

static void test_crypt_parse_short(void **state)
{
	uint8_t field[64] = { 0 };
	struct bch_sb_crypt c;
	struct bch_error err = { 0 };

	(void)state;
	assert_int_equal(bch_sb_crypt_parse(field, 63, &c, &err), -BCH_ERR_CORRUPT);
	assert_int_equal(err.code, BCH_ERR_CORRUPT);
	assert_true(strlen(err.msg) > 0);

	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_sb_crypt_parse(field, 8, &c, &err), -BCH_ERR_CORRUPT);

	/* unknown KDF type */
	memset(&err, 0, sizeof(err));
	put_le64(field + 8, 1);
	assert_int_equal(bch_sb_crypt_parse(field, 64, &c, &err), -BCH_ERR_CORRUPT);

	memset(&err, 0, sizeof(err));
	put_le64(field + 8, 0);
	assert_int_equal(bch_sb_crypt_parse(field, 64, &c, &err), 0);
	assert_int_equal(err.code, 0);
}

#define TEST_SB_MAGIC	0x0123456789abcdefULL
#define TEST_PASS	"correct horse battery staple"

/* build a crypt field whose key is encrypted under scrypt(pass), small params */
static void build_crypt_field(uint8_t field[64], const struct bch_crypt_key *master,
			      const char *pass)
{
	static const uint8_t salt[7] = "bcache";
	uint8_t pkey[32], iv[12];

	memset(field, 0, 64);
	put_le32(field, 8);		/* u64s */
	put_le32(field + 4, BCH_SB_FIELD_crypt);
	put_le64(field + 8, 0);		/* scrypt */
	put_le64(field + 16, 4 | 0ULL << 16 | 0ULL << 32);
	put_le64(field + 24, BCH_KEY_MAGIC);
	memcpy(field + 32, master->key, 32);

	/* independent of crypt.c: libsodium directly, IETF nonce d[1..3] */
	assert_int_equal(crypto_pwhash_scryptsalsa208sha256_ll(
			 (const uint8_t *)pass, strlen(pass), salt, sizeof(salt),
			 16, 1, 1, pkey, sizeof(pkey)), 0);
	put_le32(iv, 0);
	put_le64(iv + 4, TEST_SB_MAGIC);
	crypto_stream_chacha20_ietf_xor_ic(field + 24, field + 24, 40, iv, 0, pkey);
}

static void test_crypt_unlock(void **state)
{
	struct bch_crypt_key master, got;
	struct bch_sb_crypt c;
	struct bch_error err = { 0 };
	uint8_t field[64];

	(void)state;
	for (unsigned i = 0; i < 32; i++)
		master.key[i] = (uint8_t)(0xa0 + i);
	build_crypt_field(field, &master, TEST_PASS);

	assert_int_equal(bch_sb_crypt_parse(field, sizeof(field), &c, &err), 0);
	assert_false(bch_sb_crypt_key_is_plain(&c));
	assert_int_equal(c.kdf_flags, 4);

	memset(&got, 0, sizeof(got));
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC, TEST_PASS,
					  strlen(TEST_PASS), &got, &err), 0);
	assert_memory_equal(got.key, master.key, 32);

	/* wrong passphrase */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC, "wrong", 5, &got, &err),
			 -BCH_ERR_NEED_KEY);
	assert_int_equal(err.code, BCH_ERR_NEED_KEY);
	assert_true(strlen(err.msg) > 0);

	/* right passphrase, wrong superblock magic */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC ^ 1, TEST_PASS,
					  strlen(TEST_PASS), &got, &err),
			 -BCH_ERR_NEED_KEY);

	/* no passphrase for an encrypted key */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC, NULL, 0, &got, &err),
			 -BCH_ERR_NEED_KEY);

	/* N = 1 is not a valid scrypt parameter */
	memset(&err, 0, sizeof(err));
	c.kdf_flags = 0;
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC, TEST_PASS,
					  strlen(TEST_PASS), &got, &err),
			 -BCH_ERR_CORRUPT);
}

static void test_crypt_plain(void **state)
{
	struct bch_crypt_key got;
	struct bch_sb_crypt c;
	struct bch_error err = { 0 };
	uint8_t field[64] = { 0 };

	(void)state;
	put_le32(field, 8);
	put_le32(field + 4, BCH_SB_FIELD_crypt);
	put_le64(field + 24, BCH_KEY_MAGIC);
	seq_bytes(field + 32, 32);
	assert_memory_equal(field + 24, "bch**key", 8);

	assert_int_equal(bch_sb_crypt_parse(field, sizeof(field), &c, &err), 0);
	assert_true(bch_sb_crypt_key_is_plain(&c));
	memset(&got, 0, sizeof(got));
	assert_int_equal(bch_crypt_unlock(&c, TEST_SB_MAGIC, NULL, 0, &got, &err), 0);
	assert_memory_equal(got.key, field + 32, 32);
	assert_int_equal(err.code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_string),
		cmocka_unit_test(test_seq100),
		cmocka_unit_test(test_raw_primitives),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_csum_bytes),
		cmocka_unit_test(test_invalid_type),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_keystream),
		cmocka_unit_test(test_keystream_wrap),
		cmocka_unit_test(test_crypt_parse_short),
		cmocka_unit_test(test_crypt_unlock),
		cmocka_unit_test(test_crypt_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
