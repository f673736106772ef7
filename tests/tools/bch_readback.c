/*
 * bch_readback: read a tree copied by `format --source` back out of the
 * filesystem and compare it with the source: every name (dirents), type,
 * mode, owner, size and mtime (inodes), every byte of file and symlink
 * data (extents: checksum of each pointer's data verified, holes read as
 * zeros), the user xattrs, and the sectors counted in bi_sectors.
 *
 *   bch_readback SRC DEV...
 *
 * Prints one line per difference and a summary; exit 0 if none, 1 if
 * any, 2 on an error. A test tool: it holds every dirent in memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "btree_iter.h"
#include "btree_lookup.h"
#include "checksum.h"
#include "dirents.h"
#include "extents.h"
#include "fs.h"
#include "inode.h"
#include "xattr.h"

struct dent {
	uint64_t	dir, inum;
	uint8_t		type;
	char		*name;
};

struct rb {
	struct bch_fs	*fs;
	struct dent	*d;
	size_t		nr, size;
	struct bch_inode_unpacked *in;	/* every inode, by number */
	size_t		nr_in, size_in;
	unsigned	bad;
	uint64_t	files, bytes, extents;
	uint8_t		*dbuf, *sbuf;	/* an extent's data, the source's */
	struct bch_lookup_cache lc;
};

static int cmp_dent(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void bad(struct rb *r, const char *path, const char *fmt, const char *what)
{
	printf("DIFF %s: %s%s\n", path, fmt, what ? what : "");
	r->bad++;
}

static int load_dirents(struct rb *r, struct bch_error *err)
{
	struct bch_btree_iter it;
	struct bkey k;
	int ret;

	bch_btree_iter_init(&it, r->fs, BTREE_ID_dirents, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		struct bch_dirent_unpacked d;

		if (k.type != KEY_TYPE_dirent || bch_dirent_unpack(&k, &d, NULL))
			continue;
		if (r->nr == r->size) {
			r->size = r->size ? r->size * 2 : 1024;
			r->d = realloc(r->d, r->size * sizeof(*r->d));
			if (!r->d)
				return -1;
		}
		r->d[r->nr] = (struct dent){ .dir = k.p.inode, .inum = d.d_inum, .type = d.d_type,
					     .name = strndup((const char *)d.name, d.name_len) };
		r->nr++;
	}
	bch_btree_iter_exit(&it);
	if (r->nr)
		qsort(r->d, r->nr, sizeof(*r->d), cmp_dent);
	return ret;
}

static const struct dent *find(struct rb *r, uint64_t dir, const char *name)
{
	struct dent key = { .dir = dir, .name = (char *)name };

	return r->nr ? bsearch(&key, r->d, r->nr, sizeof(*r->d), cmp_dent) : NULL;
}

static int load_inodes(struct rb *r, struct bch_error *err)
{
	struct bch_btree_iter it;
	struct bkey k;
	int ret;

	bch_btree_iter_init(&it, r->fs, BTREE_ID_inodes, POS_MIN, SPOS_MAX);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		if (r->nr_in == r->size_in) {
			r->size_in = r->size_in ? r->size_in * 2 : 1024;
			r->in = realloc(r->in, r->size_in * sizeof(*r->in));
			if (!r->in)
				return -1;
		}
		if (!bch_inode_unpack(&k, &r->in[r->nr_in], NULL))
			r->nr_in++;
	}
	bch_btree_iter_exit(&it);
	return ret;
}

/* the btree is in inode number order, and so is the array */
static int get_inode(struct rb *r, uint64_t inum, struct bch_inode_unpacked *in)
{
	size_t lo = 0, hi = r->nr_in;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->in[mid].bi_inum < inum)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->nr_in || r->in[lo].bi_inum != inum)
		return 0;
	*in = r->in[lo];
	return 1;
}

/* src bytes [off, off + len) of the source file, zeros past its end */
static void src_read(int fd, uint64_t size, uint64_t off, uint8_t *buf, size_t len)
{
	memset(buf, 0, len);
	if (off < size)
		(void)!pread(fd, buf, size - off < len ? size - off : len, (off_t)off);
}

static bool all_zero(int fd, uint64_t size, uint64_t from, uint64_t to, uint8_t *buf)
{
	for (uint64_t o = from; o < to && o < size; o += 65536) {
		size_t n = to - o < 65536 ? to - o : 65536;

		src_read(fd, size, o, buf, n);
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return false;
	}
	return true;
}

