/*
 * Text form of extent entries and of the values built from them
 * (bcachefs-format.md §7.1-§7.3, §36.6).
 */
#include "bkey_to_text.h"
#include "checksum.h"
#include "errors.h"
#include "extents_text.h"
#include "super.h"

static const char * const compression_type_names[] = {
	"none", "lz4_old", "gzip", "lz4", "zstd", "incompressible",
};

const char *bch_compression_type_name(unsigned t)
{
	return t < ARRAY_SIZE(compression_type_names)
		? compression_type_names[t] : "(unknown)";
}

/* the per-file option enums used inside rebalance/reconcile entries */
static const char * const csum_opt_names[] = {
	"none", "crc32c", "crc64", "xxhash",
};

static const char * const compression_opt_names[] = {
	"none", "lz4", "gzip", "zstd",
};

static const char * const reconcile_opt_names[] = {
	"data_replicas", "data_checksum", "erasure_code",
	"background_compression", "background_target", "promote_target",
};

static const char * const extent_flag_names[] = {
	"poisoned",
};

static void prt_name(struct printbuf *out, const char * const *names,
		     unsigned nr, unsigned v)
{
	if (v < nr)
		pb_puts(out, names[v]);
	else
		pb_printf(out, "(unknown %u)", v);
}

/* comma separated names of the set bits, "bitN" for unnamed ones */
static void prt_bitflags(struct printbuf *out, const char * const *names,
			 unsigned nr, uint64_t v)
{
	bool first = true;

	for (unsigned i = 0; i < 64; i++) {
		if (!(v & (1ULL << i)))
			continue;
		if (!first)
			pb_puts(out, ",");
		if (i < nr)
			pb_puts(out, names[i]);
		else
			pb_printf(out, "bit%u", i);
		first = false;
	}
}

static void prt_compression_opt(struct printbuf *out, unsigned v)
{
	prt_name(out, compression_opt_names, ARRAY_SIZE(compression_opt_names), v & 15);
	if (v >> 4)
		pb_printf(out, ":%u", v >> 4);
}

static const struct bch_member *sb_member(const struct bch_sb *sb, unsigned dev)
{
	const struct bch_member *m;

	if (!sb || !sb->members || dev >= sb->nr_members)
		return NULL;
	m = &sb->members[dev];
	return m->exists && m->bucket_size ? m : NULL;
}

static void ptr_to_text(struct printbuf *out, const struct bch_extent_ptr *ptr,
			const struct bch_sb *sb)
{
	const struct bch_member *m = sb_member(sb, ptr->dev);

	pb_printf(out, "%u:%llu gen %u", ptr->dev,
		  (unsigned long long)ptr->offset, ptr->gen);
	if (m)
		pb_printf(out, " bucket %llu:%llu",
			  (unsigned long long)(ptr->offset / m->bucket_size),
			  (unsigned long long)(ptr->offset % m->bucket_size));
	if (ptr->cached)
		pb_puts(out, " cached");
	if (ptr->unwritten)
		pb_puts(out, " unwritten");
}

static void crc_to_text(struct printbuf *out, const struct bch_extent_crc *c)
{
	pb_printf(out, "c_size %u size %u offset %u nonce %u csum ",
		  c->compressed_size, c->uncompressed_size, c->offset, c->nonce);
	pb_puts(out, bch_csum_type_name(c->csum_type));
	pb_printf(out, " %llx:%llx compress %s",
		  (unsigned long long)c->csum.hi, (unsigned long long)c->csum.lo,
		  bch_compression_type_name(c->compression_type));
}

static void prt_from_inode(struct printbuf *out, uint64_t w, unsigned bit)
{
	if (bits64(w, bit, bit + 1))
		pb_puts(out, " (inode)");
}

