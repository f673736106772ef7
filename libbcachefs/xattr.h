/*
 * Xattrs (KEY_TYPE_xattr, btree 3): key inode = the file's inode, offset
 * = hash of the type byte followed by the name (str_hash.h; never masked
 * to 31 bits, never clamped), snapshot = the inode's. Value layout
 * (upstream libbcachefs/xattr_format.h, xattr.c, the same in 1.28 and
 * 1.36):
 *   @0 u8 x_type, @1 u8 x_name_len, @2 le16 x_val_len, @4 the name (its
 *   prefix such as "user." not stored: x_type says it), then the value,
 *   zero-padded to a multiple of 8 bytes.
 * The whole key (40-byte header included) must fit 255 u64s. POSIX ACLs
 * are types 1 and 2 with an empty name and upstream's own ACL encoding
 * as the value (not done here).
 */
#ifndef BCH_XATTR_H
#define BCH_XATTR_H

#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "printbuf.h"
#include "str_hash.h"

enum bch_xattr_type {
	BCH_XATTR_INDEX_USER			= 0,
	BCH_XATTR_INDEX_POSIX_ACL_ACCESS	= 1,
	BCH_XATTR_INDEX_POSIX_ACL_DEFAULT	= 2,
	BCH_XATTR_INDEX_TRUSTED			= 3,
	BCH_XATTR_INDEX_SECURITY		= 4,
	BCH_XATTR_INDEX_NR			= 5,
};

#define BCH_XATTR_NAME_OFFSET	4u
#define BCH_XATTR_NAME_MAX	255u
/* 255 u64s less the 5 of the key header */
#define BCH_XATTR_MAX_BYTES	(250u * 8u)

struct bch_xattr_unpacked {
	uint8_t		type;		/* enum bch_xattr_type */
	const uint8_t	*name;
	unsigned	name_len;
	const uint8_t	*value;
	unsigned	val_len;
};

/*
 * Decode (pointers into the value). Checks what upstream's validation
 * does: value neither smaller than the lengths say nor more than 4 bytes
 * (rounded to u64s) larger, a known type, no NUL in the name. Returns 0
 * or -BCH_ERR_CORRUPT with the reason in *why (why may be NULL).
 */
int bch_xattr_unpack(const struct bkey *k, struct bch_xattr_unpacked *x,
		     const char **why);

/*
 * Encode. Writes *val_bytes bytes (a multiple of 8). Returns 0,
 * -BCH_ERR_INVAL for an unknown type, a name longer than 255 bytes or
 * holding a NUL, -BCH_ERR_RANGE if the key would exceed 255 u64s (upstream
 * returns ERANGE) or size is short.
 */
int bch_xattr_pack(const struct bch_xattr_unpacked *x, uint8_t *val,
		   size_t size, size_t *val_bytes);

/* the key offset if the slot was free (names past 255 bytes cut there) */
uint64_t bch_xattr_hash(const struct bch_hash_info *inode, unsigned type,
			const void *name, size_t name_len);

/*
 * A full attribute name ("user.foo", "trusted.x", "security.selinux")
 * -> type and the stored name (a suffix of full). Returns 0 or
 * -BCH_ERR_INVAL for other namespaces (ACLs included: they are not
 * stored as their raw value).
 */
int bch_xattr_name_parse(const char *full, unsigned *type,
			 const char **name);

/* "user.foo:value" (value bytes as they are; ACL types as "(type N)") */
void bch_xattr_to_text(struct printbuf *out, const struct bch_xattr_unpacked *x);

#endif
