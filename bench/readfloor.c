/*
 * readfloor: the time to read a set of btree nodes and nothing else, the
 * floor fsck's time is compared with (bench/scale.sh).
 *
 *   readfloor [--cold] [--uring[=direct]] [--depth=N] NODE_BYTES DEV0 [DEV1...] < NODES
 *
 * NODES: lines "DEV:SECTOR[:WRITTEN]" (as `bcachefs list --format=nodes`
 * prints a node's first pointer and its pointer's sectors_written), each a
 * node of NODE_BYTES bytes at that 512-byte sector of device DEV (an index
 * into the DEV arguments), of which WRITTEN sectors (rounded up to 4 KiB;
 * absent or 0: all) are read, as fsck reads them. Duplicates are read once.
 *
 * Warm (the default): each node with pread, one after the other, as a
 * reader that finds the image in the page cache would. --cold: the
 * devices' cached pages are dropped first (posix_fadvise DONTNEED, after
 * an fdatasync), then the nodes are read with O_DIRECT through libaio,
 * in disk order, N (64) in flight: as fast as the device reads them.
 *
 * --uring: the same nodes through io_uring, N in flight, in disk order,
 * buffered (so a warm image is copied from the page cache and a cold one
 * read into it: the one path that might serve both), or with
 * --uring=direct O_DIRECT; bench/README.md compares them.
 *
 * Prints "floor: nodes=N bytes=B wall_s=T".
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS	64

struct node {
	unsigned	dev;
	uint64_t	sector;
	size_t		bytes;		/* what is read of it */
};

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->sector < y->sector ? -1 : x->sector > y->sector;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int read_nodes(struct node **out, size_t *nr, size_t node_bytes)
{
	struct node *v = NULL;
	size_t n = 0, size = 0;
	unsigned dev, written;
	unsigned long long sector;
	char line[128];

	while (fgets(line, sizeof(line), stdin)) {
		int got = sscanf(line, "%u:%llu:%u", &dev, &sector, &written);

		if (got < 2) {
			fprintf(stderr, "readfloor: bad node line on stdin: %s", line);
			free(v);
			return -1;
		}
		if (got < 3)
			written = 0;
		if (n == size) {
			size = size ? size * 2 : 1024;
			v = realloc(v, size * sizeof(*v));
			if (!v)
				return -1;
		}
		v[n].dev = dev;
		v[n].sector = sector;
		v[n].bytes = ((size_t)written * 512 + 4095) / 4096 * 4096;
		if (!v[n].bytes || v[n].bytes > node_bytes)
			v[n].bytes = node_bytes;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_node);
	/* one read per node */
	size_t u = 0;

	for (size_t i = 0; i < n; i++)
		if (!u || cmp_node(&v[u - 1], &v[i]))
			v[u++] = v[i];
	*out = v;
	*nr = u;
	return 0;
}

static int read_warm(int *fds, const struct node *v, size_t nr, char *buf)
{
	for (size_t i = 0; i < nr; i++) {
		ssize_t r = pread(fds[v[i].dev], buf, v[i].bytes, (off_t)(v[i].sector * 512));

		if (r != (ssize_t)v[i].bytes) {
			fprintf(stderr, "readfloor: read at device %u sector %llu failed\n",
				v[i].dev, (unsigned long long)v[i].sector);
			return -1;
		}
	}
	return 0;
}

/*
 * *done_at: when the last read completed. Destroying the aio context
 * afterwards waits for RCU grace periods (30-45 ms on 6.18): not reading,
 * so not the floor's.
 */
static int read_cold(int *fds, const struct node *v, size_t nr, size_t bytes,
		     unsigned depth, char *bufs, double *done_at)
{
	struct iocb *cbs = calloc(depth, sizeof(*cbs));
	struct iocb **cbp = calloc(depth, sizeof(*cbp));
	struct io_event *ev = calloc(depth, sizeof(*ev));
	io_context_t ctx = 0;
	size_t next = 0, done = 0;
	unsigned inflight = 0;
	int ret = -1;

	if (!cbs || !cbp || !ev || io_setup((int)depth, &ctx))
		goto out;
	/* slot s is free when cbs[s].data is NULL */
	while (done < nr) {
		unsigned n = 0;

		for (unsigned s = 0; s < depth && next < nr; s++) {
			if (cbs[s].data)
				continue;
			io_prep_pread(&cbs[s], fds[v[next].dev], bufs + (size_t)s * bytes,
				      v[next].bytes, (long long)(v[next].sector * 512));
			cbs[s].data = &cbs[s];
			cbp[n++] = &cbs[s];
			next++;
		}
		if (n && io_submit(ctx, (long)n, cbp) != (int)n) {
			fprintf(stderr, "readfloor: io_submit failed\n");
			goto out;
		}
		inflight += n;
		int got = io_getevents(ctx, 1, (long)inflight, ev, NULL);

		if (got < 0) {
			fprintf(stderr, "readfloor: io_getevents: %s\n", strerror(-got));
			goto out;
		}
		for (int i = 0; i < got; i++) {
			struct iocb *cb = ev[i].obj;

			if (ev[i].res != cb->u.c.nbytes) {
				fprintf(stderr, "readfloor: direct read failed\n");
				goto out;
			}
			cb->data = NULL;
		}
		inflight -= (unsigned)got;
		done += (size_t)got;
	}
	*done_at = now();
	ret = 0;
out:
	if (ctx)
		io_destroy(ctx);
	free(cbs);
	free(cbp);
	free(ev);
	return ret;
}

