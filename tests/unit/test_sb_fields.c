/*
 * Unit tests of sb_fields.c (and the field printing of super_text.c) on
 * hand-made superblock field bytes, whole and truncated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "printbuf.h"
#include "sb_fields.h"
#include "super_text.h"

/* a field header: u64s (whole field, in u64s) and type */
static void field_hdr(uint8_t *f, unsigned u64s, unsigned type)
{
	put_le32(f, u64s);
	put_le32(f + 4, type);
}

static void test_nr_entries(void **state)
{
	(void)state;
	assert_int_equal(bch_sb_field_nr_entries(0, 8, 16), 0);
	assert_int_equal(bch_sb_field_nr_entries(8, 8, 16), 0);
	assert_int_equal(bch_sb_field_nr_entries(23, 8, 16), 0);
	assert_int_equal(bch_sb_field_nr_entries(24, 8, 16), 1);
	assert_int_equal(bch_sb_field_nr_entries(40, 8, 0), 0);
}

/* the example of bcachefs-format.md §2.8.4 */
static const uint8_t replicas_v0_example[24] = {
	3, 0, 0, 0, 3, 0, 0, 0,
	3, 1, 0,  2, 1, 0,  4, 1, 0,
};

static void test_replicas_v0(void **state)
{
	static const uint8_t types[] = { 3, 2, 4 };
	struct bch_replicas_entry e;
	size_t pos = 0;
	unsigned n = 0;
	int ret;

	(void)state;
	while ((ret = bch_sb_replicas_next(replicas_v0_example, sizeof(replicas_v0_example),
					   true, &pos, &e)) > 0) {
		assert_true(n < 3);
		assert_int_equal(e.data_type, types[n]);
		assert_int_equal(e.nr_devs, 1);
		assert_int_equal(e.nr_required, 1);
		assert_int_equal(e.devs[0], 0);
		n++;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(n, 3);
}

static void test_replicas_truncated(void **state)
{
	/* second entry claims 3 devices, only 2 bytes remain */
	static const uint8_t f[16] = {
		2, 0, 0, 0, 7, 0, 0, 0,
		3, 2, 1, 0, 1,	4, 3, 1,
	};
	struct bch_replicas_entry e;
	size_t pos = 0;

	(void)state;
	assert_int_equal(bch_sb_replicas_next(f, sizeof(f), false, &pos, &e), 1);
	assert_int_equal(e.data_type, 3);
	assert_int_equal(e.nr_devs, 2);
	assert_int_equal(e.nr_required, 1);
	assert_int_equal(e.devs[1], 1);
	assert_int_equal(pos, 13);
	assert_int_equal(bch_sb_replicas_next(f, sizeof(f), false, &pos, &e), -BCH_ERR_CORRUPT);
	/* header cut: a v1 entry needs 3 bytes */
	pos = 14;
	assert_int_equal(bch_sb_replicas_next(f, 15, false, &pos, &e), -BCH_ERR_CORRUPT);
	/* nothing after the header */
	pos = 0;
	assert_int_equal(bch_sb_replicas_next(f, 8, true, &pos, &e), 0);
	assert_int_equal(bch_sb_replicas_next(f, 3, true, &pos, &e), 0);
}

static void test_errors(void **state)
{
	uint8_t f[40] = { 0 };
	struct bch_sb_error_entry e;

	(void)state;
	field_hdr(f, 5, BCH_SB_FIELD_errors);
	put_le64(f + 8, 5 | 3ULL << 16);
	put_le64(f + 16, 1000);
	put_le64(f + 24, 322 | 70000ULL << 16);
	put_le64(f + 32, 2000);

	assert_int_equal(bch_sb_errors_nr(sizeof(f)), 2);
	e = bch_sb_error_get(f, sizeof(f), 0);
	assert_int_equal(e.id, 5);
	assert_int_equal(e.nr, 3);
	assert_int_equal(e.last_time, 1000);
	e = bch_sb_error_get(f, sizeof(f), 1);
	assert_int_equal(e.id, 322);
	assert_int_equal(e.nr, 70000);

	/* truncated: the second entry does not fit and is not returned */
	assert_int_equal(bch_sb_errors_nr(32), 1);
	e = bch_sb_error_get(f, 32, 1);
	assert_int_equal(e.id, 0);
	assert_int_equal(e.nr, 0);
}

static void test_ext(void **state)
{
	uint8_t f[96] = { 0 };
	struct bch_sb_ext e;

	(void)state;
	field_hdr(f, 12, BCH_SB_FIELD_ext);
	put_le64(f + 8, 1ULL << 14);
	put_le64(f + 24 + 8 * 7, 1ULL << 63);
	put_le64(f + 88, 1ULL << 4);

	assert_int_equal(bch_sb_ext_get(f, 96, &e), 0);
	assert_int_equal(e.recovery_passes_required[0], 1ULL << 14);
	assert_int_equal(e.errors_silent[7], 1ULL << 63);
	assert_true(e.has_btrees_lost_data);
	assert_int_equal(e.btrees_lost_data, 1ULL << 4);

	assert_int_equal(bch_sb_ext_get(f, 88, &e), 0);
	assert_false(e.has_btrees_lost_data);
	assert_int_equal(e.btrees_lost_data, 0);

	assert_int_equal(bch_sb_ext_get(f, 80, &e), -BCH_ERR_CORRUPT);
	assert_int_equal(e.recovery_passes_required[0], 0);
}

static void test_downgrade(void **state)
{
	uint8_t f[64] = { 0 };
	struct bch_sb_downgrade_entry e;
	size_t pos = 0;

	(void)state;
	field_hdr(f, 8, BCH_SB_FIELD_downgrade);
	/* record 1 at 8: version 1.9, pass 5, two errors (24 bytes) */
	put_le16(f + 8, BCH_VERSION(1, 9));
	put_le64(f + 10, 1ULL << 5);
	put_le16(f + 26, 2);
	put_le16(f + 28, 76);
	put_le16(f + 30, 77);
	/* record 2 at 32: claims 20 errors, only 6 bytes left after its header */
	put_le16(f + 32, BCH_VERSION(1, 12));
	put_le16(f + 50, 20);

	assert_int_equal(bch_sb_downgrade_next(f, sizeof(f), &pos, &e), 1);
	assert_int_equal(e.version, BCH_VERSION(1, 9));
	assert_int_equal(e.recovery_passes[0], 1ULL << 5);
	assert_int_equal(e.nr_errors, 2);
	assert_int_equal(bch_sb_downgrade_error(&e, 0), 76);
	assert_int_equal(bch_sb_downgrade_error(&e, 1), 77);
	assert_int_equal(bch_sb_downgrade_error(&e, 2), 0);
	assert_int_equal(pos, 32);
	assert_int_equal(bch_sb_downgrade_next(f, sizeof(f), &pos, &e), 0);
	assert_int_equal(e.nr_errors, 0);

	/* the first record cut in its error list, then in its header */
	pos = 0;
	assert_int_equal(bch_sb_downgrade_next(f, 30, &pos, &e), 0);
	assert_int_equal(bch_sb_downgrade_next(f, 20, &pos, &e), 0);
}

static void test_counters_blacklist(void **state)
{
	uint8_t f[40] = { 0 };
	struct bch_blacklist_range r;

	(void)state;
	field_hdr(f, 5, BCH_SB_FIELD_counters);
	put_le64(f + 8, 11);
	put_le64(f + 32, 44);
	assert_int_equal(bch_sb_counters_nr(sizeof(f)), 4);
	assert_int_equal(bch_sb_counter_get(f, sizeof(f), 0), 11);
	assert_int_equal(bch_sb_counter_get(f, sizeof(f), 3), 44);
	assert_int_equal(bch_sb_counter_get(f, sizeof(f), 4), 0);
	assert_int_equal(bch_sb_counters_nr(39), 3);
	assert_int_equal(bch_sb_counter_get(f, 39, 3), 0);

	field_hdr(f, 5, BCH_SB_FIELD_journal_seq_blacklist);
	put_le64(f + 8, 9);
	put_le64(f + 16, 73);
	assert_int_equal(bch_sb_blacklist_nr(sizeof(f)), 2);
	r = bch_sb_blacklist_get(f, sizeof(f), 0);
	assert_int_equal(r.start, 9);
	assert_int_equal(r.end, 73);
	assert_int_equal(bch_sb_blacklist_nr(20), 0);
	r = bch_sb_blacklist_get(f, 20, 0);
	assert_int_equal(r.end, 0);
}

static void test_journal(void **state)
{
	uint8_t f[40] = { 0 };
	struct bch_sb_journal_range r;

	(void)state;
	field_hdr(f, 5, BCH_SB_FIELD_journal_v2);
	put_le64(f + 8, 9);
	put_le64(f + 16, 8);
	put_le64(f + 24, 100);
	put_le64(f + 32, 2);
	assert_int_equal(bch_sb_journal_v2_nr(sizeof(f)), 2);
	r = bch_sb_journal_v2_range(f, sizeof(f), 1);
	assert_int_equal(r.start, 100);
	assert_int_equal(r.nr, 2);
	assert_int_equal(bch_sb_journal_v2_nr(39), 1);
	r = bch_sb_journal_v2_range(f, 39, 1);
	assert_int_equal(r.nr, 0);

	assert_int_equal(bch_sb_journal_nr(sizeof(f)), 4);
	assert_int_equal(bch_sb_journal_bucket(f, sizeof(f), 0), 9);
	assert_int_equal(bch_sb_journal_bucket(f, sizeof(f), 4), 0);
}

static void test_disk_groups(void **state)
{
	uint8_t f[8 + 3 * 48] = { 0 };
	struct bch_disk_group g;
	char path[64];

	(void)state;
	field_hdr(f, sizeof(f) / 8, BCH_SB_FIELD_disk_groups);
	memcpy(f + 8, "ssd", 3);
	put_le64(f + 8 + 32, 0x1cULL << 1);
	memcpy(f + 56, "fast", 4);
	put_le64(f + 56 + 32, 1ULL << 6);		/* parent: group 0 */
	memcpy(f + 104, "loop", 4);
	put_le64(f + 104 + 32, 3ULL << 6);		/* parent: itself */

	assert_int_equal(bch_sb_disk_groups_nr(sizeof(f)), 3);
	assert_int_equal(bch_sb_disk_group_get(f, sizeof(f), 0, &g), 0);
	assert_string_equal(g.label, "ssd");
	assert_int_equal(g.data_allowed, 0x1c);
	assert_int_equal(g.parent, 0);
	assert_false(g.deleted);

	assert_int_equal(bch_sb_disk_group_path(f, sizeof(f), 1, path, sizeof(path)), 0);
	assert_string_equal(path, "ssd.fast");
	assert_int_equal(bch_sb_disk_group_path(f, sizeof(f), 2, path, sizeof(path)),
			 -BCH_ERR_CORRUPT);
	assert_int_equal(bch_sb_disk_group_path(f, sizeof(f), 3, path, sizeof(path)),
			 -BCH_ERR_CORRUPT);

	/* a 32-byte label has no NUL */
	memset(f + 8, 'x', 32);
	assert_int_equal(bch_sb_disk_group_get(f, sizeof(f), 0, &g), 0);
	assert_int_equal(strlen(g.label), 32);

	/* deleted parent */
	put_le64(f + 8 + 32, 1);
	assert_int_equal(bch_sb_disk_group_path(f, sizeof(f), 1, path, sizeof(path)),
			 -BCH_ERR_CORRUPT);

	/* truncated: the third group is cut */
	assert_int_equal(bch_sb_disk_groups_nr(sizeof(f) - 1), 2);
	assert_int_equal(bch_sb_disk_group_get(f, sizeof(f) - 1, 2, &g), -BCH_ERR_CORRUPT);
}

static void test_members(void **state)
{
	uint8_t f[16 + 2 * 224] = { 0 };
	struct bch_member m;
	uint8_t *e1 = f + 16 + 224;

	(void)state;
	field_hdr(f, sizeof(f) / 8, BCH_SB_FIELD_members_v2);
	put_le16(f + 8, 224);
	memset(e1, 0xab, 16);
	put_le64(e1 + 16, 512);
	put_le16(e1 + 24, 1);
	put_le16(e1 + 26, 128);
	e1[28] = 9;
	put_le64(e1 + 40, 3ULL << 32 | 0x1cULL << 15 | 1ULL << 14);
	memcpy(e1 + 144, "0123456789abcdef", 16);

	assert_int_equal(bch_sb_members_nr(f, sizeof(f), BCH_SB_FIELD_members_v2), 2);
	assert_int_equal(bch_sb_member_get(f, sizeof(f), BCH_SB_FIELD_members_v2, 0, &m), 0);
	assert_false(m.exists);
	assert_int_equal(bch_sb_member_get(f, sizeof(f), BCH_SB_FIELD_members_v2, 1, &m), 0);
	assert_true(m.exists);
	assert_int_equal(m.nbuckets, 512);
	assert_int_equal(m.first_bucket, 1);
	assert_int_equal(m.bucket_size, 128);
	assert_int_equal(m.btree_bitmap_shift, 9);
	assert_int_equal(BCH_MEMBER_DATA_ALLOWED(&m), 0x1c);
	assert_int_equal(BCH_MEMBER_DISCARD(&m), 1);
	assert_int_equal(BCH_MEMBER_ROTATIONAL(&m), 1);
	assert_string_equal(m.device_name, "0123456789abcdef");

	/* second entry cut off */
	assert_int_equal(bch_sb_members_nr(f, sizeof(f) - 8, BCH_SB_FIELD_members_v2), 1);
	assert_int_equal(bch_sb_member_get(f, sizeof(f) - 8, BCH_SB_FIELD_members_v2, 1, &m),
			 -BCH_ERR_CORRUPT);
	/* member_bytes 0, and a field too short to hold member_bytes */
	put_le16(f + 8, 0);
	assert_int_equal(bch_sb_members_nr(f, sizeof(f), BCH_SB_FIELD_members_v2), 0);
	assert_int_equal(bch_sb_members_nr(f, 12, BCH_SB_FIELD_members_v2), 0);
	/* members_v1: fixed 56-byte entries from byte 8 */
	assert_int_equal(bch_sb_members_nr(f, 8 + 3 * 56 + 55, BCH_SB_FIELD_members_v1), 3);
}

static void test_crypt(void **state)
{
	uint8_t f[64] = { 0 };
	struct bch_sb_crypt_info c;

	(void)state;
	field_hdr(f, 8, BCH_SB_FIELD_crypt);
	put_le64(f + 16, 14 | 3ULL << 16 | 4ULL << 32);
	memcpy(f + 24, "bch**key", 8);
	assert_int_equal(bch_sb_crypt_info(f, sizeof(f), &c), 0);
	assert_int_equal(c.kdf_type, 0);
	assert_int_equal(c.log_n, 14);
	assert_int_equal(c.log_r, 3);
	assert_int_equal(c.log_p, 4);
	assert_true(c.key_plain);
	f[24] ^= 1;
	assert_int_equal(bch_sb_crypt_info(f, sizeof(f), &c), 0);
	assert_false(c.key_plain);
	assert_int_equal(bch_sb_crypt_info(f, 63, &c), -BCH_ERR_CORRUPT);
}

static void test_small_fields(void **state)
{
	uint8_t f[24] = { 0 };
	struct bch_sb_recovery_pass_entry r;
	struct bch_sb_clean_hdr h;

	(void)state;
	field_hdr(f, 3, BCH_SB_FIELD_extent_type_u64s);
	memcpy(f + 8, "\1\1\2\3\1\1\1\1\1", 9);
	assert_int_equal(bch_sb_extent_type_u64s_nr(f, sizeof(f)), 9);
	assert_int_equal(bch_sb_extent_type_u64s_nr(f, 12), 4);
	assert_int_equal(bch_sb_extent_type_u64s_nr(f, 5), 0);

	field_hdr(f, 3, BCH_SB_FIELD_recovery_passes);
	put_le64(f + 8, 1700000000);
	put_le32(f + 16, 3);
	put_le32(f + 20, 1);
	assert_int_equal(bch_sb_recovery_passes_nr(sizeof(f)), 1);
	r = bch_sb_recovery_pass_get(f, sizeof(f), 0);
	assert_int_equal(r.last_run, 1700000000);
	assert_int_equal(r.last_runtime, 3);
	assert_int_equal(r.flags, 1);
	r = bch_sb_recovery_pass_get(f, 23, 0);
	assert_int_equal(r.last_run, 0);

	field_hdr(f, 3, BCH_SB_FIELD_clean);
	put_le32(f + 8, 0);
	put_le64(f + 16, 35);
	assert_int_equal(bch_sb_clean_hdr(f, sizeof(f), &h), 0);
	assert_int_equal(h.journal_seq, 35);
	assert_int_equal(bch_sb_clean_hdr(f, 23, &h), -BCH_ERR_CORRUPT);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(bch_recovery_pass_name(14, BCH_VERSION_1_28),
			    "check_extents_to_backpointers");
	assert_string_equal(bch_recovery_pass_name(43, BCH_VERSION_1_28), "check_rebalance_work");
	assert_string_equal(bch_recovery_pass_name(43, BCH_VERSION_1_36), "check_reconcile_work");
	assert_null(bch_recovery_pass_name(200, BCH_VERSION_1_36));
	assert_string_equal(bch_sb_feature_name(19), "incompat_version_field");
	assert_null(bch_sb_feature_name(64));
	assert_string_equal(bch_sb_compat_name(4), "no_stale_ptrs");
}

/* a superblock with only the fields given (enough for the field printers) */
static void fake_sb(struct bch_sb *sb, const uint8_t *f, uint32_t bytes, unsigned type)
{
	memset(sb, 0, sizeof(*sb));
	sb->version = BCH_VERSION_1_28;
	sb->nr_devices = 1;
	sb->bytes = (uint8_t *)f;
	sb->nr_fields = 1;
	sb->fields[0] = (struct bch_sb_field_ref){ .p = f, .bytes = bytes, .type = type };
}

static void test_has_data_and_text(void **state)
{
	struct printbuf pb = PRINTBUF;
	struct bch_sb sb;

	(void)state;
	fake_sb(&sb, replicas_v0_example, sizeof(replicas_v0_example), BCH_SB_FIELD_replicas_v0);
	assert_int_equal(bch_sb_dev_has_data(&sb, 0),
			 1 << BCH_DATA_journal | 1 << BCH_DATA_btree | 1 << BCH_DATA_user);
	assert_int_equal(bch_sb_dev_has_data(&sb, 1), 0);

	bch_sb_field_to_text(&pb, &sb, &sb.fields[0]);
	assert_non_null(strstr(pb.buf, "replicas_v0 (size 24):"));
	assert_non_null(strstr(pb.buf, "btree: 1 [0]"));
	assert_non_null(strstr(pb.buf, "user: 1 [0]"));

	/* a truncated entry is reported, not read past */
	pb_reset(&pb);
	fake_sb(&sb, replicas_v0_example, 16, BCH_SB_FIELD_replicas_v0);
	bch_sb_field_to_text(&pb, &sb, &sb.fields[0]);
	assert_non_null(strstr(pb.buf, "journal: 1 [0]"));
	assert_non_null(strstr(pb.buf, "runs past the end"));

	/* an unknown field is dumped as hex */
	pb_reset(&pb);
	fake_sb(&sb, replicas_v0_example, 16, 99);
	bch_sb_field_to_text(&pb, &sb, &sb.fields[0]);
	assert_non_null(strstr(pb.buf, "(unknown field 99) (size 16):"));
	assert_non_null(strstr(pb.buf, "0301000201000401"));
	pb_exit(&pb);
}

static void test_parse_fields(void **state)
{
	struct bch_error err = { 0 };
	uint64_t mask;

	(void)state;
	assert_int_equal(bch_sb_text_parse_fields("journal_v2,clean", &mask, &err), 0);
	assert_int_equal(mask, 1ULL << BCH_SB_FIELD_journal_v2 | 1ULL << BCH_SB_FIELD_clean);
	assert_int_equal(bch_sb_text_parse_fields("all", &mask, &err), 0);
	assert_int_equal(mask, BCH_SB_TEXT_ALL_FIELDS);
	assert_int_equal(bch_sb_text_parse_fields("members,,", &mask, &err), 0);
	assert_int_equal(mask, 1ULL << BCH_SB_FIELD_members_v1 | 1ULL << BCH_SB_FIELD_members_v2);
	assert_int_equal(bch_sb_text_parse_fields("clean,bogus", &mask, &err), -BCH_ERR_INVAL);
	assert_non_null(strstr(err.msg, "bogus"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_sb_text_parse_fields("", &mask, &err), -BCH_ERR_INVAL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_sb_text_parse_fields("journal_v", &mask, &err), -BCH_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nr_entries),
		cmocka_unit_test(test_replicas_v0),
		cmocka_unit_test(test_replicas_truncated),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_downgrade),
		cmocka_unit_test(test_counters_blacklist),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_disk_groups),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_crypt),
		cmocka_unit_test(test_small_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_has_data_and_text),
		cmocka_unit_test(test_parse_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
