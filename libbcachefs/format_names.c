/*
 * Names of on-disk enums as upstream spells them (they appear in our
 * output and in the conformance dumps). Sources: upstream
 * libbcachefs/bcachefs_format.h (v1.25.3 and v1.36.1) and fs/bcachefs_format.h
 * (v1.39.2).
 */
#include <string.h>

#include "bcachefs_format.h"

const uint8_t bch_sb_magic_uuid[16] = {
	0xc6, 0x85, 0x73, 0xf6, 0x66, 0xce, 0x90, 0xa9,
	0xd9, 0x6a, 0x60, 0xcf, 0x80, 0x3d, 0xf7, 0xef,
};

const uint8_t bcache_sb_magic_uuid[16] = {
	0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca,
	0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81,
};

static const char * const bkey_type_names[KEY_TYPE_NR] = {
	"deleted", "whiteout", "error", "cookie", "hash_whiteout",
	"btree_ptr", "extent", "reservation", "inode", "inode_generation",
	"dirent", "xattr", "alloc", "quota", "stripe", "reflink_p",
	"reflink_v", "inline_data", "btree_ptr_v2", "indirect_inline_data",
	"alloc_v2", "subvolume", "snapshot", "inode_v2", "alloc_v3", "set",
	"lru", "alloc_v4", "backpointer", "inode_v3", "bucket_gens",
	"snapshot_tree", "logged_op_truncate", "logged_op_finsert",
	"accounting", "inode_alloc_cursor", "extent_whiteout",
	"logged_op_stripe_update", "damage",
};

const char *bch_bkey_type_name(unsigned type)
{
	return type < KEY_TYPE_NR ? bkey_type_names[type] : NULL;
}

static const char * const btree_id_names[BTREE_ID_NR_KNOWN] = {
	"extents", "inodes", "dirents", "xattrs", "alloc", "quotas",
	"stripes", "reflink", "subvolumes", "snapshots", "lru", "freespace",
	"need_discard", "backpointers", "bucket_gens", "snapshot_trees",
	"deleted_inodes", "logged_ops", "rebalance_work",
	"subvolume_children", "accounting", "reconcile_hipri",
	"reconcile_pending", "reconcile_scan", "reconcile_work_phys",
	"reconcile_hipri_phys", "bucket_to_stripe", "stripe_backpointers",
	"damage",
};

/* btree 18 was renamed with the reconcile rework (version 1.33) */
#define BCH_VERSION_RECONCILE	BCH_VERSION(1, 33)

const char *bch_btree_id_name(unsigned id, unsigned sb_version)
{
	if (id == BTREE_ID_rebalance_work && sb_version >= BCH_VERSION_RECONCILE)
		return "reconcile_work";
	return id < BTREE_ID_NR_KNOWN ? btree_id_names[id] : NULL;
}

int bch_btree_id_parse(const char *name)
{
	if (!strcmp(name, "reconcile_work"))
		return BTREE_ID_rebalance_work;
	for (unsigned i = 0; i < BTREE_ID_NR_KNOWN; i++)
		if (!strcmp(name, btree_id_names[i]))
			return (int)i;
	return -1;
}

static const char * const data_type_names[BCH_DATA_NR] = {
	"free", "sb", "journal", "btree", "user", "cached", "parity",
	"stripe", "need_gc_gens", "need_discard", "unstriped", "multiple",
};

const char *bch_data_type_name(unsigned t)
{
	return t < BCH_DATA_NR ? data_type_names[t] : "(unknown)";
}

static const char * const csum_type_names[BCH_CSUM_NR] = {
	"none", "crc32c_nonzero", "crc64_nonzero", "chacha20_poly1305_80",
	"chacha20_poly1305_128", "crc32c", "crc64", "xxhash",
};

const char *bch_csum_type_name(unsigned t)
{
	return t < BCH_CSUM_NR ? csum_type_names[t] : "(unknown)";
}

static const char * const sb_field_names[BCH_SB_FIELD_NR] = {
	"journal", "members_v1", "crypt", "replicas_v0", "quota",
	"disk_groups", "clean", "replicas", "journal_seq_blacklist",
	"journal_v2", "counters", "members_v2", "errors", "ext", "downgrade",
	"recovery_passes", "extent_type_u64s", "errors_v2",
};

const char *bch_sb_field_name(unsigned type)
{
	return type < BCH_SB_FIELD_NR ? sb_field_names[type] : NULL;
}

/* metadata versions 0.9 .. 0.29 and 1.0 .. 1.39 */
static const char * const version_names_0[] = {
	[9] = "bkey_renumber_pre", [10] = "bkey_renumber",
	[11] = "inode_btree_change", [12] = "snapshot",
	[13] = "inode_backpointers", [14] = "btree_ptr_sectors_written",
	[15] = "snapshot_2", [16] = "reflink_p_fix", [17] = "subvol_dirent",
	[18] = "inode_v2", [19] = "freespace", [20] = "alloc_v4",
	[21] = "new_data_types", [22] = "backpointers", [23] = "inode_v3",
	[24] = "unwritten_extents", [25] = "bucket_gens", [26] = "lru_v2",
	[27] = "fragmentation_lru", [28] = "no_bps_in_alloc_keys",
	[29] = "snapshot_trees",
};

static const char * const version_names_1[] = {
	"major_minor", "snapshot_skiplists", "deleted_inodes",
	"rebalance_work", "member_seq", "subvolume_fs_parent",
	"btree_subvolume_children", "mi_btree_bitmap",
	"bucket_stripe_sectors", "disk_accounting_v2", "disk_accounting_v3",
	"disk_accounting_inum", "rebalance_work_acct_fix",
	"inode_has_child_snapshots", "backpointer_bucket_gen",
	"disk_accounting_big_endian", "reflink_p_may_update_opts",
	"inode_depth", "persistent_inode_cursors", "autofix_errors",
	"directory_size", "cached_backpointers", "stripe_backpointers",
	"stripe_lru", "casefolding", "extent_flags", "snapshot_deletion_v2",
	"fast_device_removal", "inode_has_case_insensitive",
	"extent_snapshot_whiteouts", "31bit_dirent_offset",
	"btree_node_accounting", "sb_field_extent_type_u64s", "reconcile",
	"extented_key_type_error", "bucket_stripe_index",
	"no_sb_user_data_replicas", "erasure_coding",
	"need_discard_by_journal_seq", "per_dev_fragmentation_lru",
};

const char *bch_version_name(unsigned v)
{
	unsigned maj = BCH_VERSION_MAJOR(v), min = BCH_VERSION_MINOR(v);

	if (maj == 0 && min < ARRAY_SIZE(version_names_0) && version_names_0[min])
		return version_names_0[min];
	if (maj == 1 && min < ARRAY_SIZE(version_names_1))
		return version_names_1[min];
	return "(unknown version)";
}
