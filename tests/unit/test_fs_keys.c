/*
 * Unit tests of the filesystem-tree key encoders: inode_v3 packing,
 * string hashes, dirents and xattrs. Corpus values are copied from the
 * key dumps of the image corpus (small, tiny-128, v136-small; 1.28 and
 * 1.36); the crc32c, crc64 and siphash_old vectors were computed with an
 * independent bitwise implementation of each algorithm. Values live in
 * heap buffers of exactly their size so the sanitizer build catches
 * reads past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dirents.h"
#include "errors.h"
#include "inode.h"
#include "str_hash.h"
#include "xattr.h"

/* ---- helpers ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* a key whose value is the hex string, heap-allocated to its exact size */
static struct bkey key_hex(unsigned type, struct bpos p, const char *hex)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	size_t len = strlen(hex);
	uint8_t *v = malloc(len / 2 + 1);

	assert_non_null(v);
	assert_int_equal(len % 2, 0);
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexdigit(hex[i]), lo = hexdigit(hex[i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		v[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	k.val = v;
	k.val_bytes = (uint16_t)(len / 2);
	return k;
}

static struct bkey key_bytes(unsigned type, struct bpos p, const uint8_t *b,
			     size_t n)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	uint8_t *v = malloc(n ? n : 1);

	assert_non_null(v);
	memcpy(v, b, n);
	k.val = v;
	k.val_bytes = (uint16_t)n;
	return k;
}

static void key_free(struct bkey *k)
{
	free((void *)k->val);
	k->val = NULL;
}

#define ROOT	4096u
#define SNAP	UINT32_MAX

/* ---- inodes ---- */

struct corpus_inode {
	const char	*image;
	uint64_t	inum;
	const char	*hex;
};

static const struct corpus_inode corpus_inodes[] = {
	/* root directory */
	{ "small", 4096, "0b00000000000000c845778f32f6374100003016d31e0400"
	  "0000000000000000000000000000000000000000000000008777350300c71764"
	  "6600c71764660087773503000000080000000000000000000000000000020000" },
	/* lost+found (bi_dir, bi_dir_offset set) */
	{ "small", 4097, "0500000000000000305cffba54721c8900003019031c0400"
	  "0000000000000000000000000000000000000000000000008777350300877735"
	  "0300877735030087773503000000000000000000000000000000000140ff2537"
	  "1bfb38435a4f00000002000000000000" },
	/* a directory: 9-byte varints (0xff) for the times */
	{ "small", 4098, "080000000000000086e1ef6c0e4895a500003019d31e0400"
	  "000000000000000000000000000000000000000000000000ff23412fb343a529"
	  "ff00ff6d0a466ef9ffffff00ff23412fb343a529ff0087070607000000000000"
	  "000000000000000000000140ff6e03aff33cd35e2c0000000200000000000000" },
	/* a 100-byte regular file */
	{ "small", 4099, "06000000000000009fa1dd83c4c7c1b300003015431a0800"
	  "080000000000000064000000000000000000000000000000ff23412fb343a529"
	  "ff00ff6d0a466ef9ffffff00ff23412fb343a529ff0087070607000000000000"
	  "000000000000000000000940ff01d7d524a15b206b000000" },
	/* a symlink */
	{ "tiny-128", 4108, "0600000000000000f77dc3f3763f036000003015f31f0a00"
	  "080000000000000011000000000000000000000000000000ffa6398c73faffff"
	  "ff00ffca6c2e60f9ffffff00ffca6c2e60f9ffffff00170bce13000000000000"
	  "000000000000000000000140ff4decf4ebcf987e30000000" },
	/* 1.36: root, lost+found, a directory (inode numbers from 2^31) */
	{ "v136-small", 4096, "15000000000000009d1d555a3e1bbdc300003016d31e0400"
	  "000000000000000000000000000000000000000000000000f770d0100077c179"
	  "bc0077c179bc00f770d010000000080000000000000000000000000000020000" },
	{ "v136-small", 2147483648u, "050000000000000097d516e244a43cf400003019031c0400"
	  "000000000000000000000000000000000000000000000000f770d01000f770d0"
	  "1000f770d01000f770d010000000000000000000000000000000000140ff2dc7"
	  "3309eaa0653500000002000000000000" },
	{ "v136-small", 2147483649u, "0900000000000000d573d62c0b3e1ec500003019d31e0400"
	  "000000000000000000000000000000000000000000000000ffd52334a5c4ffff"
	  "ff00ffebc2e416c4ffffff00ff62622c388ba429ff000701a114000000000000"
	  "000000000000000000000140ff3e44fc294a4b9e330000000200000000000000" },
};

static void test_inode_repack_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(corpus_inodes); i++) {
		const struct corpus_inode *c = &corpus_inodes[i];
		struct bkey k = key_hex(KEY_TYPE_inode_v3, BPOS(0, c->inum, SNAP), c->hex);
		struct bch_inode_unpacked u;
		uint8_t out[BCH_INODE_V3_MAX_BYTES];
		size_t bytes = 0;

		assert_int_equal(bch_inode_unpack(&k, &u, NULL), 0);
		assert_int_equal(bch_inode_pack(&u, out, sizeof(out), &bytes), 0);
		assert_int_equal(bytes, k.val_bytes);
		assert_memory_equal(out, k.val, bytes);
		/* exactly big enough is enough; one u64 less is not */
		assert_int_equal(bch_inode_pack(&u, out, bytes, &bytes), 0);
		assert_int_equal(bch_inode_pack(&u, out, bytes - 8, &bytes),
				 -BCH_ERR_RANGE);
		key_free(&k);
	}
}

