/* Rewriting every superblock copy for a commit (super_write.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "fs.h"
#include "sb_fields.h"
#include "journal_write.h"
#include "super_write.h"

/* ---- the replicas field must list the journal entry's device ---- */

#define REPLICAS_MAX_ENTRY	(3 + 256)

struct replicas_entry_buf {
	uint8_t		b[REPLICAS_MAX_ENTRY];	/* v1 form: type, nr_devs, nr_required, devs */
	unsigned	len;
};

static int cmp_replicas(const void *a, const void *b)
{
	const struct replicas_entry_buf *x = a, *y = b;

	/* upstream compares the v1 form, zero padded to the longest entry */
	return memcmp(x->b, y->b, REPLICAS_MAX_ENTRY);
}

/* lay a sorted array out in eytzinger order, as upstream stores the list */
static void eytzinger_fill(const struct replicas_entry_buf *sorted, size_t n, size_t i,
			   size_t *next, struct replicas_entry_buf *out)
{
	if (i >= n)
		return;
	eytzinger_fill(sorted, n, 2 * i + 1, next, out);
	out[i] = sorted[(*next)++];
	eytzinger_fill(sorted, n, 2 * i + 2, next, out);
}

/* the field's entries in v1 form, through the shared field reader */
static int parse_replicas(const struct bch_sb_field_ref *f, struct replicas_entry_buf *e,
			  size_t max, size_t *nr)
{
	struct bch_replicas_entry r;
	size_t pos = 0;
	int ret;

	*nr = 0;
	while ((ret = bch_sb_replicas_next(f->p, f->bytes, f->type == BCH_SB_FIELD_replicas_v0,
					   &pos, &r)) > 0) {
		if (*nr == max)
			return -1;
		memset(&e[*nr], 0, sizeof(e[*nr]));
		e[*nr].b[0] = r.data_type;
		e[*nr].b[1] = r.nr_devs;
		e[*nr].b[2] = r.nr_required;
		memcpy(e[*nr].b + 3, r.devs, r.nr_devs);
		e[*nr].len = 3 + r.nr_devs;
		(*nr)++;
	}
	return ret;
}

/*
 * Sets *grown to a new superblock image with replicas entry want (v1
 * form: data type, nr_devs, nr_required, devs) added to the replicas
 * field, NULL if it was there already (or there is no such field).
 */
static int add_replicas_entry(const struct bch_sb *sb, const uint8_t *img,
			      const uint8_t *want, uint8_t **grown, size_t *new_len,
			      struct bch_error *err)
{
	const struct bch_sb_field_ref *f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas_v0);
	struct replicas_entry_buf *e = NULL, *laid = NULL;
	size_t nr, max, field_bytes, total = BCH_SB_HEADER_BYTES, next = 0, off;
	uint8_t *out = NULL;
	bool v0 = true;
	int ret = 0;

	*grown = NULL;
	if (!f) {
		f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas);
		v0 = false;
	}
	if (!f)
		return 0;	/* no replicas field: nothing upstream could check */
	max = f->bytes / 2 + 2;
	e = calloc(max, sizeof(*e));
	laid = calloc(max, sizeof(*laid));
	if (!e || !laid || parse_replicas(f, e, max - 1, &nr)) {
		ret = bch_err(err, e && laid ? BCH_ERR_CORRUPT : BCH_ERR_NOMEM,
			      "superblock replicas field cannot be parsed");
		goto out;
	}
	for (size_t i = 0; i < nr; i++)
		if (e[i].b[0] == want[0] && e[i].b[1] == want[1] &&
		    (v0 || e[i].b[2] == want[2]) && !memcmp(e[i].b + 3, want + 3, want[1]))
			goto out;	/* already there */
	memset(&e[nr], 0, sizeof(e[nr]));
	memcpy(e[nr].b, want, 3 + want[1]);
	if (v0)
		e[nr].b[2] = 1;	/* v0 entries have no nr_required: it reads as 1 */
	e[nr].len = 3 + want[1];
	nr++;
	qsort(e, nr, sizeof(*e), cmp_replicas);
	eytzinger_fill(e, nr, 0, &next, laid);

	field_bytes = 8;
	for (size_t i = 0; i < nr; i++)
		field_bytes += laid[i].len - (v0 ? 1 : 0);
	field_bytes = ROUND_UP(field_bytes, 8);
	for (unsigned i = 0; i < sb->nr_fields; i++)
		total += sb->fields[i].p == f->p ? field_bytes : sb->fields[i].bytes;
	if (total > (512ULL << sb->layout.sb_max_size_bits)) {
		ret = bch_err(err, BCH_ERR_UNSUPPORTED,
			      "no room in the superblock to mark another replicas entry");
		goto out;
	}
	out = calloc(1, total);
	if (!out) {
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, img, BCH_SB_HEADER_BYTES);
	off = BCH_SB_HEADER_BYTES;
	for (unsigned i = 0; i < sb->nr_fields; i++) {
		const struct bch_sb_field_ref *g = &sb->fields[i];
		size_t from = (size_t)(g->p - sb->bytes);

		if (g->p != f->p) {
			memcpy(out + off, img + from, g->bytes);
			off += g->bytes;
			continue;
		}
		put_le32(out + off + BCH_SB_FIELD_HDR_U64S, (uint32_t)(field_bytes / 8));
		put_le32(out + off + BCH_SB_FIELD_HDR_TYPE, g->type);
		size_t p = off + 8;

		for (size_t j = 0; j < nr; j++) {
			out[p++] = laid[j].b[0];
			out[p++] = laid[j].b[1];
			if (!v0)
				out[p++] = laid[j].b[2];
			memcpy(out + p, laid[j].b + 3, laid[j].b[1]);
			p += laid[j].b[1];
		}
		off += field_bytes;
	}
	put_le32(out + BCH_SB_U64S, (uint32_t)((total - BCH_SB_FIELDS) / 8));
	*new_len = total;
	*grown = out;
