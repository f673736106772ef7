/* The bcachefs command: dispatch to the subcommands. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static void usage(FILE *f)
{
	fputs("bcachefs - offline checking and repair of bcachefs filesystems\n"
	      "\n"
	      "Usage: bcachefs <command> [options] DEV...\n"
	      "\n"
	      "Commands:\n"
	      "  show-super [-f FIELDS] DEV...   print the superblock\n"
	      "  list [-b BTREES] [-s POS] [-e POS] [-l LEVEL] [--format=text|keys|nodes] DEV...\n"
	      "                                  list the keys or nodes of btrees\n"
	      "  fsck [-n|-y|-p] [-v] [-z UNDO] [--json[=FILE]] [--pass=NAME[,NAME]] DEV...\n"
	      "                                  check (and repair) the alloc, backpointer and\n"
	      "                                  LRU btrees; say whether copygc would fault\n"
	      "  undo [-n] FILE DEV...           restore what a repair overwrote\n"
	      "  dump -o DIR DEV...              metadata-only copy for a bug report\n"
	      "  format [OPTION]... DEV...       make a new filesystem\n"
	      "  (as fsck.bcachefs)              the fsck(8) front end, see fsck.bcachefs(8)\n"
	      "  version                         print the version\n"
	      "  help                            this message\n"
	      "\n"
	      "DEV is an image file or block device; give every member of a\n"
	      "multi-device filesystem, or UUID=<uuid> or LABEL=<label> to find them.\n"
	      "Encrypted filesystems: --passphrase-file FILE, or a prompt on a terminal.\n"
	      "\n"
	      "Exit status: 0 success (fsck: clean), 1 fsck corrected errors, 4 fsck left errors\n"
	      "uncorrected, 8 the filesystem could not be read, 16 usage error, 32 cancelled.\n"
	      "See bcachefs(8).\n", f);
}

int main(int argc, char *argv[])
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;

	/*
	 * Node buffers and key arrays (tens to hundreds of KiB, one per node
	 * read) come from the heap and are reused: mapped and unmapped each
	 * time they cost page faults, and with reader threads TLB shootdowns.
	 */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	/* installed as fsck.bcachefs too, for fsck(8) */
	self = self ? self + 1 : argc > 0 ? argv[0] : "";
	if (!strcmp(self, "fsck.bcachefs"))
		return cmd_fsck_compat(argc, argv);

	if (!cmd) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("bcachefs (offline checker) %s\n", BCH_TOOL_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "show-super"))
		return cmd_show_super(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "fsck"))
		return cmd_fsck(argc - 1, argv + 1);
	if (!strcmp(cmd, "undo"))
		return cmd_undo(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "format"))
		return cmd_format(argc - 1, argv + 1);

	fprintf(stderr, "bcachefs: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
