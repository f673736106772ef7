/*
 * fsck.bcachefs: the same binary under the name fsck(8) and systemd-fsck
 * run for a bcachefs filesystem. Takes e2fsck's options and maps them onto
 * bcachefs fsck (cmd_fsck.c):
 *
 *   -a, -p   fix what is safe unattended; a filesystem shut down cleanly,
 *            with no errors recorded and no LRU entry past a device end,
 *            is not checked (exit 0 at once) unless -f
 *   -y, -n   fix everything / check only
 *   -f       check even a clean filesystem
 *   -v       every finding
 *   -C FD    progress (0 a line, > 0 the "PASS CUR MAX DEVICE" protocol)
 *   -T       (fsck(8)'s title option) accepted, ignored
 *   -l       hold an exclusive flock(2) on each device for the run
 *   -M       do not check a mounted filesystem
 *   -V       print the version
 *   -z FILE  write an undo file (none by default: at boot the current
 *            directory may be read-only)
 *
 * A device may be a path, UUID=, LABEL=, or fstab's "dev1:dev2" of a
 * multi-device filesystem. A filesystem mounted read-only (the root at
 * boot) may be repaired; the exit status then has 2 set: reboot.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "fs.h"
#include "fsck_ctx.h"

static void compat_usage(FILE *f)
{
	fputs("Usage: fsck.bcachefs [-a|-p|-y|-n] [-f] [-v] [-C FD] [-T] [-l] [-M] [-V]\n"
	      "                     [-z UNDO|--no-undo] DEVICE|UUID=uuid|LABEL=label...\n"
	      "The fsck(8) front end of bcachefs fsck (see fsck.bcachefs(8)).\n"
	      "\n"
	      "  -a, -p     fix what is safe unattended; a clean filesystem is not checked\n"
	      "  -y         fix everything found\n"
	      "  -n         check only, open the devices read-only\n"
	      "  -f         check even a clean filesystem\n"
	      "  -v         every finding\n"
	      "  -C FD      progress: 0 a line on stderr, > 0 \"PASS CUR MAX DEVICE\" lines to FD\n"
	      "  -T         ignored (fsck(8)'s title option)\n"
	      "  -l         hold an exclusive lock (flock) on each device\n"
	      "  -M         do not check a mounted filesystem (exit 0)\n"
	      "  -V         print the version\n"
	      "  -z FILE    save what the repair overwrites to FILE (default: no undo file)\n"
	      "  --no-undo  no undo file (the default)\n"
	      "\n"
	      "Exit status (bits, as fsck(8)): 0 clean, 1 errors corrected, 2 reboot needed,\n"
	      "4 errors left uncorrected, 8 operational error, 16 usage error, 32 cancelled.\n", f);
}

/* "a:b:c" (fstab's multi-device source) into its paths, appended to *devs */
static int split_devs(const char *arg, char ***devs, unsigned *nr)
{
	char *copy = strdup(arg), *save = NULL;

	if (!copy)
		return -1;
	/* UUID= and LABEL= are never split: a label may hold ':' */
	if (bch_dev_spec_is_search(arg)) {
		char **n = realloc(*devs, (*nr + 1) * sizeof(*n));

		if (!n) {
			free(copy);
			return -1;
		}
		*devs = n;
		(*devs)[(*nr)++] = copy;
		return 0;
	}
	for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		char **n = realloc(*devs, (*nr + 1) * sizeof(*n));

		if (!n || !(n[*nr] = strdup(tok))) {
			if (n)
				*devs = n;
			free(copy);
			return -1;
		}
		*devs = n;
		(*nr)++;
	}
	free(copy);
	return 0;
}

/*
 * fsck(8) gives one device, also of a filesystem with several (it finds
 * one by UUID= or LABEL=): a block device that is one of several members
 * becomes UUID=<its filesystem's uuid>, which finds them all. An image
 * file cannot be found that way: it stays as given.
 */
static int find_other_members(char **dev)
{
	struct bch_error err = { 0 };
	struct printbuf pb = PRINTBUF;
	struct stat st;
	struct bch_sb sb;
	char *spec;
	int ret = 0;

	if (bch_dev_spec_is_search(*dev) || stat(*dev, &st) || !S_ISBLK(st.st_mode) ||
	    bch_dev_read_sb(*dev, NULL, &sb, &err))
		return 0;	/* opening it for the check will say what is wrong */
	if (sb.nr_devices > 1) {
		pb_uuid(&pb, sb.uuid);
		if (pb.buf && asprintf(&spec, "UUID=%s", pb.buf) > 0) {
			printf("%s is one of %u member devices: looking for the others by UUID\n",
			       *dev, sb.nr_devices);
			free(*dev);
			*dev = spec;
		} else {
			die_msg("out of memory");
			ret = -1;
		}
	}
	pb_exit(&pb);
	bch_sb_free(&sb);
	return ret;
}