static void pack_and_unpack(const struct bch_inode_unpacked *in,
			    struct bch_inode_unpacked *out, uint8_t *buf,
			    size_t *bytes)
{
	struct bkey k;

	assert_int_equal(bch_inode_pack(in, buf, BCH_INODE_V3_MAX_BYTES, bytes), 0);
	assert_int_equal(*bytes % 8, 0);
	k = key_bytes(KEY_TYPE_inode_v3, BPOS(0, in->bi_inum, in->bi_snapshot),
		      buf, *bytes);
	assert_int_equal(bch_inode_unpack(&k, out, NULL), 0);
	key_free(&k);
}

static void test_inode_pack_layout(void **state)
{
	struct bch_inode_unpacked u = { 0 }, r;
	uint8_t buf[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;

	(void)state;
	/* no variable fields: 48 bytes, nr_fields 0, fields_start 6, mode */
	u.bi_inum = 4200;
	u.bi_snapshot = SNAP;
	u.bi_hash_seed = 0x1122334455667788ULL;
	u.bi_flags = 3u << 20 | 1u << 7 | 0x7fULL << 24 | 1ULL << 60;
	u.bi_mode = 0100644;
	u.bi_size = 5;
	pack_and_unpack(&u, &r, buf, &bytes);
	assert_int_equal(bytes, 48);
	assert_int_equal(r.nr_fields, 0);
	assert_int_equal(get_le64(buf + 16),
			 3u << 20 | 1u << 7 | 6ULL << 31 | 0100644ULL << 36 | 1ULL << 60);
	assert_int_equal(get_le64(buf + 8), 0x1122334455667788ULL);
	assert_int_equal(get_le64(buf + 32), 5);
	assert_int_equal(r.bi_mode, 0100644);

	/* bi_uid (field 5) only: four 96-bit zeros, then the varint */
	u.bi_uid = 1000;
	pack_and_unpack(&u, &r, buf, &bytes);
	assert_int_equal(r.nr_fields, 5);
	assert_int_equal(r.bi_uid, 1000);
	{
		/* 1000 has 10 bits: two bytes, 1000 << 2 | 1 = 0x0fa1 */
		static const uint8_t want[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0x0f };

		assert_memory_equal(buf + 48, want, sizeof(want));
		assert_int_equal(bytes, 64);
		for (size_t i = 48 + sizeof(want); i < bytes; i++)
			assert_int_equal(buf[i], 0);
	}

	/* varint length boundaries, in bi_atime (96 bits: a zero follows) */
	{
		static const struct { uint64_t v; unsigned len; } b[] = {
			{ 1, 1 }, { 127, 1 }, { 128, 2 }, { (1ULL << 14) - 1, 2 },
			{ 1ULL << 14, 3 }, { (1ULL << 56) - 1, 8 },
			{ 1ULL << 56, 9 }, { UINT64_MAX, 9 },
		};

		memset(&u, 0, sizeof(u));
		for (size_t i = 0; i < ARRAY_SIZE(b); i++) {
			u.bi_atime = b[i].v;
			pack_and_unpack(&u, &r, buf, &bytes);
			assert_int_equal(r.bi_atime, b[i].v);
			assert_int_equal(r.nr_fields, 1);
			assert_int_equal(buf[48 + b[i].len], 0);
			assert_int_equal(bytes, (48 + b[i].len + 1 + 7) & ~7u);
			if (b[i].len == 9)
				assert_int_equal(buf[48], 0xff);
		}
	}
}

static void test_inode_pack_limits(void **state)
{
	struct bch_inode_unpacked u, r;
	uint8_t buf[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;

	(void)state;
	/* every field at its largest: the documented maximum size */
	memset(&u, 0, sizeof(u));
	u.bi_atime = u.bi_ctime = u.bi_mtime = u.bi_otime = UINT64_MAX;
	u.bi_dir = u.bi_dir_offset = UINT64_MAX;
	u.bi_uid = u.bi_gid = u.bi_nlink = u.bi_generation = u.bi_dev = UINT32_MAX;
	u.bi_project = u.bi_subvol = u.bi_parent_subvol = u.bi_depth = UINT32_MAX;
	u.bi_promote_target = u.bi_foreground_target = UINT16_MAX;
	u.bi_background_target = u.bi_erasure_code = u.bi_fields_set = UINT16_MAX;
	u.bi_data_checksum = u.bi_compression = u.bi_background_compression = 255;
	u.bi_data_replicas = u.bi_nocow = u.bi_inodes_32bit = u.bi_casefold = 255;
	pack_and_unpack(&u, &r, buf, &bytes);
	assert_int_equal(bytes, BCH_INODE_V3_MAX_BYTES);
	assert_int_equal(r.nr_fields, 27);
	r.key_type = u.key_type;
	r.nr_fields = u.nr_fields;
	r.bi_flags = u.bi_flags;
	r.bi_snapshot = u.bi_snapshot;
	assert_memory_equal(&r, &u, sizeof(u));

	/* a value wider than its field is refused */
	u.bi_uid = 1ULL << 32;
	assert_int_equal(bch_inode_pack(&u, buf, sizeof(buf), &bytes), -BCH_ERR_INVAL);
	u.bi_uid = 0;
	u.bi_casefold = 256;
	assert_int_equal(bch_inode_pack(&u, buf, sizeof(buf), &bytes), -BCH_ERR_INVAL);
}

/* ---- string hashes ---- */

/* small's root directory: hash seed, type siphash */
#define SMALL_ROOT_SEED	0x4137f6328f7745c8ULL

static void test_str_hash_vectors(void **state)
{
	static const struct {
		unsigned	type;
		const char	*name;
		uint64_t	hash;
	} v[] = {
		/* siphash: the first is small's dirent 4096:209325955329869202 */
		{ BCH_STR_HASH_siphash, "f0008.bin", 209325955329869202ULL },
		{ BCH_STR_HASH_siphash, "lost+found", 0x4f5a4338fb1b3725ULL },
		{ BCH_STR_HASH_siphash, "a", 0x384e217412eb3c5eULL },
		{ BCH_STR_HASH_crc32c, "f0008.bin", 0x2f075517 },
		{ BCH_STR_HASH_crc32c, "lost+found", 0xf23c5715 },
		{ BCH_STR_HASH_crc32c, "a", 0xb853767c },
		{ BCH_STR_HASH_crc64, "f0008.bin", 0x2def2a351e85e8e6ULL },
		{ BCH_STR_HASH_crc64, "lost+found", 0x081c585d5a06afb6ULL },
		{ BCH_STR_HASH_crc64, "a", 0x29af1926976eed98ULL },
		{ BCH_STR_HASH_siphash_old, "f0008.bin", 0x415a0ce792b9bf0bULL },
		{ BCH_STR_HASH_siphash_old, "lost+found", 0x4f16d33b68345c59ULL },
		{ BCH_STR_HASH_siphash_old, "a", 0x4dcf51fcd779cae8ULL },
	};
	struct bch_hash_info h;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(bch_hash_info_init(&h, v[i].type, SMALL_ROOT_SEED,
						    false), 0);
		assert_int_equal(bch_str_hash(&h, v[i].name, strlen(v[i].name)),
				 v[i].hash);
	}
	assert_int_equal(bch_hash_info_init(&h, 4, 0, false), -BCH_ERR_INVAL);

	assert_int_equal(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_crc32c, true),
			 BCH_STR_HASH_crc32c);
	assert_int_equal(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_crc64, false),
			 BCH_STR_HASH_crc64);
	assert_int_equal(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_siphash, true),
			 BCH_STR_HASH_siphash);
	assert_int_equal(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_siphash, false),
			 BCH_STR_HASH_siphash_old);
	assert_int_equal(bch_str_hash_opt_to_type(3, true), -BCH_ERR_INVAL);
}

