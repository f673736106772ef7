/*
 * bcachefs format [OPTION]... DEV...: a new, empty filesystem on one or
 * more devices (image files or block devices), as upstream's format
 * leaves one (libbcachefs/format.h); with --source=DIR, holding a copy
 * of that directory tree (libbcachefs/format_source.h). Options that name
 * a device property (--bucket_size, --label, --fs_size) apply to the
 * devices after them, as upstream's do.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bcachefs_format.h"
#include "cmds.h"
#include "format.h"
#include "format_source.h"
#include "fs.h"
#include "printbuf.h"

static void format_usage(FILE *f)
{
	fputs("Usage: bcachefs format [OPTION]... DEV...\n"
	      "Make a new, empty bcachefs filesystem on DEV... (image files or block devices).\n"
	      "\n"
	      "Filesystem options:\n"
	      "      --version=1.28|1.36|1.39\n"
	      "                              metadata version (default 1.28, see bcachefs(8))\n"
	      "      --block_size=SIZE       default: the devices' largest logical block size\n"
	      "      --btree_node_size=SIZE  default: the smallest bucket size, at most 256k\n"
	      "      --metadata_checksum=none|crc32c|crc64|xxhash   (default crc32c)\n"
	      "      --data_checksum=none|crc32c|crc64|xxhash       (default crc32c)\n"
	      "      --compression=none|lz4|gzip|zstd[:LEVEL]\n"
	      "      --background_compression=none|lz4|gzip|zstd[:LEVEL]\n"
	      "      --str_hash=crc32c|crc64|siphash                (default siphash)\n"
	      "      --replicas=N            metadata and data replicas (1-4)\n"
	      "      --metadata_replicas=N\n"
	      "      --data_replicas=N\n"
	      "      --encrypted             encrypt with a passphrase (asked twice on a\n"
	      "                              terminal, or --passphrase-file)\n"
	      "      --passphrase-file=FILE  the passphrase (one trailing newline dropped)\n"
	      "      --no_passphrase         with --encrypted: store the key unwrapped\n"
	      "  -L, --fs_label=LABEL        filesystem label\n"
	      "  -U, --uuid=UUID             external UUID (default random)\n"
	      "      --source=DIR            copy the directory tree DIR into the new\n"
	      "                              filesystem (not with --encrypted or compression)\n"
	      "  -f, --force                 overwrite a device that holds a filesystem\n"
	      "  -q, --quiet                 print nothing on success\n"
	      "\n"
	      "Device options (for the devices that follow them):\n"
	      "      --fs_size=SIZE          use this much of the device\n"
	      "      --bucket_size=SIZE      default: chosen from the device size\n"
	      "  -l, --label=LABEL           disk group of the device\n"
	      "\n"
	      "SIZE takes a k, M, G or T suffix (powers of 1024).\n"
	      "Exit status: 0 formatted, 8 a device could not be written, 16 usage error\n"
	      "(also a device holding a filesystem without --force).\n", f);
}

enum {
	O_VERSION = 256, O_BLOCK_SIZE, O_NODE_SIZE, O_META_CSUM, O_DATA_CSUM, O_COMPRESSION,
	O_BG_COMPRESSION, O_STR_HASH, O_REPLICAS, O_META_REPLICAS, O_DATA_REPLICAS,
	O_ENCRYPTED, O_PASSFILE, O_NO_PASS, O_FS_SIZE, O_BUCKET_SIZE, O_NOW, O_SOURCE,
	O_SOURCE_BATCH,
};

static const struct option format_opts[] = {
	{ "version",			required_argument, NULL, O_VERSION },
	{ "block_size",			required_argument, NULL, O_BLOCK_SIZE },
	{ "btree_node_size",		required_argument, NULL, O_NODE_SIZE },
	{ "metadata_checksum",		required_argument, NULL, O_META_CSUM },
	{ "data_checksum",		required_argument, NULL, O_DATA_CSUM },
	{ "compression",		required_argument, NULL, O_COMPRESSION },
	{ "background_compression",	required_argument, NULL, O_BG_COMPRESSION },
	{ "str_hash",			required_argument, NULL, O_STR_HASH },
	{ "replicas",			required_argument, NULL, O_REPLICAS },
	{ "metadata_replicas",		required_argument, NULL, O_META_REPLICAS },
	{ "data_replicas",		required_argument, NULL, O_DATA_REPLICAS },
	{ "encrypted",			no_argument,	   NULL, O_ENCRYPTED },
	{ "passphrase-file",		required_argument, NULL, O_PASSFILE },
	{ "no_passphrase",		no_argument,	   NULL, O_NO_PASS },
	{ "fs_label",			required_argument, NULL, 'L' },
	{ "uuid",			required_argument, NULL, 'U' },
	{ "force",			no_argument,	   NULL, 'f' },
	{ "quiet",			no_argument,	   NULL, 'q' },
	{ "fs_size",			required_argument, NULL, O_FS_SIZE },
	{ "bucket_size",		required_argument, NULL, O_BUCKET_SIZE },
	{ "label",			required_argument, NULL, 'l' },
	{ "source",			required_argument, NULL, O_SOURCE },
	/* tests: key updates per commit of --source (small: many batches) */
	{ "source-batch",		required_argument, NULL, O_SOURCE_BATCH },
	/* tests: a fixed creation time (nanoseconds since the epoch) */
	{ "test-time",			required_argument, NULL, O_NOW },
	{ "help",			no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* "64k", "1M", "4096": bytes, or -1 */
static int64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end++;
	if (*end || v > (1ULL << (62 - shift)))
		return -1;
	return (int64_t)(v << shift);
}

