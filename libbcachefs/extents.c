/* Extent entry decoding and encoding (bcachefs-format.md §7.1, §7.2, §36.6). */
#include "extents.h"

static const unsigned entry_bytes[BCH_EXTENT_ENTRY_NR] = {
	8, 8, 16, 24, 8, 8, 8, 8, 8,
};

static const char * const entry_names[BCH_EXTENT_ENTRY_NR] = {
	"ptr", "crc32", "crc64", "crc128", "stripe_ptr", "rebalance",
	"flags", "reconcile", "reconcile_bp",
};

const char *bch_extent_entry_type_name(unsigned type)
{
	return type < BCH_EXTENT_ENTRY_NR ? entry_names[type] : "(unknown)";
}

/*
 * Bit positions of the fields of the crc entries in their first word
 * (upstream extents_format.h, struct bch_extent_crc32/64/128). The type
 * field is type + 1 bits wide; crc32 has no nonce and an unused bit 23.
 * Where the checksum goes differs per width: see decode_crc().
 */
struct crc_layout {
	uint8_t	size_bits;	/* of compressed size - 1, uncompressed size - 1, offset */
	uint8_t	nonce_bits;
	uint8_t	compressed_lo;
	uint8_t	uncompressed_lo;
	uint8_t	offset_lo;
	uint8_t	nonce_lo;
	uint8_t	csum_type_lo;	/* compression type follows, 4 bits each */
	uint8_t	csum_bytes;	/* checksum bytes the entry holds */
};

static const struct crc_layout crc_layouts[4] = {
	[BCH_EXTENT_ENTRY_crc32]  = { 7,  0,  2,  9, 16, 23, 24,  4 },
	[BCH_EXTENT_ENTRY_crc64]  = { 9, 10,  3, 12, 21, 30, 40, 10 },
	[BCH_EXTENT_ENTRY_crc128] = { 13, 13, 4, 17, 30, 43, 56, 16 },
};

static void decode_crc(const uint8_t *p, unsigned type, struct bch_extent_crc *c)
{
	const struct crc_layout *l = &crc_layouts[type];
	uint64_t w = get_le64(p);
	unsigned sb = l->size_bits;

	c->width		= (uint8_t)type;
	c->compressed_size	= (uint32_t)bits64(w, l->compressed_lo, l->compressed_lo + sb) + 1;
	c->uncompressed_size	= (uint32_t)bits64(w, l->uncompressed_lo, l->uncompressed_lo + sb) + 1;
	c->offset		= (uint32_t)bits64(w, l->offset_lo, l->offset_lo + sb);
	c->nonce		= (uint32_t)bits64(w, l->nonce_lo, l->nonce_lo + l->nonce_bits);
	c->csum_type		= (uint8_t)bits64(w, l->csum_type_lo, l->csum_type_lo + 4);
	c->compression_type	= (uint8_t)bits64(w, l->csum_type_lo + 4, l->csum_type_lo + 8);

	switch (type) {
	case BCH_EXTENT_ENTRY_crc32:	/* 32 bits in the upper half */
		c->csum = (struct bch_csum){ bits64(w, 32, 64), 0 };
		break;
	case BCH_EXTENT_ENTRY_crc64:	/* lo in the second word, 16 bits of hi on top */
		c->csum = (struct bch_csum){ get_le64(p + 8), bits64(w, 48, 64) };
		break;
	case BCH_EXTENT_ENTRY_crc128:	/* lo, hi in the second and third words */
		c->csum = bch_csum_decode(p + 8);
		break;
	}
}

unsigned bch_extent_entry_decode(const uint8_t *p, unsigned avail,
				 struct bch_extent_entry *e)
{
	uint64_t w;
	unsigned type;

