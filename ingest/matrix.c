/* matrix.c - Application Service transaction -> records, with jansson.
 * The byte range of each event inside the body is found with jansson too
 * (ingest/json_slice.h). */
#include "ingest/matrix.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record_json.h"
#include "common/encode.h"
#include "ingest/json_slice.h"

void mx_event_release(struct mx_event *e)
{
	if (!e)
		return;
	json_decref(e->root);
	free(e->payload);
	free(e->meta);
	free(e->auth);
	free(e->fallback_id);
	free(e->body);
	rej_release(&e->rej);
	memset(e, 0, sizeof(*e));
}

void mx_txn_release(struct mx_txn *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		mx_event_release(&t->ev[i]);
	free(t->ev);
	memset(t, 0, sizeof(*t));
}

/* ---- one event -------------------------------------------------------- */

/* A string member of o, or NULL. */
static json_t *jstr(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	return json_is_string(j) ? j : NULL;
}

static void set_field(struct rec_view *v, enum rec_field f, json_t *s)
{
	if (s) {
		v->f[f].ptr = json_string_value(s);
		v->f[f].len = json_string_length(s);
	}
}

static int meta_str(json_t *meta, const char *key, json_t *s)
{
	return s ? json_object_set(meta, key, s) : 0;
}

/* Fills the relation fields (reply, thread, edit/reaction target) from
 * content."m.relates_to"; returns its rel_type (or NULL). */
static const char *relations(json_t *content, struct rec_view *v, json_t *meta, int *bad)
{
	json_t *rel = json_object_get(content, "m.relates_to"), *rt, *target, *irt, *fb;
	const char *rel_type = NULL;

	if (!json_is_object(rel))
		return NULL;
	rt = jstr(rel, "rel_type");
	target = jstr(rel, "event_id");
	irt = json_object_get(rel, "m.in_reply_to");
	fb = json_object_get(rel, "is_falling_back");
	if (rt) {
		rel_type = json_string_value(rt);
		*bad |= meta_str(meta, "rel_type", rt);
		if (!strcmp(rel_type, "m.thread"))
			set_field(v, RF_THREAD, target);
		else
			set_field(v, RF_TARGET, target);
	}
	/* In a thread, m.in_reply_to with is_falling_back is only the fallback
	 * for clients without threads, not a reply. */
	if (json_is_object(irt) && !(rel_type && !strcmp(rel_type, "m.thread") && json_is_true(fb)))
		set_field(v, RF_REPLY_TO, jstr(irt, "event_id"));
	return rel_type;
}

/* The readable value of a state event, for search. */
static json_t *state_body(const char *type, json_t *content)
{
	if (!strcmp(type, "m.room.name"))
		return jstr(content, "name");
	if (!strcmp(type, "m.room.topic"))
		return jstr(content, "topic");
	if (!strcmp(type, "m.room.canonical_alias"))
		return jstr(content, "alias");
	return NULL;
}

static int build_auth(struct mx_event *e, const char *source, const char *txn_id, const char *auth_method,
		      const uint8_t txn_sha256[HASH_LEN], size_t index)
{
	char hex[2 * HASH_LEN + 1];
	json_t *a;

	hex_encode(txn_sha256, HASH_LEN, hex);
	a = json_pack("{s:s, s:s, s:s, s:s, s:I}", "method", auth_method ? auth_method : "hs_token",
		      "source", source, "txn_id", txn_id, "txn_sha256", hex, "event_index", (json_int_t)index);
	if (!a)
		return CU_ENOMEM;
	e->auth = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	return e->auth ? 0 : CU_ENOMEM;
}

int mx_parse_event(const char *text, size_t len, const char *source, const char *txn_id,
		   const char *auth_method, const uint8_t txn_sha256[HASH_LEN], size_t index,
		   struct mx_event *e, struct cu_err *err)
{
	struct rec_view *v = &e->in.rec;
	json_t *content, *type_j, *state_key, *meta = NULL, *jid, *ts, *body = NULL;
	const char *type = "", *rel_type;
	int bad = 0, dups = 0, rc;

	memset(e, 0, sizeof(*e));
	if (len > REC_MAX_BYTES / 2) {
		rc = cu_err_set(err, CU_ETOOBIG, "event %zu: %zu bytes exceed the cap of %u", index, len,
				REC_MAX_BYTES / 2);
		goto out;
	}
	e->payload = malloc(len ? len : 1);
	meta = json_object();
	if (!e->payload || !meta || build_auth(e, source, txn_id, auth_method, txn_sha256, index)) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(e->payload, text, len);
	v->f[RF_PAYLOAD].ptr = e->payload;
	v->f[RF_PAYLOAD].len = len;
	rec_set(v, RF_PAYLOAD_TYPE, "application/json");
	rec_set(v, RF_PLATFORM, "matrix");
	rec_set(v, RF_SOURCE, source);
	rec_set(v, RF_AUTH, e->auth);
	v->kind = REC_OTHER;

