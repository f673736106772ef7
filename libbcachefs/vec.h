/*
 * Arrays that grow one element at a time, their room doubling: the
 * pattern of every finding list, node list and key set here.
 */
#ifndef BCH_VEC_H
#define BCH_VEC_H

#include <stddef.h>
#include <stdlib.h>

/* room for one more element of elem bytes; returns the new slot or NULL */
static inline void *bch_vec_push(void **arr, size_t *nr, size_t *size, size_t elem)
{
	if (*nr == *size) {
		size_t ns = *size ? *size * 2 : 64;
		void *n = realloc(*arr, ns * elem);

		if (!n)
			return NULL;
		*arr = n;
		*size = ns;
	}
	return (char *)*arr + (*nr)++ * elem;
}

/* the same for an array variable arr with its nr and size */
#define BCH_VEC_PUSH(arr, nr, size) \
	((__typeof__(arr))bch_vec_push((void **)&(arr), &(nr), &(size), sizeof(*(arr))))

#endif
