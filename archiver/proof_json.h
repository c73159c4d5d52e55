/* proof_json.h - the JSON proof documents custos hands out (docs/PROOFS.md),
 * and their complete offline verification.
 *
 * Two kinds of document, told apart by which proof array they carry:
 *
 * Inclusion ("record SEQ is in the archive"), printed by
 * `custos show SEQ --json --proof`:
 *   {"seq": 5,                          record sequence number = leaf index
 *    "leaf_hash": "<64 hex>",           SHA-256(0x00 || leaf_data)
 *    "leaf_data": "<base64>",           the exact record bytes that were hashed;
 *                                       null for a deleted record (stub)
 *    "deleted": true,                   only for a deleted record
 *    "tree_size": 8,
 *    "root_hash": "<64 hex>",           RFC 9162 tree head at tree_size
 *    "inclusion": ["<64 hex>", ...],    RFC 9162 PATH, leaf's sibling first
 *    "checkpoint": "<signed note>"}     C2SP checkpoint of tree_size/root_hash
 *
 * Consistency ("the archive at size N extends the one at size M"), printed
 * by `custos prove --from M --to N --json`:
 *   {"first_size": 3, "first_root": "<64 hex>",
 *    "second_size": 8, "second_root": "<64 hex>",
 *    "consistency": ["<64 hex>", ...],  RFC 9162 PROOF(M, D[0:N])
 *    "checkpoint": "<signed note>"}     of second_size; optional
 *
 * An inclusion document may carry "record": the record decoded for people
 * (`custos show --json --proof`, GET /v1/records/{seq}). It is not a
 * second source of truth: it must be exactly pj_record_json() of
 * leaf_data, and pj_verify_ex fails a document whose "record" differs in
 * any member, lacks one or has one more. Any other member outside the
 * format is refused: a verified document holds nothing unproven.
 *
 * Hashes are lowercase hex, sizes and seq JSON integers (at most 2^63-1).
 * The builders check what they are given before they write anything
 * (the leaf hash, the proof against the root, the checkpoint's size and
 * root against tree_size/root_hash), so a document that cannot verify is
 * never produced; they do not check the checkpoint's signature.
 */
#ifndef CUSTOS_ARCHIVER_PROOF_JSON_H
#define CUSTOS_ARCHIVER_PROOF_JSON_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define PJ_MAX_DOC (64u << 20) /* cap on a proof document pj_verify reads */

/* Builds the inclusion document for record seq.
 *   leaf          the record's leaf hash (as stored; also for stubs)
 *   leaf_data     the exact bytes hashed into leaf (leaf = SHA-256(0x00 ||
 *                 leaf_data)), len bytes; NULL for a deleted record, which
 *                 then gets "leaf_data": null and "deleted": true
 *   tree_size     the size of the tree the proof is against (seq < tree_size)
 *   root          that tree's head
 *   proof, count  mt_inclusion_proof(seq, tree_size) output
 *   checkpoint_note  the signed note (ckpt_sign) of exactly tree_size/root;
 *                 required: without it root_hash would be unsigned
 * On success *out is a new reference the caller json_decref()s. Errors:
 * CU_EINVAL when the inputs do not fit together (named in err). */
int pj_inclusion_build(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *leaf_data,
		       size_t len, uint64_t tree_size, const uint8_t root[HASH_LEN],
		       const uint8_t (*proof)[HASH_LEN], size_t count, const char *checkpoint_note,
		       json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* Builds the consistency document from first_size/first_root to
 * second_size/second_root with proof = mt_consistency_proof(first_size,
 * second_size). checkpoint_note, if not NULL, is the signed note of
 * second_size/second_root and is included. */
int pj_consistency_build(uint64_t first_size, const uint8_t first_root[HASH_LEN],
			 uint64_t second_size, const uint8_t second_root[HASH_LEN],
			 const uint8_t (*proof)[HASH_LEN], size_t count,
			 const char *checkpoint_note, json_t **out,
			 struct cu_err *err) CU_MUST_CHECK;

/* The readable form of a proven record: rec_entry_to_json() of the leaf
 * data (record bytes; NULL for a deleted record, which gives {seq,
 * leaf_hash, deleted: true} and nothing else, since a stub's deletion_seq
 * is not in the tree). The one function that both writes a proof
 * document's "record" and checks it. Returns a new reference, or NULL if
 * leaf_data is not a decodable record (or on allocation failure). */
json_t *pj_record_json(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *leaf_data,
		       size_t len);

enum pj_kind {
	PJ_INCLUSION = 1,
	PJ_CONSISTENCY = 2,
};

/* What a successful pj_verify_ex established. */
struct pj_result {
	enum pj_kind kind;     /* which document it was */
	uint64_t seq;          /* inclusion: the record's seq */
	int deleted;           /* inclusion: 1 for a deleted record (stub) */
	uint64_t first_size;   /* consistency: first_size */
	uint64_t tree_size;    /* inclusion: tree_size; consistency: second_size */
	int has_checkpoint;    /* 1 if a checkpoint was present (and verified) */
	char origin[256];      /* the checkpoint's origin, "" without one */
	json_t *record;        /* inclusion: pj_record_json() of the proven
				* leaf_data (the stub form if deleted), NULL if
				* those bytes are not a custos record; a new
				* reference the caller json_decref()s (NULL after
				* a failure) */
	int had_record;        /* 1 if the document carried a "record" (and it
				* equalled the proven one) */
};

/* Checks a proof document completely and offline against the archive's
 * public key pub:
 *   inclusion:   leaf_hash == SHA-256(0x00 || leaf_data) (unless deleted),
 *                the path leads from leaf_hash at seq to root_hash at
 *                tree_size, the checkpoint is validly signed by pub and
 *                names exactly tree_size and root_hash;
 *   consistency: the proof links first_root to second_root, and the
 *                checkpoint, when present, is signed by pub and names
 *                second_size and second_root.
 * Returns 0 if everything holds. Otherwise err says exactly what failed,
 * e.g. "leaf_data does not hash to leaf_hash", "inclusion proof does not
 * lead to root_hash", "checkpoint signature invalid: ...", "checkpoint
 * root does not equal root_hash"; the code is CU_ECRYPTO for a check that
 * failed, CU_EINVAL for a malformed document, CU_ETOOBIG over PJ_MAX_DOC
 * or MT_MAX_PROOF hashes. A "record" that is not exactly the proven one
 * fails with CU_ECRYPTO ("record.body is not what leaf_data holds"); a
 * member outside the format fails with CU_EINVAL: nothing a verified
 * document shows is unproven. res may be NULL. */
int pj_verify_ex(const char *json_text, size_t len, EVP_PKEY *pub, struct pj_result *res,
		 struct cu_err *err) CU_MUST_CHECK;
int pj_verify(const char *json_text, size_t len, EVP_PKEY *pub, struct cu_err *err) CU_MUST_CHECK;

#endif
