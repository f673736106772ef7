/*
 * ChaCha20, Poly1305 and the superblock crypt field, on top of libsodium.
 *
 * bcachefs' ChaCha20 takes the 16-byte IV as state words 12..15 and only
 * ever increments word 12 (a 32-bit block counter that wraps without
 * carrying). That is libsodium's IETF variant with the initial counter
 * d[0] and the 12-byte nonce d[1..3]. libsodium aborts the process when
 * the counter would wrap inside one call, so we split the work there.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "crypt.h"

#define CRYPT_FIELD_BYTES	BCH_SB_CRYPT_FIELD_BYTES
#define CRYPT_KEY_OFFSET	24u
#define CHACHA_BLOCK		64u

/* the scrypt salt: "bcache" including its terminating NUL */
static const uint8_t kdf_salt[7] = "bcache";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
	/* only picks the fastest implementations; the reference ones work too */
	int ret = sodium_init();

	(void)ret;
}

static void crypt_init(void)
{
	pthread_once(&sodium_once, sodium_setup);
}

/* ---- ChaCha20 and Poly1305 ---- */

/* bytes we may process from block counter ctr before it wraps */
static uint64_t chacha_bytes_to_wrap(uint32_t ctr)
{
	return ((1ULL << 32) - ctr) * CHACHA_BLOCK;
}

void bch_chacha20_xor(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      void *data, size_t len)
{
	uint8_t iv[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint32_t ctr = nonce.d[0];
	uint8_t *p = data;

	crypt_init();
	put_le32(iv, nonce.d[1]);
	put_le32(iv + 4, nonce.d[2]);
	put_le32(iv + 8, nonce.d[3]);

	while (len) {
		uint64_t max = chacha_bytes_to_wrap(ctr);
		size_t n = (uint64_t)len > max ? (size_t)max : len;

		crypto_stream_chacha20_ietf_xor_ic(p, p, n, iv, ctr, key->key);
		p += n;
		len -= n;
		ctr += (uint32_t)(n / CHACHA_BLOCK);	/* wraps to 0 when split */
	}
	sodium_memzero(iv, sizeof(iv));
}

void bch_poly1305_mac(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      const void *data, size_t len, uint8_t tag[16])
{
	uint8_t otk[crypto_onetimeauth_poly1305_KEYBYTES] = { 0 };
	static const uint8_t empty[1];

	nonce.d[3] ^= BCH_NONCE_POLY;
	bch_chacha20_xor(key, nonce, otk, sizeof(otk));
	crypto_onetimeauth_poly1305(tag, len ? data : empty, len, otk);
	sodium_memzero(otk, sizeof(otk));
}

/* ---- the crypt superblock field ---- */

int bch_sb_crypt_parse(const void *field, size_t bytes, struct bch_sb_crypt *out,
		       struct bch_error *err)
{
	const uint8_t *f = field;

	if (!field || bytes < CRYPT_FIELD_BYTES)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "crypt field: %zu bytes, need at least %u",
			       field ? bytes : 0, CRYPT_FIELD_BYTES);

	out->flags = get_le64(f + 8);
	out->kdf_flags = get_le64(f + 16);
	memcpy(out->key, f + CRYPT_KEY_OFFSET, sizeof(out->key));

	if (bits64(out->flags, 0, 4))
		return bch_err(err, BCH_ERR_CORRUPT,
			       "crypt field: flags @8: unknown KDF type %llu (only 0 = scrypt)",
			       (unsigned long long)bits64(out->flags, 0, 4));
	return 0;
}

bool bch_sb_crypt_key_is_plain(const struct bch_sb_crypt *c)
{
	return get_le64(c->key) == BCH_KEY_MAGIC;
}

struct scrypt_params {
	unsigned	log_n, log_r, log_p;
};

static int kdf_params(const struct bch_sb_crypt *c, struct scrypt_params *s,
		      struct bch_error *err)
{
	if (bits64(c->flags, 0, 4))
		return bch_err(err, BCH_ERR_CORRUPT,
			       "crypt field: flags @8: unknown KDF type %llu (only 0 = scrypt)",
			       (unsigned long long)bits64(c->flags, 0, 4));

	s->log_n = bits64(c->kdf_flags, 0, 16);
	s->log_r = bits64(c->kdf_flags, 16, 32);
	s->log_p = bits64(c->kdf_flags, 32, 48);

	/* scrypt needs N >= 2 and r * p < 2^30 */
	if (!s->log_n || s->log_n >= 63 || s->log_r + s->log_p >= 30)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "crypt field: kdf_flags @16: invalid scrypt parameters log2 N=%u r=%u p=%u",
			       s->log_n, s->log_r, s->log_p);
	return 0;
}

static int derive_passphrase_key(const struct bch_sb_crypt *c,
				 const char *passphrase, size_t passphrase_len,
				 struct bch_crypt_key *out, struct bch_error *err)
{
	struct scrypt_params s = { 0 };
	int ret = kdf_params(c, &s, err);

