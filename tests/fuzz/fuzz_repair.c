/*
 * Fuzz target: the repair (`fsck -y`) on a filesystem image in memory,
 * then a check of the result on a fresh open. A repair that says it fixed
 * everything must leave a filesystem the check finds clean, and no repair
 * may leave one the check cannot read; either breach aborts, so libFuzzer
 * keeps the input. A repair that stops with an error (refuses) is fine.
 * The input is a packed image (fuzz.h), checksums recomputed first.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmds.h"
#include "fuzz.h"

static void broken(const char *what, const struct bch_error *err, uint64_t n)
{
	fprintf(stderr, "fuzz_repair: %s (%llu findings): %s\n", what,
		(unsigned long long)n, err->msg[0] ? err->msg : "-");
	abort();
}

/* the check after the repair, on a new open of the devices */
static void check_after(struct fz_image *img, int status)
{
	struct bch_error err = { 0 };
	struct fz_check k;
	struct bch_fs *fs;
	int ret;

	ret = fz_image_open(img, false, &fs, &err);
	if (ret)
		broken("the repaired filesystem does not open", &err, 0);
	ret = fz_check_run(&k, fs, MODE_CHECK, img->flags & FZ_FULL, &err);
	if (ret)
		broken("the check of the repaired filesystem fails", &err, 0);
	fz_verbose("check after", "", k.c.nr_findings);
	if (status == EXIT_FIXED && k.c.nr_findings)
		broken("the repair said all was fixed, the check after it disagrees", &err,
		       k.c.nr_findings);
	fz_check_exit(&k);
	bch_fs_close(fs);
}

/* check and repair as fsck -y does; the exit status, or < 0 if it stopped */
static int repair(struct fz_image *img)
{
	struct bch_error err = { 0 };
	struct fz_check k;
	struct bch_fs *fs;
	int ret;

	if (fz_image_open(img, true, &fs, &err)) {
		fz_verbose("open", err.msg, 0);
		return -1;
	}
	ret = fz_check_run(&k, fs, MODE_YES, img->flags & FZ_FULL, &err);
	fz_verbose("check", ret ? err.msg : "", k.c.nr_findings);
	if (!ret && k.c.nr_findings) {
		ret = fsck_do_repair(&k.c, NULL, 0, &err);
		fz_verbose(ret < 0 ? "repair refused" : ret == EXIT_FIXED ? "repaired" :
			   "repair left errors", ret < 0 ? err.msg : "", k.c.nr_findings);
	} else if (!ret) {
		ret = -1;	/* nothing to repair */
	}
	fz_check_exit(&k);
	bch_fs_close(k.c.fs);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fz_image img;
	int status;

	if (fz_image_unpack(data, len, &img))
		return 0;
	status = repair(&img);
	if (status >= 0)
		check_after(&img, status);
	fz_image_free(&img);
	return 0;
}
