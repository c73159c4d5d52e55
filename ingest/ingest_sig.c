/* ingest_sig.c - signatures on generic ingest requests
 * (ingest/ingest_sig.h). A generic source registered with an Ed25519
 * public key or an HMAC secret (`custos source add NAME --type generic
 * ...`) must sign the exact body bytes; the verified signature is stored
 * with every record of the request (RF_AUTH, REC_F_SIGNED) and the body
 * itself as one evidence record, so that anyone holding the public key
 * can check later that the source sent exactly these bytes. */
#include "ingest/ingest_sig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "common/encode.h"

void isig_evidence_release(struct isig_evidence *ev)
{
	if (!ev)
		return;
	free(ev->meta);
	free(ev->auth);
	free(ev->event_id);
	memset(ev, 0, sizeof(*ev));
}

/* Builds the evidence record: the whole body, under the same auth. */
static int make_evidence(const struct isig_request *q, const char *auth, const char *sha_hex,
			 struct isig_evidence *ev)
{
	struct rec_view *v = &ev->in.rec;
	const char *ct = q->content_type;
	size_t nbytes = q->len;
	json_t *meta;

	ev->auth = strdup(auth);
	ev->event_id = malloc(strlen(sha_hex) + 6);
	meta = json_pack("{s:s, s:I}", "evidence", "signed ingest request body", "body_len", (json_int_t)nbytes);
	if (meta)
		ev->meta = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(meta);
	if (!ev->auth || !ev->event_id || !ev->meta)
		return CU_ENOMEM;
	snprintf(ev->event_id, strlen(sha_hex) + 6, "body:%s", sha_hex);
	v->kind = REC_OTHER;
	v->flags = REC_F_SIGNED;
	rec_set(v, RF_PLATFORM, "generic");
	rec_set(v, RF_SOURCE, q->source);
	rec_set(v, RF_EVENT_ID, ev->event_id);
	rec_set(v, RF_PAYLOAD_TYPE, ct && *ct && strlen(ct) < 256 ? ct : "application/octet-stream");
	v->f[RF_PAYLOAD].ptr = q->body;
	v->f[RF_PAYLOAD].len = q->body ? q->len : 0;
	rec_set(v, RF_AUTH, ev->auth);
	rec_set(v, RF_META, ev->meta);
	ev->present = 1;
	return 0;
}

enum isig_outcome isig_check(const struct isig_request *q, char *auth, size_t cap, int *is_signed,
			     struct isig_evidence *ev, struct cu_err *err)
{
	const char *h = q->header;
	const char *body = q->body ? q->body : "";
	const struct src_entry *e = q->src;
	uint8_t sha[HASH_LEN], *sig = NULL;
	char sha_hex[2 * HASH_LEN + 1], key_hex[2 * SRC_KEY_LEN + 1];
	const char *method = NULL;
	size_t siglen = 0;
	enum isig_outcome rc;
	int v, registered, n;

	memset(ev, 0, sizeof(*ev));
	*is_signed = 0;
	registered = e && e->type == SRC_GENERIC && (e->has_ed25519 || e->hmac_secret_len);
	if (!h) {
		if (!registered)
			return ISIG_OK; /* a source without a key: bearer token only */
		cu_err_set(err, CU_EDENIED, "source '%s' must sign its requests (%s header)", q->source,
			   ISIG_HEADER);
		return ISIG_REQUIRED;
	}
	if (!registered) {
		cu_err_set(err, CU_EDENIED, "a signature was sent, but source '%s' has no registered key", q->source);
		return ISIG_NO_KEY;
	}
	if (!strncmp(h, "ed25519=", 8)) {
		method = "ed25519";
		if (!e->has_ed25519) {
			cu_err_set(err, CU_EDENIED, "source '%s' has no Ed25519 key", q->source);
			return ISIG_NO_KEY;
		}
		if (b64_decode(h + 8, strlen(h + 8), 64, &sig, &siglen) != 0) {
			cu_err_set(err, CU_EINVAL, "the Ed25519 signature is not base64");
			rc = ISIG_MALFORMED;
			goto out;
		}
		v = src_check_ed25519(e->ed25519_pub, body, q->len, sig, siglen);
		hex_encode(e->ed25519_pub, SRC_KEY_LEN, key_hex);
	} else if (!strncmp(h, "hmac-sha256=", 12)) {
		method = "hmac-sha256";
		if (!e->hmac_secret_len) {
			cu_err_set(err, CU_EDENIED, "source '%s' has no HMAC secret", q->source);
			return ISIG_NO_KEY;
		}
		v = src_check_hmac_hex(e->hmac_secret, e->hmac_secret_len, body, q->len, h + 12, strlen(h + 12));
		if (v == CU_EINVAL) {
			cu_err_set(err, CU_EINVAL, "the HMAC is not 64 hex digits");
			return ISIG_MALFORMED;
		}
		snprintf(key_hex, sizeof(key_hex), "hmac_secret");
	} else {
		cu_err_set(err, CU_EINVAL, "the %s header must be ed25519=<base64> or hmac-sha256=<hex>", ISIG_HEADER);
		return ISIG_MALFORMED;
	}
	if (v) {
		cu_err_set(err, CU_EDENIED, "the %s signature does not match the body", method);
		rc = ISIG_MISMATCH;
		goto out;
	}
	if (hash_sha256(body, q->len, sha) != 0) {
		cu_err_set(err, CU_ECRYPTO, "hash failed");
		rc = ISIG_FAILED;
		goto out;
	}
	hex_encode(sha, HASH_LEN, sha_hex);
	{
		const char *sigtext = h + (method[0] == 'e' ? 8 : 12);
		json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "method", method, "source",
				      q->source, "token", q->token, "key", key_hex, "signature", sigtext,
				      "body_sha256", sha_hex, "body_len", (json_int_t)q->len, "evidence", "body:");
		char *text = NULL;

		if (a) {
			char ev_id[2 * HASH_LEN + 6];

			snprintf(ev_id, sizeof(ev_id), "body:%s", sha_hex);
			json_object_set_new(a, "evidence", json_string(ev_id));
			text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
		}
		json_decref(a);
		n = text ? snprintf(auth, cap, "%s", text) : -1;
		free(text);
		if (n < 0 || (size_t)n >= cap) {
			cu_err_set(err, CU_EINVAL, "the signature header is too long");
			rc = ISIG_MALFORMED;
			goto out;
		}
	}
	if (make_evidence(q, auth, sha_hex, ev) != 0) {
		isig_evidence_release(ev);
		cu_err_set(err, CU_ENOMEM, "out of memory");
		rc = ISIG_NOMEM;
		goto out;
	}
	*is_signed = 1;
	rc = ISIG_OK;
out:
	free(sig);
	return rc;
}
