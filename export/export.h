/* export.h - court-ready exports (docs/EXPORTS.md): the records a records
 * officer selected, packaged in the format a review platform loads (RSMF,
 * Concordance DAT, EDRM XML) or as a BagIt bag, with the proof material
 * that lets the recipient check every record offline against the
 * archive's signed checkpoint; and that offline check (exp_verify).
 *
 * One export, in order (exp_run):
 *   1. selection: the records matching the query and filters, plus the
 *      edits, redactions and reactions that refer to them;
 *   2. the custody record: a REC_EXPORT record ("request") naming who
 *      asked, when, the query, the format, the count and a digest of the
 *      selected (seq, leaf hash) list is appended to the log;
 *   3. the checkpoint of the tree that includes it, and an inclusion proof
 *      for every selected record and for the custody record;
 *   4. the package, written to a temporary file and renamed into place;
 *   5. a second REC_EXPORT record ("produced") with the package's SHA-256.
 *
 * Both the command (`custos export`) and the API (POST /v1/exports) call
 * exp_run; the verifier (`custos verify-export`, exp_verify) needs nothing
 * but the package and, preferably, the archive's public key.
 *
 * Threads: exp_run and exp_verify keep no state between calls and may run
 * in several threads at once (export jobs, a transfer, the command);
 * exp_run's appends go through req->append, so the caller decides how
 * they are serialised with other writers of the store. Durability: the
 * package is fsynced and renamed into place before the "produced" record
 * is appended. Ownership: what a call takes is borrowed for the call;
 * results are plain structs owned by the caller.
 */
#ifndef CUSTOS_EXPORT_EXPORT_H
#define CUSTOS_EXPORT_EXPORT_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/crypt.h"
#include "archiver/store.h"
#include "common/error.h"

#define EXP_MAX_RECORDS 5000000u            /* records in one export */
#define EXP_MAX_RECORD_BYTES (2ull << 30)   /* sum of their record bytes */
#define EXP_MAX_QUERY 4096                  /* bytes of --query */
#define EXP_MAX_NAME 256                    /* bytes of --by, --conversation, --organization */
#define EXP_RSMF_MAX_EVENTS 10000           /* events in one .rsmf file */

/* Caps when reading a package (exp_verify): a zip or tar bomb, or a
 * package that is not ours, fails with CU_ETOOBIG before it costs more. */
#define EXP_READ_MAX_MEMBERS 10000000ull    /* files in a package */
#define EXP_READ_MAX_MEMBER (8ull << 30)    /* bytes of one file, uncompressed */
#define EXP_READ_MAX_TOTAL (64ull << 30)    /* bytes of all files, uncompressed */
#define EXP_READ_MAX_PATH 1024              /* bytes of a member name */

enum exp_format {
	EXP_RSMF = 1,   /* Relativity Short Message Format 2.0.0 */
	EXP_DAT = 2,    /* Concordance/Relativity DAT load file + text files */
	EXP_EDRM = 3,   /* EDRM XML 1.2 + text files */
	EXP_BAGIT = 4,  /* BagIt 1.0 (RFC 8493) */
};

enum exp_container {
	EXP_ZIP = 1,    /* zip (deflate) */
	EXP_TAR = 2,    /* POSIX pax tar, uncompressed */
};

/* Parses "rsmf", "dat", "edrm", "bagit" (0 if unknown) and back. */
enum exp_format exp_format_from_name(const char *name);
const char *exp_format_name(enum exp_format f);
enum exp_container exp_container_from_name(const char *name);
const char *exp_container_name(enum exp_container c);

/* A --from/--to value: RFC 3339, or a day "YYYY-MM-DD" (midnight UTC);
 * a day given as the end (is_to) means the end of that day. */
int exp_parse_time(const char *s, int is_to, int64_t *ms) CU_MUST_CHECK;

/* Progress of a running export: phase is "selecting", "proving" or
 * "writing"; done/total count log records (selecting) or exported records
 * (proving, writing). Called from the exporting thread, often: keep it
 * cheap. */
typedef void (*exp_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);

/* Appends the records durably (store_append's contract). The API passes
 * its commit queue here; NULL means store_append on req->st. */
typedef int (*exp_append_fn)(void *arg, struct store_input *in, size_t n, struct cu_err *err);

/* Selects the seqs matching a query in the search index: calls add(ctx,
 * seq) for each, in any order. CU_EINVAL for a bad query (a usage error).
 * The command and the API pass exp_query_index (search/ index); NULL
 * makes a query an error. */
typedef int (*exp_query_fn)(void *arg, const char *query, int (*add)(void *ctx, uint64_t seq),
			    void *ctx, struct cu_err *err);

