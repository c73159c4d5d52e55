/* bagit.c - the payload of a BagIt package: the records as JSON Lines and
 * one readable HTML transcript per conversation (docs/EXPORTS.md). The
 * tag files are in render.c, the manifests in package.c. */
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
	char *v = exp_str(s);

	if (!v) {
		if (!f->rc)
			f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
		return;
	}
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
