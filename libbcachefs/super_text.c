/*
 * show-super's text: labels as upstream prints them, values decoded from
 * the raw superblock bytes (bcachefs-format.md §2, §36.2). Superblocks
 * written by 1.29+ tools are shown the way those tools show them
 * ("4.00k" sizes, "name (1.36)" versions), older ones the older way
 * ("4.00 KiB", "1.28: name"). Dates are UTC.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bkey.h"
#include "extents.h"
#include "journal.h"
#include "sb_fields.h"
#include "super_text.h"

#define VALUE_COL	43u	/* values start at this column */
#define NEW_STYLE_VERSION	BCH_VERSION_1_29

struct sb_text {
	struct printbuf			*out;
	const struct bch_sb		*sb;
	bool				new_style;
	const struct bch_sb_field_ref	*groups;	/* disk_groups, or NULL */
};

static struct sb_text sb_text_init(struct printbuf *out, const struct bch_sb *sb)
{
	return (struct sb_text){
		.out		= out,
		.sb		= sb,
		.new_style	= sb->version >= NEW_STYLE_VERSION,
		.groups		= bch_sb_field_get(sb, BCH_SB_FIELD_disk_groups),
	};
}

/* ---- small formatters ---- */

/*
 * "<indent>label:" padded so that the value starts at VALUE_COL; a name
 * starting with '\n' first ends the previous line.
 */
static void label(struct printbuf *out, unsigned indent, const char *name)
{
	size_t n;

	if (name[0] == '\n') {
		pb_puts(out, "\n");
		name++;
	}
	n = indent + strlen(name) + 1;

	pb_printf(out, "%*s%s:%*s", (int)indent, "", name,
		  (int)(n < VALUE_COL ? VALUE_COL - n : 1), "");
}

/*
 * Sizes with three significant digits, as the tools of each era print
 * them: 1.29+ "6.71k" (fraction truncated, no unit for bytes), older
 * "5.21 KiB" (rounded). Only the remainder of the last division by 1024
 * feeds the fraction, as upstream does.
 */
static void units_new(struct printbuf *out, uint64_t v)
{
	static const char u_names[] = "\0kMGTPE";
	unsigned u = 0, r = 0, digits = 1;
	char frac[16];

	while (u < 6 && v >= 1024) {
		r = v % 1024;
		v /= 1024;
		u++;
	}
	pb_printf(out, "%llu", (unsigned long long)v);
	if (!u)
		return;
	for (uint64_t x = v; x >= 10; x /= 10)
		digits++;
	if (digits < 3) {
		snprintf(frac, sizeof(frac), "%03u", r * 1000 >> 10);
		frac[3 - digits] = 0;
		pb_printf(out, ".%s", frac);
	}
	pb_printf(out, "%c", u_names[u]);
}

static void units_old(struct printbuf *out, uint64_t v)
{
	static const char * const u_names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	static const unsigned rounding[] = { 500, 50, 5 };
	unsigned u = 0, r = 0, prec = 0;
	char frac[16];

	if (!v) {
		pb_puts(out, "0 B");
		return;
	}
	while (u < 6 && v >= 1024) {
		r = v % 1024;
		v /= 1024;
		u++;
	}
	for (uint64_t x = v; x * 10 < 1000; x *= 10)
		prec++;
	r = (r * 1000 >> 10) + rounding[prec];
	if (r >= 1000) {
		r -= 1000;
		v++;
	}
	pb_printf(out, "%llu", (unsigned long long)v);
	if (prec) {
		snprintf(frac, sizeof(frac), "%03u", r);
		frac[prec] = 0;
		pb_printf(out, ".%s", frac);
	}
	pb_printf(out, " %s", u_names[u]);
}

static void units(const struct sb_text *t, uint64_t bytes)
{
	if (t->new_style)
		units_new(t->out, bytes);
	else
		units_old(t->out, bytes);
}

static void datetime(struct printbuf *out, uint64_t secs)
{
	time_t tt = (time_t)secs;
	char buf[64];
	struct tm tm;

	/* beyond the year 9999 (or not representable): the raw number */
	if (secs > 253402300799ULL || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm)) {
		pb_printf(out, "%llu", (unsigned long long)secs);
		return;
	}
	pb_puts(out, buf);
}

static void version_text(const struct sb_text *t, unsigned v)
{
	unsigned maj = BCH_VERSION_MAJOR(v), min = BCH_VERSION_MINOR(v);

	if (t->new_style)
		pb_printf(t->out, "%s (%u.%u)", bch_version_name(v), maj, min);
	else
		pb_printf(t->out, "%u.%u: %s", maj, min, bch_version_name(v));
}