out:
	free(e);
	free(laid);
	return ret;
}

/*
 * Upstream marks {journal, 1 device} in the replicas field before it
 * writes a journal entry, and from 1.33 drops it again on clean shutdown;
 * recovery checks it (journal_entry_replicas_not_marked).
 */
static int add_journal_replicas(const struct bch_sb *sb, const uint8_t *img,
				unsigned jdev, uint8_t **grown, size_t *new_len,
				struct bch_error *err)
{
	uint8_t want[4] = { BCH_DATA_journal, 1, 1, (uint8_t)jdev };

	return add_replicas_entry(sb, img, want, grown, new_len, err);
}

/* every member we write to has seen this sequence number */
static void members_seq(struct bch_fs *fs, const struct bch_sb *sb, uint8_t *b, uint64_t seq)
{
	const struct bch_sb_field_ref *f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2);

	if (f && sb->member_bytes >= BCH_MEMBER_SEQ + 8) {
		size_t base = (size_t)(f->p - sb->bytes) + BCH_MEMBERS_V2_ENTRIES;

		for (unsigned i = 0; i < sb->nr_members; i++)
			if (fs->devs[i])
				put_le64(b + base + (size_t)i * sb->member_bytes + BCH_MEMBER_SEQ,
					 seq);
	}
}

/* the new image of one device's superblock (before the per-copy offset) */
static int dirty_image(struct bch_fs *fs, const struct bch_dev *d, uint64_t seq,
		       unsigned journal_dev, uint8_t **out, size_t *len, struct bch_error *err)
{
	const struct bch_sb *sb = &d->sb;
	uint8_t *b = malloc(sb->len), *grown;
	int ret;

	if (!b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(b, sb->bytes, sb->len);
	*len = sb->len;
	put_le64(b + BCH_SB_SEQ, seq);
	put_le64(b + BCH_SB_FLAGS, get_le64(b + BCH_SB_FLAGS) & ~(1ULL << 1));	/* not clean */
	put_le64(b + BCH_SB_WRITE_TIME, (uint64_t)time(NULL));
	put_le64(b + BCH_SB_FEATURES, get_le64(b + BCH_SB_FEATURES) | BCH_FEATURES_ALWAYS);
	members_seq(fs, sb, b, seq);
	/* fields are copied from b, so the edits above carry over */
	ret = add_journal_replicas(sb, b, journal_dev, &grown, len, err);
	if (ret) {
		free(b);
		return ret;
	}
	if (grown) {
		free(b);
		b = grown;
	}
	*out = b;
	return 0;
}

/* one write per superblock copy of device d, each with its offset and checksum */
static int plan_copies(struct bch_fs *fs, struct bch_write_plan *plan, unsigned d,
		       const uint8_t *img, size_t img_len, struct bch_error *err)
{
	const struct bch_dev *dev = fs->devs[d];
	unsigned csum_type = (unsigned)bits64(get_le64(img + BCH_SB_FLAGS), 2, 8);
	int ret = 0;

	for (unsigned i = 0; i < dev->sb.layout.nr_superblocks && !ret; i++) {
		uint64_t sector = dev->sb.layout.sb_offset[i];
		size_t len = ROUND_UP(img_len, 512);
		uint8_t *copy = calloc(1, len);
		struct bch_csum csum;

		if (!copy)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		/* bytes after the superblock in its last sector stay as they are */
		ret = bch_io_read(dev->io, sector * 512, copy, len, err);
		if (ret) {
			free(copy);
			break;
		}
		memcpy(copy, img, img_len);
		put_le64(copy + BCH_SB_OFFSET, sector);
		if (bch_checksum(csum_type, NULL, (struct bch_nonce){ { 0 } },
				 copy + BCH_SB_CSUM_FROM, img_len - BCH_SB_CSUM_FROM, &csum)) {
			free(copy);
			ret = bch_err(err, BCH_ERR_CORRUPT, "superblock checksum type %u", csum_type);
			break;
		}
		bch_csum_encode(copy + BCH_SB_CSUM, csum);
		/* the primary first; flush after each device's last copy */
		ret = bch_write_plan_add(plan, d, sector * 512, copy, len,
					 i + 1 == dev->sb.layout.nr_superblocks);
	}
	return ret;
}

int bch_sb_plan_mark_dirty(struct bch_fs *fs, struct bch_write_plan *plan,
			   unsigned journal_dev, struct bch_error *err)
{
	uint64_t seq = fs->sb->seq + 1;
	int ret = 0;

	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		uint8_t *img = NULL;
		size_t img_len = 0;

		if (!fs->devs[d])
			continue;
		ret = dirty_image(fs, fs->devs[d], seq, journal_dev, &img, &img_len, err) ?:
		      plan_copies(fs, plan, d, img, img_len, err);
		free(img);
	}
	return ret;
}

