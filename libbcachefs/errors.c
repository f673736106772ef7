/* Error codes and messages of the library (errors.h). */
#include <stdio.h>
#include <string.h>

#include "errors.h"

int bch_err(struct bch_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -code;
	if (e->code)
		return -e->code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -code;
}

void bch_err_prefix(struct bch_error *e, const char *fmt, ...)
{
	char buf[sizeof(e->msg)];
	va_list ap;
	int n;

	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(buf))
		return;
	/* "prefix: message", the message cut if it no longer fits */
	buf[n++] = ':';
	buf[n++] = ' ';
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%.*s",
		 (int)(sizeof(buf) - (size_t)n - 1), e->msg);
	memcpy(e->msg, buf, sizeof(buf));
}

const char *bch_errcode_name(int code)
{
	static const char * const names[] = {
		[BCH_ERR_OK]		= "ok",
		[BCH_ERR_IO]		= "I/O error",
		[BCH_ERR_NOT_BCACHEFS]	= "not a bcachefs filesystem",
		[BCH_ERR_CORRUPT]	= "corrupt metadata",
		[BCH_ERR_UNSUPPORTED]	= "unsupported format",
		[BCH_ERR_NOMEM]		= "out of memory",
		[BCH_ERR_NEED_KEY]	= "encryption key required",
		[BCH_ERR_DEVICES]	= "member devices",
		[BCH_ERR_INVAL]		= "invalid argument",
		[BCH_ERR_RANGE]		= "index out of range",
	};

	if (code < 0)
		code = -code;
	return code < BCH_ERR_NR ? names[code] : "unknown error";
}

void bch_msg(const struct bch_msg_sink *s, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!s || !s->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->fn(s->ctx, level, buf);
}
