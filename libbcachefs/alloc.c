/*
 * Alloc key decoding: every alloc value version into the alloc_v4 form,
 * and the quantities derived from it (data type, LRU times).
 * bcachefs-format.md §7.4, §7.5.
 */
#include "alloc.h"
#include "errors.h"
#include "lru.h"

static int alloc_bad(struct bch_alloc_v4 *out, const char **why,
		     const char *reason)
{
	memset(out, 0, sizeof(*out));
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

unsigned bch_varint_encode(uint8_t *out, uint64_t v)
{
	unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
	unsigned bytes = DIV_ROUND_UP(bits, 7);

	if (bytes > 8) {
		out[0] = 0xff;
		put_le64(out + 1, v);
		return 9;
	}
	v = v << bytes | ((1ULL << (bytes - 1)) - 1);
	for (unsigned i = 0; i < bytes; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	return bytes;
}

int bch_varint_decode(const uint8_t *in, const uint8_t *end, uint64_t *out)
{
	unsigned bytes = 1, first;
	uint64_t v = 0;

	if (in >= end)
		return -1;
	/* one byte per trailing 1 bit of the first byte, plus one */
	for (first = *in; first & 1; first >>= 1)
		bytes++;
	if ((size_t)(end - in) < bytes)
		return -1;
	if (bytes == 9) {
		*out = get_le64(in + 1);
		return 9;
	}
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)in[i] << (8 * i);
	*out = v >> bytes;
	return (int)bytes;
}

/* ---- v1: a bitmask of present fixed-width fields ---- */

enum alloc_field {
	AF_read_time,
	AF_write_time,
	AF_data_type,
	AF_dirty_sectors,
	AF_cached_sectors,
	AF_oldest_gen,
	AF_stripe,
	AF_stripe_redundancy,
	AF_NR,
};

static const uint8_t alloc_v1_field_bytes[AF_NR] = { 2, 2, 1, 2, 2, 1, 4, 1 };

/* the varint fields of v2/v3, in order, and their widths in bits */
static const uint8_t alloc_v2_fields[] = {
	AF_read_time, AF_write_time, AF_dirty_sectors, AF_cached_sectors,
	AF_stripe, AF_stripe_redundancy,
};
static const uint8_t alloc_v2_field_bits[] = { 64, 64, 32, 32, 32, 8 };

static void alloc_field_set(struct bch_alloc_v4 *a, unsigned field, uint64_t v)
{
	switch (field) {
	case AF_read_time:		a->io_time[BCH_IO_TIME_READ] = v;		break;
	case AF_write_time:		a->io_time[BCH_IO_TIME_WRITE] = v;		break;
	case AF_data_type:		a->data_type = (uint8_t)v;		break;
	case AF_dirty_sectors:		a->dirty_sectors = (uint32_t)v;		break;
	case AF_cached_sectors:		a->cached_sectors = (uint32_t)v;	break;
	case AF_oldest_gen:		a->oldest_gen = (uint8_t)v;		break;
	case AF_stripe:			a->stripe = (uint32_t)v;		break;
	case AF_stripe_redundancy:	a->stripe_redundancy = (uint8_t)v;	break;
	}
}

static uint64_t get_le_n(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int alloc_v1_decode(const struct bkey *k, struct bch_alloc_v4 *out,
			   const char **why)
{
	const uint8_t *p = k->val;
	unsigned fields, need = 2, pos = 2;

	if (k->val_bytes < 2)
		return alloc_bad(out, why, "alloc value too small");
	fields = p[0];
	for (unsigned i = 0; i < AF_NR; i++)
		if (fields & (1u << i))
			need += alloc_v1_field_bytes[i];
	if (k->val_bytes < need)
		return alloc_bad(out, why, "alloc value smaller than its fields");

	out->gen = p[1];
	for (unsigned i = 0; i < AF_NR; i++) {
		if (!(fields & (1u << i)))
			continue;
		alloc_field_set(out, i, get_le_n(p + pos, alloc_v1_field_bytes[i]));
		pos += alloc_v1_field_bytes[i];
	}
	return 0;
}

/* the varint part shared by v2 and v3 */
static int alloc_varints_decode(const uint8_t *in, const uint8_t *end,
				unsigned nr_fields, struct bch_alloc_v4 *out,
				const char **why)
{
	for (unsigned i = 0; i < ARRAY_SIZE(alloc_v2_fields); i++) {
		uint64_t v = 0;
		unsigned bits = alloc_v2_field_bits[i];

		if (i < nr_fields) {
			int n = bch_varint_decode(in, end, &v);

			if (n < 0)
				return alloc_bad(out, why, "alloc varint runs past the value");
			in += n;
		}
		if (bits < 64 && v >> bits)
			return alloc_bad(out, why, "alloc varint field too large");
		alloc_field_set(out, alloc_v2_fields[i], v);
	}
	return 0;
}

static int alloc_v2_decode(const struct bkey *k, struct bch_alloc_v4 *out,
			   const char **why)
{
	const uint8_t *p = k->val;

	if (k->val_bytes < 4)
		return alloc_bad(out, why, "alloc_v2 value too small");
	out->gen	= p[1];
	out->oldest_gen	= p[2];
	out->data_type	= p[3];
	return alloc_varints_decode(p + 4, p + k->val_bytes, p[0], out, why);
}

static int alloc_v3_decode(const struct bkey *k, struct bch_alloc_v4 *out,
			   const char **why)
{
	const uint8_t *p = k->val;
	uint32_t flags;

	if (k->val_bytes < 16)
		return alloc_bad(out, why, "alloc_v3 value too small");
	flags = get_le32(p + 8);
	out->journal_seq_nonempty = get_le64(p);
	out->flags	= flags & (BCH_ALLOC_V4_FLAG_NEED_DISCARD |
				   BCH_ALLOC_V4_FLAG_NEED_INC_GEN);
	out->gen	= p[13];
	out->oldest_gen	= p[14];
	out->data_type	= p[15];
	return alloc_varints_decode(p + 16, p + k->val_bytes, p[12], out, why);
}

static int alloc_v4_decode(const struct bkey *k, struct bch_alloc_v4 *out,
			   const char **why)
{
	uint8_t pad[BCH_ALLOC_V4_BYTES];
	const uint8_t *b = k->val;
	uint32_t flags;
	unsigned start, nr, fixed;

	if (k->val_bytes < BCH_ALLOC_V4_U64S_V0 * 8)
		return alloc_bad(out, why, "alloc_v4 value too small");
	flags = get_le32(k->val + 8);
	start = (unsigned)bits64(flags, 2, 8);
	nr = (unsigned)bits64(flags, 8, 14);
	if (!start && nr)
		return alloc_bad(out, why, "alloc_v4 backpointers_start 0 with backpointers");
	fixed = (start ? start : BCH_ALLOC_V4_U64S_V0) * 8;
	if (k->val_bytes < fixed + nr * BCH_ALLOC_V4_BP_BYTES)
		return alloc_bad(out, why, "alloc_v4 value smaller than backpointers_start + backpointers");

	/* fields past the fixed part the writer knew of read as zero */
	if (fixed < sizeof(pad)) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, k->val, fixed);
		b = pad;
	}

	out->journal_seq_nonempty	= get_le64(b);
	out->flags			= get_le32(b + 8);
	out->gen			= b[12];
	out->oldest_gen			= b[13];
	out->data_type			= b[14];
	out->stripe_redundancy		= b[15];
	out->dirty_sectors		= get_le32(b + 16);
	out->cached_sectors		= get_le32(b + 20);
	out->io_time[BCH_IO_TIME_READ]	= get_le64(b + 24);
	out->io_time[BCH_IO_TIME_WRITE]	= get_le64(b + 32);
	out->stripe			= get_le32(b + 40);
	out->nr_external_backpointers	= get_le32(b + 44);
	out->journal_seq_empty		= get_le64(b + 48);
	out->stripe_sectors		= get_le32(b + 56);
	out->pad			= get_le32(b + 60);
	return 0;
}

