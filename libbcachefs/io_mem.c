/* In-memory back end of the I/O layer. */
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int mem_read(struct bch_io *io, uint64_t off, void *buf, size_t len,
		    struct bch_error *err)
{
	(void)err;
	memcpy(buf, (uint8_t *)io->priv + off, len);
	return 0;
}

static int mem_read_batch(struct bch_io *io, struct bch_read_req *reqs,
			  unsigned nr, struct bch_error *err)
{
	for (unsigned i = 0; i < nr; i++)
		reqs[i].result = mem_read(io, reqs[i].offset, reqs[i].buf,
					  reqs[i].len, err);
	return 0;
}

static int mem_write(struct bch_io *io, uint64_t off, const void *buf,
		     size_t len, struct bch_error *err)
{
	(void)err;
	memcpy((uint8_t *)io->priv + off, buf, len);
	return 0;
}

static int mem_flush(struct bch_io *io, struct bch_error *err)
{
	(void)io;
	(void)err;
	return 0;
}

static void mem_close(struct bch_io *io)
{
	free(io->path);
	free(io);
}

static const struct bch_io_ops bch_io_mem_ops = {
	.name		= "mem",
	.read		= mem_read,
	.read_batch	= mem_read_batch,
	.write		= mem_write,
	.flush		= mem_flush,
	.close		= mem_close,
};

int bch_io_open_mem(const char *name, void *buf, size_t len, bool writable,
		    struct bch_io **out, struct bch_error *err)
{
	struct bch_io *io = calloc(1, sizeof(*io));

	if (!io || !(io->path = strdup(name ? name : "(memory)"))) {
		free(io);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory opening %s", name);
	}
	io->ops = &bch_io_mem_ops;
	pthread_mutex_init(&io->lock, NULL);
	io->size = len;
	io->writable = writable;
	io->priv = buf;
	*out = io;
	return 0;
}
