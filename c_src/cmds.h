/* The subcommands of the bcachefs tool, its exit codes and shared helpers. */
#ifndef BCH_CMDS_H
#define BCH_CMDS_H

#include <stdbool.h>
#include <stddef.h>

#define BCH_TOOL_VERSION "0.1"

/*
 * Exit codes, as fsck(8): 0 clean/success, 1 errors corrected, 2 the
 * system should be rebooted, 4 errors left uncorrected, 8 operational
 * error (could not read the filesystem), 16 usage error, 32 cancelled.
 * fsck(8) ORs them over filesystems; we may OR 2 and 32 onto the others.
 */
enum {
	EXIT_OK			= 0,
	EXIT_FIXED		= 1,
	EXIT_UNCORRECTED	= 4,
	EXIT_OPERATIONAL	= 8,
	EXIT_REBOOT		= 2,	/* a mounted (read-only) filesystem was repaired */
	EXIT_USAGE		= 16,
	EXIT_CANCELLED		= 32,	/* cancelled by a signal */
};

int cmd_show_super(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_fsck(int argc, char *argv[]);
int cmd_undo(int argc, char *argv[]);
int cmd_dump(int argc, char *argv[]);
int cmd_format(int argc, char *argv[]);
int cmd_fsck_compat(int argc, char *argv[]);	/* fsck.bcachefs */

/* mounts.c: how a device is in use, worst first when several apply */
enum dev_use {
	DEV_FREE,
	DEV_MOUNTED_RO,
	DEV_LOOP,		/* an image attached to a loop device */
	DEV_MOUNTED_RW,
};
/* mountinfo: NULL for /proc/self/mountinfo; where: what we found, for people */
enum dev_use dev_in_use(const char *path, const char *mountinfo, char *where, size_t size);

/*
 * Signals (util.c): SIGINT, SIGTERM and SIGHUP end the run with exit
 * status 32 at once, unless held (once a repair starts writing), when they
 * are remembered and the run ends with 32 added. SIGPIPE is ignored.
 */
void cancel_on_signals(void);
void cancel_hold(void);	/* from the repair's first write to the end */
bool cancel_requested(void);

/* shared helpers (c_src/util.c) */
struct bch_fs;
struct bch_error;
struct bch_msg_sink;

/*
 * A passphrase from file (one trailing newline dropped) or, on a terminal,
 * asked for (twice: typed again and compared). NULL after saying why.
 */
char *read_passphrase(const char *file, bool twice, size_t *len);
/* print "bcachefs: <msg>" to stderr */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* stderr sink for library messages */
extern const struct bch_msg_sink stderr_msgs;
/* map a library error code to an exit status */
int exit_status_of(int errcode);
/*
 * Open the filesystem read-only, or as io_flags say (BCH_IO_WRITE,
 * BCH_IO_SHARED): reads the passphrase from passphrase_file, or prompts
 * on a terminal when the filesystem needs one. Prints the error and
 * returns NULL on failure (*exit_status set, and *why if not NULL).
 */
struct bch_fs *open_fs(char * const *devs, unsigned nr, const char *passphrase_file,
		       unsigned io_flags, int *exit_status, struct bch_error *why);

#endif
