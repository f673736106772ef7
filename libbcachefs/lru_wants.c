/*
 * lru_wants: the LRU entries alloc keys call for, 4 bytes a fragmentation
 * want. See lru_wants.h.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "lru.h"
#include "lru_wants.h"
#include "vec.h"

/* a class list grows by chunks of 16, 32, ... up to 4096 buckets */
#define LRU_CHUNK_MIN	16u
#define LRU_CHUNK_MAX	4096u

struct bch_lru_chunk {
	struct bch_lru_chunk	*next;
	uint32_t		nr, size;
	uint32_t		bucket[];
};

/*
 * The fragmentation time of a bucket with d dirty sectors out of
 * bucket_size (1 <= d <= bucket_size): d * 2^31 / bucket_size, as
 * bch_alloc_lru_idx_fragmentation (upstream alloc_background.h,
 * alloc_lru_idx_fragmentation). A bucket size is below 2^16 sectors, so
 * each d has its own time.
 */
static uint64_t frag_time(uint32_t d, uint32_t bucket_size)
{
	return ((uint64_t)d << 31) / bucket_size;
}

/* the d whose time is time, or 0 */
static uint32_t frag_class(uint64_t time, uint32_t bucket_size)
{
	uint64_t d;

	if (time > 1ULL << 31)
		return 0;
	d = (time * bucket_size + (1ULL << 31) - 1) >> 31;
	if (!d || d > bucket_size || frag_time((uint32_t)d, bucket_size) != time)
		return 0;
	return (uint32_t)d;
}

static int class_push(struct bch_lru_class *cl, uint32_t bucket)
{
	struct bch_lru_chunk *t = cl->tail;

	if (!t || t->nr == t->size) {
		uint32_t size = t ? t->size * 2 : LRU_CHUNK_MIN;
		struct bch_lru_chunk *n;

		if (size > LRU_CHUNK_MAX)
			size = LRU_CHUNK_MAX;
		n = malloc(sizeof(*n) + size * sizeof(n->bucket[0]));
		if (!n)
			return -BCH_ERR_NOMEM;
		n->next = NULL;
		n->nr = 0;
		n->size = size;
		if (t)
			t->next = n;
		else
			cl->head = n;
		cl->tail = t = n;
	}
	t->bucket[t->nr++] = bucket;
	return 0;
}

static struct bch_lru_frag_dev *frag_dev(struct bch_lru_wants *w, unsigned dev,
					 unsigned frag_id, unsigned bucket_size)
{
	struct bch_lru_frag_dev *f = &w->frag[dev];

	if (f->class)
		return f->bucket_size == bucket_size && f->lru_id == frag_id ? f : NULL;
	f->class = calloc((size_t)bucket_size + 1, sizeof(*f->class));
	if (!f->class)
		return NULL;
	f->bucket_size = bucket_size;
	f->lru_id = frag_id;
	w->frag_devs[w->nr_frag_devs++] = (uint8_t)dev;
	return f;
}

static int add_whole(struct bch_lru_wants *w, unsigned lru_id, uint64_t time,
		     unsigned dev, uint64_t bucket)
{
	struct bch_lru_want *x = BCH_VEC_PUSH(w->other, w->nr_other, w->other_size);

	if (!x)
		return -BCH_ERR_NOMEM;
	*x = (struct bch_lru_want){
		.inode = bch_lru_pos(lru_id, time, dev, bucket).inode,
		.bucket = bucket, .dev = (uint8_t)dev,
	};
	w->nr++;
	return 0;
}

int bch_lru_wants_add(struct bch_lru_wants *w, unsigned lru_id, uint64_t time,
		      unsigned dev, uint64_t bucket, unsigned frag_id, unsigned bucket_size)
{
	struct bch_lru_frag_dev *f;
	uint32_t d;
	int ret;

	if (lru_id != frag_id || dev >= 256 || !bucket_size || bucket_size >= 1u << 16 ||
	    bucket >> 32 || !(d = frag_class(time, bucket_size)))
		return add_whole(w, lru_id, time, dev, bucket);
	f = frag_dev(w, dev, frag_id, bucket_size);
	if (!f)
		return w->frag[dev].class ? add_whole(w, lru_id, time, dev, bucket)
					  : -BCH_ERR_NOMEM;
	ret = class_push(&f->class[d], (uint32_t)bucket);
	if (!ret)
		w->nr++;
	return ret;
}

