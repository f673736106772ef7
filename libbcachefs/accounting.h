/*
 * Disk accounting keys a data extent contributes (bcachefs-format.md
 * §7.11; upstream disk_accounting_format.h for the positions, buckets.c
 * for what an extent counts).
 */
#ifndef BCH_ACCOUNTING_H
#define BCH_ACCOUNTING_H

#include "bkey.h"
#include "key_updates.h"

/* accounting types (the first byte of a position) */
#define BCH_ACCT_nr_inodes	0u
#define BCH_ACCT_replicas	2u
#define BCH_ACCT_dev_data_type	3u
#define BCH_ACCT_compression	4u
#define BCH_ACCT_snapshot	5u
#define BCH_ACCT_btree		6u
#define BCH_ACCT_inum		8u

/*
 * What an extent or reflink_v key counts in the accounting, as the
 * extent trigger counts it when the key is written: its dirty pointers'
 * disk sectors under the replicas entry of their devices, and under its
 * snapshot and its inode (with one extent and the key's size); each
 * cached pointer's under that device's cached entry; its compressed
 * pointers under their compression type. Added to out as deltas, times
 * sign (1: the key is written, -1: it goes). Other key types count
 * nothing before 1.39. The snapshot's entry depends on the metadata version: before
 * 1.39 one counter per snapshot id (the dirty sectors, when there are
 * any); from 1.39 three per (snapshot id, btree): the key, its bytes
 * unpacked and the dirty sectors, pointers or not (v1.39.2
 * fs/alloc/buckets.c, the extent trigger), and there any other key of a
 * snapshot btree but a whiteout counts as a key and its bytes (an error
 * key, say). -BCH_ERR_INVAL for a key with an erasure-coded pointer (its
 * stripe's accounting is not modelled), -BCH_ERR_NOMEM.
 */
int bch_extent_accounting(uint16_t version, unsigned btree_id, const struct bkey *k,
			  int sign, struct bch_key_updates *out);

#endif
