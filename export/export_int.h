/* export_int.h - what the exporter, the renderers and the verifier share
 * inside export/. Nothing outside export/ includes this.
 *
 * The central idea: every file of a package except the proof material and
 * the manifests is *rendered* from two inputs only, the exported records
 * (their exact bytes) and the custody record's metadata (struct exp_meta).
 * The exporter renders into the package writer; the verifier, holding the
 * same two inputs taken from proven records, renders again into a sink
 * that compares digests with the files it found. So the check "the files
 * say exactly what the proven records say" is the same code as producing
 * them, and a renderer change cannot make export and verification drift
 * apart unnoticed (meta.version names the rendering rules).
 *
 * The files of export/ and what they do:
 *   export.c       exp_run: select, custody record, checkpoint, proofs, package
 *   select.c       the selection; prover.c the inclusion paths of many records
 *   meta.c         the set of records and the custody metadata (struct exp_meta)
 *   render.c       the dispatch by format; render_util.c the text helpers
 *   group.c        records grouped by conversation (RSMF, BagIt transcripts)
 *   rsmf.c, dat.c, edrm.c, bagit.c   one format each (mime.c is RSMF's MIME)
 *   text_files.c   the per-record text files of DAT and EDRM
 *   readme.c       README.txt and custody.txt, in every package
 *   package.c      the package writer (zip/tar, digests, manifests)
 *   verify_package.c  exp_verify: a package checked offline
 *   job.c          exports as background jobs of the daemon (job.h)
 *   pkgfiles.c, atrest.c  packages kept in the data directory
 * Calls go down this list's dependencies without cycles: the formats call
 * group.c and render_util.c, render.c calls the formats, export.c and
 * verify_package.c call render.c.
 *
 * Threads: nothing here has mutable static state except exp_read_caps
 * (set by tests before any thread runs); a set, a sink and a file belong
 * to the thread that made them. Ownership is noted at each struct.
 */
#ifndef CUSTOS_EXPORT_EXPORT_INT_H
#define CUSTOS_EXPORT_EXPORT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "archiver/hash.h"
#include "archiver/merkle.h"
#include "archiver/store.h"
#include "archiver/record.h"
#include "common/buf.h"
#include "common/error.h"
#include "export/export.h"

#define EXP_META_VERSION 1          /* rendering rules of this code (docs/EXPORTS.md) */
#define EXP_PLATFORM "custos"       /* the archive's own records */
#define EXP_SOURCE "export"         /* source of the REC_EXPORT records */
#define EXP_GENERATOR "custos"      /* X-RSMF-Generator, Bag-Software-Agent */
#define EXP_CTL_PREFIX "CUSTOS"     /* control numbers: CUSTOS0000001 ... */
#define EXP_CTL_DIGITS 7            /* at least this many digits */

/* Paths inside a package, relative to its base directory. For BagIt the
 * proof material, README and custody statement are payload, under data/. */
#define EXP_README "README.txt"
#define EXP_CUSTODY_TXT "custody.txt"
#define EXP_PUB "proof/archive.pub"
#define EXP_CHECKPOINT "proof/checkpoint.txt"
#define EXP_CUSTODY_PROOF "proof/custody.json"
#define EXP_INCLUSION "proof/inclusion.jsonl"
#define EXP_SUMS "SHA256SUMS"
#define EXP_BAG_DATA "data/"
/* The BagIt tag files (RFC 8493): bagit.c renders the first two, the
 * package writer (package.c) keeps the manifests while it writes. */
#define EXP_BAGIT_TXT "bagit.txt"
#define EXP_BAG_INFO "bag-info.txt"
#define EXP_BAG_MANIFEST256 "manifest-sha256.txt"
#define EXP_BAG_MANIFEST512 "manifest-sha512.txt"
#define EXP_BAG_TAGMANIFEST "tagmanifest-sha256.txt"