/* ---- dirents ---- */

struct corpus_dirent {
	const char	*image;
	uint64_t	dir;
	const char	*dir_inode_hex;		/* the directory's inode_v3 */
	uint64_t	offset;
	const char	*hex;
	const char	*name;
	uint8_t		d_type;
	uint64_t	target;
};

static const struct corpus_dirent corpus_dirents[] = {
	{ "small", 4096, NULL, 209325955329869202ULL,
	  "e9100000000000000866303030382e62696e000000000000", "f0008.bin", 8, 0x10e9 },
	{ "small", 4096, NULL, 5717956588910360357ULL,
	  "0110000000000000046c6f73742b666f756e640000000000", "lost+found", 4, 0x1001 },
	{ "small", 4096, NULL, 3197225044219462510ULL,
	  "0210000000000000046469722d610000", "dir-a", 4, 0x1002 },
	{ "small", 4098, NULL, 111384786961256532ULL,
	  "3c100000000000000866303232392e62696e000000000000", "f0229.bin", 8, 0x103c },
	{ "tiny-128", 4096,
	  "0600000000000000bde405723744a8b400003016d31e0400000000000000000000"
	  "000000000000000000000000000000175b5c0800170bce1300170bce1300175b5c"
	  "08000000040000000000000000000000000000020000",
	  3494398379670432845ULL,
	  "0c100000000000000a6c696e6b2d746f2d64000000000000", "link-to-d", 10, 0x100c },
	{ "v136-small", 4096, NULL, 3847658383695136557ULL,
	  "0000008000000000046c6f73742b666f756e640000000000", "lost+found", 4,
	  0x80000000u },
	{ "v136-small", 4096, NULL, 503190370509352503ULL,
	  "21010080000000000866303233362e62696e000000000000", "f0236.bin", 8,
	  0x80000121u },
};

