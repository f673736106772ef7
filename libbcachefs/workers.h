/*
 * A small pool of worker threads for work whose result does not depend
 * on which thread does it (reading and decoding btree nodes). Work is
 * queued in order; whoever waits for a piece that no worker has started
 * does it itself, so waiting never idles a core. Without a pool (NULL)
 * work is done when it is queued: the single-threaded run, the same
 * results.
 */
#ifndef BCH_WORKERS_H
#define BCH_WORKERS_H

#include <stdbool.h>

struct bch_workers;

struct bch_work {
	void			(*fn)(struct bch_work *w);
	struct bch_work		*next;		/* in the queue */
	bool			started;	/* taken by a worker or the waiter */
	bool			done;
};

/* a pool of nr threads (0: *out = NULL, no pool); -BCH_ERR_NOMEM if none started */
int bch_workers_new(unsigned nr, struct bch_workers **out);
void bch_workers_free(struct bch_workers *p);
unsigned bch_workers_nr(const struct bch_workers *p);

/* run w->fn(w) on a worker (or now, without a pool) */
void bch_work_queue(struct bch_workers *p, struct bch_work *w);
/* return once w->fn(w) has returned */
void bch_work_wait(struct bch_workers *p, struct bch_work *w);

#endif
