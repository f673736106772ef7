/* Inode unpacking and printing (layouts in inode.h). */
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "errors.h"
#include "inode.h"

struct inode_field {
	const char	*name;
	uint8_t		bits;		/* encoded width: 96 = two varints */
	uint8_t		width;		/* bits the unpacked value may use */
	uint16_t	offset;		/* in struct bch_inode_unpacked */
};

#define F(_name, _bits, _width)	\
	{ #_name, _bits, _width, offsetof(struct bch_inode_unpacked, _name) }

/* field order of inode and inode_v2 */
static const struct inode_field fields_v2[] = {
	F(bi_atime, 96, 64), F(bi_ctime, 96, 64), F(bi_mtime, 96, 64),
	F(bi_otime, 96, 64), F(bi_size, 64, 64), F(bi_sectors, 64, 64),
	F(bi_uid, 32, 32), F(bi_gid, 32, 32), F(bi_nlink, 32, 32),
	F(bi_generation, 32, 32), F(bi_dev, 32, 32),
	F(bi_data_checksum, 8, 8), F(bi_compression, 8, 8),
	F(bi_project, 32, 32), F(bi_background_compression, 8, 8),
	F(bi_data_replicas, 8, 8), F(bi_promote_target, 16, 16),
	F(bi_foreground_target, 16, 16), F(bi_background_target, 16, 16),
	F(bi_erasure_code, 16, 16), F(bi_fields_set, 16, 16),
	F(bi_dir, 64, 64), F(bi_dir_offset, 64, 64), F(bi_subvol, 32, 32),
	F(bi_parent_subvol, 32, 32),
};

/* field order of inode_v3 (size and sectors are in the fixed part) */
static const struct inode_field fields_v3[] = {
	F(bi_atime, 96, 64), F(bi_ctime, 96, 64), F(bi_mtime, 96, 64),
	F(bi_otime, 96, 64), F(bi_uid, 32, 32), F(bi_gid, 32, 32),
	F(bi_nlink, 32, 32), F(bi_generation, 32, 32), F(bi_dev, 32, 32),
	F(bi_data_checksum, 8, 8), F(bi_compression, 8, 8),
	F(bi_project, 32, 32), F(bi_background_compression, 8, 8),
	F(bi_data_replicas, 8, 8), F(bi_promote_target, 16, 16),
	F(bi_foreground_target, 16, 16), F(bi_background_target, 16, 16),
	F(bi_erasure_code, 16, 16), F(bi_fields_set, 16, 16),
	F(bi_dir, 64, 64), F(bi_dir_offset, 64, 64), F(bi_subvol, 32, 32),
	F(bi_parent_subvol, 32, 32), F(bi_nocow, 8, 8), F(bi_depth, 32, 32),
	F(bi_inodes_32bit, 8, 8), F(bi_casefold, 8, 8),
	F(bi_unused_ec_max_data_blocks, 8, 8),	/* v1.39.2 */
};

#undef F

static int inode_bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

static bool field_fits(const struct inode_field *f, uint64_t v)
{
	return f->width >= 64 || !(v >> f->width);
}

static void field_set(struct bch_inode_unpacked *u, const struct inode_field *f,
		      uint64_t v)
{
	uint64_t *dst = (uint64_t *)((char *)u + f->offset);

	*dst = v;
}

/* varint fields (inode_v2, inode_v3, inode with new_varint) */
static int unpack_varints(struct bch_inode_unpacked *u,
			  const struct inode_field *fields, unsigned nr,
			  const uint8_t *in, const uint8_t *end,
			  unsigned nr_fields, const char **why)
{
	for (unsigned i = 0; i < nr && i < nr_fields; i++) {
		uint64_t lo, hi = 0;
		int n = bch_varint_decode(in, end, &lo);

		if (n < 0)
			return inode_bad(why, "inode varint runs past the value");
		in += n;
		if (fields[i].bits > 64) {
			n = bch_varint_decode(in, end, &hi);
			if (n < 0)
				return inode_bad(why, "inode varint runs past the value");
			in += n;
		}
		if (hi || !field_fits(&fields[i], lo))
			return inode_bad(why, "inode field too large");
		field_set(u, &fields[i], lo);
	}
	return 0;
}

/*
 * The oldest field encoding: the position of the highest set bit of the
 * first byte gives the length (1, 2, 3, 4, 6, 8, 10 or 13 bytes); that
 * marker bit cleared, the bytes are a big-endian number.
 */
static int decode_old_field(const uint8_t *in, const uint8_t *end,
			    uint64_t *hi, uint64_t *lo)
{
	static const uint8_t len_by_shift[8] = { 1, 2, 3, 4, 6, 8, 10, 13 };
	unsigned top, bytes;

	if (in >= end || !*in)
		return -1;
	top = 31 - (unsigned)__builtin_clz(*in);
	bytes = len_by_shift[7 - top];
	if ((size_t)(end - in) < bytes)
		return -1;
	*hi = *lo = 0;
	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = i ? in[i] : (uint8_t)(in[0] & ~(1u << top));

		*hi = *hi << 8 | *lo >> 56;
		*lo = *lo << 8 | b;
	}
	return (int)bytes;
}

