/*
 * Key headers: bkey_format validation and unpacking of packed keys.
 * bcachefs-format.md §6 (upstream libbcachefs/bkey.c).
 */
#ifndef BCH_BKEY_H
#define BCH_BKEY_H

#include "bcachefs_format.h"
#include "errors.h"

/* the format of unpacked keys */
extern const struct bkey_format bch_bkey_format_current;

void bch_bkey_format_decode(const void *p, struct bkey_format *f);
/* NULL if valid, else a description of what is wrong */
const char *bch_bkey_format_invalid(const struct bkey_format *f);

/*
 * Decode the key at p (at most avail bytes) with format f into *k. The
 * value pointer points into p. Returns the key's size in bytes, or 0 if
 * the key is malformed (reason in *why).
 */
size_t bch_bkey_decode(const struct bkey_format *f, const uint8_t *p,
		       size_t avail, struct bkey *k, const char **why);

/* "inode:offset[:snapshot]", "min" or "max"; 0 or -1 */
int bch_bpos_parse(const char *s, struct bpos *p);

/* encode an unpacked key header (40 bytes) */
void bch_bkey_encode_unpacked(void *p, const struct bkey *k);

/*
 * A whole key kept in memory unpacked (header, then value): written at p
 * (BKEY_U64S * 8 + val_bytes bytes, returned), and read back by
 * bch_bkey_read_unpacked(), whose value then points into p.
 */
size_t bch_bkey_write_unpacked(void *p, const struct bkey *k);
void bch_bkey_read_unpacked(const uint8_t *p, struct bkey *k);

/*
 * Choosing a format for a set of keys: the running minimum and maximum of
 * each packed field over everything added (upstream bkey.c
 * bch2_bkey_format_init/_add_key/_add_pos/_done).
 */
struct bkey_format_state {
	uint64_t	min[BKEY_NR_FIELDS];
	uint64_t	max[BKEY_NR_FIELDS];
	bool		any;
};

void bch_bkey_format_state_init(struct bkey_format_state *s);
void bch_bkey_format_add_key(struct bkey_format_state *s, const struct bkey *k);
void bch_bkey_format_add_pos(struct bkey_format_state *s, struct bpos p);
/*
 * The format with the fewest key words that packs every value added
 * (spare bits of the last word widen fields to whole bytes). Always valid
 * by bch_bkey_format_invalid(); with nothing added every field is 0 bits.
 */
void bch_bkey_format_done(const struct bkey_format_state *s, struct bkey_format *f);

/* does every field of k fit f? */
bool bch_bkey_fits_format(const struct bkey_format *f, const struct bkey *k);
/* bytes k (header + value) takes in a bset of a node with format f */
size_t bch_bkey_encoded_bytes(const struct bkey_format *f, const struct bkey *k);
/*
 * Write k at out, packed with f (format 0) if it fits, else unpacked
 * (format 1), followed by its k->val_bytes value bytes (a multiple of 8).
 * needs_whiteout is written 0. Returns the bytes written.
 */
size_t bch_bkey_encode(const struct bkey_format *f, const struct bkey *k, void *out);
/* the 56-byte on-disk bkey_format; inverse of bch_bkey_format_decode() */
void bch_bkey_format_encode(void *p, const struct bkey_format *f);

#endif
