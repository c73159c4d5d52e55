/* xmpp.c - stanza parsing with expat (namespace-aware: element and
 * attribute names arrive as "namespace-uri local-name"), and hook items ->
 * records. XMPP forbids DTDs, so a DOCTYPE or an entity declaration stops
 * the parser. */
#include "ingest/xmpp.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/timeutil.h"
#include "ingest/json_slice.h"

#define NS_SEP ' '
#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define NS_SID "urn:xmpp:sid:0"
#define NS_CORRECT "urn:xmpp:message-correct:0"
#define NS_RETRACT0 "urn:xmpp:message-retract:0"
#define NS_RETRACT1 "urn:xmpp:message-retract:1"
#define NS_FASTEN "urn:xmpp:fasten:0"
#define NS_MODERATE0 "urn:xmpp:message-moderate:0"
#define NS_MODERATE1 "urn:xmpp:message-moderate:1"
#define NS_REACTIONS "urn:xmpp:reactions:0"
#define NS_REPLY "urn:xmpp:reply:0"
#define NS_OOB "jabber:x:oob"
#define NS_DELAY "urn:xmpp:delay"
#define NS_EME "urn:xmpp:eme:0"
#define ATTR_MAX 3072 /* a JID is at most 3071 bytes (RFC 7622) */
#define TEXT_MAX (1u << 20)

void xmpp_stanza_release(struct xmpp_stanza *s)
{
	if (!s)
		return;
	free(s->from);
	free(s->to);
	free(s->type);
	free(s->id);
	free(s->lang);
	buf_release(&s->body);
	buf_release(&s->subject);
	free(s->thread);
	free(s->origin_id);
	json_decref(s->stanza_ids);
	free(s->replace_id);
	free(s->retract_id);
	free(s->moderated_by);
	free(s->reactions_id);
	buf_release(&s->reactions);
	free(s->reply_id);
	free(s->reply_to);
	free(s->oob_url);
	free(s->delay_stamp);
	free(s->eme_namespace);
	memset(s, 0, sizeof(*s));
}

/* ---- the expat callbacks ---------------------------------------------- */

enum tmp_kind { TMP_NONE, TMP_THREAD, TMP_REACTION, TMP_URL };

struct pctx {
	XML_Parser p;
	struct xmpp_stanza *s;
	int depth;              /* current element depth, root = 1 */
	struct buf *cap;        /* where character data goes, or NULL */
	int cap_depth;          /* the depth of the capturing element */
	struct buf tmp;         /* text of <thread>, <reaction>, <url> */
	enum tmp_kind tmp_kind;
	int in_reactions;       /* inside <reactions> (depth 2) */
	int in_oob;             /* inside <x xmlns=jabber:x:oob> */
	int in_apply_to;        /* inside <apply-to xmlns=fasten> */
	int in_retract1;        /* inside <retract xmlns=message-retract:1> */
	char *apply_to_id;
	int failed;             /* 1: stopped by a callback (s->error set) */
};

static void stop(struct pctx *c, const char *why)
{
	if (!c->failed) {
		c->failed = 1;
		snprintf(c->s->error, sizeof(c->s->error), "%s", why);
	}
	XML_StopParser(c->p, XML_FALSE);
}

/* Splits an expat name into namespace (possibly "") and local name. */
static void split(const char *name, char *ns, size_t nscap, const char **local)
{
	const char *sp = strrchr(name, NS_SEP);
	size_t n;

	if (!sp) {
		ns[0] = '\0';
		*local = name;
		return;
	}
	n = (size_t)(sp - name);
	if (n >= nscap)
		n = nscap - 1;
	memcpy(ns, name, n);
	ns[n] = '\0';
	*local = sp + 1;
}

static const char *attr(const char **atts, const char *name)
{
	size_t i;

	for (i = 0; atts[i]; i += 2)
		if (!strcmp(atts[i], name))
			return atts[i + 1];
	return NULL;
}

/* strdup of an attribute value, capped; NULL if absent. */
static char *dup_attr(struct pctx *c, const char **atts, const char *name)
{
	const char *v = attr(atts, name);
	char *d;

	if (!v)
		return NULL;
	if (strlen(v) > ATTR_MAX) {
		stop(c, "attribute value too long");
		return NULL;
	}
	d = strdup(v);
	if (!d)
		stop(c, "out of memory");
	return d;
}

