/*
 * The filesystem-level keys of a new filesystem: subvolume 1 on snapshot
 * U32_MAX in snapshot tree 1, the root directory (inode 4096) with
 * lost+found in it, the inode allocation cursor, and their accounting.
 * As upstream's new-filesystem initialisation leaves them (kernel
 * libbcachefs/init/fs.c and recovery.c, the first-mount path); see
 * ../shared/images/README.md, "Fresh images". On 1.39 as v1.39.2 leaves
 * them (../shared/images-v139, v139-fresh-*): subvolume and snapshot in
 * state live, the cursor at 1:1, inodes and dirents counted per snapshot
 * in the accounting.
 */
#ifndef BCH_FORMAT_FS_H
#define BCH_FORMAT_FS_H

#include <stdint.h>

#include "bcachefs_format.h"
#include "errors.h"
#include "key_updates.h"

struct bch_fs;

#define BCH_ROOT_INO		4096u
#define BCH_ROOT_SUBVOL		1u
#define BCH_ROOT_SNAPSHOT	UINT32_MAX

/*
 * The first inode number a new filesystem hands out after the root:
 * 4097 with inodes_32bit, else the start of the upper half (2^31).
 */
uint64_t bch_format_first_inum(const struct bch_fs *fs);

/* where the inode allocation cursor is kept in the logged_ops btree */
struct bpos bch_format_inode_cursor_pos(const struct bch_fs *fs);

/*
 * Add the keys above to u. time_base_ns is the superblock's time base;
 * inode times are counted from it (time_precision 1 ns).
 */
int bch_format_fs_keys(struct bch_fs *fs, uint64_t time_base_ns, struct bch_key_updates *u,
		       struct bch_error *err);

#endif
