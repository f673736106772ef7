/* Subvolume and snapshot values (snapshots.h). */
#include <string.h>

#include "errors.h"
#include "snapshots.h"

#define SUBVOL_MIN_BYTES	16u	/* flags, snapshot, inode */
#define SUBVOL_PARENTS_END	24u
#define SUBVOL_STATE		40u
#define SNAP_MIN_BYTES		24u	/* up to tree */
#define SNAP_STATE		56u

static int too_small(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

/* le32 at off, 0 past the end of the value */
static uint32_t le32_or_0(const struct bkey *k, unsigned off)
{
	return off + 4 <= k->val_bytes ? get_le32(k->val + off) : 0;
}

const char *bch_subvolume_state_name(uint32_t state)
{
	switch (state) {
	case BCH_SUBVOL_STATE_live:	return "live";
	case BCH_SUBVOL_STATE_unlinked:	return "unlinked";
	case BCH_SUBVOL_STATE_deleted:	return "deleted";
	}
	return NULL;
}

const char *bch_snapshot_state_name(uint32_t state)
{
	switch (state) {
	case BCH_SNAP_STATE_live:		return "live";
	case BCH_SNAP_STATE_will_delete:	return "will_delete";
	case BCH_SNAP_STATE_no_keys:		return "no_keys";
	case BCH_SNAP_STATE_deleted:		return "deleted";
	}
	return NULL;
}

int bch_subvolume_decode(const struct bkey *k, struct bch_subvolume *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (k->val_bytes < SUBVOL_MIN_BYTES)
		return too_small(why, "subvolume value too small");
	out->flags = get_le32(k->val);
	out->snapshot = get_le32(k->val + 4);
	out->inode = get_le64(k->val + 8);
	out->has_parents = k->val_bytes >= SUBVOL_PARENTS_END;
	out->creation_parent = le32_or_0(k, 16);
	out->fs_path_parent = le32_or_0(k, 20);
	out->state = le32_or_0(k, SUBVOL_STATE);
	return 0;
}

int bch_snapshot_decode(const struct bkey *k, struct bch_snapshot *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (k->val_bytes < SNAP_MIN_BYTES)
		return too_small(why, "snapshot value too small");
	out->flags = get_le32(k->val);
	out->parent = get_le32(k->val + 4);
	out->children[0] = get_le32(k->val + 8);
	out->children[1] = get_le32(k->val + 12);
	out->subvol = get_le32(k->val + 16);
	out->tree = get_le32(k->val + 20);
	out->depth = le32_or_0(k, 24);
	for (unsigned i = 0; i < 3; i++)
		out->skip[i] = le32_or_0(k, 28 + 4 * i);
	out->state = le32_or_0(k, SNAP_STATE);
	return 0;
}

static void state_text(struct printbuf *out, uint32_t state, const char *name)
{
	if (!state)
		pb_puts(out, " state (none)");
	else if (name)
		pb_printf(out, " state %s", name);
	else
		pb_printf(out, " state 0x%x (invalid)", state);
}

void bch_subvolume_to_text(struct printbuf *out, const struct bch_subvolume *s)
{
	pb_printf(out, "root %llu snapshot id %u", (unsigned long long)s->inode, s->snapshot);
	if (s->has_parents)
		pb_printf(out, " creation_parent %u fs_parent %u", s->creation_parent,
			  s->fs_path_parent);
	if (s->flags & BCH_SUBVOL_FLAG_ro)
		pb_puts(out, " ro");
	if (s->flags & BCH_SUBVOL_FLAG_snap)
		pb_puts(out, " snapshot");
	if (s->flags & BCH_SUBVOL_FLAG_unlinked)
		pb_puts(out, " unlinked_obsolete");
	state_text(out, s->state, bch_subvolume_state_name(s->state));
}

void bch_snapshot_to_text(struct printbuf *out, const struct bch_snapshot *s)
{
	pb_printf(out, "parent %u children %u %u subvol %u tree %u depth %u skiplist %u %u %u",
		  s->parent, s->children[0], s->children[1], s->subvol, s->tree, s->depth,
		  s->skip[0], s->skip[1], s->skip[2]);
	state_text(out, s->state, bch_snapshot_state_name(s->state));
	if (s->flags)
		pb_printf(out, " flags 0x%x", s->flags);
}
