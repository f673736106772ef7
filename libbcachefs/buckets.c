/* Bucket arithmetic and freespace keys (bcachefs-format.md §7.2, §7.8). */
#include "buckets.h"
#include "errors.h"

uint32_t bch_ptr_disk_sectors(uint32_t live, const struct bch_extent_crc *crc)
{
	uint64_t s;

	if (!crc || !bch_crc_is_compressed(crc) || !crc->uncompressed_size)
		return live;
	/* round up: a partially live compressed extent still needs whole sectors */
	s = (uint64_t)live * crc->compressed_size;
	return (uint32_t)DIV_ROUND_UP(s, crc->uncompressed_size);
}

int bch_freespace_key_range(const struct bkey *k, struct bch_freespace_range *r,
			    const char **why)
{
	memset(r, 0, sizeof(*r));
	if (!k->size || k->size > k->p.offset) {
		if (why)
			*why = k->size ? "freespace key size larger than its offset"
				       : "freespace key of size 0";
		return -BCH_ERR_CORRUPT;
	}
	r->dev = (unsigned)k->p.inode;
	r->start = k->p.offset - k->size;
	r->end = k->p.offset;
	return 0;
}
