/* ingest_sig.h - signatures on generic ingest requests (POST /v1/ingest,
 * docs/INTEGRATIONS.md). A generic source registered with a key must
 * sign the exact body; the check decides, from the source's registration,
 * the signature header and the body, whether the request is unsigned (and
 * may be), signed and verified, or refused and why. On success the
 * verified signature becomes the records' auth (method, key, signature,
 * body hash) and the whole body one more "evidence" record (kind other,
 * event id "body:<sha256>"), so that the signature can be checked later
 * against exactly the bytes it covers.
 *
 * Knows nothing of HTTP: the caller hands in the header's value and maps
 * the outcome to its reply. Threads: any; nothing shared. Ownership: see
 * struct isig_evidence. */
#ifndef CUSTOS_INGEST_INGEST_SIG_H
#define CUSTOS_INGEST_INGEST_SIG_H

#include <stddef.h>

#include "archiver/store.h"
#include "common/error.h"
#include "ingest/sources.h"

/* The header carrying a source's signature over the exact request body:
 * "ed25519=<base64 signature>" or "hmac-sha256=<hex>" (the XMPP hook's
 * HMAC comes in it too). */
#define ISIG_HEADER "X-Custos-Signature"

/* What is checked. All pointers are the caller's and must outlive the
 * evidence record's commit: the record points into body, source and
 * content_type. */
struct isig_request {
	const struct src_entry *src; /* the token's source as registered, or NULL */
	const char *source;          /* the token's source name */
	const char *token;           /* the token's name (named in auth) */
	const char *header;          /* ISIG_HEADER's value, or NULL when absent */
	const char *body;            /* the exact body (may be NULL when len is 0) */
	size_t len;
	const char *content_type;    /* the body's type for the evidence record, or NULL */
};

/* The evidence record; owns meta, auth and event_id (isig_evidence_release). */
struct isig_evidence {
	int present;              /* 1: in is to be appended with the batch */
	struct store_input in;    /* payload points into the request body */
	char *meta, *auth, *event_id;
};

enum isig_outcome {
	ISIG_OK = 0,     /* unsigned and allowed (a source without a key), or signed and verified */
	ISIG_REQUIRED,   /* the source has a key, the request no signature */
	ISIG_NO_KEY,     /* a signature the source has no key for */
	ISIG_MALFORMED,  /* the header or the signature in it cannot be read, or is too long */
	ISIG_MISMATCH,   /* the signature does not match the body */
	ISIG_FAILED,     /* hashing failed */
	ISIG_NOMEM,      /* out of memory */
};

/* Checks q. On ISIG_OK sets *is_signed and, if signed, rewrites auth (cap
 * bytes, JSON) to name the method, key and body hash, and fills ev (else
 * ev is empty). Any other outcome: err says why, in words for the
 * client, and ev is empty. */
enum isig_outcome isig_check(const struct isig_request *q, char *auth, size_t cap, int *is_signed,
			     struct isig_evidence *ev, struct cu_err *err);
void isig_evidence_release(struct isig_evidence *ev);

#endif