void bch_lru_wants_free(struct bch_lru_wants *w)
{
	for (unsigned i = 0; i < w->nr_frag_devs; i++) {
		struct bch_lru_frag_dev *f = &w->frag[w->frag_devs[i]];

		for (uint32_t d = 0; d <= f->bucket_size; d++) {
			struct bch_lru_chunk *c = f->class[d].head, *n;

			for (; c; c = n) {
				n = c->next;
				free(c);
			}
		}
		free(f->class);
	}
	free(w->other);
	memset(w, 0, sizeof(*w));
}

/* ---- reading them back in LRU position order ---- */

static struct bpos whole_pos(const struct bch_lru_want *x)
{
	return BPOS(x->inode, bch_bucket_to_u64(x->dev, x->bucket), 0);
}

static int cmp_whole(const void *a, const void *b)
{
	return bpos_cmp(whole_pos(a), whole_pos(b));
}

/* the first nonempty class of f from d on, or bucket_size + 1 */
static uint32_t next_class(const struct bch_lru_frag_dev *f, uint32_t d)
{
	while (d <= f->bucket_size && !f->class[d].head)
		d++;
	return d;
}

static void open_class(struct bch_lru_wants_iter *it)
{
	struct bch_lru_wants *w = it->w;
	int best = -1;
	struct bpos best_pos = { 0 };

	/*
	 * the class whose entries come first: by LRU id (one per device from
	 * 1.39), then time, then device
	 */
	for (unsigned i = 0; i < w->nr_frag_devs; i++) {
		unsigned dev = w->frag_devs[i];
		const struct bch_lru_frag_dev *f = &w->frag[dev];
		uint32_t d = it->next_d[dev];
		struct bpos p;

		if (d > f->bucket_size)
			continue;
		p = bch_lru_pos(f->lru_id, frag_time(d, f->bucket_size), dev, 0);
		if (best < 0 || bpos_cmp(p, best_pos) < 0) {
			best = (int)dev;
			best_pos = p;
		}
	}
	it->dev = best;
	it->chunk = NULL;
	it->idx = 0;
	if (best < 0)
		return;
	it->d = it->next_d[best];
	it->chunk = w->frag[best].class[it->d].head;
	it->next_d[best] = next_class(&w->frag[best], it->d + 1);
}

/* the next fragmentation want, not taken */
static bool frag_peek(struct bch_lru_wants_iter *it, struct bpos *pos)
{
	for (;;) {
		if (it->chunk && it->idx < it->chunk->nr) {
			const struct bch_lru_frag_dev *f = &it->w->frag[it->dev];

			*pos = bch_lru_pos(f->lru_id, frag_time(it->d, f->bucket_size),
					   (unsigned)it->dev, it->chunk->bucket[it->idx]);
			return true;
		}
		if (it->chunk && it->chunk->next) {
			it->chunk = it->chunk->next;
			it->idx = 0;
			continue;
		}
		open_class(it);
		if (it->dev < 0)
			return false;
	}
}

void bch_lru_wants_iter_init(struct bch_lru_wants_iter *it, struct bch_lru_wants *w)
{
	memset(it, 0, sizeof(*it));
	it->w = w;
	it->dev = -1;
	if (w->nr_other)
		qsort(w->other, w->nr_other, sizeof(*w->other), cmp_whole);
	for (unsigned i = 0; i < w->nr_frag_devs; i++) {
		unsigned dev = w->frag_devs[i];

		it->next_d[dev] = next_class(&w->frag[dev], 1);
	}
}

bool bch_lru_wants_next(struct bch_lru_wants_iter *it, struct bpos *pos, size_t *ordinal)
{
	struct bpos f;
	bool have_f = frag_peek(it, &f);
	bool have_o = it->other < it->w->nr_other;

	if (!have_f && !have_o)
		return false;
	if (have_o && (!have_f || bpos_cmp(whole_pos(&it->w->other[it->other]), f) < 0)) {
		*pos = whole_pos(&it->w->other[it->other++]);
	} else {
		*pos = f;
		it->idx++;
	}
	*ordinal = it->ordinal++;
	return true;
}
