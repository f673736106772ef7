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

#endif
