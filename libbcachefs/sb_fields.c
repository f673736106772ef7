/*
 * Bounds-checked decoders of superblock fields (bcachefs-format.md §2.8,
 * §36.2). Offsets are from the start of the field, header included.
 */
#include <string.h>

#include "sb_fields.h"

/* ---- journal, journal_v2 ---- */

size_t bch_sb_journal_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 8);
}

uint64_t bch_sb_journal_bucket(const uint8_t *f, size_t bytes, size_t i)
{
	return i < bch_sb_journal_nr(bytes) ? get_le64(f + 8 + 8 * i) : 0;
}

size_t bch_sb_journal_v2_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 16);
}

struct bch_sb_journal_range bch_sb_journal_v2_range(const uint8_t *f, size_t bytes,
						    size_t i)
{
	struct bch_sb_journal_range r = { 0 };

	if (i < bch_sb_journal_v2_nr(bytes)) {
		r.start = get_le64(f + 8 + 16 * i);
		r.nr = get_le64(f + 16 + 16 * i);
	}
	return r;
}

/* ---- members ---- */


static unsigned members_first(unsigned type)
{
	return type == BCH_SB_FIELD_members_v2 ? BCH_MEMBERS_V2_ENTRIES
					       : BCH_MEMBERS_V1_ENTRIES;
}

unsigned bch_sb_members_entry_bytes(const uint8_t *f, size_t bytes, unsigned type)
{
	if (type != BCH_SB_FIELD_members_v2)
		return BCH_MEMBER_V1_BYTES;
	return bytes >= BCH_MEMBERS_V2_ENTRIES ? get_le16(f + BCH_MEMBERS_V2_MEMBER_BYTES) : 0;
}

unsigned bch_sb_members_nr(const uint8_t *f, size_t bytes, unsigned type)
{
	unsigned eb = bch_sb_members_entry_bytes(f, bytes, type);

	/* an entry must at least hold the uuid */
	if (eb < 16)
		return 0;
	return (unsigned)bch_sb_field_nr_entries(bytes, members_first(type), eb);
}

int bch_sb_member_get(const uint8_t *f, size_t bytes, unsigned type, unsigned i,
		      struct bch_member *m)
{
	unsigned eb = bch_sb_members_entry_bytes(f, bytes, type);

	memset(m, 0, sizeof(*m));
	if (i >= bch_sb_members_nr(f, bytes, type))
		return -BCH_ERR_CORRUPT;
	bch_member_decode(f + members_first(type) + (size_t)i * eb, eb, m);
	return 0;
}

/* ---- crypt ---- */

#define CRYPT_BYTES		64u
#define CRYPT_KEY_MAGIC		0x79656b2a2a686362ULL	/* "bch**key" */

int bch_sb_crypt_info(const uint8_t *f, size_t bytes, struct bch_sb_crypt_info *out)
{
	uint64_t kdf;

	memset(out, 0, sizeof(*out));
	if (bytes < CRYPT_BYTES)
		return -BCH_ERR_CORRUPT;
	out->kdf_type = (unsigned)bits64(get_le64(f + 8), 0, 4);
	kdf = get_le64(f + 16);
	out->log_n = (unsigned)bits64(kdf, 0, 16);
	out->log_r = (unsigned)bits64(kdf, 16, 32);
	out->log_p = (unsigned)bits64(kdf, 32, 48);
	out->key_plain = get_le64(f + 24) == CRYPT_KEY_MAGIC;
	return 0;
}

/* ---- replicas ---- */

int bch_sb_replicas_next(const uint8_t *f, size_t bytes, bool v0, size_t *pos,
			 struct bch_replicas_entry *e)
{
	size_t off = *pos < 8 ? 8 : *pos;
	size_t hdr = v0 ? 2 : 3;

	memset(e, 0, sizeof(*e));
	if (off >= bytes || !f[off])
		return 0;
	if (bytes - off < hdr)
		return -BCH_ERR_CORRUPT;
	e->data_type = f[off];
	e->nr_devs = f[off + 1];
	e->nr_required = v0 ? 1 : f[off + 2];
	if (bytes - off - hdr < e->nr_devs)
		return -BCH_ERR_CORRUPT;
	e->devs = f + off + hdr;
	*pos = off + hdr + e->nr_devs;
	return 1;
}

