/*
 * Encrypted filesystems: the master key in the superblock crypt field,
 * unlocked with a passphrase through scrypt; ChaCha20 for metadata and
 * Poly1305 MACs. libsodium does the cryptography.
 * bcachefs-format.md §2.8.3, §3.4, §3.5 (upstream libbcachefs/checksum.c,
 * c_src/crypto.c).
 */
#ifndef BCH_CRYPT_H
#define BCH_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "checksum.h"
#include "errors.h"

#define BCH_KEY_MAGIC	0x79656b2a2a686362ULL	/* "bch**key" as le64 */

struct bch_crypt_key {
	uint8_t	key[32];
};

/* parsed crypt superblock field */
struct bch_sb_crypt {
	uint64_t	flags;		/* bits 0..3 KDF type, 0 = scrypt */
	uint64_t	kdf_flags;	/* log2 N, r, p */
	uint8_t		key[40];	/* magic + master key, maybe encrypted */
};

/* parse the field bytes (including its 8-byte header); -BCH_ERR_CORRUPT if short */
int bch_sb_crypt_parse(const void *field, size_t bytes, struct bch_sb_crypt *out,
		       struct bch_error *err);

/* master key stored in the clear (format --no_passphrase)? */
bool bch_sb_crypt_key_is_plain(const struct bch_sb_crypt *c);

/*
 * Unlock the master key: plain keys need no passphrase (pass NULL);
 * otherwise scrypt(passphrase) decrypts it. sb_magic is the first 8 bytes
 * of the internal UUID as le64. -BCH_ERR_NEED_KEY on a wrong passphrase.
 */
int bch_crypt_unlock(const struct bch_sb_crypt *c, uint64_t sb_magic,
		     const char *passphrase, size_t passphrase_len,
		     struct bch_crypt_key *out, struct bch_error *err);

/* XOR len bytes in place with the ChaCha20 keystream for key/nonce */
void bch_chacha20_xor(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      void *data, size_t len);

/* Poly1305 tag (16 bytes) as bcachefs computes it (one-time key from ChaCha20) */
void bch_poly1305_mac(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      const void *data, size_t len, uint8_t tag[16]);

#endif
