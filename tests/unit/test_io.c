/* Unit tests of the I/O layer: the in-memory back end and the fault-injecting one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_bounds),
		cmocka_unit_test(test_fault_after_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