static uint64_t replicas_has_dev(const struct bch_sb_field_ref *f, unsigned dev)
{
	bool v0 = f->type == BCH_SB_FIELD_replicas_v0;
	struct bch_replicas_entry e;
	uint64_t mask = 0;
	size_t pos = 0;

	while (bch_sb_replicas_next(f->p, f->bytes, v0, &pos, &e) > 0)
		for (unsigned i = 0; i < e.nr_devs; i++)
			if (e.devs[i] == dev && e.data_type < 64)
				mask |= 1ULL << e.data_type;
	return mask;
}

uint64_t bch_sb_dev_has_data(const struct bch_sb *sb, unsigned dev)
{
	uint64_t mask = 0;

	for (unsigned i = 0; i < sb->nr_fields; i++)
		if (sb->fields[i].type == BCH_SB_FIELD_replicas_v0 ||
		    sb->fields[i].type == BCH_SB_FIELD_replicas)
			mask |= replicas_has_dev(&sb->fields[i], dev);
	return mask;
}

/* ---- quota ---- */

int bch_sb_quota_get(const uint8_t *f, size_t bytes, unsigned i,
		     struct bch_sb_quota_type *q)
{
	const uint8_t *p = f + 8 + 24 * (size_t)i;

	memset(q, 0, sizeof(*q));
	if (i >= bch_sb_field_nr_entries(bytes, 8, 24))
		return -BCH_ERR_CORRUPT;
	q->flags = get_le64(p);
	for (unsigned j = 0; j < 2; j++) {
		q->timelimit[j] = get_le32(p + 8 + 8 * j);
		q->warnlimit[j] = get_le32(p + 12 + 8 * j);
	}
	return 0;
}

/* ---- disk groups ---- */

size_t bch_sb_disk_groups_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, BCH_DISK_GROUP_BYTES);
}

int bch_sb_disk_group_get(const uint8_t *f, size_t bytes, size_t i,
			  struct bch_disk_group *g)
{
	const uint8_t *p = f + 8 + BCH_DISK_GROUP_BYTES * i;
	uint64_t flags;

	memset(g, 0, sizeof(*g));
	if (i >= bch_sb_disk_groups_nr(bytes))
		return -BCH_ERR_CORRUPT;
	memcpy(g->label, p, 32);
	g->label[32] = 0;
	flags = get_le64(p + 32);
	g->deleted = bits64(flags, 0, 1);
	g->data_allowed = (uint8_t)bits64(flags, 1, 6);
	g->parent = (uint32_t)bits64(flags, 6, 24);
	return 0;
}

/* prepend "label." to buf (which holds len bytes of path so far) */
static void path_prepend(char *buf, size_t buf_len, size_t *len, const char *label)
{
	size_t l = strlen(label), sep = *len ? 1 : 0;

	if (l + sep + *len + 1 > buf_len)
		return;
	memmove(buf + l + sep, buf, *len + 1);
	memcpy(buf, label, l);
	if (sep)
		buf[l] = '.';
	*len += l + sep;
}

int bch_sb_disk_group_path(const uint8_t *f, size_t bytes, size_t i,
			   char *buf, size_t buf_len)
{
	size_t nr = bch_sb_disk_groups_nr(bytes), len = 0;
	struct bch_disk_group g;

	if (!buf_len)
		return -BCH_ERR_INVAL;
	buf[0] = 0;
	/* a path can be no longer than the number of groups */
	for (size_t depth = 0; depth <= nr; depth++) {
		if (bch_sb_disk_group_get(f, bytes, i, &g) || g.deleted)
			return -BCH_ERR_CORRUPT;
		path_prepend(buf, buf_len, &len, g.label);
		if (!g.parent)
			return 0;
		i = g.parent - 1;
	}
	return -BCH_ERR_CORRUPT;
}

/* ---- clean ---- */

int bch_sb_clean_hdr(const uint8_t *f, size_t bytes, struct bch_sb_clean_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (bytes < BCH_SB_CLEAN_ENTRIES_OFFSET)
		return -BCH_ERR_CORRUPT;
	h->flags = get_le32(f + BCH_SB_CLEAN_FLAGS);
	h->journal_seq = get_le64(f + BCH_SB_CLEAN_JOURNAL_SEQ);
	return 0;
}

/* ---- journal_seq_blacklist ---- */

size_t bch_sb_blacklist_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 16);
}

struct bch_blacklist_range bch_sb_blacklist_get(const uint8_t *f, size_t bytes,
						size_t i)
{
	struct bch_blacklist_range r = { 0 };

	if (i < bch_sb_blacklist_nr(bytes)) {
		r.start = get_le64(f + 8 + 16 * i);
		r.end = get_le64(f + 16 + 16 * i);
	}
	return r;
}

