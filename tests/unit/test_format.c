/*
 * Unit tests of format's geometry and superblock layout against what
 * upstream's format chose for the fresh images of the corpus
 * (../shared/images/README.md, "Fresh images": the same command lines
 * give these sizes), and a whole format of a temporary file read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btree_alloc.h"
#include "btree_iter.h"
#include "format.h"
#include "fs.h"
#include "sb_build.h"
#include "super.h"

static void geometry(uint16_t version, const uint64_t *mib, unsigned nr, uint32_t bucket_size,
		     uint32_t node_size, struct bch_format_opts *o, struct bch_format_dev *d)
{
	struct bch_error err = { 0 };

	bch_format_opts_default(o);
	o->version = version;
	o->block_size = 4096;
	o->btree_node_size = node_size;
	memset(d, 0, nr * sizeof(*d));
	for (unsigned i = 0; i < nr; i++) {
		d[i].path = "test";
		d[i].size = mib[i] << 20;
		d[i].bucket_size = bucket_size;
	}
	assert_int_equal(bch_format_geometry(o, d, nr, &err), 0);
}

/* fresh-128-default, fresh-128-two-dev, fresh-128-opts */
static void test_geometry_1_28(void **state)
{
	static const uint64_t one[] = { 64 }, two[] = { 64, 32 };
	struct bch_format_opts o;
	struct bch_format_dev d[2];

	(void)state;
	geometry(BCH_VERSION_1_28, one, 1, 0, 0, &o, d);
	assert_int_equal(d[0].bucket_size, 256 << 10);
	assert_int_equal(d[0].nbuckets, 256);
	assert_int_equal(d[0].nr_journal, 8);
	assert_int_equal(o.btree_node_size, 256 << 10);

	geometry(BCH_VERSION_1_28, two, 2, 0, 0, &o, d);
	assert_int_equal(d[0].bucket_size, 256 << 10);
	assert_int_equal(d[1].bucket_size, 128 << 10);
	assert_int_equal(d[1].nbuckets, 256);
	assert_int_equal(o.btree_node_size, 128 << 10);

	geometry(BCH_VERSION_1_28, one, 1, 128 << 10, 64 << 10, &o, d);
	assert_int_equal(d[0].nbuckets, 512);
	assert_int_equal(o.btree_node_size, 64 << 10);
}

/* v136-fresh-default, v136-fresh-two-dev, v136-fresh-opts */
static void test_geometry_1_36(void **state)
{
	static const uint64_t one[] = { 64 }, two[] = { 64, 32 };
	struct bch_format_opts o;
	struct bch_format_dev d[2];

	(void)state;
	geometry(BCH_VERSION_1_36, one, 1, 0, 0, &o, d);
	assert_int_equal(d[0].bucket_size, 64 << 10);
	assert_int_equal(d[0].nbuckets, 1024);
	assert_int_equal(d[0].nr_journal, 8);
	assert_int_equal(o.btree_node_size, 64 << 10);

	geometry(BCH_VERSION_1_36, two, 2, 0, 0, &o, d);
	assert_int_equal(d[0].nbuckets, 1024);
	assert_int_equal(d[1].bucket_size, 64 << 10);
	assert_int_equal(d[1].nbuckets, 512);

	geometry(BCH_VERSION_1_36, one, 1, 128 << 10, 64 << 10, &o, d);
	assert_int_equal(d[0].nbuckets, 512);
}

/* 1/128 of the buckets, clamped to 8..8192 and 8 GiB */
static void test_journal_size(void **state)
{
	static const uint64_t big[] = { 1ULL << 20 };	/* 1 TiB */
	struct bch_format_opts o;
	struct bch_format_dev d[1];

	(void)state;
	geometry(BCH_VERSION_1_36, big, 1, 1 << 20, 0, &o, d);
	assert_int_equal(d[0].nbuckets, 1 << 20);
	assert_int_equal(d[0].nr_journal, 8192);
	geometry(BCH_VERSION_1_36, big, 1, 8 << 20, 0, &o, d);
	assert_int_equal(d[0].nr_journal, 1024);	/* 8 GiB of 8 MiB buckets */
}

