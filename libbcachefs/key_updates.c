/* A set of key inserts and deletions to commit together (key_updates.h). */
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "key_updates.h"
#include "vec.h"

#define CHUNK_BYTES	(1u << 20)

/* room for one key in the set's chunks */
static uint8_t *key_bytes(struct bch_key_updates *u, size_t bytes)
{
	if (!u->nr_chunks || u->chunk_used + bytes > CHUNK_BYTES) {
		uint8_t **v = realloc(u->chunks, (u->nr_chunks + 1) * sizeof(*v));

		if (!v)
			return NULL;
		u->chunks = v;
		u->chunks[u->nr_chunks] = malloc(CHUNK_BYTES);
		if (!u->chunks[u->nr_chunks])
			return NULL;
		u->nr_chunks++;
		u->chunk_used = 0;
	}
	u->chunk_used += bytes;
	return u->chunks[u->nr_chunks - 1] + u->chunk_used - bytes;
}

static int push(struct bch_key_updates *u, unsigned btree_id, unsigned level,
		const struct bkey *k)
{
	struct bch_key_update *n;
	size_t bytes = BKEY_U64S * 8 + k->val_bytes;

	if (k->val_bytes % 8 || k->val_bytes > BKEY_VAL_U64S_MAX * 8)
		return -BCH_ERR_INVAL;
	n = BCH_VEC_PUSH(u->v, u->nr, u->size);
	if (!n)
		return -BCH_ERR_NOMEM;
	n->bytes = key_bytes(u, bytes);
	if (!n->bytes) {
		u->nr--;
		return -BCH_ERR_NOMEM;
	}
	bch_bkey_write_unpacked(n->bytes, k);
	n->btree_id = (uint8_t)btree_id;
	n->level = (uint8_t)level;
	n->order = u->next_order++;
	return 0;
}

int bch_key_updates_borrow(struct bch_key_updates *u, const struct bch_key_update *k)
{
	struct bch_key_update *n = BCH_VEC_PUSH(u->v, u->nr, u->size);

	if (!n)
		return -BCH_ERR_NOMEM;
	*n = *k;
	n->order = u->next_order++;
	return 0;
}

int bch_key_updates_add(struct bch_key_updates *u, unsigned btree_id, unsigned level,
			const struct bkey *k)
{
	return push(u, btree_id, level, k);
}

int bch_key_updates_delete(struct bch_key_updates *u, unsigned btree_id, unsigned level,
			   struct bpos p, uint32_t size)
{
	struct bkey k = { .p = p, .type = KEY_TYPE_deleted, .size = size };

	return push(u, btree_id, level, &k);
}

size_t bch_key_updates_lower_bound(const struct bch_key_updates *u, unsigned btree,
				   unsigned level, struct bpos pos)
{
	size_t lo = 0, hi = u->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bch_key_update *k = &u->v[mid];
		int c = k->btree_id != btree ? (k->btree_id < btree ? -1 : 1) :
			k->level != level ? (k->level < level ? -1 : 1) :
			bpos_cmp(bch_key_update_pos(k), pos);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_update(const void *a, const void *b)
{
	const struct bch_key_update *x = a, *y = b;
	int c;

	if (x->btree_id != y->btree_id)
		return x->btree_id < y->btree_id ? -1 : 1;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	c = bpos_cmp(bch_key_update_pos(x), bch_key_update_pos(y));
	if (c)
		return c;
	/* deletions before inserts, then by order: the last one survives */
	if ((x->bytes[2] == KEY_TYPE_deleted) != (y->bytes[2] == KEY_TYPE_deleted))
		return x->bytes[2] == KEY_TYPE_deleted ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* accounting updates are deltas: two at one position add up (into the later) */
static void accounting_fold(const struct bch_key_update *from, struct bch_key_update *into)
{
	size_t n;

	if (into->btree_id != BTREE_ID_accounting || from->bytes[2] != KEY_TYPE_accounting ||
	    into->bytes[2] != KEY_TYPE_accounting)
		return;
	n = from->bytes[0] < into->bytes[0] ? from->bytes[0] : into->bytes[0];
	for (size_t w = BKEY_U64S; w < n; w++)
		put_le64(into->bytes + 8 * w, get_le64(into->bytes + 8 * w) +
					      get_le64(from->bytes + 8 * w));
}

/* already in order (a merge of finished sets): no sort needed */
static bool updates_sorted(const struct bch_key_updates *u)
{
	for (size_t i = 1; i < u->nr; i++)
		if (cmp_update(&u->v[i - 1], &u->v[i]) > 0)
			return false;
	return true;
}

void bch_key_updates_finish(struct bch_key_updates *u)
{
	size_t i, out = 0;

	if (!u->nr)	/* u->v is NULL before the first update */
		return;
	if (!updates_sorted(u))
		qsort(u->v, u->nr, sizeof(*u->v), cmp_update);
	for (i = 0; i < u->nr; i++) {
		if (i + 1 < u->nr && u->v[i].btree_id == u->v[i + 1].btree_id &&
		    u->v[i].level == u->v[i + 1].level &&
		    bpos_eq(bch_key_update_pos(&u->v[i]), bch_key_update_pos(&u->v[i + 1]))) {
			accounting_fold(&u->v[i], &u->v[i + 1]);
			continue;
		}
		u->v[out++] = u->v[i];
	}
	u->nr = out;
	/* give back the spare room (adding more later still works) */
	struct bch_key_update *v = realloc(u->v, (out ? out : 1) * sizeof(*v));

	if (v) {
		u->v = v;
		u->size = out ? out : 1;
	}
}

void bch_key_updates_free(struct bch_key_updates *u)
{
	for (size_t i = 0; i < u->nr_chunks; i++)
		free(u->chunks[i]);
	free(u->chunks);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

void bch_key_updates_drop_btree(struct bch_key_updates *u, unsigned btree_id)
{
	size_t out = 0;

	for (size_t i = 0; i < u->nr; i++)
		if (u->v[i].btree_id != btree_id)
			u->v[out++] = u->v[i];
	u->nr = out;
}

void bch_key_updates_drop_list(struct bch_key_updates *u)
{
	free(u->v);
	u->v = NULL;
	u->nr = u->size = 0;
}