static void set_once(char **dst, char *v)
{
	if (*dst || !v)
		free(v);
	else
		*dst = v;
}

static int stanza_ns(const char *ns)
{
	return !*ns || !strcmp(ns, "jabber:client") || !strcmp(ns, "jabber:server") ||
	       !strcmp(ns, "jabber:component:accept");
}

static void capture(struct pctx *c, struct buf *b, enum tmp_kind k)
{
	c->cap = b;
	c->cap_depth = c->depth;
	c->tmp_kind = k;
	if (b == &c->tmp)
		buf_reset(&c->tmp);
}

static void on_child(struct pctx *c, const char *ns, const char *local, const char **atts)
{
	struct xmpp_stanza *s = c->s;

	if (stanza_ns(ns)) {
		if (!strcmp(local, "body") && !s->has_body) {
			s->has_body = 1;
			capture(c, &s->body, TMP_NONE);
		} else if (!strcmp(local, "subject") && !s->has_subject) {
			s->has_subject = 1;
			capture(c, &s->subject, TMP_NONE);
		} else if (!strcmp(local, "thread") && !s->thread) {
			capture(c, &c->tmp, TMP_THREAD);
		}
	} else if (!strcmp(ns, NS_SID)) {
		if (!strcmp(local, "origin-id")) {
			set_once(&s->origin_id, dup_attr(c, atts, "id"));
		} else if (!strcmp(local, "stanza-id")) {
			const char *id = attr(atts, "id"), *by = attr(atts, "by");
			json_t *o;

			if (!s->stanza_ids && !(s->stanza_ids = json_array())) {
				stop(c, "out of memory");
				return;
			}
			if (json_array_size(s->stanza_ids) >= 16)
				return; /* a cap: more are kept in the payload only */
			if ((id && strlen(id) > ATTR_MAX) || (by && strlen(by) > ATTR_MAX)) {
				stop(c, "attribute value too long");
				return;
			}
			o = json_object();
			if (!o || (id && json_object_set_new(o, "id", json_string(id))) ||
			    (by && json_object_set_new(o, "by", json_string(by))) ||
			    json_array_append_new(s->stanza_ids, o))
				stop(c, "out of memory");
		}
	} else if (!strcmp(ns, NS_CORRECT) && !strcmp(local, "replace")) {
		set_once(&s->replace_id, dup_attr(c, atts, "id"));
	} else if (!strcmp(ns, NS_RETRACT1) && !strcmp(local, "retract")) {
		set_once(&s->retract_id, dup_attr(c, atts, "id"));
		c->in_retract1 = 1;
	} else if (!strcmp(ns, NS_FASTEN) && !strcmp(local, "apply-to")) {
		set_once(&c->apply_to_id, dup_attr(c, atts, "id"));
		c->in_apply_to = 1;
	} else if (!strcmp(ns, NS_REACTIONS) && !strcmp(local, "reactions")) {
		set_once(&s->reactions_id, dup_attr(c, atts, "id"));
		c->in_reactions = 1;
	} else if (!strcmp(ns, NS_REPLY) && !strcmp(local, "reply")) {
		set_once(&s->reply_id, dup_attr(c, atts, "id"));
		set_once(&s->reply_to, dup_attr(c, atts, "to"));
	} else if (!strcmp(ns, NS_OOB) && !strcmp(local, "x")) {
		c->in_oob = 1;
	} else if (!strcmp(ns, NS_DELAY) && !strcmp(local, "delay")) {
		set_once(&s->delay_stamp, dup_attr(c, atts, "stamp"));
	} else if (!strcmp(local, "encrypted") && !strcmp(ns, "eu.siacs.conversations.axolotl")) {
		s->encryption = "omemo";
	} else if (!strcmp(local, "encrypted") && !strcmp(ns, "urn:xmpp:omemo:1")) {
		s->encryption = "omemo:1";
	} else if (!strcmp(local, "encrypted") && !strcmp(ns, "urn:xmpp:omemo:2")) {
		s->encryption = "omemo:2";
	} else if (!strcmp(local, "openpgp") && !strcmp(ns, "urn:xmpp:openpgp:0")) {
		s->encryption = "openpgp";
	} else if (!strcmp(local, "x") && !strcmp(ns, "jabber:x:encrypted")) {
		s->encryption = "pgp";
	} else if (!strcmp(local, "encryption") && !strcmp(ns, NS_EME)) {
		set_once(&s->eme_namespace, dup_attr(c, atts, "namespace"));
	}
}

