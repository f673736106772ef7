/* Fault-injecting back end: a power cut after the k-th write (io.h). */
#include <stdlib.h>
#include <string.h>

#include "io.h"

struct fault_priv {
	struct bch_io		*inner;
	struct bch_io_fault	*f;
};

static int fault_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		      struct bch_error *err)
{
	struct fault_priv *p = io->priv;

	return p->inner->ops->read(p->inner, off, buf, len, err);
}

static int fault_read_batch(struct bch_io *io, struct bch_read_req *reqs, unsigned nr,
			    struct bch_error *err)
{
	struct fault_priv *p = io->priv;

	return p->inner->ops->read_batch(p->inner, reqs, nr, err);
}

static int fault_write(struct bch_io *io, uint64_t off, const void *buf, size_t len,
		       struct bch_error *err)
{
	struct fault_priv *p = io->priv;
	struct bch_io_fault *f = p->f;

	if (!f->tripped && f->writes < f->fail_after) {
		f->writes++;
		return p->inner->ops->write(p->inner, off, buf, len, err);
	}
	if (!f->tripped && f->torn && len > 1) {
		/* the first half reaches the disk, the rest is lost */
		p->inner->ops->write(p->inner, off, buf, len / 2, err);
		p->inner->ops->flush(p->inner, err);
	}
	f->tripped = true;
	return bch_err(err, BCH_ERR_IO, "%s: injected power cut at write %u (byte %llu)",
		       io->path, f->writes + 1, (unsigned long long)off);
}

static int fault_flush(struct bch_io *io, struct bch_error *err)
{
	struct fault_priv *p = io->priv;

	if (p->f->tripped)
		return bch_err(err, BCH_ERR_IO, "%s: injected power cut", io->path);
	return p->inner->ops->flush(p->inner, err);
}

static void fault_close(struct bch_io *io)
{
	struct fault_priv *p = io->priv;

	bch_io_close(p->inner);
	free(p);
	free(io->path);
	free(io);
}

static const struct bch_io_ops bch_io_fault_ops = {
	.name		= "fault",
	.read		= fault_read,
	.read_batch	= fault_read_batch,
	.write		= fault_write,
	.flush		= fault_flush,
	.close		= fault_close,
};

int bch_io_fault_wrap(struct bch_io *inner, struct bch_io_fault *f, struct bch_io **out,
		      struct bch_error *err)
{
	struct bch_io *io = calloc(1, sizeof(*io));
	struct fault_priv *p = calloc(1, sizeof(*p));

	if (!io || !p || !(io->path = strdup(inner->path))) {
		free(io);
		free(p);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	p->inner = inner;
	p->f = f;
	io->ops = &bch_io_fault_ops;
	pthread_mutex_init(&io->lock, NULL);
	io->priv = p;
	io->size = inner->size;
	io->writable = inner->writable;
	io->is_blockdev = inner->is_blockdev;
	*out = io;
	return 0;
}
