/*
 * The metadata regions of a filesystem (metadata_regions.h). The
 * superblock layout is in sector 7, each copy takes 1 << sb_max_size_bits
 * sectors at its offset (bcachefs-format.md §2.1; upstream
 * libbcachefs/bcachefs_format.h, struct bch_sb_layout); journal buckets
 * are listed per device in its superblock; btree nodes take
 * btree_node_size sectors at each pointer of the key that points to them.
 */
#include <stdlib.h>
#include <string.h>

#include "extents.h"
#include "fs.h"
#include "metadata_regions.h"
#include "rebuild.h"
#include "vec.h"

static int add(struct bch_regions *rs, unsigned dev, uint64_t sector, uint64_t sectors,
	       enum bch_region_kind kind, struct bch_error *err)
{
	struct bch_region *r = BCH_VEC_PUSH(rs->r, rs->nr, rs->size);

	if (!r)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory listing the metadata regions");
	*r = (struct bch_region){
		.offset = sector * 512, .len = sectors * 512, .dev = (uint8_t)dev, .kind = (uint8_t)kind,
	};
	return 0;
}

static int add_dev_regions(struct bch_fs *fs, unsigned d, struct bch_regions *rs,
			   struct bch_error *err)
{
	const struct bch_sb *sb = &fs->devs[d]->sb;
	const struct bch_member *m = bch_fs_member(fs, d);
	int ret = add(rs, d, 0, 8, BCH_REGION_SB, err);

	for (unsigned i = 0; i < sb->layout.nr_superblocks && !ret; i++)
		ret = add(rs, d, sb->layout.sb_offset[i], 1ULL << sb->layout.sb_max_size_bits,
			  BCH_REGION_SB, err);
	for (unsigned i = 0; m && i < sb->nr_journal_buckets && !ret; i++)
		ret = add(rs, d, sb->journal_buckets[i] * m->bucket_size, m->bucket_size,
			  BCH_REGION_JOURNAL, err);
	return ret;
}

struct node_walk {
	struct bch_fs		*fs;
	struct bch_regions	*rs;
};

/* every node pointer: the node's bytes on each device it is on */
static int node_key(void *ctx, unsigned btree, unsigned level, const struct bkey *k,
		    struct bch_error *err)
{
	struct node_walk *w = ctx;
	struct bch_btree_ptr_info ptr;
	int ret = 0;

	(void)btree;
	if (!level || bch_btree_ptr_decode(k, &ptr))
		return 0;
	for (unsigned i = 0; i < ptr.nr_ptrs && !ret; i++) {
		const struct bch_extent_ptr *p = &ptr.ptrs[i];

		if (w->fs->devs[p->dev])
			ret = add(w->rs, p->dev, p->offset, w->fs->btree_node_size,
				  BCH_REGION_BTREE, err);
	}
	return ret;
}

static int node_lost(void *ctx, const struct bch_node_expect *x, const struct bch_error *why,
		     struct bch_error *err)
{
	struct node_walk *w = ctx;

	(void)x;
	(void)why;
	(void)err;
	w->rs->nodes_lost++;
	return 0;
}

static int cmp_region(const void *a, const void *b)
{
	const struct bch_region *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

void bch_regions_merge(struct bch_regions *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nr; i++) {
		struct bch_region *last = n ? &rs->r[n - 1] : NULL;
		const struct bch_region *r = &rs->r[i];

		if (last && last->dev == r->dev && r->offset <= last->offset + last->len) {
			if (r->offset + r->len > last->offset + last->len)
				last->len = r->offset + r->len - last->offset;
			continue;
		}
		rs->r[n++] = *r;
	}
	rs->nr = n;
}

int bch_metadata_regions(struct bch_fs *fs, struct bch_regions *rs, struct bch_error *err)
{
	struct node_walk w = { .fs = fs, .rs = rs };
	int ret = 0;

	*rs = (struct bch_regions){ 0 };
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES && !ret; d++)
		if (fs->devs[d])
			ret = add_dev_regions(fs, d, rs, err);
	for (unsigned b = 0; b < BTREE_ID_NR_MAX && !ret; b++)
		ret = bch_btree_walk_tolerant(fs, b, false, node_key, node_lost, &w, err);
	if (ret) {
		bch_regions_free(rs);
		return ret;
	}
	qsort(rs->r, rs->nr, sizeof(*rs->r), cmp_region);
	return 0;
}

int bch_regions_copy(struct bch_regions *dst, const struct bch_regions *src,
		     struct bch_error *err)
{
	*dst = *src;
	dst->size = src->nr ? src->nr : 1;
	dst->r = malloc(dst->size * sizeof(*dst->r));
	if (!dst->r) {
		*dst = (struct bch_regions){ 0 };
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	memcpy(dst->r, src->r, src->nr * sizeof(*src->r));
	return 0;
}

void bch_regions_free(struct bch_regions *rs)
{
	free(rs->r);
	*rs = (struct bch_regions){ 0 };
}
