/* bucket_gens values (bcachefs-format.md §7.7). */
#include "bucket_gens.h"
#include "errors.h"

int bch_bucket_gens_decode(const struct bkey *k, struct bch_bucket_gens *out,
			   const char **why)
{
	memset(out, 0, sizeof(*out));
	if (k->val_bytes != BCH_BUCKET_GENS_NR) {
		if (why)
			*why = "bucket_gens value is not 256 bytes";
		return -BCH_ERR_CORRUPT;
	}
	memcpy(out->gens, k->val, BCH_BUCKET_GENS_NR);
	return 0;
}

void bch_bucket_gens_to_text(struct printbuf *out, const struct bch_bucket_gens *g)
{
	for (unsigned i = 0; i < BCH_BUCKET_GENS_NR; i++)
		pb_printf(out, i ? " %u" : "%u", g->gens[i]);
}