/* a NUL-padded on-disk string, at most max bytes, non-printables as '?' */
static void sane_str(struct printbuf *out, const char *s, size_t max)
{
	char buf[128];
	size_t i;

	if (max >= sizeof(buf))
		max = sizeof(buf) - 1;
	for (i = 0; i < max && s[i]; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	buf[i] = 0;
	pb_puts(out, buf);
}

typedef const char *(*bit_name_fn)(unsigned bit, unsigned sb_version);

/* comma-separated names of the set bits; "" when none */
static void bitflags(struct printbuf *out, bit_name_fn name, unsigned sb_version,
		     const uint64_t *words, unsigned nr_words)
{
	bool first = true;

	for (unsigned w = 0; w < nr_words; w++)
		for (unsigned b = 0; b < 64; b++) {
			unsigned bit = w * 64 + b;
			const char *n;

			if (!(words[w] >> b & 1))
				continue;
			n = name ? name(bit, sb_version) : NULL;
			if (!first)
				pb_puts(out, ",");
			first = false;
			if (n)
				pb_puts(out, n);
			else
				pb_printf(out, "%u", bit);
		}
}

static const char *feature_name(unsigned bit, unsigned v)
{
	(void)v;
	return bch_sb_feature_name(bit);
}

static const char *compat_name(unsigned bit, unsigned v)
{
	(void)v;
	return bch_sb_compat_name(bit);
}

static const char *field_name(unsigned bit, unsigned v)
{
	(void)v;
	return bch_sb_field_name(bit);
}

static const char *data_type_name(unsigned bit, unsigned v)
{
	(void)v;
	return bit < BCH_DATA_NR ? bch_data_type_name(bit) : NULL;
}

static const char *btree_name(unsigned bit, unsigned v)
{
	return bch_btree_id_name(bit, v);
}

static const char *pass_name(unsigned bit, unsigned v)
{
	return bch_recovery_pass_name(bit, v);
}

static void data_types(struct printbuf *out, uint64_t mask)
{
	if (mask)
		bitflags(out, data_type_name, 0, &mask, 1);
	else
		pb_puts(out, "(none)");
}

static void hex_dump(struct printbuf *out, const uint8_t *p, size_t len)
{
	const size_t max = 512;

	for (size_t i = 0; i < len && i < max; i += 32) {
		pb_printf(out, "  %04zx: ", i);
		pb_hex(out, p + i, len - i < 32 ? len - i : 32);
		pb_puts(out, "\n");
	}
	if (len > max)
		pb_printf(out, "  ... (%zu more bytes)\n", len - max);
}

/* disk group path of group idx, or a note why there is none */
static void group_path(const struct sb_text *t, unsigned idx)
{
	char path[256];

	if (t->groups &&
	    !bch_sb_disk_group_path(t->groups->p, t->groups->bytes, idx, path, sizeof(path)))
		sane_str(t->out, path, sizeof(path));
	else
		pb_printf(t->out, "(invalid disk group %u)", idx);
}

/* ---- options (flags[]) ---- */

enum opt_kind {
	O_UINT,
	O_SECTORS,		/* stored >> 9, shown as a size */
	O_ILOG2_SECTORS,	/* stored as log2 of sectors */
	O_CHOICE,		/* full list, selected in [] */
	O_NAME,			/* the selected name only */
	O_COMPRESSION,		/* low nibble here, high nibble in word2/lo2 */
	O_TARGET,
	O_BLOCK_SIZE,		/* the header's block_size */
	O_BP_SHIFT,		/* 0 means 10 */
	O_EXT_UINT,		/* bits lo..hi of the ext field's flags0 (v1.39.2) */
	O_EXT_SECTORS,		/* the same, in sectors, shown as a size */
};

enum opt_era { E_ALL, E_OLD, E_NEW };	/* shown for pre-1.29 / 1.29+ only */

struct sb_opt {
	const char		*name;
	uint8_t			kind, era;
	uint8_t			word, lo, hi;
	uint8_t			word2, lo2;
	const char * const	*choices;	/* NULL-terminated */
	uint16_t		minv;		/* shown from this version on */
};

static const char * const error_actions[] = { "continue", "fix_safe", "panic", "ro", NULL };
static const char * const csum_opts[] = { "none", "crc32c", "crc64", "xxhash", NULL };
static const char * const str_hash_opts[] = { "crc32c", "crc64", "siphash", NULL };
static const char * const degraded_opts[] = { "ask", "yes", "very", "no", NULL };
static const char * const upgrade_opts[] = { "compatible", "incompatible", "none", NULL };
static const char * const encryption_types[] = { "none", "chacha20_poly1305", NULL };
static const char * const compression_types[] = { "none", "lz4", "gzip", "zstd", NULL };
static const char * const scrub_journal_opts[] = { "unclean", "no", "always", NULL };

#define OPT(n, k, w, l, h)	{ .name = n, .kind = k, .word = w, .lo = l, .hi = h }
#define OPT_E(n, k, e, w, l, h)	{ .name = n, .kind = k, .era = e, .word = w, .lo = l, .hi = h }
#define OPT_C(n, w, l, h, c)	{ .name = n, .kind = O_CHOICE, .word = w, .lo = l, .hi = h, .choices = c }
/* options new in the 1.37-1.39 releases (upstream v1.39.2 opts.h), shown from 1.37 */
#define OPT_37(n, k, w, l, h)	{ .name = n, .kind = k, .word = w, .lo = l, .hi = h, \
				  .minv = BCH_VERSION_1_37 }

static const struct sb_opt sb_opts[] = {
	OPT("block_size",			O_BLOCK_SIZE, 0, 0, 0),
	OPT("btree_node_size",			O_SECTORS, 0, 12, 28),
	OPT_C("errors",				0, 8, 12, error_actions),
	OPT("write_error_timeout",		O_UINT, 6, 4, 14),
	OPT("metadata_replicas",		O_UINT, 0, 48, 52),
	OPT("data_replicas",			O_UINT, 0, 52, 56),
	OPT_E("metadata_replicas_required",	O_UINT, E_OLD, 1, 20, 24),
	OPT_E("data_replicas_required",		O_UINT, E_OLD, 1, 24, 28),
	OPT("encoded_extent_max",		O_ILOG2_SECTORS, 1, 14, 20),
	OPT_C("metadata_checksum",		0, 40, 44, csum_opts),
	OPT_C("data_checksum",			0, 44, 48, csum_opts),
	OPT("checksum_err_retry_nr",		O_UINT, 6, 14, 20),
	{ .name = "compression", .kind = O_COMPRESSION, .word = 1, .lo = 4, .hi = 8,
	  .word2 = 4, .lo2 = 56 },
	{ .name = "background_compression", .kind = O_COMPRESSION, .word = 2, .lo = 0, .hi = 4,
	  .word2 = 4, .lo2 = 60 },
	OPT_C("str_hash",			1, 0, 4, str_hash_opts),
	OPT("metadata_target",			O_TARGET, 3, 16, 28),
	OPT("foreground_target",		O_TARGET, 1, 40, 52),
	OPT("background_target",		O_TARGET, 1, 52, 64),
	OPT("promote_target",			O_TARGET, 1, 28, 40),
	OPT("erasure_code",			O_UINT, 3, 0, 16),
	OPT_37("ec_max_data_blocks",		O_UINT, 6, 50, 58),
	OPT("casefold",				O_UINT, 6, 22, 23),
	OPT("inodes_32bit",			O_UINT, 1, 8, 9),
	OPT("shard_inode_numbers_bits",		O_UINT, 6, 0, 4),
	OPT_E("inodes_use_key_cache",		O_UINT, E_OLD, 3, 29, 30),
	OPT("gc_reserve_percent",		O_UINT, 0, 28, 33),
	OPT("gc_reserve_bytes",			O_SECTORS, 2, 4, 64),
	OPT("root_reserve_percent",		O_UINT, 0, 33, 40),
	OPT("wide_macs",			O_UINT, 1, 9, 10),
	OPT("promote_whole_extents",		O_UINT, 0, 63, 64),
	OPT("acl",				O_UINT, 0, 56, 57),
	OPT("usrquota",				O_UINT, 0, 57, 58),
	OPT("grpquota",				O_UINT, 0, 58, 59),
	OPT("prjquota",				O_UINT, 0, 59, 60),
	OPT_C("degraded",			6, 20, 22, degraded_opts),
	OPT("journal_flush_delay",		O_UINT, 3, 30, 62),
	OPT("journal_flush_disabled",		O_UINT, 3, 62, 63),
	OPT_37("move_writes_fua",		O_UINT, 6, 58, 59),
	OPT("journal_reclaim_delay",		O_UINT, 4, 0, 32),
	OPT_E("writeback_timeout",		O_UINT, E_NEW, 6, 24, 40),
	OPT_37("journal_rewind_discard_buffer_percent", O_EXT_UINT, 0, 38, 42),
	{ .name = "scrub_recent_journal_entries", .kind = O_CHOICE, .word = 6, .lo = 48,
	  .hi = 50, .choices = scrub_journal_opts, .minv = BCH_VERSION_1_37 },
	OPT_37("scrub_journal_max_rewind_secs",	O_EXT_UINT, 0, 26, 38),
	OPT("journal_transaction_names",	O_UINT, 4, 32, 33),
	OPT("allocator_stuck_timeout",		O_UINT, 5, 16, 32),
	OPT_C("version_upgrade",		4, 54, 56, upgrade_opts),
	OPT("nocow",				O_UINT, 4, 33, 34),
	OPT_E("rebalance_on_ac_only",		O_UINT, E_OLD, 6, 23, 24),
	OPT_E("reconcile_on_ac_only",		O_UINT, E_NEW, 6, 23, 24),
	OPT_37("btree_cache_shrinker_seeks",	O_EXT_UINT, 0, 42, 49),
	OPT_37("dev_readahead",			O_EXT_SECTORS, 0, 0, 20),
	OPT_37("ec_stripe_buf_limit",		O_EXT_UINT, 0, 20, 26),
	/* not options upstream prints, but stored in flags[] */
	{ .name = "encryption_type", .kind = O_NAME, .word = 1, .lo = 10, .hi = 14,
	  .choices = encryption_types },
	OPT("extent_bp_shift",			O_BP_SHIFT, 6, 40, 48),
};

