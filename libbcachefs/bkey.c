/*
 * Packed key layout (bcachefs-format.md §6.2): the first key_u64s
 * little-endian words form one integer whose most significant word is
 * the last; fields are taken from the top down in index order, each
 * bits_per_field[i] wide, and hold value - field_offset[i].
 */
#include <stdio.h>
#include <string.h>

#include "bkey.h"

static const unsigned field_width[BKEY_NR_FIELDS] = { 64, 64, 32, 32, 32, 64 };

const struct bkey_format bch_bkey_format_current = {
	.key_u64s	= BKEY_U64S,
	.nr_fields	= BKEY_NR_FIELDS,
	.bits_per_field	= { 64, 64, 32, 32, 32, 64 },
};

void bch_bkey_format_decode(const void *p, struct bkey_format *f)
{
	const uint8_t *b = p;

	f->key_u64s = b[0];
	f->nr_fields = b[1];
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		f->bits_per_field[i] = b[2 + i];
		f->field_offset[i] = get_le64(b + 8 + 8 * i);
	}
}

const char *bch_bkey_format_invalid(const struct bkey_format *f)
{
	unsigned bits = 0;

	if (f->nr_fields != BKEY_NR_FIELDS)
		return "nr_fields is not 6";
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		unsigned w = f->bits_per_field[i], max = field_width[i];
		uint64_t top;

		if (w > max)
			return "field wider than its unpacked width";
		if (w == max && f->field_offset[i])
			return "full-width field with a non-zero offset";
		top = w == 64 ? UINT64_MAX : (1ULL << w) - 1;
		if (max < 64) {
			uint64_t lim = (1ULL << max) - 1;

			if (f->field_offset[i] > lim || top > lim - f->field_offset[i])
				return "field offset + maximum overflows the field";
		} else if (w < 64 && f->field_offset[i] > UINT64_MAX - top) {
			return "field offset + maximum overflows the field";
		}
		bits += w;
	}
	if (f->key_u64s != DIV_ROUND_UP(24 + bits, 64))
		return "key_u64s does not match the field widths";
	return NULL;
}

/*
 * Read w (1..64) bits ending at bit position pos (exclusive) of the big
 * integer: bit i of it is bit (i % 64) of little-endian word i / 64, so
 * a field spans at most two words.
 */
static inline uint64_t get_bits(const uint8_t *p, unsigned pos, unsigned w)
{
	unsigned bit = pos - w, word = bit / 64, off = bit % 64;
	uint64_t v = get_le64(p + 8 * word) >> off;

	if (off + w > 64)
		v |= get_le64(p + 8 * (word + 1)) << (64 - off);
	return w < 64 ? v & ((1ULL << w) - 1) : v;
}

/* field i: its bits below *pos (moved down past them) plus its offset */
static inline uint64_t take_field(const struct bkey_format *f, unsigned i, const uint8_t *p,
				  unsigned *pos)
{
	unsigned w = f->bits_per_field[i];
	uint64_t raw = 0;

	if (w) {
		raw = get_bits(p, *pos, w);
		*pos -= w;
	}
	return raw + f->field_offset[i];
}

void bch_unpacker_init(struct bch_unpacker *u, const struct bkey_format *f)
{
	unsigned pos = 64 * f->key_u64s;

	/* the fields from the top of the packed integer down, as take_field() */
	u->key_u64s = f->key_u64s;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		struct bch_unpack_field *uf = &u->f[i];
		unsigned w = f->bits_per_field[i], bit = pos - w;

		uf->offset = f->field_offset[i];
		uf->mask = w == 64 ? UINT64_MAX : (1ULL << w) - 1;
		uf->word = (uint8_t)(w ? bit / 64 : 0);
		uf->shift = (uint8_t)(w ? bit % 64 : 0);
		uf->two = w && bit % 64 + w > 64;
		pos -= w;
	}
	u->pos_only = !f->bits_per_field[BKEY_FIELD_SIZE] &&
		      !f->bits_per_field[BKEY_FIELD_VERSION_HI] &&
		      !f->bits_per_field[BKEY_FIELD_VERSION_LO];
}