static void test_refusals(void **state)
{
	struct bch_format_opts o;
	struct bch_format_dev d = { .path = "small", .size = 16 << 20 };
	struct bch_error err = { 0 };

	(void)state;
	bch_format_opts_default(&o);
	o.block_size = 4096;
	o.version = BCH_VERSION_1_36;
	d.bucket_size = 64 << 10;	/* 256 buckets: 1.36 wants 512 */
	assert_int_equal(bch_format_geometry(&o, &d, 1, &err), -BCH_ERR_INVAL);
	memset(&err, 0, sizeof(err));
	o.version = BCH_VERSION(1, 30);
	assert_int_equal(bch_format_geometry(&o, &d, 1, &err), -BCH_ERR_INVAL);
	memset(&err, 0, sizeof(err));
	o.version = BCH_VERSION_1_38;
	assert_int_equal(bch_format_geometry(&o, &d, 1, &err), -BCH_ERR_INVAL);
	memset(&err, 0, sizeof(err));
	o.version = BCH_VERSION_1_28;
	o.block_size = 3000;
	assert_int_equal(bch_format_geometry(&o, &d, 1, &err), -BCH_ERR_INVAL);
}

/* the copies of the fresh images: 8, 2056, and the end rounded down to a bucket */
static void test_layout(void **state)
{
	struct bch_sb_layout l;

	(void)state;
	bch_sb_layout_new(&l, 11, 8, 512, 131072);
	assert_int_equal(l.nr_superblocks, 3);
	assert_int_equal(l.sb_offset[0], 8);
	assert_int_equal(l.sb_offset[1], 2056);
	assert_int_equal(l.sb_offset[2], 129024);
	assert_int_equal(l.sb_max_size_bits, 11);
	/* 64 KiB blocks: the second copy on a block boundary */
	bch_sb_layout_new(&l, 11, 128, 1024, 1 << 20);
	assert_int_equal(l.sb_offset[1], 2176);
	assert_int_equal(l.sb_offset[2] % 1024, 0);
}

/* a 1.36 filesystem on a temporary file, opened again: clean, journal after the sb */
static void test_format_file(void **state)
{
	char path[] = "/tmp/test_format.XXXXXX";
	int fd = mkstemp(path);
	struct bch_format_opts o;
	struct bch_format_dev d = { .path = path };
	struct bch_format_result res;
	struct bch_error err = { 0 };
	struct bch_fs_opts fo = { 0 };
	struct bch_fs *fs = NULL;
	char *paths[] = { path };

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	bch_format_opts_default(&o);
	o.version = BCH_VERSION_1_36;
	assert_int_equal(bch_format(&o, &d, 1, &res, &err), 0);
	assert_true(res.nr_nodes >= 10);
	/* a second format without force is refused */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_format(&o, &d, 1, &res, &err), -BCH_ERR_INVAL);
	assert_non_null(strstr(err.msg, "bcachefs superblock"));

	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_fs_open(paths, 1, &fo, &fs, &err), 0);
	assert_true(BCH_SB_CLEAN(fs->sb));
	assert_int_equal(fs->sb->version, BCH_VERSION_1_36);
	assert_int_equal(fs->sb->members[0].nbuckets, 1024);
	assert_int_equal(fs->devs[0]->sb.nr_journal_buckets, 8);
	assert_int_equal(fs->devs[0]->sb.journal_buckets[0], 33);
	assert_true(fs->journal.roots[BTREE_ID_alloc].present);
	assert_true(fs->journal.roots[BTREE_ID_inodes].present);
	bch_fs_close(fs);
	unlink(path);
}

/* the one key of btree at p: its type and value, or -1 */
static int key_at(struct bch_fs *fs, unsigned btree, struct bpos p, uint8_t *val, size_t *len)
{
	struct bch_btree_iter it;
	struct bch_error err = { 0 };
	struct bkey k;
	int type = -1;

	bch_btree_iter_init(&it, fs, btree, p, p);
	if (bch_btree_iter_next(&it, &k, &err) > 0 && bpos_eq(k.p, p)) {
		type = k.type;
		*len = k.val_bytes;
		memcpy(val, k.val, k.val_bytes);
	}
	bch_btree_iter_exit(&it);
	return type;
}

/* the bytes of the inode keys, unpacked */
static uint64_t inode_key_bytes(struct bch_fs *fs)
{
	struct bch_btree_iter it;
	struct bch_error err = { 0 };
	struct bkey k;
	uint64_t n = 0;

	bch_btree_iter_init(&it, fs, BTREE_ID_inodes, POS_MIN, SPOS_MAX);
	while (bch_btree_iter_next(&it, &k, &err) > 0)
		n += 40 + k.val_bytes;
	bch_btree_iter_exit(&it);
	return n;
}

