/* A growable string the text formatters append to. */
#ifndef BCH_PRINTBUF_H
#define BCH_PRINTBUF_H

#include <stddef.h>
#include <stdint.h>

struct printbuf {
	char	*buf;
	size_t	len;
	size_t	size;
	int	oom;		/* an allocation failed; buf holds what fitted */
};

#define PRINTBUF ((struct printbuf){ 0 })

void pb_printf(struct printbuf *pb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pb_puts(struct printbuf *pb, const char *s);
void pb_hex(struct printbuf *pb, const void *p, size_t len);
void pb_reset(struct printbuf *pb);
void pb_exit(struct printbuf *pb);
/* "inode:offset:snapshot" */
struct bpos;
void pb_bpos(struct printbuf *pb, struct bpos p);
void pb_uuid(struct printbuf *pb, const uint8_t uuid[16]);
/* 1.5k / 64.0M style sizes from a byte count */
void pb_human(struct printbuf *pb, uint64_t bytes);

#endif
