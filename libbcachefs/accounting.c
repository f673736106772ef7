/* What a data extent counts in the disk accounting (accounting.h). */
#include <string.h>

#include "accounting.h"
#include "btree_alloc.h"
#include "buckets.h"
#include "extents.h"

static int acct_add(struct bch_key_updates *out, struct bpos p, unsigned nr, const int64_t *v)
{
	uint8_t val[24];
	struct bkey k = { .p = p, .type = KEY_TYPE_accounting, .val = val,
			  .val_bytes = (uint16_t)(8 * nr) };
	bool zero = true;

	for (unsigned i = 0; i < nr; i++) {
		put_le64(val + 8 * i, (uint64_t)v[i]);
		zero &= !v[i];
	}
	return zero ? 0 : bch_key_updates_add(out, BTREE_ID_accounting, 0, &k);
}

/* positions: the structure's type byte, then its fields little-endian */
static struct bpos acct_pos_u64(unsigned type, uint64_t v)
{
	uint8_t s[20] = { (uint8_t)type };

	put_le64(s + 1, v);
	return bch_acct_pos(s);
}

static struct bpos acct_pos_u32(unsigned type, uint32_t v)
{
	uint8_t s[20] = { (uint8_t)type };

	put_le32(s + 1, v);
	return bch_acct_pos(s);
}

struct extent_acct {
	uint8_t		devs[16];
	unsigned	nr_devs;
	int64_t		replicas;	/* dirty disk sectors */
	int64_t		cached[256];
	bool		any_cached;
	unsigned	compression;	/* type of the current run of pointers, 0 none */
	int64_t		comp[3];	/* extents, uncompressed, compressed */
};

static int comp_flush(struct extent_acct *a, int sign, struct bch_key_updates *out)
{
	int64_t v[3] = { sign * a->comp[0], sign * a->comp[1], sign * a->comp[2] };
	uint8_t s[20] = { BCH_ACCT_compression, (uint8_t)a->compression };
	int ret = a->compression ? acct_add(out, bch_acct_pos(s), 3, v) : 0;

	a->comp[0] = 1;
	a->comp[1] = a->comp[2] = 0;
	return ret;
}

static int one_ptr(struct extent_acct *a, const struct bch_extent_ptr *p,
		   const struct bch_extent_crc *crc, uint32_t live, int sign,
		   struct bch_key_updates *out)
{
	int64_t sectors = bch_ptr_disk_sectors(live, crc->width ? crc : NULL);
	int ret = 0;

	if (p->cached) {
		a->cached[p->dev] += sectors;
		a->any_cached = true;
	} else if (p->dev != BCH_SB_MEMBER_INVALID) {
		unsigned j = a->nr_devs;

		if (j >= sizeof(a->devs))
			return -BCH_ERR_INVAL;
		/* the replicas entry lists its devices in order */
		for (; j && a->devs[j - 1] > p->dev; j--)
			a->devs[j] = a->devs[j - 1];
		a->devs[j] = p->dev;
		a->nr_devs++;
		a->replicas += sectors;
	}
	if (a->compression && a->compression != crc->compression_type)
		ret = comp_flush(a, sign, out);
	a->compression = crc->width ? crc->compression_type : 0;
	if (a->compression) {
		a->comp[1] += crc->uncompressed_size;
		a->comp[2] += crc->compressed_size;
	}
	return ret;
}

static int count_entries(struct extent_acct *a, const uint8_t *p, const uint8_t *end,
			 uint32_t live, int sign, struct bch_key_updates *out)
{
	struct bch_extent_crc crc = { 0 };
	struct bch_extent_entry e;
	int ret = 0;

	for (; p < end && !ret; p += e.bytes) {
		if (!bch_extent_entry_decode(p, (unsigned)(end - p), &e))
			return -BCH_ERR_INVAL;
		if (e.type == BCH_EXTENT_ENTRY_stripe_ptr)
			return -BCH_ERR_INVAL;
		if (e.type >= BCH_EXTENT_ENTRY_crc32 && e.type <= BCH_EXTENT_ENTRY_crc128)
			crc = e.crc;
		else if (e.type == BCH_EXTENT_ENTRY_ptr)
			ret = one_ptr(a, &e.ptr, &crc, live, sign, out);
	}
	return ret;
}