static uint64_t opt_raw(const struct bch_sb *sb, const struct sb_opt *o)
{
	if (o->kind == O_EXT_UINT || o->kind == O_EXT_SECTORS) {
		const struct bch_sb_field_ref *f = bch_sb_field_get(sb, BCH_SB_FIELD_ext);
		struct bch_sb_ext e;

		/* no ext field, or one from before flags0: 0 */
		if (!f || bch_sb_ext_get(f->p, f->bytes, &e))
			return 0;
		return bits64(e.flags0, o->lo, o->hi);
	}
	return bits64(sb->flags[o->word], o->lo, o->hi);
}

static size_t choices_nr(const char * const *c)
{
	size_t n = 0;

	while (c[n])
		n++;
	return n;
}

static void opt_choice(struct printbuf *out, const struct sb_opt *o, uint64_t v)
{
	size_t n = choices_nr(o->choices);

	if (v >= n) {
		pb_printf(out, "(invalid option %llu)", (unsigned long long)v);
		return;
	}
	if (o->kind == O_NAME) {
		pb_puts(out, o->choices[v]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		pb_printf(out, i == v ? "[%s] " : "%s ", o->choices[i]);
}

static void opt_compression(struct printbuf *out, const struct bch_sb *sb,
			    const struct sb_opt *o)
{
	unsigned v = (unsigned)(opt_raw(sb, o) | bits64(sb->flags[o->word2], o->lo2, o->lo2 + 4) << 4);
	unsigned type = v & 15, level = v >> 4;

	if (type < choices_nr(compression_types))
		pb_puts(out, compression_types[type]);
	else
		pb_printf(out, "(invalid compression type %u)", type);
	if (level)
		pb_printf(out, ":%u", level);
}

/* 0 none, 1..256 device, 257.. disk group (bcachefs-format.md §2.8.6) */
static void opt_target(const struct sb_text *t, uint64_t v)
{
	const struct bch_sb *sb = t->sb;

	if (!v) {
		pb_puts(t->out, "none");
	} else if (v <= 256) {
		unsigned dev = (unsigned)v - 1;

		if (dev < sb->nr_members && sb->members[dev].exists) {
			pb_puts(t->out, "Device ");
			pb_uuid(t->out, sb->members[dev].uuid);
			pb_printf(t->out, " (%u)", dev);
		} else {
			pb_printf(t->out, "Bad device %u", dev);
		}
	} else {
		group_path(t, (unsigned)v - 257);
	}
}

static void opt_to_text(const struct sb_text *t, const struct sb_opt *o)
{
	const struct bch_sb *sb = t->sb;
	uint64_t v = opt_raw(sb, o);

	label(t->out, 2, o->name);
	switch (o->kind) {
	case O_UINT:
		pb_printf(t->out, "%llu", (unsigned long long)v);
		break;
	case O_EXT_UINT:
		pb_printf(t->out, "%llu", (unsigned long long)v);
		break;
	case O_SECTORS:
	case O_EXT_SECTORS:
		if (v > UINT64_MAX >> 9)
			pb_printf(t->out, "%llu sectors", (unsigned long long)v);
		else
			units(t, v << 9);
		break;
	case O_ILOG2_SECTORS:
		if (v > 50)
			pb_printf(t->out, "(invalid: 2^%llu sectors)", (unsigned long long)v);
		else
			units(t, 512ULL << v);
		break;
	case O_CHOICE:
	case O_NAME:
		opt_choice(t->out, o, v);
		break;
	case O_COMPRESSION:
		opt_compression(t->out, sb, o);
		break;
	case O_TARGET:
		opt_target(t, v);
		break;
	case O_BLOCK_SIZE:
		units(t, (uint64_t)sb->block_size << 9);
		break;
	case O_BP_SHIFT:
		pb_printf(t->out, v ? "%llu" : "%llu (default 10)", (unsigned long long)v);
		break;
	}
	pb_puts(t->out, "\n");
}

static void options_to_text(const struct sb_text *t)
{
	pb_puts(t->out, "\nOptions:\n");
	for (size_t i = 0; i < ARRAY_SIZE(sb_opts); i++) {
		const struct sb_opt *o = &sb_opts[i];

		if ((o->era == E_OLD && t->new_style) || (o->era == E_NEW && !t->new_style) ||
		    t->sb->version < o->minv)
			continue;
		opt_to_text(t, o);
	}
}

/* ---- header ---- */

static void sb_flags_to_text(const struct sb_text *t)
{
	static const struct { const char *name; unsigned word, bit; } f[] = {
		{ "initialized", 0, 0 },
		{ "has_errors", 0, 60 },
		{ "has_topology_errors", 0, 61 },
		{ "big_endian", 0, 62 },
		{ "multi_device", 3, 63 },
	};
	bool any = false;

	label(t->out, 0, "Flags");
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (!(t->sb->flags[f[i].word] >> f[i].bit & 1))
			continue;
		pb_printf(t->out, "%s%s", any ? "," : "", f[i].name);
		any = true;
	}
	pb_puts(t->out, any ? "\n" : "(none)\n");
}

static void header_versions(const struct sb_text *t)
{
	const struct bch_sb *sb = t->sb;
	static const char * const names[] = {
		"Version", "Incompatible features allowed", "Incompatible features in use",
		"Version upgrade complete", "Oldest version on disk",
	};
	unsigned v[] = {
		sb->version, (unsigned)BCH_SB_VERSION_INCOMPAT_ALLOWED(sb),
		(unsigned)BCH_SB_VERSION_INCOMPAT(sb),
		(unsigned)BCH_SB_VERSION_UPGRADE_COMPLETE(sb), sb->version_min,
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		label(t->out, 0, names[i]);
		version_text(t, v[i]);
		pb_puts(t->out, "\n");
	}
}

static void header_to_text(const struct sb_text *t)
{
	const struct bch_sb *sb = t->sb;
	struct printbuf *out = t->out;
	uint64_t have = 0;

	label(out, 0, "External UUID");
	pb_uuid(out, sb->user_uuid);
	label(out, 0, "\nInternal UUID");
	pb_uuid(out, sb->uuid);
	label(out, 0, "\nMagic number");
	pb_uuid(out, sb->magic);
	label(out, 0, "\nDevice index");
	pb_printf(out, "%u\n", sb->dev_idx);
	label(out, 0, "Label");
	if (sb->label[0])
		sane_str(out, sb->label, 32);
	else
		pb_puts(out, "(none)");
	pb_puts(out, "\n");
	header_versions(t);

	label(out, 0, "Created");
	if (sb->time_base_lo)
		datetime(out, sb->time_base_lo / 1000000000ULL);
	else
		pb_puts(out, "(not set)");
	label(out, 0, "\nSequence number");
	pb_printf(out, "%llu\n", (unsigned long long)sb->seq);
	label(out, 0, "Time of last write");
	datetime(out, sb->write_time);
	label(out, 0, "\nSuperblock size");
	units(t, sb->len);
	pb_puts(out, "/");
	if (sb->layout.sb_max_size_bits < 48)
		units(t, 512ULL << sb->layout.sb_max_size_bits);
	else
		pb_printf(out, "(invalid: 2^%u sectors)", sb->layout.sb_max_size_bits);
	label(out, 0, "\nClean");
	pb_printf(out, "%llu\n", (unsigned long long)BCH_SB_CLEAN(sb));
	label(out, 0, "Devices");
	pb_printf(out, "%u\n", sb->nr_devices);

	for (unsigned i = 0; i < sb->nr_fields; i++)
		if (sb->fields[i].type < 64)
			have |= 1ULL << sb->fields[i].type;
	label(out, 0, "Sections");
	bitflags(out, field_name, sb->version, &have, 1);
	label(out, 0, "\nFeatures");
	bitflags(out, feature_name, sb->version, sb->features, 2);
	label(out, 0, "\nCompat features");
	bitflags(out, compat_name, sb->version, sb->compat, 2);
	pb_puts(out, "\n");
	sb_flags_to_text(t);
	label(out, 0, "Superblock checksum type");
	pb_printf(out, "%s\n", bch_csum_type_name((unsigned)BCH_SB_CSUM_TYPE(sb)));
}

/* ---- layout ---- */

void bch_sb_layout_to_text(struct printbuf *out, const struct bch_sb *sb,
			   const struct bch_sb_layout *l)
{
	struct sb_text t = sb_text_init(out, sb);
	unsigned nr = l->nr_superblocks < 61 ? l->nr_superblocks : 61;

	pb_puts(out, "\nlayout:\n");
	label(out, 2, "Type");
	pb_printf(out, "%u\n", l->layout_type);
	label(out, 2, "Superblock max size");
	if (l->sb_max_size_bits < 48)
		units(&t, 512ULL << l->sb_max_size_bits);
	else
		pb_printf(out, "(invalid: 2^%u sectors)", l->sb_max_size_bits);
	label(out, 2, "\nNr superblocks");
	pb_printf(out, "%u\n", l->nr_superblocks);
	label(out, 2, "Offsets");
	for (unsigned i = 0; i < nr; i++)
		pb_printf(out, "%s%llu", i ? ", " : "", (unsigned long long)l->sb_offset[i]);
	pb_puts(out, "\n");
}

/* ---- members ---- */

static const char *member_state_name(const struct sb_text *t, unsigned s)
{
	static const char * const names[] = { "rw", "ro", "failed", "spare" };

	if (s == 2 && t->new_style)
		return "evacuating";
	return s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void member_bitmap(const struct sb_text *t, const struct bch_member *m)
{
	struct printbuf *out = t->out;

	label(out, 2, "Btree allocated bitmap blocksize");
	if (m->btree_bitmap_shift < 55) {
		units(t, 512ULL << m->btree_bitmap_shift);
		pb_printf(out, " (shift %u)", m->btree_bitmap_shift);
	} else {
		pb_printf(out, "(invalid shift %u)", m->btree_bitmap_shift);
	}
	label(out, 2, "\nBtree allocated bitmap");
	for (int b = 63; b >= 0; b--)
		pb_puts(out, m->btree_allocated_bitmap >> b & 1 ? "1" : "0");
	label(out, 2, "\nBtree allocated bitmap (hex)");
	pb_printf(out, "%016llx\n", (unsigned long long)m->btree_allocated_bitmap);
}

static void member_counters(const struct sb_text *t, const struct bch_member *m)
{
	static const char * const errs[] = { "read errors", "write errors", "checksum errors" };
	static const char * const iops[] = {
		"seqread iops", "seqwrite iops", "randread iops", "randwrite iops",
	};

	for (unsigned i = 0; i < 3; i++) {
		label(t->out, 2, errs[i]);
		pb_printf(t->out, "%llu\n", (unsigned long long)m->errors[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		label(t->out, 2, iops[i]);
		pb_printf(t->out, "%u\n", m->iops[i]);
	}
}

/* label, uuid, size, error and iops counters, geometry, mount and write */
static void member_identity(const struct sb_text *t, const struct bch_member *m)
{
	struct printbuf *out = t->out;

	label(out, 2, "Label");
	if (BCH_MEMBER_GROUP(m))
		group_path(t, (unsigned)BCH_MEMBER_GROUP(m) - 1);
	else
		pb_puts(out, "(none)");
	if (m->failure_domain[0]) {
		label(out, 2, "\nFailure domain");
		sane_str(out, m->failure_domain, 32);
	}
	label(out, 2, "\nUUID");
	pb_uuid(out, m->uuid);
	label(out, 2, "\nSize");
	if (m->nbuckets > UINT64_MAX / 512 / (m->bucket_size ? m->bucket_size : 1))
		pb_printf(out, "(overflow: %llu buckets)", (unsigned long long)m->nbuckets);
	else
		units(t, m->nbuckets * m->bucket_size * 512);
	pb_puts(out, "\n");
	member_counters(t, m);
	label(out, 2, "Bucket size");
	units(t, (uint64_t)m->bucket_size * 512);
	label(out, 2, "\nFirst bucket");
	pb_printf(out, "%u\n", m->first_bucket);
	label(out, 2, "Buckets");
	pb_printf(out, "%llu\n", (unsigned long long)m->nbuckets);
	label(out, 2, "Last mount");
	if (m->last_mount)
		datetime(out, m->last_mount);
	else
		pb_puts(out, "(never)");
	label(out, 2, "\nLast superblock write");
	pb_printf(out, "%llu\n", (unsigned long long)m->seq);
}

static void member_flag(struct printbuf *out, const char *name, uint64_t v)
{
	label(out, 2, name);
	pb_printf(out, "%llu\n", (unsigned long long)v);
}

/* member_bytes: entry size of the field; 1.36 entries (224) have more */
static void member_to_text(const struct sb_text *t, const struct bch_member *m,
			   unsigned idx, unsigned member_bytes)
{
	struct printbuf *out = t->out;
	uint64_t durability = BCH_MEMBER_DURABILITY(m);

	label(out, 0, "Device");
	pb_printf(out, "%u\n", idx);
	member_identity(t, m);
	label(out, 2, "State");
	pb_printf(out, "%s\n", member_state_name(t, (unsigned)BCH_MEMBER_STATE(m)));
	label(out, 2, "Data allowed");
	data_types(out, BCH_MEMBER_DATA_ALLOWED(m));
	label(out, 2, "\nHas data");
	data_types(out, bch_sb_dev_has_data(t->sb, idx));
	pb_puts(out, "\n");
	if (member_bytes >= BCH_MEMBER_BYTES_MAX)
		member_flag(out, "Rotational", BCH_MEMBER_ROTATIONAL(m));
	member_bitmap(t, m);
	member_flag(out, "Durability", durability ? durability - 1 : 1);
	member_flag(out, "Discard", BCH_MEMBER_DISCARD(m));
	member_flag(out, "Freespace initialized", BCH_MEMBER_FREESPACE_INIT(m));
	member_flag(out, "Resize on mount", BCH_MEMBER_RESIZE_ON_MOUNT(m));
	if (member_bytes >= BCH_MEMBER_BYTES_MAX) {
		label(out, 2, "Last device name");
		sane_str(out, m->device_name, 16);
		label(out, 2, "\nLast device model");
		sane_str(out, m->device_model, 64);
		pb_puts(out, "\n");
	}
	if (member_bytes >= BCH_MEMBER_FAILURE_DOMAIN) {
		static const char * const init_steps[] = {
			"initialized", "pre_dev_usage", "pre_mark_sb", "pre_freespace_init",
			"pre_journal_alloc",
		};
		uint64_t init = BCH_MEMBER_INITIALIZED(m);

		label(out, 2, "Last device serial");
		sane_str(out, m->device_serial, 64);
		pb_puts(out, "\n");
		if (m->flush_errors)
			member_flag(out, "Flush errors", m->flush_errors);
		/* a device add that did not finish (v1.39.2 members_format.h) */
		if (init) {
			label(out, 2, "Initialized");
			if (init < ARRAY_SIZE(init_steps))
				pb_printf(out, "%s\n", init_steps[init]);
			else
				pb_printf(out, "(unknown state %llu)\n", (unsigned long long)init);
		}
	}
}

static void members_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	unsigned eb = bch_sb_members_entry_bytes(f->p, f->bytes, f->type);
	unsigned nr = bch_sb_members_nr(f->p, f->bytes, f->type);
	struct bch_member m;

	if (nr < t->sb->nr_devices)
		pb_printf(t->out, "(field holds %u whole member entries of %u bytes, %u devices)\n",
			  nr, eb, t->sb->nr_devices);
	for (unsigned i = 0; i < nr && i < t->sb->nr_devices; i++)
		if (!bch_sb_member_get(f->p, f->bytes, f->type, i, &m) && m.exists)
			member_to_text(t, &m, i, eb);
}

/* ---- journal fields ---- */

static void journal_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_journal_nr(f->bytes);

	label(t->out, 0, "Buckets");
	for (size_t i = 0; i < nr; i++)
		pb_printf(t->out, "%s%llu", i ? " " : "",
			  (unsigned long long)bch_sb_journal_bucket(f->p, f->bytes, i));
	pb_printf(t->out, "%s(%zu buckets)\n", nr ? " " : "", nr);
}

static void journal_v2_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_journal_v2_nr(f->bytes);
	uint64_t total = 0;

	label(t->out, 0, "Buckets");
	for (size_t i = 0; i < nr; i++) {
		struct bch_sb_journal_range r = bch_sb_journal_v2_range(f->p, f->bytes, i);

		if (r.nr)
			pb_printf(t->out, "%s%llu-%llu", i ? " " : "", (unsigned long long)r.start,
				  (unsigned long long)(r.start + r.nr - 1));
		else
			pb_printf(t->out, "%s%llu+0", i ? " " : "", (unsigned long long)r.start);
		total += r.nr;
	}
	pb_printf(t->out, "%s(%llu buckets)\n", nr ? " " : "", (unsigned long long)total);
}

/* ---- crypt, replicas, quota, disk groups ---- */

static void crypt_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	struct bch_sb_crypt_info c;
	struct printbuf *out = t->out;

	if (bch_sb_crypt_info(f->p, f->bytes, &c)) {
		pb_printf(out, "(field too small: %u bytes, need 64)\n", f->bytes);
		return;
	}
	label(out, 0, "KDF");
	pb_puts(out, c.kdf_type ? "" : "scrypt");
	if (c.kdf_type)
		pb_printf(out, "(unknown type %u)", c.kdf_type);
	label(out, 0, "\nscrypt N");
	if (c.log_n < 64)
		pb_printf(out, "%llu (2^%u)\n", 1ULL << c.log_n, c.log_n);
	else
		pb_printf(out, "2^%u\n", c.log_n);
	label(out, 0, "scrypt r");
	pb_printf(out, "2^%u\n", c.log_r);
	label(out, 0, "scrypt p");
	pb_printf(out, "2^%u\n", c.log_p);
	label(out, 0, "Key");
	pb_puts(out, c.key_plain ? "plain (no passphrase)\n" : "encrypted with a passphrase\n");
}