/* ---- counters ---- */

size_t bch_sb_counters_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 8);
}

uint64_t bch_sb_counter_get(const uint8_t *f, size_t bytes, size_t i)
{
	return i < bch_sb_counters_nr(bytes) ? get_le64(f + 8 + 8 * i) : 0;
}

/* ---- errors ---- */

size_t bch_sb_errors_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 16);
}

struct bch_sb_error_entry bch_sb_error_get(const uint8_t *f, size_t bytes, size_t i)
{
	struct bch_sb_error_entry e = { 0 };
	uint64_t v;

	if (i < bch_sb_errors_nr(bytes)) {
		v = get_le64(f + 8 + 16 * i);
		e.id = (uint16_t)bits64(v, 0, 16);
		e.nr = bits64(v, 16, 64);
		e.last_time = get_le64(f + 16 + 16 * i);
	}
	return e;
}

/* ---- errors_v2 ---- */

struct bch_sb_error_entry bch_sb_error_v2_decode(const uint8_t p[BCH_SB_ERROR_V2_BYTES])
{
	uint64_t w0 = get_le64(p), w1 = get_le64(p + 8);
	struct bch_sb_error_entry e = {
		.id		= (uint16_t)bits64(w0, 0, 16),
		.nr		= bits64(w0, 16, 48),
		.last_time	= bits64(w0, 48, 64) | bits64(w1, 0, 24) << 16,
		.first_time	= bits64(w1, 24, 64),
	};

	return e;
}

size_t bch_sb_errors_v2_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, BCH_SB_ERROR_V2_BYTES);
}

struct bch_sb_error_entry bch_sb_error_v2_get(const uint8_t *f, size_t bytes, size_t i)
{
	struct bch_sb_error_entry e = { 0 };

	if (i < bch_sb_errors_v2_nr(bytes))
		e = bch_sb_error_v2_decode(f + 8 + BCH_SB_ERROR_V2_BYTES * i);
	return e;
}

/* ---- ext ---- */

int bch_sb_ext_get(const uint8_t *f, size_t bytes, struct bch_sb_ext *e)
{
	memset(e, 0, sizeof(*e));
	if (bytes < BCH_SB_EXT_MIN_BYTES)
		return -BCH_ERR_CORRUPT;
	for (unsigned i = 0; i < 2; i++)
		e->recovery_passes_required[i] = get_le64(f + 8 + 8 * i);
	for (unsigned i = 0; i < 8; i++)
		e->errors_silent[i] = get_le64(f + 24 + 8 * i);
	if (bytes >= 96) {
		e->has_btrees_lost_data = true;
		e->btrees_lost_data = get_le64(f + 88);
	}
	if (bytes >= 104) {
		e->has_flags0 = true;
		e->flags0 = get_le64(f + 96);
	}
	if (bytes >= 112) {
		e->has_btrees_lost_data_ever = true;
		e->btrees_lost_data_ever = get_le64(f + 104);
	}
	if (bytes >= 120) {
		e->has_btrees_clean = true;
		e->btrees_clean = get_le64(f + 112);
	}
	return 0;
}

/* ---- downgrade ---- */

#define DOWNGRADE_HDR_BYTES	20u

int bch_sb_downgrade_next(const uint8_t *f, size_t bytes, size_t *pos,
			  struct bch_sb_downgrade_entry *e)
{
	size_t off = *pos < 8 ? 8 : *pos;
	const uint8_t *p = f + off;

	memset(e, 0, sizeof(*e));
	if (off >= bytes || bytes - off < DOWNGRADE_HDR_BYTES)
		return 0;
	e->version = get_le16(p);
	e->recovery_passes[0] = get_le64(p + 2);
	e->recovery_passes[1] = get_le64(p + 10);
	e->nr_errors = get_le16(p + 18);
	if ((size_t)e->nr_errors * 2 > bytes - off - DOWNGRADE_HDR_BYTES) {
		memset(e, 0, sizeof(*e));
		return 0;
	}
	e->errors = p + DOWNGRADE_HDR_BYTES;
	*pos = off + DOWNGRADE_HDR_BYTES + 2 * (size_t)e->nr_errors;
	return 1;
}

/* ---- recovery_passes ---- */

size_t bch_sb_recovery_passes_nr(size_t bytes)
{
	return bch_sb_field_nr_entries(bytes, 8, 16);
}

