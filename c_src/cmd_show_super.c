/* bcachefs show-super: print the superblock of each device given. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "fs.h"
#include "printbuf.h"
#include "super_text.h"

static void show_super_usage(FILE *f)
{
	fputs("Usage: bcachefs show-super [OPTION]... DEV...\n"
	      "Print the superblock of each device (read-only).\n"
	      "\n"
	      "Options:\n"
	      "  -f, --fields=FIELDS   comma-separated sections to print instead of the\n"
	      "                        default (members_v2, errors, ext), or \"all\":\n"
	      "                        journal, members_v1, crypt, replicas_v0, quota,\n"
	      "                        disk_groups, clean, replicas, journal_seq_blacklist,\n"
	      "                        journal_v2, counters, members_v2, errors, ext,\n"
	      "                        downgrade, recovery_passes, extent_type_u64s,\n"
	      "                        errors_v2, members (both member sections)\n"
	      "  -l, --layout          print the superblock layout\n"
	      "  -h, --help            display this help and exit\n", f);
}

/* print one device's superblock; 0 or an exit status */
static int show_one(const char *path, uint64_t fields, bool default_fields,
		    bool layout, bool *printed)
{
	struct bch_error err = { 0 };
	struct printbuf buf = PRINTBUF;
	struct bch_sb sb;
	int ret;

	ret = bch_dev_read_sb(path, &stderr_msgs, &sb, &err);
	if (ret) {
		die_msg("%s", err.msg[0] ? err.msg : bch_errcode_name(ret));
		return EXIT_OPERATIONAL;
	}
	if (default_fields)
		fields = bch_sb_text_default_fields(&sb);
	if (layout)
		fields |= BCH_SB_TEXT_LAYOUT;

	pb_printf(&buf, "%sDevice:%*s%s\n", *printed ? "\n" : "", 36, "", path);
	if (sb.from_backup)
		pb_printf(&buf, "Superblock read from:%*sbackup at sector %llu\n", 22, "",
			  (unsigned long long)sb.sector);
	bch_sb_to_text(&buf, &sb, fields);
	bch_sb_free(&sb);
	if (buf.oom) {
		pb_exit(&buf);
		die_msg("%s: out of memory", path);
		return EXIT_OPERATIONAL;
	}
	if (buf.buf)
		fputs(buf.buf, stdout);
	pb_exit(&buf);
	*printed = true;
	return EXIT_OK;
}

int cmd_show_super(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "fields",	required_argument,	NULL, 'f' },
		{ "layout",	no_argument,		NULL, 'l' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL }
	};
	struct bch_error err = { 0 };
	bool default_fields = true, layout = false, printed = false;
	uint64_t fields = 0;
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:lh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (bch_sb_text_parse_fields(optarg, &fields, &err)) {
				die_msg("%s", err.msg);
				show_super_usage(stderr);
				return EXIT_USAGE;
			}
			default_fields = false;
			break;
		case 'l':
			layout = true;
			break;
		case 'h':
			show_super_usage(stdout);
			return EXIT_OK;
		default:
			show_super_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		die_msg("show-super: please give a device");
		show_super_usage(stderr);
		return EXIT_USAGE;
	}

	for (int i = optind; i < argc; i++)
		if (show_one(argv[i], fields, default_fields, layout, &printed))
			status = EXIT_OPERATIONAL;
	fflush(stdout);
	return status;
}
