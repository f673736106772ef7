/* Extent entry decoding (bcachefs-format.md §7.1, §7.2, §36.6). */
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

static void decode_crc(const uint8_t *p, unsigned type, struct bch_extent_crc *c)
{
	uint64_t w = get_le64(p);

	c->width = (uint8_t)type;
	switch (type) {
	case BCH_EXTENT_ENTRY_crc32:
		c->compressed_size	= (uint32_t)bits64(w, 2, 9) + 1;
		c->uncompressed_size	= (uint32_t)bits64(w, 9, 16) + 1;
		c->offset		= (uint32_t)bits64(w, 16, 23);
		c->nonce		= 0;
		c->csum_type		= (uint8_t)bits64(w, 24, 28);
		c->compression_type	= (uint8_t)bits64(w, 28, 32);
		c->csum = (struct bch_csum){ bits64(w, 32, 64), 0 };
		break;
	case BCH_EXTENT_ENTRY_crc64:
		c->compressed_size	= (uint32_t)bits64(w, 3, 12) + 1;
		c->uncompressed_size	= (uint32_t)bits64(w, 12, 21) + 1;
		c->offset		= (uint32_t)bits64(w, 21, 30);
		c->nonce		= (uint32_t)bits64(w, 30, 40);
		c->csum_type		= (uint8_t)bits64(w, 40, 44);
		c->compression_type	= (uint8_t)bits64(w, 44, 48);
		c->csum = (struct bch_csum){ get_le64(p + 8), bits64(w, 48, 64) };
		break;
	case BCH_EXTENT_ENTRY_crc128:
		c->compressed_size	= (uint32_t)bits64(w, 4, 17) + 1;
		c->uncompressed_size	= (uint32_t)bits64(w, 17, 30) + 1;
		c->offset		= (uint32_t)bits64(w, 30, 43);
		c->nonce		= (uint32_t)bits64(w, 43, 56);
		c->csum_type		= (uint8_t)bits64(w, 56, 60);
		c->compression_type	= (uint8_t)bits64(w, 60, 64);
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
