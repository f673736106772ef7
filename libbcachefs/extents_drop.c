/*
 * Pointers dropped from data extents (extents.h, bch_extent_drop_ptrs), the
 * way upstream's repair drops them (upstream libbcachefs/extents.c, the
 * single-pointer drop and its wrapper; buckets.c calls the wrapper).
 */
#include <string.h>

#include "extents.h"

struct drop_entry {
	const uint8_t		*raw;
	unsigned		bytes;
	unsigned		type;
	struct bch_extent_ptr	ptr;		/* pointers */
	bool			gone;
	bool			invalidated;	/* pointer kept, device made invalid */
};

struct drop_state {
	struct drop_entry	e[BKEY_VAL_U64S_MAX];
	unsigned		nr;
};

static bool is_crc(unsigned type)
{
	return type >= BCH_EXTENT_ENTRY_crc32 && type <= BCH_EXTENT_ENTRY_crc128;
}

/*
 * Does a pointer on dev have a stripe pointer entry? A stripe pointer entry
 * belongs to the next pointer entry after it (upstream extents.h decodes a
 * pointer with the stripe entries since the previous pointer).
 */
static bool dev_has_ec(const struct drop_state *s, uint8_t dev)
{
	bool ec = false;

	for (unsigned i = 0; i < s->nr; i++) {
		const struct drop_entry *x = &s->e[i];

		if (x->gone)
			continue;
		if (x->type == BCH_EXTENT_ENTRY_stripe_ptr)
			ec = true;
		if (x->type != BCH_EXTENT_ENTRY_ptr)
			continue;
		if (ec && x->ptr.dev == dev)
			return true;
		ec = false;
	}
	return false;
}

/*
 * Pointer i goes, and the entries before it back to the previous pointer
 * that were its only: stripe pointers always, crc entries if no pointer
 * follows it before the next crc entry or the end (upstream extents.c).
 * A pointer with stripe pointers is never dropped here (it is made
 * invalid instead), so only crc entries go in practice.
 */
static void drop_one(struct drop_state *s, unsigned i)
{
	struct drop_entry *e = s->e;
	bool drop_crc = true;

	for (unsigned j = i + 1; j < s->nr; j++) {
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

/* the entries of k's value after prefix bytes; all must decode */
static int drop_state_load(struct drop_state *s, const struct bkey *k, unsigned prefix,
			   struct bch_error *err)
{
	const uint8_t *p = k->val + prefix, *end = k->val + k->val_bytes;

	for (s->nr = 0; p < end; p += s->e[s->nr++].bytes) {
		struct bch_extent_entry x;
		unsigned n = bch_extent_entry_decode(p, (unsigned)(end - p), &x);

		if (!n)
			return bch_err(err, BCH_ERR_INVAL, "extent entry at byte %zu does not decode",
				       (size_t)(p - k->val));
		if (s->nr >= BKEY_VAL_U64S_MAX)
			return bch_err(err, BCH_ERR_INVAL, "more than %u extent entries",
				       (unsigned)BKEY_VAL_U64S_MAX);
		s->e[s->nr] = (struct drop_entry){ .raw = p, .bytes = n, .type = x.type };
		if (x.type == BCH_EXTENT_ENTRY_ptr)
			s->e[s->nr].ptr = x.ptr;
	}
	return 0;
}

/*
 * Pointer i asked to go, as upstream's wrapper: one with a stripe pointer
 * on its device is kept with its device set to BCH_SB_MEMBER_INVALID (the
 * stripe can rebuild it); any other is dropped. Returns whether the key
 * changed.
 */
static bool drop_or_invalidate(struct drop_state *s, unsigned i)
{
	struct drop_entry *x = &s->e[i];

	if (!dev_has_ec(s, x->ptr.dev)) {
		drop_one(s, i);
		return true;
	}
	if (x->ptr.dev == BCH_SB_MEMBER_INVALID)
		return false;
	x->ptr.dev = BCH_SB_MEMBER_INVALID;
	x->invalidated = true;
	return true;
}

/*
 * The kept entries byte for byte after the prefix, invalidated pointers
 * patched; out may be v (entries only move down).
 */
static size_t drop_state_write(const struct drop_state *s, const uint8_t *v, unsigned prefix,
			       uint8_t *out)
{
	size_t len = prefix;

	memmove(out, v, prefix);
	for (unsigned i = 0; i < s->nr; i++) {
		const struct drop_entry *x = &s->e[i];

		if (x->gone)
			continue;
		memmove(out + len, x->raw, x->bytes);
		if (x->invalidated) {
			uint64_t w = get_le64(out + len) & ~(0xffULL << 48);

			put_le64(out + len, w | (uint64_t)BCH_SB_MEMBER_INVALID << 48);
		}
		len += x->bytes;
	}
	return len;
}

static unsigned count_ptrs(const struct drop_state *s, bool dirty_only)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->nr; i++)
		n += !s->e[i].gone && s->e[i].type == BCH_EXTENT_ENTRY_ptr &&
		     (!dirty_only || !s->e[i].ptr.cached);
	return n;
}

static int drop_ptrs(struct drop_state *s, const struct bkey *k, bch_ptr_drop_fn drop,
		     void *ctx, struct bkey *out, uint8_t *val, size_t val_size,
		     unsigned *nr_dropped, struct bch_error *err)
{
	unsigned prefix = k->type == KEY_TYPE_reflink_v ? 8 : 0;
	unsigned idx = 0, dirty_before;
	int ret;

	*nr_dropped = 0;
	if ((k->type != KEY_TYPE_extent && k->type != KEY_TYPE_reflink_v) ||
	    k->val_bytes < prefix)
		return bch_err(err, BCH_ERR_INVAL, "key of type %u has no data pointers to drop",
			       k->type);
	ret = drop_state_load(s, k, prefix, err);
	if (ret)
		return ret;

	/* all entries known first: a crc goes only if no later pointer needs it */
	dirty_before = count_ptrs(s, true);
	for (unsigned i = 0; i < s->nr; i++)
		if (s->e[i].type == BCH_EXTENT_ENTRY_ptr &&
		    drop(ctx, &s->e[i].ptr, idx++) && drop_or_invalidate(s, i))
			++*nr_dropped;

	*out = *k;
	out->val = val;
	out->val_bytes = 0;
	/*
	 * Dropping pointers one at a time, upstream turns the key into an
	 * error key when the last dirty pointer goes, else into a deleted key
	 * when the last pointer goes: over all of them that is this.
	 */
	if (*nr_dropped && dirty_before && !count_ptrs(s, true)) {
		out->type = KEY_TYPE_error;
		return 0;
	}
	if (*nr_dropped && !count_ptrs(s, false)) {
		out->type = KEY_TYPE_deleted;
		return 0;
	}
	if (k->val_bytes > val_size)
		return bch_err(err, BCH_ERR_RANGE, "no room for the key's value");
	out->val_bytes = (uint16_t)drop_state_write(s, k->val, prefix, val);
	return 0;
}

int bch_extent_drop_ptrs(const struct bkey *k, bch_ptr_drop_fn drop, void *ctx,
			 struct bkey *out, uint8_t *val, size_t val_size, unsigned *nr_dropped,
			 struct bch_error *err)
{
	struct drop_state s;

	return drop_ptrs(&s, k, drop, ctx, out, val, val_size, nr_dropped, err);
}