/* 1 if path (relative to the bag's base) is BagIt payload, which the
 * payload manifests list and Payload-Oxum counts; else a tag file. */
static inline int exp_bag_is_payload(const char *path)
{
	return !strncmp(path, EXP_BAG_DATA, strlen(EXP_BAG_DATA));
}

/* One exported record. */
struct exp_rec {
	uint64_t seq;                 /* the record's seq = leaf index */
	uint8_t leaf[HASH_LEN];       /* its leaf hash */
	size_t off;                   /* record bytes at set->arena.data + off */
	size_t len;                   /* ... of len bytes */
	struct rec_view v;            /* decoded; points into the arena (exp_set_decode) */
	uint32_t ctl;                 /* control number (1-based position in seq order) */
};

/* Everything rendering depends on besides the records: the custody
 * record's metadata (docs/EXPORTS.md "Custody record") and facts about
 * the checkpoint and key that prove it. */
struct exp_meta {
	int version;                  /* EXP_META_VERSION */
	char export_id[64];           /* "20240501T120000Z-1a2b3c4d" */
	int64_t created_ms;           /* when the export was requested */
	char *by;                     /* who asked (owned) */
	char *query;                  /* the query, or NULL (owned) */
	char *conversation;           /* the conversation filter, or NULL (owned) */
	char *organization;           /* BagIt Source-Organization (owned) */
	int has_from, has_to;         /* 1 when the time filter is set */
	int64_t from_ms, to_ms;       /* origin time in [from_ms, to_ms) */
	enum exp_format format;
	enum exp_container container;
	uint64_t count;               /* records in the package */
	uint64_t skipped_deleted;     /* selected but deleted (stubs), not in the package */
	uint8_t selection[HASH_LEN];  /* SHA-256 over (seq BE64 || leaf) of the records */
	/* Not in the custody record; from the checkpoint and key: */
	char origin[256];             /* the archive's name */
	uint64_t tree_size;           /* the checkpoint's tree size */
	uint8_t root[HASH_LEN];       /* its root hash */
	uint64_t request_seq;         /* the custody record's own seq */
	char key_fp[65];              /* SHA-256 of the public key's DER, hex */
};

/* The records of one export, in seq order, with their bytes. */
struct exp_set {
	struct exp_rec *recs;         /* n records, seq strictly increasing */
	size_t n;
	size_t alloc;                 /* allocated entries of recs */
	struct buf arena;             /* all record bytes back to back (cap EXP_MAX_RECORD_BYTES) */
	struct exp_meta meta;
};

void exp_set_init(struct exp_set *s);
void exp_set_release(struct exp_set *s);
/* Appends a record (copying its bytes); seq must exceed the last one's. */
int exp_set_add(struct exp_set *s, uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *bytes,
		size_t len, struct cu_err *err) CU_MUST_CHECK;
/* Decodes every record (after the last add: the arena no longer moves)
 * and numbers them. */
int exp_set_decode(struct exp_set *s, struct cu_err *err) CU_MUST_CHECK;
/* The selection digest of the set (see exp_meta.selection). */
int exp_set_digest(const struct exp_set *s, uint8_t out[HASH_LEN]) CU_MUST_CHECK;

void exp_meta_release(struct exp_meta *m);
/* The custody record's meta JSON (compact) for m. */
char *exp_meta_to_json(const struct exp_meta *m);
/* Parses the meta JSON of a custody record into m (owned strings). */
int exp_meta_from_json(const char *text, size_t len, struct exp_meta *m, struct cu_err *err) CU_MUST_CHECK;

/* SHA-256 of the key's DER SubjectPublicKeyInfo, hex (its fingerprint). */
int exp_key_fingerprint(EVP_PKEY *key, char hex[65]) CU_MUST_CHECK;

/* ---- output of rendered files ---- */

/* Where rendered files go: the package writer, or the verifier's
 * comparing sink. Paths are relative to the base directory. */