/* ---- marking the filesystem clean after a commit written into the btrees ---- */

/*
 * A copy of the superblock image img with the field of type f->type
 * replaced by field (field_len bytes, header included), or appended
 * when there is none.
 */
static int sb_with_field(const struct bch_sb *sb, const uint8_t *img, unsigned type,
			 const uint8_t *field, size_t field_len, uint8_t **out,
			 size_t *out_len, struct bch_error *err)
{
	const struct bch_sb_field_ref *old = bch_sb_field_get(sb, type);
	size_t total = BCH_SB_HEADER_BYTES + field_len, off = BCH_SB_HEADER_BYTES;
	uint8_t *b;

	for (unsigned i = 0; i < sb->nr_fields; i++)
		if (!old || sb->fields[i].p != old->p)
			total += sb->fields[i].bytes;
	if (total > (512ULL << sb->layout.sb_max_size_bits))
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "no room in the superblock for the new %s field",
			       bch_sb_field_name(type));
	b = calloc(1, total);
	if (!b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(b, img, BCH_SB_HEADER_BYTES);
	for (unsigned i = 0; i < sb->nr_fields; i++) {
		const struct bch_sb_field_ref *g = &sb->fields[i];

		if (old && g->p == old->p) {
			memcpy(b + off, field, field_len);
			off += field_len;
			continue;
		}
		memcpy(b + off, img + (g->p - sb->bytes), g->bytes);
		off += g->bytes;
	}
	if (!old) {
		memcpy(b + off, field, field_len);
		off += field_len;
	}
	put_le32(b + BCH_SB_U64S, (uint32_t)((total - BCH_SB_FIELDS) / 8));
	*out = b;
	*out_len = total;
	return 0;
}

/*
 * Mark sectors [start, start + sectors) in a member's btree_allocated_bitmap
 * (bit i covers sectors [i << shift, (i + 1) << shift)); when the range
 * lies past what 64 bits cover, the granularity is coarsened first, as
 * upstream does (bcachefs-format.md §2.8.2; upstream sb-members.c).
 */
static void btree_bitmap_mark(uint64_t *bitmap, uint8_t *shift, uint64_t start, uint64_t sectors)
{
	uint64_t end = start + sectors;
	unsigned grow = 0;

	while (*shift + grow < 58 && end > (64ULL << (*shift + grow)))
		grow++;
	if (grow) {
		uint64_t coarse = 0;

		for (unsigned i = 0; i < 64; i++)
			if (*bitmap >> i & 1)
				coarse |= 1ULL << (i >> grow);
		*bitmap = coarse;
		*shift = (uint8_t)(*shift + grow);
	}
	for (uint64_t bit = start >> *shift; bit < 64 && (bit << *shift) < end; bit++)
		*bitmap |= 1ULL << bit;
}

