/*
 * `bcachefs format --source=DIR`: copying a directory tree into a newly
 * formatted filesystem, as upstream's copy_fs() (c_src/posix_to_bcachefs.c)
 * leaves it: inode_v3 inodes (numbered in the order upstream creates
 * them: each directory's entries sorted by type and name, depth first),
 * dirents and xattrs at their string hashes, symlinks and regular files
 * with their data in buckets (checksummed as the data_checksum option
 * says, cut at bucket ends and at encoded_extent_max, zero blocks and
 * holes left out), hard links; and everything the triggers keep for that
 * data: alloc keys, freespace, fragmentation LRU entries, one backpointer
 * per pointer, the superblock's replicas entries, and the accounting
 * (nr_inodes, replicas, dev_data_type, snapshot, inum).
 *
 * The tree is walked with an explicit stack and the keys are committed in
 * batches through bch_commit_btrees(). Memory is that of one batch (its
 * key updates, the commit's new nodes), the lookup cache, and the names
 * of the directories on the walk stack (each read whole, to be sorted):
 * not the number of files. The one map that grows with the tree is that
 * of hard-linked files (source inode -> new inode, for files with more
 * than one link), as upstream keeps one.
 *
 * Where we differ from upstream: POSIX ACLs and other system.* xattrs are
 * not copied (counted as left out); device numbers are stored in the
 * kernel's encoding (upstream copies st_rdev as glibc encodes it); a
 * lost+found below the top level is copied (upstream skips every one); the
 * IO clocks do not advance with the data written; on 1.36 all
 * data_replicas copies are written at once (upstream writes one and lets
 * its reconcile add the others before format ends).
 */
#ifndef BCH_FORMAT_SOURCE_H
#define BCH_FORMAT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct bch_fs;

/* key updates per commit when the caller does not say */
#define BCH_SOURCE_BATCH_KEYS	(1u << 17)

struct bch_source_opts {
	const char	*src;		/* the directory whose contents are copied */
	size_t		batch_keys;	/* key updates per commit; 0: BCH_SOURCE_BATCH_KEYS */
	uint64_t	now_ns;		/* creation time of the new inodes; 0: the clock */
};

struct bch_source_stats {
	uint64_t	files;		/* regular files */
	uint64_t	dirs;
	uint64_t	symlinks;
	uint64_t	specials;	/* fifos, sockets, device nodes */
	uint64_t	hardlinks;	/* links to a file copied already */
	uint64_t	xattrs;
	uint64_t	skipped_xattrs;	/* namespaces not copied (POSIX ACLs, system.*) */
	uint64_t	bytes;		/* file and symlink data written */
	uint64_t	extents;
	unsigned	commits;
	uint64_t	discarded;	/* freed buckets made free again between batches */
};

/*
 * Copy o->src into fs (opened read-write, freshly formatted: nothing but
 * the root directory and lost+found in it). A top-level lost+found of the
 * source is left out, as upstream does. Refused on an encrypted or
 * compressing filesystem, and on 1.36 with more data replicas than
 * devices for user data (none of them implemented). On error the
 * filesystem is left clean, holding what the batches committed so far.
 */
int bch_format_source(struct bch_fs *fs, const struct bch_source_opts *o,
		      struct bch_source_stats *st, struct bch_error *err);

#endif
