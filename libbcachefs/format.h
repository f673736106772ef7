/*
 * Making a new filesystem (`bcachefs format`): geometry chosen the way
 * upstream's format chooses it, a superblock written from nothing, then
 * every btree written through the same commit as a repair
 * (commit.h): alloc, freespace and accounting for every bucket, the
 * root subvolume, snapshot, snapshot tree, root directory and lost+found.
 * What upstream leaves after `format` is described in
 * ../shared/images/README.md ("Fresh images"); the facts are from upstream
 * c_src/libbcachefs.c (geometry, layout) and the kernel's new-filesystem
 * initialisation (libbcachefs/recovery.c, journal/init.c, sb/members.c).
 */
#ifndef BCH_MKFS_H
#define BCH_MKFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "str_hash.h"

struct bch_fs;

#define BCH_FORMAT_MAX_DEVICES		64u
#define BCH_JOURNAL_BUCKETS_MIN		8u
#define BCH_FORMAT_SB_SIZE_BITS		11u	/* 1 MiB per superblock copy */

/* checksum option values (superblock flags, not checksum types) */
enum bch_csum_opt {
	BCH_CSUM_OPT_none	= 0,
	BCH_CSUM_OPT_crc32c	= 1,
	BCH_CSUM_OPT_crc64	= 2,
	BCH_CSUM_OPT_xxhash	= 3,
};

struct bch_format_dev {
	const char	*path;
	uint64_t	size;		/* bytes to use; 0: the whole device */
	uint32_t	bucket_size;	/* bytes; 0: chosen as upstream does */
	const char	*label;		/* disk group of the device, or NULL */
	/* filled in by bch_format_geometry() */
	uint64_t	nbuckets;
	unsigned	nr_journal;
};

struct bch_format_opts {
	uint16_t	version;		/* BCH_VERSION_1_28, _1_36 or _1_39 */
	uint32_t	block_size;		/* bytes; 0: the devices' largest block size */
	uint32_t	btree_node_size;	/* bytes; 0: chosen */
	bool		uuid_set;
	uint8_t		uuid[16];		/* external (user) UUID */
	const char	*label;			/* filesystem label, or NULL */
	unsigned	meta_csum, data_csum;	/* enum bch_csum_opt */
	unsigned	compression;		/* type | level << 4 (superblock encoding) */
	unsigned	background_compression;
	unsigned	str_hash;		/* enum bch_str_hash_opt */
	unsigned	meta_replicas, data_replicas;
	bool		encrypted;
	const char	*passphrase;		/* NULL with encrypted: key stored unencrypted */
	size_t		passphrase_len;
	bool		force;			/* overwrite an existing filesystem */
	uint64_t	now_ns;			/* 0: the current time (tests fix it) */
};

/* the fewest buckets a device may have: 64 before 1.29, 512 from then (sb/members_format.h) */
unsigned bch_format_min_nbuckets(uint16_t version);

/* upstream's defaults for everything not given, metadata version 1.28 */
void bch_format_opts_default(struct bch_format_opts *o);

/*
 * Bucket sizes, bucket counts, btree node size, block size and journal
 * sizes, as upstream's format picks them. Fills devs[] and o (block_size,
 * btree_node_size); the devices are not touched (sizes must be set, or
 * found by bch_format() first). -BCH_ERR_INVAL for impossible requests.
 */
int bch_format_geometry(struct bch_format_opts *o, struct bch_format_dev *devs, unsigned nr,
			struct bch_error *err);

struct bch_format_result {
	uint8_t		uuid[16];		/* external UUID */
	uint64_t	nr_keys;		/* keys written into the btrees */
	size_t		nr_nodes;		/* btree nodes written */
};

/*
 * Format devs[0..nr): refuses a device that holds a filesystem (any type
 * libblkid knows) unless o->force. On success every device holds a clean,
 * empty filesystem.
 */
int bch_format(struct bch_format_opts *o, struct bch_format_dev *devs, unsigned nr,
	       struct bch_format_result *res, struct bch_error *err);

#endif
