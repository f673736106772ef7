/*
 * bcachefs fsck: options, then the passes (fsck_passes.c), the reports
 * (fsck_report.c) and, unless -n, the repair (fsck_repair_run.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "fs.h"
#include "fsck.h"
#include "fsck_ctx.h"
#include "rebuild.h"
#include "json_compat.h"

/* ---- command line ---- */

static void fsck_usage(FILE *f)
{
	fputs("Usage: bcachefs fsck [OPTION]... DEV...\n"
	      "Check the alloc, backpointers and LRU btrees of an unmounted filesystem:\n"
	      "rebuild the per-device backpointer mismatch/empty bucket bitmaps, report\n"
	      "every inconsistency under its upstream error name, and say whether the\n"
	      "image would fault copygc on kernels without the July 2025 fix.\n"
	      "\n"
	      "  -n                      check only, open every device read-only (the\n"
	      "                          default when stdin is not a terminal)\n"
	      "  -y                      fix everything found\n"
	      "  -p, -a                  fix what is safe unattended; exit 4 if more is left\n"
	      "                          (without -n/-y/-p on a terminal: ask per error type)\n"
	      "  -z, --undo-file=FILE    save what the repair overwrites to FILE (default:\n"
	      "                          bcachefs-fsck-UUID-TIME.undo in the current directory)\n"
	      "      --no-undo           do not write an undo file\n"
	      "      --rebuild=BTREE,... with -y: write these btrees anew from the alloc keys\n"
	      "                          and the pointers (backpointers, lru, freespace,\n"
	      "                          need_discard, bucket_gens, reconcile_*_phys)\n"
	      "      --full              scan every pointer and look up every backpointer's\n"
	      "                          target, not only those of buckets that do not add up\n"
	      "  -v, --verbose           every finding (default: 10 per error type)\n"
	      "      --threads=N         N threads read and decode btree nodes (default:\n"
	      "                          the online CPUs, at most 16, from 2^22 buckets\n"
	      "                          in all; 1 below that and with 1: no others)\n"
	      "      --stats             at the end, on stderr: nodes and bytes read (from\n"
	      "                          the page cache, from the devices), time, memory\n"
	      "  -C, --progress=FD       progress: FD 0 a line on stderr (the default when\n"
	      "                          stderr is a terminal), FD > 0 e2fsck's protocol\n"
	      "                          lines \"PASS CUR MAX DEVICE\" to that descriptor\n"
	      "      --no-progress       no progress line\n"
	      "      --json[=FILE]       machine-readable report to FILE (default stdout)\n"
	      "      --findings          print only the findings, one line each, in the\n"
	      "                          expected-findings vocabulary of the image corpus\n"
	      "      --pass=NAME[,NAME]  run only these passes (see --list-passes)\n"
	      "      --list-passes       list the passes\n"
	      "      --dump-bitmaps=DIR  write DIR/devN.mismatch and DIR/devN.empty\n"
	      "                          (nbuckets bits each, LSB first)\n"
	      "      --passphrase-file=FILE  passphrase of an encrypted filesystem\n"
	      "  -h, --help              this message\n"
	      "\n"
	      "Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected,\n"
	      "8 operational error, 16 usage error, 32 cancelled by a signal.\n", f);
}

static int parse_passes(char *s, struct fsck_opts *o)
{
	memset(o->pass, 0, sizeof(o->pass));
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		unsigned i;

		for (i = 0; i < PASS_NR && strcmp(tok, fsck_passes[i].name); i++)
			;
		if (i == PASS_NR) {
			die_msg("unknown pass '%s' (see --list-passes)", tok);
			return -1;
		}
		o->pass[i] = true;
	}
	/* and what they need, as the pass table says */
	for (unsigned i = PASS_NR; i-- > 0;)
		for (unsigned j = 0; j < PASS_NR; j++)
			if (o->pass[i] && (fsck_passes[i].needs & PASS_BIT(j)))
				o->pass[j] = true;
	return 0;
}