size_t bch_bkey_decode(const struct bkey_format *f, const uint8_t *p,
		       size_t avail, struct bkey *k, const char **why)
{
	unsigned u64s, fmt, key_u64s, pos;
	size_t bytes;

	if (avail < 8) {
		*why = "key header past the end of the bset";
		return 0;
	}
	u64s = p[0];
	fmt = p[1] & 0x7f;
	if (fmt == BKEY_FORMAT_CURRENT)
		f = &bch_bkey_format_current;
	else if (fmt != BKEY_FORMAT_PACKED) {
		*why = "bad key format byte";
		return 0;
	}
	key_u64s = f->key_u64s;
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

	/* the fields, inode first, from the top of the packed integer down */
	pos = 64 * key_u64s;
	k->p.inode = take_field(f, BKEY_FIELD_INODE, p, &pos);
	k->p.offset = take_field(f, BKEY_FIELD_OFFSET, p, &pos);
	k->p.snapshot = (uint32_t)take_field(f, BKEY_FIELD_SNAPSHOT, p, &pos);
	k->size = (uint32_t)take_field(f, BKEY_FIELD_SIZE, p, &pos);
	k->version.hi = (uint32_t)take_field(f, BKEY_FIELD_VERSION_HI, p, &pos);
	k->version.lo = take_field(f, BKEY_FIELD_VERSION_LO, p, &pos);
	k->type = p[2];
	k->format = (uint8_t)fmt;
	k->val_bytes = (uint16_t)((u64s - key_u64s) * 8);
	k->val = p + (size_t)key_u64s * 8;
	return bytes;
}

void bch_bkey_encode_unpacked(void *p, const struct bkey *k)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(BKEY_U64S + k->val_bytes / 8);
	b[1] = BKEY_FORMAT_CURRENT;
	b[2] = k->type;
	b[3] = 0;
	put_le64(b + 4, k->version.lo);
	put_le32(b + 12, k->version.hi);
	put_le32(b + 16, k->size);
	bpos_encode(b + 20, k->p);
}

size_t bch_bkey_write_unpacked(void *p, const struct bkey *k)
{
	bch_bkey_encode_unpacked(p, k);
	if (k->val_bytes)
		memcpy((uint8_t *)p + BKEY_U64S * 8, k->val, k->val_bytes);
	return BKEY_U64S * 8 + k->val_bytes;
}

void bch_bkey_read_unpacked(const uint8_t *p, struct bkey *k)
{
	const char *why;

	bch_bkey_decode(&bch_bkey_format_current, p, (size_t)p[0] * 8, k, &why);
}

int bch_bpos_parse(const char *s, struct bpos *p)
{
	unsigned long long i, o;
	unsigned snap = 0;
	int n = 0;

	if (!strcmp(s, "min") || !strcmp(s, "max")) {
		*p = s[1] == 'i' ? POS_MIN : SPOS_MAX;
		return 0;
	}
	if (sscanf(s, "%llu:%llu:%u%n", &i, &o, &snap, &n) == 3 && !s[n]) {
		*p = BPOS(i, o, snap);
		return 0;
	}
	n = 0;
	if (sscanf(s, "%llu:%llu%n", &i, &o, &n) == 2 && !s[n]) {
		*p = BPOS(i, o, 0);
		return 0;
	}
	return -1;
}

/* ---- encoding ---- */

/* bits below the fields of a packed key: u64s, format, type */
#define PACKED_HEADER_BITS	24u

static uint64_t low_bits(unsigned w)
{
	return w >= 64 ? UINT64_MAX : (1ULL << w) - 1;
}

static unsigned bit_width(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

/* header fields of k in bkey_format field order */
static void key_fields(const struct bkey *k, uint64_t v[BKEY_NR_FIELDS])
{
	v[BKEY_FIELD_INODE] = k->p.inode;
	v[BKEY_FIELD_OFFSET] = k->p.offset;
	v[BKEY_FIELD_SNAPSHOT] = k->p.snapshot;
	v[BKEY_FIELD_SIZE] = k->size;
	v[BKEY_FIELD_VERSION_HI] = k->version.hi;
	v[BKEY_FIELD_VERSION_LO] = k->version.lo;
}

void bch_bkey_format_state_init(struct bkey_format_state *s)
{
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		s->min[i] = UINT64_MAX;
		s->max[i] = 0;
	}
	s->any = false;
}

static void state_add(struct bkey_format_state *s, unsigned i, uint64_t v)
{
	if (v < s->min[i])
		s->min[i] = v;
	if (v > s->max[i])
		s->max[i] = v;
	s->any = true;
}

void bch_bkey_format_add_key(struct bkey_format_state *s, const struct bkey *k)
{
	uint64_t v[BKEY_NR_FIELDS];

	key_fields(k, v);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
		state_add(s, i, v[i]);
}

void bch_bkey_format_add_pos(struct bkey_format_state *s, struct bpos p)
{
	state_add(s, BKEY_FIELD_INODE, p.inode);
	state_add(s, BKEY_FIELD_OFFSET, p.offset);
	state_add(s, BKEY_FIELD_SNAPSHOT, p.snapshot);
}

