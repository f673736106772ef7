/* Building a new superblock (sb_build.h). */
#include <stdlib.h>
#include <string.h>

#include "bcachefs_format.h"
#include "checksum.h"
#include "sb_build.h"

int bch_sb_image_init(struct bch_sb_image *s, struct bch_error *err)
{
	memset(s, 0, sizeof(*s));
	s->size = 8192;
	s->b = calloc(1, s->size);
	if (!s->b)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	s->len = BCH_SB_HEADER_BYTES;
	return 0;
}

void bch_sb_image_free(struct bch_sb_image *s)
{
	free(s->b);
	memset(s, 0, sizeof(*s));
}

int bch_sb_image_add_field(struct bch_sb_image *s, unsigned type, const void *body,
			   size_t body_len, uint8_t **body_out, struct bch_error *err)
{
	size_t bytes = ROUND_UP(8 + body_len, 8);

	if (s->len + bytes > BCH_SB_HEADER_BYTES + BCH_SB_MAX_FIELDS_BYTES)
		return bch_err(err, BCH_ERR_INVAL, "superblock field %u does not fit", type);
	if (s->len + bytes > s->size) {
		size_t size = s->size;
		uint8_t *p;

		while (s->len + bytes > size)
			size *= 2;
		p = realloc(s->b, size);
		if (!p)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		memset(p + s->size, 0, size - s->size);
		s->b = p;
		s->size = size;
	}
	put_le32(s->b + s->len + BCH_SB_FIELD_HDR_U64S, (uint32_t)(bytes / 8));
	put_le32(s->b + s->len + BCH_SB_FIELD_HDR_TYPE, type);
	if (body_len)
		memcpy(s->b + s->len + 8, body, body_len);
	if (body_out)
		*body_out = s->b + s->len + 8;
	s->len += bytes;
	put_le32(s->b + BCH_SB_U64S, (uint32_t)((s->len - BCH_SB_FIELDS) / 8));
	return 0;
}

uint8_t *bch_sb_image_field(const struct bch_sb_image *s, unsigned type, size_t *bytes)
{
	for (size_t off = BCH_SB_FIELDS; off + 8 <= s->len; ) {
		size_t n = (size_t)get_le32(s->b + off + BCH_SB_FIELD_HDR_U64S) * 8;

		if (!n)
			break;
		if (get_le32(s->b + off + BCH_SB_FIELD_HDR_TYPE) == type) {
			*bytes = n;
			return s->b + off;
		}
		off += n;
	}
	return NULL;
}

/*
 * Two copies from sector 8, each on a block boundary, then a third at the
 * end of the device rounded down to a bucket (upstream c_src/libbcachefs.c,
 * the layout of a device formatted at the default offset).
 */
void bch_sb_layout_new(struct bch_sb_layout *l, unsigned sb_max_size_bits,
		       unsigned block_sectors, unsigned bucket_sectors, uint64_t dev_sectors)
{
	uint64_t pos = BCH_SB_SECTOR, copy = 1ULL << sb_max_size_bits;

	memset(l, 0, sizeof(*l));
	memcpy(l->magic, bch_sb_magic_uuid, 16);
	l->sb_max_size_bits = (uint8_t)sb_max_size_bits;
	for (unsigned i = 0; i < 2; i++) {
		if (pos != BCH_SB_SECTOR)
			pos = ROUND_UP(pos, block_sectors);
		l->sb_offset[l->nr_superblocks++] = pos;
		pos += copy;
	}
	l->sb_offset[l->nr_superblocks++] = (dev_sectors - copy) / bucket_sectors * bucket_sectors;
}

static void layout_encode(const struct bch_sb_layout *l, uint8_t *p)
{
	memcpy(p + BCH_SB_LAYOUT_MAGIC, l->magic, 16);
	p[BCH_SB_LAYOUT_TYPE] = l->layout_type;
	p[BCH_SB_LAYOUT_MAX_SIZE_BITS] = l->sb_max_size_bits;
	p[BCH_SB_LAYOUT_NR] = l->nr_superblocks;
	for (unsigned i = 0; i < l->nr_superblocks; i++)
		put_le64(p + BCH_SB_LAYOUT_OFFSETS + 8 * i, l->sb_offset[i]);
}

void bch_sb_image_set_layout(struct bch_sb_image *s, const struct bch_sb_layout *l)
{
	layout_encode(l, s->b + BCH_SB_LAYOUT);
}

int bch_sb_image_write(struct bch_io *io, const struct bch_sb_image *s, unsigned csum_type,
		       struct bch_error *err)
{
	struct bch_sb_layout l;
	size_t len = ROUND_UP(s->len, 512);
	uint8_t *copy = calloc(1, len > BCH_SB_SECTOR * 512 ? len : BCH_SB_SECTOR * 512);
	int ret;

	if (!copy)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memset(&l, 0, sizeof(l));
	memcpy(l.magic, s->b + BCH_SB_LAYOUT + BCH_SB_LAYOUT_MAGIC, 16);
	l.sb_max_size_bits = s->b[BCH_SB_LAYOUT + BCH_SB_LAYOUT_MAX_SIZE_BITS];
	l.nr_superblocks = s->b[BCH_SB_LAYOUT + BCH_SB_LAYOUT_NR];
	for (unsigned i = 0; i < l.nr_superblocks && i < 61; i++)
		l.sb_offset[i] = get_le64(s->b + BCH_SB_LAYOUT + BCH_SB_LAYOUT_OFFSETS + 8 * i);
	if (len > (512ULL << l.sb_max_size_bits)) {
		free(copy);
		return bch_err(err, BCH_ERR_INVAL, "superblock of %zu bytes exceeds its %llu-byte slot",
			       s->len, 512ULL << l.sb_max_size_bits);
	}

	/* sectors 0..6 zeroed, the layout in sector 7 */
	layout_encode(&l, copy + 7 * 512);
	ret = bch_io_write(io, 0, copy, BCH_SB_SECTOR * 512, err);

	for (unsigned i = 0; i < l.nr_superblocks && !ret; i++) {
		struct bch_csum csum;

		memset(copy, 0, len);
		memcpy(copy, s->b, s->len);
		put_le64(copy + BCH_SB_OFFSET, l.sb_offset[i]);
		if (bch_checksum(csum_type, NULL, (struct bch_nonce){ { 0 } },
				 copy + BCH_SB_CSUM_FROM, s->len - BCH_SB_CSUM_FROM, &csum)) {
			ret = bch_err(err, BCH_ERR_INVAL, "superblock checksum type %u", csum_type);
			break;
		}
		bch_csum_encode(copy + BCH_SB_CSUM, csum);
		ret = bch_io_write(io, l.sb_offset[i] * 512, copy, len, err);
	}
	free(copy);
	return ret;
}
