/* Making a new filesystem (format.h). */
#include <blkid/blkid.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "btree_alloc.h"
#include "buckets.h"
#include "check_buckets.h"
#include "commit.h"
#include "crypt.h"
#include "format.h"
#include "format_fs.h"
#include "fs.h"
#include "io.h"
#include "journal.h"
#include "key_updates.h"
#include "sb_build.h"
#include "sb_fields.h"
#include "super.h"

/* ---- options ---- */

void bch_format_opts_default(struct bch_format_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->version = BCH_VERSION_1_28;
	o->meta_csum = BCH_CSUM_OPT_crc32c;
	o->data_csum = BCH_CSUM_OPT_crc32c;
	o->str_hash = BCH_STR_HASH_OPT_siphash;
	o->meta_replicas = 1;
	o->data_replicas = 1;
}

/* encoded_extent_max upstream defaults to: 64 KiB before 1.29, 256 KiB after */
static unsigned encoded_extent_max(const struct bch_format_opts *o)
{
	return o->version >= BCH_VERSION_1_29 ? 256u << 10 : 64u << 10;
}

unsigned bch_format_min_nbuckets(uint16_t version)
{
	return version >= BCH_VERSION_1_29 ? 512u : 64u;
}

static uint64_t rounddown_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (v >= 2 * p)
		p *= 2;
	return v ? p : 0;
}

static uint64_t roundup_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p *= 2;
	return p;
}

/* the largest logical block size of the devices (4 KiB for image files) */
static uint32_t dev_block_size(const char *path)
{
	struct stat st;
	int fd, bs = 0;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return 4096;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 4096;
	blkid_probe pr = blkid_new_probe();

	if (pr && !blkid_probe_set_device(pr, fd, 0, 0)) {
		blkid_topology tp;

		blkid_probe_enable_topology(pr, 1);
		if (!blkid_do_fullprobe(pr) && (tp = blkid_probe_get_topology(pr)))
			bs = (int)blkid_topology_get_logical_sector_size(tp);
	}
	if (pr)
		blkid_free_probe(pr);
	close(fd);
	return bs >= 512 ? (uint32_t)bs : 4096;
}

/*
 * The filesystem-wide bucket size upstream starts from (c_src/libbcachefs.c):
 * at least a block and a btree node, enough that fsck's in-memory bucket
 * table fits in an eighth of RAM, up to 2 MiB as the filesystem grows to
 * 2 TiB, and before 1.29 at least four encoded extents.
 */
static uint64_t fs_bucket_size(const struct bch_format_opts *o, const struct bch_format_dev *d,
			       unsigned nr)
{
	uint64_t b = o->block_size, total = 0, per_bucket_mem = 24;
	struct sysinfo si;

	if (o->btree_node_size > b)
		b = o->btree_node_size;
	for (unsigned i = 0; i < nr; i++)
		total += d[i].size;
	if (o->version < BCH_VERSION_1_29 && 4ULL * encoded_extent_max(o) > b)
		b = 4ULL * encoded_extent_max(o);
	if (!sysinfo(&si) && si.totalram) {
		uint64_t can = (uint64_t)si.totalram * si.mem_unit / 8 / per_bucket_mem;
		uint64_t mem = can ? roundup_pow2(total / can) : 0;

		if (mem > b)
			b = mem;
	}
	if ((total >> 20 < (2ULL << 20) ? total >> 20 : 2ULL << 20) > b)
		b = total >> 20 < (2ULL << 20) ? total >> 20 : 2ULL << 20;
	return roundup_pow2(b);
}

/* one device's bucket size from the filesystem's (c_src/libbcachefs.c) */
static uint64_t dev_bucket_size(const struct bch_format_opts *o, uint64_t dev_size,
				uint64_t fs_bucket)
{
	unsigned min_nr = bch_format_min_nbuckets(o->version);
	uint64_t max = rounddown_pow2(dev_size / (min_nr * 4));
	uint64_t b;

	if (o->version < BCH_VERSION_1_29)
		return fs_bucket < max ? fs_bucket : max;
	if (o->btree_node_size > max)
		max = o->btree_node_size;
	b = fs_bucket < max ? fs_bucket : max;
	/* 1.29+: small buckets doubled up to 64 KiB while the device keeps 64 of them */
	while (b < (64u << 10) && dev_size / (b * 2) >= min_nr)
		b *= 2;
	return b;
}

