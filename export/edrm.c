/* edrm.c - the EDRM XML 1.2 load file, edrm.xml (docs/EXPORTS.md "EDRM XML");
 * its text files are text_files.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "export/export_int.h"

static void edrm_tag(struct exp_file *f, const char *name, const char *type, const char *value)
{
	if (!value || !*value)
		return;
	exp_file_puts(f, "        <Tag TagName=\"");
	exp_file_xml(f, name, 1);
	exp_file_printf(f, "\" TagDataType=\"%s\" TagValue=\"", type);
	exp_file_xml(f, value, 1);
	exp_file_puts(f, "\"/>\n");
}

static void edrm_tag_rs(struct exp_file *f, const char *name, const struct rec_str *s)
{
	char *v;

	if (!s->len)
		return;
	v = exp_file_str(f, s);
	if (!v)
		return;
	edrm_tag(f, name, "Text", v);
	free(v);
}

/* Finds the record of (platform, conversation, event id) for relationships:
 * a linear scan would be quadratic, so a sorted index is built once. */
struct evref {
	const struct exp_rec *r;
};

static int evref_cmp3(const struct exp_rec *a, const struct rec_str *plat, const struct rec_str *conv,
		      const struct rec_str *id)
{
	int c = exp_rs_cmp(&a->v.f[RF_PLATFORM], plat);

	if (!c)
		c = exp_rs_cmp(&a->v.f[RF_CONVERSATION], conv);
	if (!c)
		c = exp_rs_cmp(&a->v.f[RF_EVENT_ID], id);
	return c;
}

static int evref_cmp(const void *pa, const void *pb)
{
	const struct exp_rec *a = ((const struct evref *)pa)->r, *b = ((const struct evref *)pb)->r;
	int c = evref_cmp3(a, &b->v.f[RF_PLATFORM], &b->v.f[RF_CONVERSATION], &b->v.f[RF_EVENT_ID]);

	return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static const struct exp_rec *evref_find(const struct evref *ix, size_t n, const struct exp_rec *from,
					const struct rec_str *id)
{
	size_t lo = 0, hi = n;

	if (!id->len)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (evref_cmp3(ix[mid].r, &from->v.f[RF_PLATFORM], &from->v.f[RF_CONVERSATION], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && !evref_cmp3(ix[lo].r, &from->v.f[RF_PLATFORM], &from->v.f[RF_CONVERSATION], id))
		return ix[lo].r; /* the earliest record with that id */
	return NULL;
}

int exp_render_edrm(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &s->meta;
	struct evref *ix = NULL;
	struct exp_file f;
	char ctl[32], pctl[32], iso[32], num[32], hex[65], desc[160];
	size_t i;
	int rc;

	ix = malloc((s->n ? s->n : 1) * sizeof(*ix));
	if (!ix)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	for (i = 0; i < s->n; i++)
		ix[i].r = &s->recs[i];
	qsort(ix, s->n, sizeof(*ix), evref_cmp);
	if (exp_file_open(&f, sink, "edrm.xml", err) != 0) {
		exp_file_abort(&f);
		free(ix);
		return f.rc;
	}
	snprintf(desc, sizeof(desc), "custos export %s", m->export_id);
	exp_file_puts(&f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	exp_file_puts(&f, "<Root MajorVersion=\"1\" MinorVersion=\"2\" DataInterchangeType=\"Update\" Description=\"");
	exp_file_xml(&f, desc, 1);
	exp_file_puts(&f, "\">\n  <Batch name=\"");
	exp_file_xml(&f, m->export_id, 1);
	exp_file_puts(&f, "\">\n    <Documents>\n");
	for (i = 0; i < s->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[i];
		char *to = exp_recipients_text(&r->v.f[RF_RECIPIENTS]);
		char *sender = exp_str(&r->v.f[RF_SENDER]);
		char *body = exp_str(&r->v.f[RF_BODY]);

		if (!to || !sender || !body) {
			free(to);
			free(sender);
			free(body);
			f.rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			break;
		}
		exp_ctl(r->ctl, ctl);
		exp_time_iso(r->v.origin_ts, iso);
		hex_encode(r->leaf, HASH_LEN, hex);
		exp_file_printf(&f, "      <Document DocID=\"%s\" DocType=\"Message\" MimeType=\"text/plain\">\n", ctl);
		exp_file_puts(&f, "        <Files>\n          <File FileType=\"Text\">\n");
		exp_file_printf(&f, "            <ExternalFile FilePath=\"text\" FileName=\"%s.txt\" FileSize=\"%zu\"/>\n",
				ctl, strlen(body));
		exp_file_puts(&f, "          </File>\n        </Files>\n");
		exp_file_puts(&f, "        <Locations>\n          <Location>\n            <Custodian>");
		exp_file_xml(&f, sender, 0);
		exp_file_puts(&f, "</Custodian>\n            <LocationURI>");
		exp_file_xml(&f, m->origin, 0);
		exp_file_printf(&f, "#seq=%llu</LocationURI>\n          </Location>\n        </Locations>\n",
				(unsigned long long)r->seq);
		exp_file_puts(&f, "        <Tags>\n");
		edrm_tag(&f, "#From", "Text", sender);
		edrm_tag(&f, "#To", "Text", to);
		edrm_tag(&f, "#DateSent", "DateTime", iso);
		edrm_tag_rs(&f, "Custos.Conversation", &r->v.f[RF_CONVERSATION]);
		edrm_tag_rs(&f, "Custos.Platform", &r->v.f[RF_PLATFORM]);
		edrm_tag(&f, "Custos.RecordKind", "Text", rec_kind_name(r->v.kind));
		edrm_tag_rs(&f, "Custos.EventID", &r->v.f[RF_EVENT_ID]);
		edrm_tag_rs(&f, "Custos.ReplyTo", &r->v.f[RF_REPLY_TO]);
		edrm_tag_rs(&f, "Custos.Thread", &r->v.f[RF_THREAD]);
		edrm_tag_rs(&f, "Custos.Target", &r->v.f[RF_TARGET]);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r->seq);
		edrm_tag(&f, "Custos.ArchiveSeq", "Integer", num);
		edrm_tag(&f, "Custos.LeafHash", "Text", hex);
		exp_file_puts(&f, "        </Tags>\n      </Document>\n");
		free(to);
		free(sender);
		free(body);
	}
	exp_file_puts(&f, "    </Documents>\n    <Relationships>\n");
	for (i = 0; i < s->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[i], *p;
		const struct rec_str *ref = r->v.f[RF_REPLY_TO].len ? &r->v.f[RF_REPLY_TO]
			: r->v.f[RF_THREAD].len ? &r->v.f[RF_THREAD] : &r->v.f[RF_TARGET];
		const char *type = r->v.f[RF_REPLY_TO].len || r->v.f[RF_THREAD].len ? "Thread"
				   : "Reference";

		p = evref_find(ix, s->n, r, ref);
		if (!p || p == r)
			continue;
		exp_ctl(p->ctl, pctl);
		exp_ctl(r->ctl, ctl);
		exp_file_printf(&f, "      <Relationship Type=\"%s\" ParentDocID=\"%s\" ChildDocID=\"%s\"/>\n",
				type, pctl, ctl);
	}
	exp_file_puts(&f, "    </Relationships>\n  </Batch>\n</Root>\n");
	rc = exp_file_close(&f);
	free(ix);
	return rc;
}
