/* render.c - the files every package has (README, custody statement),
 * the load-file formats (Concordance DAT, EDRM XML 1.2, their text files)
 * and the dispatch by format. docs/EXPORTS.md shows each file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "export/export_int.h"

/* ---- grouping by conversation ---- */

static int rs_cmp(const struct rec_str *a, const struct rec_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->ptr, b->ptr, n) : 0;

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* qsort_r (glibc, _GNU_SOURCE) passes the set as the context: an export
 * job and a transfer render at the same time, so the sort state must not
 * live in a file-scope variable. */
static int cmp_conv_time(const void *pa, const void *pb, void *ctx)
{
	const struct exp_set *s = ctx;
	const struct exp_rec *a = &s->recs[*(const size_t *)pa];
	const struct exp_rec *b = &s->recs[*(const size_t *)pb];
	int c = rs_cmp(&a->v.f[RF_PLATFORM], &b->v.f[RF_PLATFORM]);

	if (!c)
		c = rs_cmp(&a->v.f[RF_CONVERSATION], &b->v.f[RF_CONVERSATION]);
	if (!c)
		c = a->v.origin_ts < b->v.origin_ts ? -1 : a->v.origin_ts > b->v.origin_ts;
	if (!c)
		c = a->seq < b->seq ? -1 : a->seq > b->seq;
	return c;
}

int exp_group_conversations(const struct exp_set *s, size_t **order_out, struct exp_group **groups_out,
			    size_t *ngroups, struct cu_err *err)
{
	size_t *order = NULL, i, ng = 0;
	struct exp_group *g = NULL;

	*order_out = NULL;
	*groups_out = NULL;
	*ngroups = 0;
	order = malloc((s->n ? s->n : 1) * sizeof(*order));
	g = malloc((s->n ? s->n : 1) * sizeof(*g));
	if (!order || !g) {
		free(order);
		free(g);
		return cu_err_set(err, CU_ENOMEM, "out of memory grouping records");
	}
	for (i = 0; i < s->n; i++)
		order[i] = i;
	qsort_r(order, s->n, sizeof(*order), cmp_conv_time, (void *)s);
	for (i = 0; i < s->n; i++) {
		const struct exp_rec *r = &s->recs[order[i]];
		const struct exp_rec *p = i ? &s->recs[order[i - 1]] : NULL;

		if (!p || rs_cmp(&p->v.f[RF_PLATFORM], &r->v.f[RF_PLATFORM]) ||
		    rs_cmp(&p->v.f[RF_CONVERSATION], &r->v.f[RF_CONVERSATION])) {
			g[ng].start = i;
			g[ng].n = 0;
			ng++;
		}
		g[ng - 1].n++;
	}
	*order_out = order;
	*groups_out = g;
	*ngroups = ng;
	return 0;
}

/* ---- README and custody statement ---- */

static void put_time_or(struct exp_file *f, int has, int64_t ms, const char *none)
{
	char t[32];

	if (!has) {
		exp_file_puts(f, none);
		return;
	}
	exp_time_iso(ms, t);
	exp_file_puts(f, t);
}

static const char *format_title(enum exp_format f)
{
	switch (f) {
	case EXP_RSMF: return "Relativity Short Message Format (RSMF) 2.0.0";
	case EXP_DAT: return "Concordance/Relativity DAT load file with text files";
	case EXP_EDRM: return "EDRM XML 1.2 load file with text files";
	case EXP_BAGIT: return "BagIt 1.0 bag (RFC 8493)";
	}
	return "?";
}

static void put_selection_lines(struct exp_file *f, const struct exp_meta *m)
{
	exp_file_puts(f, "Query:              ");
	exp_file_puts(f, m->query ? m->query : "(none)");
	exp_file_puts(f, "\nConversation:       ");
	exp_file_puts(f, m->conversation ? m->conversation : "(all)");
	exp_file_puts(f, "\nOrigin time from:   ");
	put_time_or(f, m->has_from, m->from_ms, "(open)");
	exp_file_puts(f, "\nOrigin time before: ");
	put_time_or(f, m->has_to, m->to_ms, "(open)");
	exp_file_puts(f, "\n");
}