/* 1/128 of the device, at least 8 buckets, at most 8192 buckets or 8 GiB (journal/init.c) */
static unsigned journal_buckets(uint64_t nbuckets, uint32_t bucket_bytes)
{
	uint64_t nr = nbuckets >> 7, max = (1ULL << 24) / (bucket_bytes >> 9);

	if (max > 8192)
		max = 8192;
	if (nr > max)
		nr = max;
	if (nr < BCH_JOURNAL_BUCKETS_MIN)
		nr = BCH_JOURNAL_BUCKETS_MIN;
	return (unsigned)nr;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int bch_format_geometry(struct bch_format_opts *o, struct bch_format_dev *devs, unsigned nr,
			struct bch_error *err)
{
	uint64_t fs_bucket;

	if (!nr || nr > BCH_FORMAT_MAX_DEVICES)
		return bch_err(err, BCH_ERR_INVAL, "format takes 1 to %u devices, not %u",
			       BCH_FORMAT_MAX_DEVICES, nr);
	if (o->version != BCH_VERSION_1_28 && o->version != BCH_VERSION_1_36 &&
	    o->version != BCH_VERSION_1_39)
		return bch_err(err, BCH_ERR_INVAL,
			       "format writes metadata version 1.28, 1.36 or 1.39, not %u.%u",
			       BCH_VERSION_MAJOR(o->version), BCH_VERSION_MINOR(o->version));
	if (!o->block_size)
		for (unsigned i = 0; i < nr; i++) {
			uint32_t bs = dev_block_size(devs[i].path);

			if (bs > o->block_size)
				o->block_size = bs;
		}
	/* upstream's block_size option stops short of 64 KiB */
	if (!pow2(o->block_size) || o->block_size < 512 || o->block_size > (32u << 10))
		return bch_err(err, BCH_ERR_INVAL, "block size %u: a power of two from 512 B to 32 KiB",
			       o->block_size);
	if (o->btree_node_size && (!pow2(o->btree_node_size) ||
				   o->btree_node_size < o->block_size ||
				   o->btree_node_size > (1u << 20)))
		return bch_err(err, BCH_ERR_INVAL,
			       "btree node size %u: a power of two from the block size to 1 MiB",
			       o->btree_node_size);
	for (unsigned i = 0; i < nr; i++) {
		uint64_t min = (uint64_t)bch_format_min_nbuckets(o->version) *
			       (o->btree_node_size > o->block_size ? o->btree_node_size : o->block_size);

		if (devs[i].size < min)
			return bch_err(err, BCH_ERR_INVAL,
				       "%s: too small (%llu bytes, at least %llu)", devs[i].path,
				       (unsigned long long)devs[i].size, (unsigned long long)min);
	}
	fs_bucket = fs_bucket_size(o, devs, nr);
	for (unsigned i = 0; i < nr; i++) {
		struct bch_format_dev *d = &devs[i];

		if (!d->bucket_size)
			d->bucket_size = (uint32_t)dev_bucket_size(o, d->size, fs_bucket);
		if (!pow2(d->bucket_size) || d->bucket_size < o->block_size ||
		    d->bucket_size > (8u << 20) ||
		    (o->btree_node_size && d->bucket_size < o->btree_node_size))
			return bch_err(err, BCH_ERR_INVAL,
				       "%s: bucket size %u: a power of two from the block size (and btree node size) to 8 MiB",
				       d->path, d->bucket_size);
		d->nbuckets = d->size / d->bucket_size;
		if (d->nbuckets < bch_format_min_nbuckets(o->version))
			return bch_err(err, BCH_ERR_INVAL, "%s: %llu buckets of %u bytes, at least %u needed",
				       d->path, (unsigned long long)d->nbuckets, d->bucket_size,
				       bch_format_min_nbuckets(o->version));
		d->nr_journal = journal_buckets(d->nbuckets, d->bucket_size);
	}
	if (!o->btree_node_size) {
		o->btree_node_size = 256u << 10;
		for (unsigned i = 0; i < nr; i++)
			if (devs[i].bucket_size < o->btree_node_size)
				o->btree_node_size = devs[i].bucket_size;
	}
	return 0;
}

/* ---- what each device's superblock and journal occupy ---- */

struct meta_bucket {
	uint64_t	bucket;
	uint8_t		data_type;
	uint32_t	sectors;
};

struct dev_meta {
	struct bch_sb_layout	layout;
	struct meta_bucket	*b;	/* sorted by bucket */
	size_t			nr;
	uint64_t		*journal;	/* the journal's buckets, in order */
};

static void dev_meta_free(struct dev_meta *m)
{
	free(m->b);
	free(m->journal);
	memset(m, 0, sizeof(*m));
}

/* sectors of [s, e) in bucket b */
static uint32_t overlap(uint64_t b, uint64_t bs, uint64_t s, uint64_t e)
{
	uint64_t lo = b * bs > s ? b * bs : s, hi = (b + 1) * bs < e ? (b + 1) * bs : e;

	return hi > lo ? (uint32_t)(hi - lo) : 0;
}

/*
 * Superblock buckets: sectors 0..7 and each copy's whole slot, counted
 * per bucket; then the journal in the first buckets after them, as the
 * new-filesystem allocator hands them out.
 */
static int dev_meta_build(const struct bch_format_opts *o, const struct bch_format_dev *d,
			  struct dev_meta *m, struct bch_error *err)
{
	uint64_t bs = d->bucket_size >> 9, dev_sectors = d->nbuckets * bs;
	uint64_t slot = 1ULL << BCH_FORMAT_SB_SIZE_BITS;
	size_t max;

	memset(m, 0, sizeof(*m));
	bch_sb_layout_new(&m->layout, BCH_FORMAT_SB_SIZE_BITS, o->block_size >> 9, (unsigned)bs,
			  dev_sectors);
	max = d->nr_journal + 4;
	for (unsigned i = 0; i < m->layout.nr_superblocks; i++)
		max += slot / bs + 2;
	m->b = calloc(max, sizeof(*m->b));
	m->journal = calloc(d->nr_journal, sizeof(*m->journal));
	if (!m->b || !m->journal) {
		dev_meta_free(m);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	for (uint64_t b = 0; b < d->nbuckets && m->nr < max; b++) {
		uint32_t sectors = overlap(b, bs, 0, BCH_SB_SECTOR);

		for (unsigned i = 0; i < m->layout.nr_superblocks; i++)
			sectors += overlap(b, bs, m->layout.sb_offset[i],
					   m->layout.sb_offset[i] + slot);
		if (sectors) {
			m->b[m->nr++] = (struct meta_bucket){ b, BCH_DATA_sb, sectors };
			continue;
		}
		if (b * bs >= m->layout.sb_offset[1] + slot && m->nr < max) {
			/* past the first two copies: the journal, then jump to the end copy */
			unsigned j = 0;

			for (; j < d->nr_journal && (b + j + 1) * bs <= m->layout.sb_offset[2]; j++) {
				m->journal[j] = b + j;
				m->b[m->nr++] = (struct meta_bucket){ b + j, BCH_DATA_journal,
								      (uint32_t)bs };
			}
			if (j < d->nr_journal)
				break;
			b = m->layout.sb_offset[2] / bs - 1;
		}
	}
	if (!m->nr || m->b[m->nr - 1].data_type != BCH_DATA_sb || !m->journal[d->nr_journal - 1]) {
		dev_meta_free(m);
		return bch_err(err, BCH_ERR_INVAL, "%s: no room for the superblocks and journal",
			       d->path);
	}
	return 0;
}

/* ---- the superblock ---- */

static void set_bits(uint64_t *w, unsigned lo, unsigned hi, uint64_t v)
{
	uint64_t mask = (hi - lo == 64 ? ~0ULL : ((1ULL << (hi - lo)) - 1)) << lo;

	*w = (*w & ~mask) | ((v << lo) & mask);
}

static unsigned ilog2_u64(uint64_t v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

/* superblock checksum type for a checksum option: the "nonzero" variants (checksum.c) */
static unsigned sb_csum_type(unsigned opt)
{
	static const unsigned t[] = { BCH_CSUM_none, BCH_CSUM_crc32c_nonzero,
				      BCH_CSUM_crc64_nonzero, BCH_CSUM_xxhash };

	return opt < 4 ? t[opt] : BCH_CSUM_crc32c_nonzero;
}

/*
 * The incompatible version a new filesystem has in use: v1.36.1 records
 * 1.33 (reconcile); v1.39.2 asks for 1.36 (no_sb_user_data_replicas)
 * when it first opens the filesystem (init/fs.c), nothing newer.
 */
static uint16_t format_incompat(uint16_t version)
{
	if (version >= BCH_VERSION_1_39)
		return BCH_VERSION_1_36;
	return version >= BCH_VERSION_1_29 ? BCH_VERSION(1, 33) : 0;
}

/*
 * flags[0..6] as upstream's format leaves them: its defaults for every
 * option (libbcachefs/opts.h) with what the command line set, the
 * filesystem initialised and clean (bcachefs-format.md §2.4, §36.2).
 */
static void sb_flags(const struct bch_format_opts *o, unsigned nr_devs, uint64_t f[7])
{
	bool v129 = o->version >= BCH_VERSION_1_29;

	memset(f, 0, 7 * sizeof(*f));
	set_bits(&f[0], 0, 1, 1);				/* initialized */
	set_bits(&f[0], 1, 2, 1);				/* clean */
	set_bits(&f[0], 2, 8, sb_csum_type(o->meta_csum));
	set_bits(&f[0], 8, 12, 1);				/* errors=fix_safe */
	set_bits(&f[0], 12, 28, o->btree_node_size >> 9);
	set_bits(&f[0], 28, 33, 8);				/* gc_reserve_percent */
	set_bits(&f[0], 40, 44, o->meta_csum);
	set_bits(&f[0], 44, 48, o->data_csum);
	set_bits(&f[0], 48, 52, o->meta_replicas);
	set_bits(&f[0], 52, 56, o->data_replicas);
	set_bits(&f[0], 56, 57, 1);				/* acl */
	set_bits(&f[0], 63, 64, 1);				/* promote_whole_extents */

	set_bits(&f[1], 0, 4, o->str_hash);
	set_bits(&f[1], 4, 8, o->compression & 15);
	set_bits(&f[1], 8, 9, !v129);				/* inodes_32bit */
	set_bits(&f[1], 10, 14, o->encrypted);			/* encryption_type */
	set_bits(&f[1], 14, 20, ilog2_u64(encoded_extent_max(o) >> 9));
	set_bits(&f[1], 20, 24, 1);				/* metadata_replicas_required */
	set_bits(&f[1], 24, 28, 1);				/* data_replicas_required */

	set_bits(&f[2], 0, 4, o->background_compression & 15);

	set_bits(&f[3], 29, 30, !v129);				/* inodes_use_key_cache */
	set_bits(&f[3], 30, 62, 1000);				/* journal_flush_delay */
	set_bits(&f[3], 63, 64, nr_devs > 1);			/* multi_device */

	set_bits(&f[4], 0, 32, 100);				/* journal_reclaim_delay */
	set_bits(&f[4], 32, 33, 1);				/* journal_transaction_names */
	set_bits(&f[4], 56, 60, o->compression >> 4);
	set_bits(&f[4], 60, 64, o->background_compression >> 4);

	set_bits(&f[5], 0, 16, o->version);			/* version_upgrade_complete */
	set_bits(&f[5], 16, 32, 30);				/* allocator_stuck_timeout */
	set_bits(&f[5], 32, 48, format_incompat(o->version));
	set_bits(&f[5], 48, 64, o->version);			/* incompat allowed */

	set_bits(&f[6], 4, 14, 30);				/* write_error_timeout */
	set_bits(&f[6], 14, 20, 3);				/* checksum_err_retry_nr */
	if (v129)
		set_bits(&f[6], 40, 48, 16);			/* extent backpointer shift */
}

/* feature and compat bits of a new, clean filesystem (as upstream leaves them; 1.39 as 1.36) */
#define FEATURES_1_28	((1ULL << 7) | (1ULL << 9) | (1ULL << 11) | (1ULL << 15) | \
			 (1ULL << 16) | (1ULL << 17) | (1ULL << 18) | (1ULL << 19))
#define FEATURES_1_36	(FEATURES_1_28 | (1ULL << 12) | (1ULL << 13))
#define COMPAT_1_28	0xfULL	/* alloc_info, alloc_metadata, extents_above_btree_updates_done,
				   bformat_overflow_done */
#define COMPAT_1_36	0x1fULL	/* and no_stale_ptrs */

/* counters upstream's superblock has room for */
#define NR_COUNTERS_1_28	92u
#define NR_COUNTERS_1_36	130u
#define NR_COUNTERS_1_39	136u	/* stable ids 0-135 (v1.39.2 sb/counters_format.h) */

static unsigned nr_counters(uint16_t version)
{
	if (version >= BCH_VERSION_1_39)
		return NR_COUNTERS_1_39;
	return version >= BCH_VERSION_1_29 ? NR_COUNTERS_1_36 : NR_COUNTERS_1_28;
}

/*
 * The downgrade table: for each version, the recovery passes (stable ids)
 * and errors a downgrade below it must run and silence. As upstream's
 * sb/downgrade.c writes it for a filesystem of these versions; v1.39.2
 * leaves out the entries older than the incompatible version in use
 * (1.36 on a new filesystem), v1.36.1 kept them all.
 */
struct downgrade_entry {
	uint16_t	version;
	uint64_t	passes;
	uint16_t	nr_errors;
	uint16_t	errors[13];
};

#define PASS_check_allocations		(1ULL << 5)
#define PASS_check_alloc_info		(1ULL << 10)
#define PASS_check_lrus			(1ULL << 11)
#define PASS_check_extents_to_bps	(1ULL << 14)
#define PASS_check_alloc_to_lru_refs	(1ULL << 15)

static const struct downgrade_entry downgrades[] = {
	{ BCH_VERSION(1, 9), PASS_check_allocations, 12,
	  { 76, 77, 78, 68, 69, 70, 71, 72, 74, 73, 75, 80 } },
	{ BCH_VERSION(1, 10), PASS_check_allocations, 13,
	  { 76, 77, 78, 68, 69, 70, 71, 72, 74, 73, 75, 273, 80 } },
	{ BCH_VERSION(1, 12), PASS_check_allocations, 3, { 272, 278, 277 } },
	{ BCH_VERSION(1, 14), PASS_check_extents_to_bps, 3, { 125, 128, 147 } },
	{ BCH_VERSION(1, 15), PASS_check_allocations, 3, { 272, 278, 277 } },
	{ BCH_VERSION(1, 31), PASS_check_allocations, 2, { 272, 307 } },
	{ BCH_VERSION(1, 35), PASS_check_alloc_info | PASS_check_alloc_to_lru_refs, 0, { 0 } },
	/* need_discard_freespace_key_bad, need_discard_key_wrong, ..._to_invalid_dev_bucket */
	{ BCH_VERSION_1_38, PASS_check_alloc_info, 3, { 124, 114, 123 } },
	/* lru_entry_bad, alloc_key_to_missing_lru_entry, accounting_mismatch */
	{ BCH_VERSION_1_39, PASS_check_allocations | PASS_check_lrus | PASS_check_alloc_to_lru_refs,
	  3, { 131, 105, 272 } },
};

static int add_downgrade(struct bch_sb_image *s, uint16_t version, struct bch_error *err)
{
	uint16_t oldest = version >= BCH_VERSION_1_39 ? format_incompat(version) : 0;
	uint8_t buf[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(downgrades) / sizeof(downgrades[0]); i++) {
		const struct downgrade_entry *e = &downgrades[i];

		if (e->version > version || e->version < oldest)
			continue;
		put_le16(buf + n, e->version);
		put_le64(buf + n + 2, e->passes);
		put_le64(buf + n + 10, 0);
		put_le16(buf + n + 18, e->nr_errors);
		n += 20;
		for (unsigned j = 0; j < e->nr_errors; j++, n += 2)
			put_le16(buf + n, e->errors[j]);
	}
	return bch_sb_image_add_field(s, BCH_SB_FIELD_downgrade, buf, n, NULL, err);
}

struct format_ctx {
	struct bch_format_opts	*o;
	struct bch_format_dev	*devs;
	unsigned		nr;
	struct dev_meta		*meta;
	uint8_t			uuid[16];	/* internal */
	uint8_t			(*member_uuid)[16];
	uint64_t		now_ns;
	uint8_t			crypt[128];
	size_t			crypt_bytes;
	struct bch_crypt_key	master;
	uint16_t		*group;		/* disk group + 1 of each device, 0 none */
};

/* a member entry: 144 bytes before 1.29, 224 on 1.36, 328 on 1.39 (sb/members_format.h) */
static size_t member_bytes(uint16_t version)
{
	if (version >= BCH_VERSION_1_39)
		return BCH_MEMBER_BYTES_1_39;
	return version >= BCH_VERSION_1_29 ? BCH_MEMBER_BYTES_MAX : 144;
}

/* the last path component, as much as fits the member's 16 bytes (1.36) */
static void device_name(const char *path, uint8_t out[16])
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	memset(out, 0, 16);
	memcpy(out, base, strnlen(base, 16));
}

static bool dev_rotational(const char *path)
{
	struct stat st;
	char sys[128];
	FILE *f;
	int c;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return true;	/* upstream's answer for an image file */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/queue/rotational",
		 major(st.st_rdev), minor(st.st_rdev));
	f = fopen(sys, "r");
	if (!f)
		return true;
	c = fgetc(f);
	fclose(f);
	return c != '0';
}