enum { OPT_JSON = 256, OPT_FINDINGS, OPT_PASS, OPT_LIST_PASSES, OPT_DUMP, OPT_PASSPHRASE,
       OPT_NO_UNDO, OPT_TEST_FAIL_AFTER, OPT_REBUILD, OPT_NO_PROGRESS, OPT_TEST_MOUNTINFO,
       OPT_FULL, OPT_STATS, OPT_THREADS };

/* --rebuild=BTREE[,BTREE...]: derived btrees to write anew */
static int parse_rebuild(char *s, struct fsck_opts *o)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		int b = bch_btree_id_parse(tok);

		if (b < 0 || !bch_btree_is_derived((unsigned)b, BCH_VERSION_CURRENT)) {
			die_msg("--rebuild: '%s' is not a btree that can be rebuilt "
				"(backpointers, lru, freespace, need_discard, bucket_gens, "
				"reconcile_hipri_phys, reconcile_work_phys)", tok);
			return -1;
		}
		o->rebuild[b] = o->any_rebuild = true;
	}
	return 0;
}

int parse_progress_fd(const char *s, int *fd)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 1 << 20) {
		die_msg("-C: '%s' is not a file descriptor number", s);
		return -1;
	}
	*fd = (int)v;
	return 0;
}

void fsck_opts_init(struct fsck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->prog = "bcachefs fsck";
	o->progress_fd = -1;
	for (unsigned i = 0; i < PASS_NR; i++)
		o->pass[i] = true;
}

static int parse_fsck_opts(int argc, char *argv[], struct fsck_opts *o)
{
	static const struct option longopts[] = {
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "json",		optional_argument, NULL, OPT_JSON },
		{ "findings",		no_argument,	   NULL, OPT_FINDINGS },
		{ "pass",		required_argument, NULL, OPT_PASS },
		{ "list-passes",	no_argument,	   NULL, OPT_LIST_PASSES },
		{ "dump-bitmaps",	required_argument, NULL, OPT_DUMP },
		{ "passphrase-file",	required_argument, NULL, OPT_PASSPHRASE },
		{ "undo-file",		required_argument, NULL, 'z' },
		{ "no-undo",		no_argument,	   NULL, OPT_NO_UNDO },
		{ "rebuild",		required_argument, NULL, OPT_REBUILD },
		{ "full",		no_argument,	   NULL, OPT_FULL },
		{ "stats",		no_argument,	   NULL, OPT_STATS },
		{ "threads",		required_argument, NULL, OPT_THREADS },
		{ "progress",		required_argument, NULL, 'C' },
		{ "no-progress",	no_argument,	   NULL, OPT_NO_PROGRESS },
#ifdef BCH_TEST_HOOKS
		/* the test build only: another mount table */
		{ "test-mountinfo",	required_argument, NULL, OPT_TEST_MOUNTINFO },
		/* the test build only: a power cut after K writes (K:torn tears the next) */
		{ "test-fail-after-writes", required_argument, NULL, OPT_TEST_FAIL_AFTER },
#endif
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool progress_given = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nvyfpahz:C:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
		case 'y':
		case 'p':
		case 'a': {
			enum fsck_mode m = ch == 'n' ? MODE_CHECK : ch == 'y' ? MODE_YES : MODE_PREEN;

			if (o->mode_given && o->mode != m) {
				die_msg("fsck: -n, -y and -p/-a exclude each other");
				return EXIT_USAGE;
			}
			o->mode = m;
			o->mode_given = true;
			break;
		}
		case 'v':
			o->verbose = true;
			break;
		case 'z':
			o->undo_file = optarg;
			break;
		case OPT_NO_UNDO:
			o->no_undo = true;
			break;
		case OPT_FULL:
			o->full = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_THREADS: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !*optarg || !n || n > 256) {
				die_msg("fsck: --threads wants a number from 1 to 256, not '%s'", optarg);
				return EXIT_USAGE;
			}
			o->threads = (unsigned)n;
			break;
		}
		case 'C':
			if (parse_progress_fd(optarg, &o->progress_fd))
				return EXIT_USAGE;
			progress_given = true;
			break;
		case OPT_NO_PROGRESS:
			o->progress_fd = -1;
			progress_given = true;
			break;
		case OPT_REBUILD:
			if (parse_rebuild(optarg, o))
				return EXIT_USAGE;
			break;