static void replicas_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	bool v0 = f->type == BCH_SB_FIELD_replicas_v0;
	struct bch_replicas_entry e;
	size_t pos = 0;
	int ret;

	while ((ret = bch_sb_replicas_next(f->p, f->bytes, v0, &pos, &e)) > 0) {
		/* v0 entries have no nr_required: "type: nr_devs [devs]" */
		if (v0)
			pb_printf(t->out, "  %s: %u [", bch_data_type_name(e.data_type),
				  e.nr_devs);
		else
			pb_printf(t->out, "  %s: %u/%u [", bch_data_type_name(e.data_type),
				  e.nr_required, e.nr_devs);
		for (unsigned i = 0; i < e.nr_devs; i++)
			pb_printf(t->out, i ? " %u" : "%u", e.devs[i]);
		pb_puts(t->out, "]\n");
	}
	if (ret < 0)
		pb_printf(t->out, "  (entry at byte %zu runs past the end of the field)\n",
			  pos < 8 ? (size_t)8 : pos);
}

static void quota_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	static const char * const types[] = { "user", "group", "project" };
	struct bch_sb_quota_type q;

	for (unsigned i = 0; i < 3; i++) {
		if (bch_sb_quota_get(f->p, f->bytes, i, &q))
			break;
		label(t->out, 0, types[i]);
		pb_printf(t->out, "flags %#llx, space timelimit %u warnlimit %u, inodes timelimit %u warnlimit %u\n",
			  (unsigned long long)q.flags, q.timelimit[0], q.warnlimit[0],
			  q.timelimit[1], q.warnlimit[1]);
	}
}

