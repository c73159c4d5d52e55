/* bagit.c - a BagIt 1.0 bag (RFC 8493, docs/EXPORTS.md "BagIt"): the
 * payload (the records as JSON Lines and one readable HTML transcript per
 * conversation) and the tag files bagit.txt and bag-info.txt. The
 * manifests are digests of the files as written, so the package writer
 * (package.c) keeps them while it streams; the tag files' names are in
 * export_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record_json.h"
#include "common/encode.h"
#include "export/export_int.h"

/* data/records.jsonl: `custos show --json` of each record, compact, in seq
 * order: every field by name, the original payload included. */
static int render_records(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	struct exp_file f;
	size_t i;

	if (exp_file_open(&f, sink, EXP_BAG_DATA "records.jsonl", err) != 0) {
		exp_file_abort(&f);
		return f.rc;
	}
	for (i = 0; i < s->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[i];
		struct store_entry e;
		json_t *o;
		char *line;

		memset(&e, 0, sizeof(e));
		e.seq = r->seq;
		e.bytes = s->arena.data + r->off;
		e.len = r->len;
		memcpy(e.leaf, r->leaf, HASH_LEN);
		o = rec_entry_to_json(&e);
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!line) {
			f.rc = cu_err_set(err, CU_ENOMEM, "record %llu cannot be written as JSON",
					  (unsigned long long)r->seq);
			break;
		}
		exp_file_puts(&f, line);
		exp_file_puts(&f, "\n");
		free(line);
	}
	return exp_file_close(&f);
}

static void html_rs(struct exp_file *f, const struct rec_str *s)
{
	char *v = exp_file_str(f, s);

	if (!v)
		return;
	exp_file_xml(f, v, 0);
	free(v);
}

/* What a record is, for the "kind" column: "reply to X", "edit of Y" ... */
static void html_kind(struct exp_file *f, const struct exp_rec *r)
{
	exp_file_puts(f, rec_kind_name(r->v.kind));
	if (r->v.f[RF_TARGET].len) {
		exp_file_puts(f, "<br>of ");
		html_rs(f, &r->v.f[RF_TARGET]);
	}
	if (r->v.f[RF_REPLY_TO].len) {
		exp_file_puts(f, "<br>reply to ");
		html_rs(f, &r->v.f[RF_REPLY_TO]);
	}
	if (r->v.f[RF_THREAD].len) {
		exp_file_puts(f, "<br>in thread ");
		html_rs(f, &r->v.f[RF_THREAD]);
	}
	if (r->v.flags & REC_F_ENCRYPTED)
		exp_file_puts(f, "<br>end-to-end encrypted");
	if (r->v.flags & REC_F_DUP_KEYS)
		exp_file_puts(f, "<br>payload has duplicate keys (last value shown)");
}

static int render_transcript(const struct exp_set *s, const size_t *order, const struct exp_group *g,
			     struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_rec *first = &s->recs[order[g->start]];
	char slug[80], path[128], iso[32], ctl[32], hex[65];
	struct exp_file f;
	size_t i;
	int rc;

	char *plat = exp_str(&first->v.f[RF_PLATFORM]);
	char *conv = exp_str(&first->v.f[RF_CONVERSATION]);

	rc = plat && conv ? exp_slug(plat, conv, slug) : CU_ENOMEM;
	free(plat);
	free(conv);
	if (rc)
		return cu_err_set(err, rc, "out of memory");
	snprintf(path, sizeof(path), EXP_BAG_DATA "transcripts/%s.html", slug);
	if (exp_file_open(&f, sink, path, err) != 0) {
		exp_file_abort(&f);
		return f.rc;
	}
	exp_file_puts(&f, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
			  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			  "style-src 'unsafe-inline'\">\n<title>");
	html_rs(&f, &first->v.f[RF_CONVERSATION]);
	exp_file_puts(&f, "</title>\n<style>\nbody{font-family:sans-serif;margin:2em}\n"
			  "table{border-collapse:collapse;width:100%}\n"
			  "th,td{border-bottom:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\n"
			  ".text{white-space:pre-wrap;overflow-wrap:anywhere}\n"
			  ".rec{color:#555;font-size:smaller;font-family:monospace}\n"
			  "</style>\n</head>\n<body>\n<h1>");
	html_rs(&f, &first->v.f[RF_CONVERSATION]);
	exp_file_puts(&f, "</h1>\n<p>Platform: ");
	html_rs(&f, &first->v.f[RF_PLATFORM]);
	exp_file_printf(&f, ". %zu record(s), by origin time (UTC). Export ", g->n);
	exp_file_xml(&f, s->meta.export_id, 0);
	exp_file_puts(&f, " of the archive ");
	exp_file_xml(&f, s->meta.origin, 0);
	exp_file_puts(&f, ". Each record's seq and leaf hash lead to its proof in "
			  "proof/inclusion.jsonl.</p>\n<table>\n<tr><th>Time (UTC)</th><th>From</th>"
			  "<th>Kind</th><th>Text</th><th>Record</th></tr>\n");
	for (i = 0; i < g->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[order[g->start + i]];

		exp_time_iso(r->v.origin_ts, iso);
		exp_ctl(r->ctl, ctl);
		hex_encode(r->leaf, HASH_LEN, hex);
		exp_file_printf(&f, "<tr id=\"seq-%llu\"><td>%s</td><td>", (unsigned long long)r->seq, iso);
		html_rs(&f, &r->v.f[RF_SENDER]);
		exp_file_puts(&f, "</td><td>");
		html_kind(&f, r);
		exp_file_puts(&f, "</td><td class=\"text\">");
		html_rs(&f, &r->v.f[RF_BODY]);
		exp_file_printf(&f, "</td><td class=\"rec\">%s<br>seq %llu<br>id ", ctl,
				(unsigned long long)r->seq);
		html_rs(&f, &r->v.f[RF_EVENT_ID]);
		exp_file_printf(&f, "<br>leaf %.16s&hellip;</td></tr>\n", hex);
	}
	exp_file_puts(&f, "</table>\n</body>\n</html>\n");
	return exp_file_close(&f);
}

