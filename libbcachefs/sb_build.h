/*
 * Building a superblock from nothing (format): the 752-byte header, the
 * variable fields appended one by one, then one image per copy of the
 * layout, each with its own offset and checksum, plus the layout sector.
 * bcachefs-format.md §2.1-2.3, §2.6 (upstream libbcachefs/sb/io.c, the
 * superblock write; c_src/libbcachefs.c, the layout of a new device).
 */
#ifndef BCH_SB_BUILD_H
#define BCH_SB_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "io.h"
#include "super.h"

struct bch_sb_image {
	uint8_t		*b;		/* header + fields */
	size_t		len, size;
};

/* an empty image: a zeroed header, no fields */
int bch_sb_image_init(struct bch_sb_image *s, struct bch_error *err);
void bch_sb_image_free(struct bch_sb_image *s);

/*
 * Append a field of this type with body (body_len bytes, after the 8-byte
 * field header), zero-padded to whole u64s; the header's u64s follows.
 * *body_out, if not NULL, points at the body inside the image (valid
 * until the next append).
 */
int bch_sb_image_add_field(struct bch_sb_image *s, unsigned type, const void *body,
			   size_t body_len, uint8_t **body_out, struct bch_error *err);

/* the field of this type in the image (its header included), or NULL */
uint8_t *bch_sb_image_field(const struct bch_sb_image *s, unsigned type, size_t *bytes);

/* the layout of a new device: two copies from sector 8, one at the end (§2.1) */
void bch_sb_layout_new(struct bch_sb_layout *l, unsigned sb_max_size_bits,
		       unsigned block_sectors, unsigned bucket_sectors, uint64_t dev_sectors);
/* store l in the header's embedded layout */
void bch_sb_image_set_layout(struct bch_sb_image *s, const struct bch_sb_layout *l);

/*
 * Write every copy of the layout in the image (each with its offset and
 * a checksum of csum_type, an upstream superblock checksum type) and the
 * layout sector 7; zero sectors 0..6 first, as upstream's format does.
 */
int bch_sb_image_write(struct bch_io *io, const struct bch_sb_image *s, unsigned csum_type,
		       struct bch_error *err);

#endif
