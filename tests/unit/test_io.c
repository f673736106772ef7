/*
 * Unit tests of the I/O layer: the in-memory back end, the unix one's
 * batches (read now or started and waited for), the fault-injecting one.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "io.h"

static void test_mem_bounds(void **state)
{
	uint8_t img[4096], buf[16];
	struct bch_error err = { 0 };
	struct bch_read_req req = { .offset = 4000, .len = 16, .buf = buf };
	struct bch_io *io;

	(void)state;
	for (unsigned i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)i;
	assert_int_equal(bch_io_open_mem("img", img, sizeof(img), false, &io, &err), 0);
	assert_int_equal(bch_io_read(io, 100, buf, 16, &err), 0);
	assert_int_equal(buf[0], 100);
	assert_int_equal(bch_io_read_batch(io, &req, 1, &err), 0);
	assert_int_equal(buf[0], 4000 & 0xff);
	/* past the end: an error naming the offset, no access */
	assert_int_equal(bch_io_read(io, 4090, buf, 16, &err), -BCH_ERR_IO);
	assert_non_null(strstr(err.msg, "byte 4090"));
	/* read-only: writes refused */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_io_write(io, 0, buf, 1, &err), -BCH_ERR_INVAL);
	bch_io_close(io);
}

static void test_fault_after_writes(void **state)
{
	uint8_t img[1024] = { 0 }, ones[64];
	struct bch_io_fault f = { .fail_after = 1, .torn = true };
	struct bch_error err = { 0 };
	struct bch_io *mem, *io;

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(bch_io_open_mem("img", img, sizeof(img), true, &mem, &err), 0);
	assert_int_equal(bch_io_fault_wrap(mem, &f, &io, &err), 0);
	/* the first write goes through */
	assert_int_equal(bch_io_write(io, 0, ones, 64, &err), 0);
	assert_int_equal(img[63], 0xff);
	/* the second is torn: its first half lands, then the "power" is gone */
	assert_int_equal(bch_io_write(io, 128, ones, 64, &err), -BCH_ERR_IO);
	assert_int_equal(img[128 + 31], 0xff);
	assert_int_equal(img[128 + 32], 0);
	assert_true(f.tripped);
	/* nothing after it reaches the image */
	memset(&err, 0, sizeof(err));
	assert_int_equal(bch_io_write(io, 512, ones, 64, &err), -BCH_ERR_IO);
	assert_int_equal(img[512], 0);
	bch_io_close(io);	/* closes the wrapped back end too */
}

/*
 * A temporary file (path: a mkstemp template) of size bytes of a pattern
 * (mul, see below), also returned in memory, and dropped from the page
 * cache where the file system allows, so that reads take the disk path
 */
static uint8_t *cold_file(char *path, size_t size, unsigned mul)
{
	uint8_t *img = malloc(size);
	int fd;

	assert_non_null(img);
	for (size_t i = 0; i < size; i++)
		img[i] = (uint8_t)(i * mul + i / 4096);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, size), (ssize_t)size);
	assert_int_equal(fsync(fd), 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return img;
}

/*
 * The unix back end's batch: requests in any order, aligned (O_DIRECT
 * when the page cache does not have them) or not, each gets its bytes,
 * and every byte is counted once, as cached or as read from the device.
 */
static void test_unix_batch(void **state)
{
	char path[] = "/tmp/bch-test-io.XXXXXX";
	const size_t size = 1 << 20, len = 8192;
	uint8_t *img, *bufs = NULL;
	struct bch_read_req reqs[5];
	struct bch_error err = { 0 };
	struct bch_io *io;
	uint64_t offs[5] = { 65536, 4096, 900000, 8192 * 100, 12345 };

	(void)state;
	assert_int_equal(posix_memalign((void **)&bufs, 4096, 5 * len), 0);
	img = cold_file(path, size, 7);
	assert_int_equal(bch_io_open_unix(path, 0, &io, &err), 0);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t before = io->stats.cached_bytes + io->stats.batch_bytes +
				  io->stats.single_bytes;

		memset(bufs, 0, 5 * len);
		for (unsigned i = 0; i < 5; i++)
			reqs[i] = (struct bch_read_req){ .offset = offs[i], .len = len,
							 .buf = bufs + i * len };
		assert_int_equal(bch_io_read_batch(io, reqs, 5, &err), 0);
		for (unsigned i = 0; i < 5; i++) {
			assert_int_equal(reqs[i].result, 0);
			assert_memory_equal(reqs[i].buf, img + offs[i], len);
		}
		assert_int_equal(io->stats.cached_bytes + io->stats.batch_bytes +
				 io->stats.single_bytes - before, 5 * len);
		/* cached or batched through aio: none fell back to single reads */
		assert_int_equal(io->stats.single_bytes, 0);
	}
	bch_io_close(io);
	unlink(path);
	free(bufs);
	free(img);
}

