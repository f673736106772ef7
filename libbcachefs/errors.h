/*
 * Error reporting of the library: functions return 0 or a negative
 * bch_errcode and fill a struct bch_error with a message that names the
 * structure and the byte offset at fault. Nothing here prints.
 */
#ifndef BCH_ERRORS_H
#define BCH_ERRORS_H

#include <stdarg.h>

enum bch_errcode {
	BCH_ERR_OK = 0,
	BCH_ERR_IO,		/* read/write/open failed */
	BCH_ERR_NOT_BCACHEFS,	/* no superblock magic anywhere */
	BCH_ERR_CORRUPT,	/* metadata fails validation or checksum */
	BCH_ERR_UNSUPPORTED,	/* newer format, big-endian writer, ... */
	BCH_ERR_NOMEM,
	BCH_ERR_NEED_KEY,	/* encrypted and no/incorrect passphrase */
	BCH_ERR_DEVICES,	/* missing or mismatched member devices */
	BCH_ERR_INVAL,		/* bad argument from the caller */
	BCH_ERR_RANGE,		/* index outside an object (bitmap, device) */
	BCH_ERR_NR,
};

struct bch_error {
	int	code;		/* enum bch_errcode */
	char	msg[1024];
};

/* set code and message (first error wins); returns -code */
int bch_err(struct bch_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* prefix context to an existing message */
void bch_err_prefix(struct bch_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *bch_errcode_name(int code);

/*
 * Non-fatal messages (a backup superblock used, a torn journal entry
 * skipped): the library hands them to the caller's callback, if any.
 */
enum bch_msg_level { BCH_MSG_INFO, BCH_MSG_WARN };

struct bch_msg_sink {
	void	(*fn)(void *ctx, int level, const char *msg);
	void	*ctx;
};

void bch_msg(const struct bch_msg_sink *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