#ifdef BCH_TEST_HOOKS
		case OPT_TEST_MOUNTINFO:
			o->mountinfo = optarg;
			break;
		case OPT_TEST_FAIL_AFTER: {
			char *end;

			o->fault.fail_after = (unsigned)strtoul(optarg, &end, 10);
			o->fault.torn = !strcmp(end, ":torn");
			o->inject_fault = true;
			break;
		}
#endif
		case 'f':
			break;	/* force: we always check */
		case OPT_JSON:
			o->json = true;
			o->json_file = optarg ? optarg : "-";
			break;
		case OPT_FINDINGS:
			o->findings = true;
			break;
		case OPT_PASS:
			if (parse_passes(optarg, o))
				return EXIT_USAGE;
			break;
		case OPT_LIST_PASSES:
			for (unsigned i = 0; i < PASS_NR; i++)
				printf("%-20s %s\n", fsck_passes[i].name, fsck_passes[i].desc);
			return -1;
		case OPT_DUMP:
			o->dump_dir = optarg;
			break;
		case OPT_PASSPHRASE:
			o->passphrase_file = optarg;
			break;
		case 'h':
			fsck_usage(stdout);
			return -1;
		default:
			fsck_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		die_msg("fsck: no device given");
		fsck_usage(stderr);
		return EXIT_USAGE;
	}
	if (!o->mode_given)
		o->mode = isatty(STDIN_FILENO) ? MODE_ASK : MODE_CHECK;
	/* a progress line on a terminal unless told; nothing on a pipe */
	if (!progress_given)
		o->progress_fd = isatty(STDERR_FILENO) ? 0 : -1;
	if (o->json && o->findings && !strcmp(o->json_file, "-")) {
		die_msg("fsck: --json to stdout and --findings cannot be combined");
		return EXIT_USAGE;
	}
	return 0;
}


/* the worst use of the devices looked at so far, for the message */
struct fs_use {
	enum dev_use	use;
	const char	*path;
	char		where[4200];
};

static void note_use(struct fs_use *u, const char *path, const char *mountinfo)
{
	char what[sizeof(u->where)];
	enum dev_use use = dev_in_use(path, mountinfo, what, sizeof(what));

	if (use > u->use) {
		u->use = use;
		u->path = path;
		memcpy(u->where, what, sizeof(what));
	}
}

/*
 * Mounted or attached to a loop device? -M skips such a filesystem;
 * a repair refuses it, except a read-only mount where fsck.bcachefs is
 * allowed to (the root filesystem at boot), which then needs a reboot.
 * Returns -1 to go on, else the exit status; *reboot: a repair needs one.
 */
static int in_use_policy(const struct fs_use *u, const struct fsck_opts *o, bool repair,
			 bool *reboot)
{
	*reboot = false;
	if (u->use == DEV_FREE)
		return -1;
	if (o->skip_mounted) {
		printf("%s is %s: not checked (-M)\n", u->path, u->where);
		return EXIT_OK;
	}
	if (!repair) {
		fprintf(stderr, "bcachefs: warning: %s is %s: what the check reads may be out of date\n",
			u->path, u->where);
		return -1;
	}
	if (u->use == DEV_MOUNTED_RO && o->allow_ro_mounted) {
		fprintf(stderr, "bcachefs: %s is %s: repairing it; reboot at once afterwards\n",
			u->path, u->where);
		*reboot = true;
		return -1;
	}
	die_msg("%s is %s: refusing to write (unmount it, or check with -n)", u->path, u->where);
	return EXIT_OPERATIONAL;
}

/*
 * Below this many buckets in all, worker threads cost more than they
 * save: handing each decoded node to another core and back took the
 * check of 1e6 buckets from 0.13 s to 0.15 s and of big (32,768) from
 * 0.035 s to 0.065 s; at 1e7 they gain 10 % (bench/README.md).
 */
#define FSCK_THREADS_MIN_BUCKETS	(1ULL << 22)

