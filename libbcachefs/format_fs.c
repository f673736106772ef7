/* The filesystem-level keys of a new filesystem (format_fs.h). */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "btree_alloc.h"
#include "check_buckets.h"
#include "dirents.h"
#include "format_fs.h"
#include "fs.h"
#include "inode.h"
#include "journal_write.h"
#include "snapshots.h"
#include "str_hash.h"

#define S_IFDIR_BITS	0040000u
#define DT_DIR_TYPE	4u

/* inode flags bits 20..24: the directory's string hash type (§7.3) */
#define INODE_STR_HASH_SHIFT	20u

uint64_t bch_format_first_inum(const struct bch_fs *fs)
{
	/* inodes_32bit: flags[1] bit 8 */
	return bits64(fs->sb->flags[1], 8, 9) ? BCH_ROOT_INO + 1 : 1ULL << 31;
}

struct bpos bch_format_inode_cursor_pos(const struct bch_fs *fs)
{
	/*
	 * v1.39.2 keeps cursor 0 for 32-bit inode numbers and 1 + shard for
	 * the others (fs/inode.c); before, one cursor at 0
	 */
	bool wide = fs->sb->version >= BCH_VERSION_1_39 && !bits64(fs->sb->flags[1], 8, 9);

	return BPOS(1, wide ? 1 : 0, 0);
}

static int add(struct bch_key_updates *u, unsigned btree, struct bpos p, unsigned type,
	       const void *val, size_t bytes, struct bch_error *err)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .val = val, .val_bytes = (uint16_t)bytes };

	if (bch_key_updates_add(u, btree, 0, &k))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	return 0;
}

/*
 * subvolume 1, its snapshot and snapshot tree (bcachefs-format.md §7.3);
 * from 1.39 the subvolume and snapshot keys carry their state, live
 * (v1.39.2 fs/snapshots/format.h), 8 bytes longer each
 */
static int add_subvolume(struct bch_key_updates *u, bool state, struct bch_error *err)
{
	uint8_t subvol[48] = { 0 }, snap[64] = { 0 }, tree[8];

	/* subvolume: flags, snapshot, inode, then parents and otime zero */
	put_le32(subvol + 4, BCH_ROOT_SNAPSHOT);
	put_le64(subvol + 8, BCH_ROOT_INO);
	/* snapshot: flags (subvolume), parent, children, subvol, tree, the rest zero */
	put_le32(snap, 2);
	put_le32(snap + 16, BCH_ROOT_SUBVOL);
	put_le32(snap + 20, 1);
	/* snapshot tree: master subvolume, root snapshot */
	put_le32(tree, BCH_ROOT_SUBVOL);
	put_le32(tree + 4, BCH_ROOT_SNAPSHOT);
	if (state) {
		put_le32(subvol + 40, BCH_SUBVOL_STATE_live);
		put_le32(snap + 56, BCH_SNAP_STATE_live);
	}
	return add(u, BTREE_ID_subvolumes, BPOS(0, BCH_ROOT_SUBVOL, 0), KEY_TYPE_subvolume,
		   subvol, state ? 48 : 40, err) ?:
	       add(u, BTREE_ID_snapshots, BPOS(0, BCH_ROOT_SNAPSHOT, 0), KEY_TYPE_snapshot,
		   snap, state ? 64 : 56, err) ?:
	       add(u, BTREE_ID_snapshot_trees, BPOS(0, 1, 0), KEY_TYPE_snapshot_tree,
		   tree, sizeof(tree), err);
}

/* a key's bytes as upstream's accounting counts them: unpacked header and value */
static int64_t key_bytes(size_t val_bytes)
{
	return 40 + (int64_t)((val_bytes + 7) & ~(size_t)7);
}

