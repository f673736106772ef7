/*
 * Unit tests of what metadata 1.37-1.39 (upstream v1.39.2) adds to the
 * format: version, key type, btree and data type names, errors_v2 and
 * damage records, the ext field's appended words, the longer member
 * entries, subvolume and snapshot states, logged_op_stripe_update, the
 * per-device LRU ids, the backpointer and stripe bits. Values come from
 * the v139 images (../shared/images-v139) where they have them; every
 * value lives in a heap buffer of exactly its size so the sanitizer
 * build catches reads past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backpointers.h"
#include "bkey_to_text.h"
#include "damage.h"
#include "errors.h"
#include "extents_text.h"
#include "inode.h"
#include "logged_ops.h"
#include "lru.h"
#include "sb_fields.h"
#include "snapshots.h"
#include "super.h"

/* ---- helpers ---- */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* a key whose value is the hex string (spaces ignored), heap-allocated */
static struct bkey key_hex(unsigned type, struct bpos p, const char *hex)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	size_t n = 0, len = strlen(hex);
	uint8_t *v = malloc(len / 2 + 1);

	assert_non_null(v);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (hex[i] == ' ')
			continue;
		hi = hexdigit(hex[i]);
		lo = hexdigit(hex[i + 1]);
		assert_true(hi >= 0 && lo >= 0);
		v[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	k.val = v;
	k.val_bytes = (uint16_t)n;
	return k;
}

/* a key with a copy of len bytes as its value */
static struct bkey key_bytes(unsigned type, struct bpos p, const void *b, size_t len)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .format = 1 };
	uint8_t *v = malloc(len ? len : 1);

	assert_non_null(v);
	memcpy(v, b, len);
	k.val = v;
	k.val_bytes = (uint16_t)len;
	return k;
}

static void key_free(struct bkey *k)
{
	free((void *)k->val);
	k->val = NULL;
}

/* one errors_v2 / damage record from its fields, packed by hand */
static void pack_error_v2(uint8_t out[16], unsigned id, uint64_t nr, uint64_t first,
			  uint64_t last)
{
	put_le64(out, id | nr << 16 | (last & 0xffff) << 48);
	put_le64(out + 8, last >> 16 | first << 24);
}

/* ---- names ---- */

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(BCH_VERSION_CURRENT, BCH_VERSION(1, 39));
	assert_string_equal(bch_version_name(BCH_VERSION_1_36), "no_sb_user_data_replicas");
	assert_string_equal(bch_version_name(BCH_VERSION_1_37), "erasure_coding");
	assert_string_equal(bch_version_name(BCH_VERSION_1_38), "need_discard_by_journal_seq");
	assert_string_equal(bch_version_name(BCH_VERSION_1_39), "per_dev_fragmentation_lru");
	assert_string_equal(bch_version_name(BCH_VERSION(1, 40)), "(unknown version)");

	assert_string_equal(bch_bkey_type_name(KEY_TYPE_extent_whiteout), "extent_whiteout");
	assert_string_equal(bch_bkey_type_name(37), "logged_op_stripe_update");
	assert_string_equal(bch_bkey_type_name(38), "damage");
	assert_null(bch_bkey_type_name(39));

	assert_string_equal(bch_btree_id_name(26, BCH_VERSION_1_39), "bucket_to_stripe");
	assert_string_equal(bch_btree_id_name(27, BCH_VERSION_1_39), "stripe_backpointers");
	assert_string_equal(bch_btree_id_name(28, BCH_VERSION_1_39), "damage");
	assert_null(bch_btree_id_name(29, BCH_VERSION_1_39));
	assert_int_equal(bch_btree_id_parse("stripe_backpointers"), BTREE_ID_stripe_backpointers);
	assert_int_equal(bch_btree_id_parse("damage"), BTREE_ID_damage);

	assert_string_equal(bch_data_type_name(BCH_DATA_unstriped), "unstriped");
	assert_string_equal(bch_data_type_name(11), "multiple");
	assert_string_equal(bch_data_type_name(12), "(unknown)");

	assert_string_equal(bch_recovery_pass_name(48, BCH_VERSION_1_39),
			    "presplit_shard_boundaries");
	assert_string_equal(bch_recovery_pass_name(49, BCH_VERSION_1_39), "check_damage");
	assert_null(bch_recovery_pass_name(50, BCH_VERSION_1_39));
}

