// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "fs.h"
#include "super_write.h"

/* the new image of one device's superblock (before the per-copy offset) */
static int dirty_image(struct bch_fs *fs, const struct bch_dev *d, uint64_t seq,
		       uint8_t **out, struct bch_error *err)
{
	const struct bch_sb *sb = &d->sb;
	uint8_t *b = malloc(sb->len);
	const struct bch_sb_field_ref *f;

	if (!b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(b, sb->bytes, sb->len);
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
	*out = b;
	return 0;
}

int bch_sb_plan_mark_dirty(struct bch_fs *fs, struct bch_write_plan *plan,
			   struct bch_error *err)
{
	uint64_t seq = fs->sb->seq + 1;
	int ret = 0;

	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		const struct bch_dev *dev = fs->devs[d];
		unsigned csum_type;
		uint8_t *img = NULL;

		if (!dev)
			continue;
		ret = dirty_image(fs, dev, seq, &img, err);
		if (ret)
			break;
		csum_type = (unsigned)bits64(get_le64(img + 144), 2, 8);
		for (unsigned i = 0; i < dev->sb.layout.nr_superblocks && !ret; i++) {
			uint64_t sector = dev->sb.layout.sb_offset[i];
			size_t len = ROUND_UP(dev->sb.len, 512);
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
			memcpy(copy, img, dev->sb.len);
			put_le64(copy + 104, sector);
			if (bch_checksum(csum_type, NULL, (struct bch_nonce){ { 0 } }, copy + 16,
					 dev->sb.len - 16, &csum)) {
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