/* the inode's key, its bytes added to *acct_bytes */
static int add_inode(struct bch_key_updates *u, const struct bch_inode_unpacked *in,
		     int64_t *acct_bytes, struct bch_error *err)
{
	uint8_t val[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;

	if (bch_inode_pack(in, val, sizeof(val), &bytes))
		return bch_err(err, BCH_ERR_INVAL, "inode %llu does not pack",
			       (unsigned long long)in->bi_inum);
	*acct_bytes += key_bytes(bytes);
	return add(u, BTREE_ID_inodes, BPOS(0, in->bi_inum, in->bi_snapshot), KEY_TYPE_inode_v3,
		   val, bytes, err);
}

/*
 * From 1.39 the accounting counts the keys of each snapshot btree per
 * snapshot id: keys, bytes, sectors (v1.39.2 alloc/buckets.c,
 * bch2_trigger_snapshot_nr_keys)
 */
static int add_snapshot_acct(struct bch_fs *fs, struct bch_key_updates *u, unsigned btree,
			     int64_t nr, int64_t bytes, struct bch_error *err)
{
	uint8_t v[24] = { 0 };

	if (fs->sb->version < BCH_VERSION_1_39)
		return 0;
	put_le64(v, (uint64_t)nr);
	put_le64(v + 8, (uint64_t)bytes);
	return add(u, BTREE_ID_accounting, bch_acct_snapshot_pos(BCH_ROOT_SNAPSHOT, btree),
		   KEY_TYPE_accounting, v, sizeof(v), err);
}

/* a new directory as upstream's inode init makes it: times, seed, hash type */
static void dir_init(struct bch_inode_unpacked *in, uint64_t inum, uint16_t perm,
		     unsigned hash_type, uint64_t now, uint64_t seq)
{
	memset(in, 0, sizeof(*in));
	in->bi_inum = inum;
	in->bi_snapshot = BCH_ROOT_SNAPSHOT;
	in->bi_journal_seq = seq;
	in->bi_mode = (uint16_t)(S_IFDIR_BITS | perm);
	in->bi_flags = (uint64_t)hash_type << INODE_STR_HASH_SHIFT;
	randombytes_buf(&in->bi_hash_seed, sizeof(in->bi_hash_seed));
	in->bi_atime = in->bi_ctime = in->bi_mtime = in->bi_otime = now;
}

int bch_format_fs_keys(struct bch_fs *fs, uint64_t time_base_ns, struct bch_key_updates *u,
		       struct bch_error *err)
{
	struct bch_inode_unpacked root, lf;
	struct bch_hash_info h;
	struct bch_dirent_unpacked d = { 0 };
	uint8_t val[64], cursor[16] = { 0 };
	int64_t nr_inodes = 2, inode_bytes = 0;
	uint64_t seq = bch_journal_next_seq(fs), lf_inum = bch_format_first_inum(fs), now;
	struct timespec ts;
	size_t bytes;
	int hash_type = bch_str_hash_opt_to_type((unsigned)bits64(fs->sb->flags[1], 0, 4), true);
	int ret;

	if (hash_type < 0)
		return bch_err(err, BCH_ERR_INVAL, "unknown str_hash option");
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	now = now > time_base_ns ? now - time_base_ns : 0;

	/* root: 0755, subvolume 1, nlink 3 stored less the directory bias of 2 */
	dir_init(&root, BCH_ROOT_INO, 0755, (unsigned)hash_type, now, seq);
	root.bi_subvol = BCH_ROOT_SUBVOL;
	root.bi_nlink = 1;
	/* lost+found: 0700, in the root at its dirent's offset, depth 1 */
	dir_init(&lf, lf_inum, 0700, (unsigned)hash_type, now, seq);
	if (bch_hash_info_from_inode(&h, &root))
		return bch_err(err, BCH_ERR_INVAL, "root directory hash");
	lf.bi_dir = BCH_ROOT_INO;
	lf.bi_dir_offset = bch_dirent_hash(&h, "lost+found", 10);
	lf.bi_depth = 1;

	d.d_inum = lf_inum;
	d.d_type = DT_DIR_TYPE;
	d.name = (const uint8_t *)"lost+found";
	d.name_len = 10;
	if (bch_dirent_pack(&d, val, sizeof(val), &bytes))
		return bch_err(err, BCH_ERR_INVAL, "lost+found dirent does not pack");

	/* the inode allocation cursor: next number after lost+found */
	put_le64(cursor + 8, lf_inum + 1);

	ret = add_subvolume(u, fs->sb->version >= BCH_VERSION_1_39, err) ?:
	      add_inode(u, &root, &inode_bytes, err) ?:
	      add_inode(u, &lf, &inode_bytes, err) ?:
	      add(u, BTREE_ID_dirents, BPOS(BCH_ROOT_INO, lf.bi_dir_offset, BCH_ROOT_SNAPSHOT),
		  KEY_TYPE_dirent, val, bytes, err) ?:
	      add_snapshot_acct(fs, u, BTREE_ID_inodes, 2, inode_bytes, err) ?:
	      add_snapshot_acct(fs, u, BTREE_ID_dirents, 1, key_bytes(bytes), err) ?:
	      add(u, BTREE_ID_logged_ops, bch_format_inode_cursor_pos(fs),
		  KEY_TYPE_inode_alloc_cursor, cursor, sizeof(cursor), err);
	if (!ret) {
		uint8_t v[8];

		/* accounting: nr_inodes sits at the all-zero position */
		put_le64(v, (uint64_t)nr_inodes);
		ret = add(u, BTREE_ID_accounting, BPOS(0, 0, 0), KEY_TYPE_accounting, v, 8, err);
	}
	return ret;
}