static const char *dir_inode_hex(const struct corpus_dirent *c, uint64_t *inum)
{
	*inum = c->dir;
	if (c->dir_inode_hex)
		return c->dir_inode_hex;
	for (size_t i = 0; i < ARRAY_SIZE(corpus_inodes); i++)
		if (!strcmp(corpus_inodes[i].image, c->image) &&
		    corpus_inodes[i].inum == c->dir)
			return corpus_inodes[i].hex;
	fail_msg("no inode %llu of %s", (unsigned long long)c->dir, c->image);
	return NULL;
}

static void test_dirent_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(corpus_dirents); i++) {
		const struct corpus_dirent *c = &corpus_dirents[i];
		uint64_t dir;
		const char *dhex = dir_inode_hex(c, &dir);
		struct bkey ik = key_hex(KEY_TYPE_inode_v3, BPOS(0, dir, SNAP), dhex);
		struct bkey dk = key_hex(KEY_TYPE_dirent, BPOS(dir, c->offset, SNAP), c->hex);
		struct bch_inode_unpacked u;
		struct bch_hash_info h;
		struct bch_dirent_unpacked d, n = { 0 };
		uint8_t out[BCH_DIRENT_MAX_BYTES];
		size_t bytes;
		struct bpos p;

		assert_int_equal(bch_inode_unpack(&ik, &u, NULL), 0);
		assert_int_equal(BCH_INODE_STR_HASH(&u), BCH_STR_HASH_siphash);
		assert_int_equal(bch_hash_info_from_inode(&h, &u), 0);

		assert_int_equal(bch_dirent_unpack(&dk, &d, NULL), 0);
		assert_null(bch_dirent_invalid(&d));
		assert_int_equal(d.name_len, strlen(c->name));
		assert_memory_equal(d.name, c->name, d.name_len);
		assert_int_equal(d.d_type, c->d_type);
		assert_int_equal(d.d_inum, c->target);
		assert_false(d.casefold);
		assert_int_equal(bch_dirent_hash_unpacked(&h, &d), c->offset);

		/* from scratch: name, target and type give the same key */
		n.d_inum = c->target;
		n.d_type = c->d_type;
		n.name = (const uint8_t *)c->name;
		n.name_len = (unsigned)strlen(c->name);
		assert_int_equal(bch_dirent_pack(&n, out, sizeof(out), &bytes), 0);
		assert_int_equal(bytes, dk.val_bytes);
		assert_memory_equal(out, dk.val, bytes);
		p = bch_dirent_pos(&h, dir, SNAP, c->name, strlen(c->name));
		assert_int_equal(p.inode, dir);
		assert_int_equal(p.offset, c->offset);
		assert_int_equal(p.snapshot, SNAP);

		key_free(&ik);
		key_free(&dk);
	}
}

