/*
 * The I/O layer: one interface, several back ends (in the style of
 * e2fsprogs' io managers). "unix" reads files and block devices with
 * pread and batched libaio reads; "mem" serves an in-memory image (unit
 * tests, fuzzing). Write-capable, fault-injecting and undo-recording back
 * ends plug in here later through the same ops.
 */
#ifndef BCH_IO_H
#define BCH_IO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct bch_io;
struct bch_read_async;

struct bch_read_req {
	uint64_t	offset;		/* bytes from the start of the device */
	size_t		len;
	void		*buf;
	int		result;		/* 0 or -enum bch_errcode, set by the back end */
	/* the started batch it is queued for (back end's use) */
	struct bch_read_async	*async;
};

/*
 * A batch read started now and waited for later (bch_io_read_start,
 * bch_io_read_wait), so that the disk reads while the caller decodes
 * what it already has. The requests must stay put until the wait.
 */
struct bch_read_async {
	struct bch_io		*io;
	struct bch_read_req	*reqs;
	unsigned		nr;
	unsigned		pending;	/* queued, not yet completed */
};

struct bch_io_ops {
	const char	*name;
	int	(*read)(struct bch_io *io, uint64_t off, void *buf, size_t len,
			struct bch_error *err);
	/* every request gets a result; returns 0 if all succeeded */
	int	(*read_batch)(struct bch_io *io, struct bch_read_req *reqs,
			      unsigned nr, struct bch_error *err);
	/*
	 * Optional. read_start: start a->reqs, 0 (what could not be read at
	 * once is queued, a->pending of them), or -1 if it cannot (then
	 * read_batch reads them now). read_wait: until a->pending is 0,
	 * every request with its result.
	 */
	int	(*read_start)(struct bch_io *io, struct bch_read_async *a);
	void	(*read_wait)(struct bch_io *io, struct bch_read_async *a);
	int	(*write)(struct bch_io *io, uint64_t off, const void *buf,
			 size_t len, struct bch_error *err);
	int	(*flush)(struct bch_io *io, struct bch_error *err);
	void	(*close)(struct bch_io *io);
};

/* what a back end read, for benchmarks and --verbose */
struct bch_io_stats {
	uint64_t	cached_bytes;	/* batch requests found in the page cache */
	uint64_t	batch_bytes;	/* batch requests read from the device */
	uint64_t	single_bytes;	/* single reads (and batch retries) */
};

struct bch_io {
	const struct bch_io_ops	*ops;
	/*
	 * Held around each call into the back end: node reads come from
	 * worker threads, and a back end (its aio context, its stats) is one
	 * thread's at a time. Set up by the back end's open.
	 */
	pthread_mutex_t		lock;
	struct bch_io_stats	stats;
	char			*path;
	uint64_t		size;		/* bytes */
	bool			writable;
	bool			is_blockdev;
	void			*priv;
};

enum bch_io_open_flags {
	BCH_IO_WRITE	= 1 << 0,	/* open read-write (never with fsck -n) */
	/*
	 * a block device without O_EXCL: beside the kernel that has it
	 * mounted (fsck.bcachefs on a read-only root, or -n on a mount)
	 */
	BCH_IO_SHARED	= 1 << 1,
};

/* open a file or block device; block devices get O_EXCL */
int bch_io_open_unix(const char *path, unsigned flags, struct bch_io **out,
		     struct bch_error *err);
/* wrap a caller-owned buffer (not copied, not freed) */
int bch_io_open_mem(const char *name, void *buf, size_t len, bool writable,
		    struct bch_io **out, struct bch_error *err);
void bch_io_close(struct bch_io *io);

/*
 * Fault injection for power-cut tests: writes through wrapped devices
 * succeed until fail_after of them were done (counted across all devices
 * sharing the state); the next one writes nothing, or only its first half
 * when torn, and fails, as do all later ones. The wrapper owns inner.
 */
struct bch_io_fault {
	unsigned	fail_after;
	bool		torn;
	unsigned	writes;		/* done so far */
	bool		tripped;
};

int bch_io_fault_wrap(struct bch_io *inner, struct bch_io_fault *f, struct bch_io **out,
		      struct bch_error *err);

/* bounds-checked wrappers: reading past the end is a clear error */
int bch_io_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		struct bch_error *err);
int bch_io_read_batch(struct bch_io *io, struct bch_read_req *reqs,
		      unsigned nr, struct bch_error *err);
/*
 * Has the page cache served at least 4x the bytes the device has, so far
 * (batches only)? Then the device is warm with a little evicted: its
 * misses are read through the cache, and reading ahead does not pay.
 */
static inline bool bch_io_mostly_cached(const struct bch_io *io)
{
	return io->stats.cached_bytes >= 4 * io->stats.batch_bytes;
}

/*
 * Start reading reqs; every request has its result once bch_io_read_wait
 * returns (which must be called, also when the results are not wanted,
 * before the buffers go). Back ends that cannot start reads read them
 * in bch_io_read_start.
 */
void bch_io_read_start(struct bch_io *io, struct bch_read_req *reqs, unsigned nr,
		       struct bch_read_async *a);
void bch_io_read_wait(struct bch_read_async *a);
int bch_io_write(struct bch_io *io, uint64_t off, const void *buf, size_t len,
		 struct bch_error *err);

#endif