static int unpack_old(struct bch_inode_unpacked *u, const uint8_t *in,
		      const uint8_t *end, unsigned nr_fields, const char **why)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fields_v2) && i < nr_fields; i++) {
		uint64_t hi, lo;
		int n = decode_old_field(in, end, &hi, &lo);

		if (n < 0)
			return inode_bad(why, "invalid inode field encoding");
		in += n;
		if (hi || !field_fits(&fields_v2[i], lo))
			return inode_bad(why, "inode field too large");
		field_set(u, &fields_v2[i], lo);
	}
	return 0;
}

static int unpack_v1(const struct bkey *k, struct bch_inode_unpacked *u,
		     const char **why)
{
	const uint8_t *p = k->val, *end = k->val + k->val_bytes;
	uint32_t flags;

	if (k->val_bytes < 16)
		return inode_bad(why, "inode value too small");
	u->bi_hash_seed = get_le64(p);
	flags = get_le32(p + 8);
	u->bi_flags = flags;
	u->bi_mode = get_le16(p + 12);
	u->nr_fields = (unsigned)bits64(flags, 24, 31);
	if (bits64(flags, 31, 32))
		return unpack_varints(u, fields_v2, ARRAY_SIZE(fields_v2),
				      p + 14, end, u->nr_fields, why);
	return unpack_old(u, p + 14, end, u->nr_fields, why);
}

static int unpack_v2(const struct bkey *k, struct bch_inode_unpacked *u,
		     const char **why)
{
	const uint8_t *p = k->val;

	if (k->val_bytes < 32)
		return inode_bad(why, "inode_v2 value too small");
	u->bi_journal_seq = get_le64(p);
	u->bi_hash_seed = get_le64(p + 8);
	u->bi_flags = get_le64(p + 16);
	u->bi_mode = get_le16(p + 24);
	u->nr_fields = (unsigned)bits64(u->bi_flags, 24, 31);
	return unpack_varints(u, fields_v2, ARRAY_SIZE(fields_v2), p + 26,
			      p + k->val_bytes, u->nr_fields, why);
}

static int unpack_v3(const struct bkey *k, struct bch_inode_unpacked *u,
		     const char **why)
{
	const uint8_t *p = k->val;
	unsigned start;

	if (k->val_bytes < 48)
		return inode_bad(why, "inode_v3 value too small");
	u->bi_journal_seq = get_le64(p);
	u->bi_hash_seed = get_le64(p + 8);
	u->bi_flags = get_le64(p + 16);
	u->bi_sectors = get_le64(p + 24);
	u->bi_size = get_le64(p + 32);
	u->bi_version = get_le64(p + 40);
	u->bi_mode = (uint16_t)bits64(u->bi_flags, 36, 52);
	u->nr_fields = (unsigned)bits64(u->bi_flags, 24, 31);
	start = (unsigned)bits64(u->bi_flags, 31, 36);
	if (start < BCH_INODE_V3_FIELDS_START_INITIAL || start * 8u > k->val_bytes)
		return inode_bad(why, "inode_v3 invalid fields_start");
	/* like upstream, the fields are read from byte 48 whatever fields_start says */
	return unpack_varints(u, fields_v3, ARRAY_SIZE(fields_v3), p + 48,
			      p + k->val_bytes, u->nr_fields, why);
}

int bch_inode_unpack(const struct bkey *k, struct bch_inode_unpacked *out,
		     const char **why)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->bi_inum = k->p.offset;
	out->bi_snapshot = k->p.snapshot;
	out->key_type = k->type;
	switch (k->type) {
	case KEY_TYPE_inode:
		ret = unpack_v1(k, out, why);
		break;
	case KEY_TYPE_inode_v2:
		ret = unpack_v2(k, out, why);
		break;
	case KEY_TYPE_inode_v3:
		ret = unpack_v3(k, out, why);
		break;
	default:
		ret = inode_bad(why, "not an inode key");
		break;
	}
	return ret;
}

static uint64_t field_get(const struct bch_inode_unpacked *u,
			  const struct inode_field *f)
{
	return *(const uint64_t *)((const char *)u + f->offset);
}