int bch_alloc_decode(const struct bkey *k, struct bch_alloc_v4 *out,
		     const char **why)
{
	int ret;

	memset(out, 0, sizeof(*out));
	switch (k->type) {
	case KEY_TYPE_alloc:
		ret = alloc_v1_decode(k, out, why);
		break;
	case KEY_TYPE_alloc_v2:
		ret = alloc_v2_decode(k, out, why);
		break;
	case KEY_TYPE_alloc_v3:
		ret = alloc_v3_decode(k, out, why);
		break;
	case KEY_TYPE_alloc_v4:
		return alloc_v4_decode(k, out, why);
	default:
		return alloc_bad(out, why, "not an alloc key");
	}
	if (!ret)
		out->flags |= BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;
	return ret;
}

/* cached and stripe pointers make a bucket "user" */
static unsigned bucket_data_type(unsigned t)
{
	return t == BCH_DATA_cached || t == BCH_DATA_stripe ? BCH_DATA_user : t;
}

unsigned bch_alloc_data_type_derived(const struct bch_alloc_v4 *a,
				     unsigned ptr_type)
{
	if (a->stripe)
		return ptr_type == BCH_DATA_parity ? BCH_DATA_parity : BCH_DATA_stripe;
	if (bch_alloc_sectors_dirty(a))
		return bucket_data_type(ptr_type);
	if (a->cached_sectors)
		return BCH_DATA_cached;
	if (BCH_ALLOC_V4_NEED_DISCARD(a))
		return BCH_DATA_need_discard;
	if ((uint8_t)(a->gen - a->oldest_gen) >= BCH_BUCKET_GC_GEN_MAX)
		return BCH_DATA_need_gc_gens;
	return BCH_DATA_free;
}