struct bch_sb_recovery_pass_entry bch_sb_recovery_pass_get(const uint8_t *f,
							   size_t bytes, size_t i)
{
	struct bch_sb_recovery_pass_entry r = { 0 };

	if (i < bch_sb_recovery_passes_nr(bytes)) {
		r.last_run = get_le64(f + 8 + 16 * i);
		r.last_runtime = get_le32(f + 16 + 16 * i);
		r.flags = get_le32(f + 20 + 16 * i);
	}
	return r;
}

/* ---- extent_type_u64s ---- */

size_t bch_sb_extent_type_u64s_nr(const uint8_t *f, size_t bytes)
{
	size_t n = 0;

	while (8 + n < bytes && f[8 + n])
		n++;
	return n;
}

/* ---- names ---- */

/* indexed by stable id (Appendix B; 1.36 additions in §36) */
static const char * const recovery_pass_names[] = {
	[0]  = "alloc_read",
	[1]  = "stripes_read",
	[2]  = "initialize_subvolumes",
	[3]  = "snapshots_read",
	[4]  = "check_topology",
	[5]  = "check_allocations",
	[6]  = "trans_mark_dev_sbs",
	[7]  = "fs_journal_alloc",
	[8]  = "set_may_go_rw",
	[9]  = "journal_replay",
	[10] = "check_alloc_info",
	[11] = "check_lrus",
	[12] = "check_btree_backpointers",
	[13] = "check_backpointers_to_extents",
	[14] = "check_extents_to_backpointers",
	[15] = "check_alloc_to_lru_refs",
	[16] = "fs_freespace_init",
	[17] = "bucket_gens_init",
	[18] = "check_snapshot_trees",
	[19] = "check_snapshots",
	[20] = "check_subvols",
	[21] = "delete_dead_snapshots",
	[22] = "fs_upgrade_for_subvolumes",
	[23] = "resume_logged_ops",
	[24] = "check_inodes",
	[25] = "check_extents",
	[26] = "check_indirect_extents",
	[27] = "check_dirents",
	[28] = "check_xattrs",
	[29] = "check_root",
	[30] = "check_directory_structure",
	[31] = "check_nlinks",
	[32] = "delete_dead_inodes",
	[33] = "fix_reflink_p",
	[34] = "set_fs_needs_rebalance",
	[35] = "check_subvol_children",
	[36] = "check_subvolume_structure",
	[37] = "scan_for_btree_nodes",
	[38] = "reconstruct_snapshots",
	[39] = "accounting_read",
	[40] = "check_unreachable_inodes",
	[41] = "recovery_pass_empty",
	[42] = "lookup_root_inode",
	[43] = "check_rebalance_work",
	[44] = "delete_dead_interior_snapshots",
	[45] = "merge_btree_nodes",
	[46] = "btree_bitmap_gc",
	[47] = "kill_i_generation_keys",
	[48] = "presplit_shard_boundaries",	/* v1.39.2 */
	[49] = "check_damage",
};

/* passes 34 and 43 were renamed with the reconcile rework (1.33) */
#define RECONCILE_VERSION	BCH_VERSION(1, 33)

const char *bch_recovery_pass_name(unsigned id, unsigned sb_version)
{
	if (sb_version >= RECONCILE_VERSION) {
		if (id == 34)
			return "set_fs_needs_reconcile";
		if (id == 43)
			return "check_reconcile_work";
	}
	return id < ARRAY_SIZE(recovery_pass_names) ? recovery_pass_names[id] : NULL;
}

static const char * const feature_names[] = {
	"lz4", "gzip", "zstd", "atomic_nlink", "ec",
	"journal_seq_blacklist_v3", "reflink", "new_siphash", "inline_data",
	"new_extent_overwrite", "incompressible", "btree_ptr_v2",
	"extents_above_btree_updates", "btree_updates_journalled",
	"reflink_inline_data", "new_varint", "journal_no_flush", "alloc_v2",
	"extents_across_btree_nodes", "incompat_version_field", "casefolding",
	"no_alloc_info", "small_image", "no_default_sb",
};

const char *bch_sb_feature_name(unsigned bit)
{
	return bit < ARRAY_SIZE(feature_names) ? feature_names[bit] : NULL;
}

static const char * const compat_names[] = {
	"alloc_info", "alloc_metadata", "extents_above_btree_updates_done",
	"bformat_overflow_done", "no_stale_ptrs",
};

const char *bch_sb_compat_name(unsigned bit)
{
	return bit < ARRAY_SIZE(compat_names) ? compat_names[bit] : NULL;
}
