/*
 * Arrays that grow one element at a time, their room doubling: the
 * pattern of every finding list, node list and key set here.
 */
#ifndef BCH_VEC_H
#define BCH_VEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * bytes more at the end of a byte buffer of len used out of size, the new
 * room zeroed; returns where they go, or NULL
 */
static inline uint8_t *bch_buf_append(uint8_t **buf, size_t *len, size_t *size, size_t bytes)
{
	if (*len + bytes > *size) {
		size_t ns = *size ? *size * 2 : 4096;
		uint8_t *n;

		while (ns < *len + bytes)
			ns *= 2;
		n = realloc(*buf, ns);
		if (!n)
			return NULL;
		memset(n + *size, 0, ns - *size);
		*buf = n;
		*size = ns;
	}
	*len += bytes;
	return *buf + *len - bytes;
}

/* the same for an array variable arr with its nr and size */
#define BCH_VEC_PUSH(arr, nr, size) \
	((__typeof__(arr))bch_vec_push((void **)&(arr), &(nr), &(size), sizeof(*(arr))))

#endif
