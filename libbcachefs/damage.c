/* Damage keys (damage.h). */
#include "damage.h"
#include "errors.h"

struct bch_sb_error_entry bch_damage_entry(const struct bkey *k, size_t i)
{
	return bch_sb_error_v2_decode(k->val + BCH_SB_ERROR_V2_BYTES * i);
}

static int damage_bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

int bch_damage_validate(const struct bkey *k, const char **why)
{
	unsigned prev = 0;

	if (k->val_bytes % BCH_SB_ERROR_V2_BYTES)
		return damage_bad(why, "damage value not a whole number of records");
	for (size_t i = 0; i < bch_damage_nr(k); i++) {
		struct bch_sb_error_entry e = bch_damage_entry(k, i);

		/* covers a zero id, duplicates and disorder at once */
		if (e.id <= prev)
			return damage_bad(why, "damage records not in ascending id order");
		if (e.first_time > e.last_time)
			return damage_bad(why, "damage record first seen after last seen");
		prev = e.id;
	}
	return 0;
}

void bch_damage_to_text(struct printbuf *out, const struct bkey *k)
{
	for (size_t i = 0; i < bch_damage_nr(k); i++) {
		struct bch_sb_error_entry e = bch_damage_entry(k, i);

		pb_printf(out, "%sid %u nr %llu first %llu last %llu", i ? ", " : "", e.id,
			  (unsigned long long)e.nr, (unsigned long long)e.first_time,
			  (unsigned long long)e.last_time);
	}
}