static void disk_groups_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_disk_groups_nr(f->bytes);
	struct bch_disk_group g;
	char buf[48];

	for (size_t i = 0; i < nr; i++) {
		if (bch_sb_disk_group_get(f->p, f->bytes, i, &g))
			break;
		snprintf(buf, sizeof(buf), "Group %zu", i);
		label(t->out, 0, buf);
		if (g.deleted) {
			pb_puts(t->out, "[deleted]\n");
			continue;
		}
		sane_str(t->out, g.label, 32);
		pb_printf(t->out, " (parent %u", g.parent);
		if (g.data_allowed) {
			pb_puts(t->out, ", data allowed ");
			data_types(t->out, g.data_allowed);
		}
		pb_puts(t->out, ") path ");
		group_path(t, (unsigned)i);
		pb_puts(t->out, "\n");
	}
}

/* ---- clean ---- */

static const char * const jset_entry_names[] = {
	"btree_keys", "btree_root", "prio_ptrs", "blacklist", "blacklist_v2",
	"usage", "data_usage", "clock", "dev_usage", "log", "overwrite",
	"write_buffer_keys", "datetime", "log_bkey", "rewind_limit", "rewind",
};

static void btree_root_to_text(const struct sb_text *t, unsigned btree, unsigned level,
			       const uint8_t *p, size_t bytes)
{
	const char *name = bch_btree_id_name(btree, t->sb->version), *why = NULL;
	struct bch_btree_ptr_info info;
	struct bkey k;

	if (name)
		pb_printf(t->out, "%s level %u", name, level);
	else
		pb_printf(t->out, "btree %u level %u", btree, level);
	if (!bytes) {
		pb_puts(t->out, " (no root)");
		return;
	}
	if (!bch_bkey_decode(&bch_bkey_format_current, p, bytes, &k, &why)) {
		pb_printf(t->out, " (bad key: %s)", why ? why : "?");
		return;
	}
	if (bch_btree_ptr_decode(&k, &info)) {
		const char *tn = bch_bkey_type_name(k.type);

		pb_printf(t->out, " (key type %s)", tn ? tn : "unknown");
		return;
	}
	if (info.v2)
		pb_printf(t->out, " seq %llx sectors_written %u", (unsigned long long)info.h.seq,
			  info.h.sectors_written);
	for (unsigned i = 0; i < info.nr_ptrs; i++)
		pb_printf(t->out, " ptr %u:%llu gen %u", info.ptrs[i].dev,
			  (unsigned long long)info.ptrs[i].offset, info.ptrs[i].gen);
}