static void member_encode(const struct format_ctx *c, unsigned i, uint8_t *m)
{
	const struct bch_format_dev *d = &c->devs[i];
	uint64_t flags = 0;

	memcpy(m + BCH_MEMBER_UUID, c->member_uuid[i], 16);
	put_le64(m + BCH_MEMBER_NBUCKETS, d->nbuckets);
	put_le16(m + BCH_MEMBER_FIRST_BUCKET, 0);
	put_le16(m + BCH_MEMBER_BUCKET_SIZE, (uint16_t)(d->bucket_size >> 9));
	put_le64(m + BCH_MEMBER_LAST_MOUNT, c->now_ns / 1000000000ULL);
	set_bits(&flags, 14, 15, 1);			/* discard */
	set_bits(&flags, 15, 20, (1u << BCH_DATA_journal) | (1u << BCH_DATA_btree) |
				 (1u << BCH_DATA_user));	/* data_allowed */
	set_bits(&flags, 20, 28, c->group[i]);
	set_bits(&flags, 28, 30, 2);			/* durability 1, stored + 1 */
	set_bits(&flags, 30, 31, 1);			/* freespace_initialized */
	if (c->o->version >= BCH_VERSION_1_29) {
		set_bits(&flags, 32, 33, dev_rotational(d->path));
		set_bits(&flags, 33, 34, 1);		/* rotational known */
		device_name(d->path, m + BCH_MEMBER_DEVICE_NAME);
	}
	put_le64(m + BCH_MEMBER_FLAGS, flags);
}

