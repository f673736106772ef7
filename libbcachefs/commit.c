/* One commit: journal entry, then superblocks (commit.h). */
#include <string.h>

#include "commit.h"
#include "fs.h"
#include "journal_write.h"
#include "super_write.h"
#include "write_plan.h"

static int wrap_faults(struct bch_fs *fs, struct bch_io_fault *fault, struct bch_error *err)
{
	for (unsigned d = 0; d < fs->nr_devs; d++) {
		struct bch_dev *dev = fs->devs[d];
		struct bch_io *w;
		int ret;

		if (!dev)
			continue;
		ret = bch_io_fault_wrap(dev->io, fault, &w, err);
		if (ret)
			return ret;
		dev->io = w;
	}
	return 0;
}

int bch_commit_updates(struct bch_fs *fs, struct bch_key_updates *u, const char *undo_path,
		       struct bch_io_fault *fault, struct bch_commit_info *info,
		       struct bch_error *err)
{
	struct bch_journal_write jw;
	struct bch_write_plan plan = { 0 };
	uint8_t *buf;
	int ret;

	memset(info, 0, sizeof(*info));
	bch_key_updates_finish(u);
	if (!u->nr)
		return 0;
	ret = bch_journal_write_prepare(fs, u, &jw, err);
	if (ret)
		return ret;
	info->journal_seq = jw.seq;
	info->journal_dev = jw.dev;
	info->journal_offset = jw.offset;
	info->journal_bytes = jw.len;
	buf = jw.buf;
	jw.buf = NULL;
	/* the entry must be on disk before any superblock points recovery at it */
	ret = bch_write_plan_add(&plan, jw.dev, jw.offset, buf, jw.len, true) ?:
	      bch_sb_plan_mark_dirty(fs, &plan, jw.dev, err);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory planning the commit");
	if (!ret && fault)
		ret = wrap_faults(fs, fault, err);
	if (!ret)
		ret = bch_write_plan_execute(fs, &plan, undo_path, err);
	info->nr_writes = (unsigned)plan.nr;
	bch_write_plan_free(&plan);
	bch_journal_write_free(&jw);
	return ret;
}
