/* pkgfiles.h - the packages the archive keeps in its data directory
 * (DATADIR/exports from export jobs, DATADIR/transfers from transfer
 * offers) and the list of records each one holds, so that an erasure or
 * disposition can remove every package holding a deleted record, and
 * packages expire (docs/EXPORTS.md "Packages in the data directory").
 *
 * Beside every package PKG lies PKG.records: the seqs of the records in
 * it, written (encrypted when the archive is, mode 0600) before the
 * package itself, so no package exists without its list. A package whose
 * list is missing or unreadable is treated as holding every record: an
 * erasure removes it. Removing a package removes its list and its
 * temporary files too, then fsyncs the directory.
 *
 * Threads: the functions keep no state; two sweeps of one directory at
 * once only race to unlink the same files (ENOENT is not an error).
 */
#ifndef CUSTOS_EXPORT_PKGFILES_H
#define CUSTOS_EXPORT_PKGFILES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/crypt.h"
#include "common/config.h"
#include "common/error.h"

#define EXP_PKG_LIST_SUFFIX ".records"
#define EXP_PKG_TTL_DEFAULT_S CFG_EXPORTS_TTL_DEFAULT_S /* exports.package_ttl_seconds default */

/* Writes PKG.records for the package pkg_path: the sorted seqs, the
 * creation time; encrypted with key (NULL: plain). Atomic and durable. */
int exp_pkg_list_write(const char *pkg_path, const struct crypt_key *key, int64_t created_ms,
		       const uint64_t *seqs, size_t n, struct cu_err *err) CU_MUST_CHECK;

/* Removes the package, its list and its temporary files, and fsyncs the
 * directory. A missing file is no error. */
int exp_pkg_remove(const char *pkg_path, struct cu_err *err) CU_MUST_CHECK;

/* Goes through the packages in dir and removes (unless dry_run) every one
 *   - holding one of the sorted seqs del (ndel > 0), or whose list cannot
 *     be read (it may hold anything), or
 *   - created before expire_before_ms (INT64_MIN: no expiry).
 * Appends "<label>/<package name>" of each to removed (may be NULL). A
 * missing dir is no error. */
int exp_pkg_sweep(const char *dir, const char *label, const struct crypt_key *key, const uint64_t *del,
		  size_t ndel, int64_t expire_before_ms, int dry_run, json_t *removed,
		  struct cu_err *err) CU_MUST_CHECK;

/* exports.package_ttl_seconds of DATADIR/custos.json (config_path NULL)
 * or config_path, in ms, read by the one loader (common/config.h);
 * EXP_PKG_TTL_DEFAULT_S when not set or without a file. CU_EINVAL for a
 * bad value or an unknown key anywhere in the file. */
int exp_pkg_ttl(const char *datadir, const char *config_path, int64_t *ttl_ms, struct cu_err *err) CU_MUST_CHECK;

/* Removes the export packages of DATADIR/exports older than the
 * configured time to live (transfer packages wait for their offer). */
int exp_pkg_expire(const char *datadir, const char *config_path, const struct crypt_key *key, int64_t now_ms,
		   json_t *removed, struct cu_err *err) CU_MUST_CHECK;

#endif
