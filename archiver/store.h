/* store.h - the archive: an append-only log of records in segments, with
 * the hash chain, the Merkle tree, seals and checkpoints (docs/FORMAT.md
 * "Segment file", "tree/level-LL", "Checkpoints" for the bytes;
 * docs/PROOFS.md for what the proofs and checkpoints prove).
 *
 * One writer per data directory (an exclusive lock on DIR/lock); any number
 * of read-only openers. All functions are safe to call from several threads
 * on the same struct store: appends are serialised inside, reads run in
 * parallel with them.
 *
 * Data directory layout:
 *   custos.json        configuration (origin, segment limits, server ...)
 *   keys/archive.key   Ed25519 signing key, PKCS#8 PEM, 0600
 *   segments/          seg-NNNNNNNN.cseg, the log (source of truth)
 *   tree/              Merkle subtree hashes (derived, rebuilt on open)
 *   idmap/             (platform, source, id) -> seq for duplicates (derived)
 *   index/             search index (derived, search/)
 */
#ifndef CUSTOS_ARCHIVER_STORE_H
#define CUSTOS_ARCHIVER_STORE_H

#include <openssl/evp.h>
#include <stdint.h>

#include "archiver/crypt.h"
#include "archiver/hash.h"
#include "archiver/merkle.h"
#include "archiver/record.h"
#include "common/buf.h"
#include "common/error.h"

#define STORE_RDONLY 0x1 /* open without the writer lock; no recovery writes */

/* Tunables; zero fields take the defaults in brackets. */
struct store_config {
	uint64_t segment_max_bytes;  /* rotate when the segment reaches this [64 MiB] */
	int64_t segment_max_age_ms;  /* rotate a non-empty segment this old [24 h] */
	int zstd_level;              /* frame compression level [DEFAULT_ZSTD_LEVEL] */
	size_t idmap_run_keys;       /* keys the duplicate map holds before writing a run [262144] */
};

/* One record to append. The caller fills rec (kind, flags, timestamps,
 * fields); the store sets rec.seq and rec.salt, and rec.received_ts when it
 * is 0. On return, seq and duplicate describe the outcome. */
struct store_input {
	struct rec_view rec;
	uint64_t seq;     /* assigned seq, or the existing record's seq if duplicate */
	int duplicate;    /* 1 if (platform, source, event id) was already archived */
	int has_key;      /* key holds the duplicate-map key (store_input_key) */
	uint8_t key[16];  /* IDMAP_KEY_LEN bytes */
};

/* Computes in's duplicate-map key (a hash of platform, source and id) ahead
 * of store_append, so that a parser thread does this hashing instead of the
 * committer. Optional: store_append computes what is missing. */
int store_input_key(struct store_input *in) CU_MUST_CHECK;

/* What the log holds at one seq. bytes point into memory owned by the
 * reader or iterator, valid until its next call. */
struct store_entry {
	uint64_t seq;
	int is_stub;               /* 1: content deleted, only hashes remain */
	const uint8_t *bytes;      /* record bytes (NULL for a stub) */
	size_t len;
	uint8_t leaf[HASH_LEN];    /* leaf hash (recomputed, or kept in the stub) */
	uint8_t chain[HASH_LEN];   /* stub: chain value after it (zero for records:
				    * verify recomputes chains, readers need none) */
	uint64_t deletion_seq;     /* stub: seq of its deletion certificate */
};

struct store;

/* Creates a new data directory: layout, signing key, configuration with
 * the given origin (NULL: a generated one). Refuses an existing archive. */
int store_init(const char *dir, const char *origin, struct cu_err *err) CU_MUST_CHECK;

/* Opens the archive in dir. A writer recovers: cuts a torn tail from the
 * active segment and brings the derived tree and id map up to the log. */
int store_open(const char *dir, const struct store_config *cfg, int flags,
	       struct store **out, struct cu_err *err) CU_MUST_CHECK;
void store_close(struct store *st);

const char *store_dir(const struct store *st);
const char *store_origin(const struct store *st);
EVP_PKEY *store_key(const struct store *st);
/* The data key of an archive encrypted at rest, or NULL: for files beside
 * the log that hold record content (export/atrest.h). Borrowed; valid
 * until store_close. */
const struct crypt_key *store_data_key(const struct store *st);
/* How many store_erase calls erased records since the open: an export
 * compares it before and after to know whether its records may have
 * been erased meanwhile. Safe from any thread. */