static void log_text(struct printbuf *out, const uint8_t *p, size_t bytes)
{
	char buf[128];
	size_t n = bytes < sizeof(buf) - 1 ? bytes : sizeof(buf) - 1;

	memcpy(buf, p, n);
	buf[n] = 0;
	sane_str(out, buf, n);
}

static void jset_entry_body(const struct sb_text *t, unsigned type, unsigned btree,
			    unsigned level, const uint8_t *p, size_t bytes)
{
	struct printbuf *out = t->out;

	switch (type) {
	case BCH_JSET_ENTRY_btree_root:
		btree_root_to_text(t, btree, level, p, bytes);
		return;
	case BCH_JSET_ENTRY_usage:
		if (bytes >= 8) {
			pb_printf(out, "%s %llu", btree == 2 ? "key_version" :
				  btree == 1 ? "inodes" : "reserved", (unsigned long long)get_le64(p));
			return;
		}
		break;
	case BCH_JSET_ENTRY_clock:
		if (bytes >= 16) {
			pb_printf(out, "%s %llu", p[0] ? "write" : "read",
				  (unsigned long long)get_le64(p + 8));
			return;
		}
		break;
	case BCH_JSET_ENTRY_blacklist:
		if (bytes >= 8) {
			pb_printf(out, "%llu", (unsigned long long)get_le64(p));
			return;
		}
		break;
	case BCH_JSET_ENTRY_blacklist_v2:
		if (bytes >= 16) {
			pb_printf(out, "%llu-%llu", (unsigned long long)get_le64(p),
				  (unsigned long long)get_le64(p + 8));
			return;
		}
		break;
	case BCH_JSET_ENTRY_datetime:
		if (bytes >= 8) {
			datetime(out, get_le64(p));
			return;
		}
		break;
	case BCH_JSET_ENTRY_log:
		log_text(out, p, bytes);
		return;
	}
	pb_printf(out, "btree %u level %u, %zu bytes", btree, level, bytes);
}