	/* Anything that is not an object is still archived, as "other". A
	 * member given twice: the payload keeps both, the record shows the
	 * last and is flagged. */
	e->root = rec_json_load(text, len, JSON_DECODE_ANY, &dups);
	if (dups)
		v->flags |= REC_F_DUP_KEYS;
	if (json_is_object(e->root)) {
		content = json_object_get(e->root, "content");
		if (!json_is_object(content))
			content = NULL;
		type_j = jstr(e->root, "type");
		if (type_j)
			type = json_string_value(type_j);
		bad |= meta_str(meta, "type", type_j);
		set_field(v, RF_CONVERSATION, jstr(e->root, "room_id"));
		set_field(v, RF_SENDER, jstr(e->root, "sender"));
		jid = jstr(e->root, "event_id");
		set_field(v, RF_EVENT_ID, jid && json_string_length(jid) ? jid : NULL);
		ts = json_object_get(e->root, "origin_server_ts");
		if (json_is_integer(ts) && json_integer_value(ts) > 0)
			v->origin_ts = (int64_t)json_integer_value(ts);
		state_key = jstr(e->root, "state_key");
		rel_type = relations(content, v, meta, &bad);

		if (state_key) {
			/* State, told by the presence of state_key, whatever the type. */
			bad |= meta_str(meta, "state_key", state_key);
			v->f[RF_TARGET].len = 0;
			v->f[RF_THREAD].len = 0;
			v->f[RF_REPLY_TO].len = 0;
			if (!strcmp(type, "m.room.member")) {
				json_t *ms = jstr(content, "membership");

				v->kind = REC_MEMBERSHIP;
				bad |= meta_str(meta, "membership", ms);
				bad |= meta_str(meta, "displayname", jstr(content, "displayname"));
				if (ms && asprintf(&e->body, "%s %s", json_string_value(ms),
						   json_string_value(state_key)) < 0) {
					e->body = NULL;
					bad = 1;
				}
			} else {
				v->kind = REC_STATE;
				body = state_body(type, content);
			}
		} else if (!strcmp(type, "m.room.redaction")) {
			json_t *r = jstr(content, "redacts");

			v->kind = REC_REDACTION;
			/* room version 11 moved redacts into content */
			set_field(v, RF_TARGET, r ? r : jstr(e->root, "redacts"));
			body = jstr(content, "reason");
		} else if (!strcmp(type, "m.reaction")) {
			json_t *rel = json_object_get(content, "m.relates_to");

			v->kind = REC_REACTION;
			body = json_is_object(rel) ? jstr(rel, "key") : NULL;
		} else if (!strcmp(type, "m.room.encrypted")) {
			v->kind = rel_type && !strcmp(rel_type, "m.replace") ? REC_EDIT : REC_MESSAGE;
			v->flags |= REC_F_ENCRYPTED;
			bad |= meta_str(meta, "algorithm", jstr(content, "algorithm"));
			bad |= meta_str(meta, "session_id", jstr(content, "session_id"));
		} else if (!strcmp(type, "m.room.message") || !strcmp(type, "m.sticker")) {
			json_t *newc = json_object_get(content, "m.new_content");
			json_t *url = jstr(content, "url"), *file = json_object_get(content, "file");
			json_t *info = json_object_get(content, "info");

			bad |= meta_str(meta, "msgtype", jstr(content, "msgtype"));
			if (rel_type && !strcmp(rel_type, "m.replace")) {
				v->kind = REC_EDIT;
				/* the new text, not the "* old" fallback */
				body = json_is_object(newc) ? jstr(newc, "body") : NULL;
				if (!body)
					body = jstr(content, "body");
			} else {
				v->kind = url || json_is_object(file) || !strcmp(type, "m.sticker") ? REC_ATTACHMENT
												  : REC_MESSAGE;
				body = jstr(content, "body");
			}
			if (json_is_object(file))
				url = jstr(file, "url");
			bad |= meta_str(meta, "url", url);
			if (json_is_object(info)) {
				bad |= meta_str(meta, "mimetype", jstr(info, "mimetype"));
				if (json_is_integer(json_object_get(info, "size")))
					bad |= json_object_set(meta, "size", json_object_get(info, "size"));
			}
			if (jstr(content, "filename"))
				bad |= meta_str(meta, "filename", jstr(content, "filename"));
		} else {
			/* Polls, calls, custom types: kept, with a body if they carry one. */
			v->kind = rel_type && !strcmp(rel_type, "m.replace") ? REC_EDIT : REC_OTHER;
			body = jstr(content, "body");
		}
		set_field(v, RF_BODY, body);
		if (e->body)
			rec_set(v, RF_BODY, e->body);
	} else {
		bad |= json_object_set_new(meta, "note", json_string("event is not a JSON object"));
	}
	if (!v->f[RF_EVENT_ID].len) {
		if (asprintf(&e->fallback_id, "txn:%s:%zu", txn_id, index) < 0) {
			e->fallback_id = NULL;
			bad = 1;
		}
		rec_set(v, RF_EVENT_ID, e->fallback_id);
		bad |= json_object_set_new(meta, "event_id_missing", json_true());
	}
	if (!bad)
		e->meta = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (bad || !e->meta) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	rec_set(v, RF_META, e->meta);
	rc = 0;
out:
	json_decref(meta);
	if (rc)
		mx_event_release(e);
	return rc;
}

