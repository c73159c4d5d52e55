/* dat.c - the Concordance/Relativity DAT load file, loadfile.dat
 * (docs/EXPORTS.md "DAT"); its text files are text_files.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "export/export_int.h"

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
	char *v = exp_file_str(f, s);

	if (!v)
		return;
	dat_field(f, v, 0);
	free(v);
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
		char *to = exp_recipients_text(&r->v.f[RF_RECIPIENTS]);

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
