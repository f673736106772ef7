/*
 * Opening a filesystem: member devices (by path or by UUID through
 * libblkid), the superblock with the highest sequence number, the master
 * key, and the journal.
 */
#include <blkid.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "workers.h"

static const char *blkid_type_of(const char *path, char *buf, size_t size)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL;

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (!blkid_do_safeprobe(pr) &&
	    !blkid_probe_lookup_value(pr, "TYPE", &type, NULL) && type) {
		snprintf(buf, size, "%s", type);
		type = buf;
	} else {
		type = NULL;
	}
	blkid_free_probe(pr);
	return type;
}

int bch_dev_read_sb(const char *path, const struct bch_msg_sink *msgs,
		    struct bch_sb *sb, struct bch_error *err)
{
	struct bch_io *io;
	int ret = bch_io_open_unix(path, 0, &io, err);

	if (ret)
		return ret;
	ret = bch_sb_read(io, msgs, sb, err);
	bch_io_close(io);
	return ret;
}

int bch_uuid_parse(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (n & 1)
			out[n / 2] |= (uint8_t)v;
		else
			out[n / 2] = (uint8_t)(v << 4);
		n++;
	}
	return n == 32 && !*s ? 0 : -1;
}

static int add_found(char ***paths, unsigned *nr, const char *name)
{
	char **n;

	for (unsigned i = 0; i < *nr; i++)
		if (!strcmp((*paths)[i], name))
			return 0;
	n = realloc(*paths, (*nr + 1) * sizeof(*n));
	if (!n || !(n[*nr] = strdup(name)))
		return -1;
	*paths = n;
	(*nr)++;
	return 0;
}

/* what a member search looks for: a filesystem UUID (external or internal) or a label */
struct member_query {
	bool		by_label;
	uint8_t		uuid[16];
	const char	*label;
};

static bool dev_matches(const char *name, const struct member_query *q)
{
	struct bch_error e = { 0 };
	struct bch_sb sb;
	bool match;

	if (bch_dev_read_sb(name, NULL, &sb, &e))
		return false;
	match = q->by_label ? !strcmp(sb.label, q->label) :
		!memcmp(sb.user_uuid, q->uuid, 16) || !memcmp(sb.uuid, q->uuid, 16);
	bch_sb_free(&sb);
	return match;
}

/*
 * Members by filesystem UUID or label: the devices libblkid reports as
 * bcachefs (libblkid 2.39 and later know it), then, since older libblkid
 * (Debian 12 has 2.38) does not, every block device in /sys/class/block,
 * each identified by reading its superblock ourselves.
 */
static int find_members(const struct member_query *q, char ***paths, unsigned *nr,
			struct bch_error *err)
{
	blkid_cache cache;
	blkid_dev_iterate it;
	blkid_dev dev;
	DIR *dir;
	struct dirent *de;

	*paths = NULL;
	*nr = 0;
	if (blkid_get_cache(&cache, NULL) >= 0) {
		blkid_probe_all(cache);
		it = blkid_dev_iterate_begin(cache);
		blkid_dev_set_search(it, "TYPE", "bcachefs");
		while (!blkid_dev_next(it, &dev)) {
			const char *name = blkid_dev_devname(dev);

			if (dev_matches(name, q) && add_found(paths, nr, name))
				return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		}
		blkid_dev_iterate_end(it);
		blkid_put_cache(cache);
	}
	if (!*nr && (dir = opendir("/sys/class/block"))) {
		while ((de = readdir(dir))) {
			char name[300];

			if (de->d_name[0] == '.')
				continue;
			snprintf(name, sizeof(name), "/dev/%s", de->d_name);
			if (dev_matches(name, q) && add_found(paths, nr, name)) {
				closedir(dir);
				return bch_err(err, BCH_ERR_NOMEM, "out of memory");
			}
		}
		closedir(dir);
	}
	return 0;
}

/* "UUID=<uuid>" or "LABEL=<label>": the member devices it names */
static int find_by_spec(const char *spec, char ***paths, unsigned *nr, struct bch_error *err)
{
	struct member_query q = { 0 };
	int ret;

	if (!strncmp(spec, "LABEL=", 6)) {
		q.by_label = true;
		q.label = spec + 6;
		if (!q.label[0] || strlen(q.label) > 32)
			return bch_err(err, BCH_ERR_INVAL, "%s: a label has 1 to 32 bytes", spec);
	} else if (bch_uuid_parse(spec + 5, q.uuid)) {
		return bch_err(err, BCH_ERR_INVAL, "%s: not a UUID", spec);
	}
	ret = find_members(&q, paths, nr, err);
	if (!ret && !*nr)
		ret = bch_err(err, BCH_ERR_DEVICES, "no device of a filesystem with %s found",
			      spec);
	return ret;
}

