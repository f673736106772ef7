/*
 * Seed inputs of the fuzz targets, cut from a filesystem image:
 *
 *   fuzz_seeds OUTDIR NAME DEV...
 *
 * runs the check on the devices (in memory) and writes
 *   OUTDIR/image/NAME            the packed image (fuzz.h) of every nonzero
 *                                4 KiB block the check read
 *   OUTDIR/sb/NAME-devD          each device's primary superblock
 *   OUTDIR/jset/NAME-devD-bI     the used part of each journal bucket
 *   OUTDIR/node/NAME-devD-sS     btree nodes (a few of each btree and level)
 * in the input formats of the targets fuzz_check/fuzz_repair, fuzz_sb,
 * fuzz_jset and fuzz_node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "btree_node.h"
#include "fuzz.h"
#include "journal.h"

#define JSET_MAX	(64u << 10)	/* fuzz_jset's largest bucket */
#define NODES_PER_KIND	2u		/* seeds per (btree, level) */

/* ---- an in-memory device that remembers which blocks were read ---- */

struct rec_priv {
	uint8_t		*buf;
	uint8_t		*read;		/* per 4 KiB block */
};

static void rec_mark(struct rec_priv *p, uint64_t off, size_t len)
{
	for (uint64_t b = off / FZ_BLOCK; b * FZ_BLOCK < off + len; b++)
		p->read[b] = 1;
}

static int rec_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		    struct bch_error *err)
{
	struct rec_priv *p = io->priv;

	(void)err;
	memcpy(buf, p->buf + off, len);
	rec_mark(p, off, len);
	return 0;
}

static int rec_read_batch(struct bch_io *io, struct bch_read_req *reqs, unsigned nr,
			  struct bch_error *err)
{
	for (unsigned i = 0; i < nr; i++)
		reqs[i].result = rec_read(io, reqs[i].offset, reqs[i].buf, reqs[i].len, err);
	return 0;
}

static int rec_write(struct bch_io *io, uint64_t off, const void *buf, size_t len,
		     struct bch_error *err)
{
	(void)buf;
	(void)len;
	return bch_err(err, BCH_ERR_IO, "%s: read-only (byte %llu)", io->path,
		       (unsigned long long)off);
}

static int rec_flush(struct bch_io *io, struct bch_error *err)
{
	(void)io;
	(void)err;
	return 0;
}

static void rec_close(struct bch_io *io)
{
	free(io->path);
	free(io);
}

static const struct bch_io_ops rec_ops = {
	.name = "rec", .read = rec_read, .read_batch = rec_read_batch,
	.write = rec_write, .flush = rec_flush, .close = rec_close,
};

static struct bch_io *rec_open(const char *path, struct rec_priv *p, size_t size)
{
	struct bch_io *io = calloc(1, sizeof(*io));

	if (!io || !(io->path = strdup(path))) {
		free(io);
		return NULL;
	}
	io->ops = &rec_ops;
	pthread_mutex_init(&io->lock, NULL);
	io->size = size;
	io->priv = p;
	return io;
}

/* ---- the devices ---- */

struct seed_dev {
	const char	*path;
	uint8_t		*buf;
	size_t		size;
	struct rec_priv	rec;
};