static void on_grandchild(struct pctx *c, const char *ns, const char *local, const char **atts)
{
	struct xmpp_stanza *s = c->s;

	if (c->in_reactions && !strcmp(ns, NS_REACTIONS) && !strcmp(local, "reaction")) {
		capture(c, &c->tmp, TMP_REACTION);
	} else if (c->in_oob && !strcmp(ns, NS_OOB) && !strcmp(local, "url") && !s->oob_url) {
		capture(c, &c->tmp, TMP_URL);
	} else if (c->in_apply_to && !strcmp(ns, NS_RETRACT0) && !strcmp(local, "retract")) {
		if (c->apply_to_id && !s->retract_id) {
			s->retract_id = strdup(c->apply_to_id);
			if (!s->retract_id)
				stop(c, "out of memory");
		}
	} else if ((c->in_apply_to || c->in_retract1) && !strcmp(local, "moderated") &&
		   (!strcmp(ns, NS_MODERATE0) || !strcmp(ns, NS_MODERATE1))) {
		s->moderated = 1;
		set_once(&s->moderated_by, dup_attr(c, atts, "by"));
		if (c->in_apply_to && c->apply_to_id && !s->retract_id) {
			s->retract_id = strdup(c->apply_to_id);
			if (!s->retract_id)
				stop(c, "out of memory");
		}
	}
}

static void XMLCALL on_start(void *data, const char *name, const char **atts)
{
	struct pctx *c = data;
	struct xmpp_stanza *s = c->s;
	char ns[256];
	const char *local;

	if (c->failed)
		return;
	c->depth++;
	if (c->depth > XMPP_MAX_DEPTH) {
		stop(c, "elements nested too deeply");
		return;
	}
	split(name, ns, sizeof(ns), &local);
	if (c->depth == 1) {
		snprintf(s->name, sizeof(s->name), "%s", local);
		s->is_message = !strcmp(local, "message") && stanza_ns(ns);
		s->from = dup_attr(c, atts, "from");
		s->to = dup_attr(c, atts, "to");
		s->type = dup_attr(c, atts, "type");
		s->id = dup_attr(c, atts, "id");
		s->lang = dup_attr(c, atts, NS_XML " lang");
		return;
	}
	if (c->cap)
		return; /* markup inside a captured element: only its text counts */
	if (c->depth == 2)
		on_child(c, ns, local, atts);
	else if (c->depth == 3)
		on_grandchild(c, ns, local, atts);
}

static int append_sep(struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len && buf_append_byte(b, ' '))
		return CU_ETOOBIG;
	return buf_append(b, p, n);
}

static void XMLCALL on_end(void *data, const char *name)
{
	struct pctx *c = data;
	struct xmpp_stanza *s = c->s;

	(void)name;
	if (c->failed)
		return;
	if (c->cap && c->depth == c->cap_depth) {
		if (c->cap == &c->tmp) {
			char *t = strndup(c->tmp.data ? (const char *)c->tmp.data : "", c->tmp.len);

			if (!t) {
				stop(c, "out of memory");
				return;
			}
			if (c->tmp_kind == TMP_THREAD)
				set_once(&s->thread, t);
			else if (c->tmp_kind == TMP_URL)
				set_once(&s->oob_url, t);
			else {
				if (c->tmp.len && append_sep(&s->reactions, c->tmp.data, c->tmp.len))
					stop(c, "too many reactions");
				free(t);
			}
		}
		c->cap = NULL;
		c->tmp_kind = TMP_NONE;
	}
	if (c->depth == 2) {
		c->in_reactions = c->in_oob = c->in_apply_to = c->in_retract1 = 0;
		free(c->apply_to_id);
		c->apply_to_id = NULL;
	}
	c->depth--;
}

static void XMLCALL on_text(void *data, const char *text, int len)
{
	struct pctx *c = data;

	if (c->failed || !c->cap || len <= 0)
		return;
	if (buf_append(c->cap, text, (size_t)len) != 0)
		stop(c, "text too long");
}