static int parse_choice(const char *s, const char * const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* "zstd:3" -> type | level << 4, as the superblock stores it; -1 if invalid */
static int parse_compression(const char *s)
{
	static const char * const types[] = { "none", "lz4", "gzip", "zstd", NULL };
	char name[16];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	int type, level = 0;

	if (n >= sizeof(name))
		return -1;
	memcpy(name, s, n);
	name[n] = 0;
	type = parse_choice(name, types);
	if (type < 0)
		return -1;
	if (colon) {
		char *end;

		level = (int)strtol(colon + 1, &end, 10);
		if (*end || level < 0 || level > 15)
			return -1;
	}
	return type | level << 4;
}

static int parse_replicas(const char *s, unsigned *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > 4)
		return -1;
	*out = (unsigned)v;
	return 0;
}

struct format_args {
	struct bch_format_opts	o;
	struct bch_format_dev	devs[BCH_FORMAT_MAX_DEVICES];
	unsigned		nr;
	const char		*passphrase_file;
	bool			no_passphrase;
	bool			quiet;
	struct bch_source_opts	src;
};

/* the device options in force when a device name is met */
struct dev_opts {
	uint64_t	fs_size;
	uint32_t	bucket_size;
	const char	*label;
};

static int bad(const char *opt, const char *val)
{
	die_msg("invalid %s: '%s'", opt, val);
	return EXIT_USAGE;
}