struct exp_sink {
	int (*begin)(struct exp_sink *s, const char *path, struct cu_err *err);
	int (*write)(struct exp_sink *s, const void *p, size_t n, struct cu_err *err);
	int (*end)(struct exp_sink *s, struct cu_err *err);
	/* For BagIt's Payload-Oxum: bytes and files under data/ so far,
	 * including files written without rendering (the proofs). */
	int (*payload_oxum)(struct exp_sink *s, uint64_t *bytes, uint64_t *files);
};

/* A file being rendered: text accumulates in buf and is flushed to the
 * sink in chunks, so that large files never sit in memory whole. */
struct exp_file {
	struct exp_sink *sink;
	struct buf b;                 /* pending bytes (flushed at 256 KiB) */
	int rc;                       /* first error (sticky); later writes do nothing */
	struct cu_err *err;
};

int exp_file_open(struct exp_file *f, struct exp_sink *s, const char *path, struct cu_err *err) CU_MUST_CHECK;
void exp_file_put(struct exp_file *f, const void *p, size_t n);
void exp_file_puts(struct exp_file *f, const char *s);
void exp_file_printf(struct exp_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flushes and ends the file; returns the first error of the file. */
int exp_file_close(struct exp_file *f) CU_MUST_CHECK;
/* Abandons the file after an error (no end call). */
void exp_file_abort(struct exp_file *f);

/* ---- text helpers (render_util.c) ---- */

/* Appends s (n bytes) with invalid UTF-8 replaced by U+FFFD. */
int exp_utf8_clean(struct buf *out, const char *s, size_t n) CU_MUST_CHECK;
/* A rec_str as a malloc'd valid UTF-8 C string ("" when absent). */
char *exp_str(const struct rec_str *s);
/* exp_str for a renderer: NULL when out of memory, which becomes the
 * file's error (f->rc), so the caller only skips its output. */
char *exp_file_str(struct exp_file *f, const struct rec_str *s);
/* XML 1.0 / HTML escaping of valid UTF-8: & < > " ' and characters XML
 * cannot carry (control characters other than tab, LF, CR become U+FFFD;
 * in attributes tab, LF, CR become character references). */
void exp_file_xml(struct exp_file *f, const char *s, int attribute);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
void exp_time_iso(int64_t ms, char out[32]);
/* "YYYY-MM-DD" (UTC) */
void exp_time_day(int64_t ms, char out[16]);
/* A safe, unique file name part for a conversation: [A-Za-z0-9._-] from
 * the name (at most 48), then '-' and 8 hex digits of its SHA-256. */
int exp_slug(const char *platform, const char *conversation, char out[80]) CU_MUST_CHECK;
/* Control number text: prefix + at least EXP_CTL_DIGITS digits. */
void exp_ctl(uint32_t ctl, char out[32]);
/* The base directory of the package: "custos-export-<export_id>". */
void exp_base_dir(const struct exp_meta *m, char out[96]);
/* The recipients field (a JSON array of strings) joined with "; ", as a
 * malloc'd C string; NULL when out of memory. */
char *exp_recipients_text(const struct rec_str *s);

/* ---- grouping by conversation (group.c) ---- */

/* Records grouped by conversation for transcripts and RSMF: order holds
 * indexes into s->recs sorted by (platform, conversation, origin time,
 * seq); group g covers order[groups[g].start .. + groups[g].n). */
struct exp_group {
	size_t start;                 /* first index in order */
	size_t n;                     /* records in the conversation */
};
int exp_group_conversations(const struct exp_set *s, size_t **order, struct exp_group **groups,
			    size_t *ngroups, struct cu_err *err) CU_MUST_CHECK;
/* The order of record fields in grouping and look-ups: bytes, then length. */
static inline int exp_rs_cmp(const struct rec_str *a, const struct rec_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->ptr, b->ptr, n) : 0;

	return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* ---- renderers: each writes its format's files ----
 * One file per format; render.c only dispatches. A renderer reads the set
 * (never changes it), keeps no state between calls and may run in several
 * threads at once on different sets (an export job and a transfer). */

/* rsmf.c: rsmf/<conversation>/<day>[_<part>].rsmf */
int exp_render_rsmf(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* dat.c: loadfile.dat */
int exp_render_dat(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* edrm.c: edrm.xml */
int exp_render_edrm(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* text_files.c: text/<control>.txt of DAT and EDRM */
int exp_render_text_files(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* bagit.c: data/records.jsonl and data/transcripts/, bagit.txt, bag-info.txt
 * (bag-info after the proofs: its Payload-Oxum counts every payload file
 * the sink has seen, the proofs under data/ included) */
int exp_render_bag_payload(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
int exp_render_bagit_txt(struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
int exp_render_bag_info(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* readme.c: README.txt and custody.txt (under data/ for BagIt). */
int exp_render_readme(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;
/* render.c: everything rendered before the proofs, in package order: the
 * format's payload, README and custody statement. */
int exp_render_payload(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err) CU_MUST_CHECK;

/* The path of a file as it sits in the package relative to the base:
 * BagIt payload files get "data/". */
void exp_payload_path(enum exp_format f, const char *rel, char *out, size_t outlen);

/* ---- selection (select.c) ---- */

/* Fills s with the selected records (bytes, leaves) in seq order. */
int exp_select(const struct exp_request *req, struct exp_set *s, struct cu_err *err) CU_MUST_CHECK;

/* ---- verification (verify_package.c) ---- */

/* The caps exp_verify reads a package with: EXP_READ_* of export.h;
 * tests lower them to try bombs without writing gigabytes. */
struct exp_read_caps {
	uint64_t members;             /* files in a package */
	uint64_t member_bytes;        /* bytes of one file */
	uint64_t total_bytes;         /* bytes of all files */
};
extern struct exp_read_caps exp_read_caps;

/* ---- proofs for many records (prover.c) ---- */

struct exp_prover;
/* Prepares the inclusion paths of seqs (ascending, < n) in the tree of
 * size n. mode 1: one pass over the log (block mode), 0: store_inclusion
 * per record, -1: whichever reads less. */
int exp_prover_new(struct store *st, uint64_t n, const uint64_t *seqs, size_t count, int mode,
		   exp_progress_fn progress, void *progress_arg, const volatile int *cancel,
		   struct exp_prover **out, struct cu_err *err) CU_MUST_CHECK;
/* The RFC 9162 path of seqs[idx]. */
int exp_prover_path(struct exp_prover *p, size_t idx, uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count,
		    struct cu_err *err) CU_MUST_CHECK;
void exp_prover_free(struct exp_prover *p);

/* ---- package writing (package.c) ---- */

struct pkg_writer;
/* Creates out_path.tmp-XXXX beside out_path; entries get mtime. With key
 * (borrowed, lives until free) the file is encrypted (export/atrest.h). */
struct crypt_key;
int pkg_writer_open(const char *out_path, enum exp_container c, const char *base, int bagit,
		    int64_t mtime_ms, const struct crypt_key *key, struct pkg_writer **out,
		    struct cu_err *err) CU_MUST_CHECK;
struct exp_sink *pkg_writer_sink(struct pkg_writer *w);
/* Writes the manifests (SHA256SUMS, or the BagIt manifests with the tag
 * manifest last), finishes the archive, fsyncs and renames it to
 * out_path (refusing to replace an existing file), fsyncs the directory. */
int pkg_writer_finish(struct pkg_writer *w, const struct exp_set *s, struct cu_err *err) CU_MUST_CHECK;
/* The package's SHA-256 and size (after finish). */
void pkg_writer_digest(struct pkg_writer *w, char hex[65], uint64_t *bytes, uint64_t *files);
/* Removes the temporary file if not finished, frees. */
void pkg_writer_free(struct pkg_writer *w);

#endif