static int render_custody(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &s->meta;
	char path[64], t[32], sel[65], root[65];
	struct exp_file f;

	exp_payload_path(m->format, EXP_CUSTODY_TXT, path, sizeof(path));
	if (exp_file_open(&f, sink, path, err) != 0)
		return f.rc;
	hex_encode(m->selection, HASH_LEN, sel);
	hex_encode(m->root, HASH_LEN, root);
	exp_time_iso(m->created_ms, t);
	exp_file_printf(&f, "Chain of custody of export %s\n\n", m->export_id);
	exp_file_printf(&f, "Archive:            %s\n", m->origin);
	exp_file_printf(&f, "Requested by:       %s\n", m->by);
	exp_file_printf(&f, "Requested at:       %s\n", t);
	put_selection_lines(&f, m);
	exp_file_printf(&f, "Format:             %s, as a %s package\n", format_title(m->format),
			exp_container_name(m->container));
	exp_file_printf(&f, "Records exported:   %llu", (unsigned long long)m->count);
	if (s->n)
		exp_file_printf(&f, " (seq %llu to %llu)", (unsigned long long)s->recs[0].seq,
				(unsigned long long)s->recs[s->n - 1].seq);
	exp_file_printf(&f, "\nNot exported:       %llu selected record(s) whose content the archive "
			"has deleted (retention or erasure order)\n",
			(unsigned long long)m->skipped_deleted);
	exp_file_printf(&f, "Selection SHA-256:  %s\n", sel);
	exp_file_printf(&f, "Custody record:     seq %llu of the archive's log (%sproof/custody.json)\n",
			(unsigned long long)m->request_seq, m->format == EXP_BAGIT ? EXP_BAG_DATA : "");
	exp_file_printf(&f, "Proven against:     checkpoint of tree size %llu, root hash %s\n",
			(unsigned long long)m->tree_size, root);
	exp_file_printf(&f, "Archive key:        SHA-256 (DER) %s\n", m->key_fp);
	exp_file_puts(&f, "\nThe custody record was appended to the archive's log when the export was\n"
			  "requested, before the checkpoint was signed, so the checkpoint proves it\n"
			  "together with every exported record. Its selection SHA-256 is computed\n"
			  "over the exported records in seq order, each as its seq (8 bytes,\n"
			  "big-endian) followed by its 32-byte leaf hash: no record can be added,\n"
			  "removed or exchanged without changing it.\n");
	return exp_file_close(&f);
}

/* What the format's own files are, for the README. */
static void readme_files(struct exp_file *f, enum exp_format fmt)
{
	switch (fmt) {
	case EXP_RSMF:
		exp_file_puts(f, "  rsmf/<conversation>/<day>[_<part>].rsmf\n"
				 "                        one RSMF 2.0.0 file per conversation and day (UTC),\n"
				 "                        at most 10,000 events each; the files of one\n"
				 "                        conversation share an event collection id. Each\n"
				 "                        event names its record's seq and leaf hash in\n"
				 "                        \"custom\" (custos.seq, custos.leaf_hash).\n");
		break;
	case EXP_DAT:
		exp_file_puts(f, "  loadfile.dat          Concordance DAT: UTF-8 (with BOM), fields quoted with\n"
				 "                        \xc3\xbe (U+00FE), separated by ASCII 20, newlines inside\n"
				 "                        fields written as \xc2\xae (U+00AE); one row per record\n"
				 "  text/<control>.txt    the text of each record\n");
		break;
	case EXP_EDRM:
		exp_file_puts(f, "  edrm.xml              EDRM XML 1.2: one Document per record\n"
				 "  text/<control>.txt    the text of each record\n");
		break;
	case EXP_BAGIT:
		exp_file_puts(f, "  data/records.jsonl    every record as JSON, one a line, in seq order\n"
				 "  data/transcripts/<conversation>.html\n"
				 "                        a readable transcript per conversation\n");
		break;
	}
}