static int parse_opt(struct format_args *a, struct dev_opts *d, int c, const char *arg)
{
	static const char * const csums[] = { "none", "crc32c", "crc64", "xxhash", NULL };
	static const char * const hashes[] = { "crc32c", "crc64", "siphash", NULL };
	struct bch_format_opts *o = &a->o;
	int64_t size;
	int v;

	switch (c) {
	case O_VERSION:
		if (!strcmp(arg, "1.28"))
			o->version = BCH_VERSION_1_28;
		else if (!strcmp(arg, "1.36"))
			o->version = BCH_VERSION_1_36;
		else if (!strcmp(arg, "1.39"))
			o->version = BCH_VERSION_1_39;
		else
			return bad("--version (1.28, 1.36 or 1.39)", arg);
		return 0;
	case O_BLOCK_SIZE:
	case O_NODE_SIZE:
	case O_FS_SIZE:
	case O_BUCKET_SIZE:
		size = parse_size(arg);
		if (size <= 0 || (c != O_FS_SIZE && size > (int64_t)UINT32_MAX))
			return bad("size", arg);
		if (c == O_BLOCK_SIZE)
			o->block_size = (uint32_t)size;
		else if (c == O_NODE_SIZE)
			o->btree_node_size = (uint32_t)size;
		else if (c == O_FS_SIZE)
			d->fs_size = (uint64_t)size;
		else
			d->bucket_size = (uint32_t)size;
		return 0;
	case O_META_CSUM:
	case O_DATA_CSUM:
		v = parse_choice(arg, csums);
		if (v < 0)
			return bad("checksum type", arg);
		*(c == O_META_CSUM ? &o->meta_csum : &o->data_csum) = (unsigned)v;
		return 0;
	case O_COMPRESSION:
	case O_BG_COMPRESSION:
		v = parse_compression(arg);
		if (v < 0)
			return bad("compression", arg);
		*(c == O_COMPRESSION ? &o->compression : &o->background_compression) = (unsigned)v;
		return 0;
	case O_STR_HASH:
		v = parse_choice(arg, hashes);
		if (v < 0)
			return bad("--str_hash", arg);
		o->str_hash = (unsigned)v;
		return 0;
	case O_REPLICAS:
		if (parse_replicas(arg, &o->meta_replicas))
			return bad("--replicas", arg);
		o->data_replicas = o->meta_replicas;
		return 0;
	case O_META_REPLICAS:
		return parse_replicas(arg, &o->meta_replicas) ? bad("--metadata_replicas", arg) : 0;
	case O_DATA_REPLICAS:
		return parse_replicas(arg, &o->data_replicas) ? bad("--data_replicas", arg) : 0;
	case O_ENCRYPTED:
		o->encrypted = true;
		return 0;
	case O_PASSFILE:
		a->passphrase_file = arg;
		return 0;
	case O_NO_PASS:
		a->no_passphrase = true;
		return 0;
	case O_NOW:
		o->now_ns = strtoull(arg, NULL, 10);
		a->src.now_ns = o->now_ns;
		return 0;
	case O_SOURCE:
		a->src.src = arg;
		return 0;
	case O_SOURCE_BATCH:
		a->src.batch_keys = strtoull(arg, NULL, 10);
		return a->src.batch_keys ? 0 : bad("--source-batch", arg);
	case 'L':
		if (strlen(arg) > 32)
			return bad("--fs_label (32 bytes at most)", arg);
		o->label = arg;
		return 0;
	case 'U':
		if (bch_uuid_parse(arg, o->uuid))
			return bad("--uuid", arg);
		o->uuid_set = true;
		return 0;
	case 'l':
		if (strlen(arg) > 32)
			return bad("--label (32 bytes at most)", arg);
		d->label = arg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	}
	return EXIT_USAGE;
}