/* ---- errors_v2 and damage ---- */

static void test_error_v2_packing(void **state)
{
	uint8_t rec[16];
	struct bch_sb_error_entry e;

	(void)state;
	/* last spans both words: low 16 bits in word 0, high 24 in word 1 */
	pack_error_v2(rec, 0x1234, 0xfedcba98, 0xaabbccddeeULL, 0x123456789aULL);
	e = bch_sb_error_v2_decode(rec);
	assert_int_equal(e.id, 0x1234);
	assert_int_equal(e.nr, 0xfedcba98);
	assert_int_equal(e.first_time, 0xaabbccddeeULL);
	assert_int_equal(e.last_time, 0x123456789aULL);

	/* the largest values each field holds do not spill into the others */
	pack_error_v2(rec, 0xffff, 0xffffffffULL, (1ULL << 40) - 1, 0);
	e = bch_sb_error_v2_decode(rec);
	assert_int_equal(e.id, 0xffff);
	assert_int_equal(e.nr, 0xffffffffULL);
	assert_int_equal(e.last_time, 0);
	assert_int_equal(e.first_time, (1ULL << 40) - 1);
}

static void test_errors_v2_field(void **state)
{
	/* field header (8 bytes) and two records; a trailing partial record is ignored */
	uint8_t *f = calloc(1, 8 + 2 * 16 + 8);

	(void)state;
	assert_non_null(f);
	pack_error_v2(f + 8, 7, 2, 1700000000, 1700000100);
	pack_error_v2(f + 24, 300, 1, 1764000000, 1764000000);
	assert_int_equal(bch_sb_errors_v2_nr(8 + 2 * 16 + 8), 2);
	assert_int_equal(bch_sb_error_v2_get(f, 8 + 2 * 16 + 8, 1).id, 300);
	assert_int_equal(bch_sb_error_v2_get(f, 8 + 2 * 16 + 8, 0).first_time, 1700000000);
	/* past the end: all zero */
	assert_int_equal(bch_sb_error_v2_get(f, 8 + 2 * 16 + 8, 2).id, 0);
	free(f);
}

