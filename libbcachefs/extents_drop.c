/* Pointers dropped from data extents (extents.h, bch_extent_drop_ptrs). */
#include <string.h>

#include "extents.h"

struct drop_entry {
	const uint8_t		*raw;
	unsigned		bytes;
	unsigned		type;
	struct bch_extent_ptr	ptr;		/* pointers */
	bool			gone;
};

static bool is_crc(unsigned type)
{
	return type >= BCH_EXTENT_ENTRY_crc32 && type <= BCH_EXTENT_ENTRY_crc128;
}

/* pointer i goes: and what belonged to it only */
static void drop_one(struct drop_entry *e, unsigned nr, unsigned i)
{
	bool drop_crc = true;

	for (unsigned j = i + 1; j < nr; j++) {
		if (e[j].gone)
			continue;
		if (is_crc(e[j].type))
			break;
		if (e[j].type == BCH_EXTENT_ENTRY_ptr) {
			drop_crc = false;
			break;
		}
	}
	e[i].gone = true;
	for (unsigned j = i; j-- > 0;) {
		if (e[j].gone)
			continue;
		if (e[j].type == BCH_EXTENT_ENTRY_ptr)
			break;
		if ((is_crc(e[j].type) && drop_crc) || e[j].type == BCH_EXTENT_ENTRY_stripe_ptr)
			e[j].gone = true;
	}
}

int bch_extent_drop_ptrs(const struct bkey *k, bch_ptr_drop_fn drop, void *ctx,
			 struct bkey *out, uint8_t *val, size_t val_size, unsigned *nr_dropped,
			 struct bch_error *err)
{
	unsigned prefix = k->type == KEY_TYPE_reflink_v ? 8 : 0;
	struct drop_entry e[BKEY_VAL_U64S_MAX];
	unsigned nr = 0, idx = 0, dirty_before = 0, dirty_after = 0, ptrs_after = 0;
	const uint8_t *p, *end = k->val + k->val_bytes;
	size_t len = prefix;

	*nr_dropped = 0;
	if ((k->type != KEY_TYPE_extent && k->type != KEY_TYPE_reflink_v) ||
	    k->val_bytes < prefix)
		return bch_err(err, BCH_ERR_INVAL, "key of type %u has no data pointers to drop",
			       k->type);
	for (p = k->val + prefix; p < end; p += e[nr++].bytes) {
		struct bch_extent_entry x;
		unsigned n = bch_extent_entry_decode(p, (unsigned)(end - p), &x);

		if (!n || nr >= BKEY_VAL_U64S_MAX)
			return bch_err(err, BCH_ERR_INVAL, "extent entry at byte %zu does not decode",
				       (size_t)(p - k->val));
		if (x.type == BCH_EXTENT_ENTRY_stripe_ptr)
			return bch_err(err, BCH_ERR_INVAL, "erasure-coded extent: pointers not dropped");
		e[nr] = (struct drop_entry){ .raw = p, .bytes = n, .type = x.type };
		if (x.type == BCH_EXTENT_ENTRY_ptr)
			e[nr].ptr = x.ptr;
	}
	/* all entries known: a pointer's crc goes only if no later pointer needs it */
	for (unsigned i = 0; i < nr; i++) {
		if (e[i].type != BCH_EXTENT_ENTRY_ptr)
			continue;
		dirty_before += !e[i].ptr.cached;
		if (drop(ctx, &e[i].ptr, idx++)) {
			drop_one(e, nr, i);
			++*nr_dropped;
		}
	}
	*out = *k;
	out->val = val;
	out->val_bytes = 0;
	if (!*nr_dropped) {
		if (k->val_bytes > val_size)
			return bch_err(err, BCH_ERR_RANGE, "no room for the key's value");
		memcpy(val, k->val, k->val_bytes);
		out->val_bytes = k->val_bytes;
		return 0;
	}
	for (unsigned i = 0; i < nr; i++)
		if (!e[i].gone && e[i].type == BCH_EXTENT_ENTRY_ptr) {
			ptrs_after++;
			dirty_after += !e[i].ptr.cached;
		}
	if ((dirty_before && !dirty_after) || !ptrs_after) {
		out->type = dirty_before && !dirty_after ? KEY_TYPE_error : KEY_TYPE_deleted;
		return 0;
	}
	if (k->val_bytes > val_size)
		return bch_err(err, BCH_ERR_RANGE, "no room for the key's value");
	memcpy(val, k->val, prefix);
	for (unsigned i = 0; i < nr; i++)
		if (!e[i].gone) {
			memcpy(val + len, e[i].raw, e[i].bytes);
			len += e[i].bytes;
		}
	out->val_bytes = (uint16_t)len;
	return 0;
}