/*
 * A field of bits width whose offset is lowered, if needed, so that
 * offset + the largest packed value stays within the unpacked width
 * (what bch_bkey_format_invalid() demands); values that fitted still fit.
 */
static void set_field(struct bkey_format *f, unsigned i, unsigned bits, uint64_t offset)
{
	uint64_t top = low_bits(field_width[i]);

	if (bits >= field_width[i]) {
		bits = field_width[i];
		offset = 0;
	} else if (offset > top - low_bits(bits)) {
		offset = top - low_bits(bits);
	}
	f->bits_per_field[i] = (uint8_t)bits;
	f->field_offset[i] = offset;
}

void bch_bkey_format_done(const struct bkey_format_state *s, struct bkey_format *f)
{
	unsigned bits = PACKED_HEADER_BITS, spare;

	memset(f, 0, sizeof(*f));
	f->nr_fields = BKEY_NR_FIELDS;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		uint64_t lo = s->min[i], hi = s->max[i];

		if (!s->any || lo > hi)		/* field never added */
			lo = hi = 0;
		set_field(f, i, bit_width(hi - lo), lo);
		bits += f->bits_per_field[i];
	}
	f->key_u64s = (uint8_t)DIV_ROUND_UP(bits, 64);

	/* free bits of the last word: round fields up to whole bytes */
	spare = f->key_u64s * 64u - bits;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		unsigned w = f->bits_per_field[i], r = ROUND_UP(w, 8u) - w;

		if (r > spare)
			continue;
		set_field(f, i, w + r, f->field_offset[i]);
		spare -= r;
	}
}

/* the packed field values of k in f, if every one fits */
static bool pack_fields(const struct bkey_format *f, const struct bkey *k,
			uint64_t raw[BKEY_NR_FIELDS])
{
	uint64_t v[BKEY_NR_FIELDS];

	key_fields(k, v);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		if (v[i] < f->field_offset[i])
			return false;
		raw[i] = v[i] - f->field_offset[i];
		if (raw[i] > low_bits(f->bits_per_field[i]))
			return false;
	}
	return true;
}

bool bch_bkey_fits_format(const struct bkey_format *f, const struct bkey *k)
{
	uint64_t raw[BKEY_NR_FIELDS];

	return pack_fields(f, k, raw);
}

size_t bch_bkey_encoded_bytes(const struct bkey_format *f, const struct bkey *k)
{
	unsigned key_u64s = bch_bkey_fits_format(f, k) ? f->key_u64s : BKEY_U64S;

	return (size_t)key_u64s * 8 + k->val_bytes;
}

/* OR v into the w bits ending at bit pos (exclusive): get_bits() reversed */
static void put_bits(uint8_t *p, unsigned pos, unsigned w, uint64_t v)
{
	for (unsigned i = 0; i < w; ) {
		unsigned bit = pos - w + i;
		unsigned word = bit / 64, off = bit % 64;
		unsigned take = 64 - off < w - i ? 64 - off : w - i;
		uint64_t chunk = (v >> i) & low_bits(take);

		put_le64(p + 8 * word, get_le64(p + 8 * word) | chunk << off);
		i += take;
	}
}

size_t bch_bkey_encode(const struct bkey_format *f, const struct bkey *k, void *out)
{
	uint64_t raw[BKEY_NR_FIELDS];
	uint8_t *b = out;
	unsigned key_u64s, pos;

	if (!pack_fields(f, k, raw)) {
		bch_bkey_encode_unpacked(b, k);
		key_u64s = BKEY_U64S;
		goto value;
	}
	key_u64s = f->key_u64s;
	memset(b, 0, (size_t)key_u64s * 8);
	pos = 64 * key_u64s;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		unsigned w = f->bits_per_field[i];

		if (!w)
			continue;
		put_bits(b, pos, w, raw[i]);
		pos -= w;
	}
	b[0] = (uint8_t)(key_u64s + k->val_bytes / 8);
	b[1] = BKEY_FORMAT_PACKED;
	b[2] = k->type;
value:
	if (k->val_bytes)
		memcpy(b + (size_t)key_u64s * 8, k->val, k->val_bytes);
	return (size_t)key_u64s * 8 + k->val_bytes;
}

void bch_bkey_format_encode(void *p, const struct bkey_format *f)
{
	uint8_t *b = p;

	b[0] = f->key_u64s;
	b[1] = f->nr_fields;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		b[2 + i] = f->bits_per_field[i];
		put_le64(b + 8 + 8 * i, f->field_offset[i]);
	}
}