int exp_render_bag_payload(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	struct exp_group *groups = NULL;
	size_t *order = NULL, ng = 0, g;
	int rc;

	rc = render_records(s, sink, err);
	if (rc)
		return rc;
	rc = exp_group_conversations(s, &order, &groups, &ng, err);
	for (g = 0; !rc && g < ng; g++)
		rc = render_transcript(s, order, &groups[g], sink, err);
	free(order);
	free(groups);
	return rc;
}

int exp_render_bagit_txt(struct exp_sink *sink, struct cu_err *err)
{
	struct exp_file f;

	if (exp_file_open(&f, sink, EXP_BAGIT_TXT, err) != 0) {
		exp_file_abort(&f);
		return f.rc;
	}
	exp_file_puts(&f, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	return exp_file_close(&f);
}

/* A bag-info element: control characters become spaces, and the line is
 * folded at spaces near 79 columns (RFC 8493 section 2.2.2). */
static void bag_info_line(struct exp_file *f, const char *label, const char *value)
{
	size_t col, llen = strlen(label) + 2, i, n = strlen(value), start = 0, last_space = 0;
	char *v = strdup(value);

	if (!v) {
		if (!f->rc)
			f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7F)
			v[i] = ' ';
	exp_file_printf(f, "%s: ", label);
	col = llen;
	for (i = 0; i < n; i++) {
		if (v[i] == ' ')
			last_space = i;
		if (col + (i - start) >= 79 && last_space > start) {
			exp_file_put(f, v + start, last_space - start);
			exp_file_puts(f, "\n  ");
			start = last_space + 1;
			col = 2;
		}
	}
	exp_file_put(f, v + start, n - start);
	exp_file_puts(f, "\n");
	free(v);
}

int exp_render_bag_info(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &s->meta;
	char day[16], oxum[48], t1[32], t2[32];
	uint64_t bytes = 0, files = 0;
	struct exp_file f;
	struct buf d;
	int rc;

	rc = sink->payload_oxum(sink, &bytes, &files);
	if (rc)
		return rc;
	buf_init(&d, 3 * EXP_MAX_QUERY + 4 * EXP_MAX_NAME + 1024);
	rc = buf_printf(&d, "Export of %llu record(s) from the archive %s for the query: %s",
			(unsigned long long)m->count, m->origin, m->query ? m->query : "(none)");
	if (!rc && m->conversation)
		rc = buf_printf(&d, "; conversation: %s", m->conversation);
	if (!rc && m->has_from) {
		exp_time_iso(m->from_ms, t1);
		rc = buf_printf(&d, "; origin time from %s", t1);
	}
	if (!rc && m->has_to) {
		exp_time_iso(m->to_ms, t2);
		rc = buf_printf(&d, "; origin time before %s", t2);
	}
	if (rc) {
		buf_release(&d);
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	}
	if (exp_file_open(&f, sink, EXP_BAG_INFO, err) != 0) {
		exp_file_abort(&f);
		buf_release(&d);
		return f.rc;
	}
	exp_time_day(m->created_ms, day);
	snprintf(oxum, sizeof(oxum), "%llu.%llu", (unsigned long long)bytes, (unsigned long long)files);
	bag_info_line(&f, "Source-Organization", m->organization);
	bag_info_line(&f, "Bagging-Date", day);
	bag_info_line(&f, "Payload-Oxum", oxum);
	bag_info_line(&f, "External-Identifier", m->export_id);
	bag_info_line(&f, "External-Description", (const char *)d.data);
	bag_info_line(&f, "Internal-Sender-Identifier", m->origin);
	bag_info_line(&f, "Internal-Sender-Description", "Requested by the records officer named in data/custody.txt");
	bag_info_line(&f, "Contact-Name", m->by);
	bag_info_line(&f, "Bag-Software-Agent", EXP_GENERATOR);
	buf_release(&d);
	return exp_file_close(&f);
}