/* "  path   description" with the description wrapped at 78 columns in a
 * column of its own (on the next line when the path is long). */
static void readme_item(struct exp_file *f, const char *prefix, const char *name, const char *desc)
{
	char path[128];
	const char *p = desc;
	size_t col, w;

	snprintf(path, sizeof(path), "%s%s", prefix, name);
	exp_file_printf(f, "  %s", path);
	col = 2 + strlen(path);
	if (col > 23) {
		exp_file_puts(f, "\n");
		col = 0;
	}
	exp_file_printf(f, "%*s", (int)(24 - col), "");
	col = 24;
	while (*p) {
		w = strcspn(p, " ");
		if (col > 24 && col + 1 + w > 78) {
			exp_file_printf(f, "\n%24s", "");
			col = 24;
		} else if (col > 24) {
			exp_file_puts(f, " ");
			col++;
		}
		exp_file_put(f, p, w);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	exp_file_puts(f, "\n");
}

static int render_readme(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	const struct exp_meta *m = &s->meta;
	const char *P = m->format == EXP_BAGIT ? EXP_BAG_DATA : "";
	char path[64], t[32], c1[32], line[256];
	struct exp_file f;

	exp_payload_path(m->format, EXP_README, path, sizeof(path));
	if (exp_file_open(&f, sink, path, err) != 0)
		return f.rc;
	exp_time_iso(m->created_ms, t);
	exp_ctl(1, c1);
	exp_file_printf(&f, "custos export %s\n\n", m->export_id);
	exp_file_printf(&f, "This package holds %llu record(s) from the archive %s,\n"
			    "exported at %s for %s.\n", (unsigned long long)m->count, m->origin, t, m->by);
	exp_file_printf(&f, "Format: %s.\n", format_title(m->format));
	put_selection_lines(&f, m);
	exp_file_puts(&f, "\nWhat is in it (paths below the package's top directory)\n\n");
	readme_files(&f, m->format);
	readme_item(&f, P, "README.txt", "this file");
	readme_item(&f, P, "custody.txt", "who asked, when, for what, and how many records");
	readme_item(&f, P, "proof/archive.pub", "the archive's Ed25519 public key (PEM)");
	snprintf(line, sizeof(line), "the signed checkpoint (C2SP signed note) of the archive's tree "
		 "of size %llu", (unsigned long long)m->tree_size);
	readme_item(&f, P, "proof/checkpoint.txt", line);
	snprintf(line, sizeof(line), "one inclusion proof per record, in seq order: line N belongs "
		 "to control number N (%s is line 1)", c1);
	readme_item(&f, P, "proof/inclusion.jsonl", line);
	snprintf(line, sizeof(line), "the inclusion proof of the custody record (seq %llu)",
		 (unsigned long long)m->request_seq);
	readme_item(&f, P, "proof/custody.json", line);
	if (m->format == EXP_BAGIT)
		exp_file_puts(&f, "  bagit.txt, bag-info.txt, manifest-sha256.txt, manifest-sha512.txt,\n"
				  "  tagmanifest-sha256.txt  the BagIt tag files\n");
	else
		exp_file_puts(&f, "  SHA256SUMS            SHA-256 of every other file\n");

	exp_file_puts(&f, "\nHow to verify it\n\n");
	exp_file_printf(&f, "First obtain the archive's public key from its operator through a channel\n"
			    "you trust and compare its fingerprint with this one:\n"
			    "  %s\n"
			    "  openssl pkey -pubin -in archive.pub -outform DER | openssl dgst -sha256\n\n",
			m->key_fp);
	exp_file_puts(&f, "With custos (offline; needs only the package and the key):\n"
			  "  custos verify-export --pubkey archive.pub PACKAGE\n"
			  "It checks everything below and that every file says exactly what the\n"
			  "proven records say, and names the first thing that is wrong.\n\n");
	exp_file_puts(&f, "With standard tools, in the package's top directory after unpacking it:\n\n"
			  "1. Every file is intact:\n");
	if (m->format == EXP_BAGIT)
		exp_file_puts(&f, "     sha256sum -c manifest-sha256.txt && sha512sum -c manifest-sha512.txt\n"
				  "     sha256sum -c tagmanifest-sha256.txt\n");
	else
		exp_file_puts(&f, "     sha256sum -c SHA256SUMS\n");
	exp_file_printf(&f, "2. The checkpoint is signed by the archive's key:\n"
			    "     head -n 3 %sproof/checkpoint.txt > note.txt\n"
			    "     sed -n 5p %sproof/checkpoint.txt | cut -d' ' -f3 | base64 -d | tail -c 64 > sig.bin\n"
			    "     openssl pkeyutl -verify -pubin -inkey archive.pub -rawin -in note.txt -sigfile sig.bin\n",
			P, P);
	exp_file_printf(&f, "3. A record is in that tree, e.g. control number 42 (line 42):\n"
			    "     sed -n 42p %sproof/inclusion.jsonl > p.json\n"
			    "     custos verify-proof --pubkey archive.pub p.json\n"
			    "   or by hand: its leaf hash is SHA-256 of a zero byte followed by the\n"
			    "   record bytes,\n"
			    "     { printf '\\0'; jq -r .leaf_data p.json | base64 -d; } | sha256sum\n"
			    "   must print its \"leaf_hash\", and the \"inclusion\" hashes lead from it to\n"
			    "   \"root_hash\" as RFC 9162 section 2.1.3.2 describes (custos's PROOFS.md\n"
			    "   has a shell loop). \"root_hash\" and \"tree_size\" must be those of the\n"
			    "   checkpoint (its line 3 is the root in base64). The record bytes hold the\n"
			    "   message exactly as the messenger delivered it:\n"
			    "     jq -r .leaf_data p.json | base64 -d | strings\n", P);
	exp_file_printf(&f, "4. The custody record %sproof/custody.json is checked like step 3; its\n"
			    "   record holds the requester, the query and the selection SHA-256 of\n"
			    "   custody.txt, which you can recompute from the proofs:\n"
			    "     jq -j '\"\\(.seq) \\(.leaf_hash)\\n\"' %sproof/inclusion.jsonl |\n"
			    "       while read -r s h; do printf '%%016x%%s' \"$s\" \"$h\"; done | xxd -r -p | sha256sum\n",
			P, P);
	exp_file_puts(&f, "5. The package file as a whole: its SHA-256 is in the archive's log, in the\n"
			  "   \"produced\" record of this export, which the archive operator can prove\n"
			  "   to you like any other record.\n");
	return exp_file_close(&f);
}

int exp_render_readme(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	int rc = render_readme(s, sink, err);

	return rc ? rc : render_custody(s, sink, err);
}

/* ---- text files (DAT and EDRM) ---- */

int exp_render_text_files(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	char ctl[32], path[64];
	struct buf b;
	size_t i;
	int rc = 0;

	buf_init(&b, REC_MAX_BYTES * 3 + 16);
	for (i = 0; i < s->n && !rc; i++) {
		const struct exp_rec *r = &s->recs[i];
		struct exp_file f;

		exp_ctl(r->ctl, ctl);
		snprintf(path, sizeof(path), "text/%s.txt", ctl);
		buf_reset(&b);
		rc = exp_utf8_clean(&b, r->v.f[RF_BODY].ptr, r->v.f[RF_BODY].len);
		if (rc) {
			rc = cu_err_set(err, rc, "out of memory");
			break;
		}
		if (exp_file_open(&f, sink, path, err) != 0) {
			rc = f.rc;
			exp_file_abort(&f);
			break;
		}
		exp_file_put(&f, b.data, b.len);
		rc = exp_file_close(&f);
	}
	buf_release(&b);
	return rc;
}

/* ---- DAT ---- */

#define DAT_Q "\xc3\xbe"   /* þ, the text qualifier */
#define DAT_SEP "\x14"     /* ASCII 20, the field separator */
#define DAT_NL "\xc2\xae"  /* ®, a newline inside a field */

static const char *const dat_fields[] = {
	"CONTROL_NUMBER", "CUSTODIAN", "DATE_SENT", "TIME_SENT", "DATETIME_SENT_UTC", "FROM", "TO",
	"CONVERSATION", "PLATFORM", "RECORD_KIND", "EVENT_ID", "REPLY_TO", "THREAD", "TARGET",
	"ARCHIVE_SEQ", "HASH", "TEXT_PATH",
};

/* One field: qualified, with newlines as ®, þ and control characters
 * replaced (the format has no escape for them; the text file and the
 * proven record keep the exact text). */
static void dat_field(struct exp_file *f, const char *v, int first)
{
	const char *p = v, *run;

	if (!first)
		exp_file_puts(f, DAT_SEP);
	exp_file_puts(f, DAT_Q);
	for (run = p; *p; p++) {
		unsigned char c = (unsigned char)*p;
		const char *rep = NULL;
		size_t skip = 1;

		if (c == '\r' && p[1] == '\n') {
			rep = DAT_NL;
			skip = 2;
		} else if (c == '\r' || c == '\n') {
			rep = DAT_NL;
		} else if (c < 0x20 || c == 0x7F) {
			rep = " ";
		} else if (c == 0xC3 && (unsigned char)p[1] == 0xBE) {
			rep = "\xEF\xBF\xBD";
			skip = 2;
		}
		if (rep) {
			exp_file_put(f, run, (size_t)(p - run));
			exp_file_puts(f, rep);
			p += skip - 1;
			run = p + 1;
		}
	}
	exp_file_put(f, run, (size_t)(p - run));
	exp_file_puts(f, DAT_Q);
}

static void dat_rs(struct exp_file *f, const struct rec_str *s)
{
	char *v = exp_str(s);

	if (!v) {
		if (!f->rc)
			f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
		return;
	}
	dat_field(f, v, 0);
	free(v);
}

/* The recipients (a JSON array of strings) joined with "; ". */
static char *recipients_text(const struct rec_str *s)
{
	struct buf b;
	json_t *a;
	size_t i;
	int rc = 0;

	buf_init(&b, REC_MAX_BYTES * 3 + 16);
	a = s->len ? json_loadb(s->ptr, s->len, 0, NULL) : NULL;
	if (json_is_array(a)) {
		for (i = 0; i < json_array_size(a) && !rc; i++) {
			json_t *e = json_array_get(a, i);

			if (!json_is_string(e))
				continue;
			if (b.len)
				rc = buf_append_str(&b, "; ");
			if (!rc)
				rc = buf_append_str(&b, json_string_value(e));
		}
	} else if (s->len) {
		rc = exp_utf8_clean(&b, s->ptr, s->len);
	}
	json_decref(a);
	if (!rc)
		rc = buf_append(&b, "", 1);
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_take(&b, NULL);
}

int exp_render_dat(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	struct exp_file f;
	char ctl[32], iso[32], date[16], num[32], hex[65], tp[64];
	size_t i;

	if (exp_file_open(&f, sink, "loadfile.dat", err) != 0) {
		exp_file_abort(&f);
		return f.rc;
	}
	exp_file_puts(&f, "\xEF\xBB\xBF"); /* UTF-8 BOM: review platforms detect the encoding by it */
	for (i = 0; i < sizeof(dat_fields) / sizeof(dat_fields[0]); i++)
		dat_field(&f, dat_fields[i], i == 0);
	exp_file_puts(&f, "\r\n");
	for (i = 0; i < s->n && !f.rc; i++) {
		const struct exp_rec *r = &s->recs[i];
		char *to = recipients_text(&r->v.f[RF_RECIPIENTS]);

		if (!to) {
			f.rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			break;
		}
		exp_ctl(r->ctl, ctl);
		exp_time_iso(r->v.origin_ts, iso);
		exp_time_day(r->v.origin_ts, date);
		/* MM/DD/YYYY is what Concordance and Relativity expect in a date field. */
		snprintf(num, sizeof(num), "%.2s/%.2s/%.4s", date + 5, date + 8, date);
		dat_field(&f, ctl, 1);
		dat_rs(&f, &r->v.f[RF_SENDER]);
		dat_field(&f, num, 0);
		snprintf(num, sizeof(num), "%.8s", iso + 11);
		dat_field(&f, num, 0);
		dat_field(&f, iso, 0);
		dat_rs(&f, &r->v.f[RF_SENDER]);
		dat_field(&f, to, 0);
		free(to);
		dat_rs(&f, &r->v.f[RF_CONVERSATION]);
		dat_rs(&f, &r->v.f[RF_PLATFORM]);
		dat_field(&f, rec_kind_name(r->v.kind), 0);
		dat_rs(&f, &r->v.f[RF_EVENT_ID]);
		dat_rs(&f, &r->v.f[RF_REPLY_TO]);
		dat_rs(&f, &r->v.f[RF_THREAD]);
		dat_rs(&f, &r->v.f[RF_TARGET]);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r->seq);
		dat_field(&f, num, 0);
		hex_encode(r->leaf, HASH_LEN, hex);
		dat_field(&f, hex, 0);
		snprintf(tp, sizeof(tp), "text\\%s.txt", ctl);
		dat_field(&f, tp, 0);
		exp_file_puts(&f, "\r\n");
	}
	return exp_file_close(&f);
}

