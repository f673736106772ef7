/*
 * Is a device in use? Mounted (read-only or read-write) as the mount
 * table (/proc/self/mountinfo) says, or, for an image file, attached to a
 * loop device (which may be mounted in turn). A multi-device bcachefs is
 * mounted from "dev1:dev2:...", with an anonymous device number, so the
 * source field is compared path by path as well as the device number.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cmds.h"

/* the mount table writes space, tab, newline and backslash as \ooo: decode in place */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = 0;
}

/* does one of the ':'-separated paths of a mount source name the file real? */
static bool source_names(const char *source, const char *real)
{
	char *copy = strdup(source), *save = NULL;
	bool match = false;

	if (!copy)
		return false;
	for (char *tok = strtok_r(copy, ":", &save); tok && !match; tok = strtok_r(NULL, ":", &save)) {
		char r[PATH_MAX];

		match = realpath(tok, r) && !strcmp(r, real);
	}
	free(copy);
	return match;
}

/* the "ro" option in a comma-separated list */
static bool opts_ro(const char *opts)
{
	size_t n = strlen(opts);

	return !strncmp(opts, "ro", 2) && (n == 2 || opts[2] == ',') ? true :
	       strstr(opts, ",ro,") || (n > 3 && !strcmp(opts + n - 3, ",ro"));
}

static enum dev_use mount_state(const char *real, const struct stat *st, const char *mountinfo,
				char *where, size_t size)
{
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "r");
	enum dev_use use = DEV_FREE;
	char line[8192];

	if (!f)
		return DEV_FREE;
	while (use != DEV_MOUNTED_RW && fgets(line, sizeof(line), f)) {
		char mnt[4096], opts[1024], fstype[256], source[4096], super[1024];
		unsigned maj, min;
		char *sep = strstr(line, " - ");
		bool match;

		if (!sep || sscanf(line, "%*s %*s %u:%u %*s %4095s %1023s", &maj, &min, mnt, opts) != 4 ||
		    sscanf(sep + 3, "%255s %4095s %1023s", fstype, source, super) != 3)
			continue;
		unescape(mnt);
		unescape(source);
		match = (S_ISBLK(st->st_mode) && major(st->st_rdev) == maj &&
			 minor(st->st_rdev) == min) || source_names(source, real);
		if (!match)
			continue;
		use = opts_ro(opts) || opts_ro(super) ? DEV_MOUNTED_RO : DEV_MOUNTED_RW;
		snprintf(where, size, "mounted %s at %s", use == DEV_MOUNTED_RO ? "read-only" :
			 "read-write", mnt);
	}
	fclose(f);
	return use;
}

/*
 * an image file attached to a loop device: the loop device's name, or 0.
 * The loop devices that exist are listed in /sys/block (any number of
 * them, not only loop0..255).
 */
static int loop_of(const char *real, char *loop, size_t size)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[PATH_MAX], backing[PATH_MAX];
		FILE *f;

		if (strncmp(e->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fgets(backing, sizeof(backing), f) &&
			!strcmp(strtok(backing, "\n") ?: "", real);
		fclose(f);
		if (found)
			snprintf(loop, size, "/dev/%s", e->d_name);
	}
	closedir(d);
	return found;
}

enum dev_use dev_in_use(const char *path, const char *mountinfo, char *where, size_t size)
{
	char real[PATH_MAX], loop[300];
	struct stat st;
	enum dev_use use;

	snprintf(where, size, "not in use");
	if (!realpath(path, real) || stat(real, &st))
		return DEV_FREE;
	use = mount_state(real, &st, mountinfo, where, size);
	if (use != DEV_FREE || !S_ISREG(st.st_mode) || !loop_of(real, loop, sizeof(loop)))
		return use;
	/* through its loop device */
	if (!stat(loop, &st) && realpath(loop, real))
		use = mount_state(real, &st, mountinfo, where, size);
	if (use == DEV_FREE) {
		snprintf(where, size, "attached to %s (it may be mounted)", loop);
		use = DEV_LOOP;
	}
	return use;
}