static void XMLCALL on_doctype(void *data, const char *name, const char *sysid, const char *pubid,
			       int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(data, "a DOCTYPE is not allowed in XMPP");
}

static void XMLCALL on_entity(void *data, const char *name, int is_param, const char *value, int vlen,
			      const char *base, const char *sysid, const char *pubid, const char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)vlen;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(data, "entity declarations are not allowed in XMPP");
}

int xmpp_parse_stanza(const char *xml, size_t len, struct xmpp_stanza *s)
{
	struct pctx c;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	buf_init(&s->body, TEXT_MAX);
	buf_init(&s->subject, TEXT_MAX);
	buf_init(&s->reactions, 64 * 1024);
	memset(&c, 0, sizeof(c));
	c.s = s;
	buf_init(&c.tmp, TEXT_MAX);
	if (len > XMPP_MAX_STANZA) {
		snprintf(s->error, sizeof(s->error), "stanza of %zu bytes exceeds the cap of %u", len,
			 XMPP_MAX_STANZA);
		rc = CU_EINVAL;
		goto out;
	}
	c.p = XML_ParserCreateNS("UTF-8", NS_SEP);
	if (!c.p) {
		snprintf(s->error, sizeof(s->error), "out of memory");
		rc = CU_ENOMEM;
		goto out;
	}
	XML_SetUserData(c.p, &c);
	XML_SetElementHandler(c.p, on_start, on_end);
	XML_SetCharacterDataHandler(c.p, on_text);
	XML_SetStartDoctypeDeclHandler(c.p, on_doctype);
	XML_SetEntityDeclHandler(c.p, on_entity);
	if (XML_Parse(c.p, xml, (int)len, 1) != XML_STATUS_OK) {
		if (!c.failed)
			snprintf(s->error, sizeof(s->error), "line %lu column %lu: %s",
				 (unsigned long)XML_GetCurrentLineNumber(c.p),
				 (unsigned long)XML_GetCurrentColumnNumber(c.p),
				 XML_ErrorString(XML_GetErrorCode(c.p)));
		rc = CU_EINVAL;
	} else if (c.failed) {
		rc = CU_EINVAL;
	}
	XML_ParserFree(c.p);
out:
	free(c.apply_to_id);
	buf_release(&c.tmp);
	return rc;
}

/* ---- hook items -> records -------------------------------------------- */

/* Frees what one item owns and leaves it empty. */
static void msg_release(struct xmpp_msg *m)
{
	xmpp_stanza_release(&m->st);
	free(m->payload);
	free(m->meta);
	free(m->auth);
	free(m->event_id);
	free(m->conversation);
	free(m->sender);
	free(m->recipients);
	rej_release(&m->rej);
	memset(m, 0, sizeof(*m));
}

void xmpp_batch_release(struct xmpp_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		msg_release(&b->m[i]);
	free(b->m);
	memset(b, 0, sizeof(*b));
}

/* The bare JID (everything before the first '/'), malloc'd. */
static char *bare(const char *jid)
{
	return jid ? strndup(jid, strcspn(jid, "/")) : NULL;
}

static int meta_set(json_t *meta, const char *key, const char *v)
{
	json_t *j;

	if (!v)
		return 0;
	j = json_string(v);
	if (!j) /* not UTF-8: expat only reports UTF-8, so this is memory */
		return -1;
	return json_object_set_new(meta, key, j);
}

static int meta_buf(json_t *meta, const char *key, const struct buf *b)
{
	json_t *j = json_stringn(b->data ? (const char *)b->data : "", b->len);

	return j ? json_object_set_new(meta, key, j) : -1;
}

static void set_buf(struct rec_view *v, enum rec_field f, const struct buf *b)
{
	v->f[f].ptr = (const char *)b->data;
	v->f[f].len = b->data ? b->len : 0;
}