static int add_members(struct format_ctx *c, struct bch_sb_image *s, struct bch_error *err)
{
	size_t mb = member_bytes(c->o->version), len = 8 + mb * c->nr;
	uint8_t *body = calloc(1, len), *v1 = NULL;
	int ret;

	if (!body)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	put_le16(body, (uint16_t)mb);
	for (unsigned i = 0; i < c->nr; i++)
		member_encode(c, i, body + 8 + mb * i);
	ret = bch_sb_image_add_field(s, BCH_SB_FIELD_members_v2, body, len, NULL, err);
	/* before 1.29 upstream also keeps members_v1: the first 56 bytes of each */
	if (!ret && c->o->version < BCH_VERSION_1_29) {
		v1 = calloc(c->nr, BCH_MEMBER_V1_BYTES);
		if (!v1)
			ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
		for (unsigned i = 0; v1 && i < c->nr; i++)
			memcpy(v1 + BCH_MEMBER_V1_BYTES * i, body + 8 + mb * i, BCH_MEMBER_V1_BYTES);
		if (v1)
			ret = bch_sb_image_add_field(s, BCH_SB_FIELD_members_v1, v1,
						     BCH_MEMBER_V1_BYTES * c->nr, NULL, err);
	}
	free(v1);
	free(body);
	return ret;
}

