/*
 * Unit tests of the named on-disk offsets (super.h, journal.h) and of the
 * encoder/decoder pairs that use them: a superblock written by
 * super_write.c (dirty, then clean) read back by super.c; the clean
 * field's jset_entry records written by journal_write.c read back by
 * journal.c. Buffers are built and checked with the byte offsets of
 * bcachefs-format.md written out as numbers, on purpose: they are the
 * reference the constants must agree with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "fs.h"
#include "journal.h"
#include "journal_write.h"
#include "sb_fields.h"
#include "super.h"
#include "super_write.h"

/* the constants against the tables of §2.2, §2.8.2, §4.2, §4.3 */
static void test_offsets_match_doc(void **state)
{
	static const struct { unsigned got, doc; } t[] = {
		{ BCH_SB_CSUM, 0 }, { BCH_SB_VERSION, 16 }, { BCH_SB_VERSION_MIN, 18 },
		{ BCH_SB_MAGIC, 24 }, { BCH_SB_UUID, 40 }, { BCH_SB_USER_UUID, 56 },
		{ BCH_SB_LABEL, 72 }, { BCH_SB_OFFSET, 104 }, { BCH_SB_SEQ, 112 },
		{ BCH_SB_BLOCK_SIZE, 120 }, { BCH_SB_DEV_IDX, 122 },
		{ BCH_SB_NR_DEVICES, 123 }, { BCH_SB_U64S, 124 },
		{ BCH_SB_TIME_BASE_LO, 128 }, { BCH_SB_TIME_BASE_HI, 136 },
		{ BCH_SB_TIME_PRECISION, 140 }, { BCH_SB_FLAGS, 144 },
		{ BCH_SB_WRITE_TIME, 200 }, { BCH_SB_FEATURES, 208 }, { BCH_SB_COMPAT, 224 },
		{ BCH_SB_LAYOUT, 240 }, { BCH_SB_FIELDS, 752 },
		{ BCH_SB_LAYOUT_NR, 18 }, { BCH_SB_LAYOUT_OFFSETS, 24 },
		{ BCH_MEMBERS_V2_MEMBER_BYTES, 8 }, { BCH_MEMBERS_V2_ENTRIES, 16 },
		{ BCH_MEMBER_NBUCKETS, 16 }, { BCH_MEMBER_FIRST_BUCKET, 24 },
		{ BCH_MEMBER_BUCKET_SIZE, 26 }, { BCH_MEMBER_BTREE_BITMAP_SHIFT, 28 },
		{ BCH_MEMBER_LAST_MOUNT, 32 }, { BCH_MEMBER_FLAGS, 40 },
		{ BCH_MEMBER_SEQ, 120 }, { BCH_MEMBER_BTREE_BITMAP, 128 },
		{ BCH_MEMBER_LAST_JOURNAL_BUCKET, 136 },
		{ BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET, 140 },
		{ BCH_JSET_CSUM, 0 }, { BCH_JSET_MAGIC, 16 }, { BCH_JSET_SEQ, 24 },
		{ BCH_JSET_VERSION, 32 }, { BCH_JSET_FLAGS, 36 }, { BCH_JSET_U64S, 40 },
		{ BCH_JSET_ENCRYPTED_FROM, 44 }, { BCH_JSET_LAST_SEQ, 48 },
		{ BCH_JSET_ENTRIES, 56 },
		{ BCH_JSET_ENTRY_U64S, 0 }, { BCH_JSET_ENTRY_BTREE_ID, 2 },
		{ BCH_JSET_ENTRY_LEVEL, 3 }, { BCH_JSET_ENTRY_TYPE, 4 },
		{ BCH_JSET_ENTRY_PAYLOAD, 8 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (t[i].got != t[i].doc)
			fail_msg("constant %zu of the table is %u, the doc says %u", i,
				 t[i].got, t[i].doc);
	}
}

/* ---- jset_entry records: hand-built per §4.2-4.3, walked by journal.c ---- */

struct seen {
	unsigned	nr;
	unsigned	type[4], btree[4], level[4];
	const uint8_t	*payload[4];
	size_t		bytes[4];
	uint64_t	at[4];
};

static int seen_fn(void *ctx, const uint8_t *entry, unsigned type, unsigned btree,
		   unsigned level, const uint8_t *payload, size_t bytes, uint64_t at,
		   struct bch_error *err)
{
	struct seen *s = ctx;

	(void)entry;
	(void)err;
	if (s->nr < 4) {
		s->type[s->nr] = type;
		s->btree[s->nr] = btree;
		s->level[s->nr] = level;
		s->payload[s->nr] = payload;
		s->bytes[s->nr] = bytes;
		s->at[s->nr] = at;
	}
	s->nr++;
	return 0;
}

static void test_jset_entries_doc(void **state)
{
	uint8_t j[56 + (8 + 16) + (8 + 8) + 8] = { 0 };
	struct bch_error err = { 0 };
	struct seen s = { 0 };

	(void)state;
	/* jset header (§4.2) */
	put_le64(j + 24, 4242);
	put_le32(j + 32, BCH_VERSION_1_28);
	put_le32(j + 36, 1u << 5);
	put_le32(j + 40, (sizeof(j) - 56) / 8);
	put_le64(j + 48, 4000);
	/* a blacklist_v2 entry (§4.3): u64s 2, btree 7, level 1 */
	put_le16(j + 56, 2);
	j[58] = 7;
	j[59] = 1;
	j[60] = BCH_JSET_ENTRY_blacklist_v2;
	put_le64(j + 64, 10);
	put_le64(j + 72, 12);
	/* a datetime entry, then an all-zero header: an empty btree_keys */
	put_le16(j + 80, 1);
	j[84] = BCH_JSET_ENTRY_datetime;
	put_le64(j + 88, 1700000000);

	assert_int_equal(get_le64(j + BCH_JSET_SEQ), 4242);
	assert_int_equal(get_le32(j + BCH_JSET_VERSION), BCH_VERSION_1_28);
	assert_int_equal(get_le32(j + BCH_JSET_FLAGS), 1u << 5);
	assert_int_equal(get_le64(j + BCH_JSET_LAST_SEQ), 4000);
	assert_int_equal(BCH_JSET_ENTRIES + get_le32(j + BCH_JSET_U64S) * 8, sizeof(j));

	assert_int_equal(bch_jset_entries_walk(j + BCH_JSET_ENTRIES, sizeof(j) - BCH_JSET_ENTRIES,
					       1000, "test", seen_fn, &s, &err), 0);
	assert_int_equal(s.nr, 3);
	assert_int_equal(s.type[0], BCH_JSET_ENTRY_blacklist_v2);
	assert_int_equal(s.btree[0], 7);
	assert_int_equal(s.level[0], 1);
	assert_ptr_equal(s.payload[0], j + 64);
	assert_int_equal(s.bytes[0], 16);
	assert_int_equal(s.at[0], 1000);
	assert_int_equal(s.type[1], BCH_JSET_ENTRY_datetime);
	assert_ptr_equal(s.payload[1], j + 88);
	assert_int_equal(s.at[1], 1024);
	assert_int_equal(s.type[2], BCH_JSET_ENTRY_btree_keys);
	assert_int_equal(s.bytes[2], 0);

	/* the datetime entry claiming 2 u64s overruns by 8 bytes */
	put_le16(j + 80, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(bch_jset_entries_walk(j + 56, sizeof(j) - 56, 1000, "test", seen_fn,
					       &s, &err), -BCH_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "entry at byte 1024 (type 12, 24 bytes)"));
}

/* ---- a one-device filesystem in memory, for the writers ---- */

#define DEV_BYTES	(256u * 1024)
#define MEMBERS_AT	752u		/* the first field */
#define MEMBER_AT	(MEMBERS_AT + 16)
#define SB_BYTES	(MEMBER_AT + 144)

struct mem_fs {
	uint8_t		*dev;		/* the device image */
	struct bch_io	*io;
	struct bch_dev	d;
	struct bch_fs	*fs;
	uint8_t		root[2][88];	/* btree_ptr_v2 keys of two roots */
};

/* a superblock per §2.2 and §2.8.2, checksummed with crc32c (§2.3) */
static void sb_build(uint8_t *b)
{
	struct bch_csum c;

	memset(b, 0, SB_BYTES);
	put_le16(b + 16, BCH_VERSION_1_28);
	put_le16(b + 18, BCH_VERSION_1_28);
	memcpy(b + 24, bch_sb_magic_uuid, 16);
	memset(b + 40, 0x11, 16);
	memset(b + 56, 0x22, 16);
	memcpy(b + 72, "layout-test", 11);
	put_le64(b + 104, 8);
	put_le64(b + 112, 41);
	put_le16(b + 120, 1);
	b[122] = 0;
	b[123] = 1;
	put_le32(b + 124, (SB_BYTES - 752) / 8);
	put_le64(b + 128, 1600000000ULL * 1000000000);
	put_le32(b + 140, 1);
	put_le64(b + 144, 1ULL << 2 | 512ULL << 12);	/* crc32c, 512-sector nodes */
	put_le64(b + 200, 1600000001);
	put_le64(b + 208, 1ULL << 0);
	put_le64(b + 224, 0);
	/* layout: one copy at sector 8, 8 sectors */
	memcpy(b + 240, bch_sb_magic_uuid, 16);
	b[240 + 17] = 3;
	b[240 + 18] = 1;
	put_le64(b + 240 + 24, 8);
	/* members_v2: one 144-byte entry */
	put_le32(b + MEMBERS_AT, (SB_BYTES - MEMBERS_AT) / 8);
	put_le32(b + MEMBERS_AT + 4, BCH_SB_FIELD_members_v2);
	put_le16(b + MEMBERS_AT + 8, 144);
	memset(b + MEMBER_AT, 0x33, 16);
	put_le64(b + MEMBER_AT + 16, DEV_BYTES / 512 / 16);
	put_le16(b + MEMBER_AT + 24, 1);
	put_le16(b + MEMBER_AT + 26, 16);
	b[MEMBER_AT + 28] = 9;
	put_le64(b + MEMBER_AT + 32, 1600000002);
	put_le64(b + MEMBER_AT + 40, 0x1cULL << 15);
	put_le64(b + MEMBER_AT + 120, 40);
	put_le64(b + MEMBER_AT + 128, 1);
	put_le32(b + MEMBER_AT + 136, 5);
	put_le32(b + MEMBER_AT + 140, 6);

	assert_int_equal(bch_checksum(BCH_CSUM_crc32c_nonzero, NULL, (struct bch_nonce){ { 0 } },
				      b + 16, SB_BYTES - 16, &c), 0);
	bch_csum_encode(b, c);
}

static void root_build(uint8_t *k, unsigned seed)
{
	struct bkey h = {
		.p = SPOS_MAX, .type = KEY_TYPE_btree_ptr_v2, .val_bytes = 48,
	};

	bch_bkey_encode_unpacked(k, &h);
	for (unsigned i = 40; i < 88; i++)
		k[i] = (uint8_t)(seed * 31 + i);
}

static int mem_fs_setup(void **state)
{
	struct mem_fs *m = calloc(1, sizeof(*m));
	struct bch_error err = { 0 };

	assert_non_null(m);
	m->dev = calloc(1, DEV_BYTES);
	m->fs = calloc(1, sizeof(*m->fs));
	assert_non_null(m->dev);
	assert_non_null(m->fs);
	sb_build(m->dev + 8 * 512);
	assert_int_equal(bch_io_open_mem("mem", m->dev, DEV_BYTES, true, &m->io, &err), 0);
	assert_int_equal(bch_sb_read_at(m->io, 8, &m->d.sb, &err), 0);
	m->d.io = m->io;
	m->fs->sb = &m->d.sb;
	m->fs->nr_devs = 1;
	m->fs->devs[0] = &m->d;
	m->fs->nr_opened = 1;
	m->fs->block_size = 1;
	/* the roots bch_clean_field_build writes: extents at level 1, alloc at 0 */
	for (unsigned i = 0; i < 2; i++) {
		struct bch_btree_root *r = &m->fs->journal.roots[i ? BTREE_ID_alloc : 0];

		root_build(m->root[i], i);
		r->present = true;
		r->level = (uint8_t)!i;
		r->raw = m->root[i];
	}
	*state = m;
	return 0;
}

static int mem_fs_teardown(void **state)
{
	struct mem_fs *m = *state;

	bch_sb_free(&m->d.sb);
	bch_io_close(m->io);
	free(m->fs);
	free(m->dev);
	free(m);
	return 0;
}

/* write the plan's ops to the device and read the superblock back */
static void plan_apply(struct mem_fs *m, struct bch_write_plan *p, struct bch_sb *out)
{
	struct bch_error err = { 0 };

	assert_int_equal(p->nr, 1);		/* one copy in the layout */
	assert_int_equal(p->ops[0].offset, 8 * 512);
	assert_int_equal(bch_io_write(m->io, p->ops[0].offset, p->ops[0].buf, p->ops[0].len,
				      &err), 0);
	bch_write_plan_free(p);
	if (bch_sb_read_at(m->io, 8, out, &err))
		fail_msg("the written superblock does not read back: %s", err.msg);
}

/* bytes of a and b outside the listed [start, end) ranges are equal */
static void assert_same_except(const uint8_t *a, const uint8_t *b, size_t len,
			       const unsigned (*skip)[2], size_t nr)
{
	for (size_t i = 0; i < len; i++) {
		bool skipped = false;

		for (size_t s = 0; s < nr; s++)
			skipped |= i >= skip[s][0] && i < skip[s][1];
		if (!skipped && a[i] != b[i])
			fail_msg("byte %zu changed: %02x -> %02x", i, a[i], b[i]);
	}
}

static void test_sb_read(void **state)
{
	const struct bch_sb *sb = &((struct mem_fs *)*state)->d.sb;
	const struct bch_member *m = &sb->members[0];

	assert_int_equal(sb->version, BCH_VERSION_1_28);
	assert_int_equal(sb->uuid[15], 0x11);
	assert_int_equal(sb->user_uuid[0], 0x22);
	assert_string_equal(sb->label, "layout-test");
	assert_int_equal(sb->offset, 8);
	assert_int_equal(sb->seq, 41);
	assert_int_equal(sb->block_size, 1);
	assert_int_equal(sb->nr_devices, 1);
	assert_int_equal(sb->u64s, (SB_BYTES - 752) / 8);
	assert_int_equal(sb->time_base_lo, 1600000000ULL * 1000000000);
	assert_int_equal(sb->time_precision, 1);
	assert_int_equal(BCH_SB_BTREE_NODE_SIZE(sb), 512);
	assert_int_equal(sb->write_time, 1600000001);
	assert_int_equal(sb->features[0], 1);
	assert_int_equal(sb->layout.nr_superblocks, 1);
	assert_int_equal(sb->layout.sb_max_size_bits, 3);
	assert_int_equal(sb->layout.sb_offset[0], 8);
	assert_int_equal(sb->member_bytes, 144);
	assert_true(m->exists);
	assert_int_equal(m->nbuckets, DEV_BYTES / 512 / 16);
	assert_int_equal(m->first_bucket, 1);
	assert_int_equal(m->bucket_size, 16);
	assert_int_equal(m->btree_bitmap_shift, 9);
	assert_int_equal(m->last_mount, 1600000002);
	assert_int_equal(BCH_MEMBER_DATA_ALLOWED(m), 0x1c);
	assert_int_equal(m->seq, 40);
	assert_int_equal(m->btree_allocated_bitmap, 1);
	assert_int_equal(m->last_journal_bucket, 5);
	assert_int_equal(m->last_journal_bucket_offset, 6);
}

static void test_sb_mark_dirty(void **state)
{
	/* what §2.7 and §4.9 say a dirty write changes; nothing else may */
	static const unsigned changed[][2] = {
		{ 0, 16 }, { 112, 120 }, { 144, 152 }, { 200, 216 },
		{ MEMBER_AT + 120, MEMBER_AT + 128 },
	};
	struct mem_fs *m = *state;
	struct bch_write_plan p = { 0 };
	struct bch_error err = { 0 };
	struct bch_sb out;

	assert_int_equal(bch_sb_plan_mark_dirty(m->fs, &p, 0, &err), 0);
	plan_apply(m, &p, &out);
	assert_int_equal(out.len, SB_BYTES);
	assert_int_equal(out.seq, 42);
	assert_int_equal(get_le64(out.bytes + 112), 42);
	assert_false(BCH_SB_CLEAN(&out));
	assert_int_equal(BCH_SB_CSUM_TYPE(&out), BCH_CSUM_crc32c_nonzero);
	assert_int_equal(out.features[0], 1 | BCH_FEATURES_ALWAYS);
	assert_int_equal(out.members[0].seq, 42);
	assert_int_equal(get_le64(out.bytes + MEMBER_AT + 120), 42);
	assert_int_equal(out.offset, 8);
	assert_same_except(m->d.sb.bytes, out.bytes, SB_BYTES, changed, ARRAY_SIZE(changed));
	bch_sb_free(&out);
}

static void test_sb_mark_clean(void **state)
{
	static const unsigned changed[][2] = {
		{ 0, 16 }, { 112, 120 }, { 124, 128 }, { 144, 152 }, { 200, 232 },
		{ MEMBER_AT + 28, MEMBER_AT + 29 }, { MEMBER_AT + 120, MEMBER_AT + 144 },
	};
	static const struct bch_node_slot slot = { .dev = 0, .sector = 1024 };
	const struct bch_sb_clean_update c = {
		.journal_seq = 77, .journal_dev = 0, .journal_bucket_idx = 3,
		.journal_end_sectors = 17, .slots = &slot, .nr_slots = 1, .node_sectors = 512,
	};
	struct mem_fs *m = *state;
	struct bch_write_plan p = { 0 };
	struct bch_error err = { 0 };
	const struct bch_sb_field_ref *f;
	struct bch_fs *fs2;
	struct bch_sb out;

	assert_int_equal(bch_sb_plan_mark_clean(m->fs, &p, &c, &err), 0);
	plan_apply(m, &p, &out);
	assert_int_equal(out.seq, 42);
	assert_true(BCH_SB_CLEAN(&out));
	assert_int_equal(out.features[0], 1 | (BCH_FEATURES_ALWAYS & ~(3ULL << 12)));
	assert_int_equal(out.compat[0], 3);
	assert_int_equal(get_le64(out.bytes + 224), 3);
	assert_int_equal(out.members[0].seq, 42);
	/* bit 0 kept, sectors 1024..1535 are bit 2 at shift 9 */
	assert_int_equal(out.members[0].btree_allocated_bitmap, 1 | 1 << 2);
	assert_int_equal(out.members[0].btree_bitmap_shift, 9);
	assert_int_equal(out.members[0].last_journal_bucket, 3);
	assert_int_equal(get_le32(out.bytes + MEMBER_AT + 136), 3);
	assert_int_equal(out.members[0].last_journal_bucket_offset, 17);
	assert_int_equal(get_le32(out.bytes + MEMBER_AT + 140), 17);
	assert_same_except(m->d.sb.bytes, out.bytes, SB_BYTES, changed, ARRAY_SIZE(changed));

	/* the clean field (§2.8.7): appended, its records at 24 per §4.3 */
	f = bch_sb_field_get(&out, BCH_SB_FIELD_clean);
	assert_non_null(f);
	assert_ptr_equal(f->p, out.bytes + SB_BYTES);
	assert_int_equal(get_le64(f->p + 16), 77);
	assert_int_equal(get_le16(f->p + 24), 11);
	assert_int_equal(f->p[26], 0);
	assert_int_equal(f->p[27], 1);
	assert_int_equal(f->p[28], BCH_JSET_ENTRY_btree_root);
	assert_memory_equal(f->p + 32, m->root[0], 88);

	/* and journal.c reads the roots back from it */
	fs2 = calloc(1, sizeof(*fs2));
	assert_non_null(fs2);
	fs2->sb = &out;
	assert_int_equal(bch_journal_read(fs2, &err), 0);
	assert_true(fs2->journal.from_clean);
	assert_int_equal(fs2->journal.clean_seq, 77);
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		const struct bch_btree_root *r = &fs2->journal.roots[b];
		int i = b == 0 ? 0 : b == BTREE_ID_alloc ? 1 : -1;

		assert_int_equal(r->present, i >= 0);
		if (i < 0)
			continue;
		assert_int_equal(r->level, i ? 0 : 1);
		assert_memory_equal(r->raw, m->root[i], 88);
		assert_int_equal(r->k.type, KEY_TYPE_btree_ptr_v2);
		assert_true(bpos_eq(r->k.p, SPOS_MAX));
	}
	bch_journal_free(&fs2->journal);
	free(fs2);
	bch_sb_free(&out);
}