static int clean_image(struct bch_fs *fs, const struct bch_dev *d, uint64_t seq,
		       const struct bch_sb_clean_update *c, const uint8_t *clean, size_t clean_len,
		       uint8_t **out, size_t *len, struct bch_error *err)
{
	const struct bch_sb *sb = &d->sb;
	const struct bch_sb_field_ref *f;
	uint8_t *b = malloc(sb->len);
	uint64_t features;
	int ret;

	if (!b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(b, sb->bytes, sb->len);
	put_le64(b + BCH_SB_SEQ, seq);
	put_le64(b + BCH_SB_FLAGS, get_le64(b + BCH_SB_FLAGS) | (1ULL << 1));	/* clean */
	put_le64(b + BCH_SB_WRITE_TIME, (uint64_t)time(NULL));
	/*
	 * clean shutdown: "always" features; before 1.36 less the two that
	 * meant "needs recovery" (upstream sb-clean.c cleared them until they
	 * joined the features every new filesystem has)
	 */
	features = get_le64(b + BCH_SB_FEATURES) | BCH_FEATURES_ALWAYS;
	if (sb->version < BCH_VERSION_1_36)
		features &= ~((1ULL << 12) | (1ULL << 13));
	put_le64(b + BCH_SB_FEATURES, features);
	/* compat: alloc_info, alloc_metadata */
	put_le64(b + BCH_SB_COMPAT, get_le64(b + BCH_SB_COMPAT) | 3);
	f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2);
	if (f && sb->member_bytes >= BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET + 4) {
		size_t base = (size_t)(f->p - sb->bytes) + BCH_MEMBERS_V2_ENTRIES;

		for (unsigned i = 0; i < sb->nr_members; i++) {
			uint8_t *m = b + base + (size_t)i * sb->member_bytes;
			uint64_t bitmap = get_le64(m + BCH_MEMBER_BTREE_BITMAP);
			uint8_t shift = m[BCH_MEMBER_BTREE_BITMAP_SHIFT];

			if (!fs->devs[i])
				continue;
			put_le64(m + BCH_MEMBER_SEQ, seq);
			for (size_t s = 0; s < c->nr_slots; s++)
				if (c->slots[s].dev == i)
					btree_bitmap_mark(&bitmap, &shift, c->slots[s].sector,
							  c->node_sectors);
			put_le64(m + BCH_MEMBER_BTREE_BITMAP, bitmap);
			m[BCH_MEMBER_BTREE_BITMAP_SHIFT] = shift;
			if (i == c->journal_dev) {
				put_le32(m + BCH_MEMBER_LAST_JOURNAL_BUCKET, c->journal_bucket_idx);
				put_le32(m + BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET,
					 c->journal_end_sectors);
			}
		}
	}
	ret = sb_with_field(sb, b, BCH_SB_FIELD_clean, clean, clean_len, out, len, err);
	free(b);
	return ret;
}

int bch_sb_plan_mark_clean(struct bch_fs *fs, struct bch_write_plan *plan,
			   const struct bch_sb_clean_update *c, struct bch_error *err)
{
	const struct bch_sb_field_ref *old = bch_sb_field_get(fs->sb, BCH_SB_FIELD_clean);
	uint64_t seq = fs->sb->seq + 1;
	uint8_t *clean = NULL;
	size_t clean_len;
	int ret;

	ret = bch_clean_field_build(fs, c->journal_seq, old ? old->bytes : 0, &clean, &clean_len,
				    err);
	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		const struct bch_dev *dev = fs->devs[d];
		uint8_t *img = NULL;
		size_t img_len = 0;

		if (!dev)
			continue;
		ret = clean_image(fs, dev, seq, c, clean, clean_len, &img, &img_len, err) ?:
		      plan_copies(fs, plan, d, img, img_len, err);
		free(img);
	}
	free(clean);
	return ret;
}

/* ---- a replicas entry marked on its own ---- */

int bch_sb_write_replicas(struct bch_fs *fs, const uint8_t *entry, struct bch_error *err)
{
	struct bch_write_plan plan = { 0 };
	uint64_t seq = fs->sb->seq + 1;
	uint8_t *grown = NULL;
	size_t len = 0;
	int ret;

	ret = add_replicas_entry(fs->sb, fs->sb->bytes, entry, &grown, &len, err);
	if (ret || !grown)
		return ret;	/* there already: nothing to write */
	free(grown);
	grown = NULL;
	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		const struct bch_sb *sb = fs->devs[d] ? &fs->devs[d]->sb : NULL;
		uint8_t *b;

		if (!sb)
			continue;
		b = malloc(sb->len);
		if (!b) {
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(b, sb->bytes, sb->len);
		put_le64(b + BCH_SB_SEQ, seq);
		put_le64(b + BCH_SB_WRITE_TIME, (uint64_t)time(NULL));
		members_seq(fs, sb, b, seq);
		ret = add_replicas_entry(sb, b, entry, &grown, &len, err);
		if (!ret && grown)
			ret = plan_copies(fs, &plan, d, grown, len, err);
		else if (!ret)
			ret = plan_copies(fs, &plan, d, b, sb->len, err);
		free(grown);
		free(b);
		grown = NULL;
	}
	if (!ret)
		ret = bch_write_plan_execute(fs, &plan, NULL, err);
	bch_write_plan_free(&plan);
	return ret ? ret : 1;
}