/*
 * disk groups: one per distinct device label, flat: 32-byte label and two
 * flag words; the first says not deleted, every data type allowed
 * (bits 1..5: free, sb, journal, btree, user), parent 0 (§2.8.6)
 */
#define DISK_GROUP_BYTES	48u

static int add_disk_groups(struct format_ctx *c, struct bch_sb_image *s, struct bch_error *err)
{
	uint8_t body[BCH_FORMAT_MAX_DEVICES * DISK_GROUP_BYTES];
	unsigned nr = 0;

	for (unsigned i = 0; i < c->nr; i++) {
		const char *l = c->devs[i].label;
		uint8_t *g;
		unsigned j;

		if (!l || !*l)
			continue;
		for (j = 0; j < nr; j++)
			if (!strncmp((const char *)body + DISK_GROUP_BYTES * j, l, 32))
				break;
		if (j == nr) {
			g = body + DISK_GROUP_BYTES * nr++;
			memset(g, 0, DISK_GROUP_BYTES);
			memcpy(g, l, strnlen(l, 32));
			put_le64(g + 32, 0x1fULL << 1);
		}
		c->group[i] = (uint16_t)(j + 1);
	}
	return nr ? bch_sb_image_add_field(s, BCH_SB_FIELD_disk_groups, body,
					   DISK_GROUP_BYTES * nr, NULL, err) : 0;
}

static int add_journal(const struct format_ctx *c, unsigned dev, struct bch_sb_image *s,
		       struct bch_error *err)
{
	uint8_t body[16];

	/* journal_v2: one range, start and count (§2.8.3) */
	put_le64(body, c->meta[dev].journal[0]);
	put_le64(body + 8, c->devs[dev].nr_journal);
	return bch_sb_image_add_field(s, BCH_SB_FIELD_journal_v2, body, sizeof(body), NULL, err);
}

/*
 * replicas_v0: btree nodes on the devices new nodes go to, and before
 * 1.29 also the journal of each device (a 1.33+ clean superblock has no
 * journal entry). Entries: data type, nr devices, devices.
 */
static int add_replicas(const struct format_ctx *c, struct bch_sb_image *s,
			struct bch_error *err)
{
	uint8_t body[4 * BCH_FORMAT_MAX_DEVICES + 8];
	unsigned n = 0, nr_btree = c->o->meta_replicas < c->nr ? c->o->meta_replicas : c->nr;

	body[n++] = BCH_DATA_btree;
	body[n++] = (uint8_t)nr_btree;
	for (unsigned i = 0; i < nr_btree; i++)
		body[n++] = (uint8_t)i;
	for (unsigned i = 0; c->o->version < BCH_VERSION_1_29 && i < 1; i++) {
		body[n++] = BCH_DATA_journal;
		body[n++] = 1;
		body[n++] = (uint8_t)i;
	}
	return bch_sb_image_add_field(s, BCH_SB_FIELD_replicas_v0, body, n, NULL, err);
}