static void dev_free(struct bch_dev *d)
{
	if (!d)
		return;
	bch_sb_free(&d->sb);
	bch_io_close(d->io);
	free(d);
}

int bch_fs_set_threads(struct bch_fs *fs, unsigned n)
{
	bch_workers_free(fs->workers);
	fs->workers = NULL;
	/* the caller's thread is one of the n */
	return n > 1 ? bch_workers_new(n - 1, &fs->workers) : 0;
}

void bch_fs_close(struct bch_fs *fs)
{
	if (!fs)
		return;
	bch_workers_free(fs->workers);
	bch_journal_free(&fs->journal);
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++)
		dev_free(fs->devs[i]);
	free(fs);
}

/* read the superblock of an open device and give it its member slot; takes io */
static int attach_io(struct bch_fs *fs, struct bch_io *io, struct bch_error *err)
{
	struct bch_dev *d = calloc(1, sizeof(*d));
	int ret;

	if (!d) {
		bch_io_close(io);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	d->io = io;
	ret = bch_sb_read(d->io, &fs->msgs, &d->sb, err);
	if (ret) {
		dev_free(d);
		return ret;
	}
	d->idx = d->sb.dev_idx;
	if (fs->devs[d->idx]) {
		bch_err(err, BCH_ERR_DEVICES, "%s and %s both claim to be member %u",
			fs->devs[d->idx]->io->path, io->path, d->idx);
		dev_free(d);
		return -BCH_ERR_DEVICES;
	}
	fs->devs[d->idx] = d;
	fs->nr_opened++;
	return 0;
}

static int open_one(struct bch_fs *fs, const char *path, const struct bch_fs_opts *o,
		    struct bch_error *err)
{
	struct bch_io *io;
	char buf[64];
	const char *type;
	int ret;

	ret = bch_io_open_unix(path, (o->write ? BCH_IO_WRITE : 0) | (o->shared ? BCH_IO_SHARED : 0),
			       &io, err);
	if (!ret)
		ret = attach_io(fs, io, err);
	if (ret == -BCH_ERR_NOT_BCACHEFS) {
		type = blkid_type_of(path, buf, sizeof(buf));
		if (type && strcmp(type, "bcachefs"))
			bch_err_prefix(err, "libblkid identifies %s as %s", path, type);
	}
	if (ret)
		return ret;
	/* libblkid's view: a second signature means someone wrote over us */
	type = blkid_type_of(path, buf, sizeof(buf));
	if (type && strcmp(type, "bcachefs"))
		bch_msg(&fs->msgs, BCH_MSG_WARN,
			"%s: libblkid also finds a %s signature on this device", path, type);
	return 0;
}

/* all devices belong to one filesystem; choose the newest superblock */
static int check_members(struct bch_fs *fs, struct bch_error *err)
{
	const struct bch_dev *best = NULL;

	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++) {
		const struct bch_dev *d = fs->devs[i];

		if (!d)
			continue;
		if (best && memcmp(best->sb.uuid, d->sb.uuid, 16))
			return bch_err(err, BCH_ERR_DEVICES,
				       "%s and %s belong to different filesystems",
				       best->io->path, d->io->path);
		if (!best || d->sb.seq > best->sb.seq ||
		    (d->sb.seq == best->sb.seq && d->sb.write_time > best->sb.write_time))
			best = d;
	}
	fs->sb = &best->sb;
	fs->nr_devs = fs->sb->nr_devices;
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++) {
		const struct bch_member *m = i < fs->nr_devs ? &fs->sb->members[i] : NULL;

		if (fs->devs[i] && (!m || !m->exists))
			return bch_err(err, BCH_ERR_DEVICES,
				       "%s claims to be member %u, which the superblock does not list",
				       fs->devs[i]->io->path, i);
		if (!fs->devs[i] && m && m->exists)
			return bch_err(err, BCH_ERR_DEVICES,
				       "member device %u of this filesystem was not given (all members are needed)",
				       i);
		if (fs->devs[i] && memcmp(fs->devs[i]->sb.members[i].uuid, m->uuid, 16))
			return bch_err(err, BCH_ERR_DEVICES,
				       "%s: member %u UUID does not match the filesystem's member list",
				       fs->devs[i]->io->path, i);
	}
	return 0;
}