uint64_t store_erasures(const struct store *st);
/* Number of records in the log = the next seq = the current tree size. */
uint64_t store_size(struct store *st);
/* 1 if opened with STORE_RDONLY: its size is what the log held when it
 * was opened (another process may have appended since). */
int store_rdonly(const struct store *st);
/* Derived files (tree levels, duplicate-map runs) that store_open found
 * damaged and rebuilt from the segments, each with a warning on stderr:
 * 0 when all were sound. A reader rebuilds the tree in memory only. */
unsigned store_derived_repaired(const struct store *st);

/* Appends n records as one group commit: duplicates are skipped, the rest
 * are written as one frame (or several for a huge batch) and fsynced before
 * this returns 0. On error nothing of the batch is acknowledged and the
 * log is left as it was before the call. */
int store_append(struct store *st, struct store_input *in, size_t n, struct cu_err *err) CU_MUST_CHECK;

/* Reads the record at seq. e->bytes points into out. */
int store_get(struct store *st, uint64_t seq, struct buf *out, struct store_entry *e,
	      struct cu_err *err) CU_MUST_CHECK;

/* Reads records for their fields (search results): like store_get, but a
 * record's frame is decompressed only as far as that record, and a later
 * call for a record further on in the same frame goes on from there, so a
 * reader should be asked in seq order. In what it returns the salt may be
 * zero and e->leaf is not computed. One reader per thread; the frames it
 * read go to store_get's cache when it moves on, is dropped or freed. */
struct store_reader;
int store_reader_new(struct store *st, struct store_reader **out, struct cu_err *err) CU_MUST_CHECK;
int store_reader_get(struct store_reader *r, uint64_t seq, struct buf *out, struct store_entry *e,
		     struct cu_err *err) CU_MUST_CHECK;
/* Hands the frame it holds to the cache, keeping only its memory. */
void store_reader_drop(struct store_reader *r);
void store_reader_free(struct store_reader *r);
/* Looks up the seq of an archived (platform, source, event id). */
int store_find_id(struct store *st, const char *platform, const char *source,
		  const char *event_id, uint64_t *seq_out) CU_MUST_CHECK;

/* Sequential reading from seq from up to the size at open time. */
struct store_iter;
int store_iter_open(struct store *st, uint64_t from, struct store_iter **out,
		    struct cu_err *err) CU_MUST_CHECK;
/* 1 and fills e, 0 at the end, negative on error. */
int store_iter_next(struct store_iter *it, struct store_entry *e, struct cu_err *err) CU_MUST_CHECK;
void store_iter_close(struct store_iter *it);

/* Tree head and proofs at tree size n <= store_size(). */
int store_root(struct store *st, uint64_t n, uint8_t out[HASH_LEN], struct cu_err *err) CU_MUST_CHECK;
int store_inclusion(struct store *st, uint64_t seq, uint64_t n, uint8_t out[MT_MAX_PROOF][HASH_LEN],
		    size_t *count, struct cu_err *err) CU_MUST_CHECK;
int store_consistency(struct store *st, uint64_t m, uint64_t n, uint8_t out[MT_MAX_PROOF][HASH_LEN],
		      size_t *count, struct cu_err *err) CU_MUST_CHECK;
/* The signed checkpoint for tree size n (malloc'd note). */
int store_checkpoint(struct store *st, uint64_t n, char **note_out, struct cu_err *err) CU_MUST_CHECK;

/* Deletes the content of records for real (retention, erasure orders):
 * each record in seqs is replaced in its segment by a stub that keeps seq,
 * leaf hash and chain value and names deletion_seq (the seq of the signed
 * deletion certificate, which the caller has appended before). Every
 * affected segment is rewritten as a new file, fsynced, renamed over the
 * old one and the directory fsynced: a crash leaves the old or the new
 * segment, never a broken one. Seals, chain, tree and every checkpoint stay
 * valid. Seqs already stubbed are skipped (so a re-run after a crash
 * finishes the job); *erased counts the records stubbed now. */
int store_erase(struct store *st, const uint64_t *seqs, size_t n, uint64_t deletion_seq,
		size_t *erased, struct cu_err *err) CU_MUST_CHECK;

/* Seals the active segment now (if it holds records). */
int store_seal(struct store *st, struct cu_err *err) CU_MUST_CHECK;

struct store_stats {
	uint64_t records;
	uint64_t segments;
	uint64_t segment_bytes;
	uint64_t frames_written;   /* by this process */
	uint64_t fsyncs;           /* by this process */
};
void store_stats(struct store *st, struct store_stats *out);

#endif
