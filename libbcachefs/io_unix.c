/*
 * Unix back end: regular files and block devices. Single reads use
 * pread. A batch first takes what the page cache already holds (a
 * buffered preadv2 with RWF_NOWAIT copies cached pages and returns
 * EAGAIN instead of going to the disk); what is left goes through libaio
 * at full queue depth, in disk order, on an O_DIRECT descriptor when the
 * file allows it and the request is aligned, buffered otherwise. So an
 * image read a moment ago is not read from the disk again. (A RWF_NOWAIT
 * miss is not free on every kernel: on 6.18 it starts the kernel's
 * readahead of that range, so most of a cold image ends up read through
 * the page cache after all; bench/README.md has the figures.)
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

#define AIO_DEPTH	64u
#define DIRECT_ALIGN	4096u

struct unix_priv {
	int		fd;
	int		direct_fd;	/* -1 if O_DIRECT is not possible */
	io_context_t	ctx;
	bool		have_ctx;
	bool		tried_ctx;	/* set up on the first read the cache cannot serve */
	bool		no_nowait;	/* the kernel refused RWF_NOWAIT once */
};

static int unix_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		     struct bch_error *err)
{
	struct unix_priv *p = io->priv;
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(p->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bch_err(err, BCH_ERR_IO, "%s: read of %zu bytes at byte %llu: %s",
				       io->path, len, (unsigned long long)off, strerror(errno));
		if (!r)
			return bch_err(err, BCH_ERR_IO, "%s: short read at byte %llu",
				       io->path, (unsigned long long)(off + done));
		done += (size_t)r;
	}
	io->stats.single_bytes += len;
	return 0;
}

static bool req_aligned(const struct bch_read_req *r)
{
	return !(r->offset % DIRECT_ALIGN) && !(r->len % DIRECT_ALIGN) &&
	       !((uintptr_t)r->buf % DIRECT_ALIGN);
}

/* one round of up to AIO_DEPTH requests */
static int unix_aio_round(struct bch_io *io, struct bch_read_req *reqs,
			  unsigned nr)
{
	struct unix_priv *p = io->priv;
	struct iocb cbs[AIO_DEPTH], *cbp[AIO_DEPTH];
	struct io_event ev[AIO_DEPTH];
	unsigned i, got = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		int fd = p->direct_fd >= 0 && req_aligned(&reqs[i]) ? p->direct_fd : p->fd;

		io_prep_pread(&cbs[i], fd, reqs[i].buf, reqs[i].len, (long long)reqs[i].offset);
		cbs[i].data = &reqs[i];
		cbp[i] = &cbs[i];
		reqs[i].result = -BCH_ERR_IO;
	}
	ret = io_submit(p->ctx, (long)nr, cbp);
	if (ret != (int)nr) {
		/* reap what was submitted, the caller falls back to pread */
		if (ret > 0)
			io_getevents(p->ctx, ret, ret, ev, NULL);
		return -1;
	}
	while (got < nr) {
		ret = io_getevents(p->ctx, 1, (long)(nr - got), ev, NULL);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return -1;
		for (i = 0; i < (unsigned)ret; i++) {
			struct bch_read_req *r = ev[i].data;

			r->result = ev[i].res == r->len ? 0 : -BCH_ERR_IO;
		}
		got += (unsigned)ret;
	}
	return 0;
}

/*
 * Copy the request from the page cache if all of it is there: true when
 * done. RWF_NOWAIT makes a buffered read fail with EAGAIN (or come back
 * short) rather than wait for the disk.
 */
static bool unix_read_cached(struct unix_priv *p, struct bch_read_req *r)
{
	struct iovec iov = { .iov_base = r->buf, .iov_len = r->len };
	ssize_t got;

	if (p->no_nowait)
		return false;
	do
		got = preadv2(p->fd, &iov, 1, (off_t)r->offset, RWF_NOWAIT);
	while (got < 0 && errno == EINTR);
	if (got < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS))
		p->no_nowait = true;
	return got == (ssize_t)r->len;
}