static int unlock(struct bch_fs *fs, const struct bch_fs_opts *o, struct bch_error *err)
{
	const struct bch_sb_field_ref *f;
	struct bch_sb_crypt c;
	int ret;

	fs->encrypted = BCH_SB_ENCRYPTION_TYPE(fs->sb) != 0;
	if (!fs->encrypted)
		return 0;
	f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_crypt);
	if (!f)
		return bch_err(err, BCH_ERR_CORRUPT, "encrypted filesystem without a crypt field");
	ret = bch_sb_crypt_parse(f->p, f->bytes, &c, err);
	if (ret)
		return ret;
	if (!bch_sb_crypt_key_is_plain(&c) && !o->passphrase)
		return bch_err(err, BCH_ERR_NEED_KEY,
			       "filesystem is encrypted: a passphrase is needed (--passphrase-file FILE, or run on a terminal)");
	return bch_crypt_unlock(&c, fs->sb->sb_magic, o->passphrase, o->passphrase_len,
				&fs->key, err);
}

bool bch_fs_seq_blacklisted(const struct bch_fs *fs, uint64_t seq)
{
	for (unsigned i = 0; i < fs->sb->nr_blacklist; i++)
		if (seq >= fs->sb->blacklist[i].start && seq < fs->sb->blacklist[i].end)
			return true;
	for (size_t i = 0; i < fs->journal.nr_blacklist; i++)
		if (seq >= fs->journal.blacklist[i].start && seq < fs->journal.blacklist[i].end)
			return true;
	return false;
}

static void fs_derive(struct bch_fs *fs)
{
	fs->block_size = fs->sb->block_size;
	fs->btree_node_size = (unsigned)BCH_SB_BTREE_NODE_SIZE(fs->sb);
	fs->meta_csum_type = bch_sb_meta_csum_type(fs->sb);
	fs->bp_shift = bch_sb_bp_shift(fs->sb);
}

int bch_fs_reload(struct bch_fs *fs, struct bch_error *err)
{
	int ret;

	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++) {
		struct bch_dev *d = fs->devs[i];
		struct bch_sb sb;

		if (!d)
			continue;
		ret = bch_sb_read(d->io, &fs->msgs, &sb, err);
		if (ret)
			return ret;
		bch_sb_free(&d->sb);
		d->sb = sb;
	}
	ret = check_members(fs, err);
	if (ret)
		return ret;
	fs_derive(fs);
	bch_journal_free(&fs->journal);
	return bch_journal_read(fs, err);
}

/* the devices are attached (ret 0): check them, unlock, read the journal */
static int open_finish(struct bch_fs *fs, const struct bch_fs_opts *o, int ret,
		       struct bch_fs **out, struct bch_error *err)
{
	if (!ret)
		ret = check_members(fs, err);
	if (!ret) {
		fs_derive(fs);
		ret = unlock(fs, o, err) ?: bch_journal_read(fs, err);
	}
	if (ret) {
		bch_fs_close(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

int bch_fs_open(char * const *paths, unsigned nr, const struct bch_fs_opts *o,
		struct bch_fs **out, struct bch_error *err)
{
	struct bch_fs *fs = calloc(1, sizeof(*fs));
	int ret = 0;

	*out = NULL;
	if (!fs)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	fs->msgs = o->msgs;
	if (!nr)
		ret = bch_err(err, BCH_ERR_INVAL, "no device given");

	for (unsigned i = 0; i < nr && !ret; i++) {
		if (bch_dev_spec_is_search(paths[i])) {
			char **found = NULL;
			unsigned n = 0;

			ret = find_by_spec(paths[i], &found, &n, err);
			for (unsigned j = 0; j < n; j++) {
				if (!ret)
					ret = open_one(fs, found[j], o, err);
				free(found[j]);
			}
			free(found);
		} else {
			ret = open_one(fs, paths[i], o, err);
		}
	}
	return open_finish(fs, o, ret, out, err);
}

int bch_fs_open_io(struct bch_io * const *ios, unsigned nr, const struct bch_fs_opts *o,
		   struct bch_fs **out, struct bch_error *err)
{
	struct bch_fs *fs = calloc(1, sizeof(*fs));
	int ret = 0;
	unsigned i;

	*out = NULL;
	if (!fs) {
		for (i = 0; i < nr; i++)
			bch_io_close(ios[i]);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	fs->msgs = o->msgs;
	if (!nr)
		ret = bch_err(err, BCH_ERR_INVAL, "no device given");
	for (i = 0; i < nr && !ret; i++)
		ret = attach_io(fs, ios[i], err);
	/* the ones not reached are closed too */
	for (; i < nr; i++)
		bch_io_close(ios[i]);
	return open_finish(fs, o, ret, out, err);
}