/* -l: an exclusive flock on each device path, held until we exit */
static int lock_devs(char * const *devs, unsigned nr, int *fds)
{
	for (unsigned i = 0; i < nr; i++) {
		fds[i] = -1;
		if (bch_dev_spec_is_search(devs[i]))
			continue;
		fds[i] = open(devs[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			continue;	/* opening it for the check will say why */
		if (flock(fds[i], LOCK_EX | LOCK_NB)) {
			fprintf(stderr, "fsck.bcachefs: %s is locked by another fsck: waiting\n",
				devs[i]);
			if (flock(fds[i], LOCK_EX)) {
				die_msg("cannot lock %s", devs[i]);
				return -1;
			}
		}
	}
	return 0;
}

static int parse_compat(int argc, char *argv[], struct fsck_opts *o, bool *lock)
{
	static const struct option longopts[] = {
		{ "no-undo",	no_argument,	   NULL, 'U' },
		{ "help",	no_argument,	   NULL, 'h' },
#ifdef BCH_TEST_HOOKS
		/* the test build only: another mount table */
		{ "test-mountinfo", required_argument, NULL, 'I' },
#endif
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int ch;

	o->prog = "fsck.bcachefs";
	o->no_undo = true;
	o->allow_ro_mounted = true;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "apynfvC:TlMVz:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
		case 'p':
		case 'y':
		case 'n': {
			enum fsck_mode m = ch == 'n' ? MODE_CHECK : ch == 'y' ? MODE_YES : MODE_PREEN;

			if (o->mode_given && o->mode != m) {
				fprintf(stderr, "fsck.bcachefs: -n, -y and -p/-a exclude each other\n");
				return EXIT_USAGE;
			}
			o->mode = m;
			o->mode_given = true;
			break;
		}
		case 'f':
			force = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'C':
			if (parse_progress_fd(optarg, &o->progress_fd))
				return EXIT_USAGE;
			break;
		case 'T':
			break;
		case 'l':
			*lock = true;
			break;
		case 'M':
			o->skip_mounted = true;
			break;
		case 'V':
			printf("fsck.bcachefs (bcachefs offline checker) %s\n", BCH_TOOL_VERSION);
			return -1;
		case 'z':
			o->undo_file = optarg;
			o->no_undo = false;
			break;
		case 'U':
			o->no_undo = true;
			o->undo_file = NULL;
			break;
		case 'h':
			compat_usage(stdout);
			return -1;
#ifdef BCH_TEST_HOOKS
		case 'I':
			o->mountinfo = optarg;
			break;
#endif
		default:
			compat_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "fsck.bcachefs: no device given\n");
		compat_usage(stderr);
		return EXIT_USAGE;
	}
	if (!o->mode_given)
		o->mode = isatty(STDIN_FILENO) ? MODE_ASK : MODE_CHECK;
	o->compat_skip_clean = o->mode == MODE_PREEN && !force;
	return 0;
}

int cmd_fsck_compat(int argc, char *argv[])
{
	struct fsck_opts o;
	char **devs = NULL;
	unsigned nr = 0;
	int *fds = NULL;
	bool lock = false;
	int status;

	fsck_opts_init(&o);
	cancel_on_signals();
	status = parse_compat(argc, argv, &o, &lock);
	if (status)
		return status < 0 ? EXIT_OK : status;
	for (int i = optind; i < argc; i++)
		if (split_devs(argv[i], &devs, &nr)) {
			die_msg("out of memory");
			status = EXIT_OPERATIONAL;
			goto out;
		}
	if (!nr) {
		fprintf(stderr, "fsck.bcachefs: no device in '%s'\n", argv[optind]);
		status = EXIT_USAGE;
		goto out;
	}
	if (lock) {
		fds = calloc(nr, sizeof(*fds));
		if (!fds || lock_devs(devs, nr, fds)) {
			status = EXIT_OPERATIONAL;
			goto out;
		}
	}
	if (nr == 1 && find_other_members(&devs[0])) {
		status = EXIT_OPERATIONAL;
		goto out;
	}
	status = fsck_main(&o, devs, nr);
out:
	for (unsigned i = 0; i < nr; i++) {
		if (fds && fds[i] >= 0)
			close(fds[i]);
		free(devs[i]);
	}
	free(fds);
	free(devs);
	return status;
}
