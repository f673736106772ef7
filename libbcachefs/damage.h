/*
 * Damage keys (key type 38, btree damage = 28, new with the 1.37-1.39
 * releases): one key per damaged inode at 0:inum:snapshot, listing the
 * errors (superblock error ids) whose repairs damaged that inode. The
 * value is a run of 16-byte records in the errors_v2 layout
 * (sb_fields.h), sorted by strictly ascending id. Upstream v1.39.2
 * init/damage_format.h, damage.c.
 */
#ifndef BCH_DAMAGE_H
#define BCH_DAMAGE_H

#include <stddef.h>

#include "bcachefs_format.h"
#include "printbuf.h"
#include "sb_fields.h"

/* number of records in a damage value (val_bytes / 16) */
static inline size_t bch_damage_nr(const struct bkey *k)
{
	return k->val_bytes / BCH_SB_ERROR_V2_BYTES;
}

/* record i (< bch_damage_nr(k)) */
struct bch_sb_error_entry bch_damage_entry(const struct bkey *k, size_t i);

/*
 * Whether the value is well formed: a whole number of records, ids
 * strictly ascending and non-zero, no record first seen after it was
 * last seen. Returns 0, or -BCH_ERR_CORRUPT with the reason in *why
 * (why may be NULL).
 */
int bch_damage_validate(const struct bkey *k, const char **why);

/* "id 12 nr 3 first 1764000000 last 1764000100, id ..." (times in seconds) */
void bch_damage_to_text(struct printbuf *out, const struct bkey *k);

#endif
