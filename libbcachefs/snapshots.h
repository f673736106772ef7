/*
 * Values of the subvolumes (8) and snapshots (9) btrees. The releases
 * 1.37-1.39 (upstream v1.39.2 fs/snapshots/format.h) append a le32
 * `state` and a le32 pad to both: a lifecycle state chosen from a few
 * far-apart 32-bit codewords, so that a damaged field reads as invalid
 * rather than as another state. 0 means a key written before the state
 * existed; then the old flag bits say what the state is.
 *
 * subvolume: flags le32 @0, snapshot le32 @4, inode le64 @8,
 *            creation_parent le32 @16, fs_path_parent le32 @20,
 *            otime 16 bytes @24, state le32 @40 (48 bytes in all)
 * snapshot:  flags le32 @0, parent le32 @4, children le32[2] @8,
 *            subvol le32 @16, tree le32 @20, depth le32 @24,
 *            skip le32[3] @28, btime 16 bytes @40, state le32 @56 (64)
 * Shorter (older) values read the missing fields as zero.
 */
#ifndef BCH_SNAPSHOTS_H
#define BCH_SNAPSHOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"

/* subvolume states */
#define BCH_SUBVOL_STATE_live		0x4ad5447eu
#define BCH_SUBVOL_STATE_unlinked	0x2d358e8fu
#define BCH_SUBVOL_STATE_deleted	0x3c6b2d4cu

/* snapshot states */
#define BCH_SNAP_STATE_live		0x757c47a2u
#define BCH_SNAP_STATE_will_delete	0x3316a8d2u
#define BCH_SNAP_STATE_no_keys		0x372b5a01u
#define BCH_SNAP_STATE_deleted		0x7cd4a225u

/* subvolume flag bits; bit 2 (unlinked) is superseded by state */
#define BCH_SUBVOL_FLAG_ro		(1u << 0)
#define BCH_SUBVOL_FLAG_snap		(1u << 1)
#define BCH_SUBVOL_FLAG_unlinked	(1u << 2)

/* snapshot flag bits, all superseded by state (subvol by the subvol field) */
#define BCH_SNAP_FLAG_will_delete	(1u << 0)
#define BCH_SNAP_FLAG_subvol		(1u << 1)
#define BCH_SNAP_FLAG_deleted		(1u << 2)
#define BCH_SNAP_FLAG_no_keys		(1u << 3)

struct bch_subvolume {
	uint32_t	flags;
	uint32_t	snapshot;
	uint64_t	inode;		/* root inode */
	uint32_t	creation_parent;
	uint32_t	fs_path_parent;
	uint32_t	state;		/* 0: not written (older key) */
	bool		has_parents;	/* value long enough for the two parents */
};

struct bch_snapshot {
	uint32_t	flags;
	uint32_t	parent;
	uint32_t	children[2];
	uint32_t	subvol;
	uint32_t	tree;
	uint32_t	depth;
	uint32_t	skip[3];
	uint32_t	state;		/* 0: not written (older key) */
};

/* name of a state codeword, NULL if it is none */
const char *bch_subvolume_state_name(uint32_t state);
const char *bch_snapshot_state_name(uint32_t state);

/* 0, or -BCH_ERR_CORRUPT (why may be NULL) if the value is too short */
int bch_subvolume_decode(const struct bkey *k, struct bch_subvolume *out, const char **why);
int bch_snapshot_decode(const struct bkey *k, struct bch_snapshot *out, const char **why);

/* "root 4096 snapshot id 4294967295 creation_parent 0 fs_parent 0 state live" */
void bch_subvolume_to_text(struct printbuf *out, const struct bch_subvolume *s);
/* "parent 0 children 0 0 subvol 1 tree 1 depth 0 skiplist 0 0 0 state live flags 0x2" */
void bch_snapshot_to_text(struct printbuf *out, const struct bch_snapshot *s);

#endif