/* a clean field padded to its old size: zero records are empty btree_keys */
static void test_clean_field_padded(void **state)
{
	struct mem_fs *m = *state;
	struct bch_error err = { 0 };
	struct seen s = { 0 };
	uint8_t *f;
	size_t len;

	assert_int_equal(bch_clean_field_build(m->fs, 9, 512, &f, &len, &err), 0);
	assert_int_equal(len, 512);
	assert_int_equal(get_le32(f), 512 / 8);
	assert_int_equal(get_le32(f + 4), BCH_SB_FIELD_clean);
	assert_int_equal(get_le64(f + 16), 9);
	assert_int_equal(bch_jset_entries_walk(f + 24, len - 24, 24, "clean", seen_fn, &s, &err),
			 0);
	/* two roots of 8 + 88 bytes, then (512 - 24 - 192) / 8 empty records */
	assert_int_equal(s.nr, 2 + (512 - 24 - 192) / 8);
	assert_int_equal(s.type[1], BCH_JSET_ENTRY_btree_root);
	assert_int_equal(s.btree[1], BTREE_ID_alloc);
	assert_int_equal(s.level[1], 0);
	assert_int_equal(s.at[1], 24 + 96);
	assert_memory_equal(s.payload[1], m->root[1], 88);
	assert_int_equal(s.type[2], BCH_JSET_ENTRY_btree_keys);
	assert_int_equal(s.bytes[2], 0);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_match_doc),
		cmocka_unit_test(test_jset_entries_doc),
		cmocka_unit_test_setup_teardown(test_sb_read, mem_fs_setup, mem_fs_teardown),
		cmocka_unit_test_setup_teardown(test_sb_mark_dirty, mem_fs_setup,
						mem_fs_teardown),
		cmocka_unit_test_setup_teardown(test_sb_mark_clean, mem_fs_setup,
						mem_fs_teardown),
		cmocka_unit_test_setup_teardown(test_clean_field_padded, mem_fs_setup,
						mem_fs_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
