/* Xattr values and positions (layout in xattr.h). */
#include <string.h>

#include "errors.h"
#include "xattr.h"

#define XATTR_TYPE		0u
#define XATTR_NAME_LEN		1u
#define XATTR_VAL_LEN		2u
/* upstream's minimum value size of KEY_TYPE_xattr */
#define XATTR_MIN_BYTES		8u

static const char * const xattr_prefixes[BCH_XATTR_INDEX_NR] = {
	[BCH_XATTR_INDEX_USER]		= "user.",
	[BCH_XATTR_INDEX_TRUSTED]	= "trusted.",
	[BCH_XATTR_INDEX_SECURITY]	= "security.",
};

static size_t u64s_of(size_t bytes)
{
	return (bytes + 7) / 8;
}

static int xattr_bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

int bch_xattr_unpack(const struct bkey *k, struct bch_xattr_unpacked *x,
		     const char **why)
{
	const uint8_t *v = k->val;
	size_t bytes = k->val_bytes, need;

	memset(x, 0, sizeof(*x));
	if (k->type != KEY_TYPE_xattr)
		return xattr_bad(why, "not an xattr key");
	if (bytes < XATTR_MIN_BYTES)
		return xattr_bad(why, "xattr value too small");
	x->type = v[XATTR_TYPE];
	x->name_len = v[XATTR_NAME_LEN];
	x->val_len = get_le16(v + XATTR_VAL_LEN);
	need = BCH_XATTR_NAME_OFFSET + x->name_len + x->val_len;
	if (bytes < need)
		return xattr_bad(why, "xattr value smaller than its lengths");
	/* upstream allows 4 bytes of slack (xattr.c) */
	if (u64s_of(bytes) > u64s_of(need + 4))
		return xattr_bad(why, "xattr value larger than its lengths");
	if (x->type >= BCH_XATTR_INDEX_NR)
		return xattr_bad(why, "xattr of unknown type");
	x->name = v + BCH_XATTR_NAME_OFFSET;
	x->value = x->name + x->name_len;
	if (memchr(x->name, 0, x->name_len))
		return xattr_bad(why, "NUL in xattr name");
	return 0;
}

int bch_xattr_pack(const struct bch_xattr_unpacked *x, uint8_t *val,
		   size_t size, size_t *val_bytes)
{
	size_t bytes;

	if (x->type >= BCH_XATTR_INDEX_NR || x->name_len > BCH_XATTR_NAME_MAX ||
	    (x->name_len && memchr(x->name, 0, x->name_len)))
		return -BCH_ERR_INVAL;
	bytes = u64s_of(BCH_XATTR_NAME_OFFSET + (size_t)x->name_len + x->val_len) * 8;
	if (bytes > BCH_XATTR_MAX_BYTES || bytes > size)
		return -BCH_ERR_RANGE;

	memset(val, 0, bytes);
	val[XATTR_TYPE] = x->type;
	val[XATTR_NAME_LEN] = (uint8_t)x->name_len;
	put_le16(val + XATTR_VAL_LEN, (uint16_t)x->val_len);
	if (x->name_len)
		memcpy(val + BCH_XATTR_NAME_OFFSET, x->name, x->name_len);
	if (x->val_len)
		memcpy(val + BCH_XATTR_NAME_OFFSET + x->name_len, x->value, x->val_len);
	*val_bytes = bytes;
	return 0;
}

uint64_t bch_xattr_hash(const struct bch_hash_info *inode, unsigned type,
			const void *name, size_t name_len)
{
	uint8_t buf[1 + BCH_XATTR_NAME_MAX];

	/* one hash over the type byte, then the name (xattr.c) */
	if (name_len > BCH_XATTR_NAME_MAX)
		name_len = BCH_XATTR_NAME_MAX;
	buf[0] = (uint8_t)type;
	if (name_len)
		memcpy(buf + 1, name, name_len);
	return bch_str_hash(inode, buf, 1 + name_len);
}

int bch_xattr_name_parse(const char *full, unsigned *type, const char **name)
{
	for (unsigned i = 0; i < BCH_XATTR_INDEX_NR; i++) {
		const char *p = xattr_prefixes[i];
		size_t n;

		if (!p)
			continue;
		n = strlen(p);
		if (!strncmp(full, p, n)) {
			*type = i;
			*name = full + n;
			return 0;
		}
	}
	return -BCH_ERR_INVAL;
}

void bch_xattr_to_text(struct printbuf *out, const struct bch_xattr_unpacked *x)
{
	if (x->type < BCH_XATTR_INDEX_NR && xattr_prefixes[x->type])
		pb_puts(out, xattr_prefixes[x->type]);
	else
		pb_printf(out, "(type %u)", x->type);
	pb_printf(out, "%.*s:%.*s",
		  (int)x->name_len, x->name ? (const char *)x->name : "",
		  (int)x->val_len, x->value ? (const char *)x->value : "");
}