	if (avail < 8)
		return 0;
	w = get_le64(p);
	if (!w)
		return 0;
	type = (unsigned)__builtin_ctzll(w);
	if (type >= BCH_EXTENT_ENTRY_NR || entry_bytes[type] > avail)
		return 0;
	e->type = type;
	e->bytes = entry_bytes[type];
	e->raw = p;
	switch (type) {
	case BCH_EXTENT_ENTRY_ptr:
		e->ptr.cached	 = bits64(w, 1, 2);
		e->ptr.unwritten = bits64(w, 3, 4);
		e->ptr.offset	 = bits64(w, 4, 48);
		e->ptr.dev	 = (uint8_t)bits64(w, 48, 56);
		e->ptr.gen	 = (uint8_t)bits64(w, 56, 64);
		break;
	case BCH_EXTENT_ENTRY_crc32:
	case BCH_EXTENT_ENTRY_crc64:
	case BCH_EXTENT_ENTRY_crc128:
		decode_crc(p, type, &e->crc);
		break;
	case BCH_EXTENT_ENTRY_stripe_ptr:
		e->stripe_ptr.block	 = (uint8_t)bits64(w, 5, 13);
		e->stripe_ptr.redundancy = (uint8_t)bits64(w, 13, 17);
		e->stripe_ptr.idx	 = bits64(w, 17, 64);
		break;
	default:
		e->word = w;
		break;
	}
	return e->bytes;
}

const char *bch_btree_ptr_decode(const struct bkey *k, struct bch_btree_ptr_info *out)
{
	const uint8_t *p = k->val, *end = k->val + k->val_bytes;

	memset(out, 0, sizeof(*out));
	if (k->type == KEY_TYPE_btree_ptr_v2) {
		if (k->val_bytes < 40)
			return "btree_ptr_v2 value too small";
		out->v2 = true;
		out->h.mem_ptr = get_le64(p);
		out->h.seq = get_le64(p + 8);
		out->h.sectors_written = get_le16(p + 16);
		out->h.flags = get_le16(p + 18);
		out->h.min_key = bpos_decode(p + 20);
		p += 40;
	} else if (k->type != KEY_TYPE_btree_ptr) {
		return "not a btree pointer key";
	}

	while (p < end) {
		struct bch_extent_entry e;
		unsigned n = bch_extent_entry_decode(p, (unsigned)(end - p), &e);

		if (!n)
			return "invalid extent entry in btree pointer";
		if (e.type == BCH_EXTENT_ENTRY_ptr) {
			if (out->nr_ptrs >= BCH_BTREE_PTR_MAX_PTRS)
				return "too many pointers in btree pointer";
			out->ptrs[out->nr_ptrs++] = e.ptr;
		}
		p += n;
	}
	if (!out->nr_ptrs)
		return "btree pointer without pointers";
	return NULL;
}

uint64_t bch_extent_ptr_encode(const struct bch_extent_ptr *p)
{
	/* the entry type is the position of the lowest set bit: 0 for a pointer */
	return 1ULL |
	       (uint64_t)p->cached << 1 |
	       (uint64_t)p->unwritten << 3 |
	       (p->offset & ((1ULL << 44) - 1)) << 4 |
	       (uint64_t)p->dev << 48 |
	       (uint64_t)p->gen << 56;
}

size_t bch_btree_ptr_v2_encode(const struct bch_btree_ptr_info *in, uint8_t *out)
{
	put_le64(out, 0);		/* mem_ptr: in-memory only */
	put_le64(out + 8, in->h.seq);
	put_le16(out + 16, in->h.sectors_written);
	put_le16(out + 18, in->h.flags);
	bpos_encode(out + 20, in->h.min_key);
	for (unsigned i = 0; i < in->nr_ptrs; i++)
		put_le64(out + 40 + 8 * i, bch_extent_ptr_encode(&in->ptrs[i]));
	return 40 + 8 * (size_t)in->nr_ptrs;
}

/* ---- encoding ---- */

static bool fits(uint64_t v, unsigned bits)
{
	return bits >= 64 || v < (1ULL << bits);
}

/* does the checksum fit the bytes the entry of this type holds? */
static bool crc_csum_fits(unsigned type, struct bch_csum c)
{
	switch (type) {
	case BCH_EXTENT_ENTRY_crc32:
		return fits(c.lo, 32) && !c.hi;
	case BCH_EXTENT_ENTRY_crc64:
		return fits(c.hi, 16);
	default:
		return true;
	}
}