static int clean_entry(void *ctx, const uint8_t *entry, unsigned type, unsigned btree,
		       unsigned level, const uint8_t *payload, size_t bytes,
		       uint64_t byte_offset, struct bch_error *err)
{
	const struct sb_text *t = ctx;
	char name[32];

	(void)entry;
	(void)byte_offset;
	(void)err;
	/* zero padding reads as empty btree_keys entries */
	if (type == BCH_JSET_ENTRY_btree_keys && !bytes)
		return 0;
	if (type < ARRAY_SIZE(jset_entry_names))
		snprintf(name, sizeof(name), "%s", jset_entry_names[type]);
	else
		snprintf(name, sizeof(name), "entry type %u", type);
	label(t->out, 2, name);
	jset_entry_body(t, type, btree, level, payload, bytes);
	pb_puts(t->out, "\n");
	return 0;
}

static void clean_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	struct bch_sb_clean_hdr h;
	struct bch_error err = { 0 };

	if (bch_sb_clean_hdr(f->p, f->bytes, &h)) {
		pb_printf(t->out, "(field too small: %u bytes)\n", f->bytes);
		return;
	}
	label(t->out, 0, "flags");
	pb_printf(t->out, "%x\n", h.flags);
	label(t->out, 0, "journal_seq");
	pb_printf(t->out, "%llu\n", (unsigned long long)h.journal_seq);
	if (!BCH_SB_CLEAN(t->sb))
		pb_puts(t->out, "(not marked clean: these entries may be stale)\n");
	if (bch_jset_entries_walk(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET,
				  f->bytes - BCH_SB_CLEAN_ENTRIES_OFFSET,
				  (uint64_t)(f->p - t->sb->bytes) + BCH_SB_CLEAN_ENTRIES_OFFSET,
				  "clean field (superblock byte)", clean_entry, (void *)t, &err))
		pb_printf(t->out, "  (%s)\n", err.msg);
}

/* ---- blacklist, counters, errors ---- */

static void blacklist_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_blacklist_nr(f->bytes);

	for (size_t i = 0; i < nr; i++) {
		struct bch_blacklist_range r = bch_sb_blacklist_get(f->p, f->bytes, i);

		pb_printf(t->out, "%s%llu-%llu", i ? " " : "", (unsigned long long)r.start,
			  (unsigned long long)r.end);
	}
	pb_puts(t->out, nr ? " (start-end, end exclusive)\n" : "(none)\n");
}

static void counters_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_counters_nr(f->bytes);
	char buf[48];

	for (size_t i = 0; i < nr; i++) {
		uint64_t v = bch_sb_counter_get(f->p, f->bytes, i);

		if (!v)
			continue;
		snprintf(buf, sizeof(buf), "%zu", i);
		label(t->out, 0, buf);
		pb_printf(t->out, "%llu\n", (unsigned long long)v);
	}
}

static void errors_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_errors_nr(f->bytes);
	char buf[48];

	for (size_t i = 0; i < nr; i++) {
		struct bch_sb_error_entry e = bch_sb_error_get(f->p, f->bytes, i);

		snprintf(buf, sizeof(buf), "error %u", e.id);
		label(t->out, 0, buf);
		pb_printf(t->out, "count %llu, last ", (unsigned long long)e.nr);
		datetime(t->out, e.last_time);
		pb_puts(t->out, "\n");
	}
}

/* errors_v2 (v1.39.2): like errors, with the time of the first occurrence */
static void errors_v2_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_errors_v2_nr(f->bytes);
	char buf[48];

	for (size_t i = 0; i < nr; i++) {
		struct bch_sb_error_entry e = bch_sb_error_v2_get(f->p, f->bytes, i);

		snprintf(buf, sizeof(buf), "error %u", e.id);
		label(t->out, 0, buf);
		pb_printf(t->out, "count %llu, first ", (unsigned long long)e.nr);
		datetime(t->out, e.first_time);
		pb_puts(t->out, ", last ");
		datetime(t->out, e.last_time);
		pb_puts(t->out, "\n");
	}
}

/* ---- ext, downgrade, recovery passes, extent_type_u64s ---- */

static void ext_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	struct bch_sb_ext e;

	if (bch_sb_ext_get(f->p, f->bytes, &e)) {
		pb_printf(t->out, "(field too small: %u bytes, need %u)\n", f->bytes,
			  BCH_SB_EXT_MIN_BYTES);
		return;
	}
	label(t->out, 0, "Recovery passes required");
	bitflags(t->out, pass_name, t->sb->version, e.recovery_passes_required, 2);
	label(t->out, 0, "\nErrors to silently fix");
	bitflags(t->out, NULL, t->sb->version, e.errors_silent, 8);
	label(t->out, 0, "\nBtrees with missing data");
	bitflags(t->out, btree_name, t->sb->version, &e.btrees_lost_data, 1);
	/* appended in v1.39.2: only what the field is long enough to hold */
	if (e.has_btrees_lost_data_ever) {
		label(t->out, 0, "\nBtrees that have ever lost data");
		bitflags(t->out, btree_name, t->sb->version, &e.btrees_lost_data_ever, 1);
	}
	if (e.has_btrees_clean) {
		label(t->out, 0, "\nBtrees validated clean");
		bitflags(t->out, btree_name, t->sb->version, &e.btrees_clean, 1);
	}
	pb_puts(t->out, "\n");
}

static void downgrade_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	struct bch_sb_downgrade_entry e;
	size_t pos = 0;

	while (bch_sb_downgrade_next(f->p, f->bytes, &pos, &e) > 0) {
		label(t->out, 0, "version");
		version_text(t, e.version);
		label(t->out, 2, "\nrecovery passes");
		bitflags(t->out, pass_name, t->sb->version, e.recovery_passes, 2);
		label(t->out, 2, "\nerrors");
		for (unsigned i = 0; i < e.nr_errors; i++)
			pb_printf(t->out, "%s%u", i ? "," : "", bch_sb_downgrade_error(&e, i));
		pb_puts(t->out, "\n");
	}
}

