/*
 * mkimage: a consistent bcachefs image of a chosen size, made quickly on
 * sparse files (bench/README.md). bch_format() writes the empty
 * filesystem; then regular files in the root directory, their extents,
 * and for every bucket the extents fill its alloc key, backpointers,
 * fragmentation LRU entry and accounting are committed in batches
 * through the library's btree writer (commit.h). Data is never written:
 * the extents carry no checksum (data_checksum none) and read as holes.
 * The dirents go with the first batch; a final commit rebuilds the
 * freespace btree from the alloc keys. Findings can be injected at known places (--inject);
 * what was injected where goes to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "backpointers.h"
#include "bkey.h"
#include "btree_alloc.h"
#include "btree_iter.h"
#include "btree_lookup.h"
#include "buckets.h"
#include "check_buckets.h"
#include "commit.h"
#include "dirents.h"
#include "extents.h"
#include "format.h"
#include "format_fs.h"
#include "fs.h"
#include "inode.h"
#include "io.h"
#include "journal_write.h"
#include "key_updates.h"
#include "lru.h"
#include "sb_build.h"
#include "sb_fields.h"
#include "str_hash.h"
#include "super.h"

#define MAX_DEVS		8u
#define MAX_INJECT		16u
#define BLOCK_SECTORS		8u		/* 4 KiB blocks: format's choice for files */
#define S_IFREG_BITS		0100000u
#define DT_REG_TYPE		8u

static const char *prog = "mkimage";

/* ---- options ---- */

enum inject_kind { INJ_MISSING_BP, INJ_LRU_PAST_END, INJ_ALLOC_SECTORS };

static const char * const inject_names[] = { "missing-bp", "lru-past-end", "alloc-sectors" };

struct inject {
	enum inject_kind	kind;
	bool			at;		/* a place was given */
	unsigned		dev;
	uint64_t		bucket;
	bool			has_value;
	uint64_t		value;		/* alloc-sectors: dirty_sectors to store */
	bool			done;
	uint32_t		true_sectors;	/* alloc-sectors: what the bucket holds */
	unsigned		nr_bps;		/* missing-bp: backpointers left out */
};

struct opts {
	unsigned	nr_devs;
	uint64_t	buckets;		/* total, over all devices */
	uint32_t	bucket_size;		/* bytes */
	uint64_t	extents;
	uint64_t	files;			/* 0: extents / 128 */
	uint64_t	batch;			/* extents per commit */
	unsigned	partial;		/* one bucket in P left part full; 0 none */
	uint16_t	version;
	uint64_t	seed;
	bool		keep_discarded;		/* do not punch need_discard buckets */
	bool		quiet;
	struct inject	inj[MAX_INJECT];
	unsigned	nr_inj;
	char		*paths[MAX_DEVS];
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: %s [OPTION]... IMAGE [IMAGE...]\n"
"Make a consistent bcachefs image on sparse files, without writing data.\n"
"  --devices=N          devices (1-8); with one IMAGE the others are IMAGE.devK\n"
"                       (NAME.img -> NAME.devK.img)\n"
"  --buckets=N          buckets in all (split evenly over the devices; 1e7 works)\n"
"  --bucket-size=SIZE   bucket size in bytes, k/M suffix (default 64k)\n"
"  --extents=N          extents in all (default: as many as buckets)\n"
"  --files=N            regular files in the root directory (default extents/128)\n"
"  --batch=N            extents per commit (default 1000000)\n"
"  --partial=P          one bucket in P only part full (default 8; 0: none)\n"
"  --version=1.28|1.36  metadata version (default 1.28)\n"
"  --seed=N             seed of every choice made here (default 1)\n"
"  --inject=KIND[@WHERE] a finding at a known place (repeatable):\n"
"      missing-bp[@DEV:BUCKET]          no backpointers for one data bucket\n"
"      lru-past-end[@DEV]               fragmentation LRU entry at bucket nbuckets\n"
"      alloc-sectors[@DEV:BUCKET[=N]]   alloc key with wrong dirty_sectors\n"
"  --keep-discarded     do not punch holes over need_discard buckets\n"
"  -q, --quiet          no progress on stderr\n", prog);
}

/* 123, 1e7, 64k, 2M, 1G */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || d < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': d *= 1024; end++; break;
	case 'm': case 'M': d *= 1024 * 1024; end++; break;
	case 'g': case 'G': d *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end || d >= 1.8e19 || d != (double)(uint64_t)d)
		return -1;
	*out = (uint64_t)d;
	return 0;
}

