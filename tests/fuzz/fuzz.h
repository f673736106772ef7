/*
 * Shared parts of the libFuzzer targets (tests/fuzz/README.md): a stand-in
 * filesystem for the targets that decode one structure, checksum fix-ups
 * so that mutated inputs get past the checksums, the packed image format
 * of the whole-filesystem targets, and the check run on an open filesystem.
 */
#ifndef BCH_FUZZ_H
#define BCH_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"
#include "fsck_ctx.h"

/* ---- checksum fix-ups: recompute what the type in the flags asks for ---- */

/* a superblock copy of len bytes (header and fields) */
void fz_fix_sb(uint8_t *sb, size_t len);
/* a jset with at most avail bytes behind it; returns its size (0: none) */
size_t fz_fix_jset(uint8_t *j, size_t avail);
/* a btree node of node_bytes: its first bset and the entries after it */
void fz_fix_node(uint8_t *node, size_t node_bytes, size_t block_bytes);

/* ---- a stand-in filesystem: one member, no devices opened ---- */

struct fz_fake {
	struct bch_fs		*fs;
	struct bch_sb		sb;
	struct bch_member	member;
	struct bch_dev		dev;
	uint64_t		journal_bucket;
};

/* sizes in sectors; magic: the sb_magic the structures are checked against */
int fz_fake_init(struct fz_fake *f, unsigned block_sectors, unsigned node_sectors,
		 unsigned bucket_sectors, uint64_t sb_magic);
void fz_fake_exit(struct fz_fake *f);

/* ---- packed images: the input of the whole-filesystem targets ----
 *
 *   "BCHFZIM1", u8 nr_devs (1..FZ_MAX_DEVS), u8 flags (FZ_*), u16 0,
 *   le32 device size in 4 KiB blocks, per device,
 *   then records: le32 (dev << 28 | block), 4096 bytes of the block.
 *
 * Blocks not recorded read as zeroes; a record past its device or a short
 * last record is ignored.
 */
#define FZ_MAGIC		"BCHFZIM1"
#define FZ_MAX_DEVS		4u
#define FZ_BLOCK		4096u
#define FZ_MAX_BYTES		(256ULL << 20)	/* all devices together */
#define FZ_NO_FIXUP		(1u << 0)	/* flags: leave the checksums alone */
#define FZ_FULL			(1u << 1)	/* flags: the check with --full */

struct fz_image {
	unsigned	nr_devs;
	unsigned	flags;
	uint8_t		*dev[FZ_MAX_DEVS];
	size_t		size[FZ_MAX_DEVS];	/* bytes */
	size_t		map[FZ_MAX_DEVS];	/* bytes mapped (a guard page after) */
	uint8_t		*present[FZ_MAX_DEVS];	/* per 4 KiB block: given by the input */
};

/* unpack (and fix the checksums unless told not to); -1: not an image */
int fz_image_unpack(const uint8_t *data, size_t len, struct fz_image *img);
void fz_image_free(struct fz_image *img);
/* every superblock, journal entry and btree node (in the blocks given) */
void fz_image_fixup(struct fz_image *img);
/* the filesystem on the image's devices, in memory, no messages printed */
int fz_image_open(struct fz_image *img, bool writable, struct bch_fs **fs,
		  struct bch_error *err);

/* ---- the check, as fsck_main runs it, on an open filesystem ---- */

struct fz_check {
	struct fsck_opts	o;
	struct fsck_ctx		c;
};

/*
 * run the passes (mode MODE_CHECK or MODE_YES; full: --full); reports go
 * to /dev/null
 */
int fz_check_run(struct fz_check *k, struct bch_fs *fs, enum fsck_mode mode, bool full,
		 struct bch_error *err);
void fz_check_exit(struct fz_check *k);

/* with FUZZ_VERBOSE set in the environment: what a step said, on stderr */
void fz_verbose(const char *step, const char *msg, uint64_t findings);

#endif