static void test_dirent_layouts(void **state)
{
	struct bch_dirent_unpacked d = { 0 }, r;
	uint8_t out[BCH_DIRENT_MAX_BYTES];
	size_t bytes;
	struct bkey k;

	(void)state;
	/* 7-byte name: 16 bytes, no NUL after it */
	d.d_inum = 0x1234;
	d.d_type = 8;
	d.name = (const uint8_t *)"seven77";
	d.name_len = 7;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), 0);
	assert_int_equal(bytes, 16);
	k = key_bytes(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), out, bytes);
	assert_int_equal(bch_dirent_unpack(&k, &r, NULL), 0);
	assert_int_equal(r.name_len, 7);
	assert_memory_equal(r.name, "seven77", 7);
	key_free(&k);
	/* one byte less room is refused */
	assert_int_equal(bch_dirent_pack(&d, out, 15, &bytes), -BCH_ERR_RANGE);

	/* subvolume dirent: child, parent */
	memset(&d, 0, sizeof(d));
	d.d_type = BCH_DT_SUBVOL;
	d.d_child_subvol = 2;
	d.d_parent_subvol = 1;
	d.name = (const uint8_t *)"sub";
	d.name_len = 3;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), 0);
	{
		static const uint8_t want[16] = {
			2, 0, 0, 0, 1, 0, 0, 0, 16, 's', 'u', 'b',
		};

		assert_int_equal(bytes, 16);
		assert_memory_equal(out, want, 16);
	}
	k = key_bytes(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), out, bytes);
	assert_int_equal(bch_dirent_unpack(&k, &r, NULL), 0);
	assert_int_equal(r.d_child_subvol, 2);
	assert_int_equal(r.d_parent_subvol, 1);
	assert_int_equal(r.d_inum, 0);
	{
		struct printbuf pb = PRINTBUF;

		bch_dirent_to_text(&pb, &r);
		assert_string_equal(pb.buf, "sub -> 1 -> 2 type subvol");
		pb_exit(&pb);
	}
	key_free(&k);

	/* casefolded: pad, name_len, cf_name_len, both names */
	memset(&d, 0, sizeof(d));
	d.d_inum = 0x2001;
	d.d_type = 4;
	d.casefold = true;
	d.name = (const uint8_t *)"Dir";
	d.name_len = 3;
	d.cf_name = (const uint8_t *)"dir";
	d.cf_name_len = 3;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), 0);
	{
		static const uint8_t want[24] = {
			0x01, 0x20, 0, 0, 0, 0, 0, 0, 0x84, 0, 3, 0, 3, 0,
			'D', 'i', 'r', 'd', 'i', 'r',
		};

		assert_int_equal(bytes, 24);
		assert_memory_equal(out, want, 24);
	}
	k = key_bytes(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), out, bytes);
	assert_int_equal(bch_dirent_unpack(&k, &r, NULL), 0);
	assert_true(r.casefold);
	assert_int_equal(r.d_type, 4);
	assert_memory_equal(r.name, "Dir", 3);
	assert_memory_equal(r.cf_name, "dir", 3);
	{
		struct bch_hash_info h;
		struct printbuf pb = PRINTBUF;

		assert_int_equal(bch_hash_info_init(&h, BCH_STR_HASH_siphash,
						    SMALL_ROOT_SEED, false), 0);
		/* the lookup name of a casefolded dirent is the folded one */
		assert_int_equal(bch_dirent_hash_unpacked(&h, &r),
				 bch_dirent_hash(&h, "dir", 3));
		bch_dirent_to_text(&pb, &r);
		assert_string_equal(pb.buf, "Dir (casefold dir) -> 8193 type dir");
		pb_exit(&pb);
	}
	key_free(&k);

	/* names lengths past the value */
	out[12] = 200;
	k = key_bytes(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), out, bytes);
	assert_int_equal(bch_dirent_unpack(&k, &r, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	/* a casefolded dirent needs its folded name */
	d.cf_name_len = 0;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), -BCH_ERR_INVAL);
}

