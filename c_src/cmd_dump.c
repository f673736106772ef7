/*
 * bcachefs dump -o DIR DEV...: a metadata-only copy of a filesystem for a
 * bug report. Per member device a sparse file DIR/devN.img of the
 * device's size holding the superblocks, the journal and every reachable
 * btree node (metadata_regions.c); the data is left as holes. Every check
 * reads the same bytes from it as from the original, so `bcachefs fsck -n`
 * reports the same on both. DIR/manifest.txt says what was copied from
 * where. --sanitize then replaces file names and inline data in the copy
 * (sanitize.c), node by node and journal bucket by journal bucket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "fs.h"
#include "metadata_regions.h"
#include "printbuf.h"
#include "sanitize.h"

#define COPY_CHUNK	(4u << 20)

static void dump_usage(FILE *f)
{
	fputs("Usage: bcachefs dump -o DIR [OPTION]... DEV...\n"
	      "Copy the metadata of a filesystem (superblocks, journal, every reachable btree\n"
	      "node) into DIR/devN.img, one sparse file per member device with the data left\n"
	      "as holes, for a bug report. The devices are only read.\n"
	      "\n"
	      "  -o, --output=DIR            where to write (created if missing; files in it\n"
	      "                              are never overwritten)\n"
	      "      --sanitize              replace file names (with 'x') and inline data and\n"
	      "                              xattr values (with zeros) in the copy; not for an\n"
	      "                              encrypted filesystem\n"
	      "      --passphrase-file=FILE  passphrase of an encrypted filesystem (to find\n"
	      "                              its btree nodes; the copy stays encrypted)\n"
	      "  -h, --help                  this message\n"
	      "\n"
	      "Exit status: 0 written, 8 the filesystem could not be read or DIR written,\n"
	      "16 usage error.\n", f);
}

/* create DIR/devN.img, the device's size, empty (sparse) */
static int create_out(const char *dir, unsigned d, uint64_t size, char *path, size_t psize)
{
	int fd;

	snprintf(path, psize, "%s/dev%u.img", dir, d);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		die_msg("cannot create %s: %s%s", path, strerror(errno),
			errno == EEXIST ? " (dump into a new or empty directory)" : "");
		return -1;
	}
	if (ftruncate(fd, (off_t)size)) {
		die_msg("cannot size %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n <= 0) {
			die_msg("error writing %s at byte %" PRIu64 ": %s", path, off,
				n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* write the blocks that are not all zeros: the holes of the original stay holes */
static int write_nonzero(int fd, const uint8_t *buf, size_t len, uint64_t off, const char *path)
{
	const size_t blk = 4096;
	size_t start = 0;
	bool in_run = false;

	for (size_t i = 0; i < len; i += blk) {
		bool zero = all_zero(buf + i, len - i < blk ? len - i : blk);

		if (!zero && !in_run)
			start = i;
		else if (zero && in_run && write_all(fd, buf + start, i - start, off + start, path))
			return -1;
		in_run = !zero;
	}
	return in_run ? write_all(fd, buf + start, len - start, off + start, path) : 0;
}

/*
 * --sanitize: each btree node and journal bucket of device d (in the
 * unmerged regions), read back from the copy, sanitized, written back
 */
static int sanitize_copy(struct bch_fs *fs, unsigned d, int fd, const char *path,
			 const struct bch_regions *each, uint8_t *buf,
			 struct bch_sanitize_stats *st)
{
	for (size_t i = 0; i < each->nr; i++) {
		const struct bch_region *r = &each->r[i];
		struct bch_sanitize_stats before = *st;
		struct bch_error err = { 0 };
		int ret;

		if (r->dev != d || r->kind == BCH_REGION_SB || r->len > COPY_CHUNK ||
		    pread(fd, buf, (size_t)r->len, (off_t)r->offset) != (ssize_t)r->len)
			continue;
		ret = r->kind == BCH_REGION_BTREE ?
			bch_sanitize_node(fs, buf, (size_t)r->len, st, &err) :
			bch_sanitize_journal_bucket(fs, buf, (size_t)r->len, st, &err);
		if (ret) {
			die_msg("%s", err.msg);
			return -1;
		}
		if ((st->bsets != before.bsets || st->jsets != before.jsets ||
		     st->stale_bytes != before.stale_bytes) &&
		    write_all(fd, buf, (size_t)r->len, r->offset, path))
			return -1;
	}
	return 0;
}

/* one device: its regions (rs->r[*i...], sorted by device) into a new file */
static int dump_dev(struct bch_fs *fs, unsigned d, const struct bch_regions *rs, size_t *i,
		    const char *dir, uint8_t *buf, FILE *manifest,
		    const struct bch_regions *sanitize, struct bch_sanitize_stats *st)
{
	struct bch_io *io = fs->devs[d]->io;
	uint64_t bytes = 0, nr = 0;
	char path[4096];
	int fd = create_out(dir, d, io->size, path, sizeof(path));

	if (fd < 0)
		return -1;
	for (; *i < rs->nr && rs->r[*i].dev == d; (*i)++) {
		const struct bch_region *r = &rs->r[*i];

		for (uint64_t done = 0; done < r->len;) {
			struct bch_error err = { 0 };
			size_t n = r->len - done < COPY_CHUNK ? (size_t)(r->len - done) : COPY_CHUNK;

			/* a region past the device's end is the check's business: it stays a hole */
			if (r->offset + done + n > io->size)
				break;
			if (bch_io_read(io, r->offset + done, buf, n, &err)) {
				die_msg("%s", err.msg);
				close(fd);
				return -1;
			}
			if (write_nonzero(fd, buf, n, r->offset + done, path)) {
				close(fd);
				return -1;
			}
			done += n;
			bytes += n;
		}
		nr++;
	}
	if (sanitize && sanitize_copy(fs, d, fd, path, sanitize, buf, st)) {
		close(fd);
		return -1;
	}
	if (fsync(fd) || close(fd)) {
		die_msg("error writing %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(manifest, "dev%u.img\tmember %u\t%s\t%" PRIu64 " bytes\t%" PRIu64
		" regions\t%" PRIu64 " bytes copied\n", d, d, io->path, io->size, nr, bytes);
	printf("dev%u.img: %s, %" PRIu64 " bytes of metadata in %" PRIu64 " regions\n",
	       d, io->path, bytes, nr);
	return 0;
}

static FILE *open_manifest(const char *dir, struct bch_fs *fs)
{
	char path[4096];
	struct printbuf pb = PRINTBUF;
	time_t now = time(NULL);
	char stamp[64];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/manifest.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		die_msg("cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	pb_uuid(&pb, fs->sb->user_uuid);
	fprintf(f, "# bcachefs dump: metadata only (superblocks, journal, reachable btree nodes);\n"
		"# data left as holes. Filesystem %s, version %u.%u, written %s.\n"
		"# Check it with: bcachefs fsck -n", pb.buf ? pb.buf : "?",
		fs->sb->version >> 10, fs->sb->version & 0x3ff, stamp);
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++)
		if (fs->devs[d])
			fprintf(f, " dev%u.img", d);
	fputs("\n", f);
	pb_exit(&pb);
	return f;
}

int cmd_dump(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "output",		required_argument, NULL, 'o' },
		{ "passphrase-file",	required_argument, NULL, 'P' },
		{ "sanitize",		no_argument,	   NULL, 'S' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *passphrase_file = NULL;
	struct bch_error err = { 0 };
	struct bch_regions rs = { 0 }, each = { 0 };
	struct bch_sanitize_stats st = { 0 };
	bool sanitize = false;
	struct bch_fs *fs;
	FILE *manifest = NULL;
	uint8_t *buf = NULL;
	int ch, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 'P':
			passphrase_file = optarg;
			break;
		case 'S':
			sanitize = true;
			break;
		case 'h':
			dump_usage(stdout);
			return EXIT_OK;
		default:
			dump_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!dir || optind >= argc) {
		die_msg("dump: %s", !dir ? "no output directory (-o DIR)" : "no device given");
		dump_usage(stderr);
		return EXIT_USAGE;
	}
	fs = open_fs(argv + optind, (unsigned)(argc - optind), passphrase_file, 0, &status, NULL);
	if (!fs)
		return status;
	status = EXIT_OPERATIONAL;
	if (sanitize && fs->encrypted) {
		die_msg("dump --sanitize: the filesystem is encrypted: its names and data stay "
			"encrypted in the copy, and replacing them would mean writing bsets "
			"encrypted with its key; dump it without --sanitize");
		goto out;
	}
	if (bch_metadata_regions(fs, &rs, &err) || (sanitize && bch_regions_copy(&each, &rs, &err))) {
		die_msg("%s", err.msg);
		goto out;
	}
	bch_regions_merge(&rs);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		die_msg("cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	buf = malloc(COPY_CHUNK);
	manifest = buf ? open_manifest(dir, fs) : NULL;
	if (!manifest)
		goto out;
	for (size_t i = 0; i < rs.nr;)
		if (dump_dev(fs, rs.r[i].dev, &rs, &i, dir, buf, manifest,
			     sanitize ? &each : NULL, &st))
			goto out;
	if (sanitize) {
		fprintf(manifest, "# sanitized: %" PRIu64 " names, inline data and xattrs replaced in %"
			PRIu64 " bsets and %" PRIu64 " journal entries (%" PRIu64
			" left as they were: unreadable), %" PRIu64 " stale bytes after the nodes' last"
			" bsets zeroed; dirent hashes no longer match the names\n",
			st.keys, st.bsets, st.jsets, st.skipped, st.stale_bytes);
		printf("sanitized: %" PRIu64 " names, inline data and xattrs replaced in %" PRIu64
		       " bsets and %" PRIu64 " journal entries; %" PRIu64 " unreadable left as they were\n",
		       st.keys, st.bsets, st.jsets, st.skipped);
	}
	if (rs.nodes_lost) {
		fprintf(manifest, "# %" PRIu64 " btree nodes could not be read: copied as they are, their subtrees are not reachable\n",
			rs.nodes_lost);
		printf("%" PRIu64 " btree nodes could not be read: copied as they are; what is below them is not in the dump\n",
		       rs.nodes_lost);
	}
	status = EXIT_OK;
out:
	if (manifest && fclose(manifest) && !status) {
		die_msg("error writing %s/manifest.txt", dir);
		status = EXIT_OPERATIONAL;
	}
	free(buf);
	bch_regions_free(&rs);
	bch_regions_free(&each);
	bch_fs_close(fs);
	return status;
}