/*
 * Started batches (bch_io_read_start / bch_io_read_wait): two started on
 * a cold file, a plain batch read between them on the same queue, the
 * two waited for in the other order; every request gets its bytes. A
 * started batch with a request past the end reads nothing, and the
 * in-memory back end, which cannot start reads, reads at the start.
 */
static void test_unix_started(void **state)
{
	char path[] = "/tmp/bch-test-io.XXXXXX";
	const size_t size = 4 << 20, len = 16384;
	enum { NR = 12 };
	uint8_t *img, *bufs = NULL;
	struct bch_read_req a[NR], b[NR], c[NR];
	struct bch_read_async aa, ab, am;
	struct bch_error err = { 0 };
	struct bch_io *io, *mem;

	(void)state;
	assert_int_equal(posix_memalign((void **)&bufs, 4096, 3 * NR * len), 0);
	img = cold_file(path, size, 13);
	assert_int_equal(bch_io_open_unix(path, 0, &io, &err), 0);
	memset(bufs, 0, 3 * NR * len);
	for (unsigned i = 0; i < NR; i++) {
		/* scattered, out of order, one not aligned */
		uint64_t off = ((i * 37) % 200) * 16384 + (i == 5 ? 512 : 0);

		a[i] = (struct bch_read_req){ .offset = off, .len = len, .buf = bufs + i * len };
		b[i] = (struct bch_read_req){ .offset = size - (i + 1) * len, .len = len,
					      .buf = bufs + (NR + i) * len };
		c[i] = (struct bch_read_req){ .offset = (i * 11 % 64) * 4096, .len = 4096,
					      .buf = bufs + (2 * NR + i) * len };
	}
	bch_io_read_start(io, a, NR, &aa);
	bch_io_read_start(io, b, NR, &ab);
	assert_int_equal(bch_io_read_batch(io, c, NR, &err), 0);
	bch_io_read_wait(&ab);
	bch_io_read_wait(&aa);
	for (unsigned i = 0; i < NR; i++) {
		assert_int_equal(a[i].result, 0);
		assert_memory_equal(a[i].buf, img + a[i].offset, len);
		assert_int_equal(b[i].result, 0);
		assert_memory_equal(b[i].buf, img + b[i].offset, len);
		assert_int_equal(c[i].result, 0);
		assert_memory_equal(c[i].buf, img + c[i].offset, 4096);
	}
	/* past the end: nothing of the batch is read */
	memset(bufs, 0, len);
	a[0].offset = 0;
	a[1].offset = size - len / 2;
	bch_io_read_start(io, a, 2, &aa);
	bch_io_read_wait(&aa);
	assert_int_equal(a[0].result, -BCH_ERR_IO);
	assert_int_equal(a[1].result, -BCH_ERR_IO);
	assert_int_equal(bufs[1], 0);
	bch_io_close(io);
	unlink(path);

	/* a back end without started reads reads at the start */
	assert_int_equal(bch_io_open_mem("img", img, size, false, &mem, &err), 0);
	memset(bufs, 0, len);
	a[0] = (struct bch_read_req){ .offset = 40960, .len = len, .buf = bufs };
	bch_io_read_start(mem, a, 1, &am);
	assert_int_equal(a[0].result, 0);
	assert_memory_equal(bufs, img + 40960, len);
	bch_io_read_wait(&am);
	bch_io_close(mem);
	free(bufs);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_bounds),
		cmocka_unit_test(test_unix_batch),
		cmocka_unit_test(test_unix_started),
		cmocka_unit_test(test_fault_after_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
