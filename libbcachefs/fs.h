/*
 * An opened filesystem: its member devices, the superblock that won, the
 * master key when encrypted, and the journal state recovery would start
 * from (btree roots and the keys to overlay).
 */
#ifndef BCH_FS_H
#define BCH_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypt.h"
#include "errors.h"
#include "io.h"
#include "journal.h"
#include "super.h"

struct bch_node_expect;

struct bch_dev {
	unsigned		idx;
	struct bch_io		*io;
	struct bch_sb		sb;	/* this device's own superblock */
};

struct bch_fs_opts {
	const char		*passphrase;	/* NULL: plain key or no encryption */
	size_t			passphrase_len;
	bool			write;		/* open devices read-write */
	bool			shared;		/* block devices without O_EXCL (BCH_IO_SHARED) */
	struct bch_msg_sink	msgs;
};

struct bch_fs {
	struct bch_msg_sink	msgs;
	const struct bch_sb	*sb;		/* the newest superblock of all devices */
	unsigned		nr_devs;	/* member slots (sb->nr_devices) */
	struct bch_dev		*devs[BCH_SB_MAX_DEVICES];	/* NULL: not opened */
	unsigned		nr_opened;

	bool			encrypted;
	struct bch_crypt_key	key;

	unsigned		block_size;	/* sectors */
	unsigned		btree_node_size;	/* sectors */
	unsigned		meta_csum_type;
	unsigned		bp_shift;

	struct bch_journal	journal;

	/*
	 * Btrees (bit = btree id) whose iterators pass over nodes that cannot
	 * be read as if empty: fsck sets it for derived btrees it found damaged
	 * and rebuilds. Anywhere else such a node is an error.
	 */
	uint64_t		skip_unreadable;

	/*
	 * Told of every btree node read (progress reports): x is what the
	 * node was to be. NULL: nobody is listening.
	 */
	void			(*on_node_read)(void *ctx, const struct bch_node_expect *x);
	void			*on_node_read_ctx;
	uint64_t		nodes_read;	/* btree nodes asked for, replicas not counted */
	/* CPU time of the threads reading and decoding nodes (atomic adds) */
	uint64_t		node_cpu_ns;
	/*
	 * Threads that read and decode btree nodes ahead of the iterators
	 * and walks (bch_fs_set_threads); NULL: all in the caller's thread.
	 */
	struct bch_workers	*workers;
};

/*
 * n threads in all (the caller's among them) read and decode btree nodes;
 * 0 or 1: the caller alone
 */
int bch_fs_set_threads(struct bch_fs *fs, unsigned n);

/*
 * Open the devices (paths may also be "UUID=<uuid>" or "LABEL=<label>", which find
 * the members through libblkid), pick the superblock, unlock the key and
 * read the journal. Every member must be given.
 */
/* "UUID=..." or "LABEL=...": members to be searched for, not a path */
static inline bool bch_dev_spec_is_search(const char *spec)
{
	return !strncmp(spec, "UUID=", 5) || !strncmp(spec, "LABEL=", 6);
}

/* "xxxxxxxx-xxxx-...": 0, or -1 if it is not 32 hex digits (dashes anywhere) */
int bch_uuid_parse(const char *s, uint8_t out[16]);

int bch_fs_open(char * const *paths, unsigned nr, const struct bch_fs_opts *opts,
		struct bch_fs **out, struct bch_error *err);
/*
 * The same on devices already open (in-memory images: tests, fuzzing); no
 * search, no libblkid. The filesystem takes the ios over, also on error.
 */
int bch_fs_open_io(struct bch_io * const *ios, unsigned nr, const struct bch_fs_opts *opts,
		   struct bch_fs **out, struct bch_error *err);
void bch_fs_close(struct bch_fs *fs);
/*
 * Read every opened member's superblock and the journal again, as a new
 * open would: a commit does not carry what it wrote (sequence numbers,
 * btree bitmaps, journal position) into the open state, so a second
 * commit on the same open filesystem needs this first.
 */
int bch_fs_reload(struct bch_fs *fs, struct bch_error *err);

static inline const struct bch_member *bch_fs_member(const struct bch_fs *fs,
						     unsigned dev)
{
	return dev < fs->sb->nr_members && fs->sb->members[dev].exists ?
		&fs->sb->members[dev] : NULL;
}

/* is this journal sequence number blacklisted (superblock or journal)? */
bool bch_fs_seq_blacklisted(const struct bch_fs *fs, uint64_t seq);

/* read and validate a superblock without opening the filesystem (show-super) */
int bch_dev_read_sb(const char *path, const struct bch_msg_sink *msgs,
		    struct bch_sb *sb, struct bch_error *err);

#endif