/* one extent: each pointer's data checksummed and compared with the source */
static int check_extent(struct rb *r, const char *path, int fd, uint64_t size,
			const struct bkey *k, uint8_t *dbuf, uint8_t *sbuf, struct bch_error *err)
{
	uint64_t start = (k->p.offset - k->size) << 9;
	size_t len = (size_t)k->size << 9;
	struct bch_extent_crc crc = { 0 };
	unsigned off = 0, nr_ptrs = 0;

	src_read(fd, size, start, sbuf, len);
	while (off < k->val_bytes) {
		struct bch_extent_entry e;
		unsigned n = bch_extent_entry_decode(k->val + off, k->val_bytes - off, &e);

		if (!n)
			break;
		off += n;
		if (e.type >= BCH_EXTENT_ENTRY_crc32 && e.type <= BCH_EXTENT_ENTRY_crc128)
			crc = e.crc;
		if (e.type != BCH_EXTENT_ENTRY_ptr)
			continue;
		nr_ptrs++;
		if (!r->fs->devs[e.ptr.dev] ||
		    bch_io_read(r->fs->devs[e.ptr.dev]->io, e.ptr.offset << 9, dbuf, len, err))
			return -1;
		if (crc.csum_type) {
			struct bch_csum c;

			if (crc.offset || crc.compressed_size != k->size ||
			    bch_checksum(crc.csum_type, NULL, (struct bch_nonce){ { 0 } }, dbuf, len,
					 &c) || !bch_csum_eq(c, crc.csum))
				bad(r, path, "extent checksum does not match its data", NULL);
		}
		if (memcmp(dbuf, sbuf, len))
			bad(r, path, "extent data differs from the source", NULL);
	}
	if (!nr_ptrs)
		bad(r, path, "extent without pointers", NULL);
	r->extents++;
	r->bytes += len;
	return 0;
}

static int check_data(struct rb *r, const char *path, int fd, uint64_t size,
		      const struct bch_inode_unpacked *in, struct bch_error *err)
{
	uint8_t *dbuf = r->dbuf, *sbuf = r->sbuf;
	struct bpos p = BPOS(in->bi_inum, 0, 0), last = BPOS(in->bi_inum, UINT64_MAX, UINT32_MAX);
	uint64_t end = 0, sectors = 0;
	struct bkey k;
	int ret;

	/* no data: nothing to look up, the source must read as zeros */
	if (!in->bi_sectors) {
		if (!all_zero(fd, size, 0, size, sbuf))
			bad(r, path, "source data but no extents", NULL);
		return 0;
	}
	while ((ret = bch_lookup_next(&r->lc, BTREE_ID_extents, p, last, &k, err)) > 0) {
		p = bpos_successor(k.p);
		if (k.type != KEY_TYPE_extent)
			continue;
		if (!all_zero(fd, size, end << 9, (k.p.offset - k.size) << 9, sbuf))
			bad(r, path, "source data in a hole of the copy", NULL);
		ret = check_extent(r, path, fd, size, &k, dbuf, sbuf, err);
		if (ret)
			break;
		end = k.p.offset;
		sectors += k.size;
		if (bpos_eq(k.p, last))
			break;
	}
	if (!ret && !all_zero(fd, size, end << 9, size, sbuf))
		bad(r, path, "source data past the last extent", NULL);
	if (!ret && sectors != in->bi_sectors)
		bad(r, path, "bi_sectors is not the sum of the extents", NULL);
	return ret;
}

static void check_xattrs(struct rb *r, const char *path, uint64_t inum, struct bch_error *err)
{
	char list[65536], val[65536];
	ssize_t n = llistxattr(path, list, sizeof(list));
	unsigned want = 0, have = 0;
	struct bch_btree_iter it;
	struct bkey k;

	for (const char *a = list; n > 0 && a < list + n; a += strlen(a) + 1)
		want += !strncmp(a, "user.", 5);
	bch_btree_iter_init(&it, r->fs, BTREE_ID_xattrs, BPOS(inum, 0, 0),
			    BPOS(inum, UINT64_MAX, UINT32_MAX));
	while (bch_btree_iter_next(&it, &k, err) > 0) {
		struct bch_xattr_unpacked x;
		char name[300];
		ssize_t len;

		if (k.type != KEY_TYPE_xattr || bch_xattr_unpack(&k, &x, NULL) ||
		    x.type != BCH_XATTR_INDEX_USER)
			continue;
		have++;
		snprintf(name, sizeof(name), "user.%.*s", (int)x.name_len, x.name);
		len = lgetxattr(path, name, val, sizeof(val));
		if (len != (ssize_t)x.val_len || memcmp(val, x.value, x.val_len))
			bad(r, path, "xattr differs: ", name);
	}
	bch_btree_iter_exit(&it);
	if (want != have)
		bad(r, path, "number of user xattrs differs", NULL);
}