static int parse_inject(const char *s, struct inject *in)
{
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);
	unsigned k;

	memset(in, 0, sizeof(*in));
	for (k = 0; k < 3; k++)
		if (strlen(inject_names[k]) == n && !strncmp(s, inject_names[k], n))
			break;
	if (k == 3)
		return -1;
	in->kind = (enum inject_kind)k;
	if (!at)
		return 0;
	in->at = true;
	at++;
	if (in->kind == INJ_LRU_PAST_END) {
		char *end;

		in->dev = (unsigned)strtoul(at, &end, 10);
		return *end ? -1 : 0;
	}
	unsigned long long b, v;
	int used = 0;

	if (sscanf(at, "%u:%llu%n", &in->dev, &b, &used) != 2)
		return -1;
	in->bucket = b;
	at += used;
	if (*at == '=' && in->kind == INJ_ALLOC_SECTORS && sscanf(at + 1, "%llu%n", &v, &used) == 1 &&
	    !at[1 + used]) {
		in->has_value = true;
		in->value = v;
		return 0;
	}
	return *at ? -1 : 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "devices", 1, NULL, 'd' }, { "buckets", 1, NULL, 'b' },
		{ "bucket-size", 1, NULL, 'B' }, { "extents", 1, NULL, 'e' },
		{ "files", 1, NULL, 'f' }, { "batch", 1, NULL, 'n' },
		{ "partial", 1, NULL, 'p' }, { "version", 1, NULL, 'V' },
		{ "seed", 1, NULL, 's' }, { "inject", 1, NULL, 'i' },
		{ "keep-discarded", 0, NULL, 'k' }, { "quiet", 0, NULL, 'q' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, nr_paths;

	memset(o, 0, sizeof(*o));
	o->nr_devs = 1;
	o->buckets = 100000;
	o->bucket_size = 64u << 10;
	o->batch = 1000000;
	o->partial = 8;
	o->version = BCH_VERSION_1_28;
	o->seed = 1;
	while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quiet = true;
			continue;
		case 'k':
			o->keep_discarded = true;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			if (!strcmp(optarg, "1.28"))
				o->version = BCH_VERSION_1_28;
			else if (!strcmp(optarg, "1.36"))
				o->version = BCH_VERSION_1_36;
			else
				goto bad;
			continue;
		case 'i':
			if (o->nr_inj == MAX_INJECT || parse_inject(optarg, &o->inj[o->nr_inj]))
				goto bad;
			o->nr_inj++;
			continue;
		case '?':
			usage(stderr);
			return -1;
		}
		if (parse_size(optarg, &v))
			goto bad;
		switch (c) {
		case 'd': o->nr_devs = (unsigned)v; break;
		case 'b': o->buckets = v; break;
		case 'B': o->bucket_size = (uint32_t)v; break;
		case 'e': o->extents = v; break;
		case 'f': o->files = v; break;
		case 'n': o->batch = v; break;
		case 'p': o->partial = (unsigned)v; break;
		case 's': o->seed = v; break;
		}
	}
	nr_paths = argc - optind;
	if (nr_paths < 1 || !o->nr_devs || o->nr_devs > MAX_DEVS ||
	    (nr_paths > 1 && (unsigned)nr_paths != o->nr_devs && o->nr_devs != 1) ||
	    (unsigned)nr_paths > MAX_DEVS) {
		fprintf(stderr, "%s: give one IMAGE, or one per device (1 to %u)\n", prog, MAX_DEVS);
		usage(stderr);
		return -1;
	}
	if (nr_paths > 1)
		o->nr_devs = (unsigned)nr_paths;
	/* upstream 1.36 refuses devices of fewer than 512 buckets */
	if (o->buckets / o->nr_devs < 512) {
		fprintf(stderr, "%s: at least 512 buckets per device\n", prog);
		return -1;
	}
	for (unsigned i = 0; i < o->nr_devs; i++) {
		const char *p = argv[optind + (nr_paths > 1 ? i : 0)];
		size_t n = strlen(p);

		o->paths[i] = malloc(n + 16);
		if (!o->paths[i])
			return -1;
		if (!i || nr_paths > 1)
			strcpy(o->paths[i], p);
		else if (n > 4 && !strcmp(p + n - 4, ".img"))
			sprintf(o->paths[i], "%.*s.dev%u.img", (int)(n - 4), p, i);
		else
			sprintf(o->paths[i], "%s.dev%u", p, i);
	}
	if (!o->extents)
		o->extents = o->buckets;
	if (!o->files)
		o->files = (o->extents + 127) / 128;
	if (o->files > o->extents)
		o->files = o->extents;
	if (!o->batch)
		o->batch = 1;
	return 0;
bad:
	fprintf(stderr, "%s: bad option or value%s%s\n", prog, optarg ? ": " : "",
		optarg ? optarg : "");
	usage(stderr);
	return -1;
}

/* ---- small helpers ---- */

static uint64_t rng_state;

/* xorshift64*: every choice made here follows from --seed */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die_nomem(struct bch_error *err)
{
	return bch_err(err, BCH_ERR_NOMEM, "out of memory");
}

static int add_key(struct bch_key_updates *u, unsigned btree, const struct bkey *k,
		   struct bch_error *err)
{
	return bch_key_updates_add(u, btree, 0, k) ? die_nomem(err) : 0;
}

static int add_set(struct bch_key_updates *u, unsigned btree, struct bpos p, uint32_t size,
		   struct bch_error *err)
{
	struct bkey k = { .p = p, .type = KEY_TYPE_set, .size = size };

	return add_key(u, btree, &k, err);
}

static int add_acct(struct bch_key_updates *u, struct bpos p, unsigned nr, const int64_t *v,
		    struct bch_error *err)
{
	uint8_t val[24];
	struct bkey k = { .p = p, .type = KEY_TYPE_accounting, .val = val,
			  .val_bytes = (uint16_t)(8 * nr) };
	bool zero = true;

	for (unsigned i = 0; i < nr; i++) {
		put_le64(val + 8 * i, (uint64_t)v[i]);
		zero &= !v[i];
	}
	return zero ? 0 : add_key(u, BTREE_ID_accounting, &k, err);
}

#define ACCT_NR_INODES	0u
#define ACCT_SNAPSHOT	5u
#define ACCT_INUM	8u

static struct bpos acct_snapshot_pos(uint32_t id)
{
	uint8_t s[20] = { ACCT_SNAPSHOT };

	put_le32(s + 1, id);
	return bch_acct_pos(s);
}

static struct bpos acct_inum_pos(uint64_t inum)
{
	uint8_t s[20] = { ACCT_INUM };

	put_le64(s + 1, inum);
	return bch_acct_pos(s);
}

/* ---- the superblock: user data replicas entries ---- */

struct repl_entry {
	uint8_t		b[3 + MAX_DEVS];	/* data type, nr_devs, nr_required, devs */
};

static int cmp_repl(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct repl_entry));
}

/* sorted entries laid out in the Eytzinger order the field keeps them in */
static void eytzinger(const struct repl_entry *sorted, size_t n, size_t i, size_t *next,
		      struct repl_entry *out)
{
	if (i >= n)
		return;
	eytzinger(sorted, n, 2 * i + 1, next, out);
	out[i] = sorted[(*next)++];
	eytzinger(sorted, n, 2 * i + 2, next, out);
}

/*
 * The replicas_v0 field of a new filesystem lists btree (and journal)
 * entries only; user data on device d needs {user, 1, [d]} there, as
 * upstream marks it before the first write (checked by its fsck:
 * accounting_replicas_not_marked). Written into every superblock copy
 * of each device before the filesystem is opened.
 */
