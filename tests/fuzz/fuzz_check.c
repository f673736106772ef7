/*
 * Fuzz target: the whole check (`fsck -n`) on a filesystem image in
 * memory. The input is a packed image (fuzz.h); its superblocks, journal
 * entries and btree nodes get their checksums recomputed first. The image
 * is then made read-only: a check that writes faults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct bch_error err = { 0 };
	struct fz_image img;
	struct fz_check k;
	struct bch_fs *fs;

	if (fz_image_unpack(data, len, &img))
		return 0;
	for (unsigned d = 0; d < img.nr_devs; d++)
		mprotect(img.dev[d], img.map[d] - 4096, PROT_READ);
	if (!fz_image_open(&img, false, &fs, &err)) {
		if (!fz_check_run(&k, fs, MODE_CHECK, img.flags & FZ_FULL, &err))
			err.msg[0] = 0;
		fz_verbose("check", err.msg, k.c.nr_findings);
		fz_check_exit(&k);
		bch_fs_close(fs);
	} else {
		fz_verbose("open", err.msg, 0);
	}
	fz_image_free(&img);
	return 0;
}
