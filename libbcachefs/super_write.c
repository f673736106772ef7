/* Rewriting every superblock copy for a commit (super_write.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "fs.h"
#include "sb_fields.h"
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
 * Upstream marks {journal, 1 device} in the replicas field before it
 * writes a journal entry, and from 1.33 drops it again on clean shutdown;
 * recovery checks it (journal_entry_replicas_not_marked). Sets *grown to
 * a new superblock image with the entry added (NULL if it was there).
 */
static int add_journal_replicas(const struct bch_sb *sb, const uint8_t *img,
				unsigned jdev, uint8_t **grown, size_t *new_len,
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
		if (e[i].b[0] == BCH_DATA_journal && e[i].b[1] == 1 && e[i].b[2] == 1 &&
		    e[i].b[3] == jdev)
			goto out;	/* already there */
	memset(&e[nr], 0, sizeof(e[nr]));
	e[nr].b[0] = BCH_DATA_journal;
	e[nr].b[1] = 1;
	e[nr].b[2] = 1;
	e[nr].b[3] = (uint8_t)jdev;
	e[nr].len = 4;
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
			      "no room in the superblock to mark the journal's replicas");
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
		put_le32(out + off, (uint32_t)(field_bytes / 8));
		put_le32(out + off + 4, g->type);
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
	put_le32(out + 124, (uint32_t)((total - BCH_SB_HEADER_BYTES) / 8));
	*new_len = total;
	*grown = out;
out:
	free(e);
	free(laid);
	return ret;
}

/* the new image of one device's superblock (before the per-copy offset) */
static int dirty_image(struct bch_fs *fs, const struct bch_dev *d, uint64_t seq,
		       unsigned journal_dev, uint8_t **out, size_t *len, struct bch_error *err)
{
	const struct bch_sb *sb = &d->sb;
	uint8_t *b = malloc(sb->len), *grown;
	const struct bch_sb_field_ref *f;
	int ret;

	if (!b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(b, sb->bytes, sb->len);
	*len = sb->len;
	put_le64(b + 112, seq);
	put_le64(b + 144, get_le64(b + 144) & ~(1ULL << 1));	/* not clean */
	put_le64(b + 200, (uint64_t)time(NULL));
	put_le64(b + 208, get_le64(b + 208) | BCH_FEATURES_ALWAYS);
	/* every member we write to has seen this sequence number */
	f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2);
	if (f && sb->member_bytes >= 128) {
		size_t base = (size_t)(f->p - sb->bytes) + 16;

		for (unsigned i = 0; i < sb->nr_members; i++)
			if (fs->devs[i])
				put_le64(b + base + (size_t)i * sb->member_bytes + 120, seq);
	}
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

int bch_sb_plan_mark_dirty(struct bch_fs *fs, struct bch_write_plan *plan,
			   unsigned journal_dev, struct bch_error *err)
{
	uint64_t seq = fs->sb->seq + 1;
	int ret = 0;

	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		const struct bch_dev *dev = fs->devs[d];
		unsigned csum_type;
		uint8_t *img = NULL;
		size_t img_len;

		if (!dev)
			continue;
		ret = dirty_image(fs, dev, seq, journal_dev, &img, &img_len, err);
		if (ret)
			break;
		csum_type = (unsigned)bits64(get_le64(img + 144), 2, 8);
		for (unsigned i = 0; i < dev->sb.layout.nr_superblocks && !ret; i++) {
			uint64_t sector = dev->sb.layout.sb_offset[i];
			size_t len = ROUND_UP(img_len, 512);
			uint8_t *copy = calloc(1, len);
			struct bch_csum csum;

			if (!copy) {
				ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
				break;
			}
			/* bytes after the superblock in its last sector stay as they are */
			ret = bch_io_read(dev->io, sector * 512, copy, len, err);
			if (ret) {
				free(copy);
				break;
			}
			memcpy(copy, img, img_len);
			put_le64(copy + 104, sector);
			if (bch_checksum(csum_type, NULL, (struct bch_nonce){ { 0 } }, copy + 16,
					 img_len - 16, &csum)) {
				free(copy);
				ret = bch_err(err, BCH_ERR_CORRUPT, "superblock checksum type %u",
					      csum_type);
				break;
			}
			put_le64(copy, csum.lo);
			put_le64(copy + 8, csum.hi);
			/* the primary first; flush after each device's last copy */
			ret = bch_write_plan_add(plan, d, sector * 512, copy, len,
						 i + 1 == dev->sb.layout.nr_superblocks);
		}
		free(img);
	}
	return ret;
}
