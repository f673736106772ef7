/* Undo file reading and writing (format in undo.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "bcachefs_format.h"
#include "undo.h"

#define HDR_BYTES	40u
#define REGION_HDR	56u
#define MAX_UNDO_BYTES	(1ULL << 34)

uint64_t bch_undo_hash(const void *p, size_t len)
{
	return XXH64(p, len, 0);
}

static size_t raw_size(const struct bch_undo *u)
{
	size_t n = HDR_BYTES + 8;

	for (unsigned i = 0; i < u->nr; i++)
		n += REGION_HDR + u->r[i].len;
	return n;
}

static uint8_t *serialize(const struct bch_undo *u, size_t *len)
{
	size_t n = raw_size(u), off = HDR_BYTES;
	uint8_t *b = calloc(1, n);

	if (!b)
		return NULL;
	memcpy(b, BCH_UNDO_MAGIC, 8);
	put_le32(b + 8, BCH_UNDO_VERSION);
	put_le32(b + 12, u->nr);
	memcpy(b + 16, u->fs_uuid, 16);
	put_le64(b + 32, u->created);
	for (unsigned i = 0; i < u->nr; i++) {
		const struct bch_undo_region *r = &u->r[i];

		put_le32(b + off, r->dev);
		memcpy(b + off + 8, r->dev_uuid, 16);
		put_le64(b + off + 24, r->offset);
		put_le64(b + off + 32, r->len);
		put_le64(b + off + 40, r->after_hash);
		put_le64(b + off + 48, bch_undo_hash(r->before, r->len));
		memcpy(b + off + REGION_HDR, r->before, r->len);
		off += REGION_HDR + r->len;
	}
	put_le64(b + off, bch_undo_hash(b, off));
	*len = n;
	return b;
}

static int write_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p = (const char *)p + r;
		len -= (size_t)r;
	}
	return 0;
}

int bch_undo_write(const char *path, const struct bch_undo *u, struct bch_error *err)
{
	size_t raw_len, bound, clen;
	uint8_t *raw = serialize(u, &raw_len), *z = NULL;
	char tmp[4096], dir[4096];
	int fd = -1, ret = 0;

	if (!raw)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory writing the undo file");
	bound = ZSTD_compressBound(raw_len);
	z = malloc(bound);
	if (!z) {
		ret = bch_err(err, BCH_ERR_NOMEM, "out of memory writing the undo file");
		goto out;
	}
	clen = ZSTD_compress(z, bound, raw, raw_len, 3);
	if (ZSTD_isError(clen)) {
		ret = bch_err(err, BCH_ERR_IO, "undo file: zstd: %s", ZSTD_getErrorName(clen));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, z, clen) || fsync(fd) || close(fd)) {
		ret = bch_err(err, BCH_ERR_IO, "cannot write undo file %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		ret = bch_err(err, BCH_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* the rename itself must be durable before the repair writes */
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
out:
	free(raw);
	free(z);
	return ret;
}

static int parse(const uint8_t *b, size_t n, const char *path, struct bch_undo *u,
		 struct bch_error *err)
{
	size_t off = HDR_BYTES;

	if (n < HDR_BYTES + 8 || memcmp(b, BCH_UNDO_MAGIC, 8))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: not an undo file (bad magic at byte 0)", path);
	if (get_le64(b + n - 8) != bch_undo_hash(b, n - 8))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: checksum error (trailer at byte %zu)",
			       path, n - 8);
	if (get_le32(b + 8) != BCH_UNDO_VERSION)
		return bch_err(err, BCH_ERR_UNSUPPORTED, "%s: undo format version %u", path,
			       get_le32(b + 8));
	u->nr = get_le32(b + 12);
	memcpy(u->fs_uuid, b + 16, 16);
	u->created = get_le64(b + 32);
	if (u->nr > (n - HDR_BYTES) / REGION_HDR)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: region count %u too large", path, u->nr);
	u->r = calloc(u->nr ? u->nr : 1, sizeof(*u->r));
	if (!u->r)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < u->nr; i++) {
		struct bch_undo_region *r = &u->r[i];

		if (off + REGION_HDR > n - 8)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: region %u truncated at byte %zu",
				       path, i, off);
		r->dev = get_le32(b + off);
		memcpy(r->dev_uuid, b + off + 8, 16);
		r->offset = get_le64(b + off + 24);
		r->len = get_le64(b + off + 32);
		r->after_hash = get_le64(b + off + 40);
		if (r->len > n - 8 - off - REGION_HDR)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: region %u length %llu past the end",
				       path, i, (unsigned long long)r->len);
		r->before = malloc(r->len ? r->len : 1);
		if (!r->before)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		memcpy(r->before, b + off + REGION_HDR, r->len);
		if (bch_undo_hash(r->before, r->len) != get_le64(b + off + 48))
			return bch_err(err, BCH_ERR_CORRUPT, "%s: region %u checksum error", path, i);
		off += REGION_HDR + r->len;
	}
	return 0;
}

int bch_undo_read(const char *path, struct bch_undo *u, struct bch_error *err)
{
	FILE *f = fopen(path, "rb");
	uint8_t *z = NULL, *raw = NULL;
	unsigned long long rsize;
	long zlen;
	size_t got;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!f)
		return bch_err(err, BCH_ERR_IO, "cannot open undo file %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (zlen = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return bch_err(err, BCH_ERR_IO, "%s: cannot read", path);
	}
	z = malloc(zlen ? (size_t)zlen : 1);
	got = z ? fread(z, 1, (size_t)zlen, f) : 0;
	fclose(f);
	if (!z || got != (size_t)zlen) {
		free(z);
		return bch_err(err, BCH_ERR_IO, "%s: cannot read", path);
	}
	rsize = ZSTD_getFrameContentSize(z, (size_t)zlen);
	if (rsize == ZSTD_CONTENTSIZE_ERROR || rsize == ZSTD_CONTENTSIZE_UNKNOWN ||
	    rsize > MAX_UNDO_BYTES) {
		free(z);
		return bch_err(err, BCH_ERR_CORRUPT, "%s: not a zstd-compressed undo file", path);
	}
	raw = malloc(rsize ? rsize : 1);
	if (!raw) {
		free(z);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	got = ZSTD_decompress(raw, rsize, z, (size_t)zlen);
	free(z);
	if (ZSTD_isError(got) || got != rsize) {
		free(raw);
		return bch_err(err, BCH_ERR_CORRUPT, "%s: damaged (zstd)", path);
	}
	ret = parse(raw, rsize, path, u, err);
	free(raw);
	if (ret)
		bch_undo_free(u);
	return ret;
}

void bch_undo_free(struct bch_undo *u)
{
	for (unsigned i = 0; u->r && i < u->nr; i++)
		free(u->r[i].before);
	free(u->r);
	memset(u, 0, sizeof(*u));
}