static void recovery_passes_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_recovery_passes_nr(f->bytes);

	for (size_t i = 0; i < nr; i++) {
		struct bch_sb_recovery_pass_entry r = bch_sb_recovery_pass_get(f->p, f->bytes, i);
		const char *name = bch_recovery_pass_name((unsigned)i, t->sb->version);
		char buf[40];

		if (!r.last_run)
			continue;
		if (name)
			snprintf(buf, sizeof(buf), "%s", name);
		else
			snprintf(buf, sizeof(buf), "pass %zu", i);
		label(t->out, 0, buf);
		datetime(t->out, r.last_run);
		pb_printf(t->out, ", took %u s%s\n", r.last_runtime,
			  r.flags & 1 ? " (no ratelimit)" : "");
	}
}

static void extent_type_u64s_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	size_t nr = bch_sb_extent_type_u64s_nr(f->p, f->bytes);
	char buf[48];

	for (size_t i = 0; i < nr; i++) {
		const char *name = i < BCH_EXTENT_ENTRY_NR ?
			bch_extent_entry_type_name((unsigned)i) : NULL;

		/* entry type 5 was renamed with the reconcile rework (1.33) */
		if (i == BCH_EXTENT_ENTRY_rebalance && t->sb->version >= BCH_VERSION(1, 33))
			name = "rebalance_v1";

		if (name)
			snprintf(buf, sizeof(buf), "%s", name);
		else
			snprintf(buf, sizeof(buf), "(unknown type %zu)", i);
		label(t->out, 0, buf);
		pb_printf(t->out, "%u\n", f->p[8 + i]);
	}
}

/* ---- fields ---- */

static void field_body(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	switch (f->type) {
	case BCH_SB_FIELD_journal:		journal_to_text(t, f); break;
	case BCH_SB_FIELD_members_v1:
	case BCH_SB_FIELD_members_v2:		members_to_text(t, f); break;
	case BCH_SB_FIELD_crypt:		crypt_to_text(t, f); break;
	case BCH_SB_FIELD_replicas_v0:
	case BCH_SB_FIELD_replicas:		replicas_to_text(t, f); break;
	case BCH_SB_FIELD_quota:		quota_to_text(t, f); break;
	case BCH_SB_FIELD_disk_groups:		disk_groups_to_text(t, f); break;
	case BCH_SB_FIELD_clean:		clean_to_text(t, f); break;
	case BCH_SB_FIELD_journal_seq_blacklist: blacklist_to_text(t, f); break;
	case BCH_SB_FIELD_journal_v2:		journal_v2_to_text(t, f); break;
	case BCH_SB_FIELD_counters:		counters_to_text(t, f); break;
	case BCH_SB_FIELD_errors:		errors_to_text(t, f); break;
	case BCH_SB_FIELD_errors_v2:		errors_v2_to_text(t, f); break;
	case BCH_SB_FIELD_ext:			ext_to_text(t, f); break;
	case BCH_SB_FIELD_downgrade:		downgrade_to_text(t, f); break;
	case BCH_SB_FIELD_recovery_passes:	recovery_passes_to_text(t, f); break;
	case BCH_SB_FIELD_extent_type_u64s:	extent_type_u64s_to_text(t, f); break;
	default:
		if (f->bytes > 8)
			hex_dump(t->out, f->p + 8, f->bytes - 8);
		break;
	}
}

static void field_to_text(const struct sb_text *t, const struct bch_sb_field_ref *f)
{
	const char *name = bch_sb_field_name(f->type);

	if (name)
		pb_printf(t->out, "%s (size %u):\n", name, f->bytes);
	else
		pb_printf(t->out, "(unknown field %u) (size %u):\n", f->type, f->bytes);
	field_body(t, f);
}

void bch_sb_field_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field_ref *f)
{
	struct sb_text t = sb_text_init(out, sb);

	field_to_text(&t, f);
}

void bch_sb_to_text(struct printbuf *out, const struct bch_sb *sb, uint64_t fields_mask)
{
	struct sb_text t = sb_text_init(out, sb);

	header_to_text(&t);
	options_to_text(&t);
	if (fields_mask & BCH_SB_TEXT_LAYOUT)
		bch_sb_layout_to_text(out, sb, &sb->layout);
	for (unsigned i = 0; i < sb->nr_fields; i++) {
		const struct bch_sb_field_ref *f = &sb->fields[i];

		if (!(fields_mask & bch_sb_text_field_bit(f->type)))
			continue;
		pb_puts(out, "\n");
		field_to_text(&t, f);
	}
}

uint64_t bch_sb_text_default_fields(const struct bch_sb *sb)
{
	unsigned members = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2) ?
		BCH_SB_FIELD_members_v2 : BCH_SB_FIELD_members_v1;

	return bch_sb_text_field_bit(members) |
	       bch_sb_text_field_bit(BCH_SB_FIELD_errors) |
	       bch_sb_text_field_bit(BCH_SB_FIELD_ext);
}

static int parse_one_field(const char *name, size_t len, uint64_t *mask,
			   struct bch_error *err)
{
	if (len == 3 && !strncmp(name, "all", 3)) {
		*mask |= BCH_SB_TEXT_ALL_FIELDS;
		return 0;
	}
	if (len == 7 && !strncmp(name, "members", 7)) {
		*mask |= bch_sb_text_field_bit(BCH_SB_FIELD_members_v1) |
			 bch_sb_text_field_bit(BCH_SB_FIELD_members_v2);
		return 0;
	}
	for (unsigned t = 0; t < BCH_SB_FIELD_NR; t++) {
		const char *n = bch_sb_field_name(t);

		if (n && strlen(n) == len && !strncmp(name, n, len)) {
			*mask |= bch_sb_text_field_bit(t);
			return 0;
		}
	}
	return bch_err(err, BCH_ERR_INVAL, "unknown superblock field '%.*s'", (int)len, name);
}

int bch_sb_text_parse_fields(const char *list, uint64_t *mask, struct bch_error *err)
{
	const char *p = list;

	*mask = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		int ret;

		if (len) {
			ret = parse_one_field(p, len, mask, err);
			if (ret)
				return ret;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	if (!*mask)
		return bch_err(err, BCH_ERR_INVAL, "no superblock fields given");
	return 0;
}