/* a clean field with no roots: the btrees are empty until the first commit */
static int add_clean(struct bch_sb_image *s, struct bch_error *err)
{
	uint8_t body[16 + 16 + 2 * 24] = { 0 };
	size_t n = 16;

	/* flags 0, journal_seq 0; then usage key_version 0 and both IO clocks at 1 */
	put_le16(body + n, 1);
	body[n + 2] = 2;
	body[n + 4] = BCH_JSET_ENTRY_usage;
	n += 16;
	for (unsigned rw = 0; rw < 2; rw++, n += 24) {
		put_le16(body + n, 2);
		body[n + 4] = BCH_JSET_ENTRY_clock;
		body[n + 8] = (uint8_t)rw;
		put_le64(body + n + 16, 1);
	}
	return bch_sb_image_add_field(s, BCH_SB_FIELD_clean, body, n, NULL, err);
}

/*
 * ext: recovery passes required, errors silenced and btrees that lost
 * data, all zero; v1.39.2 adds flags0 (the options kept there, at their
 * defaults), btrees_lost_data_ever and btrees_clean (bcachefs_format.h,
 * opts.h): 112 bytes, 88 before.
 */
static int add_ext(struct bch_sb_image *s, uint16_t version, struct bch_error *err)
{
	uint8_t ext[112] = { 0 };
	uint64_t flags0 = 0;

	if (version < BCH_VERSION_1_39)
		return bch_sb_image_add_field(s, BCH_SB_FIELD_ext, ext, 88, NULL, err);
	set_bits(&flags0, 0, 20, (2u << 20) >> 9);		/* dev_readahead, sectors */
	set_bits(&flags0, 20, 26, 5);				/* ec_stripe_buf_limit */
	set_bits(&flags0, 26, 38, 10);				/* scrub_journal_max_rewind_secs */
	set_bits(&flags0, 38, 42, 4);				/* journal_rewind_discard_buffer_percent */
	set_bits(&flags0, 42, 49, 2);				/* btree_cache_shrinker_seeks */
	put_le64(ext + 88, flags0);
	return bch_sb_image_add_field(s, BCH_SB_FIELD_ext, ext, sizeof(ext), NULL, err);
}

/* extent entry sizes in u64s, by entry type (1.29+, §36.2) */
static int add_extent_type_u64s(struct bch_sb_image *s, struct bch_error *err)
{
	static const uint8_t u64s[] = { 1, 1, 2, 3, 1, 1, 1, 1, 1 };

	return bch_sb_image_add_field(s, BCH_SB_FIELD_extent_type_u64s, u64s, sizeof(u64s),
				      NULL, err);
}

static int sb_build(struct format_ctx *c, unsigned dev, struct bch_sb_image *s,
		    struct bch_error *err)
{
	const struct bch_format_opts *o = c->o;
	uint64_t flags[7], zero[NR_COUNTERS_1_39] = { 0 };
	uint8_t *b;
	int ret;

	ret = bch_sb_image_init(s, err);
	if (ret)
		return ret;
	b = s->b;
	put_le16(b + BCH_SB_VERSION, o->version);
	put_le16(b + BCH_SB_VERSION_MIN, o->version);
	memcpy(b + BCH_SB_MAGIC, bch_sb_magic_uuid, 16);
	memcpy(b + BCH_SB_UUID, c->uuid, 16);
	memcpy(b + BCH_SB_USER_UUID, o->uuid, 16);
	if (o->label)
		memcpy(b + BCH_SB_LABEL, o->label, strnlen(o->label, 32));
	put_le64(b + BCH_SB_SEQ, 1);
	put_le16(b + BCH_SB_BLOCK_SIZE, (uint16_t)(o->block_size >> 9));
	b[BCH_SB_DEV_IDX] = (uint8_t)dev;
	b[BCH_SB_NR_DEVICES] = (uint8_t)c->nr;
	put_le64(b + BCH_SB_TIME_BASE_LO, c->now_ns);
	put_le32(b + BCH_SB_TIME_PRECISION, 1);
	sb_flags(o, c->nr, flags);
	for (unsigned i = 0; i < 7; i++)
		put_le64(b + BCH_SB_FLAGS + 8 * i, flags[i]);
	put_le64(b + BCH_SB_WRITE_TIME, c->now_ns / 1000000000ULL);
	put_le64(b + BCH_SB_FEATURES, o->version >= BCH_VERSION_1_29 ? FEATURES_1_36 : FEATURES_1_28);
	put_le64(b + BCH_SB_COMPAT, o->version >= BCH_VERSION_1_29 ? COMPAT_1_36 : COMPAT_1_28);
	bch_sb_image_set_layout(s, &c->meta[dev].layout);

	/* the groups first: the members name theirs */
	ret = add_disk_groups(c, s, err) ?:
	      add_members(c, s, err) ?:
	      (c->crypt_bytes ? bch_sb_image_add_field(s, BCH_SB_FIELD_crypt, c->crypt,
						       c->crypt_bytes, NULL, err) : 0) ?:
	      bch_sb_image_add_field(s, BCH_SB_FIELD_counters, zero, 8 * nr_counters(o->version),
				     NULL, err) ?:
	      /* v1.39.2 keeps error counts in errors_v2 only (sb/errors.c) */
	      bch_sb_image_add_field(s, o->version >= BCH_VERSION_1_39 ? BCH_SB_FIELD_errors_v2
								     : BCH_SB_FIELD_errors,
				     NULL, 0, NULL, err) ?:
	      add_ext(s, o->version, err) ?:
	      add_journal(c, dev, s, err) ?:
	      add_downgrade(s, o->version, err) ?:
	      add_replicas(c, s, err) ?:
	      (o->version >= BCH_VERSION_1_29 ? add_extent_type_u64s(s, err) : 0) ?:
	      add_clean(s, err);
	if (ret)
		bch_sb_image_free(s);
	return ret;
}

/* ---- the keys of an empty filesystem ---- */

