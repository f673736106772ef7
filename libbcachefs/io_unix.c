/*
 * Unix back end: regular files and block devices. Single reads use
 * pread. A batch first takes what the page cache already holds, copied
 * with a buffered pread; what is left is read at full queue depth, in
 * disk order, on an O_DIRECT descriptor when the file allows it and the
 * request is aligned, buffered otherwise. So an image read a moment ago
 * is not read from the disk again, and one that is not cached is read at
 * the disk's speed. Where the cache holds most of what was read so far
 * and only a few blocks were evicted, those few are read through the
 * cache instead, so the next run (a repair after a check) finds them.
 *
 * The queue is io_uring where the kernel offers it, libaio where it does
 * not (io_uring disabled by sysctl or a seccomp filter). Both read as
 * fast; the difference is the end: destroying a libaio context waits for
 * two RCU grace periods (30-45 ms measured on 6.18, at io_destroy or at
 * exit), while an io_uring ring is torn down by a kernel worker after
 * close returns. A check that finds all but a few nodes cached would
 * otherwise spend more time tearing down than reading (bench/README.md).
 *
 * What is cached is asked without reading: mincore(2) over a read-only
 * window of the device mapped for that purpose alone (its pages are never
 * touched, so they cost no memory). The kernel answers truthfully only to
 * a caller who could write the file or owns it (mm/mincore.c
 * can_do_mincore; root can); for anyone else, or where the mapping fails,
 * a buffered preadv2(RWF_NOWAIT) is tried instead, which copies what is
 * cached and fails with EAGAIN on the rest, but on some kernels (6.18)
 * starts the readahead of a missed range, so a cold image is then read
 * through the page cache after all (bench/README.md has the figures).
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

#define AIO_DEPTH	64u
#define DIRECT_ALIGN	4096u
/* the mapped window mincore looks through, and the most one call covers */
#define MAP_WINDOW	(1ULL << 30)
#define MINCORE_MAX	(64ULL << 20)
/* requests at most this far apart share a mincore call */
#define RESIDENT_GAP	(64ULL << 10)