/* ---- the transaction -------------------------------------------------- */

/* Makes event e a "rejected" record of bytes raw[0..n) (rejected.h): an
 * element the archive cannot keep as an event is still archived, and the
 * transaction is answered 200, or the homeserver would resend it for
 * ever and hold back every later event. */
static int reject_event(struct mx_txn *t, struct mx_event *e, const char *raw, size_t n, const char *what,
			const char *why, const char *source, const char *txn_id, const char *auth_method,
			size_t index, struct cu_err *err)
{
	mx_event_release(e);
	if (build_auth(e, source, txn_id, auth_method, t->sha256, index) ||
	    rej_fill(&e->in, &e->rej, "matrix", source, "application/json", raw, n, what, why, e->auth, 0))
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	e->rejected = 1;
	t->rejected++;
	return 0;
}

struct walk {
	struct mx_txn *t;
	size_t cap;
	const char *source, *txn_id, *auth_method;
};

static int on_event(void *ctx, size_t index, const char *p, size_t n, struct cu_err *err)
{
	struct walk *w = ctx;
	struct mx_txn *t = w->t;
	struct mx_event *e;
	struct cu_err eerr;
	int rc;

	if (t->n >= MX_MAX_EVENTS)
		return cu_err_set(err, CU_ETOOBIG, "more than %d events in one transaction", MX_MAX_EVENTS);
	if (t->n == w->cap) {
		size_t ncap = w->cap ? 2 * w->cap : 16;
		struct mx_event *ne = realloc(t->ev, ncap * sizeof(*ne));

		if (!ne)
			return cu_err_set(err, CU_ENOMEM, "out of memory");
		t->ev = ne;
		w->cap = ncap;
	}
	e = &t->ev[t->n];
	cu_err_clear(&eerr);
	rc = mx_parse_event(p, n, w->source, w->txn_id, w->auth_method, t->sha256, index, e, &eerr);
	if (rc == 0 && rec_encoded_size(&e->in.rec) > REC_MAX_BYTES)
		rc = cu_err_set(&eerr, CU_ETOOBIG, "event %zu: the record would exceed the cap of %u bytes", index,
				REC_MAX_BYTES);
	if (rc == CU_EINVAL || rc == CU_ETOOBIG)
		rc = reject_event(t, e, p, n, "matrix event", eerr.msg, w->source, w->txn_id, w->auth_method, index,
				  err);
	else if (rc)
		cu_err_set(err, rc, "%s", eerr.msg);
	if (rc) {
		mx_event_release(e);
		return rc;
	}
	t->n++;
	return 0;
}

int mx_parse_txn(const char *body, size_t len, const char *source, const char *txn_id,
		 const char *auth_method, struct mx_txn *t, struct cu_err *err)
{
	json_t *root = NULL;
	struct walk w = {t, 0, source, txn_id, auth_method};
	const char *why = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	if (len > MX_MAX_BODY) {
		rc = cu_err_set(err, CU_ETOOBIG, "transaction of %zu bytes exceeds the cap of %u", len, MX_MAX_BODY);
		goto out;
	}
	if (!txn_id || !*txn_id || strlen(txn_id) > MX_TXN_ID_MAX) {
		rc = cu_err_set(err, CU_EINVAL, "transaction id must be 1-%d bytes", MX_TXN_ID_MAX);
		goto out;
	}
	if ((rc = hash_sha256(body, len, t->sha256))) {
		cu_err_set(err, rc, "hash failed");
		goto out;
	}
	/* The whole body first: the structure is validated before any slicing. */
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root))
		why = "the body is not a JSON object";
	else if (!json_is_array(json_object_get(root, "events")))
		why = "the body has no \"events\" array";
	if (!why) {
		rc = jslice_member_array(body, len, "events", on_event, &w, err);
		if (rc == 0 && t->n != json_array_size(json_object_get(root, "events")))
			/* Cannot happen with a body jansson accepted as a whole;
			 * keep the body rather than archive a guess. */
			rc = cu_err_set(err, CU_EINVAL, "found %zu events, expected %zu", t->n,
					json_array_size(json_object_get(root, "events")));
		if (rc != CU_EINVAL)
			goto out;
		why = err->msg; /* e.g. "events" twice */
		while (t->n)
			mx_event_release(&t->ev[--t->n]);
		free(t->ev);
		t->ev = NULL;
		t->rejected = 0;
	}
	{
		/* From the homeserver (its token checked), but not a transaction:
		 * kept whole, as far as a record holds it. */
		t->ev = calloc(1, sizeof(*t->ev));
		if (!t->ev) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		rc = reject_event(t, &t->ev[0], body, len, "matrix transaction body", why, source, txn_id, auth_method,
				  0, err);
		if (rc == 0)
			t->n = 1;
	}
out:
	json_decref(root);
	if (rc)
		mx_txn_release(t);
	return rc;
}