static int load(struct seed_dev *d)
{
	FILE *f = fopen(d->path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "fuzz_seeds: %s: %s\n", d->path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	d->size = ROUND_UP((size_t)n, FZ_BLOCK);
	d->buf = calloc(1, d->size);
	d->rec.read = calloc(d->size / FZ_BLOCK, 1);
	if (!d->buf || !d->rec.read || fread(d->buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fuzz_seeds: cannot read %s\n", d->path);
		fclose(f);
		return -1;
	}
	fclose(f);
	d->rec.buf = d->buf;
	return 0;
}

static int write_file(const char *dir, const char *sub, const char *name,
		      const void *p, size_t len, const void *p2, size_t len2)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || (len2 && fwrite(p2, 1, len2, f) != len2)) {
		fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

static bool block_zero(const uint8_t *p)
{
	for (unsigned i = 0; i < FZ_BLOCK; i++)
		if (p[i])
			return false;
	return true;
}

/* the packed image: every nonzero block read */
static int write_image(const char *out, const char *name, struct seed_dev *devs, unsigned nr)
{
	char path[4096];
	uint8_t hdr[12 + 4 * FZ_MAX_DEVS] = { 0 }, w[4];
	FILE *f;

	snprintf(path, sizeof(path), "%s/image", out);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/image/%s", out, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	memcpy(hdr, FZ_MAGIC, 8);
	hdr[8] = (uint8_t)nr;
	for (unsigned d = 0; d < nr; d++)
		put_le32(hdr + 12 + 4 * d, (uint32_t)(devs[d].size / FZ_BLOCK));
	fwrite(hdr, 1, 12 + 4 * nr, f);
	for (unsigned d = 0; d < nr; d++)
		for (size_t b = 0; b < devs[d].size / FZ_BLOCK; b++) {
			const uint8_t *p = devs[d].buf + b * FZ_BLOCK;

			if (!devs[d].rec.read[b] || block_zero(p))
				continue;
			put_le32(w, (uint32_t)(d << 28 | b));
			fwrite(w, 1, 4, f);
			fwrite(p, 1, FZ_BLOCK, f);
		}
	return fclose(f) ? -1 : 0;
}

/* log2 of the block size in sectors, if the one-byte prefix can say it */
static int block_bits(unsigned sectors)
{
	for (int b = 0; b < 4; b++)
		if (sectors == 1u << b)
			return b;
	return -1;
}

static void write_sb(const char *out, const char *name, unsigned d, const struct bch_sb *sb)
{
	char n[256];

	snprintf(n, sizeof(n), "%s-dev%u", name, d);
	write_file(out, "sb", n, sb->bytes, sb->len, NULL, 0);
}

static void write_journal(const char *out, const char *name, unsigned d,
			  const struct seed_dev *dev, const struct bch_sb *sb)
{
	size_t bucket = (size_t)sb->members[sb->dev_idx].bucket_size * 512;
	size_t block = (size_t)sb->block_size * 512;
	int bits = block_bits(sb->block_size);
	uint8_t prefix;
	char n[256];

	if (bits < 0)
		return;
	prefix = (uint8_t)bits;
	for (unsigned i = 0; i < sb->nr_journal_buckets; i++) {
		const uint8_t *b = dev->buf + sb->journal_buckets[i] * bucket;
		size_t off = 0, end = 0;

		if ((sb->journal_buckets[i] + 1) * bucket > dev->size)
			continue;
		while (off + BCH_JSET_ENTRIES <= bucket && off < JSET_MAX) {
			size_t bytes = BCH_JSET_ENTRIES + (size_t)get_le32(b + off + BCH_JSET_U64S) * 8;

			if (get_le64(b + off + BCH_JSET_MAGIC) != sb->journal_magic ||
			    off + bytes > JSET_MAX)
				break;
			end = off + bytes;
			off += ROUND_UP(bytes, block);
		}
		if (!end)
			continue;
		snprintf(n, sizeof(n), "%s-dev%u-b%u", name, d, i);
		write_file(out, "jset", n, &prefix, 1, b, end);
	}
}

/* nodes the check read, at most NODES_PER_KIND of each btree and level */
static void write_nodes(const char *out, const char *name, unsigned d,
			const struct seed_dev *dev, const struct bch_sb *sb)
{
	static unsigned seen[BTREE_ID_NR_MAX][BCH_BTREE_MAX_DEPTH];
	size_t block = (size_t)sb->block_size * 512;
	size_t node = (size_t)BCH_SB_BTREE_NODE_SIZE(sb) * 512;
	int bits = block_bits(sb->block_size);
	char n[256];

	if (bits < 0 || !block || !node)
		return;
	memset(seen, 0, sizeof(seen));
	for (size_t at = 0; at + node <= dev->size; at += block) {
		const uint8_t *p = dev->buf + at;
		uint64_t flags = get_le64(p + BCH_NODE_FLAGS);
		unsigned id = bch_node_flags_btree_id(flags), level = bch_node_flags_level(flags);
		uint8_t prefix = (uint8_t)bits;
		size_t len = node;

		if (!dev->rec.read[at / FZ_BLOCK] || get_le64(p + BCH_NODE_MAGIC) != sb->bset_magic ||
		    id >= BTREE_ID_NR_MAX || level >= BCH_BTREE_MAX_DEPTH ||
		    seen[id][level]++ >= NODES_PER_KIND)
			continue;
		while (len > block && !p[len - 1])
			len--;
		len = ROUND_UP(len, block);
		snprintf(n, sizeof(n), "%s-dev%u-s%zu", name, d, at / 512);
		write_file(out, "node", n, &prefix, 1, p, len);
	}
}

static int run_check(struct seed_dev *devs, unsigned nr, struct bch_fs **out)
{
	struct bch_fs_opts o = { 0 };
	struct bch_io *ios[FZ_MAX_DEVS];
	struct bch_error err = { 0 };
	struct fz_check k;
	int ret;

	for (unsigned d = 0; d < nr; d++) {
		ios[d] = rec_open(devs[d].path, &devs[d].rec, devs[d].size);
		if (!ios[d])
			return -1;
	}
	ret = bch_fs_open_io(ios, nr, &o, out, &err);
	if (!ret) {
		ret = fz_check_run(&k, *out, MODE_CHECK, true, &err);
		fz_check_exit(&k);
	}
	if (ret)
		fprintf(stderr, "fuzz_seeds: %s: %s\n", devs[0].path, err.msg);
	return ret;
}

int main(int argc, char **argv)
{
	struct seed_dev devs[FZ_MAX_DEVS] = { 0 };
	unsigned nr = (unsigned)(argc - 3);
	struct bch_fs *fs = NULL;
	int ret = 0;

	if (argc < 4 || nr > FZ_MAX_DEVS) {
		fprintf(stderr, "usage: fuzz_seeds OUTDIR NAME DEV... (at most %u devices)\n",
			FZ_MAX_DEVS);
		return 2;
	}
	for (unsigned d = 0; d < nr; d++) {
		devs[d].path = argv[3 + d];
		if (load(&devs[d]))
			return 1;
	}
	/* a check that fails still read what it read: the seeds are made */
	if (run_check(devs, nr, &fs) && !fs)
		ret = 1;
	if (fs)
		for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++) {
			const struct bch_dev *dev = fs->devs[d];

			if (!dev)
				continue;
			for (unsigned i = 0; i < nr; i++)
				if (!strcmp(devs[i].path, dev->io->path)) {
					write_sb(argv[1], argv[2], d, &dev->sb);
					write_journal(argv[1], argv[2], d, &devs[i], &dev->sb);
					write_nodes(argv[1], argv[2], d, &devs[i], &dev->sb);
				}
		}
	bch_fs_close(fs);
	if (write_image(argv[1], argv[2], devs, nr))
		ret = 1;
	for (unsigned d = 0; d < nr; d++) {
		free(devs[d].buf);
		free(devs[d].rec.read);
	}
	return ret;
}