/* What to export. Strings are borrowed for the duration of exp_run. */
struct exp_request {
	struct store *st;             /* the archive, opened for writing */
	const char *query;            /* search query (docs/SEARCH.md), or NULL */
	const char *conversation;     /* exact conversation id, or NULL */
	int64_t from_ms;              /* origin time >= from_ms (INT64_MIN: open) */
	int64_t to_ms;                /* origin time < to_ms (INT64_MAX: open) */
	enum exp_format format;
	enum exp_container container; /* 0: zip */
	const char *by;               /* who asked (person or token name); required */
	const char *organization;     /* BagIt Source-Organization; NULL: the origin */
	const char *out_path;         /* the package file to create (must not exist) */
	exp_progress_fn progress;     /* optional */
	void *progress_arg;
	exp_append_fn append;         /* optional, see above */
	void *append_arg;
	exp_query_fn query_fn;        /* required when query is set */
	void *query_arg;
	const volatile int *cancel;   /* optional: nonzero stops the export (CU_ESTATE) */
	/* Packages kept in the data directory (export jobs, transfers): */
	const struct crypt_key *at_rest; /* encrypt the package and its spool with this key
					  * (the archive's data key; NULL: plain) */
	int record_list;              /* 1: write out_path.records, the list of its records
				       * (export/pkgfiles.h), before the package */
};

/* What an export produced. */
struct exp_result {
	char export_id[64];           /* "20240501T120000Z-1a2b3c4d" */
	uint64_t records;             /* records in the package */
	uint64_t skipped_deleted;     /* selected records whose content was deleted (stubs) */
	uint64_t tree_size;           /* the checkpoint's tree size */
	uint64_t request_seq;         /* seq of the custody ("request") record */
	uint64_t produced_seq;        /* seq of the "produced" record */
	uint64_t package_bytes;       /* size of the package file */
	char package_sha256[65];      /* its SHA-256, hex */
	uint64_t files;               /* files in the package */
};

/* Runs the export. On success the package is at req->out_path, durable,
 * and both REC_EXPORT records are in the log. If records were erased
 * while it ran (store_erasures changed), the package may hold one: it is
 * removed and the export fails with CU_ESTATE ("export again"). On failure no package file
 * is left behind (the custody record may already be in the log: the log
 * is append-only, and a request that produced nothing stays visible).
 * CU_EINVAL for a bad request (empty selection, bad query ...), CU_EEXIST
 * if out_path exists. */
int exp_run(const struct exp_request *req, struct exp_result *res, struct cu_err *err) CU_MUST_CHECK;

/* The exp_query_fn over the search index: arg is a struct exp_index. */
struct idx;
struct exp_index {
	struct idx *ix;               /* an open, caught-up search index */
	struct store *st;             /* the archive it follows */
	uint64_t kinds;               /* the kinds the query may match (idx_query.kinds; 0: all) */
};
int exp_query_index(void *arg, const char *query, int (*add)(void *ctx, uint64_t seq), void *ctx,
		    struct cu_err *err) CU_MUST_CHECK;

/* What exp_verify established. */
struct exp_verify_result {
	char export_id[64];
	enum exp_format format;
	enum exp_container container;
	uint64_t records;             /* records proven */
	uint64_t files;               /* files in the package */
	uint64_t tree_size;           /* the checkpoint's tree size */
	uint64_t request_seq;         /* the custody record's seq */
	char origin[256];             /* the archive's name (checkpoint origin) */
	char by[EXP_MAX_NAME];        /* who asked */
	char key_fingerprint[65];     /* SHA-256 of the public key (DER), hex */
	int key_from_package;         /* 1: no --pubkey, the package's own key was used */
};

typedef void (*exp_verify_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);

/* Checks a package offline: every file is listed in the manifests with the
 * right digests and nothing else is there; the checkpoint is signed by pub
 * (or, when pub is NULL, by the key in the package, reported in
 * res->key_from_package); every inclusion proof and the custody record's
 * proof lead to that checkpoint; the proven records are exactly the
 * selection the custody record names; and every other file is exactly
 * what the proven records and the custody record produce. Returns 0 if
 * all holds; otherwise CU_ECORRUPT/CU_ECRYPTO (or CU_ETOOBIG for a
 * package over the read caps) and err names the file and what is wrong. */
int exp_verify(const char *path, EVP_PKEY *pub, struct exp_verify_result *res,
	       exp_verify_progress_fn progress, void *progress_arg, struct cu_err *err) CU_MUST_CHECK;
/* The same for a package in memory (tests, fuzzing, uploads). */
int exp_verify_buffer(const void *data, size_t len, EVP_PKEY *pub, struct exp_verify_result *res,
		      struct cu_err *err) CU_MUST_CHECK;

#endif
