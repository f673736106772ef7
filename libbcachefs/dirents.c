/* Dirent values and positions (layout in dirents.h). */
#include <string.h>

#include "dirents.h"
#include "errors.h"

#define DIRENT_TYPE_OFFSET	8u
#define DIRENT_CF_NAME_LEN	10u
#define DIRENT_CF_CF_LEN	12u
/* upstream's minimum value size of KEY_TYPE_dirent */
#define DIRENT_MIN_BYTES	16u

static int dirent_bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

/*
 * Bytes of the name area: the value after start, less the NULs that end
 * its last 8 bytes (upstream dirent.c counts them in the last u64 only).
 */
static size_t name_block_bytes(const uint8_t *v, size_t bytes, size_t start)
{
	size_t nuls = 0;

	while (nuls < 8 && bytes - nuls > start && !v[bytes - 1 - nuls])
		nuls++;
	return bytes - start - nuls;
}

int bch_dirent_unpack(const struct bkey *k, struct bch_dirent_unpacked *d,
		      const char **why)
{
	const uint8_t *v = k->val;
	size_t bytes = k->val_bytes, block;

	memset(d, 0, sizeof(*d));
	if (k->type != KEY_TYPE_dirent)
		return dirent_bad(why, "not a dirent key");
	if (bytes < DIRENT_MIN_BYTES)
		return dirent_bad(why, "dirent value too small");
	d->d_type = v[DIRENT_TYPE_OFFSET] & 31;
	d->casefold = v[DIRENT_TYPE_OFFSET] & BCH_DIRENT_CASEFOLD;
	if (d->d_type == BCH_DT_SUBVOL) {
		d->d_child_subvol = get_le32(v);
		d->d_parent_subvol = get_le32(v + 4);
	} else {
		d->d_inum = get_le64(v);
	}
	if (!d->casefold) {
		d->name = v + BCH_DIRENT_NAME_OFFSET;
		d->name_len = (unsigned)name_block_bytes(v, bytes, BCH_DIRENT_NAME_OFFSET);
		return 0;
	}
	d->name_len = get_le16(v + DIRENT_CF_NAME_LEN);
	d->cf_name_len = get_le16(v + DIRENT_CF_CF_LEN);
	block = name_block_bytes(v, bytes, BCH_DIRENT_CF_NAMES_OFFSET);
	if ((size_t)d->name_len + d->cf_name_len > block)
		return dirent_bad(why, "dirent names exceed the value");
	d->name = v + BCH_DIRENT_CF_NAMES_OFFSET;
	d->cf_name = d->name + d->name_len;
	return 0;
}

static bool name_is_dots(const uint8_t *name, unsigned len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

const char *bch_dirent_invalid(const struct bch_dirent_unpacked *d)
{
	if (!d->name_len)
		return "empty name";
	if (d->name_len > BCH_NAME_MAX)
		return "name too long";
	if (memchr(d->name, 0, d->name_len))
		return "NUL in name";
	if (name_is_dots(d->name, d->name_len))
		return "name is . or ..";
	if (memchr(d->name, '/', d->name_len))
		return "name with /";
	if (!d->casefold)
		return NULL;
	if (d->cf_name_len > BCH_NAME_MAX)
		return "casefolded name too long";
	if (d->cf_name_len && memchr(d->cf_name, 0, d->cf_name_len))
		return "NUL in casefolded name";
	return NULL;
}

int bch_dirent_pack(const struct bch_dirent_unpacked *d, uint8_t *val,
		    size_t size, size_t *val_bytes)
{
	size_t used, bytes;

	if (d->d_type >= BCH_DT_MAX || bch_dirent_invalid(d) ||
	    (d->casefold && !d->cf_name_len))
		return -BCH_ERR_INVAL;
	used = d->casefold
		? BCH_DIRENT_CF_NAMES_OFFSET + d->name_len + d->cf_name_len
		: BCH_DIRENT_NAME_OFFSET + d->name_len;
	bytes = (used + 7) & ~(size_t)7;
	if (bytes > size)
		return -BCH_ERR_RANGE;

	memset(val, 0, bytes);
	if (d->d_type == BCH_DT_SUBVOL) {
		put_le32(val, d->d_child_subvol);
		put_le32(val + 4, d->d_parent_subvol);
	} else {
		put_le64(val, d->d_inum);
	}
	val[DIRENT_TYPE_OFFSET] = d->d_type | (d->casefold ? BCH_DIRENT_CASEFOLD : 0);
	if (!d->casefold) {
		memcpy(val + BCH_DIRENT_NAME_OFFSET, d->name, d->name_len);
	} else {
		put_le16(val + DIRENT_CF_NAME_LEN, (uint16_t)d->name_len);
		put_le16(val + DIRENT_CF_CF_LEN, (uint16_t)d->cf_name_len);
		memcpy(val + BCH_DIRENT_CF_NAMES_OFFSET, d->name, d->name_len);
		memcpy(val + BCH_DIRENT_CF_NAMES_OFFSET + d->name_len, d->cf_name,
		       d->cf_name_len);
	}
	*val_bytes = bytes;
	return 0;
}

uint64_t bch_dirent_hash(const struct bch_hash_info *dir, const void *name,
			 size_t len)
{
	uint64_t h = bch_str_hash(dir, name, len);

	if (dir->is_31bit)
		h &= INT32_MAX;
	return h < 2 ? 2 : h;
}

uint64_t bch_dirent_hash_unpacked(const struct bch_hash_info *dir,
				  const struct bch_dirent_unpacked *d)
{
	if (d->casefold)
		return bch_dirent_hash(dir, d->cf_name, d->cf_name_len);
	return bch_dirent_hash(dir, d->name, d->name_len);
}

const char *bch_d_type_name(unsigned d_type)
{
	static const char * const names[BCH_DT_MAX] = {
		[0] = "unknown", [1] = "fifo", [2] = "chr", [4] = "dir",
		[6] = "blk", [8] = "reg", [10] = "lnk", [12] = "sock",
		[14] = "whiteout", [16] = "subvol",
	};

	if (d_type < BCH_DT_MAX && names[d_type])
		return names[d_type];
	return "(invalid)";
}

void bch_dirent_to_text(struct printbuf *out, const struct bch_dirent_unpacked *d)
{
	pb_printf(out, "%.*s", (int)d->name_len, (const char *)d->name);
	if (d->casefold)
		pb_printf(out, " (casefold %.*s)", (int)d->cf_name_len,
			  (const char *)d->cf_name);
	if (d->d_type == BCH_DT_SUBVOL)
		pb_printf(out, " -> %u -> %u", d->d_parent_subvol, d->d_child_subvol);
	else
		pb_printf(out, " -> %llu", (unsigned long long)d->d_inum);
	pb_printf(out, " type %s", bch_d_type_name(d->d_type));
}
