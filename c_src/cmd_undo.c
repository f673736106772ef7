/*
 * bcachefs undo FILE DEV...: put back what a repair overwrote. Refuses an
 * undo file of another filesystem, or a device whose bytes are no longer
 * what the repair wrote (something changed it since).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "io.h"
#include "super.h"
#include "undo.h"

static void undo_usage(FILE *f)
{
	fputs("Usage: bcachefs undo [-n] FILE DEV...\n"
	      "Restore the bytes a repair (bcachefs fsck -y/-p) overwrote, from its undo file.\n"
	      "Give every member device of the filesystem.\n"
	      "\n"
	      "  -n          check the undo file against the devices, write nothing\n"
	      "  -h, --help  this message\n", f);
}

struct undo_dev {
	struct bch_io	*io;
	struct bch_sb	sb;
};

static int open_devs(char * const *paths, unsigned nr, bool write, struct undo_dev *devs,
		     const struct bch_undo *u)
{
	for (unsigned i = 0; i < nr; i++) {
		struct bch_error err = { 0 };
		struct bch_io *io;
		struct bch_sb sb;

		if (bch_io_open_unix(paths[i], write ? BCH_IO_WRITE : 0, &io, &err)) {
			die_msg("%s", err.msg);
			return -1;
		}
		/* any valid copy identifies the device (the primary may be the one to restore) */
		if (bch_sb_read(io, NULL, &sb, &err)) {
			die_msg("%s", err.msg);
			bch_io_close(io);
			return -1;
		}
		if (memcmp(sb.uuid, u->fs_uuid, 16)) {
			die_msg("%s does not belong to the filesystem of this undo file", paths[i]);
			bch_sb_free(&sb);
			bch_io_close(io);
			return -1;
		}
		if (devs[sb.dev_idx].io) {
			die_msg("%s: member %u given twice", paths[i], sb.dev_idx);
			bch_sb_free(&sb);
			bch_io_close(io);
			return -1;
		}
		devs[sb.dev_idx].io = io;
		devs[sb.dev_idx].sb = sb;
	}
	return 0;
}

/* every region's device is here, and still holds what the repair wrote */
static int verify(const struct bch_undo *u, struct undo_dev *devs)
{
	for (unsigned i = 0; i < u->nr; i++) {
		const struct bch_undo_region *r = &u->r[i];
		struct bch_error err = { 0 };
		struct undo_dev *d = r->dev < BCH_SB_MAX_DEVICES ? &devs[r->dev] : NULL;
		uint8_t *buf;
		int ret;

		if (!d || !d->io) {
			die_msg("undo: member device %u is needed but was not given", r->dev);
			return -1;
		}
		if (r->dev < d->sb.nr_members && memcmp(d->sb.members[r->dev].uuid, r->dev_uuid, 16)) {
			die_msg("undo: %s is not the member the undo file was made for", d->io->path);
			return -1;
		}
		buf = malloc(r->len ? r->len : 1);
		if (!buf) {
			die_msg("out of memory");
			return -1;
		}
		ret = bch_io_read(d->io, r->offset, buf, r->len, &err);
		/*
		 * each region holds what the repair wrote, or still what was there
		 * before (a repair cut short by a crash or a power cut): either way
		 * the saved bytes put it back; anything else changed since
		 */
		if (!ret && bch_undo_hash(buf, r->len) != r->after_hash &&
		    memcmp(buf, r->before, r->len)) {
			free(buf);
			die_msg("undo: %s changed since the repair (%" PRIu64 " bytes at byte %" PRIu64
				"): refusing to restore", d->io->path, r->len, r->offset);
			return -1;
		}
		free(buf);
		if (ret) {
			die_msg("%s", err.msg);
			return -1;
		}
	}
	return 0;
}

int cmd_undo(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct undo_dev devs[BCH_SB_MAX_DEVICES] = { 0 };
	struct bch_error err = { 0 };
	struct bch_undo u;
	bool dry_run = false;
	int ch, status = EXIT_OPERATIONAL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			dry_run = true;
			break;
		case 'h':
			undo_usage(stdout);
			return EXIT_OK;
		default:
			undo_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		undo_usage(stderr);
		return EXIT_USAGE;
	}
	if (bch_undo_read(argv[optind], &u, &err)) {
		die_msg("%s", err.msg);
		return EXIT_OPERATIONAL;
	}
	if (open_devs(argv + optind + 1, (unsigned)(argc - optind - 1), !dry_run, devs, &u) ||
	    verify(&u, devs))
		goto out;
	if (dry_run) {
		printf("undo file %s matches; %u regions would be restored\n", argv[optind], u.nr);
		status = EXIT_OK;
		goto out;
	}
	/* in reverse: the superblocks first, so recovery no longer looks at the entry */
	for (unsigned i = u.nr; i-- > 0;) {
		const struct bch_undo_region *r = &u.r[i];

		if (bch_io_write(devs[r->dev].io, r->offset, r->before, r->len, &err)) {
			die_msg("%s", err.msg);
			goto out;
		}
	}
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++) {
		if (devs[d].io && devs[d].io->ops->flush(devs[d].io, &err)) {
			die_msg("%s", err.msg);
			goto out;
		}
	}
	printf("restored %u regions from %s\n", u.nr, argv[optind]);
	status = EXIT_OK;
out:
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++) {
		if (devs[d].io) {
			bch_sb_free(&devs[d].sb);
			bch_io_close(devs[d].io);
		}
	}
	bch_undo_free(&u);
	return status;
}