static void test_dirent_invalid(void **state)
{
	static const struct { const char *name; unsigned len; } bad[] = {
		{ "", 0 }, { ".", 1 }, { "..", 2 }, { "a/b", 3 }, { "a\0b", 3 },
	};
	struct bch_dirent_unpacked d = { .d_inum = 5, .d_type = 8 };
	uint8_t out[BCH_DIRENT_MAX_BYTES], name[BCH_NAME_MAX + 1];
	size_t bytes;
	const char *why = NULL;
	struct bkey k;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d.name = (const uint8_t *)bad[i].name;
		d.name_len = bad[i].len;
		assert_non_null(bch_dirent_invalid(&d));
		assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes),
				 -BCH_ERR_INVAL);
	}
	memset(name, 'n', sizeof(name));
	d.name = name;
	d.name_len = BCH_NAME_MAX;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), 0);
	assert_int_equal(bytes, (9 + BCH_NAME_MAX + 7) & ~7u);
	d.name_len = BCH_NAME_MAX + 1;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), -BCH_ERR_INVAL);
	d.name_len = 3;
	d.d_type = BCH_DT_MAX;
	assert_int_equal(bch_dirent_pack(&d, out, sizeof(out), &bytes), -BCH_ERR_INVAL);

	/* too small a value; not a dirent */
	k = key_hex(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), "0500000000000000");
	assert_int_equal(bch_dirent_unpack(&k, &d, &why), -BCH_ERR_CORRUPT);
	assert_non_null(why);
	k.type = KEY_TYPE_xattr;
	assert_int_equal(bch_dirent_unpack(&k, &d, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	/* an all-zero name area decodes as the empty name, which is invalid */
	k = key_hex(KEY_TYPE_dirent, BPOS(ROOT, 100, SNAP), "05000000000000000800000000000000");
	assert_int_equal(bch_dirent_unpack(&k, &d, NULL), 0);
	assert_int_equal(d.name_len, 0);
	assert_string_equal(bch_dirent_invalid(&d), "empty name");
	key_free(&k);

	assert_string_equal(bch_d_type_name(8), "reg");
	assert_string_equal(bch_d_type_name(16), "subvol");
	assert_string_equal(bch_d_type_name(3), "(invalid)");
	assert_int_equal(bch_mode_to_d_type(0120777), 10);
	assert_int_equal(bch_mode_to_d_type(040755), 4);
}

static void test_dirent_hash_rules(void **state)
{
	struct bch_hash_info h;
	uint64_t full;

	(void)state;
	assert_int_equal(bch_hash_info_init(&h, BCH_STR_HASH_siphash,
					    SMALL_ROOT_SEED, false), 0);
	full = bch_dirent_hash(&h, "f0008.bin", 9);
	assert_int_equal(full, 209325955329869202ULL);
	/* a 31bit_dirent_offset directory keeps the low 31 bits */
	assert_int_equal(bch_hash_info_init(&h, BCH_STR_HASH_siphash,
					    SMALL_ROOT_SEED, true), 0);
	assert_int_equal(bch_dirent_hash(&h, "f0008.bin", 9), full & INT32_MAX);
	{
		struct bch_inode_unpacked u = { 0 };

		u.bi_hash_seed = SMALL_ROOT_SEED;
		u.bi_flags = 15ULL << 20 | BCH_INODE_FLAG_31bit_dirent_offset;
		bch_inode_set_str_hash(&u, BCH_STR_HASH_siphash);
		assert_int_equal(u.bi_flags, 3ULL << 20 |
				 BCH_INODE_FLAG_31bit_dirent_offset);
		assert_int_equal(bch_hash_info_from_inode(&h, &u), 0);
		assert_true(h.is_31bit);
		assert_int_equal(bch_dirent_hash(&h, "f0008.bin", 9), full & INT32_MAX);
	}
	/* xattr hashes are never masked */
	assert_int_equal(bch_xattr_hash(&h, 0, "foo", 3), 0x606094e566cf62efULL);
}

/* ---- xattrs ---- */

static void test_xattr_round_trip(void **state)
{
	struct bch_xattr_unpacked x = { 0 }, r;
	uint8_t out[BCH_XATTR_MAX_BYTES];
	size_t bytes;
	struct bkey k;
	struct bch_hash_info h;
	unsigned type = 99;
	const char *name = NULL, *why = NULL;

	(void)state;
	assert_int_equal(bch_xattr_name_parse("user.foo", &type, &name), 0);
	assert_int_equal(type, BCH_XATTR_INDEX_USER);
	assert_string_equal(name, "foo");
	assert_int_equal(bch_xattr_name_parse("security.selinux", &type, &name), 0);
	assert_int_equal(type, BCH_XATTR_INDEX_SECURITY);
	assert_int_equal(bch_xattr_name_parse("trusted.t", &type, &name), 0);
	assert_int_equal(type, BCH_XATTR_INDEX_TRUSTED);
	assert_int_equal(bch_xattr_name_parse("system.posix_acl_access", &type, &name),
			 -BCH_ERR_INVAL);
	assert_int_equal(bch_xattr_name_parse("foo", &type, &name), -BCH_ERR_INVAL);

	x.type = BCH_XATTR_INDEX_USER;
	x.name = (const uint8_t *)"foo";
	x.name_len = 3;
	x.value = (const uint8_t *)"bar!";
	x.val_len = 4;
	assert_int_equal(bch_xattr_pack(&x, out, sizeof(out), &bytes), 0);
	{
		static const uint8_t want[16] = {
			0, 3, 4, 0, 'f', 'o', 'o', 'b', 'a', 'r', '!',
		};

		assert_int_equal(bytes, 16);
		assert_memory_equal(out, want, 16);
	}
	k = key_bytes(KEY_TYPE_xattr, BPOS(4099, 1, SNAP), out, bytes);
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), 0);
	assert_int_equal(r.type, 0);
	assert_int_equal(r.name_len, 3);
	assert_int_equal(r.val_len, 4);
	assert_memory_equal(r.name, "foo", 3);
	assert_memory_equal(r.value, "bar!", 4);
	{
		struct printbuf pb = PRINTBUF;

		bch_xattr_to_text(&pb, &r);
		assert_string_equal(pb.buf, "user.foo:bar!");
		pb_exit(&pb);
	}
	key_free(&k);

	/* hash of the type byte and the name: independent vectors */
	assert_int_equal(bch_hash_info_init(&h, BCH_STR_HASH_siphash,
					    SMALL_ROOT_SEED, false), 0);
	assert_int_equal(bch_xattr_hash(&h, 0, "foo", 3), 0x606094e566cf62efULL);
	assert_int_equal(bch_hash_info_init(&h, BCH_STR_HASH_crc32c,
					    SMALL_ROOT_SEED, false), 0);
	assert_int_equal(bch_xattr_hash(&h, 0, "foo", 3), 0x6a89dc01);

	/* a value too big for a 255-u64 key */
	{
		static uint8_t big[BCH_XATTR_MAX_BYTES];

		x.value = big;
		x.val_len = BCH_XATTR_MAX_BYTES - 4 - 3;
		assert_int_equal(bch_xattr_pack(&x, out, sizeof(out), &bytes), 0);
		assert_int_equal(bytes, BCH_XATTR_MAX_BYTES);
		x.val_len++;
		assert_int_equal(bch_xattr_pack(&x, out, sizeof(out), &bytes),
				 -BCH_ERR_RANGE);
	}
	x.type = BCH_XATTR_INDEX_NR;
	x.val_len = 1;
	assert_int_equal(bch_xattr_pack(&x, out, sizeof(out), &bytes), -BCH_ERR_INVAL);

	/* lengths beyond the value; 8 extra bytes; unknown type; NUL in name */
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP), "0003090066666f0000000000");
	assert_int_equal(bch_xattr_unpack(&k, &r, &why), -BCH_ERR_CORRUPT);
	key_free(&k);
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP),
		    "0003010066666f7800000000000000000000000000000000");
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP), "0503010066666f78");
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP), "0003010066006f78");
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	/* up to 4 bytes of slack (rounded up to u64s) are accepted */
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP),
		    "0003050066666f7878787878000000000000000000000000");
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	k = key_hex(KEY_TYPE_xattr, BPOS(4099, 1, SNAP),
		    "00030600666f6f7878787878780000000000000000000000");
	assert_int_equal(bch_xattr_unpack(&k, &r, NULL), 0);
	assert_int_equal(r.val_len, 6);
	key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inode_repack_corpus),
		cmocka_unit_test(test_inode_pack_layout),
		cmocka_unit_test(test_inode_pack_limits),
		cmocka_unit_test(test_str_hash_vectors),
		cmocka_unit_test(test_dirent_corpus),
		cmocka_unit_test(test_dirent_layouts),
		cmocka_unit_test(test_dirent_invalid),
		cmocka_unit_test(test_dirent_hash_rules),
		cmocka_unit_test(test_xattr_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
