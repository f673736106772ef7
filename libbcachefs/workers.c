/* The worker pool: one mutex, one queue, two condition variables. */
#include <pthread.h>
#include <stdlib.h>

#include "errors.h"
#include "workers.h"

struct bch_workers {
	pthread_mutex_t		lock;
	pthread_cond_t		more;		/* work queued, or stopping */
	pthread_cond_t		finished;	/* some work is done */
	struct bch_work		*head, *tail;
	bool			stop;
	unsigned		nr;
	pthread_t		*threads;
};

static struct bch_work *take_locked(struct bch_workers *p)
{
	struct bch_work *w = p->head;

	if (w) {
		p->head = w->next;
		if (!p->head)
			p->tail = NULL;
		w->next = NULL;
		w->started = true;
	}
	return w;
}

/* called and returns with the lock held; runs w without it */
static void run_locked(struct bch_workers *p, struct bch_work *w)
{
	pthread_mutex_unlock(&p->lock);
	w->fn(w);
	pthread_mutex_lock(&p->lock);
	w->done = true;
	pthread_cond_broadcast(&p->finished);
}

static void *worker(void *arg)
{
	struct bch_workers *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct bch_work *w = take_locked(p);

		if (w)
			run_locked(p, w);
		else
			pthread_cond_wait(&p->more, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int bch_workers_new(unsigned nr, struct bch_workers **out)
{
	struct bch_workers *p;

	*out = NULL;
	if (!nr)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->threads = calloc(nr, sizeof(*p->threads)))) {
		free(p);
		return -BCH_ERR_NOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->finished, NULL);
	/* as many as could be started */
	for (; p->nr < nr; p->nr++)
		if (pthread_create(&p->threads[p->nr], NULL, worker, p))
			break;
	if (!p->nr) {
		bch_workers_free(p);
		return -BCH_ERR_NOMEM;
	}
	*out = p;
	return 0;
}

void bch_workers_free(struct bch_workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->more);
	pthread_cond_destroy(&p->finished);
	free(p->threads);
	free(p);
}

unsigned bch_workers_nr(const struct bch_workers *p)
{
	return p ? p->nr : 0;
}

void bch_work_queue(struct bch_workers *p, struct bch_work *w)
{
	w->next = NULL;
	w->started = w->done = false;
	if (!p) {
		w->started = true;
		w->fn(w);
		w->done = true;
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = w;
	else
		p->head = w;
	p->tail = w;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
}

/* take w out of the queue if no worker has it yet: true if taken */
static bool unqueue_locked(struct bch_workers *p, struct bch_work *w)
{
	struct bch_work **pp = &p->head, *prev = NULL;

	if (w->started)
		return false;
	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return false;
	*pp = w->next;
	if (p->tail == w)
		p->tail = prev;
	w->next = NULL;
	w->started = true;
	return true;
}

/*
 * While w is not done, the waiter does queued work itself (w first, if
 * no worker has it yet; then whatever is next): a core is never idle
 * while there is work.
 */
void bch_work_wait(struct bch_workers *p, struct bch_work *w)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	while (!w->done) {
		struct bch_work *o = unqueue_locked(p, w) ? w : take_locked(p);

		if (o)
			run_locked(p, o);
		else
			pthread_cond_wait(&p->finished, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}
