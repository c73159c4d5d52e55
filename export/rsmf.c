/* rsmf.c - Relativity Short Message Format 2.0.0 (docs/EXPORTS.md "RSMF").
 *
 * One .rsmf file per conversation and UTC day, at most
 * EXP_RSMF_MAX_EVENTS events each; the files of one conversation share an
 * event collection id. A file is an RFC 5322 message with the X-RSMF-*
 * headers, a text/plain transcript and exactly one attachment, rsmf.zip,
 * holding rsmf_manifest.json.
 *
 * Mapping: messages (and attachments, membership, state ...) are events;
 * edits, redactions and reactions whose target is an exported event of the
 * same conversation are folded into that event ("edits", "deleted",
 * "reactions"); those whose target is not exported stay events of their
 * own. Replies and thread messages get "parent" when the event they refer
 * to is exported. Every event's "custom" names the archive seq and leaf
 * hash of its record and of each record folded into it.
 *
 * rsmf.zip is stored (not deflated) with no timestamps, so that the same
 * records give the same bytes with any zlib and in any time zone: the
 * verifier renders the files again and compares them byte for byte. The
 * package's own zip compresses the .rsmf files.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "export/export_int.h"
#include "export/mime.h"

#define BOUNDARY "custos-rsmf-boundary" /* base64 never contains '-': cannot occur in a part */

/* One record of a conversation, by its position in the group. */
struct rs_item {
	const struct exp_rec *r;
	int primary;        /* 1: an event of its own; 0: folded into target */
	size_t target;      /* !primary: position of the event it is folded into */
	size_t att_first;   /* primary: first folded record (position), or SIZE_MAX */
	size_t att_next;    /* folded: next folded record of the same event, or SIZE_MAX */
	size_t att_last;    /* primary: last folded record */
	char *id;           /* primary: the event id in the manifest (owned) */
	size_t parent;      /* primary: position of the parent event, or SIZE_MAX */
};

/* One conversation being rendered. */
struct rs_conv {
	const struct exp_set *s;
	struct rs_item *it;     /* n items in (origin time, seq) order */
	size_t n;
	size_t *cand;           /* positions of records other events may refer to, sorted by event id */
	size_t ncand;
	char *platform, *conversation; /* valid UTF-8 copies */
	char slug[80];
	char collection[160];   /* the event collection id */
	int direct;             /* 1: "direct", 0: "channel" */
};

static int folds(unsigned kind)
{
	return kind == REC_EDIT || kind == REC_REDACTION || kind == REC_REACTION;
}

/* qsort_r comparator; the conversation is the context (renderings run
 * in several threads at once, so no file-scope sort state). */
static int cand_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct rs_conv *conv = ctx;
	const struct exp_rec *a = conv->it[*(const size_t *)pa].r;
	const struct exp_rec *b = conv->it[*(const size_t *)pb].r;
	int c = exp_rs_cmp(&a->v.f[RF_EVENT_ID], &b->v.f[RF_EVENT_ID]);

	if (c)
		return c;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