/*
 * 1.39 as upstream's v1.39.2 leaves it (images-v139, v139-fresh-*): 1.36
 * the incompat version in use, 328-byte members, errors_v2, a downgrade
 * table of 1.38 and 1.39, subvolume and snapshot in state live, the
 * inode cursor at 1:1, the keys of inodes and dirents in the accounting
 */
static void test_format_file_1_39(void **state)
{
	char path[] = "/tmp/test_format.XXXXXX";
	int fd = mkstemp(path);
	struct bch_format_opts o;
	struct bch_format_dev d = { .path = path };
	struct bch_format_result res;
	struct bch_error err = { 0 };
	struct bch_fs_opts fo = { 0 };
	struct bch_fs *fs = NULL;
	char *paths[] = { path };
	const struct bch_sb_field_ref *f;
	uint8_t val[64];
	size_t len = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	bch_format_opts_default(&o);
	o.version = BCH_VERSION_1_39;
	o.block_size = 512;
	o.btree_node_size = 32 << 10;
	d.bucket_size = 32 << 10;
	assert_int_equal(bch_format(&o, &d, 1, &res, &err), 0);
	assert_int_equal(bch_fs_open(paths, 1, &fo, &fs, &err), 0);
	assert_int_equal(fs->sb->version, BCH_VERSION_1_39);
	assert_int_equal(bits64(fs->sb->flags[5], 32, 48), BCH_VERSION_1_36);
	assert_int_equal(fs->sb->member_bytes, 328);
	assert_null(bch_sb_field_get(fs->sb, BCH_SB_FIELD_errors));
	assert_non_null(bch_sb_field_get(fs->sb, BCH_SB_FIELD_errors_v2));
	f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_ext);
	assert_non_null(f);
	assert_int_equal(f->bytes, 120);
	f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_counters);
	assert_non_null(f);
	assert_int_equal(f->bytes, 8 + 8 * 136);
	/* two entries of 26 bytes, padded to 64 */
	f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_downgrade);
	assert_non_null(f);
	assert_int_equal(f->bytes, 64);
	assert_int_equal(get_le16(f->p + 8), BCH_VERSION_1_38);
	assert_int_equal(get_le16(f->p + 8 + 26), BCH_VERSION_1_39);
	assert_int_equal(get_le64(f->p + 8 + 26 + 2), (1u << 5) | (1u << 11) | (1u << 15));

	assert_int_equal(key_at(fs, BTREE_ID_subvolumes, BPOS(0, 1, 0), val, &len),
			 KEY_TYPE_subvolume);
	assert_int_equal(len, 48);
	assert_int_equal(get_le32(val + 40), 0x4ad5447e);
	assert_int_equal(key_at(fs, BTREE_ID_snapshots, BPOS(0, UINT32_MAX, 0), val, &len),
			 KEY_TYPE_snapshot);
	assert_int_equal(len, 64);
	assert_int_equal(get_le32(val + 56), 0x757c47a2);
	assert_int_equal(key_at(fs, BTREE_ID_logged_ops, BPOS(1, 1, 0), val, &len),
			 KEY_TYPE_inode_alloc_cursor);
	assert_int_equal(key_at(fs, BTREE_ID_accounting,
				bch_acct_snapshot_pos(UINT32_MAX, BTREE_ID_inodes), val, &len),
			 KEY_TYPE_accounting);
	assert_int_equal(len, 24);
	assert_int_equal(get_le64(val), 2);
	/* each inode's key unpacked: 40 bytes of header and its value */
	assert_int_equal(get_le64(val + 8), inode_key_bytes(fs));
	assert_int_equal(key_at(fs, BTREE_ID_accounting,
				bch_acct_snapshot_pos(UINT32_MAX, BTREE_ID_dirents), val, &len),
			 KEY_TYPE_accounting);
	assert_int_equal(get_le64(val), 1);
	assert_int_equal(get_le64(val + 8), 64);
	bch_fs_close(fs);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry_1_28),
		cmocka_unit_test(test_geometry_1_36),
		cmocka_unit_test(test_journal_size),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_format_file),
		cmocka_unit_test(test_format_file_1_39),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