static bool crc_fields_fit(const struct crc_layout *l, const struct bch_extent_crc *c)
{
	return c->compressed_size && c->uncompressed_size &&
	       fits(c->compressed_size - 1, l->size_bits) &&
	       fits(c->uncompressed_size - 1, l->size_bits) &&
	       fits(c->offset, l->size_bits) &&
	       fits(c->nonce, l->nonce_bits) &&
	       fits(c->csum_type, 4) && fits(c->compression_type, 4);
}

/* upstream data/extents_format.h, and the crc packing in data/extents.c */
static unsigned encode_crc(const struct bch_extent_crc *c, unsigned type, uint8_t *out)
{
	const struct crc_layout *l = &crc_layouts[type];
	uint64_t w;

	if (!crc_fields_fit(l, c) || !crc_csum_fits(type, c->csum))
		return 0;

	w = 1ULL << type |
	    (uint64_t)(c->compressed_size - 1) << l->compressed_lo |
	    (uint64_t)(c->uncompressed_size - 1) << l->uncompressed_lo |
	    (uint64_t)c->offset << l->offset_lo |
	    (uint64_t)c->nonce << l->nonce_lo |
	    (uint64_t)c->csum_type << l->csum_type_lo |
	    (uint64_t)c->compression_type << (l->csum_type_lo + 4);

	switch (type) {
	case BCH_EXTENT_ENTRY_crc32:
		put_le64(out, w | c->csum.lo << 32);
		break;
	case BCH_EXTENT_ENTRY_crc64:
		put_le64(out, w | c->csum.hi << 48);
		put_le64(out + 8, c->csum.lo);
		break;
	case BCH_EXTENT_ENTRY_crc128:
		put_le64(out, w);
		bch_csum_encode(out + 8, c->csum);
		break;
	}
	return entry_bytes[type];
}

static unsigned encode_stripe_ptr(const struct bch_extent_stripe_ptr *s, uint8_t *out)
{
	if (!fits(s->redundancy, 4) || !fits(s->idx, 47))
		return 0;
	put_le64(out, 1ULL << BCH_EXTENT_ENTRY_stripe_ptr |
		      (uint64_t)s->block << 5 |
		      (uint64_t)s->redundancy << 13 |
		      s->idx << 17);
	return entry_bytes[BCH_EXTENT_ENTRY_stripe_ptr];
}

unsigned bch_extent_entry_encode(const struct bch_extent_entry *e, uint8_t *out)
{
	switch (e->type) {
	case BCH_EXTENT_ENTRY_ptr:
		if (!fits(e->ptr.offset, 44))
			return 0;
		put_le64(out, bch_extent_ptr_encode(&e->ptr));
		return entry_bytes[e->type];
	case BCH_EXTENT_ENTRY_crc32:
	case BCH_EXTENT_ENTRY_crc64:
	case BCH_EXTENT_ENTRY_crc128:
		return encode_crc(&e->crc, e->type, out);
	case BCH_EXTENT_ENTRY_stripe_ptr:
		return encode_stripe_ptr(&e->stripe_ptr, out);
	default:
		/* an opaque word: its lowest set bit must say its type */
		if (e->type >= BCH_EXTENT_ENTRY_NR || !e->word ||
		    (unsigned)__builtin_ctzll(e->word) != e->type)
			return 0;
		put_le64(out, e->word);
		return entry_bytes[e->type];
	}
}

unsigned bch_extent_crc_pick_type(const struct bch_extent_crc *c)
{
	unsigned csum_bytes;

	if (!bch_csum_type_valid(c->csum_type))
		return 0;
	csum_bytes = bch_csum_bytes(c->csum_type);

	/* upstream compares only these three; offset <= size follows */
	for (unsigned t = BCH_EXTENT_ENTRY_crc32; t <= BCH_EXTENT_ENTRY_crc128; t++) {
		const struct crc_layout *l = &crc_layouts[t];

		if (csum_bytes <= l->csum_bytes &&
		    c->uncompressed_size <= 1U << l->size_bits &&
		    fits(c->nonce, l->nonce_bits))
			return t;
	}
	return 0;
}