/* 1.28 rebalance entry (rebalance_v1 in 1.36), all fields of its word */
static void rebalance_to_text(struct printbuf *out, uint64_t w)
{
	unsigned promote = (unsigned)bits64(w, 15, 31);
	unsigned ec = (unsigned)bits64(w, 31, 32);
	unsigned csum = (unsigned)bits64(w, 32, 36);
	unsigned replicas = (unsigned)bits64(w, 36, 40);
	unsigned compression = (unsigned)bits64(w, 40, 48);
	unsigned background = (unsigned)bits64(w, 48, 64);

	pb_printf(out, "replicas=%u", replicas);
	prt_from_inode(out, w, 13);
	pb_puts(out, " checksum=");
	prt_name(out, csum_opt_names, ARRAY_SIZE(csum_opt_names), csum);
	prt_from_inode(out, w, 11);
	if (compression || bits64(w, 12, 13)) {
		pb_puts(out, " background_compression=");
		prt_compression_opt(out, compression);
		prt_from_inode(out, w, 12);
	}
	if (background || bits64(w, 14, 15)) {
		pb_printf(out, " background_target=%u", background);
		prt_from_inode(out, w, 14);
	}
	if (promote || bits64(w, 9, 10)) {
		pb_printf(out, " promote_target=%u", promote);
		prt_from_inode(out, w, 9);
	}
	if (ec || bits64(w, 10, 11)) {
		pb_printf(out, " ec=%u", ec);
		prt_from_inode(out, w, 10);
	}
}

/* 1.36 reconcile entry */
static void reconcile_to_text(struct printbuf *out, uint64_t w)
{
	unsigned moving = (unsigned)bits64(w, 10, 15);
	unsigned replicas = (unsigned)bits64(w, 28, 31);
	unsigned csum = (unsigned)bits64(w, 31, 35);
	unsigned ec = (unsigned)bits64(w, 35, 36);
	unsigned compression = (unsigned)bits64(w, 36, 44);
	unsigned background = (unsigned)bits64(w, 44, 54);
	unsigned promote = (unsigned)bits64(w, 54, 64);

	pb_puts(out, "need_rb=");
	prt_bitflags(out, reconcile_opt_names, ARRAY_SIZE(reconcile_opt_names),
		     bits64(w, 17, 22));
	if (bits64(w, 15, 16))
		pb_puts(out, " hipri");
	if (bits64(w, 16, 17))
		pb_puts(out, " pending");
	if (moving)
		pb_printf(out, " ptrs_moving=0x%x", moving);
	pb_printf(out, " replicas=%u", replicas);
	prt_from_inode(out, w, 22);
	pb_puts(out, " checksum=");
	prt_name(out, csum_opt_names, ARRAY_SIZE(csum_opt_names), csum);
	prt_from_inode(out, w, 23);
	if (compression || bits64(w, 25, 26)) {
		pb_puts(out, " background_compression=");
		prt_compression_opt(out, compression);
		prt_from_inode(out, w, 25);
	}
	if (background || bits64(w, 26, 27)) {
		pb_printf(out, " background_target=%u", background);
		prt_from_inode(out, w, 26);
	}
	if (promote || bits64(w, 27, 28)) {
		pb_printf(out, " promote_target=%u", promote);
		prt_from_inode(out, w, 27);
	}
	if (ec || bits64(w, 24, 25)) {
		pb_printf(out, " ec=%u", ec);
		prt_from_inode(out, w, 24);
	}
}

void bch_extent_entry_to_text(struct printbuf *out,
			      const struct bch_extent_entry *e,
			      const struct bch_sb *sb)
{
	pb_printf(out, "%s: ", bch_extent_entry_type_name(e->type));
	switch (e->type) {
	case BCH_EXTENT_ENTRY_ptr:
		ptr_to_text(out, &e->ptr, sb);
		break;
	case BCH_EXTENT_ENTRY_crc32:
	case BCH_EXTENT_ENTRY_crc64:
	case BCH_EXTENT_ENTRY_crc128:
		crc_to_text(out, &e->crc);
		break;
	case BCH_EXTENT_ENTRY_stripe_ptr:
		pb_printf(out, "idx %llu block %u redundancy %u",
			  (unsigned long long)e->stripe_ptr.idx,
			  e->stripe_ptr.block, e->stripe_ptr.redundancy);
		break;
	case BCH_EXTENT_ENTRY_rebalance:
		rebalance_to_text(out, e->word);
		break;
	case BCH_EXTENT_ENTRY_flags:
		if (e->word >> 7)
			prt_bitflags(out, extent_flag_names,
				     ARRAY_SIZE(extent_flag_names), e->word >> 7);
		else
			pb_puts(out, "none");
		break;
	case BCH_EXTENT_ENTRY_reconcile:
		reconcile_to_text(out, e->word);
		break;
	case BCH_EXTENT_ENTRY_reconcile_bp:
		pb_printf(out, "idx %llu", (unsigned long long)(e->word >> 9));
		break;
	default:
		pb_printf(out, "%016llx", (unsigned long long)get_le64(e->raw));
		break;
	}
}