static int add_key(struct bch_key_updates *u, unsigned btree, struct bpos p, unsigned type,
		   uint32_t size, const void *val, size_t val_bytes, struct bch_error *err)
{
	struct bkey k = { .p = p, .type = (uint8_t)type, .size = size, .val = val,
			  .val_bytes = (uint16_t)val_bytes };

	if (bch_key_updates_add(u, btree, 0, &k))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	return 0;
}

static int add_acct(struct bch_key_updates *u, struct bpos p, unsigned nr, const int64_t *v,
		    struct bch_error *err)
{
	uint8_t val[24];

	for (unsigned i = 0; i < nr; i++)
		put_le64(val + 8 * i, (uint64_t)v[i]);
	return add_key(u, BTREE_ID_accounting, p, KEY_TYPE_accounting, 0, val, 8 * nr, err);
}

/*
 * Per device: an alloc key for each superblock and journal bucket (as
 * the new-filesystem marking leaves them: need_discard and need_inc_gen
 * set, IO times 1), the free buckets between them as freespace extents,
 * and the device's accounting by data type.
 */
static int dev_keys(const struct format_ctx *c, unsigned dev, struct bch_key_updates *u,
		    struct bch_error *err)
{
	const struct dev_meta *m = &c->meta[dev];
	uint64_t bs = c->devs[dev].bucket_size >> 9, next = 0;
	int64_t acct[BCH_DATA_NR][3] = { { 0 } };
	int ret = 0;

	for (size_t i = 0; i <= m->nr && !ret; i++) {
		uint64_t b = i < m->nr ? m->b[i].bucket : c->devs[dev].nbuckets;

		if (b > next) {
			ret = add_key(u, BTREE_ID_freespace, BPOS(dev, b, 0), KEY_TYPE_set,
				      (uint32_t)(b - next), NULL, 0, err);
			acct[BCH_DATA_free][0] += (int64_t)(b - next);
		}
		if (i == m->nr || ret)
			break;
		next = b + 1;

		struct bch_alloc_v4 a = { 0 };
		uint8_t val[BCH_ALLOC_V4_BYTES];

		a.data_type = m->b[i].data_type;
		a.dirty_sectors = m->b[i].sectors;
		a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD | BCH_ALLOC_V4_FLAG_NEED_INC_GEN |
			  8u << BCH_ALLOC_V4_BP_START_SHIFT;
		a.io_time[0] = a.io_time[1] = 1;
		bch_alloc_v4_encode(&a, val);
		ret = add_key(u, BTREE_ID_alloc, BPOS(dev, b, 0), KEY_TYPE_alloc_v4, 0, val,
			      sizeof(val), err);
		bch_acct_bucket(acct, &a, (int64_t)bs, 1);
	}
	for (unsigned t = 0; t < BCH_DATA_NR && !ret; t++)
		if (acct[t][0])
			ret = add_acct(u, bch_acct_dev_data_type_pos(dev, t), 3, acct[t], err);
	return ret;
}

/* ---- putting it together ---- */

/* a random (version 4) UUID, as uuid_generate() makes them */
static void uuid_random(uint8_t u[16])
{
	randombytes_buf(u, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

/* does the device hold something libblkid recognises (a filesystem, a partition table)? */
static int probe_existing(const char *path, char *what, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL;
	int found = 0;

	if (!pr)
		return 0;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	if (!blkid_do_safeprobe(pr)) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL) ||
		    !blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
			snprintf(what, len, "%s", type);
			found = 1;
		}
	}
	blkid_free_probe(pr);
	return found;
}

/*
 * A bcachefs superblock at sector 8 (libblkid before 2.39 does not know
 * bcachefs): the primary copy's magic, either bcachefs's or bcache's.
 */
static bool has_bcachefs_sb(struct bch_io *io)
{
	uint8_t magic[16];
	struct bch_error e = { 0 };

	if (io->size < BCH_SB_SECTOR * 512 + BCH_SB_MAGIC + 16 ||
	    bch_io_read(io, BCH_SB_SECTOR * 512 + BCH_SB_MAGIC, magic, 16, &e))
		return false;
	return !memcmp(magic, bch_sb_magic_uuid, 16) || !memcmp(magic, bcache_sb_magic_uuid, 16);
}

/* the same file or block device named twice (a hard link or a second name included) */
static int refuse_duplicates(const struct format_ctx *c, struct bch_error *err)
{
	for (unsigned i = 0; i < c->nr; i++) {
		struct stat a, b;

		if (stat(c->devs[i].path, &a))
			continue;	/* the open says why */
		for (unsigned j = 0; j < i; j++) {
			bool blk = S_ISBLK(a.st_mode);

			if (stat(c->devs[j].path, &b) || S_ISBLK(b.st_mode) != blk)
				continue;
			if (blk ? a.st_rdev == b.st_rdev : a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				return bch_err(err, BCH_ERR_INVAL, "%s and %s are the same device",
					       c->devs[j].path, c->devs[i].path);
		}
	}
	return 0;
}

static int open_devices(struct format_ctx *c, struct bch_io **io, struct bch_error *err)
{
	int ret = refuse_duplicates(c, err);

	if (ret)
		return ret;
	for (unsigned i = 0; i < c->nr; i++) {
		struct bch_format_dev *d = &c->devs[i];
		char what[64];
		int ret;

		if (!c->o->force && probe_existing(d->path, what, sizeof(what)))
			return bch_err(err, BCH_ERR_INVAL,
				       "%s holds a filesystem or partition table (%s); --force overwrites it",
				       d->path, what);
		ret = bch_io_open_unix(d->path, BCH_IO_WRITE, &io[i], err);
		if (ret)
			return ret;
		if (!c->o->force && has_bcachefs_sb(io[i]))
			return bch_err(err, BCH_ERR_INVAL,
				       "%s holds a bcachefs superblock; --force overwrites it", d->path);
		if (!d->size || d->size > io[i]->size)
			d->size = io[i]->size;
	}
	return 0;
}

/* zero the journal buckets, so nothing of an earlier filesystem is read as ours */
static int zero_journal(const struct format_ctx *c, unsigned dev, struct bch_io *io,
			struct bch_error *err)
{
	size_t len = c->devs[dev].bucket_size;
	uint8_t *z = calloc(1, len);
	int ret = 0;

	if (!z)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (unsigned j = 0; j < c->devs[dev].nr_journal && !ret; j++)
		ret = bch_io_write(io, c->meta[dev].journal[j] * len, z, len, err);
	free(z);
	return ret;
}

static int write_superblocks(struct format_ctx *c, struct bch_io **io, struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < c->nr && !ret; i++) {
		struct bch_sb_image s;

		ret = sb_build(c, i, &s, err);
		if (ret)
			break;
		ret = zero_journal(c, i, io[i], err) ?:
		      bch_sb_image_write(io[i], &s, sb_csum_type(c->o->meta_csum), err) ?:
		      (io[i]->ops->flush ? io[i]->ops->flush(io[i], err) : 0);
		bch_sb_image_free(&s);
	}
	return ret;
}

