/*
 * Dirents (KEY_TYPE_dirent, btree 2): key inode = directory inode, offset
 * = hash of the name (str_hash.h), snapshot = the directory's. Value
 * layout (upstream libbcachefs/dirent_format.h; the same in 1.28 and
 * 1.36):
 *   @0  le64 d_inum, or for d_type DT_SUBVOL (16): le32 d_child_subvol,
 *       le32 d_parent_subvol
 *   @8  u8: bits 0..4 d_type (S_IFMT >> 12, or 16), 5..6 unused (0),
 *       bit 7 casefold
 *   @9  not casefolded: the name, NUL-padded to a multiple of 8 bytes
 *       (no NUL when it ends on the boundary)
 *   @9  casefolded: u8 pad 0, le16 name_len @10, le16 cf_name_len @12,
 *       the name and the casefolded name from @14, NUL-padded likewise
 * The hash is over the name, or over the casefolded name in a casefolded
 * directory; [0, 2) is reserved for "." and "..", so hashes below 2
 * become 2 (dirent.c). A key whose slot is taken goes to the next free
 * offset (linear probing), so its offset may exceed its hash.
 */
#ifndef BCH_DIRENTS_H
#define BCH_DIRENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"
#include "str_hash.h"

#define BCH_DT_SUBVOL		16u
#define BCH_DT_MAX		17u
#define BCH_NAME_MAX		512u

#define BCH_DIRENT_NAME_OFFSET		9u
#define BCH_DIRENT_CF_NAMES_OFFSET	14u
#define BCH_DIRENT_CASEFOLD		0x80u
/* largest value bch_dirent_pack() may write (two names of BCH_NAME_MAX) */
#define BCH_DIRENT_MAX_BYTES	\
	((BCH_DIRENT_CF_NAMES_OFFSET + 2 * BCH_NAME_MAX + 7) & ~7u)

struct bch_dirent_unpacked {
	uint64_t	d_inum;			/* not DT_SUBVOL */
	uint32_t	d_child_subvol;		/* DT_SUBVOL */
	uint32_t	d_parent_subvol;	/* DT_SUBVOL */
	uint8_t		d_type;
	bool		casefold;
	const uint8_t	*name;
	unsigned	name_len;
	const uint8_t	*cf_name;		/* casefold only */
	unsigned	cf_name_len;
};

/* d_type of an inode mode: its S_IFMT bits >> 12 */
static inline uint8_t bch_mode_to_d_type(uint16_t mode)
{
	return (uint8_t)((mode >> 12) & 15);
}

/*
 * Decode a dirent value (names point into it). Checks the structure
 * only: value size, name lengths within the value. Returns 0 or
 * -BCH_ERR_CORRUPT with the reason in *why (why may be NULL).
 */
int bch_dirent_unpack(const struct bkey *k, struct bch_dirent_unpacked *d,
		      const char **why);

/*
 * Upstream's name rules: not empty, at most BCH_NAME_MAX, no NUL, no
 * '/', not "." or "..", d_type below BCH_DT_MAX. Returns NULL if fine,
 * else the reason.
 */
const char *bch_dirent_invalid(const struct bch_dirent_unpacked *d);

/*
 * Encode as upstream writes it: d_inum (or the two subvolume ids),
 * d_type, casefold flag if d->casefold (then cf_name is the casefolded
 * name, which the caller computes), names, zero padding. Writes
 * *val_bytes bytes (a multiple of 8). Returns 0, -BCH_ERR_INVAL for a
 * name bch_dirent_invalid() rejects or a casefolded one with an empty
 * cf_name, -BCH_ERR_RANGE if size is short.
 */
int bch_dirent_pack(const struct bch_dirent_unpacked *d, uint8_t *val,
		    size_t size, size_t *val_bytes);

/*
 * The hash of a name in a directory (the key offset if the slot was
 * free): bch_str_hash masked to 31 bits if the directory says so, at
 * least 2. For a casefolded directory pass the casefolded name.
 */
uint64_t bch_dirent_hash(const struct bch_hash_info *dir, const void *name,
			 size_t len);
/* the hash of a decoded dirent: of its cf_name if casefolded, else name */
uint64_t bch_dirent_hash_unpacked(const struct bch_hash_info *dir,
				  const struct bch_dirent_unpacked *d);

/* position without probing: (dir_inum, hash, snapshot) */
static inline struct bpos bch_dirent_pos(const struct bch_hash_info *dir,
					 uint64_t dir_inum, uint32_t snapshot,
					 const void *name, size_t len)
{
	return BPOS(dir_inum, bch_dirent_hash(dir, name, len), snapshot);
}

/* "name -> inum type reg", "name (casefold cf) -> parent -> child type subvol" */
void bch_dirent_to_text(struct printbuf *out, const struct bch_dirent_unpacked *d);

/* "unknown", "fifo", "chr", "dir", "blk", "reg", "lnk", "sock", "whiteout", "subvol" */
const char *bch_d_type_name(unsigned d_type);

#endif
