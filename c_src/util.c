/* Helpers shared by the subcommands: messages, exit codes, opening a filesystem. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmds.h"
#include "fs.h"

void die_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("bcachefs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void stderr_msg(void *ctx, int level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "bcachefs: %s%s\n", level == BCH_MSG_WARN ? "warning: " : "", msg);
}

const struct bch_msg_sink stderr_msgs = { .fn = stderr_msg };

int exit_status_of(int errcode)
{
	if (errcode < 0)
		errcode = -errcode;
	return errcode == BCH_ERR_INVAL ? EXIT_USAGE : EXIT_OPERATIONAL;
}

static char *read_passphrase_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 4096);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, 4095, f);
	fclose(f);
	/* one trailing newline is not part of the passphrase */
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	*len = n;
	return buf;
}

static char *prompt_passphrase(size_t *len)
{
	struct termios old, noecho;
	char *buf = calloc(1, 4096);
	bool restore = false;

	if (!buf)
		return NULL;
	fputs("Enter passphrase: ", stderr);
	if (!tcgetattr(STDIN_FILENO, &old)) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		restore = !tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
	}
	if (!fgets(buf, 4096, stdin))
		buf[0] = 0;
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	*len = strlen(buf);
	if (*len && buf[*len - 1] == '\n')
		buf[--*len] = 0;
	return buf;
}

char *read_passphrase(const char *file, bool twice, size_t *len)
{
	char *pass, *again;
	size_t len2;

	if (file) {
		pass = read_passphrase_file(file, len);
		if (!pass)
			die_msg("cannot read passphrase file %s", file);
		return pass;
	}
	if (!isatty(STDIN_FILENO)) {
		die_msg("no passphrase: give --passphrase-file, or run on a terminal");
		return NULL;
	}
	pass = prompt_passphrase(len);
	if (!pass || !twice)
		return pass;
	fputs("Again, ", stderr);
	again = prompt_passphrase(&len2);
	if (!again || len2 != *len || memcmp(pass, again, len2)) {
		die_msg("the passphrases differ");
		memset(pass, 0, 4096);
		free(pass);
		pass = NULL;
	}
	if (again) {
		memset(again, 0, 4096);
		free(again);
	}
	return pass;
}

struct bch_fs *open_fs(char * const *devs, unsigned nr, const char *passphrase_file,
		       unsigned io_flags, int *exit_status, struct bch_error *why)
{
	struct bch_fs_opts o = {
		.write = io_flags & BCH_IO_WRITE, .shared = io_flags & BCH_IO_SHARED,
		.msgs = stderr_msgs,
	};
	struct bch_error err = { 0 };
	struct bch_fs *fs = NULL;
	char *pass = NULL;
	int ret;

	if (passphrase_file) {
		pass = read_passphrase_file(passphrase_file, &o.passphrase_len);
		if (!pass) {
			bch_err(&err, BCH_ERR_INVAL, "cannot read passphrase file %s", passphrase_file);
			die_msg("%s", err.msg);
			*exit_status = EXIT_USAGE;
			if (why)
				*why = err;
			return NULL;
		}
		o.passphrase = pass;
	}
	ret = bch_fs_open(devs, nr, &o, &fs, &err);
	if (ret == -BCH_ERR_NEED_KEY && !pass && isatty(STDIN_FILENO)) {
		memset(&err, 0, sizeof(err));
		pass = prompt_passphrase(&o.passphrase_len);
		o.passphrase = pass;
		ret = pass ? bch_fs_open(devs, nr, &o, &fs, &err) : -BCH_ERR_NOMEM;
	}
	if (pass) {
		memset(pass, 0, 4096);
		free(pass);
	}
	if (ret) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s", bch_errcode_name(ret));
		die_msg("%s", err.msg);
		*exit_status = exit_status_of(ret);
		if (why)
			*why = err;
		return NULL;
	}
	*exit_status = EXIT_OK;
	return fs;
}

/* the one global of the command: a signal handler can reach nothing else */
static volatile sig_atomic_t cancel_state;	/* bit 0 held, bit 1 requested */

static void on_cancel_signal(int sig)
{
	static const char msg[] = "\nbcachefs: cancelled; nothing was written\n";

	(void)sig;
	if (cancel_state & 1) {
		cancel_state |= 2;
		return;
	}
	/* nothing more can be done if this write fails */
	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)n;
	_exit(EXIT_CANCELLED);
}

void cancel_on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_cancel_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/*
	 * a reader that goes away (| head, systemd-fsck's progress pipe) must
	 * not stop a check or a repair half-way: writes to it just fail
	 */
	signal(SIGPIPE, SIG_IGN);
}

void cancel_hold(void)
{
	cancel_state |= 1;
}

bool cancel_requested(void)
{
	return cancel_state & 2;
}
