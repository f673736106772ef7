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

/*
 * A format made ready for unpacking many keys (a node's): where each field
 * sits in the packed integer, found once, so unpacking a key is six loads,
 * shifts and masks with no per-field branches (bch_bkey_unpack, below).
 * A 0-bit field reads as its offset (mask 0).
 */
struct bch_unpack_field {
	uint64_t	mask;
	uint64_t	offset;
	uint8_t		word;		/* the little-endian word its low bit is in */
	uint8_t		shift;		/* that bit's position in the word */
	bool		two;		/* runs into the next word */
};

struct bch_unpacker {
	struct bch_unpack_field	f[BKEY_NR_FIELDS];
	unsigned		key_u64s;
	/*
	 * size and version take no bits (the common case: only extents have
	 * sizes, and versions are rare), so a key is its position and the
	 * rest are constants
	 */
	bool			pos_only;
};

/* f must be valid by bch_bkey_format_invalid() */
void bch_unpacker_init(struct bch_unpacker *u, const struct bkey_format *f);

static inline uint64_t bch_unpack_field(const struct bch_unpack_field *f, const uint8_t *p)
{
	uint64_t v = get_le64(p + 8 * f->word) >> f->shift;

	if (f->two)
		v |= get_le64(p + 8 * (f->word + 1)) << (64 - f->shift);
	return (v & f->mask) + f->offset;
}

/*
 * The header of a key stored unpacked (format byte 1), at fixed offsets
 * (bcachefs-format.md §6.1): the inverse of bch_bkey_encode_unpacked()
 */
static inline void bch_bkey_unpack_current(const uint8_t *p, struct bkey *k)
{
	k->version.lo = get_le64(p + 4);
	k->version.hi = get_le32(p + 12);
	k->size = get_le32(p + 16);
	k->p = bpos_decode(p + 20);
}

/*
 * bch_bkey_decode() for a key of a node whose format u was made from:
 * the same checks, the same result.
 */
static inline size_t bch_bkey_unpack(const struct bch_unpacker *u, const uint8_t *p,
				     size_t avail, struct bkey *k, const char **why)
{
	unsigned u64s, fmt, key_u64s;
	size_t bytes;

	if (avail < 8) {
		*why = "key header past the end of the bset";
		return 0;
	}
	u64s = p[0];
	fmt = p[1] & 0x7f;
	if (fmt == BKEY_FORMAT_PACKED)
		key_u64s = u->key_u64s;
	else if (fmt == BKEY_FORMAT_CURRENT)
		key_u64s = BKEY_U64S;
	else {
		*why = "bad key format byte";
		return 0;
	}
	if (u64s < key_u64s || !u64s) {
		*why = "u64s smaller than the key header";
		return 0;
	}
	if (u64s - key_u64s > BKEY_VAL_U64S_MAX) {
		*why = "value too large";
		return 0;
	}
	bytes = (size_t)u64s * 8;
	if (bytes > avail) {
		*why = "key extends past the end of the bset";
		return 0;
	}
	if (fmt == BKEY_FORMAT_PACKED && u->pos_only) {
		k->p.inode = bch_unpack_field(&u->f[BKEY_FIELD_INODE], p);
		k->p.offset = bch_unpack_field(&u->f[BKEY_FIELD_OFFSET], p);
		k->p.snapshot = (uint32_t)bch_unpack_field(&u->f[BKEY_FIELD_SNAPSHOT], p);
		k->size = (uint32_t)u->f[BKEY_FIELD_SIZE].offset;
		k->version.hi = (uint32_t)u->f[BKEY_FIELD_VERSION_HI].offset;
		k->version.lo = u->f[BKEY_FIELD_VERSION_LO].offset;
	} else if (fmt == BKEY_FORMAT_PACKED) {
		k->p.inode = bch_unpack_field(&u->f[BKEY_FIELD_INODE], p);
		k->p.offset = bch_unpack_field(&u->f[BKEY_FIELD_OFFSET], p);
		k->p.snapshot = (uint32_t)bch_unpack_field(&u->f[BKEY_FIELD_SNAPSHOT], p);
		k->size = (uint32_t)bch_unpack_field(&u->f[BKEY_FIELD_SIZE], p);
		k->version.hi = (uint32_t)bch_unpack_field(&u->f[BKEY_FIELD_VERSION_HI], p);
		k->version.lo = bch_unpack_field(&u->f[BKEY_FIELD_VERSION_LO], p);
	} else {
		bch_bkey_unpack_current(p, k);
	}
	k->type = p[2];
	k->format = (uint8_t)fmt;
	k->val_bytes = (uint16_t)((u64s - key_u64s) * 8);
	k->val = p + (size_t)key_u64s * 8;
	return bytes;
}

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