static void invalid_entry(struct printbuf *out, const uint8_t *p, unsigned left)
{
	if (left < 8)
		pb_printf(out, "(truncated extent entry, %u bytes)", left);
	else
		pb_printf(out, "(invalid extent entry %016llx)",
			  (unsigned long long)get_le64(p));
}

int bch_extent_entries_to_text(struct printbuf *out, const uint8_t *p,
			       unsigned bytes, const struct bch_sb *sb)
{
	const uint8_t *end = p + bytes;
	bool first = true;

	while (p < end) {
		struct bch_extent_entry e;
		unsigned left = (unsigned)(end - p);
		unsigned n = bch_extent_entry_decode(p, left, &e);

		if (!first)
			pb_puts(out, " ");
		first = false;
		if (!n) {
			invalid_entry(out, p, left);
			return -BCH_ERR_CORRUPT;
		}
		bch_extent_entry_to_text(out, &e, sb);
		p += n;
	}
	return 0;
}

/* ---- values without entries ---- */

static int val_too_small(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -BCH_ERR_CORRUPT;
}

int bch_reflink_p_decode(const struct bkey *k, struct bch_reflink_p *out,
			 const char **why)
{
	uint64_t w;

	memset(out, 0, sizeof(*out));
	if (k->val_bytes < 16)
		return val_too_small(why, "reflink_p value too small");
	w = get_le64(k->val);
	out->idx = bits64(w, 0, 56);
	out->error = bits64(w, 56, 57);
	out->may_update_options = bits64(w, 57, 58);
	out->front_pad = get_le32(k->val + 8);
	out->back_pad = get_le32(k->val + 12);
	return 0;
}

int bch_reservation_decode(const struct bkey *k, struct bch_reservation *out,
			   const char **why)
{
	memset(out, 0, sizeof(*out));
	if (k->val_bytes < 8)
		return val_too_small(why, "reservation value too small");
	out->generation = get_le32(k->val);
	out->nr_replicas = k->val[4];
	return 0;
}

int bch_stripe_decode(const struct bkey *k, struct bch_stripe *out,
		      const char **why)
{
	const uint8_t *p = k->val;

	memset(out, 0, sizeof(*out));
	if (k->val_bytes < BCH_STRIPE_HDR_BYTES)
		return val_too_small(why, "stripe value too small");
	out->sectors = get_le16(p);
	out->algorithm = p[2] & 15;
	out->needs_reconcile = p[2] >> 4 & 1;
	out->can_widen = p[2] >> 5;
	out->nr_blocks = p[3];
	out->nr_redundant = p[4];
	out->csum_granularity_bits = p[5];
	out->csum_type = p[6];
	out->disk_label = p[7];
	if (k->val_bytes < BCH_STRIPE_HDR_BYTES + 8u * out->nr_blocks)
		return val_too_small(why, "stripe value smaller than its pointers");
	return 0;
}

void bch_reflink_p_to_text(struct printbuf *out, const struct bch_reflink_p *p)
{
	pb_printf(out, "idx %llu front_pad %u back_pad %u",
		  (unsigned long long)p->idx, p->front_pad, p->back_pad);
	if (p->error)
		pb_puts(out, " error");
	if (p->may_update_options)
		pb_puts(out, " may_update_options");
}

void bch_reservation_to_text(struct printbuf *out, const struct bch_reservation *r)
{
	pb_printf(out, "generation %u replicas %u", r->generation, r->nr_replicas);
}

/* byte offset of a stripe's per-block sector counts, 0 if unknown */
static uint64_t stripe_blockcounts_offset(const struct bch_stripe *s)
{
	uint64_t per_dev, gran;

	if (s->csum_type >= BCH_CSUM_NR)
		return 0;
	gran = s->csum_granularity_bits < 64 ? 1ULL << s->csum_granularity_bits : 0;
	per_dev = !s->sectors ? 0 : gran ? DIV_ROUND_UP(s->sectors, gran) : 1;
	return BCH_STRIPE_HDR_BYTES + 8ull * s->nr_blocks +
	       per_dev * s->nr_blocks * bch_csum_bytes(s->csum_type);
}