static void test_damage(void **state)
{
	uint8_t v[32];
	struct bkey k;
	struct printbuf pb = PRINTBUF;
	const char *why = NULL;

	(void)state;
	pack_error_v2(v, 12, 3, 1764000000, 1764000100);
	pack_error_v2(v + 16, 40, 1, 1764000200, 1764000200);
	k = key_bytes(KEY_TYPE_damage, BPOS(0, 4099, UINT32_MAX), v, sizeof(v));
	assert_int_equal(bch_damage_nr(&k), 2);
	assert_int_equal(bch_damage_validate(&k, &why), 0);
	bch_bkey_val_to_text(&pb, BTREE_ID_damage, 0, &k, NULL);
	assert_string_equal(pb.buf, "id 12 nr 3 first 1764000000 last 1764000100, "
			    "id 40 nr 1 first 1764000200 last 1764000200");
	key_free(&k);

	/* ids must ascend strictly */
	pack_error_v2(v + 16, 12, 1, 1764000200, 1764000200);
	k = key_bytes(KEY_TYPE_damage, BPOS(0, 4099, UINT32_MAX), v, sizeof(v));
	assert_int_equal(bch_damage_validate(&k, &why), -BCH_ERR_CORRUPT);
	assert_non_null(why);
	key_free(&k);

	/* first after last */
	pack_error_v2(v, 12, 1, 1764000300, 1764000200);
	k = key_bytes(KEY_TYPE_damage, BPOS(0, 4099, UINT32_MAX), v, 16);
	assert_int_equal(bch_damage_validate(&k, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);

	/* not a whole number of records: invalid, printed as hex */
	k = key_bytes(KEY_TYPE_damage, BPOS(0, 4099, UINT32_MAX), v, 24);
	pb_reset(&pb);
	assert_int_equal(bch_bkey_val_to_text(&pb, BTREE_ID_damage, 0, &k, NULL),
			 -BCH_ERR_CORRUPT);
	assert_non_null(strstr(pb.buf, "(invalid: "));
	key_free(&k);

	/* an empty damage value is well formed */
	k = key_bytes(KEY_TYPE_damage, BPOS(0, 4099, UINT32_MAX), v, 0);
	assert_int_equal(bch_damage_validate(&k, NULL), 0);
	key_free(&k);
	pb_exit(&pb);
}

/* ---- ext and members ---- */

static void test_ext(void **state)
{
	uint8_t *f = calloc(1, 120);
	struct bch_sb_ext e;

	(void)state;
	assert_non_null(f);
	put_le64(f + 88, 1ULL << BTREE_ID_alloc);
	/* v139-small's flags0: readahead 4096 sectors, buf limit 5, rewind 10 s, 4 %, seeks 2 */
	put_le64(f + 96, 4096 | 5ULL << 20 | 10ULL << 26 | 4ULL << 38 | 2ULL << 42);
	put_le64(f + 104, 1ULL << BTREE_ID_lru);
	put_le64(f + 112, 1ULL << BTREE_ID_damage);

	assert_int_equal(bch_sb_ext_get(f, 120, &e), 0);
	assert_true(e.has_flags0 && e.has_btrees_lost_data_ever && e.has_btrees_clean);
	assert_int_equal(BCH_SB_EXT_DEV_READAHEAD(&e), 4096);
	assert_int_equal(BCH_SB_EXT_EC_STRIPE_BUF_LIMIT(&e), 5);
	assert_int_equal(BCH_SB_EXT_SCRUB_MAX_REWIND_SECS(&e), 10);
	assert_int_equal(BCH_SB_EXT_DISCARD_BUFFER(&e), 4);
	assert_int_equal(BCH_SB_EXT_BTREE_CACHE_SHRINKER_SEEKS(&e), 2);
	assert_int_equal(e.btrees_lost_data, 1ULL << BTREE_ID_alloc);
	assert_int_equal(e.btrees_lost_data_ever, 1ULL << BTREE_ID_lru);
	assert_int_equal(e.btrees_clean, 1ULL << BTREE_ID_damage);

	/* a 1.36 field (96 bytes) has none of the appended words */
	assert_int_equal(bch_sb_ext_get(f, 96, &e), 0);
	assert_true(e.has_btrees_lost_data);
	assert_false(e.has_flags0 || e.has_btrees_lost_data_ever || e.has_btrees_clean);
	assert_int_equal(e.flags0, 0);
	free(f);
}

static void test_member_v139(void **state)
{
	uint8_t *e = calloc(1, BCH_MEMBER_BYTES_1_39);
	struct bch_member m;

	(void)state;
	assert_non_null(e);
	e[0] = 1;					/* a uuid: the slot exists */
	put_le64(e + BCH_MEMBER_FLAGS, 3ULL << 34);	/* stopped before fs_freespace_init */
	memcpy(e + BCH_MEMBER_DEVICE_MODEL, "QEMU HARDDISK", 13);
	put_le64(e + BCH_MEMBER_FLUSH_ERRORS, 9);
	memcpy(e + BCH_MEMBER_DEVICE_SERIAL, "SN-0001", 7);
	memset(e + BCH_MEMBER_FAILURE_DOMAIN, 'r', 32);	/* not NUL-terminated */

	bch_member_decode(e, BCH_MEMBER_BYTES_1_39, &m);
	assert_true(m.exists);
	assert_int_equal(m.flush_errors, 9);
	assert_string_equal(m.device_model, "QEMU HARDDISK");
	assert_string_equal(m.device_serial, "SN-0001");
	assert_int_equal(strlen(m.failure_domain), 32);
	assert_int_equal(BCH_MEMBER_INITIALIZED(&m), 3);

	/* a 1.36 entry: the new fields read as zero */
	bch_member_decode(e, BCH_MEMBER_BYTES_MAX, &m);
	assert_int_equal(m.flush_errors, 0);
	assert_string_equal(m.device_serial, "");
	assert_string_equal(m.failure_domain, "");
	assert_string_equal(m.device_model, "QEMU HARDDISK");
	free(e);
}

/* ---- subvolumes and snapshots ---- */

static void test_subvolume_snapshot(void **state)
{
	/* v139-small's subvolume 1 and snapshot U32_MAX */
	struct bkey sv = key_hex(KEY_TYPE_subvolume, BPOS(0, 1, 0),
				 "00000000ffffffff0010000000000000000000000000000000000000"
				 "000000000000000000000000" "7e44d54a00000000");
	struct bkey sn = key_hex(KEY_TYPE_snapshot, BPOS(0, UINT32_MAX, 0),
				 "0200000000000000000000000000000001000000010000000000000000000000"
				 "000000000000000000000000000000000000000000000000" "a2477c7500000000");
	struct bch_subvolume s;
	struct bch_snapshot n;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(sv.val_bytes, 48);
	assert_int_equal(sn.val_bytes, 64);
	assert_int_equal(bch_subvolume_decode(&sv, &s, NULL), 0);
	assert_int_equal(s.state, BCH_SUBVOL_STATE_live);
	assert_int_equal(s.inode, 4096);
	assert_int_equal(s.snapshot, UINT32_MAX);
	bch_bkey_val_to_text(&pb, BTREE_ID_subvolumes, 0, &sv, NULL);
	assert_string_equal(pb.buf, "root 4096 snapshot id 4294967295 creation_parent 0 "
			    "fs_parent 0 state live");

	assert_int_equal(bch_snapshot_decode(&sn, &n, NULL), 0);
	assert_int_equal(n.state, BCH_SNAP_STATE_live);
	pb_reset(&pb);
	bch_bkey_val_to_text(&pb, BTREE_ID_snapshots, 0, &sn, NULL);
	assert_string_equal(pb.buf, "parent 0 children 0 0 subvol 1 tree 1 depth 0 "
			    "skiplist 0 0 0 state live flags 0x2");

	/* a 1.36 value (no state): "(none)"; a damaged state: invalid */
	sv.val_bytes = 40;
	assert_int_equal(bch_subvolume_decode(&sv, &s, NULL), 0);
	assert_int_equal(s.state, 0);
	pb_reset(&pb);
	bch_subvolume_to_text(&pb, &s);
	assert_non_null(strstr(pb.buf, " state (none)"));
	n.state ^= 1;
	pb_reset(&pb);
	bch_snapshot_to_text(&pb, &n);
	assert_non_null(strstr(pb.buf, " state 0x757c47a3 (invalid)"));

	/* every state codeword has a name, and only those */
	assert_string_equal(bch_subvolume_state_name(BCH_SUBVOL_STATE_unlinked), "unlinked");
	assert_string_equal(bch_subvolume_state_name(BCH_SUBVOL_STATE_deleted), "deleted");
	assert_null(bch_subvolume_state_name(BCH_SNAP_STATE_live));
	assert_string_equal(bch_snapshot_state_name(BCH_SNAP_STATE_will_delete), "will_delete");
	assert_string_equal(bch_snapshot_state_name(BCH_SNAP_STATE_no_keys), "no_keys");
	assert_string_equal(bch_snapshot_state_name(BCH_SNAP_STATE_deleted), "deleted");
	assert_null(bch_snapshot_state_name(0));

	/* too short */
	sv.val_bytes = 8;
	assert_int_equal(bch_subvolume_decode(&sv, &s, NULL), -BCH_ERR_CORRUPT);
	sn.val_bytes = 20;
	assert_int_equal(bch_snapshot_decode(&sn, &n, NULL), -BCH_ERR_CORRUPT);
	pb_exit(&pb);
	key_free(&sv);
	key_free(&sn);
}

/* ---- logged_op_stripe_update ---- */

static void test_stripe_update(void **state)
{
	uint8_t v[40] = { 0 };
	struct bkey k;
	struct bch_logged_op_stripe_update op;
	struct printbuf pb = PRINTBUF;

	(void)state;
	put_le64(v, 5);
	put_le64(v + 8, 9);
	v[16] = 3;
	v[17] = 2;
	v[18] = 0;
	v[19] = 1;
	k = key_bytes(KEY_TYPE_logged_op_stripe_update, BPOS(0, 2, 0), v, sizeof(v));
	assert_int_equal(bch_logged_op_stripe_update_decode(&k, &op, NULL), 0);
	assert_int_equal(op.old_idx, 5);
	assert_int_equal(op.new_idx, 9);
	bch_bkey_val_to_text(&pb, BTREE_ID_logged_ops, 0, &k, NULL);
	assert_string_equal(pb.buf, "old_idx=5 new_idx=9 old_blocks_nr=3 old_block_map=2,0,1");
	key_free(&k);

	/* a count past the map prints the whole map only */
	v[16] = 200;
	k = key_bytes(KEY_TYPE_logged_op_stripe_update, BPOS(0, 2, 0), v, 33);
	assert_int_equal(bch_logged_op_stripe_update_decode(&k, &op, NULL), 0);
	pb_reset(&pb);
	bch_logged_op_stripe_update_to_text(&pb, &op);
	assert_string_equal(pb.buf, "old_idx=5 new_idx=9 old_blocks_nr=200 "
			    "old_block_map=2,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0");
	key_free(&k);

	k = key_bytes(KEY_TYPE_logged_op_stripe_update, BPOS(0, 2, 0), v, 32);
	assert_int_equal(bch_logged_op_stripe_update_decode(&k, &op, NULL), -BCH_ERR_CORRUPT);
	key_free(&k);
	pb_exit(&pb);
}

/* ---- LRU ids, backpointer flags, stripe byte 2, inode fields ---- */

static void test_lru_ids(void **state)
{
	/* v139-two-dev-data: device 1's fragmentation LRU, bucket 1:128 */
	struct bpos p = BPOS(2306124484727275520ULL, 281474976710784ULL, 0);
	struct printbuf pb = PRINTBUF;
	unsigned dev = 99;

	(void)state;
	assert_int_equal(bch_lru_pos_id(p), 8193);
	assert_int_equal(bch_lru_id_type(8193), BCH_LRU_fragmentation);
	assert_true(bch_lru_id_dev(8193, &dev));
	assert_int_equal(dev, 1);
	assert_int_equal(bch_lru_dev_frag_id(1), 8193);
	assert_true(bch_lru_id_dev(3, &dev));
	assert_int_equal(dev, 3);
	assert_false(bch_lru_id_dev(BCH_LRU_FRAGMENTATION, &dev));
	assert_false(bch_lru_id_dev(BCH_LRU_STRIPES, &dev));
	assert_false(bch_lru_id_dev(16384, &dev));
	assert_int_equal(bch_lru_id_type(16384), BCH_LRU_read);
	assert_int_equal(bch_lru_id_type(BCH_LRU_FRAGMENTATION), BCH_LRU_fragmentation);

	bch_lru_pos_to_text(&pb, p);
	assert_string_equal(pb.buf, "lru_id 8193 type fragmentation dev 1 time 536870912 "
			    "bucket 1:128");
	pb_exit(&pb);
}

static void test_backpointer_flags(void **state)
{
	struct bch_backpointer bp = {
		.btree_id = BTREE_ID_extents, .data_type = BCH_DATA_user,
		.bucket_len = 8, .flags = 1u << 2 | 1u << 3,
		.pos = BPOS(4096, 8, UINT32_MAX),
	};
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(BCH_BACKPOINTER_ERASURE_CODED(&bp), 1);
	assert_int_equal(BCH_BACKPOINTER_STRIPE_PTR(&bp), 1);
	assert_int_equal(BCH_BACKPOINTER_RECONCILE_PHYS(&bp), 0);
	bch_backpointer_to_text(&pb, &bp, BCH_VERSION_1_39);
	assert_string_equal(pb.buf, "btree=extents level=0 data_type=user gen=0 len=8 "
			    "pos=4096:8:U32_MAX flags=12 ec stripe");
	/* 1.36 did not know these bits: the number only */
	pb_reset(&pb);
	bch_backpointer_to_text(&pb, &bp, BCH_VERSION_1_36);
	assert_string_equal(pb.buf, "btree=extents level=0 data_type=user gen=0 len=8 "
			    "pos=4096:8:U32_MAX flags=12");
	pb_exit(&pb);
}

static void test_stripe_bits(void **state)
{
	/* 2+1 stripe as in test_keys, byte 2 = algorithm 1, needs_reconcile, can_widen 5 */
	struct bkey k = key_hex(KEY_TYPE_stripe, BPOS(0, 7, 0),
				"0800 b1 03 01 0c 05 00"
				"0101000000000000 0102000000000100 0103000000000200"
				"11111111 22222222 33333333"
				"0800 0400 0000 000000000000");
	struct bch_stripe s;
	struct printbuf pb = PRINTBUF;

	(void)state;
	assert_int_equal(bch_stripe_decode(&k, &s, NULL), 0);
	assert_int_equal(s.algorithm, 1);
	assert_int_equal(s.needs_reconcile, 1);
	assert_int_equal(s.can_widen, 5);
	assert_int_equal(bch_extent_to_text(&pb, &k, NULL), 0);
	assert_string_equal(pb.buf, "algo 1 sectors 8 blocks 2:1 csum crc32c gran 4096 "
			    "needs_reconcile can_widen=5 "
			    "ptr: 0:16 gen 0#8 ptr: 1:32 gen 0#4 ptr: 2:48 gen 0");
	pb_exit(&pb);
	key_free(&k);
}

static void test_inode_v139_fields(void **state)
{
	struct bch_inode_unpacked u = { 0 }, v;
	uint8_t buf[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;
	struct bkey k;
	struct printbuf pb = PRINTBUF;

	(void)state;
	u.bi_inum = 4100;
	u.bi_mode = 0100644;
	u.bi_flags = 1u << 12 | 1u << 14;	/* has_inode_opts, has_default_acl */
	u.bi_unused_ec_max_data_blocks = 7;
	u.bi_snapshot = UINT32_MAX;
	assert_int_equal(bch_inode_pack(&u, buf, sizeof(buf), &bytes), 0);
	k = key_bytes(KEY_TYPE_inode_v3, BPOS(0, 4100, UINT32_MAX), buf, bytes);
	assert_int_equal(bch_inode_unpack(&k, &v, NULL), 0);
	assert_int_equal(v.bi_unused_ec_max_data_blocks, 7);
	bch_inode_to_text(&pb, &v);
	/* nr_fields 28 (0x1c) in bits 24..31: the new field is the 28th */
	assert_non_null(strstr(pb.buf, "flags=has_inode_opts,has_default_acl(1c005000)"));
	assert_non_null(strstr(pb.buf, " bi_casefold=0 bi_unused_ec_max_data_blocks=7"));
	pb_exit(&pb);
	key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_error_v2_packing),
		cmocka_unit_test(test_errors_v2_field),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_member_v139),
		cmocka_unit_test(test_subvolume_snapshot),
		cmocka_unit_test(test_stripe_update),
		cmocka_unit_test(test_lru_ids),
		cmocka_unit_test(test_backpointer_flags),
		cmocka_unit_test(test_stripe_bits),
		cmocka_unit_test(test_inode_v139_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