/* Position of the earliest candidate with event id id, or SIZE_MAX. */
static size_t cand_find(const struct rs_conv *c, const struct rec_str *id)
{
	size_t lo = 0, hi = c->ncand;

	if (!id->len)
		return SIZE_MAX;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (exp_rs_cmp(&c->it[c->cand[mid]].r->v.f[RF_EVENT_ID], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->ncand && !exp_rs_cmp(&c->it[c->cand[lo]].r->v.f[RF_EVENT_ID], id))
		return c->cand[lo];
	return SIZE_MAX;
}

static char *participant_of(const struct exp_rec *r)
{
	char *p = exp_str(&r->v.f[RF_SENDER]);

	if (p && !*p) {
		free(p);
		p = strdup("unknown");
	}
	return p;
}

/* Strings collected for one file or conversation, then sorted and unique. */
struct strset {
	char **v;
	size_t n, alloc;
};

static int strset_add(struct strset *ss, char *s)
{
	if (!s)
		return CU_ENOMEM;
	if (ss->n == ss->alloc) {
		size_t na = ss->alloc ? ss->alloc * 2 : 16;
		char **nv = realloc(ss->v, na * sizeof(*nv));

		if (!nv) {
			free(s);
			return CU_ENOMEM;
		}
		ss->v = nv;
		ss->alloc = na;
	}
	ss->v[ss->n++] = s;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strset_finish(struct strset *ss)
{
	size_t i, o = 0;

	qsort(ss->v, ss->n, sizeof(*ss->v), str_cmp);
	for (i = 0; i < ss->n; i++) {
		if (o && !strcmp(ss->v[o - 1], ss->v[i]))
			free(ss->v[i]);
		else
			ss->v[o++] = ss->v[i];
	}
	ss->n = o;
}

static void strset_release(struct strset *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free(ss->v[i]);
	free(ss->v);
	memset(ss, 0, sizeof(*ss));
}

/* Adds the recipients (a JSON array of strings) of r. */
static int add_recipients(struct strset *ss, const struct exp_rec *r)
{
	json_t *a;
	size_t i;
	int rc = 0;

	if (!r->v.f[RF_RECIPIENTS].len)
		return 0;
	a = json_loadb(r->v.f[RF_RECIPIENTS].ptr, r->v.f[RF_RECIPIENTS].len, 0, NULL);
	for (i = 0; json_is_array(a) && i < json_array_size(a) && !rc; i++) {
		json_t *e = json_array_get(a, i);

		if (json_is_string(e) && json_string_length(e))
			rc = strset_add(ss, strdup(json_string_value(e)));
	}
	json_decref(a);
	return rc;
}

static int conv_prepare(struct rs_conv *c, const struct exp_set *s, const size_t *order,
			const struct exp_group *g, struct cu_err *err)
{
	struct strset people = {0};
	size_t i, k, *prim = NULL, np = 0;
	int all_addressed = 1, rc = 0;

	memset(c, 0, sizeof(*c));
	c->s = s;
	c->n = g->n;
	c->it = calloc(g->n, sizeof(*c->it));
	c->cand = malloc(g->n * sizeof(*c->cand));
	if (!c->it || !c->cand)
		goto nomem;
	for (i = 0; i < g->n; i++) {
		c->it[i].r = &s->recs[order[g->start + i]];
		c->it[i].primary = 1;
		c->it[i].att_first = c->it[i].att_last = c->it[i].att_next = SIZE_MAX;
		c->it[i].parent = SIZE_MAX;
		if (!folds(c->it[i].r->v.kind) && c->it[i].r->v.f[RF_EVENT_ID].len)
			c->cand[c->ncand++] = i;
	}
	qsort_r(c->cand, c->ncand, sizeof(*c->cand), cand_cmp, c);
	/* Fold edits, redactions and reactions into their exported target. */
	for (i = 0; i < c->n; i++) {
		struct rs_item *x = &c->it[i];

		if (!folds(x->r->v.kind))
			continue;
		k = cand_find(c, &x->r->v.f[RF_TARGET]);
		if (k == SIZE_MAX)
			continue;
		x->primary = 0;
		x->target = k;
		if (c->it[k].att_first == SIZE_MAX)
			c->it[k].att_first = i;
		else
			c->it[c->it[k].att_last].att_next = i;
		c->it[k].att_last = i;
	}
	/* Event ids: the platform's id when no other event has it. */
	prim = malloc(c->n * sizeof(*prim));
	if (!prim)
		goto nomem;
	for (i = 0; i < c->n; i++)
		if (c->it[i].primary && c->it[i].r->v.f[RF_EVENT_ID].len)
			prim[np++] = i;
	qsort_r(prim, np, sizeof(*prim), cand_cmp, c);
	for (k = 0; k < np; k++) {
		const struct rec_str *id = &c->it[prim[k]].r->v.f[RF_EVENT_ID];

		if ((k > 0 && !exp_rs_cmp(&c->it[prim[k - 1]].r->v.f[RF_EVENT_ID], id)) ||
		    (k + 1 < np && !exp_rs_cmp(&c->it[prim[k + 1]].r->v.f[RF_EVENT_ID], id)))
			continue; /* shared: gets the seq-based id below */
		c->it[prim[k]].id = exp_str(id);
		if (!c->it[prim[k]].id)
			goto nomem;
	}
	for (i = 0; i < c->n; i++) {
		struct rs_item *x = &c->it[i];

		if (!x->primary)
			continue;
		if (!x->id && asprintf(&x->id, "custos-seq-%llu", (unsigned long long)x->r->seq) < 0) {
			x->id = NULL;
			goto nomem;
		}
		k = cand_find(c, x->r->v.f[RF_REPLY_TO].len ? &x->r->v.f[RF_REPLY_TO]
							    : &x->r->v.f[RF_THREAD]);
		if (k != i && k != SIZE_MAX)
			x->parent = k;
	}
	c->platform = exp_str(&c->it[0].r->v.f[RF_PLATFORM]);
	c->conversation = exp_str(&c->it[0].r->v.f[RF_CONVERSATION]);
	if (!c->platform || !c->conversation)
		goto nomem;
	rc = exp_slug(c->platform, c->conversation, c->slug);
	if (rc)
		goto nomem;
	snprintf(c->collection, sizeof(c->collection), "custos-%s-%s", s->meta.export_id, c->slug);
	/* "direct": every record is addressed, between at most two people. */
	for (i = 0; i < c->n && !rc; i++) {
		if (!c->it[i].r->v.f[RF_RECIPIENTS].len)
			all_addressed = 0;
		rc = strset_add(&people, participant_of(c->it[i].r));
		if (!rc)
			rc = add_recipients(&people, c->it[i].r);
	}
	if (rc)
		goto nomem;
	strset_finish(&people);
	c->direct = all_addressed && people.n <= 2;
	strset_release(&people);
	free(prim);
	return 0;
nomem:
	strset_release(&people);
	free(prim);
	return cu_err_set(err, CU_ENOMEM, "out of memory rendering RSMF");
}

static void conv_release(struct rs_conv *c)
{
	size_t i;

	for (i = 0; c->it && i < c->n; i++)
		free(c->it[i].id);
	free(c->it);
	free(c->cand);
	free(c->platform);
	free(c->conversation);
	memset(c, 0, sizeof(*c));
}

/* ---- the manifest ---- */

static int add_custom(json_t *arr, const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	return json_array_append_new(arr, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/* "seq 17 leaf <hex> by <who> at <time>" for a folded record. */
static char *folded_note(const struct exp_rec *r)
{
	char hex[65], iso[32], *who = participant_of(r), *out = NULL;

	hex_encode(r->leaf, HASH_LEN, hex);
	exp_time_iso(r->v.origin_ts, iso);
	if (who && asprintf(&out, "seq %llu leaf %s by %s at %s", (unsigned long long)r->seq, hex, who,
			    iso) < 0)
		out = NULL;
	free(who);
	return out;
}

static const char *event_type(const struct exp_rec *r)
{
	const struct rec_str *b = &r->v.f[RF_BODY];

	switch (r->v.kind) {
	case REC_MESSAGE:
	case REC_ATTACHMENT:
	case REC_EDIT:
		return "message";
	case REC_MEMBERSHIP:
		/* The generic envelope's membership body names the change. */
		if ((b->len >= 5 && !memcmp(b->ptr, "leave", 5)) || (b->len >= 4 && !memcmp(b->ptr, "left", 4)) ||
		    (b->len >= 4 && !memcmp(b->ptr, "kick", 4)) || (b->len >= 3 && !memcmp(b->ptr, "ban", 3)))
			return "leave";
		return "join";
	default:
		return "unknown";
	}
}

/* One event with everything folded into it. Sets *body_out to the text the
 * transcript shows (owned by the caller). */
static json_t *event_json(const struct rs_conv *c, size_t pos, struct strset *people, char **body_out)
{
	const struct rs_item *x = &c->it[pos];
	const struct exp_rec *r = x->r;
	json_t *ev = NULL, *custom = NULL, *edits = NULL, *reactions = NULL;
	char hex[65], iso[32], num[32], ctl[32], *body = NULL, *who = NULL, *s1 = NULL;
	int deleted = 0, ok;
	size_t a;

	*body_out = NULL;
	hex_encode(r->leaf, HASH_LEN, hex);
	exp_time_iso(r->v.origin_ts, iso);
	exp_ctl(r->ctl, ctl);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->seq);
	body = exp_str(&r->v.f[RF_BODY]);
	who = participant_of(r);
	ev = json_object();
	custom = json_array();
	edits = json_array();
	reactions = json_array();
	if (!body || !who || !ev || !custom || !edits || !reactions)
		goto fail;
	if (strset_add(people, strdup(who)) || add_recipients(people, r))
		goto fail;
	ok = !add_custom(custom, "custos.seq", num) && !add_custom(custom, "custos.leaf_hash", hex) &&
	     !add_custom(custom, "custos.control_number", ctl) &&
	     !add_custom(custom, "custos.kind", rec_kind_name(r->v.kind));
	if (!ok)
		goto fail;
	s1 = exp_str(&r->v.f[RF_EVENT_ID]);
	if (!s1 || (strcmp(s1, x->id) && add_custom(custom, "custos.event_id", s1)))
		goto fail;
	free(s1);
	s1 = NULL;
	if (r->v.kind == REC_EDIT || r->v.kind == REC_REDACTION || r->v.kind == REC_REACTION) {
		/* Not folded: its target is not in the export. */
		s1 = exp_str(&r->v.f[RF_TARGET]);
		if (!s1 || add_custom(custom, r->v.kind == REC_EDIT ? "custos.edit_of"
					      : r->v.kind == REC_REDACTION ? "custos.redaction_of"
					      : "custos.reaction_to", s1))
			goto fail;
		free(s1);
		s1 = NULL;
	}
	if (x->parent == SIZE_MAX && (r->v.f[RF_REPLY_TO].len || r->v.f[RF_THREAD].len)) {
		/* Refers to an event that is not exported: name it. */
		s1 = exp_str(r->v.f[RF_REPLY_TO].len ? &r->v.f[RF_REPLY_TO] : &r->v.f[RF_THREAD]);
		if (!s1 || add_custom(custom, r->v.f[RF_REPLY_TO].len ? "custos.reply_to" : "custos.thread", s1))
			goto fail;
		free(s1);
		s1 = NULL;
	}
	for (a = x->att_first; a != SIZE_MAX; a = c->it[a].att_next) {
		const struct exp_rec *fr = c->it[a].r;
		char *note = folded_note(fr), *fwho = participant_of(fr), *ftext = exp_str(&fr->v.f[RF_BODY]);
		char fiso[32];
		int bad = !note || !fwho || !ftext;

		exp_time_iso(fr->v.origin_ts, fiso);
		if (!bad)
			bad = strset_add(people, strdup(fwho)) != 0;
		if (!bad && fr->v.kind == REC_EDIT) {
			bad = add_custom(custom, "custos.edit", note) ||
			      json_array_append_new(edits, json_pack("{s:s, s:s, s:s, s:s}", "participant", fwho,
								     "timestamp", fiso, "previous", body,
								     "new", ftext));
			if (!bad) {
				free(body);
				body = ftext;
				ftext = NULL;
			}
		} else if (!bad && fr->v.kind == REC_REDACTION) {
			deleted = 1;
			bad = add_custom(custom, "custos.redaction", note);
		} else if (!bad) {
			/* A reaction: count it under its value, once per person. */
			const char *val = *ftext ? ftext : "(empty)";
			json_t *rx = NULL, *parts;
			size_t j;

			bad = add_custom(custom, "custos.reaction", note);
			for (j = 0; !bad && j < json_array_size(reactions); j++) {
				json_t *e = json_array_get(reactions, j);

				if (!strcmp(json_string_value(json_object_get(e, "value")), val))
					rx = e;
			}
			if (!bad && !rx) {
				rx = json_pack("{s:s, s:i, s:[]}", "value", val, "count", 0, "participants");
				bad = !rx || json_array_append_new(reactions, rx);
			}
			if (!bad) {
				int seen = 0;

				json_object_set_new(rx, "count",
						    json_integer(json_integer_value(json_object_get(rx, "count")) + 1));
				parts = json_object_get(rx, "participants");
				for (j = 0; j < json_array_size(parts); j++)
					if (!strcmp(json_string_value(json_array_get(parts, j)), fwho))
						seen = 1;
				if (!seen)
					bad = json_array_append_new(parts, json_string(fwho));
			}
		}
		free(note);
		free(fwho);
		free(ftext);
		if (bad)
			goto fail;
	}
	ok = !json_object_set_new(ev, "id", json_string(x->id)) &&
	     !json_object_set_new(ev, "type", json_string(event_type(r))) &&
	     !json_object_set_new(ev, "participant", json_string(who)) &&
	     !json_object_set_new(ev, "conversation", json_string(c->conversation)) &&
	     !json_object_set_new(ev, "timestamp", json_string(iso)) &&
	     !json_object_set_new(ev, "body", json_string(body));
	if (ok && x->parent != SIZE_MAX)
		ok = !json_object_set_new(ev, "parent", json_string(c->it[x->parent].id));
	if (ok && deleted)
		ok = !json_object_set_new(ev, "deleted", json_true());
	if (ok && json_array_size(edits))
		ok = !json_object_set(ev, "edits", edits);
	if (ok && json_array_size(reactions))
		ok = !json_object_set(ev, "reactions", reactions);
	if (ok)
		ok = !json_object_set(ev, "custom", custom);
	if (!ok)
		goto fail;
	json_decref(custom);
	json_decref(edits);
	json_decref(reactions);
	free(who);
	if (deleted) {
		char *b2 = NULL;

		if (asprintf(&b2, "%s [deleted]", body) < 0)
			b2 = NULL;
		free(body);
		body = b2;
	}
	*body_out = body;
	if (!body) {
		json_decref(ev);
		return NULL;
	}
	return ev;
fail:
	free(s1);
	free(body);
	free(who);
	json_decref(ev);
	json_decref(custom);
	json_decref(edits);
	json_decref(reactions);
	return NULL;
}

/* ---- one file ---- */

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return buf_append(ctx, p, n) == 0 ? (la_ssize_t)n : -1;
}

/* rsmf.zip: one stored member, no timestamps (see the file comment). */
static int make_zip(const char *manifest, size_t len, struct buf *out, struct cu_err *err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int rc = 0;

	if (!a || !ae) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=store") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, mem_write, NULL) != ARCHIVE_OK)
		goto la_fail;
	archive_entry_set_pathname(ae, "rsmf_manifest.json");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	if (archive_write_header(a, ae) != ARCHIVE_OK ||
	    archive_write_data(a, manifest, len) != (la_ssize_t)len ||
	    archive_write_finish_entry(a) != ARCHIVE_OK || archive_write_close(a) != ARCHIVE_OK)
		goto la_fail;
	goto out;
la_fail:
	rc = cu_err_set(err, CU_EIO, "rsmf.zip: %s",
			archive_error_string(a) ? archive_error_string(a) : "libarchive error");
out:
	archive_entry_free(ae);
	if (a)
		archive_write_free(a);
	return rc;
}

/* Writes the .rsmf file of events c->it[pos[0..n)] (primaries). */
static int write_file(const struct rs_conv *c, const size_t *pos, size_t n, const char *day, unsigned part,
		      unsigned parts, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &c->s->meta;
	struct strset people = {0};
	json_t *man = NULL, *events = NULL, *plist = NULL, *pids = NULL, *conv = NULL, *ccustom = NULL;
	struct buf text, zip, joined;
	struct exp_file f;
	char path[192], d1[32], d2[32], date[40], num[32], subject[512];
	char *mtext = NULL, *ttext = NULL;
	size_t i;
	int rc = 0, opened = 0;

	buf_init(&text, 1ull << 31);
	buf_init(&zip, 1ull << 31);
	buf_init(&joined, 1u << 24);
	events = json_array();
	if (!events)
		goto nomem;
	for (i = 0; i < n; i++) {
		char *shown = NULL, iso[32], *who;
		json_t *ev = event_json(c, pos[i], &people, &shown);

		if (!ev || json_array_append_new(events, ev)) {
			free(shown);
			goto nomem;
		}
		exp_time_iso(c->it[pos[i]].r->v.origin_ts, iso);
		who = participant_of(c->it[pos[i]].r);
		rc = !who || buf_printf(&text, "[%s] %s: ", iso, who) || buf_append_str(&text, shown) ||
		     buf_append_str(&text, "\r\n");
		free(who);
		free(shown);
		if (rc)
			goto nomem;
	}
	strset_finish(&people);
	plist = json_array();
	pids = json_array();
	ccustom = json_array();
	if (!plist || !pids || !ccustom)
		goto nomem;
	for (i = 0; i < people.n; i++) {
		if (json_array_append_new(plist, json_pack("{s:s, s:s, s:s}", "id", people.v[i], "display",
							   people.v[i], "account_id", people.v[i])) ||
		    json_array_append_new(pids, json_string(people.v[i])) ||
		    (i && buf_append_str(&joined, ", ")) || buf_append_str(&joined, people.v[i]))
			goto nomem;
	}
	if (add_custom(ccustom, "custos.platform", c->platform) ||
	    add_custom(ccustom, "custos.conversation", c->conversation) ||
	    add_custom(ccustom, "custos.export_id", m->export_id) ||
	    add_custom(ccustom, "custos.archive", m->origin))
		goto nomem;
	conv = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O}", "id", c->conversation, "display", c->conversation,
			 "platform", c->platform, "type", c->direct ? "direct" : "channel",
			 "participants", pids, "custom", ccustom);
	man = json_pack("{s:s, s:O, s:[O], s:O, s:s}", "version", "2.0.0", "participants", plist,
			"conversations", conv, "events", events, "eventcollectionid", c->collection);
	if (!conv || !man)
		goto nomem;
	mtext = json_dumps(man, JSON_COMPACT);
	if (!mtext)
		goto nomem;
	rc = make_zip(mtext, strlen(mtext), &zip, err);
	if (rc)
		goto out;

	if (parts > 1)
		snprintf(path, sizeof(path), "rsmf/%s/%s_%02u.rsmf", c->slug, day, part);
	else
		snprintf(path, sizeof(path), "rsmf/%s/%s.rsmf", c->slug, day);
	if (exp_file_open(&f, sink, path, err) != 0) {
		exp_file_abort(&f);
		rc = f.rc;
		goto out;
	}
	opened = 1;
	exp_time_iso(c->it[pos[0]].r->v.origin_ts, d1);
	exp_time_iso(c->it[pos[n - 1]].r->v.origin_ts, d2);
	mime_date(c->it[pos[0]].r->v.origin_ts, date);
	exp_file_puts(&f, "From: ");
	mime_address(&f, people.n ? people.v[0] : "unknown");
	exp_file_puts(&f, "\r\n");
	if (people.n > 1) {
		exp_file_puts(&f, "To: ");
		for (i = 1; i < people.n; i++) {
			if (i > 1)
				exp_file_puts(&f, ",\r\n ");
			mime_address(&f, people.v[i]);
		}
		exp_file_puts(&f, "\r\n");
	}
	if (parts > 1)
		snprintf(subject, sizeof(subject), "%.400s %s (part %u of %u)", c->conversation, day, part, parts);
	else
		snprintf(subject, sizeof(subject), "%.400s %s", c->conversation, day);
	mime_header(&f, "Subject", subject);
	mime_header(&f, "Date", date);
	mime_header(&f, "MIME-Version", "1.0");
	mime_header(&f, "X-RSMF-Version", "2.0.0");
	mime_header(&f, "X-RSMF-Generator", EXP_GENERATOR);
	mime_header(&f, "X-RSMF-Application", c->platform);
	mime_header(&f, "X-RSMF-BeginDate", d1);
	mime_header(&f, "X-RSMF-EndDate", d2);
	snprintf(num, sizeof(num), "%zu", n);
	mime_header(&f, "X-RSMF-EventCount", num);
	mime_header(&f, "X-RSMF-Participants", joined.data ? (const char *)joined.data : "");
	mime_header(&f, "X-RSMF-AttachmentCount", "0");
	mime_header(&f, "X-RSMF-EventCollectionID", c->collection);
	exp_file_puts(&f, "Content-Type: multipart/mixed; boundary=\"" BOUNDARY "\"\r\n\r\n");
	exp_file_puts(&f, "--" BOUNDARY "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n");
	if (asprintf(&ttext, "%s, %s: %zu event(s), %s to %s (UTC).\r\nExport %s of the archive %s. "
			     "The events with their archive seq and leaf hash are in rsmf.zip.\r\n\r\n",
		     c->conversation, c->platform, n, d1, d2, m->export_id, m->origin) < 0) {
		ttext = NULL;
		exp_file_abort(&f);
		opened = 0;
		goto nomem;
	}
	{
		struct buf all;

		buf_init(&all, 1ull << 31);
		if (buf_append_str(&all, ttext) || buf_append(&all, text.data, text.len)) {
			buf_release(&all);
			exp_file_abort(&f);
			opened = 0;
			goto nomem;
		}
		mime_base64_body(&f, all.data, all.len);
		buf_release(&all);
	}
	exp_file_puts(&f, "\r\n--" BOUNDARY "\r\nContent-Type: application/zip; name=\"rsmf.zip\"\r\n"
			  "Content-Disposition: attachment; filename=\"rsmf.zip\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n");
	mime_base64_body(&f, zip.data, zip.len);
	exp_file_puts(&f, "\r\n--" BOUNDARY "--\r\n");
	opened = 0;
	rc = exp_file_close(&f);
	goto out;
nomem:
	rc = cu_err_set(err, CU_ENOMEM, "out of memory rendering RSMF");
out:
	if (opened)
		exp_file_abort(&f);
	free(mtext);
	free(ttext);
	json_decref(man);
	json_decref(conv);
	json_decref(events);
	json_decref(plist);
	json_decref(pids);
	json_decref(ccustom);
	strset_release(&people);
	buf_release(&text);
	buf_release(&zip);
	buf_release(&joined);
	return rc;
}