/* options and devices in order: device options bind to the devices after them */
static int parse_args(struct format_args *a, int argc, char *argv[])
{
	struct dev_opts d = { 0 };
	int c, ret;

	optind = 1;
	opterr = 1;
	/* "-" first: devices are returned in place, as argument 1 */
	while ((c = getopt_long(argc, argv, "-L:U:l:fqh", format_opts, NULL)) != -1) {
		if (c == 'h') {
			format_usage(stdout);
			return -1;
		}
		if (c == '?')
			return EXIT_USAGE;
		if (c == 1) {
			struct bch_format_dev *dev = &a->devs[a->nr];

			if (a->nr == BCH_FORMAT_MAX_DEVICES) {
				die_msg("at most %u devices", BCH_FORMAT_MAX_DEVICES);
				return EXIT_USAGE;
			}
			dev->path = optarg;
			dev->size = d.fs_size;
			dev->bucket_size = d.bucket_size;
			dev->label = d.label;
			a->nr++;
			continue;
		}
		ret = parse_opt(a, &d, c, optarg);
		if (ret)
			return ret;
	}
	if (!a->nr) {
		format_usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

static void print_result(const struct format_args *a, const struct bch_format_result *r)
{
	struct printbuf pb = { 0 };

	pb_uuid(&pb, r->uuid);
	printf("formatted %u device%s, metadata version %u.%u, external UUID %s\n", a->nr,
	       a->nr == 1 ? "" : "s", BCH_VERSION_MAJOR(a->o.version),
	       BCH_VERSION_MINOR(a->o.version), pb.buf ? pb.buf : "");
	for (unsigned i = 0; i < a->nr; i++)
		printf("  device %u: %s, %" PRIu64 " buckets of %u KiB, %u journal buckets\n", i,
		       a->devs[i].path, a->devs[i].nbuckets, a->devs[i].bucket_size >> 10,
		       a->devs[i].nr_journal);
	printf("  block size %u B, btree node size %u KiB, %zu btree nodes, %" PRIu64 " keys\n",
	       a->o.block_size, a->o.btree_node_size >> 10, r->nr_nodes, r->nr_keys);
	pb_exit(&pb);
}

/*
 * --source is checked before anything is written: a bad request never
 * leaves an empty filesystem behind.
 */
static int check_source(const struct format_args *a)
{
	struct stat st;

	if (!a->src.src)
		return 0;
	if (a->o.encrypted) {
		die_msg("--source with --encrypted: upstream's format does not initialise a "
			"filesystem it encrypts with a passphrase either, and writing encrypted "
			"data is not implemented here; copy after unlocking instead");
		return EXIT_USAGE;
	}
	if (a->o.compression || a->o.background_compression) {
		die_msg("--source with compression: writing compressed data is not implemented");
		return EXIT_USAGE;
	}
	if (a->o.version >= BCH_VERSION_1_29 && a->o.data_replicas > a->nr) {
		die_msg("--source with data_replicas %u on %u device%s: from 1.36 such data needs "
			"reconcile work, which is not implemented", a->o.data_replicas, a->nr,
			a->nr == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	if (stat(a->src.src, &st) || !S_ISDIR(st.st_mode)) {
		die_msg("--source %s: not a directory", a->src.src);
		return EXIT_USAGE;
	}
	return 0;
}

static void print_source(const struct bch_source_stats *s)
{
	printf("  copied %" PRIu64 " files, %" PRIu64 " directories, %" PRIu64 " symlinks, "
	       "%" PRIu64 " other inodes, %" PRIu64 " hard links, %" PRIu64 " xattrs"
	       " (%" PRIu64 " left out)\n", s->files, s->dirs, s->symlinks, s->specials,
	       s->hardlinks, s->xattrs, s->skipped_xattrs);
	printf("  %" PRIu64 " bytes of data in %" PRIu64 " extents, %u commits, %" PRIu64
	       " buckets freed between them\n", s->bytes, s->extents, s->commits, s->discarded);
}

/* the new filesystem opened read-write, and the tree copied into it */
static int copy_source(struct format_args *a, struct bch_source_stats *st)
{
	char *paths[BCH_FORMAT_MAX_DEVICES];
	struct bch_fs_opts fo = { .write = true };
	struct bch_error err = { 0 };
	struct bch_fs *fs = NULL;
	int ret;

	for (unsigned i = 0; i < a->nr; i++)
		paths[i] = (char *)a->devs[i].path;
	ret = bch_fs_open(paths, a->nr, &fo, &fs, &err) ?:
	      bch_format_source(fs, &a->src, st, &err);
	if (fs)
		bch_fs_close(fs);
	if (ret)
		die_msg("copying %s: %s", a->src.src, err.msg[0] ? err.msg : bch_errcode_name(ret));
	return ret ? exit_status_of(ret) : 0;
}

/* a mounted device, or an image attached to a loop device, is never formatted */
static int refuse_in_use(const struct format_args *a)
{
	for (unsigned i = 0; i < a->nr; i++) {
		char where[256];

		if (dev_in_use(a->devs[i].path, NULL, where, sizeof(where)) == DEV_FREE)
			continue;
		die_msg("%s is in use (%s): not formatted", a->devs[i].path, where);
		return EXIT_OPERATIONAL;
	}
	return 0;
}

int cmd_format(int argc, char *argv[])
{
	struct format_args *a = calloc(1, sizeof(*a));
	struct bch_format_result res;
	struct bch_error err = { 0 };
	char *pass = NULL;
	int ret;

	if (!a) {
		die_msg("out of memory");
		return EXIT_OPERATIONAL;
	}
	bch_format_opts_default(&a->o);
	ret = parse_args(a, argc, argv);
	if (ret) {
		free(a);
		return ret < 0 ? EXIT_OK : ret;
	}
	ret = refuse_in_use(a) ?: check_source(a);
	if (ret) {
		free(a);
		return ret;
	}
	if (a->o.encrypted && !a->no_passphrase) {
		pass = read_passphrase(a->passphrase_file, true, &a->o.passphrase_len);
		if (!pass) {
			free(a);
			return EXIT_USAGE;
		}
		a->o.passphrase = pass;
	}
	ret = bch_format(&a->o, a->devs, a->nr, &res, &err);
	if (pass) {
		memset(pass, 0, a->o.passphrase_len);
		free(pass);
	}
	if (ret) {
		die_msg("%s", err.msg[0] ? err.msg : bch_errcode_name(ret));
		free(a);
		return exit_status_of(ret);
	}
	if (!a->quiet)
		print_result(a, &res);
	if (a->src.src) {
		struct bch_source_stats st;

		ret = copy_source(a, &st);
		if (!ret && !a->quiet)
			print_source(&st);
	}
	free(a);
	return ret ? ret : EXIT_OK;
}
