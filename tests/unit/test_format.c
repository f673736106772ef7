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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry_1_28),
		cmocka_unit_test(test_geometry_1_36),
		cmocka_unit_test(test_journal_size),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_format_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