static int read_uring(int *fds, const struct node *v, size_t nr, size_t bytes,
		      unsigned depth, char *bufs)
{
	struct io_uring ring;
	size_t next = 0, done = 0;
	unsigned inflight = 0;
	int ret;
	unsigned *want = malloc(depth * sizeof(*want));	/* bytes asked, by slot */

	if (!want)
		return -1;
	ret = io_uring_queue_init(depth, &ring, 0);
	if (ret) {
		fprintf(stderr, "readfloor: io_uring_queue_init: %s\n", strerror(-ret));
		free(want);
		return -1;
	}
	/* slot s of bufs is free when no request in flight uses it: a free list */
	unsigned *free_slots = malloc(depth * sizeof(*free_slots)), nr_free = depth;

	for (unsigned s = 0; s < depth; s++)
		free_slots[s] = depth - 1 - s;
	while (done < nr) {
		while (next < nr && nr_free) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			unsigned slot;

			if (!sqe)
				break;
			slot = free_slots[--nr_free];
			want[slot] = (unsigned)v[next].bytes;
			io_uring_prep_read(sqe, fds[v[next].dev], bufs + (size_t)slot * bytes,
					   want[slot], (uint64_t)v[next].sector * 512);
			io_uring_sqe_set_data64(sqe, slot);
			next++;
			inflight++;
		}
		io_uring_submit(&ring);

		struct io_uring_cqe *cqe;

		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret || cqe->res != (int)want[io_uring_cqe_get_data64(cqe)]) {
			fprintf(stderr, "readfloor: io_uring read failed\n");
			ret = -1;
			break;
		}
		free_slots[nr_free++] = (unsigned)io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
		done++;
	}
	free(free_slots);
	free(want);
	io_uring_queue_exit(&ring);
	return done == nr ? 0 : -1;
}

int main(int argc, char **argv)
{
	int fds[MAX_DEVS];
	unsigned nr_devs = 0, depth = 64;
	bool cold = false, uring = false, direct = false;
	struct node *v = NULL;
	size_t nr = 0, bytes;
	char *buf = NULL;
	double t0, t1 = 0;
	int i = 1, ret;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--cold"))
			cold = true;
		else if (!strcmp(argv[i], "--uring"))
			uring = true;
		else if (!strcmp(argv[i], "--uring=direct"))
			uring = direct = true;
		else if (!strncmp(argv[i], "--depth=", 8))
			depth = (unsigned)atoi(argv[i] + 8);
		else
			break;
	}
	if (argc - i < 2 || !depth || depth > 1024) {
		fprintf(stderr, "usage: readfloor [--cold] [--uring[=direct]] [--depth=N] NODE_BYTES DEV... < NODES\n");
		return 2;
	}
	bytes = strtoull(argv[i++], NULL, 0);
	if (!bytes || bytes % 4096) {
		fprintf(stderr, "readfloor: NODE_BYTES must be a multiple of 4096\n");
		return 2;
	}
	for (; i < argc && nr_devs < MAX_DEVS; i++) {
		fds[nr_devs] = open(argv[i], O_RDONLY | ((cold && !uring) || direct ? O_DIRECT : 0));
		if (fds[nr_devs] < 0) {
			fprintf(stderr, "readfloor: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (cold) {
			int b = open(argv[i], O_RDONLY);

			if (b >= 0) {
				fdatasync(b);
				posix_fadvise(b, 0, 0, POSIX_FADV_DONTNEED);
				close(b);
			}
		}
		nr_devs++;
	}
	if (read_nodes(&v, &nr, bytes))
		return 1;
	for (size_t k = 0; k < nr; k++)
		if (v[k].dev >= nr_devs) {
			fprintf(stderr, "readfloor: node on device %u, only %u given\n",
				v[k].dev, nr_devs);
			return 1;
		}
	if (posix_memalign((void **)&buf, 4096, bytes * (cold || uring ? depth : 1))) {
		fprintf(stderr, "readfloor: out of memory\n");
		return 1;
	}
	t0 = now();
	ret = uring ? read_uring(fds, v, nr, bytes, depth, buf) :
	      cold ? read_cold(fds, v, nr, bytes, depth, buf, &t1) : read_warm(fds, v, nr, buf);
	if (ret)
		return 1;
	t0 = (cold && !uring ? t1 : now()) - t0;
	bytes = 0;
	for (size_t k = 0; k < nr; k++)
		bytes += v[k].bytes;
	printf("floor: nodes=%zu bytes=%zu wall_s=%.4f\n", nr, bytes, t0);
	free(buf);
	free(v);
	return 0;
}