static int initial_keys(struct format_ctx *c, struct bch_fs *fs, struct bch_key_updates *u,
			struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < c->nr && !ret; i++)
		ret = dev_keys(c, i, u, err);
	if (!ret)
		ret = bch_format_fs_keys(fs, c->now_ns, u, err);
	return ret;
}

static int commit_keys(struct format_ctx *c, struct bch_format_result *res,
		       struct bch_error *err)
{
	char **paths = calloc(c->nr, sizeof(*paths));
	struct bch_fs_opts fo = { .write = true, .passphrase = c->o->passphrase,
				  .passphrase_len = c->o->passphrase_len };
	struct bch_key_updates u = { 0 };
	struct bch_btree_commit_info info;
	bool rebuild[BTREE_ID_NR_MAX] = { false };
	struct bch_fs *fs = NULL;
	int ret;

	if (!paths)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < c->nr; i++)
		paths[i] = (char *)c->devs[i].path;
	ret = bch_fs_open(paths, c->nr, &fo, &fs, err);
	if (ret)
		goto out;
	ret = initial_keys(c, fs, &u, err);
	if (ret)
		goto out;
	/* every btree given keys is written whole from them */
	for (size_t i = 0; i < u.nr; i++)
		rebuild[u.v[i].btree_id] = true;
	ret = bch_commit_btrees(fs, &u, rebuild, NULL, NULL, &info, err);
	if (!ret) {
		res->nr_keys = info.keys_written;
		res->nr_nodes = info.nr_nodes;
	}
out:
	bch_key_updates_free(&u);
	if (fs)
		bch_fs_close(fs);
	free(paths);
	return ret;
}

int bch_format(struct bch_format_opts *o, struct bch_format_dev *devs, unsigned nr,
	       struct bch_format_result *res, struct bch_error *err)
{
	struct format_ctx c = { .o = o, .devs = devs, .nr = nr };
	struct bch_io **io = calloc(nr ? nr : 1, sizeof(*io));
	struct timespec ts;
	int ret;

	memset(res, 0, sizeof(*res));
	c.meta = calloc(nr ? nr : 1, sizeof(*c.meta));
	c.member_uuid = calloc(nr ? nr : 1, 16);
	c.group = calloc(nr ? nr : 1, sizeof(*c.group));
	if (!io || !c.meta || !c.member_uuid || !c.group) {
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (sodium_init() < 0) {
		ret = bch_err(err, BCH_ERR_IO, "libsodium did not initialise");
		goto out;
	}
	ret = open_devices(&c, io, err) ?: bch_format_geometry(o, devs, nr, err);
	if (ret)
		goto out;
	for (unsigned i = 0; i < nr && !ret; i++)
		ret = dev_meta_build(o, &devs[i], &c.meta[i], err);
	if (ret)
		goto out;

	clock_gettime(CLOCK_REALTIME, &ts);
	c.now_ns = o->now_ns ? o->now_ns : (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (!o->uuid_set)
		uuid_random(o->uuid);
	uuid_random(c.uuid);
	for (unsigned i = 0; i < nr; i++)
		uuid_random(c.member_uuid[i]);
	if (o->encrypted) {
		uint8_t field[BCH_SB_CRYPT_FIELD_BYTES];

		/* the key is wrapped with a nonce from the internal UUID's first 8 bytes */
		ret = bch_sb_crypt_field_build(o->passphrase, o->passphrase_len, get_le64(c.uuid),
					       field, sizeof(field), &c.master, err);
		if (ret)
			goto out;
		c.crypt_bytes = sizeof(field) - 8;
		memcpy(c.crypt, field + 8, c.crypt_bytes);
	}
	ret = write_superblocks(&c, io, err);
	for (unsigned i = 0; i < nr; i++)
		if (io[i]) {
			io[i]->ops->close(io[i]);
			io[i] = NULL;
		}
	if (!ret)
		ret = commit_keys(&c, res, err);
	if (!ret)
		memcpy(res->uuid, o->uuid, 16);
out:
	for (unsigned i = 0; io && i < nr; i++)
		if (io[i])
			io[i]->ops->close(io[i]);
	for (unsigned i = 0; c.meta && i < nr; i++)
		dev_meta_free(&c.meta[i]);
	free(c.meta);
	free(c.member_uuid);
	free(c.group);
	free(io);
	sodium_memzero(&c.master, sizeof(c.master));
	return ret;
}