static int sb_mark_user_replicas(char **paths, unsigned nr, struct bch_error *err)
{
	for (unsigned d = 0; d < nr; d++) {
		struct repl_entry e[64], laid[64];
		struct bch_sb_image img;
		struct bch_replicas_entry r;
		struct bch_io *io = NULL;
		struct bch_sb sb;
		size_t n = 0, pos = 0, next = 0, blen = 0;
		uint8_t body[64 * (2 + MAX_DEVS)];
		int ret;

		memset(e, 0, sizeof(e));
		ret = bch_dev_read_sb(paths[d], NULL, &sb, err);
		if (ret)
			return ret;
		const struct bch_sb_field_ref *f = bch_sb_field_get(&sb, BCH_SB_FIELD_replicas_v0);

		while (f && n < 64 - nr && (ret = bch_sb_replicas_next(f->p, f->bytes, true, &pos, &r)) > 0) {
			e[n].b[0] = r.data_type;
			e[n].b[1] = r.nr_devs;
			e[n].b[2] = r.nr_required;
			memcpy(e[n].b + 3, r.devs, r.nr_devs < MAX_DEVS ? r.nr_devs : MAX_DEVS);
			n++;
		}
		for (unsigned i = 0; i < nr; i++) {
			e[n].b[0] = BCH_DATA_user;
			e[n].b[1] = 1;
			e[n].b[2] = 1;
			e[n].b[3] = (uint8_t)i;
			n++;
		}
		qsort(e, n, sizeof(*e), cmp_repl);
		eytzinger(e, n, 0, &next, laid);
		for (size_t i = 0; i < n; i++) {
			body[blen++] = laid[i].b[0];
			body[blen++] = laid[i].b[1];
			memcpy(body + blen, laid[i].b + 3, laid[i].b[1]);
			blen += laid[i].b[1];
		}

		ret = bch_sb_image_init(&img, err);
		if (ret) {
			bch_sb_free(&sb);
			return ret;
		}
		memcpy(img.b, sb.bytes, BCH_SB_HEADER_BYTES);
		for (unsigned i = 0; i < sb.nr_fields && !ret; i++) {
			const struct bch_sb_field_ref *g = &sb.fields[i];

			if (g->type == BCH_SB_FIELD_replicas_v0)
				ret = bch_sb_image_add_field(&img, g->type, body, blen, NULL, err);
			else
				ret = bch_sb_image_add_field(&img, g->type, g->p + 8, g->bytes - 8,
							     NULL, err);
		}
		if (!f && !ret)
			ret = bch_sb_image_add_field(&img, BCH_SB_FIELD_replicas_v0, body, blen, NULL,
						     err);
		ret = ret ?: bch_io_open_unix(paths[d], BCH_IO_WRITE, &io, err) ?:
		      bch_sb_image_write(io, &img, (unsigned)bits64(sb.flags[0], 2, 8), err);
		if (io)
			bch_io_close(io);
		bch_sb_image_free(&img);
		bch_sb_free(&sb);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the plan: files, extents, buckets ---- */

struct dev_state {
	uint64_t	nbuckets;
	uint64_t	cursor;		/* next candidate bucket, counting down */
	bool		open;
	uint64_t	bucket;		/* the bucket being filled */
	unsigned	nr_ext, ext_sectors, placed;
	bool		no_bps;		/* missing-bp injected here */
	int		alloc_inj;	/* index of an alloc-sectors injection, or -1 */
	uint64_t	data_buckets;
	uint64_t	sectors;
};

struct gen {
	struct opts	*o;
	struct bch_fs	*fs;
	struct bch_lookup_cache lc;
	bool		lc_on;
	struct bch_key_updates u;

	unsigned	bucket_sectors;
	unsigned	ext_sectors;	/* of a full bucket's extents */
	unsigned	per_bucket;	/* extents in a full bucket */
	uint64_t	first_inum;	/* of the first file */
	uint64_t	lf_offset;	/* lost+found's dirent offset */
	struct bch_hash_info root_hash;
	unsigned	hash_type;
	uint64_t	*dirent_off;	/* per file */

	struct dev_state dev[MAX_DEVS];
	unsigned	rr;		/* device the next bucket is opened on */
	uint64_t	buckets_opened;
	uint64_t	auto_bucket;	/* opened bucket number auto injections use */

	/* this batch */
	uint64_t	seq, clock_r, clock_w, now;
	int64_t		acct[MAX_DEVS][BCH_DATA_NR][3];
	int64_t		repl[MAX_DEVS];
	int64_t		snap_sectors, nr_inodes;

	/* totals */
	uint64_t	keys, nodes, commits;
	double		t_build, t_commit;
};

/* is there an alloc key at dev:b (a bucket in use, the superblock's or the journal's)? */
static int bucket_has_alloc(struct gen *g, unsigned dev, uint64_t b, bool *has,
			    struct bch_error *err)
{
	struct bkey k;
	int ret = bch_lookup_next(&g->lc, BTREE_ID_alloc, BPOS(dev, b, 0), BPOS(dev, b, 0), &k, err);

	*has = ret > 0;
	return ret < 0 ? ret : 0;
}

/* the injection of this kind due in the bucket being opened (auto ones: one bucket each) */
static struct inject *find_inject(struct gen *g, enum inject_kind kind, unsigned dev, uint64_t b)
{
	for (unsigned i = 0; i < g->o->nr_inj; i++) {
		struct inject *in = &g->o->inj[i];

		if (in->kind != kind || in->done)
			continue;
		if (in->at ? in->dev == dev && in->bucket == b
			   : g->buckets_opened == g->auto_bucket + kind) {
			in->dev = dev;
			in->bucket = b;
			return in;
		}
	}
	return NULL;
}

/* the next free bucket of dev, from the top of the device down */
static int open_bucket(struct gen *g, unsigned d, struct bch_error *err)
{
	struct dev_state *s = &g->dev[d];
	struct inject *in;
	bool has;
	int ret;

	while (1) {
		if (s->cursor == UINT64_MAX || s->cursor < 1)
			return bch_err(err, BCH_ERR_RANGE,
				       "device %u is full: fewer extents or more buckets", d);
		ret = bucket_has_alloc(g, d, s->cursor, &has, err);
		if (ret)
			return ret;
		if (!has)
			break;
		s->cursor--;
	}
	s->bucket = s->cursor--;
	s->open = true;
	s->placed = 0;
	s->nr_ext = g->per_bucket;
	s->ext_sectors = g->ext_sectors;
	/* some buckets left part full: fewer extents, or one smaller extent */
	if (g->o->partial && !(rnd() % g->o->partial)) {
		if (g->per_bucket > 1)
			s->nr_ext = (g->per_bucket + 1) / 2;
		else if (g->ext_sectors >= 2 * BLOCK_SECTORS)
			s->ext_sectors = g->ext_sectors / 2;
	}
	in = find_inject(g, INJ_MISSING_BP, d, s->bucket);
	s->no_bps = in != NULL;
	if (in)
		in->done = true;
	in = find_inject(g, INJ_ALLOC_SECTORS, d, s->bucket);
	s->alloc_inj = in ? (int)(in - g->o->inj) : -1;
	if (in)
		in->done = true;
	g->buckets_opened++;
	return 0;
}

/* a filled (or, at the end of a batch, part filled) bucket: alloc key, LRU, accounting */
static int close_bucket(struct gen *g, unsigned d, struct bch_error *err)
{
	struct dev_state *s = &g->dev[d];
	struct bch_alloc_v4 a = { 0 }, free_a = { 0 }, stored;
	uint8_t val[BCH_ALLOC_V4_BYTES];
	struct bkey k = { .p = BPOS(d, s->bucket, 0), .type = KEY_TYPE_alloc_v4, .val = val,
			  .val_bytes = sizeof(val) };
	uint64_t lru;
	int ret;

	if (!s->open)
		return 0;
	s->open = false;
	if (!s->placed)
		return 0;	/* never used: stays free */
	/* a bucket going from free to user data, as upstream's alloc trigger leaves it */
	a.data_type = BCH_DATA_user;
	a.dirty_sectors = s->placed * s->ext_sectors;
	a.flags = BCH_ALLOC_V4_FLAG_NEED_DISCARD | BCH_ALLOC_V4_FLAG_NEED_INC_GEN |
		  BCH_ALLOC_V4_U64S << BCH_ALLOC_V4_BP_START_SHIFT;
	a.io_time[BCH_IO_TIME_READ] = g->clock_r;
	a.io_time[BCH_IO_TIME_WRITE] = g->clock_w;
	a.journal_seq_nonempty = g->seq;
	stored = a;
	if (s->alloc_inj >= 0) {
		struct inject *in = &g->o->inj[s->alloc_inj];

		in->true_sectors = a.dirty_sectors;
		if (!in->has_value)
			in->value = a.dirty_sectors < g->bucket_sectors ? a.dirty_sectors + BLOCK_SECTORS
									: a.dirty_sectors - BLOCK_SECTORS;
		stored.dirty_sectors = (uint32_t)in->value;
	}
	bch_alloc_v4_encode(&stored, val);
	ret = add_key(&g->u, BTREE_ID_alloc, &k, err);
	lru = bch_alloc_lru_idx_fragmentation(&a, g->bucket_sectors);
	if (!ret && lru)
		ret = add_set(&g->u, BTREE_ID_lru, bch_lru_pos(BCH_LRU_FRAGMENTATION, lru, d, s->bucket),
			      0, err);
	bch_acct_bucket(g->acct[d], &free_a, g->bucket_sectors, -1);
	bch_acct_bucket(g->acct[d], &a, g->bucket_sectors, 1);
	s->data_buckets++;
	g->rr = (d + 1) % g->o->nr_devs;
	return ret;
}

/* one extent of the file inum ending at offset end (sectors): placed, keyed, backpointed */
static int add_extent(struct gen *g, uint64_t inum, uint64_t *offset, struct bch_error *err)
{
	unsigned d = g->rr;
	struct dev_state *s = &g->dev[d];
	uint8_t val[BCH_EXTENT_VAL_MAX_BYTES(1)], bpval[BCH_BACKPOINTER_BYTES];
	struct bch_extent_ptr ptr = { .dev = (uint8_t)d };
	struct bch_extent_desc desc = { .nr_ptrs = 1, .ptrs = &ptr };
	struct bkey k;
	int ret;

	if (!s->open) {
		ret = open_bucket(g, d, err);
		if (ret)
			return ret;
	}
	ptr.offset = s->bucket * g->bucket_sectors + (uint64_t)s->placed * s->ext_sectors;
	*offset += s->ext_sectors;
	desc.pos = BPOS(inum, *offset, BCH_ROOT_SNAPSHOT);
	desc.size = s->ext_sectors;
	ret = bch_extent_key_build(&desc, val, sizeof(val), &k, err) ?:
	      add_key(&g->u, BTREE_ID_extents, &k, err);
	if (ret)
		return ret;
	if (!s->no_bps) {
		struct bch_backpointer bp = {
			.btree_id = BTREE_ID_extents, .data_type = BCH_DATA_user,
			.bucket_len = s->ext_sectors, .pos = desc.pos,
		};
		struct bkey b = { .p = bch_ptr_to_bp_pos(d, ptr.offset, 0, g->fs->bp_shift),
				  .type = KEY_TYPE_backpointer, .val = bpval,
				  .val_bytes = sizeof(bpval) };

		bch_backpointer_encode(bpval, &bp);
		ret = add_key(&g->u, BTREE_ID_backpointers, &b, err);
	} else {
		for (unsigned i = 0; i < g->o->nr_inj; i++)
			if (g->o->inj[i].kind == INJ_MISSING_BP && g->o->inj[i].done &&
			    g->o->inj[i].dev == d && g->o->inj[i].bucket == s->bucket)
				g->o->inj[i].nr_bps++;
	}
	g->repl[d] += s->ext_sectors;
	g->snap_sectors += s->ext_sectors;
	s->sectors += s->ext_sectors;
	if (++s->placed == s->nr_ext)
		ret = close_bucket(g, d, err);
	return ret;
}

static int add_file(struct gen *g, uint64_t idx, uint64_t nr_ext, struct bch_error *err)
{
	uint64_t inum = g->first_inum + idx, sectors = 0;
	struct bch_inode_unpacked in = { 0 };
	uint8_t val[BCH_INODE_V3_MAX_BYTES];
	size_t bytes;
	int ret = 0;

	for (uint64_t e = 0; e < nr_ext && !ret; e++)
		ret = add_extent(g, inum, &sectors, err);
	if (ret)
		return ret;
	/* a regular file as upstream's create leaves it, one link, in the root */
	in.bi_inum = inum;
	in.bi_snapshot = BCH_ROOT_SNAPSHOT;
	in.bi_journal_seq = g->seq;
	in.bi_mode = (uint16_t)(S_IFREG_BITS | 0644);
	bch_inode_set_str_hash(&in, g->hash_type);
	in.bi_hash_seed = rnd();
	in.bi_size = sectors << 9;
	in.bi_sectors = sectors;
	in.bi_atime = in.bi_ctime = in.bi_mtime = in.bi_otime = g->now;
	in.bi_dir = BCH_ROOT_INO;
	in.bi_dir_offset = g->dirent_off[idx];
	if (bch_inode_pack(&in, val, sizeof(val), &bytes))
		return bch_err(err, BCH_ERR_INVAL, "inode %" PRIu64 " does not pack", inum);
	struct bkey k = { .p = BPOS(0, inum, BCH_ROOT_SNAPSHOT), .type = KEY_TYPE_inode_v3,
			  .val = val, .val_bytes = (uint16_t)bytes };
	int64_t acct[3] = { (int64_t)nr_ext, (int64_t)sectors, (int64_t)sectors };

	g->nr_inodes++;
	return add_key(&g->u, BTREE_ID_inodes, &k, err) ?:
	       add_acct(&g->u, acct_inum_pos(inum), 3, acct, err);
}

/* the batch's accounting deltas */
static int add_batch_acct(struct gen *g, struct bch_error *err)
{
	int ret = 0;

	for (unsigned d = 0; d < g->o->nr_devs && !ret; d++) {
		uint8_t dev = (uint8_t)d;

		for (unsigned t = 0; t < BCH_DATA_NR && !ret; t++)
			ret = add_acct(&g->u, bch_acct_dev_data_type_pos(d, t), 3, g->acct[d][t], err);
		ret = ret ?: add_acct(&g->u, bch_acct_replicas_pos(BCH_DATA_user, 1, &dev), 1,
				      &g->repl[d], err);
	}
	return ret ?: add_acct(&g->u, acct_snapshot_pos(BCH_ROOT_SNAPSHOT), 1, &g->snap_sectors, err) ?:
	       add_acct(&g->u, BPOS(0, 0, 0), 1, &g->nr_inodes, err);
}

static void name_of(uint64_t idx, char *buf, size_t len)
{
	snprintf(buf, len, "f%" PRIu64, idx);
}

struct hash_slot {
	uint64_t	hash;
	uint64_t	idx;		/* file, or UINT64_MAX for lost+found */
};

static int cmp_hash_slot(const void *a, const void *b)
{
	const struct hash_slot *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	/* lost+found is already there: it keeps its slot */
	return (x->idx != UINT64_MAX) - (y->idx != UINT64_MAX) ?:
	       (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/*
 * Every file's dirent offset in the root, decided up front (the inodes
 * carry it): its name's hash, or on a collision the next free slot, as
 * linear probing leaves it.
 */
static int plan_dirents(struct gen *g, struct bch_error *err)
{
	uint64_t n = g->o->files;
	struct hash_slot *h = malloc((n + 1) * sizeof(*h));
	uint64_t next = 0;
	char name[32];

	g->dirent_off = malloc(n * sizeof(*g->dirent_off));
	if (!h || !g->dirent_off) {
		free(h);
		return die_nomem(err);
	}
	for (uint64_t i = 0; i < n; i++) {
		name_of(i, name, sizeof(name));
		h[i] = (struct hash_slot){ bch_dirent_hash(&g->root_hash, name, strlen(name)), i };
	}
	h[n] = (struct hash_slot){ g->lf_offset, UINT64_MAX };
	qsort(h, n + 1, sizeof(*h), cmp_hash_slot);
	for (uint64_t i = 0; i <= n; i++) {
		uint64_t off = h[i].hash > next ? h[i].hash : next;

		if (h[i].idx != UINT64_MAX)
			g->dirent_off[h[i].idx] = off;
		else if (off != g->lf_offset)
			return bch_err(err, BCH_ERR_INVAL, "lost+found's dirent slot is taken");
		next = off + 1;
	}
	free(h);
	return 0;
}

static int add_dirents(struct gen *g, struct bch_error *err)
{
	uint8_t val[64];
	char name[32];
	int ret = 0;

	for (uint64_t i = 0; i < g->o->files && !ret; i++) {
		struct bch_dirent_unpacked d = { .d_inum = g->first_inum + i, .d_type = DT_REG_TYPE };
		size_t bytes;

		name_of(i, name, sizeof(name));
		d.name = (const uint8_t *)name;
		d.name_len = (unsigned)strlen(name);
		if (bch_dirent_pack(&d, val, sizeof(val), &bytes))
			return bch_err(err, BCH_ERR_INVAL, "dirent %s does not pack", name);
		struct bkey k = { .p = BPOS(BCH_ROOT_INO, g->dirent_off[i], BCH_ROOT_SNAPSHOT),
				  .type = KEY_TYPE_dirent, .val = val, .val_bytes = (uint16_t)bytes };

		ret = add_key(&g->u, BTREE_ID_dirents, &k, err);
	}
	return ret;
}

/* the inode allocation cursor after the last file */
static int add_cursor(struct gen *g, struct bch_error *err)
{
	uint8_t cursor[16] = { 0 };
	struct bkey k = { .p = BPOS(1, 0, 0), .type = KEY_TYPE_inode_alloc_cursor, .val = cursor,
			  .val_bytes = sizeof(cursor) };

	put_le64(cursor + 8, g->first_inum + g->o->files);
	return add_key(&g->u, BTREE_ID_logged_ops, &k, err);
}

static int add_injected_lru(struct gen *g, struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < g->o->nr_inj && !ret; i++) {
		struct inject *in = &g->o->inj[i];

		if (in->kind != INJ_LRU_PAST_END)
			continue;
		if (in->dev >= g->o->nr_devs)
			return bch_err(err, BCH_ERR_INVAL, "lru-past-end: no device %u", in->dev);
		in->bucket = g->dev[in->dev].nbuckets;
		in->value = 1000;	/* LRU time, as in the corpus's seed image */
		in->done = true;
		ret = add_set(&g->u, BTREE_ID_lru,
			      bch_lru_pos(BCH_LRU_FRAGMENTATION, in->value, in->dev, in->bucket), 0, err);
	}
	return ret;
}

/*
 * The freespace btree, whole, from the alloc keys: every bucket without
 * one, or whose key says free, in runs of one genbits value. Written in
 * the last commit with the btree replaced, so the buckets that commit's
 * new nodes take are carved out of these keys.
 */
static int add_freespace(struct gen *g, struct bch_error *err)
{
	struct bch_btree_iter it;
	struct bkey k;
	uint64_t run_start = 0, run_end = 0, run_bits = 0;
	unsigned run_dev = 0;
	bool in_run = false;
	int ret = 0;

	/* extend the current run with [b, b + n) of genbits bits, or start a new one */
#define FLUSH_RUN()							\
	do {								\
		if (in_run && !ret)					\
			ret = add_set(&g->u, BTREE_ID_freespace,	\
				      BPOS(run_dev, run_end | run_bits, 0), \
				      (uint32_t)(run_end - run_start), err); \
		in_run = false;						\
	} while (0)
#define ADD_FREE(d, b, n, bits)						\
	do {								\
		if (in_run && (run_dev != (d) || run_end != (b) || run_bits != (bits))) \
			FLUSH_RUN();					\
		if (!in_run) {						\
			run_dev = (d);					\
			run_start = (b);				\
			run_end = (b);					\
			run_bits = (bits);				\
			in_run = true;					\
		}							\
		run_end += (n);						\
	} while (0)

	for (unsigned d = 0; d < g->o->nr_devs && !ret; d++) {
		uint64_t next = 0, nb = g->dev[d].nbuckets;

		bch_btree_iter_init(&it, g->fs, BTREE_ID_alloc, BPOS(d, 0, 0), BPOS(d, UINT64_MAX, 0));
		while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
			struct bch_alloc_v4 a;
			uint64_t b = k.p.offset;

			ret = 0;
			if (b >= nb)
				break;
			if (b > next)
				ADD_FREE(d, next, b - next, 0);
			next = b + 1;
			if (bch_alloc_decode(&k, &a, NULL)) {
				ret = bch_err(err, BCH_ERR_CORRUPT, "alloc key %u:%" PRIu64 " does not decode",
					      d, b);
				break;
			}
			if (a.data_type == BCH_DATA_free)
				ADD_FREE(d, b, 1, bch_freespace_genbits(a.gen, a.oldest_gen));
			if (ret)
				break;
		}
		bch_btree_iter_exit(&it);
		if (ret < 0)
			break;
		ret = 0;
		if (nb > next)
			ADD_FREE(d, next, nb - next, 0);
		FLUSH_RUN();
	}
#undef ADD_FREE
#undef FLUSH_RUN
	return ret;
}

/* ---- batches ---- */

static int fs_open(struct gen *g, struct bch_error *err)
{
	struct bch_fs_opts fo = { .write = true };
	struct timespec ts;
	int ret = bch_fs_open(g->o->paths, g->o->nr_devs, &fo, &g->fs, err);

	if (ret)
		return ret;
	bch_lookup_cache_init(&g->lc, g->fs);
	g->lc_on = true;
	g->seq = bch_journal_next_seq(g->fs);
	g->clock_r = bch_fs_io_clock(g->fs, 0);
	g->clock_w = bch_fs_io_clock(g->fs, 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	g->now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	g->now = g->now > g->fs->sb->time_base_lo ? g->now - g->fs->sb->time_base_lo : 0;
	return 0;
}

static void fs_close(struct gen *g)
{
	if (g->lc_on)
		bch_lookup_cache_exit(&g->lc);
	g->lc_on = false;
	if (g->fs)
		bch_fs_close(g->fs);
	g->fs = NULL;
}

static int commit(struct gen *g, const bool *rebuild, struct bch_error *err)
{
	struct bch_btree_commit_info info;
	double t0 = now_s();
	int ret;

	bch_lookup_cache_exit(&g->lc);
	g->lc_on = false;
	g->keys += g->u.nr;
	ret = bch_commit_btrees(g->fs, &g->u, rebuild, NULL, NULL, &info, err);
	memset(&g->u, 0, sizeof(g->u));
	g->t_commit += now_s() - t0;
	g->nodes += info.nr_nodes;
	g->commits++;
	if (!ret && !g->o->quiet)
		fprintf(stderr, "%s: commit %" PRIu64 ": %zu updates, %zu bookkeeping, %zu new nodes, "
			"%zu freed, %u layouts, %.1f s\n", prog, g->commits, info.nr_updates,
			info.nr_bookkeeping, info.nr_nodes, info.nr_freed, info.iterations,
			now_s() - t0);
	return ret;
}

static int run_batch(struct gen *g, uint64_t f0, uint64_t f1, struct bch_error *err)
{
	uint64_t per = g->o->extents / g->o->files, extra = g->o->extents % g->o->files;
	double t0 = now_s();
	int ret;

	ret = fs_open(g, err);
	if (ret)
		return ret;
	memset(g->acct, 0, sizeof(g->acct));
	memset(g->repl, 0, sizeof(g->repl));
	g->snap_sectors = g->nr_inodes = 0;
	for (uint64_t f = f0; f < f1 && !ret; f++) {
		uint64_t n = per + (f < extra);

		ret = add_file(g, f, n, err);
	}
	for (unsigned d = 0; d < g->o->nr_devs && !ret; d++)
		ret = close_bucket(g, d, err);
	/*
	 * The namespace goes into the first commit: a later one that rewrote
	 * format's dirents leaf would free a node written before every data
	 * batch, and the bookkeeping of that chain of leaves takes the commit
	 * one layout per batch to settle.
	 */
	if (!ret && !f0)
		ret = add_dirents(g, err) ?: add_cursor(g, err);
	ret = ret ?: add_batch_acct(g, err);
	g->t_build += now_s() - t0;
	ret = ret ?: commit(g, NULL, err);
	bch_key_updates_free(&g->u);
	fs_close(g);
	return ret;
}

/* the injected LRU entries and the freespace btree */
static int run_final(struct gen *g, struct bch_error *err)
{
	bool rebuild[BTREE_ID_NR_MAX] = { false };
	double t0 = now_s();
	int ret;

	ret = fs_open(g, err);
	if (ret)
		return ret;
	rebuild[BTREE_ID_freespace] = true;
	ret = add_injected_lru(g, err) ?: add_freespace(g, err);
	g->t_build += now_s() - t0;
	ret = ret ?: commit(g, rebuild, err);
	bch_key_updates_free(&g->u);
	fs_close(g);
	return ret;
}

/* ---- before and after ---- */

/* root's hash info and lost+found's dirent offset, from the new filesystem */
static int read_root(struct gen *g, struct bch_error *err)
{
	struct bch_fs_opts fo = { 0 };
	struct bch_btree_iter it;
	struct bch_inode_unpacked root;
	struct bkey k;
	int ret = bch_fs_open(g->o->paths, g->o->nr_devs, &fo, &g->fs, err);

	if (ret)
		return ret;
	g->first_inum = bch_format_first_inum(g->fs) + 1;
	bch_btree_iter_init(&it, g->fs, BTREE_ID_inodes, BPOS(0, BCH_ROOT_INO, 0),
			    BPOS(0, BCH_ROOT_INO, UINT32_MAX));
	ret = bch_btree_iter_next(&it, &k, err);
	if (ret > 0 && !bch_inode_unpack(&k, &root, NULL) && !bch_hash_info_from_inode(&g->root_hash, &root))
		ret = 0;
	else if (ret >= 0)
		ret = bch_err(err, BCH_ERR_CORRUPT, "no root directory after format");
	bch_btree_iter_exit(&it);
	g->hash_type = ret ? 0 : BCH_INODE_STR_HASH(&root);
	if (!ret) {
		bch_btree_iter_init(&it, g->fs, BTREE_ID_dirents, BPOS(BCH_ROOT_INO, 0, 0),
				    BPOS(BCH_ROOT_INO, UINT64_MAX, UINT32_MAX));
		ret = bch_btree_iter_next(&it, &k, err);
		if (ret > 0) {
			g->lf_offset = k.p.offset;
			ret = 0;
		} else if (!ret) {
			ret = bch_err(err, BCH_ERR_CORRUPT, "no lost+found after format");
		}
		bch_btree_iter_exit(&it);
	}
	for (unsigned d = 0; d < g->o->nr_devs; d++) {
		const struct bch_member *m = bch_fs_member(g->fs, d);

		g->dev[d].nbuckets = m ? m->nbuckets : 0;
		g->dev[d].cursor = m ? m->nbuckets - 1 : UINT64_MAX;
		g->dev[d].alloc_inj = -1;
	}
	bch_fs_close(g->fs);
	g->fs = NULL;
	return ret;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ranges to punch out of one file, adjacent ones joined: one call each */
struct holes {
	int		fd;
	uint64_t	start, end;
	uint64_t	punched;
};

static void holes_flush(struct holes *h)
{
	/* a hole reads as zeros and takes no disk */
	if (h->end > h->start &&
	    !fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)h->start,
		       (off_t)(h->end - h->start)))
		h->punched += h->end - h->start;
	h->start = h->end = 0;
}

static void holes_add(struct holes *h, uint64_t off, uint64_t len)
{
	if (h->end != off)
		holes_flush(h);
	if (h->end == h->start)
		h->start = off;
	h->end = off + len;
}

/*
 * Give the disk back: journal buckets' 4 KiB blocks that are zero
 * (format zeroes the whole journal) and, unless kept, the buckets
 * waiting for a discard (the nodes the commits replaced).
 */
static int sparsify(struct gen *g, uint64_t *punched, struct bch_error *err)
{
	struct bch_fs_opts fo = { 0 };
	uint64_t bs = g->o->bucket_size;
	uint8_t *buf = malloc(bs);
	struct holes h[MAX_DEVS];
	int ret;

	*punched = 0;
	for (unsigned d = 0; d < g->o->nr_devs; d++)
		h[d] = (struct holes){ .fd = -1 };
	ret = buf ? bch_fs_open(g->o->paths, g->o->nr_devs, &fo, &g->fs, err) : die_nomem(err);
	for (unsigned d = 0; d < g->o->nr_devs && !ret; d++) {
		const struct bch_sb *sb = &g->fs->devs[d]->sb;

		h[d].fd = open(g->o->paths[d], O_RDWR);
		if (h[d].fd < 0) {
			ret = bch_err(err, BCH_ERR_IO, "%s: %s", g->o->paths[d], strerror(errno));
			break;
		}
		for (unsigned j = 0; j < sb->nr_journal_buckets; j++) {
			uint64_t off = sb->journal_buckets[j] * bs;

			if (pread(h[d].fd, buf, bs, (off_t)off) != (ssize_t)bs)
				continue;
			for (uint64_t o = 0; o < bs; o += 4096)
				if (all_zero(buf + o, 4096))
					holes_add(&h[d], off + o, 4096);
		}
		holes_flush(&h[d]);
	}
	if (!ret && !g->o->keep_discarded) {
		struct bch_btree_iter it;
		struct bkey k;

		bch_btree_iter_init(&it, g->fs, BTREE_ID_need_discard, POS_MIN, SPOS_MAX);
		while ((ret = bch_btree_iter_next(&it, &k, err)) > 0)
			if (k.p.inode < g->o->nr_devs)
				holes_add(&h[k.p.inode], k.p.offset * bs, bs);
		bch_btree_iter_exit(&it);
		ret = ret < 0 ? ret : 0;
	}
	for (unsigned d = 0; d < g->o->nr_devs; d++)
		if (h[d].fd >= 0) {
			holes_flush(&h[d]);
			*punched += h[d].punched;
			close(h[d].fd);
		}
	if (g->fs)
		bch_fs_close(g->fs);
	g->fs = NULL;
	free(buf);
	return ret;
}

/* create (or truncate) each device file at its size: sparse, nothing allocated */
static int make_files(struct opts *o, struct bch_format_dev *devs, struct bch_error *err)
{
	for (unsigned d = 0; d < o->nr_devs; d++) {
		uint64_t nb = o->buckets / o->nr_devs + (d < o->buckets % o->nr_devs);
		int fd = open(o->paths[d], O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || ftruncate(fd, (off_t)(nb * o->bucket_size))) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			return bch_err(err, BCH_ERR_IO, "%s: %s", o->paths[d], strerror(e));
		}
		close(fd);
		devs[d] = (struct bch_format_dev){ .path = o->paths[d], .size = nb * o->bucket_size,
						   .bucket_size = o->bucket_size };
	}
	return 0;
}

/*
 * Extent size: the largest power-of-two share of a bucket (at least a
 * block) with which the extents fit in about 85% of the buckets left
 * after the superblocks and journal; the rest is room for the btrees.
 */
static int plan_sizes(struct gen *g, const struct bch_format_dev *devs, struct bch_error *err)
{
	struct opts *o = g->o;
	uint64_t usable = 0, need;

	g->bucket_sectors = o->bucket_size >> 9;
	for (unsigned d = 0; d < o->nr_devs; d++)
		usable += devs[d].nbuckets - devs[d].nr_journal - 4;
	usable = usable * 85 / 100;
	need = (o->extents + usable - 1) / (usable ? usable : 1);
	g->ext_sectors = g->bucket_sectors;
	while (g->ext_sectors > BLOCK_SECTORS && (uint64_t)(g->bucket_sectors / g->ext_sectors) < need)
		g->ext_sectors /= 2;
	g->per_bucket = g->bucket_sectors / g->ext_sectors;
	if (g->per_bucket < need)
		return bch_err(err, BCH_ERR_INVAL,
			       "%" PRIu64 " extents do not fit %" PRIu64 " usable buckets of %u sectors "
			       "(at most %u extents of a 4 KiB block each): more buckets or a larger bucket size",
			       o->extents, usable, g->bucket_sectors, g->bucket_sectors / BLOCK_SECTORS);
	g->auto_bucket = o->extents / g->per_bucket / 2;
	return 0;
}

static uint64_t du_bytes(struct opts *o)
{
	uint64_t total = 0;
	struct stat st;

	for (unsigned d = 0; d < o->nr_devs; d++)
		if (!stat(o->paths[d], &st))
			total += (uint64_t)st.st_blocks * 512;
	return total;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gen g = { 0 };
	struct bch_format_dev devs[MAX_DEVS];
	struct bch_format_opts fo;
	struct bch_format_result fr;
	struct bch_error err = { 0 };
	uint64_t punched = 0;
	double t0 = now_s(), t_format;
	int ret;

	if (parse_opts(argc, argv, &o))
		return 2;
	g.o = &o;
	rng_state = o.seed * 0x9E3779B97F4A7C15ULL + 1;
	for (unsigned i = 0; i < o.nr_inj; i++)
		if (o.inj[i].at && o.inj[i].dev >= o.nr_devs) {
			fprintf(stderr, "%s: --inject=%s: no device %u\n", prog,
				inject_names[o.inj[i].kind], o.inj[i].dev);
			return 2;
		}

	bch_format_opts_default(&fo);
	fo.version = o.version;
	fo.data_csum = BCH_CSUM_OPT_none;	/* no data written: nothing to checksum */
	fo.force = true;
	ret = make_files(&o, devs, &err) ?: bch_format(&fo, devs, o.nr_devs, &fr, &err) ?:
	      sb_mark_user_replicas(o.paths, o.nr_devs, &err) ?: read_root(&g, &err) ?:
	      plan_sizes(&g, devs, &err) ?: plan_dirents(&g, &err);
	t_format = now_s() - t0;
	if (!ret && !o.quiet)
		fprintf(stderr, "%s: formatted in %.1f s; %" PRIu64 " files, %" PRIu64
			" extents of %u sectors, %u per full bucket of %u\n", prog, t_format,
			o.files, o.extents, g.ext_sectors, g.per_bucket, g.bucket_sectors);

	for (uint64_t f = 0; !ret && f < o.files; ) {
		uint64_t per = o.extents / o.files, extra = o.extents % o.files, n = 0, f1 = f;

		while (f1 < o.files && (n == 0 || n + per + (f1 < extra) <= o.batch))
			n += per + (f1++ < extra);
		ret = run_batch(&g, f, f1, &err);
		f = f1;
	}
	ret = ret ?: run_final(&g, &err);
	for (unsigned i = 0; !ret && i < o.nr_inj; i++)
		if (!o.inj[i].done)
			ret = bch_err(&err, BCH_ERR_INVAL,
				      "--inject=%s: no data bucket at %u:%" PRIu64,
				      inject_names[o.inj[i].kind], o.inj[i].dev, o.inj[i].bucket);
	double t_sparse = now_s();

	ret = ret ?: sparsify(&g, &punched, &err);
	t_sparse = now_s() - t_sparse;
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 1;
	}

	uint64_t data_buckets = 0, sectors = 0;

	for (unsigned d = 0; d < o.nr_devs; d++) {
		data_buckets += g.dev[d].data_buckets;
		sectors += g.dev[d].sectors;
	}
	printf("image");
	for (unsigned d = 0; d < o.nr_devs; d++)
		printf(" %s", o.paths[d]);
	printf("\nversion %u.%u devices %u buckets %" PRIu64 " bucket_size %u files %" PRIu64
	       " extents %" PRIu64 " data_buckets %" PRIu64 " data_sectors %" PRIu64 "\n",
	       BCH_VERSION_MAJOR(o.version), BCH_VERSION_MINOR(o.version), o.nr_devs, o.buckets,
	       o.bucket_size, o.files, o.extents, data_buckets, sectors);
	for (unsigned i = 0; i < o.nr_inj; i++) {
		const struct inject *in = &o.inj[i];

		switch (in->kind) {
		case INJ_MISSING_BP:
			printf("inject missing-bp dev %u bucket %" PRIu64 " backpointers %u\n",
			       in->dev, in->bucket, in->nr_bps);
			break;
		case INJ_LRU_PAST_END:
			printf("inject lru-past-end dev %u bucket %" PRIu64 " time %" PRIu64 "\n",
			       in->dev, in->bucket, in->value);
			break;
		case INJ_ALLOC_SECTORS:
			printf("inject alloc-sectors dev %u bucket %" PRIu64 " dirty_sectors %" PRIu64
			       " should_be %u\n", in->dev, in->bucket, in->value, in->true_sectors);
			break;
		}
	}
	printf("commits %" PRIu64 " keys %" PRIu64 " nodes %" PRIu64 "\n", g.commits, g.keys,
	       g.nodes);
	printf("time total %.1f s format %.1f s build %.1f s commit %.1f s sparsify %.1f s\n",
	       now_s() - t0, t_format, g.t_build, g.t_commit, t_sparse);
	printf("disk %" PRIu64 " MiB (%" PRIu64 " MiB punched)\n", du_bytes(&o) >> 20, punched >> 20);
	free(g.dirent_off);
	for (unsigned d = 0; d < o.nr_devs; d++)
		free(o.paths[d]);
	return 0;
}