static int64_t fs_time(struct rb *r, const struct timespec *ts)
{
	return ((int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec -
		(int64_t)r->fs->sb->time_base_lo) / (int64_t)r->fs->sb->time_precision;
}

static int check_file(struct rb *r, const char *path, const struct stat *st,
		      const struct bch_inode_unpacked *in, struct bch_error *err)
{
	int ret = 0;

	if (S_ISREG(st->st_mode)) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			return -1;
		if (in->bi_size != (uint64_t)st->st_size)
			bad(r, path, "size differs", NULL);
		ret = check_data(r, path, fd, (uint64_t)st->st_size, in, err);
		close(fd);
	} else if (S_ISLNK(st->st_mode)) {
		char target[4096] = { 0 };
		int fd;
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		char tmp[] = "/tmp/bch_readback.XXXXXX";

		/* the target, as a file, goes through the same data comparison */
		fd = mkstemp(tmp);
		if (fd < 0 || n < 0 || write(fd, target, (size_t)n) != n)
			return -1;
		if (in->bi_size != (uint64_t)n)
			bad(r, path, "symlink length differs", NULL);
		ret = check_data(r, path, fd, (uint64_t)n, in, err);
		close(fd);
		unlink(tmp);
	} else if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) &&
		   in->bi_dev != (major(st->st_rdev) << 20 | minor(st->st_rdev))) {
		bad(r, path, "device number differs", NULL);
	}
	return ret;
}

static int walk(struct rb *r, const char *path, uint64_t dir, bool top, struct bch_error *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return -1;
	while (!ret && (e = readdir(d))) {
		char child[4096];
		struct bch_inode_unpacked in;
		const struct dent *de;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (top && !strcmp(e->d_name, "lost+found")))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		if (lstat(child, &st))
			return -1;
		de = find(r, dir, e->d_name);
		if (!de) {
			bad(r, child, "no dirent", NULL);
			continue;
		}
		if (de->type != ((st.st_mode >> 12) & 15))
			bad(r, child, "dirent type differs", NULL);
		ret = get_inode(r, de->inum, &in);
		if (ret <= 0) {
			bad(r, child, "no inode", NULL);
			ret = 0;
			continue;
		}
		ret = 0;
		r->files++;
		if (in.bi_mode != (uint16_t)st.st_mode || in.bi_uid != st.st_uid ||
		    in.bi_gid != st.st_gid)
			bad(r, child, "mode or owner differs", NULL);
		if ((int64_t)in.bi_mtime != fs_time(r, &st.st_mtim))
			bad(r, child, "mtime differs", NULL);
		if (in.bi_dir != dir && !(S_ISREG(st.st_mode) && st.st_nlink > 1))
			bad(r, child, "inode backpointer differs", NULL);
		check_xattrs(r, child, in.bi_inum, err);
		ret = S_ISDIR(st.st_mode) ? walk(r, child, in.bi_inum, false, err)
					  : check_file(r, child, &st, &in, err);
	}
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	struct bch_fs_opts o = { 0 };
	struct bch_error err = { 0 };
	struct rb r = { 0 };
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: bch_readback SRC DEV...\n");
		return 2;
	}
	r.dbuf = malloc(8u << 20);
	r.sbuf = malloc(8u << 20);
	if (!r.dbuf || !r.sbuf)
		return 2;
	if (bch_fs_open(argv + 2, (unsigned)(argc - 2), &o, &r.fs, &err)) {
		fprintf(stderr, "bch_readback: %s\n", err.msg);
		return 2;
	}
	bch_lookup_cache_init(&r.lc, r.fs);
	ret = load_dirents(&r, &err) ?: load_inodes(&r, &err) ?:
	      walk(&r, argv[1], 4096, true, &err);
	if (ret) {
		fprintf(stderr, "bch_readback: error: %s\n", err.msg[0] ? err.msg : strerror(errno));
		return 2;
	}
	printf("readback: %llu names, %llu extents, %llu bytes compared, %u differences\n",
	       (unsigned long long)r.files, (unsigned long long)r.extents,
	       (unsigned long long)r.bytes, r.bad);
	for (size_t i = 0; i < r.nr; i++)
		free(r.d[i].name);
	free(r.d);
	free(r.in);
	free(r.dbuf);
	free(r.sbuf);
	bch_lookup_cache_exit(&r.lc);
	bch_fs_close(r.fs);
	return r.bad ? 1 : 0;
}