	if (ret)
		return ret;

	crypt_init();
	errno = 0;
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)passphrase,
						  passphrase_len,
						  kdf_salt, sizeof(kdf_salt),
						  1ULL << s.log_n,
						  1u << s.log_r, 1u << s.log_p,
						  out->key, sizeof(out->key)))
		return bch_err(err, errno == ENOMEM ? BCH_ERR_NOMEM : BCH_ERR_CORRUPT,
			       "crypt field: scrypt failed with log2 N=%u r=%u p=%u: %s",
			       s.log_n, s.log_r, s.log_p, strerror(errno));
	return 0;
}

/* the nonce the master key is encrypted under: words 2..3 = sb magic */
static struct bch_nonce sb_key_nonce(uint64_t sb_magic)
{
	return (struct bch_nonce){ { 0, 0, (uint32_t)sb_magic,
				     (uint32_t)(sb_magic >> 32) } };
}

int bch_crypt_unlock(const struct bch_sb_crypt *c, uint64_t sb_magic,
		     const char *passphrase, size_t passphrase_len,
		     struct bch_crypt_key *out, struct bch_error *err)
{
	struct bch_crypt_key pkey;
	uint8_t buf[sizeof(c->key)];
	int ret;

	if (bch_sb_crypt_key_is_plain(c)) {
		memcpy(out->key, c->key + 8, sizeof(out->key));
		return 0;
	}
	if (!passphrase)
		return bch_err(err, BCH_ERR_NEED_KEY,
			       "crypt field: the master key is encrypted, a passphrase is needed");

	ret = derive_passphrase_key(c, passphrase, passphrase_len, &pkey, err);
	if (ret)
		return ret;

	memcpy(buf, c->key, sizeof(buf));
	bch_chacha20_xor(&pkey, sb_key_nonce(sb_magic), buf, sizeof(buf));
	sodium_memzero(&pkey, sizeof(pkey));

	if (get_le64(buf) != BCH_KEY_MAGIC) {
		sodium_memzero(buf, sizeof(buf));
		return bch_err(err, BCH_ERR_NEED_KEY,
			       "crypt field: wrong passphrase (decrypted key @24 lacks the \"bch**key\" magic)");
	}

	memcpy(out->key, buf + 8, sizeof(out->key));
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/* ---- building the crypt field (format --encrypted, set-passphrase) ---- */

static void crypt_field_header(uint8_t *f)
{
	memset(f, 0, CRYPT_FIELD_BYTES);
	put_le32(f, CRYPT_FIELD_BYTES / 8);		/* u64s */
	put_le32(f + 4, BCH_SB_FIELD_crypt);
}

int bch_sb_crypt_field_encode(const struct bch_crypt_key *master,
			      const char *passphrase, size_t passphrase_len,
			      uint64_t sb_magic, void *field, size_t field_size,
			      struct bch_error *err)
{
	struct bch_sb_crypt c = { .flags = 0 };
	struct bch_crypt_key pkey;
	uint8_t *f = field;
	int ret;

	if (!master || !field || field_size < CRYPT_FIELD_BYTES)
		return bch_err(err, BCH_ERR_INVAL,
			       "crypt field: need %u bytes of room, have %zu",
			       CRYPT_FIELD_BYTES, field ? field_size : 0);

	put_le64(c.key, BCH_KEY_MAGIC);
	memcpy(c.key + 8, master->key, sizeof(master->key));

	/* no passphrase: KDF fields stay zero, the key stays in the clear */
	if (passphrase) {
		c.kdf_flags = bch_kdf_scrypt_default_flags();
		ret = derive_passphrase_key(&c, passphrase, passphrase_len,
					    &pkey, err);
		if (ret)
			goto out;
		bch_chacha20_xor(&pkey, sb_key_nonce(sb_magic), c.key,
				 sizeof(c.key));
	}

	crypt_field_header(f);
	put_le64(f + 8, c.flags);
	put_le64(f + 16, c.kdf_flags);
	memcpy(f + CRYPT_KEY_OFFSET, c.key, sizeof(c.key));
	ret = 0;
out:
	sodium_memzero(&pkey, sizeof(pkey));
	sodium_memzero(&c, sizeof(c));
	return ret;
}

int bch_sb_crypt_field_build(const char *passphrase, size_t passphrase_len,
			     uint64_t sb_magic, void *field, size_t field_size,
			     struct bch_crypt_key *master_out,
			     struct bch_error *err)
{
	struct bch_crypt_key master;
	int ret;

	/* randombytes_buf() wants libsodium initialized, not just tried */
	if (sodium_init() < 0)
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "crypt field: libsodium failed to initialize, no random master key");
	randombytes_buf(master.key, sizeof(master.key));

	ret = bch_sb_crypt_field_encode(&master, passphrase, passphrase_len,
					sb_magic, field, field_size, err);
	if (!ret && master_out)
		*master_out = master;
	sodium_memzero(&master, sizeof(master));
	return ret;
}