/* Conversation, sender and recipients of a parsed message. */
static int who(struct xmpp_msg *m, const char *direction, const char *real_from)
{
	struct xmpp_stanza *s = &m->st;
	char *a = bare(s->from), *b = bare(s->to);
	int rc = CU_ENOMEM, group = s->type && !strcmp(s->type, "groupchat");

	if ((s->from && !a) || (s->to && !b))
		goto out;
	if (group) {
		/* A room's broadcast (or a remote room's copy) comes from
		 * room@service/nick; a message to the room is addressed to it. */
		const char *room = !strcmp(direction, "out") ? b : a;

		m->conversation = room ? strdup(room) : NULL;
		if (room && !m->conversation)
			goto out;
		m->sender = real_from ? bare(real_from) : s->from ? strdup(s->from) : NULL;
		if ((real_from || s->from) && !m->sender)
			goto out;
	} else {
		/* One-to-one: the pair of bare JIDs in a fixed order, so that both
		 * directions land in one conversation. */
		if (a && b && strcmp(a, b)) {
			int strc = strcmp(a, b) < 0 ? asprintf(&m->conversation, "%s %s", a, b)
						    : asprintf(&m->conversation, "%s %s", b, a);

			if (strc < 0)
				m->conversation = NULL;
		}
		else if (a || b)
			m->conversation = strdup(a ? a : b);
		if ((a || b) && !m->conversation)
			goto out;
		m->sender = a ? strdup(a) : NULL;
		if (a && !m->sender)
			goto out;
		if (b) {
			json_t *arr = json_pack("[s]", b);

			if (!arr)
				goto out;
			m->recipients = json_dumps(arr, JSON_COMPACT);
			json_decref(arr);
			if (!m->recipients)
				goto out;
		}
	}
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

/* The auth of item idx: the body's HMAC names the whole body, the item
 * its place in it. malloc'd JSON, or NULL. */
static char *item_auth(const char *source, const char *mac_hex, const uint8_t sha[HASH_LEN], size_t idx)
{
	char hex[2 * HASH_LEN + 1], *s = NULL;
	json_t *auth;

	hex_encode(sha, HASH_LEN, hex);
	auth = json_pack("{s:s, s:s, s:s, s:I}", "method", "hmac-sha256", "source", source, "body_sha256", hex,
			 "item", (json_int_t)idx);
	if (auth && (!mac_hex || json_object_set_new(auth, "mac", json_string(mac_hex)) == 0))
		s = json_dumps(auth, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(auth);
	return s;
}

static int item_to_record(struct xmpp_msg *m, json_t *item, size_t idx, const char *host, const char *source,
			  const char *mac_hex, const uint8_t sha[HASH_LEN], struct cu_err *err)
{
	struct rec_view *v = &m->in.rec;
	struct xmpp_stanza *s = &m->st;
	json_t *meta = NULL, *jst, *jtime;
	const char *id = NULL, *direction = NULL, *stanza = NULL, *real_from = NULL;
	size_t slen;
	json_error_t jerr;
	int rc, bad = 0;

	if (json_unpack_ex(item, &jerr, 0, "{s:s, s:s, s:o, s?s}", "id", &id, "direction", &direction,
			   "stanza", &jst, "real_from", &real_from) != 0)
		return cu_err_set(err, CU_EINVAL, "item %zu: %s", idx, jerr.text);
	if (!*id || strlen(id) > 256)
		return cu_err_set(err, CU_EINVAL, "item %zu: id must be 1-256 bytes", idx);
	if (strcmp(direction, "out") && strcmp(direction, "in") && strcmp(direction, "muc"))
		return cu_err_set(err, CU_EINVAL, "item %zu: direction must be out, in or muc", idx);
	if (!json_is_string(jst))
		return cu_err_set(err, CU_EINVAL, "item %zu: stanza must be a string", idx);
	stanza = json_string_value(jst);
	slen = json_string_length(jst);
	if (slen == 0 || slen > XMPP_MAX_STANZA)
		return cu_err_set(err, slen ? CU_ETOOBIG : CU_EINVAL, "item %zu: stanza must be 1-%u bytes", idx,
				  XMPP_MAX_STANZA);
	jtime = json_object_get(item, "time");

	m->payload = malloc(slen);
	m->event_id = strdup(id);
	meta = json_object();
	if (!m->payload || !m->event_id || !meta) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(m->payload, stanza, slen);
	if (xmpp_parse_stanza(m->payload, slen, s) == CU_ENOMEM) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	v->f[RF_PAYLOAD].ptr = m->payload;
	v->f[RF_PAYLOAD].len = slen;
	rec_set(v, RF_PAYLOAD_TYPE, "application/xml");
	rec_set(v, RF_PLATFORM, "xmpp");
	rec_set(v, RF_SOURCE, source);
	rec_set(v, RF_EVENT_ID, m->event_id);
	if (json_is_integer(jtime) && json_integer_value(jtime) > 0)
		v->origin_ts = (int64_t)json_integer_value(jtime);

	bad |= meta_set(meta, "direction", direction);
	bad |= meta_set(meta, "host", host);
	bad |= meta_set(meta, "stanza", s->name[0] ? s->name : NULL);
	bad |= meta_set(meta, "type", s->type);
	bad |= meta_set(meta, "from", s->from);
	bad |= meta_set(meta, "to", s->to);
	bad |= meta_set(meta, "id", s->id);
	bad |= meta_set(meta, "lang", s->lang);
	bad |= meta_set(meta, "origin_id", s->origin_id);
	if (s->stanza_ids)
		bad |= json_object_set(meta, "stanza_ids", s->stanza_ids);
	bad |= meta_set(meta, "real_from", real_from);
	if (s->error[0]) {
		/* Kept anyway: the payload is the evidence. */
		bad |= meta_set(meta, "parse_error", s->error);
		v->kind = REC_OTHER;
		goto fields;
	}
	if (s->delay_stamp) {
		int64_t ts;

		bad |= meta_set(meta, "delay", s->delay_stamp);
		if (time_parse_rfc3339(s->delay_stamp, &ts) == 0 && ts > 0)
			v->origin_ts = ts;
	}
	if (who(m, direction, real_from)) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	rec_set(v, RF_CONVERSATION, m->conversation);
	rec_set(v, RF_SENDER, m->sender);
	rec_set(v, RF_RECIPIENTS, m->recipients);
	rec_set(v, RF_THREAD, s->thread && *s->thread ? s->thread : NULL);
	rec_set(v, RF_REPLY_TO, s->reply_id);
	bad |= meta_set(meta, "reply_to_jid", s->reply_to);
	if (s->has_subject)
		bad |= meta_buf(meta, "subject", &s->subject);

	if (!s->is_message) {
		v->kind = REC_OTHER;
	} else if (s->retract_id) {
		v->kind = REC_REDACTION;
		rec_set(v, RF_TARGET, s->retract_id);
		if (s->moderated) {
			bad |= json_object_set_new(meta, "moderated", json_true());
			bad |= meta_set(meta, "moderated_by", s->moderated_by);
		}
	} else if (s->reactions_id) {
		v->kind = REC_REACTION;
		rec_set(v, RF_TARGET, s->reactions_id);
		set_buf(v, RF_BODY, &s->reactions);
	} else if (s->replace_id) {
		v->kind = REC_EDIT;
		rec_set(v, RF_TARGET, s->replace_id);
		set_buf(v, RF_BODY, &s->body);
	} else if (s->oob_url) {
		v->kind = REC_ATTACHMENT;
		bad |= meta_set(meta, "url", s->oob_url);
		set_buf(v, RF_BODY, &s->body);
	} else if (s->has_body || s->encryption) {
		v->kind = REC_MESSAGE;
		set_buf(v, RF_BODY, &s->body);
	} else if (s->has_subject) {
		v->kind = REC_STATE;
		set_buf(v, RF_BODY, &s->subject);
	} else {
		v->kind = REC_OTHER;
	}
	if (s->encryption) {
		/* The body of an encrypted message is only a notice for clients
		 * without encryption: the archive cannot read the message. */
		v->flags |= REC_F_ENCRYPTED;
		v->f[RF_BODY].len = 0;
		bad |= meta_set(meta, "encryption", s->encryption);
	}
	bad |= meta_set(meta, "eme_namespace", s->eme_namespace);
fields:
	m->auth = item_auth(source, mac_hex, sha, idx);
	m->meta = bad ? NULL : json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!m->auth || !m->meta) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	rec_set(v, RF_AUTH, m->auth);
	rec_set(v, RF_META, m->meta);
	if (mac_hex)
		v->flags |= REC_F_SIGNED;
	if (rec_encoded_size(v) > REC_MAX_BYTES) {
		rc = cu_err_set(err, CU_ETOOBIG, "item %zu: the record would exceed the cap of %u bytes", idx,
				REC_MAX_BYTES);
		goto out;
	}
	rc = 0;
out:
	json_decref(meta);
	return rc;
}

/* Turns xmpp_msg m into a "rejected" record of bytes raw[0..n). */
static int reject(struct xmpp_msg *m, struct xmpp_batch *b, const char *raw, size_t n, const char *what,
		  const char *why, const char *source, const char *mac_hex, size_t idx, struct cu_err *err)
{
	msg_release(m);
	m->auth = item_auth(source, mac_hex, b->sha256, idx);
	if (!m->auth || rej_fill(&m->in, &m->rej, "xmpp", source, "application/json", raw, n, what, why, m->auth,
				 mac_hex ? REC_F_SIGNED : 0))
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	m->rejected = 1;
	b->rejected++;
	return 0;
}

struct walk {
	struct xmpp_batch *b;
	json_t *items;
	const char *host, *source, *mac_hex;
};

static int on_item(void *ctx, size_t i, const char *p, size_t n, struct cu_err *err)
{
	struct walk *w = ctx;
	struct xmpp_msg *m;
	struct cu_err ierr;
	int rc;

	if (i >= json_array_size(w->items))
		return cu_err_set(err, CU_EINVAL, "more items than the parsed body holds");
	m = &w->b->m[i];
	w->b->n = i + 1; /* release frees a half-built item too */
	cu_err_clear(&ierr);
	rc = item_to_record(m, json_array_get(w->items, i), i, w->host, w->source, w->mac_hex, w->b->sha256,
			    &ierr);
	if (rc == CU_EINVAL || rc == CU_ETOOBIG)
		return reject(m, w->b, p, n, "xmpp item", ierr.msg, w->source, w->mac_hex, i, err);
	if (rc)
		return cu_err_set(err, rc, "%s", ierr.msg);
	return 0;
}

int xmpp_parse_hook(const char *body, size_t len, const char *source, const char *mac_hex,
		    struct xmpp_batch *out, struct cu_err *err)
{
	json_t *root = NULL, *items = NULL;
	json_error_t jerr;
	const char *host = NULL;
	struct walk w;
	char why[256];
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > XMPP_MAX_BODY) {
		rc = cu_err_set(err, CU_ETOOBIG, "hook body of %zu bytes exceeds the cap of %u", len, XMPP_MAX_BODY);
		goto out;
	}
	if ((rc = hash_sha256(body, len, out->sha256))) {
		cu_err_set(err, rc, "hash failed");
		goto out;
	}
	why[0] = '\0';
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		snprintf(why, sizeof(why), "invalid JSON at column %d: %s", jerr.column, jerr.text);
	else if (json_unpack_ex(root, &jerr, 0, "{s:o, s?s}", "items", &items, "host", &host) != 0 ||
		 json_integer_value(json_object_get(root, "v")) != 1 || !json_is_array(items))
		snprintf(why, sizeof(why), "expected {\"v\": 1, \"host\": ..., \"items\": [...]}");
	if (why[0]) {
		/* Signed by the module, but not a hook document: kept whole if
		 * it fits, else the module is told to send items one by one. */
		if (len > REJ_MAX_PAYLOAD) {
			rc = cu_err_set(err, CU_ETOOBIG, "%s, and too large to keep whole", why);
			goto out;
		}
		out->m = calloc(1, sizeof(*out->m));
		if (!out->m) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		out->n = 1;
		rc = reject(&out->m[0], out, body, len, "xmpp hook body", why, source, mac_hex, 0, err);
		goto out;
	}
	if (json_array_size(items) > XMPP_MAX_ITEMS) {
		rc = cu_err_set(err, CU_ETOOBIG, "more than %d items", XMPP_MAX_ITEMS);
		goto out;
	}
	out->m = calloc(json_array_size(items) + 1, sizeof(*out->m));
	if (!out->m) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	w = (struct walk){out, items, host, source, mac_hex};
	rc = jslice_member_array(body, len, "items", on_item, &w, err);
	if (rc == 0 && out->n != json_array_size(items))
		rc = cu_err_set(err, CU_EINVAL, "found %zu items, expected %zu", out->n, json_array_size(items));
out:
	json_decref(root);
	if (rc)
		xmpp_batch_release(out);
	return rc;
}
