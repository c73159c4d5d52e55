/* threema.h - Threema Gateway E2E callbacks -> records
 * (docs/INTEGRATIONS.md "Threema").
 *
 * The Gateway POSTs application/x-www-form-urlencoded fields from, to,
 * messageId, date, nonce, box, mac and (optionally) nickname. The MAC is
 * HMAC-SHA256 keyed with the API secret over the concatenation
 * from || to || messageId || date || nonce || box (the field texts as
 * sent), checked in constant time. The box is opened with libsodium's
 * crypto_box_open_easy (gateway private key, sender public key from the
 * source's key store); the plaintext is one type byte, the content, and
 * PKCS#7-style padding (1-255 bytes, each holding the padding length).
 *
 * Text (and location text) is archived as the body; for other types the
 * metadata (file name, MIME type, size, caption, receipt ids ...). A box
 * that cannot be opened (unknown sender key, wrong key, bad padding) is
 * archived all the same, flagged REC_F_ENCRYPTED, with the reason in
 * meta: never dropped. The payload is the callback's form body exactly.
 * Event id = "<from>:<messageId>", so a redelivered callback is archived
 * once.
 */
#ifndef CUSTOS_INGEST_THREEMA_H
#define CUSTOS_INGEST_THREEMA_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/store.h"
#include "common/error.h"
#include "ingest/rejected.h"
#include "ingest/sources.h"

#define TH_MAX_BODY (64u * 1024) /* cap on a callback body */
#define TH_MAX_BOX 8192          /* cap on the box, bytes (the Gateway sends at most ~4000) */
#define TH_NONCE_LEN 24

/* The decoded form fields (NUL-terminated texts). */
struct th_form {
	char from[SRC_THREEMA_ID_LEN + 1];
	char to[SRC_THREEMA_ID_LEN + 1];
	char message_id[17];     /* 16 hex digits */
	char date[21];           /* decimal seconds since the epoch */
	char nonce[2 * TH_NONCE_LEN + 1];
	char *box;               /* hex, malloc'd */
	size_t box_len;          /* hex digits */
	char mac[65];            /* 64 hex digits */
	char *nickname;          /* malloc'd UTF-8, or NULL */
};

void th_form_release(struct th_form *f);
/* Decodes and validates the form (formats of every field); CU_EINVAL
 * naming the field otherwise. */
int th_form_parse(const char *body, size_t len, struct th_form *f, struct cu_err *err) CU_MUST_CHECK;
/* 0 if the MAC matches under secret, CU_EDENIED if not (constant time). */
int th_check_mac(const struct th_form *f, const char *secret, size_t secret_len) CU_MUST_CHECK;

/* 0 if the form's fields, read leniently (the first of each, any
 * format), carry the Gateway's MAC under secret; CU_EDENIED if not. */
int th_check_mac_raw(const char *body, size_t len, const char *secret, size_t secret_len) CU_MUST_CHECK;

/* Opens a box: 0 and a malloc'd plaintext (padding still on), or
 * CU_ECRYPTO when it does not open. */
int th_open_box(const uint8_t *box, size_t boxlen, const uint8_t nonce[TH_NONCE_LEN],
		const uint8_t sender_pub[SRC_KEY_LEN], const uint8_t priv[SRC_KEY_LEN],
		uint8_t **plain, size_t *plain_len) CU_MUST_CHECK;
/* Length without the padding, or CU_EINVAL when the padding is invalid. */
int th_unpad(const uint8_t *p, size_t n, size_t *out_len) CU_MUST_CHECK;

struct th_msg {
	struct store_input in;  /* ready for store_append */
	struct th_form form;
	char source[SRC_NAME_MAX + 1]; /* the source's name (RF_SOURCE points here) */
	char *payload;          /* the form body */
	char *meta, *auth;      /* compact JSON */
	char *event_id, *conversation, *recipients;
	char *body;             /* decrypted text, or NULL */
	char *target;           /* edit/delete/reaction target, or NULL */
};

/* Parses, authenticates and decrypts one callback for source src (a
 * SRC_THREEMA entry): CU_EINVAL for a bad form or a message for another
 * identity, CU_EDENIED for a wrong MAC, CU_ESTATE when the source has no
 * API secret. An undecryptable box is not an error. */
int th_parse_callback(const char *body, size_t len, const struct src_entry *src, struct th_msg *out,
		      struct cu_err *err) CU_MUST_CHECK;
void th_msg_release(struct th_msg *m);

/* A callback that th_parse_callback refused (rc) but that carries the
 * Gateway's MAC is not refused but archived as a "rejected" record of the
 * form body (ingest/rejected.h): a refusal would be retried and then
 * dropped by the Gateway, and what the citizen sent would be lost. 1 when
 * this is such a callback: rc is a form error (CU_EINVAL, CU_ETOOBIG), src
 * is a registered source (is_decoy 0, see ingest/hook_source.h) with an
 * API secret, and the leniently read fields carry its MAC. Else 0. */
int th_is_rejectable(int rc, const char *body, size_t len, const struct src_entry *src, int is_decoy);

/* The strings a rejected callback record owns. */
struct th_rejected {
	struct rej_rec rec;
	char *auth;             /* {"method": "threema-mac", "source": ...} */
};

/* Fills m->in as the rejected record of body[0..len) for source src, with
 * reason why (m->source is set; the payload points into body, which must
 * outlive the commit). 0, or CU_ENOMEM. Release r with
 * th_rejected_release and m with th_msg_release. */
int th_reject_fill(struct th_msg *m, struct th_rejected *r, const struct src_entry *src, const char *body,
		   size_t len, const char *why) CU_MUST_CHECK;
void th_rejected_release(struct th_rejected *r);

#endif