struct unix_priv {
	int		fd;
	int		direct_fd;	/* -1 if O_DIRECT is not possible */
	/* the queue, set up on the first read the cache cannot serve */
	struct io_uring	ring;
	io_context_t	ctx;
	enum {
		QUEUE_UNTRIED, QUEUE_URING, QUEUE_AIO, QUEUE_NONE,
		QUEUE_BROKEN,	/* a ring that failed: torn down at close */
	}		queue;
	bool		no_nowait;	/* the kernel refused RWF_NOWAIT once */
	unsigned	inflight;	/* reads in the ring, of any batch */
	/* residency by mincore: the window mapped, [map_off, map_off + map_len) */
	bool		use_mincore;
	uint8_t		*map;
	uint64_t	map_off, map_len;
	size_t		page;
	unsigned char	*vec;		/* MINCORE_MAX / page entries */
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

/* O_DIRECT where the request allows it, unless the read is to go through the cache */
static int read_fd(const struct unix_priv *p, const struct bch_read_req *r, bool buffered)
{
	return !buffered && p->direct_fd >= 0 && req_aligned(r) ? p->direct_fd : p->fd;
}

/* one round of up to AIO_DEPTH requests */
static int unix_aio_round(struct bch_io *io, struct bch_read_req *reqs,
			  unsigned nr, bool buffered)
{
	struct unix_priv *p = io->priv;
	struct iocb cbs[AIO_DEPTH], *cbp[AIO_DEPTH];
	struct io_event ev[AIO_DEPTH];
	unsigned i, got = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		int fd = read_fd(p, &reqs[i], buffered);

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
 * Wait for one completion of the ring and give its request its result:
 * a request of a started batch (bch_io_read_start) counts down that
 * batch. NULL: the ring failed.
 */
static struct bch_read_req *uring_reap_one(struct unix_priv *p)
{
	struct io_uring_cqe *cqe;
	struct bch_read_req *r;
	int w;

	do
		w = io_uring_wait_cqe(&p->ring, &cqe);
	while (w == -EINTR);
	if (w < 0)
		return NULL;
	r = io_uring_cqe_get_data(cqe);
	r->result = cqe->res == (int)r->len ? 0 : -BCH_ERR_IO;
	io_uring_cqe_seen(&p->ring, cqe);
	p->inflight--;
	if (r->async)
		r->async->pending--;
	return r;
}

/*
 * Queue nr reads and submit them: how many the kernel took (the rest are
 * not in the ring). Room is made first by reaping earlier reads: the
 * ring holds at most AIO_DEPTH at a time.
 */
static unsigned uring_submit(struct unix_priv *p, struct bch_read_req **reqs, unsigned nr,
			     bool buffered)
{
	unsigned i, submitted = 0;

	for (i = 0; i < nr; i++) {
		struct io_uring_sqe *sqe;

		while (p->inflight + i >= AIO_DEPTH && p->inflight && uring_reap_one(p))
			;
		sqe = io_uring_get_sqe(&p->ring);
		if (!sqe)
			break;		/* not with a ring of AIO_DEPTH entries */
		io_uring_prep_read(sqe, read_fd(p, reqs[i], buffered), reqs[i]->buf,
				   (unsigned)reqs[i]->len, reqs[i]->offset);
		io_uring_sqe_set_data(sqe, reqs[i]);
	}
	nr = i;
	while (submitted < nr) {
		int ret = io_uring_submit(&p->ring);

		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret <= 0)
			break;
		submitted += (unsigned)ret;
	}
	p->inflight += submitted;
	return submitted;
}

/*
 * The same round through io_uring. A ring that fails mid-round is given
 * up (what it took is reaped first, so no read lands in a buffer after
 * its caller has moved on); the caller retries the round with pread.
 * Completions of started batches met on the way are theirs.
 */
static int unix_uring_round(struct bch_io *io, struct bch_read_req *reqs,
			    unsigned nr, bool buffered)
{
	struct unix_priv *p = io->priv;
	struct bch_read_req *v[AIO_DEPTH];
	unsigned i, submitted, got = 0;

	for (i = 0; i < nr; i++) {
		reqs[i].result = -BCH_ERR_IO;
		reqs[i].async = NULL;
		v[i] = &reqs[i];
	}
	submitted = uring_submit(p, v, nr, buffered);
	while (got < submitted) {
		struct bch_read_req *r = uring_reap_one(p);

		if (!r)
			break;
		got += !r->async;
	}
	if (got < submitted || submitted < nr) {
		p->queue = QUEUE_BROKEN;
		return -1;
	}
	return 0;
}

/* set the queue up once, io_uring first */
static void unix_queue_init(struct unix_priv *p)
{
	if (p->queue != QUEUE_UNTRIED)
		return;
	if (!io_uring_queue_init(AIO_DEPTH, &p->ring, 0))
		p->queue = QUEUE_URING;
	else if (!io_setup(AIO_DEPTH, &p->ctx))
		p->queue = QUEUE_AIO;
	else
		p->queue = QUEUE_NONE;
}

static int unix_queue_round(struct bch_io *io, struct bch_read_req *reqs,
			    unsigned nr, bool buffered)
{
	struct unix_priv *p = io->priv;

	unix_queue_init(p);
	if (p->queue == QUEUE_URING)
		return unix_uring_round(io, reqs, nr, buffered);
	if (p->queue == QUEUE_AIO)
		return unix_aio_round(io, reqs, nr, buffered);
	return -1;
}

/* map the window of the device that holds [off, off + len) (len <= MAP_WINDOW) */
static bool map_window(struct bch_io *io, uint64_t off, uint64_t len)
{
	struct unix_priv *p = io->priv;
	uint64_t start = off & ~(MAP_WINDOW - 1), wlen = 2 * MAP_WINDOW;
	void *m;

	if (p->map && off >= p->map_off && off + len <= p->map_off + p->map_len)
		return true;
	if (p->map)
		munmap(p->map, p->map_len);
	p->map = NULL;
	if (start + wlen > io->size)
		wlen = io->size - start;
	wlen = (wlen + p->page - 1) & ~(uint64_t)(p->page - 1);
	m = mmap(NULL, wlen, PROT_READ, MAP_SHARED, p->fd, (off_t)start);
	if (m == MAP_FAILED) {
		p->use_mincore = false;	/* RWF_NOWAIT from now on */
		return false;
	}
	p->map = m;
	p->map_off = start;
	p->map_len = wlen;
	return true;
}

/*
 * Is all of [off, off + len) in the page cache? 1 yes, 0 no, -1 cannot
 * tell. The range is looked at in pieces of at most MINCORE_MAX.
 */
static int unix_resident(struct bch_io *io, uint64_t off, uint64_t len)
{
	struct unix_priv *p = io->priv;
	uint64_t end = off + len;

	off &= ~(uint64_t)(p->page - 1);
	while (off < end) {
		uint64_t n = end - off < MINCORE_MAX ? end - off : MINCORE_MAX;
		size_t pages = (size_t)((n + p->page - 1) / p->page);

		if (!p->use_mincore || !map_window(io, off, n) ||
		    mincore(p->map + (off - p->map_off), n, p->vec)) {
			p->use_mincore = false;
			return -1;
		}
		for (size_t i = 0; i < pages; i++)
			if (!(p->vec[i] & 1))
				return 0;
		off += n;
	}
	return 1;
}

/*
 * Residency of a batch, its requests ord[0, nr) sorted by offset: in[i]
 * set when all pages of ord[i] are cached. Requests close together (gaps
 * up to RESIDENT_GAP) are asked in one mincore call; a call costs about
 * what a lookup of a few pages does, and mincore looks up every page of
 * its range, so the span between nodes far apart is not asked. false:
 * mincore cannot be used (the requests are then asked one by one).
 */
static bool batch_resident(struct bch_io *io, struct bch_read_req *const *ord,
			   unsigned nr, bool *in)
{
	struct unix_priv *p = io->priv;
	unsigned i = 0;

	if (!p->use_mincore)
		return false;
	while (i < nr) {
		uint64_t lo = ord[i]->offset & ~(uint64_t)(p->page - 1);
		uint64_t hi = ord[i]->offset + ord[i]->len;
		unsigned j = i + 1;

		for (; j < nr && ord[j]->offset <= hi + RESIDENT_GAP; j++) {
			uint64_t e = ord[j]->offset + ord[j]->len;

			if ((e > hi ? e : hi) - lo > MINCORE_MAX)
				break;
			hi = e > hi ? e : hi;
		}
		if (hi - lo > MINCORE_MAX) {	/* one request larger than a call covers */
			int res = unix_resident(io, ord[i]->offset, ord[i]->len);

			if (res < 0)
				return false;
			in[i++] = res;
			continue;
		}
		if (!map_window(io, lo, hi - lo) ||
		    mincore(p->map + (lo - p->map_off), hi - lo, p->vec)) {
			p->use_mincore = false;
			return false;
		}
		for (; i < j; i++) {
			size_t first = (size_t)((ord[i]->offset - lo) / p->page);
			size_t last = (size_t)((ord[i]->offset + ord[i]->len - 1 - lo) / p->page);

			in[i] = true;
			for (size_t pg = first; pg <= last && in[i]; pg++)
				in[i] = p->vec[pg] & 1;
		}
	}
	return true;
}

/* a buffered read of a request the page cache holds: true when done */
static bool unix_copy_cached(struct unix_priv *p, struct bch_read_req *r)
{
	size_t done = 0;

	while (done < r->len) {
		ssize_t got = pread(p->fd, (char *)r->buf + done, r->len - done,
				    (off_t)(r->offset + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		done += (size_t)got;
	}
	return true;
}

/*
 * Copy the request from the page cache if all of it is there: true when
 * done. Asked first with mincore; where that cannot be used, RWF_NOWAIT
 * makes a buffered read fail with EAGAIN (or come back short) rather than
 * wait for the disk.
 */
static bool unix_read_cached(struct bch_io *io, struct bch_read_req *r)
{
	struct unix_priv *p = io->priv;
	struct iovec iov = { .iov_base = r->buf, .iov_len = r->len };
	ssize_t got;
	int res = p->use_mincore ? unix_resident(io, r->offset, r->len) : -1;

	if (res >= 0)
		return res && unix_copy_cached(p, r);
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

/*
 * Copy what the page cache holds of reqs: ord[0, return) are then the
 * misses, in disk order (ord and in have room for nr). *buffered: read
 * the misses through the cache.
 */
static unsigned take_cached(struct bch_io *io, struct bch_read_req *reqs, unsigned nr,
			    struct bch_read_req **ord, bool *in, bool *buffered)
{
	struct unix_priv *p = io->priv;
	unsigned nr_miss = 0;
	bool known;

	/* in disk order: the cache is asked by neighbourhoods, the disk reads in order */
	for (unsigned i = 0; i < nr; i++)
		ord[i] = &reqs[i];
	qsort(ord, nr, sizeof(*ord), cmp_req_offset);
	known = batch_resident(io, ord, nr, in);
	for (unsigned i = 0; i < nr; i++) {
		ord[i]->async = NULL;
		if (known ? in[i] && unix_copy_cached(p, ord[i]) : unix_read_cached(io, ord[i])) {
			ord[i]->result = 0;
			io->stats.cached_bytes += ord[i]->len;
			continue;
		}
		ord[nr_miss++] = ord[i];	/* the misses, still in order */
	}
	/*
	 * A device whose reads so far were mostly found in the page cache
	 * is one the kernel evicted a little of: its misses are read
	 * through the cache, so that they are cached for the next run (a
	 * repair after a check) instead of read from the disk every time.
	 * Otherwise (a cold device) O_DIRECT, which leaves the cache alone.
	 * The first misses, with nothing to go by (a root or two), go
	 * through the cache.
	 */
	*buffered = bch_io_mostly_cached(io);
	return nr_miss;
}

/* a request the queue read, or, if it could not, read again with pread for a clear error */
static int finish_req(struct bch_io *io, struct bch_read_req *r, struct bch_error *err)
{
	if (!r->result) {
		io->stats.batch_bytes += r->len;
		return 0;
	}
	r->result = unix_read(io, r->offset, r->buf, r->len, err);
	return r->result;
}

static int unix_read_batch(struct bch_io *io, struct bch_read_req *reqs,
			   unsigned nr, struct bch_error *err)
{
	struct bch_read_req **ord = malloc((nr ? nr : 1) * sizeof(*ord));
	bool *in = malloc(nr ? nr : 1);
	struct bch_read_req round[AIO_DEPTH];
	unsigned nr_miss;
	bool buffered;
	int ret = 0;

	if (!ord || !in) {
		free(ord);
		free(in);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory reading %s", io->path);
	}
	nr_miss = take_cached(io, reqs, nr, ord, in, &buffered);
	for (unsigned start = 0; start < nr_miss; start += AIO_DEPTH) {
		unsigned n = nr_miss - start < AIO_DEPTH ? nr_miss - start : AIO_DEPTH;

		for (unsigned i = 0; i < n; i++)
			round[i] = *ord[start + i];
		if (unix_queue_round(io, round, n, buffered))
			for (unsigned i = 0; i < n; i++)
				round[i].result = -BCH_ERR_IO;
		for (unsigned i = 0; i < n; i++) {
			struct bch_read_req *r = ord[start + i];

			r->result = round[i].result;
			if (finish_req(io, r, err))
				ret = r->result;
		}
	}
	free(ord);
	free(in);
	return ret;
}

/*
 * Start a batch: what the cache holds is copied now, the rest queued on
 * the ring (io_uring only: a libaio context would have to be reaped the
 * same way, and it is only the fallback).
 */
static int unix_read_start(struct bch_io *io, struct bch_read_async *a)
{
	struct unix_priv *p = io->priv;
	struct bch_read_req **ord;
	unsigned nr_miss, submitted;
	bool *in, buffered;

	unix_queue_init(p);
	if (p->queue != QUEUE_URING)
		return -1;
	ord = malloc((a->nr ? a->nr : 1) * sizeof(*ord));
	in = malloc(a->nr ? a->nr : 1);
	if (!ord || !in) {
		free(ord);
		free(in);
		return -1;
	}
	nr_miss = take_cached(io, a->reqs, a->nr, ord, in, &buffered);
	for (unsigned i = 0; i < nr_miss; i++) {
		ord[i]->result = -BCH_ERR_IO;
		ord[i]->async = a;
	}
	submitted = uring_submit(p, ord, nr_miss, buffered);
	a->pending = submitted;
	/* what the ring did not take is read at the wait, with pread */
	for (unsigned i = submitted; i < nr_miss; i++)
		ord[i]->async = NULL;
	if (submitted < nr_miss)
		p->queue = QUEUE_BROKEN;
	free(ord);
	free(in);
	return 0;
}

static void unix_read_wait(struct bch_io *io, struct bch_read_async *a)
{
	struct unix_priv *p = io->priv;

	while (a->pending && uring_reap_one(p))
		;
	if (a->pending) {
		/* the ring failed: given up, as in a round */
		p->queue = QUEUE_BROKEN;
		a->pending = 0;
	}
	for (unsigned i = 0; i < a->nr; i++) {
		struct bch_read_req *r = &a->reqs[i];

		if (r->async) {
			r->async = NULL;
			finish_req(io, r, NULL);
		} else if (r->result) {
			finish_req(io, r, NULL);	/* not taken by the ring */
		}
	}
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

	if (p->queue == QUEUE_URING || p->queue == QUEUE_BROKEN)
		io_uring_queue_exit(&p->ring);
	else if (p->queue == QUEUE_AIO)
		io_destroy(p->ctx);
	if (p->map)
		munmap(p->map, p->map_len);
	free(p->vec);
	if (p->direct_fd >= 0)
		close(p->direct_fd);
	close(p->fd);
	free(p);
	free(io->path);
	free(io);
}

/*
 * mincore tells the truth about a file's pages only to whoever could write
 * it or owns it (or root); anyone else is told every page is cached.
 */
static void unix_mincore_init(struct bch_io *io, const struct stat *st)
{
	struct unix_priv *p = io->priv;
	long page = sysconf(_SC_PAGESIZE);

	if (page <= 0 || !io->size)
		return;
	p->page = (size_t)page;
	if (geteuid() && st->st_uid != geteuid() && access(io->path, W_OK))
		return;
	p->vec = malloc(MINCORE_MAX / p->page);
	p->use_mincore = p->vec != NULL;
}

static const struct bch_io_ops bch_io_unix_ops = {
	.name		= "unix",
	.read		= unix_read,
	.read_batch	= unix_read_batch,
	.read_start	= unix_read_start,
	.read_wait	= unix_read_wait,
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
	unix_mincore_init(io, &st);
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

void bch_io_read_start(struct bch_io *io, struct bch_read_req *reqs, unsigned nr,
		       struct bch_read_async *a)
{
	*a = (struct bch_read_async){ .io = io, .reqs = reqs, .nr = nr };
	for (unsigned i = 0; i < nr; i++) {
		reqs[i].async = NULL;
		if (check_range(io, reqs[i].offset, reqs[i].len, NULL)) {
			/* out-of-range requests are not passed down, nor the rest */
			for (unsigned j = 0; j < nr; j++)
				reqs[j].result = -BCH_ERR_IO;
			a->io = NULL;
			return;
		}
	}
	pthread_mutex_lock(&io->lock);
	if (!io->ops->read_start || io->ops->read_start(io, a)) {
		io->ops->read_batch(io, reqs, nr, NULL);
		a->io = NULL;	/* done: nothing to wait for */
	}
	pthread_mutex_unlock(&io->lock);
}

void bch_io_read_wait(struct bch_read_async *a)
{
	if (!a->io)
		return;
	pthread_mutex_lock(&a->io->lock);
	if (a->io->ops->read_wait)
		a->io->ops->read_wait(a->io, a);
	pthread_mutex_unlock(&a->io->lock);
	a->io = NULL;
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