/* --threads, or the online CPUs (at most 16) on a large filesystem, else 1 */
static unsigned fsck_threads(const struct fsck_opts *o, const struct bch_fs *fs)
{
	uint64_t buckets = 0;
	long n;

	if (o->threads)
		return o->threads;
	for (unsigned i = 0; i < fs->sb->nr_members; i++) {
		const struct bch_member *m = bch_fs_member(fs, i);

		if (m)
			buckets += m->nbuckets;
	}
	if (buckets < FSCK_THREADS_MIN_BUCKETS)
		return 1;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * --stats: one line on stderr after the check (before any repair), in
 * key=value words for scripts (bench/scale.sh reads it)
 */
static void fsck_print_stats(const struct fsck_ctx *c, const struct timespec *t0)
{
	struct bch_io_stats sum = { 0 };
	struct rusage ru;

	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++) {
		const struct bch_dev *dev = c->fs->devs[d];

		if (!dev)
			continue;
		sum.cached_bytes += dev->io->stats.cached_bytes;
		sum.batch_bytes += dev->io->stats.batch_bytes;
		sum.single_bytes += dev->io->stats.single_bytes;
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
		"stats: nodes=%llu read_bytes=%llu cached_bytes=%llu device_bytes=%llu single_bytes=%llu wall_s=%.3f user_s=%.3f sys_s=%.3f maxrss_kib=%ld\n",
		(unsigned long long)c->fs->nodes_read,
		(unsigned long long)(sum.cached_bytes + sum.batch_bytes + sum.single_bytes),
		(unsigned long long)sum.cached_bytes, (unsigned long long)sum.batch_bytes,
		(unsigned long long)sum.single_bytes, seconds_since(t0),
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
	/* where the wall time went: opening (superblocks, journal), then each pass run */
	fprintf(stderr, "stats: open_s=%.3f", c->open_s);
	for (unsigned i = 0; i < PASS_NR; i++)
		if (c->o->pass[i])
			fprintf(stderr, " %s_s=%.3f", fsck_passes[i].name, c->pass_s[i]);
	/*
	 * the merge walk alone (alloc x backpointers, less node reading and
	 * decoding) can be told apart only when one thread does everything
	 */
	fprintf(stderr, " node_cpu_s=%.3f merge_thread_cpu_s=%.3f", (double)c->fs->node_cpu_ns / 1e9,
		c->merge_thread_cpu_s);
	if (!c->fs->workers && c->o->pass[PASS_ALLOC_BP])
		fprintf(stderr, " merge_keys=%llu merge_cpu_s=%.3f",
			(unsigned long long)(c->chk.stats.alloc_keys + c->chk.stats.backpointers),
			c->merge_thread_cpu_s - c->merge_node_cpu_s);
	fputc('\n', stderr);
}

int fsck_main(struct fsck_opts *o, char * const *devs, unsigned nr_devs)
{
	struct timespec t0;
	struct fsck_ctx c = { .o = o };
	struct bch_error err = { 0 };
	struct bch_check_geom geom;
	json_object *jroot = NULL, *jdevs = NULL;
	struct fs_use use = { 0 };
	bool repair, reboot, searched = false;
	int status, ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	o->devs = devs;
	o->nr_devs = nr_devs;
	repair = o->mode != MODE_CHECK;
	cancel_on_signals();
	/*
	 * a mounted block device is held by the kernel: decide before opening
	 * it; what UUID= and LABEL= find is looked at once opened
	 */
	for (unsigned i = 0; i < nr_devs; i++) {
		if (bch_dev_spec_is_search(devs[i]))
			searched = true;
		else
			note_use(&use, devs[i], o->mountinfo);
	}
	status = in_use_policy(&use, o, repair, &reboot);
	if (status >= 0)
		return status;
	o->io_flags = (repair ? BCH_IO_WRITE : 0) |
		      (use.use == DEV_MOUNTED_RO || use.use == DEV_MOUNTED_RW ? BCH_IO_SHARED : 0);
	c.fs = open_fs(devs, nr_devs, o->passphrase_file, o->io_flags, &status, &err);
	c.open_s = seconds_since(&t0);
	if (!c.fs) {
		fsck_write_json_failure(o, status, err.msg);
		return status;
	}
	if (searched) {
		use = (struct fs_use){ 0 };
		for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++)
			if (c.fs->devs[d])
				note_use(&use, c.fs->devs[d]->io->path, o->mountinfo);
		status = in_use_policy(&use, o, repair, &reboot);
		if (status >= 0) {
			bch_fs_close(c.fs);
			return status;
		}
	}
	if (o->compat_skip_clean && fsck_is_clean(c.fs, &status)) {
		if (status == EXIT_OK)
			printf("%s: clean, no errors recorded (-f checks anyway)\n", devs[0]);
		bch_fs_close(c.fs);
		return status;
	}
	if (bch_fs_set_threads(c.fs, fsck_threads(o, c.fs)))
		fprintf(stderr, "bcachefs: no worker threads could be started: one thread reads\n");
	c.out = o->findings || (o->json && !strcmp(o->json_file, "-")) ? NULL : stdout;
	c.collect = repair;

	bch_check_geom_from_sb(&geom, c.fs->sb);
	if (bch_check_init(&c.chk, &geom, fsck_on_finding, &c)) {
		die_msg("out of memory");
		bch_fs_close(c.fs);
		return EXIT_OPERATIONAL;
	}
	if (o->json) {
		jroot = json_object_new_object();
		jdevs = json_object_new_array();
		c.jfindings = json_object_new_array();
	}
	if (o->progress_fd >= 0)
		c.progress = fsck_progress_new(c.fs, o->progress_fd, devs[0]);

	ret = fsck_run_passes(&c, &err);
	fsck_progress_free(c.progress);
	c.progress = NULL;
	if (ret) {
		die_msg("%s", err.msg[0] ? err.msg : bch_errcode_name(ret));
		status = exit_status_of(ret);
		fsck_write_json_failure(o, status, err.msg[0] ? err.msg : bch_errcode_name(ret));
		goto out;
	}
	status = c.nr_findings ? EXIT_UNCORRECTED : EXIT_OK;
	if (o->stats)
		fsck_print_stats(&c, &t0);

	fsck_print_ratelimited(&c);
	fsck_report_devices(&c, jdevs);
	fsck_report_copygc(&c, jroot);
	if (repair && (c.nr_findings || o->any_rebuild)) {
		ret = fsck_do_repair(&c, devs, nr_devs, &err);
		if (ret < 0) {
			die_msg("repair failed: %s", err.msg[0] ? err.msg : bch_errcode_name(ret));
			status = exit_status_of(ret);
			goto out;
		}
		status = ret;
		if (reboot && (status & EXIT_FIXED))
			status |= EXIT_REBOOT;
	}
	fsck_report_summary(&c, status, !repair ? "nothing was changed (check only)" :
		       status & EXIT_FIXED ? "all repaired" : "errors left", jroot);
	if (status & EXIT_REBOOT)
		printf("The filesystem is mounted read-only: reboot now, before anything remounts it.\n");
	if (o->dump_dir && fsck_dump_bitmaps(&c))
		status = EXIT_OPERATIONAL;
	if (jroot) {
		json_object_object_add(jroot, "devices", jdevs);
		json_object_object_add(jroot, "findings", c.jfindings);
		jdevs = c.jfindings = NULL;
		if (fsck_write_json(o, jroot))
			status = EXIT_OPERATIONAL;
	}
out:
	if (cancel_requested()) {
		fprintf(stderr, "bcachefs: cancelled after the repair's writes were done\n");
		status |= EXIT_CANCELLED;
	}
	json_object_put(jroot);
	json_object_put(jdevs);
	json_object_put(c.jfindings);
	pb_exit(&c.pb);
	fsck_free_findings(&c);
	bch_check_exit(&c.chk);
	bch_fs_close(c.fs);
	return status;
}

int cmd_fsck(int argc, char *argv[])
{
	struct fsck_opts o;
	int status;

	fsck_opts_init(&o);
	status = parse_fsck_opts(argc, argv, &o);
	if (status)
		return status < 0 ? EXIT_OK : status;
	return fsck_main(&o, argv + optind, (unsigned)(argc - optind));
}