static int stripe_to_text(struct printbuf *out, const struct bkey *k,
			  const struct bch_sb *sb)
{
	struct bch_stripe s;
	const char *why = NULL;
	unsigned nr_data;
	uint64_t counts;
	int ret = bch_stripe_decode(k, &s, &why);

	if (ret && k->val_bytes < BCH_STRIPE_HDR_BYTES) {
		pb_printf(out, "(%s)", why);
		return ret;
	}
	nr_data = s.nr_blocks >= s.nr_redundant ? s.nr_blocks - s.nr_redundant : 0;
	counts = stripe_blockcounts_offset(&s);

	pb_printf(out, "algo %u sectors %u blocks %u:%u csum %s gran ",
		  s.algorithm, s.sectors, nr_data, s.nr_redundant,
		  bch_csum_type_name(s.csum_type));
	if (s.csum_granularity_bits < 64)
		pb_printf(out, "%llu", 1ULL << s.csum_granularity_bits);
	else
		pb_printf(out, "(invalid shift %u)", s.csum_granularity_bits);
	if (s.disk_label)
		pb_printf(out, " label %u", s.disk_label - 1);
	if (s.needs_reconcile)
		pb_puts(out, " needs_reconcile");
	if (s.can_widen)
		pb_printf(out, " can_widen=%u", s.can_widen);

	for (unsigned i = 0; i < s.nr_blocks; i++) {
		unsigned off = BCH_STRIPE_HDR_BYTES + 8 * i;
		struct bch_extent_entry e;

		if (off + 8 > k->val_bytes)
			break;
		pb_puts(out, " ");
		if (bch_extent_entry_decode(k->val + off, 8, &e) != 8 ||
		    e.type != BCH_EXTENT_ENTRY_ptr) {
			invalid_entry(out, k->val + off, 8);
			return -BCH_ERR_CORRUPT;
		}
		bch_extent_entry_to_text(out, &e, sb);
		if (counts && i < nr_data && counts + 2 * i + 2 <= k->val_bytes)
			pb_printf(out, "#%u", get_le16(k->val + counts + 2 * i));
	}
	if (ret)
		pb_printf(out, " (%s)", why);
	return ret;
}

static int btree_ptr_v2_to_text(struct printbuf *out, const struct bkey *k,
				const struct bch_sb *sb)
{
	const uint8_t *p = k->val;

	if (k->val_bytes < 40) {
		pb_puts(out, "(btree_ptr_v2 value too small)");
		return -BCH_ERR_CORRUPT;
	}
	pb_printf(out, "seq %llx written %u min_key %s",
		  (unsigned long long)get_le64(p + 8), get_le16(p + 16),
		  get_le16(p + 18) & BCH_BTREE_PTR_RANGE_UPDATED ? "R " : "");
	bch_bpos_to_text(out, bpos_decode(p + 20));
	if (k->val_bytes == 40)
		return 0;
	pb_puts(out, " ");
	return bch_extent_entries_to_text(out, p + 40, k->val_bytes - 40u, sb);
}

int bch_extent_to_text(struct printbuf *out, const struct bkey *k,
		       const struct bch_sb *sb)
{
	const char *why = NULL;
	int ret;

	switch (k->type) {
	case KEY_TYPE_extent:
	case KEY_TYPE_btree_ptr:
		return bch_extent_entries_to_text(out, k->val, k->val_bytes, sb);
	case KEY_TYPE_btree_ptr_v2:
		return btree_ptr_v2_to_text(out, k, sb);
	case KEY_TYPE_reflink_v:
		if (k->val_bytes < 8) {
			pb_puts(out, "(reflink_v value too small)");
			return -BCH_ERR_CORRUPT;
		}
		pb_printf(out, "refcount %llu", (unsigned long long)get_le64(k->val));
		if (k->val_bytes == 8)
			return 0;
		pb_puts(out, " ");
		return bch_extent_entries_to_text(out, k->val + 8, k->val_bytes - 8u, sb);
	case KEY_TYPE_stripe:
		return stripe_to_text(out, k, sb);
	case KEY_TYPE_reflink_p: {
		struct bch_reflink_p p;

		ret = bch_reflink_p_decode(k, &p, &why);
		if (!ret)
			bch_reflink_p_to_text(out, &p);
		break;
	}
	case KEY_TYPE_reservation: {
		struct bch_reservation r;

		ret = bch_reservation_decode(k, &r, &why);
		if (!ret)
			bch_reservation_to_text(out, &r);
		break;
	}
	default:
		return -BCH_ERR_INVAL;
	}
	if (ret)
		pb_printf(out, "(%s)", why);
	return ret;
}
