/* job.h - exports as background jobs, for the daemon's POST /v1/exports,
 * GET /v1/exports/{id} and GET /v1/exports/{id}/file (docs/EXPORTS.md
 * "Jobs"). Each job runs exp_run in its own thread against the daemon's
 * store, appending through the daemon's commit queue, and writes its
 * package to DATADIR/exports/ with the list of its records (encrypted at
 * rest when the archive is); a sweeper thread removes expired packages.
 * The HTTP side parses the request body into a struct exp_job_request
 * (api/h_exports.c), authorises, audits and serves; everything about
 * exports is here, and nothing here reads HTTP.
 *
 * Threads: every exp_jobs_* call may come from any thread at once (one
 * mutex guards the job list and each job's state); exp_jobs_free must be
 * the last call. Ownership: what a call takes is borrowed and copied; what
 * it returns (JSON, paths) belongs to the caller.
 */
#ifndef CUSTOS_EXPORT_JOB_H
#define CUSTOS_EXPORT_JOB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "export/export.h"

/* What the jobs run against. */
struct exp_job_env {
	struct store *st;            /* the archive, open for writing */
	const char *datadir;         /* its directory: packages go to DATADIR/exports,
				      * queries open DATADIR/index read-only */
	exp_append_fn append;        /* how records are appended (NULL: store_append) */
	void *append_arg;
	unsigned max_running;        /* jobs running at once [1]; more are refused */
	unsigned max_kept;           /* finished jobs remembered [64]; older ones are
				      * forgotten (their files stay until they expire) */
	int64_t package_ttl_ms;      /* packages older than this are removed by a sweeper
				      * thread, at start and every half of it (0: none) */
};

struct exp_jobs;

int exp_jobs_new(const struct exp_job_env *env, struct exp_jobs **out, struct cu_err *err) CU_MUST_CHECK;
/* Cancels running jobs (their partial packages are removed), waits for
 * them and frees everything. */
void exp_jobs_free(struct exp_jobs *jobs);

/* What one export job is asked to do: the selection and the package. */
struct exp_job_request {
	enum exp_format format;       /* required */
	enum exp_container container; /* EXP_ZIP or EXP_TAR */
	char *query;                  /* search query, or NULL */
	char *conversation;           /* exact conversation id, or NULL */
	char *organization;           /* BagIt Source-Organization, or NULL (the origin) */
	int64_t from_ms, to_ms;       /* origin time in [from_ms, to_ms); INT64_MIN / INT64_MAX: open */
	json_t *echo;                 /* the selection as asked, shown as "request" in the
				       * job's status; NULL: none */
};

/* Starts the export req describes (at least one of query, conversation,
 * from, to; from before to) on behalf of by (the token's name), whose
 * query sees only records of the kinds in kinds (idx_query.kinds; 0: all).
 * req is borrowed: its strings are copied and echo gets a reference. *id
 * is the new job's number. CU_EINVAL with a message for a bad request
 * (HTTP 400), CU_ETOOBIG when max_running jobs run already (HTTP 429). */
int exp_jobs_start(struct exp_jobs *jobs, const struct exp_job_request *req, const char *by, uint64_t kinds,
		   uint64_t *id, struct cu_err *err) CU_MUST_CHECK;

/* The job's state as a new JSON object, or NULL for an unknown id:
 *   {"id", "state": "running"|"done"|"failed"|"cancelled", "requested_by",
 *    "started", ["finished"], "request": {the body's selection},
 *    "progress": {"phase", "done", "total"},
 *    ["result": {"export_id", "records", "skipped_deleted", "tree_size",
 *                "request_seq", "produced_seq", "files", "package_bytes",
 *                "package_sha256"}],
 *    ["error": {"code", "message"}]} */
json_t *exp_jobs_status(struct exp_jobs *jobs, uint64_t id);

/* The package of a finished job: its path (malloc'd), size and SHA-256.
 * CU_ENOTFOUND for an unknown id, CU_ESTATE while it runs or when it
 * failed. The file stays until someone removes it. */
int exp_jobs_file(struct exp_jobs *jobs, uint64_t id, char **path, uint64_t *size, char sha256[65],
		  struct cu_err *err) CU_MUST_CHECK;

/* Reads the package of a finished job into out (decrypted when it is
 * encrypted at rest; capped by out->max: CU_ETOOBIG), with its size and
 * SHA-256. *gone = 1 with CU_ENOTFOUND when the job is known but its
 * package was removed (erased records, expiry): HTTP 410. */
int exp_jobs_read(struct exp_jobs *jobs, uint64_t id, struct buf *out, uint64_t *size, char sha256[65],
		  int *gone, struct cu_err *err) CU_MUST_CHECK;
/* 1 if the job writes a tar package, 0 for zip (or an unknown id). */
int exp_jobs_is_tar(struct exp_jobs *jobs, uint64_t id);

#endif