/* encode e, entry number idx of the value, at out + *pos */
static int append_entry(const struct bch_extent_entry *e, unsigned idx,
			uint8_t *out, size_t out_size, size_t *pos,
			struct bch_error *err)
{
	uint8_t buf[BCH_EXTENT_ENTRY_MAX_BYTES];
	unsigned n = bch_extent_entry_encode(e, buf);

	if (!n)
		return bch_err(err, BCH_ERR_INVAL,
			       "extent entry %u (%s): a field does not fit the entry",
			       idx, bch_extent_entry_type_name(e->type));
	if (n > out_size - *pos)
		return bch_err(err, BCH_ERR_RANGE,
			       "extent entry %u (%s): value needs more than %zu bytes",
			       idx, bch_extent_entry_type_name(e->type), out_size);
	memcpy(out + *pos, buf, n);
	*pos += n;
	return 0;
}

int bch_extent_entries_encode(const struct bch_extent_entry *e, unsigned nr,
			      uint8_t *out, size_t out_size, size_t *bytes,
			      struct bch_error *err)
{
	size_t pos = 0;

	for (unsigned i = 0; i < nr; i++) {
		int ret = append_entry(&e[i], i, out, out_size, &pos, err);

		if (ret)
			return ret;
	}
	*bytes = pos;
	return 0;
}

/* what upstream's extent validation would refuse about d (data/extents.c) */
static const char *extent_desc_invalid(const struct bch_extent_desc *d)
{
	const struct bch_extent_crc *c = &d->crc;

	if (!d->size)
		return "extent of size 0";
	if (!d->nr_ptrs)
		return "extent without pointers";
	if (!bch_extent_crc_needed(c))
		return NULL;
	if (!c->compressed_size || !c->uncompressed_size)
		return "crc entry of size 0";
	if ((uint64_t)c->offset + d->size > c->uncompressed_size)
		return "checksum offset + key size > uncompressed size";
	if (c->compression_type == 0 || c->compression_type == 5) {
		if (c->compressed_size != c->uncompressed_size)
			return "not compressed but compressed != uncompressed size";
	}
	return NULL;
}

int bch_extent_value_encode(const struct bch_extent_desc *d, uint8_t *out,
			    size_t out_size, size_t *bytes, struct bch_error *err)
{
	const char *why = extent_desc_invalid(d);
	struct bch_extent_entry e = { 0 };
	unsigned idx = 0;
	size_t pos = 0;
	int ret;

	if (why)
		return bch_err(err, BCH_ERR_INVAL, "extent %llu:%llu:%u: %s",
			       (unsigned long long)d->pos.inode,
			       (unsigned long long)d->pos.offset,
			       d->pos.snapshot, why);

	/* the crc entry applies to the pointers after it */
	if (bch_extent_crc_needed(&d->crc)) {
		e.type = bch_extent_crc_pick_type(&d->crc);
		if (!e.type)
			return bch_err(err, BCH_ERR_INVAL,
				       "extent: no crc entry holds checksum type %u, %u sectors, nonce %u",
				       d->crc.csum_type, d->crc.uncompressed_size,
				       d->crc.nonce);
		e.crc = d->crc;
		ret = append_entry(&e, idx++, out, out_size, &pos, err);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < d->nr_ptrs; i++) {
		e.type = BCH_EXTENT_ENTRY_ptr;
		e.ptr = d->ptrs[i];
		ret = append_entry(&e, idx++, out, out_size, &pos, err);
		if (ret)
			return ret;
	}
	*bytes = pos;
	return 0;
}

int bch_extent_key_build(const struct bch_extent_desc *d, uint8_t *val,
			 size_t val_size, struct bkey *k, struct bch_error *err)
{
	size_t bytes = 0;
	int ret = bch_extent_value_encode(d, val, val_size, &bytes, err);

	if (ret)
		return ret;
	*k = (struct bkey){
		.p		= d->pos,
		.version	= d->version,
		.size		= d->size,
		.type		= KEY_TYPE_extent,
		.val_bytes	= (uint16_t)bytes,
		.val		= val,
	};
	return 0;
}