/*
 * inode_v3 as upstream packs it (libbcachefs/inode.c): every
 * field a varint (0 is one zero byte; 96-bit fields get a second, zero,
 * varint), the trailing zero fields dropped and nr_fields counting the
 * rest, the value zero-padded to a multiple of 8 bytes.
 */
int bch_inode_pack(const struct bch_inode_unpacked *u, uint8_t *val,
		   size_t size, size_t *val_bytes)
{
	uint8_t buf[BCH_INODE_V3_MAX_BYTES] = { 0 };
	size_t end = BCH_INODE_V3_FIXED_BYTES, used = end, bytes;
	unsigned nr_fields = 0;
	uint64_t flags;

	for (unsigned i = 0; i < ARRAY_SIZE(fields_v3); i++) {
		const struct inode_field *f = &fields_v3[i];
		uint64_t v = field_get(u, f);

		if (!field_fits(f, v))
			return -BCH_ERR_INVAL;
		used += bch_varint_encode(buf + used, v);
		if (f->bits > 64)
			buf[used++] = 0;
		if (v) {
			end = used;
			nr_fields = i + 1;
		}
	}
	memset(buf + end, 0, used - end);
	bytes = (end + 7) & ~(size_t)7;
	if (bytes > size)
		return -BCH_ERR_RANGE;

	flags = u->bi_flags & ~(((1ULL << 28) - 1) << 24);
	flags |= (uint64_t)nr_fields << 24;
	flags |= (uint64_t)BCH_INODE_V3_FIELDS_START_INITIAL << 31;
	flags |= (uint64_t)u->bi_mode << 36;
	put_le64(buf, u->bi_journal_seq);
	put_le64(buf + 8, u->bi_hash_seed);
	put_le64(buf + 16, flags);
	put_le64(buf + 24, u->bi_sectors);
	put_le64(buf + 32, u->bi_size);
	put_le64(buf + 40, u->bi_version);
	memcpy(val, buf, bytes);
	*val_bytes = bytes;
	return 0;
}

const char *bch_inode_mode_type_name(uint16_t mode)
{
	switch (mode & 0170000) {
	case 0100000:	return "reg";
	case 0040000:	return "dir";
	case 0120000:	return "lnk";
	case 0020000:	return "chr";
	case 0060000:	return "blk";
	case 0010000:	return "fifo";
	case 0140000:	return "sock";
	default:	return "unknown";
	}
}

static const char * const inode_flag_names[] = {
	"sync", "immutable", "append", "nodump", "noatime", "i_size_dirty",
	"i_sectors_dirty", "unlinked", "backptr_untrusted",
	"has_child_snapshot", "has_case_insensitive", "31bit_dirent_offset",
	"has_inode_opts", "has_access_acl", "has_default_acl",	/* v1.39.2 */
};

static const char * const str_hash_names[] = {
	"crc32c", "crc64", "siphash_old", "siphash",
};

static void prt_inode_flags(struct printbuf *out, uint64_t flags)
{
	bool first = true;

	for (unsigned i = 0; i < 20; i++) {
		if (!(flags & (1ULL << i)))
			continue;
		if (!first)
			pb_puts(out, ",");
		if (i < ARRAY_SIZE(inode_flag_names))
			pb_puts(out, inode_flag_names[i]);
		else
			pb_printf(out, "bit%u", i);
		first = false;
	}
	pb_printf(out, "(%x)", (uint32_t)flags);
}

void bch_inode_to_text(struct printbuf *out, const struct bch_inode_unpacked *u)
{
	unsigned hash = BCH_INODE_STR_HASH(u);

	pb_printf(out, "mode=%o type=%s flags=", u->bi_mode,
		  bch_inode_mode_type_name(u->bi_mode));
	prt_inode_flags(out, u->bi_flags);
	pb_printf(out, " journal_seq=%llu hash_seed=%llx hash_type=",
		  (unsigned long long)u->bi_journal_seq,
		  (unsigned long long)u->bi_hash_seed);
	if (hash < ARRAY_SIZE(str_hash_names))
		pb_puts(out, str_hash_names[hash]);
	else
		pb_printf(out, "(unknown %u)", hash);
	pb_printf(out, " bi_size=%llu bi_sectors=%llu bi_version=%llu",
		  (unsigned long long)u->bi_size,
		  (unsigned long long)u->bi_sectors,
		  (unsigned long long)u->bi_version);
	for (unsigned i = 0; i < ARRAY_SIZE(fields_v3); i++) {
		const uint64_t *v = (const uint64_t *)((const char *)u +
						       fields_v3[i].offset);

		pb_printf(out, " %s=%llu", fields_v3[i].name,
			  (unsigned long long)*v);
	}
}