static bool data_type_movable(unsigned t)
{
	/* multiple (1.37+) too: v1.39.2 fs/alloc/format.h, DATA_TYPES_MOVABLE */
	return t == BCH_DATA_btree || t == BCH_DATA_user || t == BCH_DATA_stripe ||
	       t == BCH_DATA_multiple;
}

uint64_t bch_alloc_lru_idx_fragmentation(const struct bch_alloc_v4 *a,
					 unsigned bucket_size)
{
	uint64_t d = bch_alloc_sectors_dirty(a);
	uint32_t lo = (uint32_t)d;

	if (!bucket_size || !data_type_movable(a->data_type))
		return 0;
	/*
	 * "Partially filled" is decided on the total taken as a signed 32-bit
	 * number, as upstream does: a (corrupt) total whose low 32 bits are
	 * negative counts as fragmented and is clamped to the bucket size
	 * below; one whose low bits are 0 or INT_MIN counts as empty/full.
	 */
	if (!lo || lo == (1u << 31))
		return 0;
	if (lo < (1u << 31) && lo >= bucket_size)
		return 0;
	if (d > bucket_size)
		d = bucket_size;
	return (d << 31) / bucket_size;
}

uint64_t bch_alloc_lru_idx_read(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_cached
		? a->io_time[BCH_IO_TIME_READ] & BCH_LRU_TIME_MAX : 0;
}

static void prt_data_type(struct printbuf *out, unsigned t)
{
	if (t < BCH_DATA_NR)
		pb_puts(out, bch_data_type_name(t));
	else
		pb_printf(out, "(unknown data type %u)", t);
}

void bch_alloc_to_text(struct printbuf *out, const struct bch_alloc_v4 *a)
{
	pb_printf(out, "gen %u oldest_gen %u data_type ", a->gen, a->oldest_gen);
	prt_data_type(out, a->data_type);
	pb_printf(out, " journal_seq_nonempty %llu journal_seq_empty %llu",
		  (unsigned long long)a->journal_seq_nonempty,
		  (unsigned long long)a->journal_seq_empty);
	pb_printf(out, " need_discard %u need_inc_gen %u",
		  (unsigned)BCH_ALLOC_V4_NEED_DISCARD(a),
		  (unsigned)BCH_ALLOC_V4_NEED_INC_GEN(a));
	pb_printf(out, " dirty_sectors %u cached_sectors %u stripe_sectors %u",
		  a->dirty_sectors, a->cached_sectors, a->stripe_sectors);
	pb_printf(out, " stripe %u stripe_redundancy %u",
		  a->stripe, a->stripe_redundancy);
	pb_printf(out, " io_time[READ] %llu io_time[WRITE] %llu",
		  (unsigned long long)a->io_time[BCH_IO_TIME_READ],
		  (unsigned long long)a->io_time[BCH_IO_TIME_WRITE]);
	pb_printf(out, " bp_start %u", (unsigned)BCH_ALLOC_V4_BACKPOINTERS_START(a));
	if (BCH_ALLOC_V4_NR_BACKPOINTERS(a))
		pb_printf(out, " nr_backpointers %u",
			  (unsigned)BCH_ALLOC_V4_NR_BACKPOINTERS(a));
}

void bch_alloc_v4_encode(const struct bch_alloc_v4 *a, uint8_t out[BCH_ALLOC_V4_BYTES])
{
	uint32_t flags = (a->flags & ~0x3fffu) | (a->flags & 3) | (8u << 2);

	memset(out, 0, BCH_ALLOC_V4_BYTES);
	put_le64(out, a->journal_seq_nonempty);
	put_le32(out + 8, flags);
	out[12] = a->gen;
	out[13] = a->oldest_gen;
	out[14] = a->data_type;
	out[15] = a->stripe_redundancy;
	put_le32(out + 16, a->dirty_sectors);
	put_le32(out + 20, a->cached_sectors);
	put_le64(out + 24, a->io_time[0]);
	put_le64(out + 32, a->io_time[1]);
	put_le32(out + 40, a->stripe);
	put_le32(out + 44, a->nr_external_backpointers);
	put_le64(out + 48, a->journal_seq_empty);
	put_le32(out + 56, a->stripe_sectors);
}
