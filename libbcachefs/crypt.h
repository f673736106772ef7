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

/*
 * Building the crypt field, as upstream's format --encrypted does
 * (c_src/crypto.c bch_sb_crypt_init, bch_crypt_update_passphrase):
 *
 *   u64s 8, type BCH_SB_FIELD_crypt (2); flags 0 (KDF type scrypt);
 *   kdf_flags: 16-bit fields at bits 0, 16, 32 holding log2 of N, r, p:
 *   14, 3, 4 (N = 16384, r = 8, p = 16); then the 40-byte key: le64
 *   BCH_KEY_MAGIC and the 32-byte master key, ChaCha20-encrypted with
 *   scrypt(passphrase, salt "bcache\0", 32 bytes) under the nonce
 *   { 0, 0, sb_magic lo, sb_magic hi } (sb_magic: first 8 bytes of the
 *   internal UUID, le64). Without a passphrase (--no_passphrase) flags and
 *   kdf_flags stay 0 and the key is stored in the clear.
 *
 * The rest of format --encrypted: BCH_SB_ENCRYPTION_TYPE (flags[1] bits
 * 10..13) = 1 (chacha20_poly1305). The metadata_checksum/data_checksum
 * options (flags[0] bits 40..43, 44..47) and the superblock's own
 * checksum type (flags[0] bits 2..7) are left as they are (crc32c /
 * crc32c_nonzero by default; the superblock is never encrypted), but the
 * encryption type overrides them when writing: btree nodes and journal
 * entries use chacha20_poly1305_128, data extents chacha20_poly1305_80
 * (chacha20_poly1305_128 with the wide_macs option) (upstream
 * libbcachefs/data/checksum.h, the metadata and data checksum type
 * choice).
 */
#define BCH_SB_CRYPT_FIELD_BYTES	64u
#define BCH_KDF_SCRYPT_LOG_N		14u
#define BCH_KDF_SCRYPT_LOG_R		3u
#define BCH_KDF_SCRYPT_LOG_P		4u

/* kdf_flags with upstream's default scrypt parameters */
static inline uint64_t bch_kdf_scrypt_default_flags(void)
{
	return (uint64_t)BCH_KDF_SCRYPT_LOG_N |
	       (uint64_t)BCH_KDF_SCRYPT_LOG_R << 16 |
	       (uint64_t)BCH_KDF_SCRYPT_LOG_P << 32;
}

/*
 * The whole crypt field (header included, BCH_SB_CRYPT_FIELD_BYTES bytes
 * into field, field_size its room) holding the given master key, wrapped
 * with passphrase (passphrase_len bytes; upstream takes strlen()), or in
 * the clear if passphrase is NULL.
 */
int bch_sb_crypt_field_encode(const struct bch_crypt_key *master,
			      const char *passphrase, size_t passphrase_len,
			      uint64_t sb_magic, void *field, size_t field_size,
			      struct bch_error *err);

/*
 * As bch_sb_crypt_field_encode() with a new random master key, returned
 * in *master_out (the key data is encrypted with; keep it secret).
 */
int bch_sb_crypt_field_build(const char *passphrase, size_t passphrase_len,
			     uint64_t sb_magic, void *field, size_t field_size,
			     struct bch_crypt_key *master_out,
			     struct bch_error *err);

/* XOR len bytes in place with the ChaCha20 keystream for key/nonce */
void bch_chacha20_xor(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      void *data, size_t len);

/* Poly1305 tag (16 bytes) as bcachefs computes it (one-time key from ChaCha20) */
void bch_poly1305_mac(const struct bch_crypt_key *key, struct bch_nonce nonce,
		      const void *data, size_t len, uint8_t tag[16]);

#endif