static int render_conv(const struct rs_conv *c, struct exp_sink *sink, struct cu_err *err)
{
	size_t *pos = malloc(c->n * sizeof(*pos)), np = 0, i, j;
	int rc = 0;

	if (!pos)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	for (i = 0; i < c->n; i++)
		if (c->it[i].primary)
			pos[np++] = i;
	/* Runs of the same UTC day, cut into files of at most the cap. */
	for (i = 0; i < np && !rc; i = j) {
		char day[16], d2[16];
		unsigned parts, part;
		size_t k;

		exp_time_day(c->it[pos[i]].r->v.origin_ts, day);
		for (j = i + 1; j < np; j++) {
			exp_time_day(c->it[pos[j]].r->v.origin_ts, d2);
			if (strcmp(day, d2))
				break;
		}
		parts = (unsigned)((j - i + EXP_RSMF_MAX_EVENTS - 1) / EXP_RSMF_MAX_EVENTS);
		for (part = 1, k = i; k < j && !rc; part++, k += EXP_RSMF_MAX_EVENTS) {
			size_t cnt = j - k < EXP_RSMF_MAX_EVENTS ? j - k : EXP_RSMF_MAX_EVENTS;

			rc = write_file(c, pos + k, cnt, day, part, parts, sink, err);
		}
	}
	free(pos);
	return rc;
}

int exp_render_rsmf(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	struct exp_group *groups = NULL;
	size_t *order = NULL, ng = 0, g;
	int rc;

	rc = exp_group_conversations(s, &order, &groups, &ng, err);
	for (g = 0; !rc && g < ng; g++) {
		struct rs_conv c;

		rc = conv_prepare(&c, s, order, &groups[g], err);
		if (!rc)
			rc = render_conv(&c, sink, err);
		conv_release(&c);
	}
	free(order);
	free(groups);
	return rc;
}
