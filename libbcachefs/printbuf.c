/* The growable text buffer the formatters write into (printbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcachefs_format.h"
#include "printbuf.h"

static int pb_reserve(struct printbuf *pb, size_t extra)
{
	size_t want = pb->len + extra + 1;
	char *n;

	if (want <= pb->size)
		return 0;
	if (want < 256)
		want = 256;
	if (want < pb->size * 2)
		want = pb->size * 2;
	n = realloc(pb->buf, want);
	if (!n) {
		pb->oom = 1;
		return -1;
	}
	pb->buf = n;
	pb->size = want;
	return 0;
}

void pb_printf(struct printbuf *pb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || pb_reserve(pb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(pb->buf + pb->len, pb->size - pb->len, fmt, ap);
	va_end(ap);
	pb->len += (size_t)n;
}

void pb_puts(struct printbuf *pb, const char *s)
{
	size_t n = strlen(s);

	if (pb_reserve(pb, n))
		return;
	memcpy(pb->buf + pb->len, s, n + 1);
	pb->len += n;
}

void pb_hex(struct printbuf *pb, const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	if (pb_reserve(pb, len * 2))
		return;
	for (i = 0; i < len; i++) {
		pb->buf[pb->len++] = digits[b[i] >> 4];
		pb->buf[pb->len++] = digits[b[i] & 15];
	}
	pb->buf[pb->len] = 0;
}

void pb_reset(struct printbuf *pb)
{
	pb->len = 0;
	if (pb->buf)
		pb->buf[0] = 0;
}

void pb_exit(struct printbuf *pb)
{
	free(pb->buf);
	*pb = PRINTBUF;
}

void pb_bpos(struct printbuf *pb, struct bpos p)
{
	pb_printf(pb, "%llu:%llu:%u", (unsigned long long)p.inode,
		  (unsigned long long)p.offset, p.snapshot);
}

void pb_uuid(struct printbuf *pb, const uint8_t u[16])
{
	pb_printf(pb, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		  "%02x%02x%02x%02x%02x%02x",
		  u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		  u[10], u[11], u[12], u[13], u[14], u[15]);
}

void pb_human(struct printbuf *pb, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (!u)
		pb_printf(pb, "%llu", (unsigned long long)bytes);
	else if (v < 10)
		pb_printf(pb, "%.1f%c", v, units[u]);
	else
		pb_printf(pb, "%.0f%c", v, units[u]);
}