/* a key's bytes unpacked, as upstream's bkey_bytes(): the 40-byte header and the value */
static int64_t key_bytes_unpacked(const struct bkey *k)
{
	return 40 + (int64_t)(((size_t)k->val_bytes + 7) & ~(size_t)7);
}

/*
 * Any other key of a snapshot btree but a whiteout counts as a key and its
 * bytes from 1.39 (v1.39.2 alloc/buckets.c, the snapshot key count
 * trigger): the error key a repair leaves where every dirty pointer went,
 * for one. Reservations count sectors too; a repair never writes one.
 */
static int other_key_accounting(uint16_t version, unsigned btree_id, const struct bkey *k,
				int sign, struct bch_key_updates *out)
{
	int64_t v[3] = { sign, sign * key_bytes_unpacked(k), 0 };

	if (version < BCH_VERSION_1_39 || !k->p.snapshot || k->type == KEY_TYPE_deleted ||
	    k->type == KEY_TYPE_whiteout || k->type == KEY_TYPE_extent_whiteout)
		return 0;
	if (k->type == KEY_TYPE_reservation)
		return -BCH_ERR_INVAL;
	return acct_add(out, bch_acct_snapshot_pos(k->p.snapshot, btree_id), 3, v);
}

int bch_extent_accounting(uint16_t version, unsigned btree_id, const struct bkey *k,
			  int sign, struct bch_key_updates *out)
{
	struct extent_acct a = { .comp = { 1 } };
	const uint8_t *v = k->val, *end = k->val + k->val_bytes;
	struct bch_extent_entry e;
	int ret;

	if (k->type == KEY_TYPE_reflink_v) {
		if (k->val_bytes < 8)
			return -BCH_ERR_INVAL;
		v += 8;		/* the refcount */
	} else if (k->type != KEY_TYPE_extent) {
		return other_key_accounting(version, btree_id, k, sign, out);
	}
	/* refused before anything is added */
	for (const uint8_t *q = v; q < end; q += e.bytes)
		if (!bch_extent_entry_decode(q, (unsigned)(end - q), &e) ||
		    e.type == BCH_EXTENT_ENTRY_stripe_ptr)
			return -BCH_ERR_INVAL;
	ret = count_entries(&a, v, end, k->size, sign, out);
	for (unsigned d = 0; d < 256 && !ret && a.any_cached; d++) {
		uint8_t dev = (uint8_t)d;
		int64_t s = sign * a.cached[d];

		if (a.cached[d])
			ret = acct_add(out, bch_acct_replicas_pos(BCH_DATA_cached, 1, &dev), 1, &s);
	}
	if (!ret && a.nr_devs) {
		int64_t s = sign * a.replicas;

		ret = acct_add(out, bch_acct_replicas_pos(BCH_DATA_user, a.nr_devs, a.devs), 1, &s);
		if (!ret && k->p.snapshot && version < BCH_VERSION_1_39)
			ret = acct_add(out, acct_pos_u32(BCH_ACCT_snapshot, k->p.snapshot), 1, &s);
	}
	if (!ret && k->p.snapshot && version >= BCH_VERSION_1_39) {
		int64_t v[3] = { sign, sign * key_bytes_unpacked(k), sign * a.replicas };

		ret = acct_add(out, bch_acct_snapshot_pos(k->p.snapshot, btree_id), 3, v);
	}
	if (!ret)
		ret = comp_flush(&a, sign, out);
	if (!ret) {
		int64_t in[3] = { sign, sign * (int64_t)k->size, sign * a.replicas };

		ret = acct_add(out, acct_pos_u64(BCH_ACCT_inum, k->p.inode), 3, in);
	}
	return ret;
}
