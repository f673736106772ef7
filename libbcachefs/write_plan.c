/* Executing a write plan with an undo file (write_plan.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "undo.h"
#include "write_plan.h"

int bch_write_plan_add(struct bch_write_plan *p, unsigned dev, uint64_t offset,
		       uint8_t *buf, size_t len, bool flush_after)
{
	if (p->nr == p->size) {
		size_t ns = p->size ? p->size * 2 : 16;
		struct bch_write_op *n = realloc(p->ops, ns * sizeof(*n));

		if (!n) {
			free(buf);
			return -BCH_ERR_NOMEM;
		}
		p->ops = n;
		p->size = ns;
	}
	p->ops[p->nr++] = (struct bch_write_op){
		.dev = dev, .offset = offset, .buf = buf, .len = len, .flush_after = flush_after,
	};
	return 0;
}

void bch_write_plan_free(struct bch_write_plan *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->ops[i].buf);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

/* the current contents of every region the plan overwrites, one region at a time */
static int save_undo(struct bch_fs *fs, const struct bch_write_plan *p, const char *path,
		     struct bch_error *err)
{
	struct bch_undo_writer *w = NULL;
	uint64_t *lens = calloc(p->nr ? p->nr : 1, sizeof(*lens));
	size_t max = 0;
	uint8_t *before = NULL;
	int ret;

	if (!lens)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < p->nr; i++) {
		lens[i] = p->ops[i].len;
		if (p->ops[i].len > max)
			max = p->ops[i].len;
	}
	before = malloc(max ? max : 1);
	ret = before ? bch_undo_writer_open(path, fs->sb->uuid, (uint64_t)time(NULL),
					    (unsigned)p->nr, bch_undo_raw_bytes((unsigned)p->nr, lens),
					    &w, err)
		     : bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < p->nr && !ret; i++) {
		const struct bch_write_op *op = &p->ops[i];
		struct bch_undo_region r = {
			.dev = op->dev, .offset = op->offset, .len = op->len,
			.after_hash = bch_undo_hash(op->buf, op->len), .before = before,
		};

		memcpy(r.dev_uuid, fs->sb->members[op->dev].uuid, 16);
		ret = bch_io_read(fs->devs[op->dev]->io, op->offset, before, op->len, err) ?:
		      bch_undo_writer_add(w, &r, err);
	}
	if (!ret)
		ret = bch_undo_writer_commit(w, err);
	else
		bch_undo_writer_abort(w);
	free(before);
	free(lens);
	return ret;
}

static int flush_all(struct bch_fs *fs, struct bch_error *err)
{
	for (unsigned d = 0; d < fs->nr_devs; d++) {
		struct bch_io *io = fs->devs[d] ? fs->devs[d]->io : NULL;
		int ret = io ? io->ops->flush(io, err) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

int bch_write_plan_execute(struct bch_fs *fs, const struct bch_write_plan *p,
			   const char *undo_path, struct bch_error *err)
{
	int ret;

	if (undo_path) {
		ret = save_undo(fs, p, undo_path, err);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < p->nr; i++) {
		const struct bch_write_op *op = &p->ops[i];

		ret = bch_io_write(fs->devs[op->dev]->io, op->offset, op->buf, op->len, err);
		if (!ret && op->flush_after)
			ret = flush_all(fs, err);
		if (ret)
			return ret;
	}
	return flush_all(fs, err);
}
