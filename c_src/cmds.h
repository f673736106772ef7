/* The subcommands of the bcachefs tool, its exit codes and shared helpers. */
#ifndef BCH_CMDS_H
#define BCH_CMDS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Exit codes, as fsck(8): 0 clean/success, 1 errors corrected,
 * 4 errors left uncorrected, 8 operational error (could not read the
 * filesystem), 16 usage error.
 */
enum {
	EXIT_OK			= 0,
	EXIT_FIXED		= 1,
	EXIT_UNCORRECTED	= 4,
	EXIT_OPERATIONAL	= 8,
	EXIT_USAGE		= 16,
};

int cmd_show_super(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_fsck(int argc, char *argv[]);
int cmd_undo(int argc, char *argv[]);

/* shared helpers (c_src/util.c) */
struct bch_fs;
struct bch_error;
struct bch_msg_sink;

/* print "bcachefs: <msg>" to stderr */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* stderr sink for library messages */
extern const struct bch_msg_sink stderr_msgs;
/* map a library error code to an exit status */
int exit_status_of(int errcode);
/*
 * Open the filesystem read-only (or read-write): reads the passphrase from
 * passphrase_file, or prompts on a terminal when the filesystem needs one.
 * Prints the error and returns NULL on failure (*exit_status set).
 */
struct bch_fs *open_fs(char * const *devs, unsigned nr, const char *passphrase_file,
		       bool write, int *exit_status);

#endif
