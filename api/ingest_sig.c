/* ingest_sig.c - signatures on POST /v1/ingest (api/hooks.h). A generic
 * source registered with an Ed25519 public key or an HMAC secret
 * (`custos source add NAME --type generic ...`) must sign the exact body
 * bytes; the verified signature is stored with every record of the
 * request (RF_AUTH, REC_F_SIGNED) and the body itself as one evidence
 * record, so that anyone holding the public key can check later that the
 * source sent exactly these bytes. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/internal.h"
#include "common/encode.h"
#include "ingest/sources.h"

void api_sig_evidence_release(struct api_sig_evidence *ev)
{
	if (!ev)
		return;
	free(ev->meta);
	free(ev->auth);
	free(ev->event_id);
	memset(ev, 0, sizeof(*ev));
}

/* Builds the evidence record: the whole body, under the same auth. */
static int make_evidence(struct api_req *r, const char *auth, const char *sha_hex, size_t nbytes,
			 struct api_sig_evidence *ev)
{
	struct rec_view *v = &ev->in.rec;
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
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
	rec_set(v, RF_SOURCE, r->who.source);
	rec_set(v, RF_EVENT_ID, ev->event_id);
	rec_set(v, RF_PAYLOAD_TYPE, ct && *ct && strlen(ct) < 256 ? ct : "application/octet-stream");
	v->f[RF_PAYLOAD].ptr = (const char *)r->body.data;
	v->f[RF_PAYLOAD].len = r->body.data ? r->body.len : 0;
	rec_set(v, RF_AUTH, ev->auth);
	rec_set(v, RF_META, ev->meta);
	ev->present = 1;
	return 0;
}

int api_ingest_sig(struct api_req *r, char *auth, size_t cap, int *is_signed, struct api_sig_evidence *ev)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, API_SIG_HEADER);
	const char *body = r->body.data ? (const char *)r->body.data : "";
	const struct src_entry *e;
	struct src_set set;
	struct cu_err err;
	uint8_t sha[HASH_LEN], *sig = NULL;
	char sha_hex[2 * HASH_LEN + 1], key_hex[2 * SRC_KEY_LEN + 1];
	const char *method = NULL;
	size_t siglen = 0;
	int rc = -1, v, registered, n;

	memset(ev, 0, sizeof(*ev));
	*is_signed = 0;
	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("ingest: cannot load sources: %s", err.msg);
		api_reply_error(r, 503, "unavailable", "the archive's source list cannot be read");
		return -1;
	}
	e = src_find(&set, r->who.source);
	registered = e && e->type == SRC_GENERIC && (e->has_ed25519 || e->hmac_secret_len);
	if (!h) {
		if (!registered) {
			rc = 0; /* a source without a key: bearer token only */
			goto out;
		}
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		api_reply_error(r, 401, "signature_required", "source '%s' must sign its requests (%s header)",
				r->who.source, API_SIG_HEADER);
		goto out;
	}
	if (!registered) {
		api_reply_error(r, 401, "no_key", "a signature was sent, but source '%s' has no registered key",
				r->who.source);
		goto out;
	}
	if (!strncmp(h, "ed25519=", 8)) {
		method = "ed25519";
		if (!e->has_ed25519) {
			api_reply_error(r, 401, "no_key", "source '%s' has no Ed25519 key", r->who.source);
			goto out;
		}
		if (b64_decode(h + 8, strlen(h + 8), 64, &sig, &siglen) != 0) {
			api_reply_error(r, 400, "bad_signature", "the Ed25519 signature is not base64");
			goto out;
		}
		v = src_check_ed25519(e->ed25519_pub, body, r->body.len, sig, siglen);
		hex_encode(e->ed25519_pub, SRC_KEY_LEN, key_hex);
	} else if (!strncmp(h, "hmac-sha256=", 12)) {
		method = "hmac-sha256";
		if (!e->hmac_secret_len) {
			api_reply_error(r, 401, "no_key", "source '%s' has no HMAC secret", r->who.source);
			goto out;
		}
		v = src_check_hmac_hex(e->hmac_secret, e->hmac_secret_len, body, r->body.len, h + 12, strlen(h + 12));
		if (v == CU_EINVAL) {
			api_reply_error(r, 400, "bad_signature", "the HMAC is not 64 hex digits");
			goto out;
		}
		snprintf(key_hex, sizeof(key_hex), "hmac_secret");
	} else {
		api_reply_error(r, 400, "bad_signature", "the %s header must be ed25519=<base64> or hmac-sha256=<hex>",
				API_SIG_HEADER);
		goto out;
	}
	if (v) {
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		api_reply_error(r, 401, "bad_signature", "the %s signature does not match the body", method);
		goto out;
	}
	if (hash_sha256(body, r->body.len, sha) != 0) {
		api_reply_error(r, 500, "internal", "hash failed");
		goto out;
	}
	hex_encode(sha, HASH_LEN, sha_hex);
	{
		const char *sigtext = h + (method[0] == 'e' ? 8 : 12);
		json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "method", method, "source",
				      r->who.source, "token", r->who.name, "key", key_hex, "signature", sigtext,
				      "body_sha256", sha_hex, "body_len", (json_int_t)r->body.len, "evidence", "body:");
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
			api_reply_error(r, 400, "bad_signature", "the signature header is too long");
			goto out;
		}
	}
	if (make_evidence(r, auth, sha_hex, r->body.len, ev) != 0) {
		api_sig_evidence_release(ev);
		api_reply_error(r, 503, "no_memory", "out of memory");
		goto out;
	}
	*is_signed = 1;
	rc = 0;
out:
	free(sig);
	src_set_release(&set);
	return rc;
}