static int cmp_req_offset(const void *a, const void *b)
{
	const struct bch_read_req *x = *(struct bch_read_req *const *)a;
	const struct bch_read_req *y = *(struct bch_read_req *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int unix_read_batch(struct bch_io *io, struct bch_read_req *reqs,
			   unsigned nr, struct bch_error *err)
{
	struct unix_priv *p = io->priv;
	struct bch_read_req **miss = malloc((nr ? nr : 1) * sizeof(*miss));
	struct bch_read_req round[AIO_DEPTH];
	unsigned nr_miss = 0;
	int ret = 0;

	if (!miss)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory reading %s", io->path);
	for (unsigned i = 0; i < nr; i++) {
		if (unix_read_cached(p, &reqs[i])) {
			reqs[i].result = 0;
			io->stats.cached_bytes += reqs[i].len;
			continue;
		}
		miss[nr_miss++] = &reqs[i];
	}
	/* the disk reads in disk order */
	qsort(miss, nr_miss, sizeof(*miss), cmp_req_offset);
	for (unsigned start = 0; start < nr_miss; start += AIO_DEPTH) {
		unsigned n = nr_miss - start < AIO_DEPTH ? nr_miss - start : AIO_DEPTH;

		for (unsigned i = 0; i < n; i++)
			round[i] = *miss[start + i];
		/*
		 * the aio context only when the disk must be read: tearing one
		 * down waits for the kernel (tens of ms), a cost a warm check
		 * need not pay
		 */
		if (!p->tried_ctx) {
			p->tried_ctx = true;
			p->have_ctx = !io_setup(AIO_DEPTH, &p->ctx);
		}
		if (!p->have_ctx || unix_aio_round(io, round, n))
			for (unsigned i = 0; i < n; i++)
				round[i].result = -BCH_ERR_IO;
		for (unsigned i = 0; i < n; i++) {
			struct bch_read_req *r = miss[start + i];

			r->result = round[i].result;
			if (!r->result) {
				io->stats.batch_bytes += r->len;
				continue;
			}
			/* anything aio could not read is retried with pread for a clear error */
			r->result = unix_read(io, r->offset, r->buf, r->len, err);
			if (r->result)
				ret = r->result;
		}
	}
	free(miss);
	return ret;
}

static int unix_write(struct bch_io *io, uint64_t off, const void *buf,
		      size_t len, struct bch_error *err)
{
	struct unix_priv *p = io->priv;
	size_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(p->fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return bch_err(err, BCH_ERR_IO, "%s: write of %zu bytes at byte %llu: %s",
				       io->path, len, (unsigned long long)off,
				       r < 0 ? strerror(errno) : "short write");
		done += (size_t)r;
	}
	return 0;
}

static int unix_flush(struct bch_io *io, struct bch_error *err)
{
	struct unix_priv *p = io->priv;

	if (fsync(p->fd))
		return bch_err(err, BCH_ERR_IO, "%s: fsync: %s", io->path, strerror(errno));
	return 0;
}

static void unix_close(struct bch_io *io)
{
	struct unix_priv *p = io->priv;

	if (p->have_ctx)
		io_destroy(p->ctx);
	if (p->direct_fd >= 0)
		close(p->direct_fd);
	close(p->fd);
	free(p);
	free(io->path);
	free(io);
}

static const struct bch_io_ops bch_io_unix_ops = {
	.name		= "unix",
	.read		= unix_read,
	.read_batch	= unix_read_batch,
	.write		= unix_write,
	.flush		= unix_flush,
	.close		= unix_close,
};

int bch_io_open_unix(const char *path, unsigned flags, struct bch_io **out,
		     struct bch_error *err)
{
	int mode = flags & BCH_IO_WRITE ? O_RDWR : O_RDONLY;
	struct unix_priv *p = NULL;
	struct bch_io *io = NULL;
	struct stat st;
	int fd;

	fd = open(path, mode | O_CLOEXEC);
	if (fd < 0)
		return bch_err(err, BCH_ERR_IO, "%s: open: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return bch_err(err, BCH_ERR_IO, "%s: stat: %s", path, strerror(errno));
	}
	if (S_ISBLK(st.st_mode) && !(flags & BCH_IO_SHARED)) {
		/* hold block devices exclusively: nobody may mount under us */
		close(fd);
		fd = open(path, mode | O_CLOEXEC | O_EXCL);
		if (fd < 0)
			return bch_err(err, BCH_ERR_IO, "%s: open exclusive: %s (mounted or in use?)",
				       path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bch_err(err, BCH_ERR_IO, "%s: not a regular file or block device", path);
	}

	io = calloc(1, sizeof(*io));
	p = calloc(1, sizeof(*p));
	if (!io || !p || !(io->path = strdup(path))) {
		free(io);
		free(p);
		close(fd);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory opening %s", path);
	}
	p->fd = fd;
	p->direct_fd = open(path, mode | O_CLOEXEC | O_DIRECT);
	io->ops = &bch_io_unix_ops;
	pthread_mutex_init(&io->lock, NULL);
	io->priv = p;
	io->writable = flags & BCH_IO_WRITE;
	io->is_blockdev = S_ISBLK(st.st_mode);
	io->size = (uint64_t)st.st_size;
	if (io->is_blockdev) {
		uint64_t bytes = 0;

		if (!ioctl(fd, BLKGETSIZE64, &bytes))
			io->size = bytes;
	}
	*out = io;
	return 0;
}

void bch_io_close(struct bch_io *io)
{
	if (!io)
		return;
	pthread_mutex_destroy(&io->lock);
	io->ops->close(io);
}

static int check_range(struct bch_io *io, uint64_t off, size_t len,
		       struct bch_error *err)
{
	if (off > io->size || len > io->size - off)
		return bch_err(err, BCH_ERR_IO,
			       "%s: read of %zu bytes at byte %llu is past the end of the device (%llu bytes)",
			       io->path, len, (unsigned long long)off,
			       (unsigned long long)io->size);
	return 0;
}

int bch_io_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		struct bch_error *err)
{
	int ret = check_range(io, off, len, err);

	if (ret)
		return ret;
	pthread_mutex_lock(&io->lock);
	ret = io->ops->read(io, off, buf, len, err);
	pthread_mutex_unlock(&io->lock);
	return ret;
}

int bch_io_read_batch(struct bch_io *io, struct bch_read_req *reqs,
		      unsigned nr, struct bch_error *err)
{
	int ret = 0;

	for (unsigned i = 0; i < nr; i++) {
		reqs[i].result = 0;
		if (check_range(io, reqs[i].offset, reqs[i].len, NULL))
			reqs[i].result = -BCH_ERR_IO;
	}
	/* out-of-range requests are not passed down */
	for (unsigned i = 0; i < nr; i++)
		if (reqs[i].result)
			return bch_err(err, BCH_ERR_IO,
				       "%s: read of %zu bytes at byte %llu is past the end of the device (%llu bytes)",
				       io->path, reqs[i].len,
				       (unsigned long long)reqs[i].offset,
				       (unsigned long long)io->size);
	pthread_mutex_lock(&io->lock);
	ret = io->ops->read_batch(io, reqs, nr, err);
	pthread_mutex_unlock(&io->lock);
	return ret;
}

int bch_io_write(struct bch_io *io, uint64_t off, const void *buf, size_t len,
		 struct bch_error *err)
{
	int ret;

	if (!io->writable)
		return bch_err(err, BCH_ERR_INVAL, "%s: opened read-only, refusing to write",
			       io->path);
	if (off > io->size || len > io->size - off)
		return bch_err(err, BCH_ERR_IO, "%s: write past the end of the device at byte %llu",
			       io->path, (unsigned long long)off);
	pthread_mutex_lock(&io->lock);
	ret = io->ops->write(io, off, buf, len, err);
	pthread_mutex_unlock(&io->lock);
	return ret;
}
