/*
 * Fuzz target: one superblock copy (header and variable fields) through
 * the parser, then every decoder show-super uses. The input is the copy
 * as it lies on disk; its checksum is recomputed first, and it is cut to
 * the size its header gives.
 */
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "fuzz.h"
#include "printbuf.h"
#include "sb_fields.h"
#include "super.h"
#include "super_text.h"

static void sb_decode_all(const struct bch_sb *sb)
{
	struct printbuf pb = PRINTBUF;
	const struct bch_sb_field_ref *f;
	struct bch_sb_crypt c;
	struct bch_error err = { 0 };

	bch_sb_to_text(&pb, sb, BCH_SB_TEXT_ALL_FIELDS | BCH_SB_TEXT_LAYOUT);
	pb_reset(&pb);
	bch_sb_to_text(&pb, sb, bch_sb_text_default_fields(sb));
	for (unsigned d = 0; d < sb->nr_members; d++)
		bch_sb_dev_has_data(sb, d);
	f = bch_sb_field_get(sb, BCH_SB_FIELD_crypt);
	if (f && !bch_sb_crypt_parse(f->p, f->bytes, &c, &err))
		bch_sb_crypt_key_is_plain(&c);
	pb_exit(&pb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct bch_error err = { 0 };
	struct bch_sb sb;
	uint64_t sector = 8;
	uint8_t *copy;

	if (len >= BCH_SB_FIELDS) {
		size_t want = BCH_SB_FIELDS + (size_t)get_le32(data + BCH_SB_U64S) * 8;

		if (want <= len)
			len = want;
		sector = get_le64(data + BCH_SB_OFFSET);
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, len);
	fz_fix_sb(copy, len);
	/* the parser takes the copy over, also when it fails */
	if (!bch_sb_parse(copy, len, sector, "fuzz", &sb, &err))
		sb_decode_all(&sb);
	bch_sb_free(&sb);
	return 0;
}
