/* Undo file reading and writing (format in undo.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
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

uint64_t bch_undo_raw_bytes(unsigned nr, const uint64_t *lens)
{
	uint64_t n = HDR_BYTES + 8;

	for (unsigned i = 0; i < nr; i++)
		n += REGION_HDR + lens[i];
	return n;
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

struct bch_undo_writer {
	int		fd;
	char		tmp[4096];
	char		path[4096];
	ZSTD_CCtx	*z;
	XXH64_state_t	*hash;		/* of the raw stream, for the trailer */
	uint8_t		*out;
	size_t		out_size;
};

/* compress p into the file; end: the last bytes of the stream */
static int feed(struct bch_undo_writer *w, const void *p, size_t len, bool end,
		struct bch_error *err)
{
	ZSTD_inBuffer in = { p, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer o = { w->out, w->out_size, 0 };

		left = ZSTD_compressStream2(w->z, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return bch_err(err, BCH_ERR_IO, "undo file: zstd: %s", ZSTD_getErrorName(left));
		if (write_all(w->fd, w->out, o.pos))
			return bch_err(err, BCH_ERR_IO, "cannot write undo file %s: %s", w->tmp,
				       strerror(errno));
	} while (end ? left != 0 : in.pos < in.size);
	return 0;
}

static int feed_hashed(struct bch_undo_writer *w, const void *p, size_t len,
		       struct bch_error *err)
{
	XXH64_update(w->hash, p, len);
	return feed(w, p, len, false, err);
}

void bch_undo_writer_abort(struct bch_undo_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp);
	}
	ZSTD_freeCCtx(w->z);
	if (w->hash)
		XXH64_freeState(w->hash);
	free(w->out);
	free(w);
}

int bch_undo_writer_open(const char *path, const uint8_t fs_uuid[16], uint64_t created,
			 unsigned nr, uint64_t raw_bytes, struct bch_undo_writer **out,
			 struct bch_error *err)
{
	struct bch_undo_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[HDR_BYTES] = { 0 };

	*out = NULL;
	if (!w)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory writing the undo file");
	w->fd = -1;
	w->out_size = ZSTD_CStreamOutSize();
	w->out = malloc(w->out_size);
	w->z = ZSTD_createCCtx();
	w->hash = XXH64_createState();
	if (!w->out || !w->z || !w->hash) {
		bch_undo_writer_abort(w);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory writing the undo file");
	}
	/* the size up front, so the frame says it (the reader relies on that) */
	ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, 3);
	ZSTD_CCtx_setPledgedSrcSize(w->z, raw_bytes);
	XXH64_reset(w->hash, 0);
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", path);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		int e = errno;

		bch_undo_writer_abort(w);
		return bch_err(err, BCH_ERR_IO, "cannot write undo file %s.tmp: %s", path,
			       strerror(e));
	}
	memcpy(hdr, BCH_UNDO_MAGIC, 8);
	put_le32(hdr + 8, BCH_UNDO_VERSION);
	put_le32(hdr + 12, nr);
	memcpy(hdr + 16, fs_uuid, 16);
	put_le64(hdr + 32, created);
	if (feed_hashed(w, hdr, sizeof(hdr), err)) {
		bch_undo_writer_abort(w);
		return -BCH_ERR_IO;
	}
	*out = w;
	return 0;
}

int bch_undo_writer_add(struct bch_undo_writer *w, const struct bch_undo_region *r,
			struct bch_error *err)
{
	uint8_t h[REGION_HDR] = { 0 };

	put_le32(h, r->dev);
	memcpy(h + 8, r->dev_uuid, 16);
	put_le64(h + 24, r->offset);
	put_le64(h + 32, r->len);
	put_le64(h + 40, r->after_hash);
	put_le64(h + 48, bch_undo_hash(r->before, r->len));
	return feed_hashed(w, h, sizeof(h), err) ?: feed_hashed(w, r->before, r->len, err);
}

int bch_undo_writer_commit(struct bch_undo_writer *w, struct bch_error *err)
{
	uint8_t trailer[8];
	char dir[4096];
	int fd, ret;

	put_le64(trailer, XXH64_digest(w->hash));
	ret = feed(w, trailer, sizeof(trailer), true, err);
	if (!ret && (fsync(w->fd) || close(w->fd)))
		ret = bch_err(err, BCH_ERR_IO, "cannot write undo file %s: %s", w->tmp,
			      strerror(errno));
	if (ret) {
		bch_undo_writer_abort(w);
		return ret;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path)) {
		ret = bch_err(err, BCH_ERR_IO, "cannot rename %s to %s: %s", w->tmp, w->path,
			      strerror(errno));
		unlink(w->tmp);
		bch_undo_writer_abort(w);
		return ret;
	}
	/* the rename itself must be durable before the repair writes */
	snprintf(dir, sizeof(dir), "%s", w->path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	bch_undo_writer_abort(w);
	return 0;
}

int bch_undo_write(const char *path, const struct bch_undo *u, struct bch_error *err)
{
	struct bch_undo_writer *w;
	uint64_t raw = HDR_BYTES + 8;
	int ret;

	for (unsigned i = 0; i < u->nr; i++)
		raw += REGION_HDR + u->r[i].len;
	ret = bch_undo_writer_open(path, u->fs_uuid, u->created, u->nr, raw, &w, err);
	for (unsigned i = 0; !ret && i < u->nr; i++)
		ret = bch_undo_writer_add(w, &u->r[i], err);
	if (ret) {
		bch_undo_writer_abort(w);
		return ret;
	}
	return bch_undo_writer_commit(w, err);
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
