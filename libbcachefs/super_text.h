/*
 * The superblock as text for people (show-super): the header, the options
 * stored in flags[], the layout and the variable fields, named as upstream
 * `bcachefs show-super` names them. bcachefs-format.md §2, §36.2.
 */
#ifndef BCH_SUPER_TEXT_H
#define BCH_SUPER_TEXT_H

#include <stdint.h>

#include "errors.h"
#include "printbuf.h"
#include "super.h"

/*
 * fields_mask: bit t selects the fields of type t (t < 62); field types
 * of 62 and above share bit 62; bit 63 adds the layout.
 */
#define BCH_SB_TEXT_OTHER_FIELDS	(1ULL << 62)
#define BCH_SB_TEXT_LAYOUT		(1ULL << 63)
#define BCH_SB_TEXT_ALL_FIELDS		(~BCH_SB_TEXT_LAYOUT)

static inline uint64_t bch_sb_text_field_bit(unsigned type)
{
	return type < 62 ? 1ULL << type : BCH_SB_TEXT_OTHER_FIELDS;
}

/* what show-super prints without -f: members (v2, else v1), errors, ext */
uint64_t bch_sb_text_default_fields(const struct bch_sb *sb);

/*
 * "journal_v2,clean" or "all" to a mask ("members" means both member
 * fields); -BCH_ERR_INVAL naming the unknown name.
 */
int bch_sb_text_parse_fields(const char *list, uint64_t *mask, struct bch_error *err);

/* header, options, then the selected fields in on-disk order */
void bch_sb_to_text(struct printbuf *out, const struct bch_sb *sb, uint64_t fields_mask);

/* "<name> (size N):" and the decoded contents of one field */
void bch_sb_field_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field_ref *f);

void bch_sb_layout_to_text(struct printbuf *out, const struct bch_sb *sb,
			   const struct bch_sb_layout *l);

#endif