/* ---- EDRM XML 1.2 ---- */

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
	v = exp_str(s);
	if (!v) {
		if (!f->rc)
			f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
		return;
	}
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
	int c = rs_cmp(&a->v.f[RF_PLATFORM], plat);

	if (!c)
		c = rs_cmp(&a->v.f[RF_CONVERSATION], conv);
	if (!c)
		c = rs_cmp(&a->v.f[RF_EVENT_ID], id);
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
		char *to = recipients_text(&r->v.f[RF_RECIPIENTS]);
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

/* ---- BagIt tag files ---- */

int exp_render_bagit_txt(struct exp_sink *sink, struct cu_err *err)
{
	struct exp_file f;

	if (exp_file_open(&f, sink, "bagit.txt", err) != 0) {
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
	if (exp_file_open(&f, sink, "bag-info.txt", err) != 0) {
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

/* ---- dispatch ---- */

int exp_render_payload(const struct exp_set *s, struct exp_sink *sink, struct cu_err *err)
{
	int rc = 0;

	switch (s->meta.format) {
	case EXP_RSMF:
		rc = exp_render_rsmf(s, sink, err);
		break;
	case EXP_DAT:
		rc = exp_render_dat(s, sink, err);
		if (!rc)
			rc = exp_render_text_files(s, sink, err);
		break;
	case EXP_EDRM:
		rc = exp_render_edrm(s, sink, err);
		if (!rc)
			rc = exp_render_text_files(s, sink, err);
		break;
	case EXP_BAGIT:
		rc = exp_render_bagit_txt(sink, err);
		if (!rc)
			rc = exp_render_bag_payload(s, sink, err);
		break;
	default:
		rc = cu_err_set(err, CU_EINVAL, "unknown export format");
	}
	if (!rc)
		rc = exp_render_readme(s, sink, err);
	return rc;
}
