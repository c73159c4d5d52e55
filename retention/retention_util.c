/* retention_util.c - the retention module's small helpers: durations, dates, names
 * of persons, appending a retention record, arrays. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <stdio.h>

#include "common/encode.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "retention/retention_int.h"

pthread_mutex_t ret_lock = PTHREAD_MUTEX_INITIALIZER;

int ret_duration_parse(const char *s, struct ret_duration *out, struct cu_err *err)
{
	unsigned long n = 0;
	size_t i = 0;

	if (!s)
		return cu_err_set(err, CU_EINVAL, "a retention period is required (like 30d, 6m, 10y)");
	while (isdigit((unsigned char)s[i]) && i < 5) {
		n = n * 10 + (unsigned long)(s[i] - '0');
		i++;
	}
	if (i == 0 || n == 0 || n > 1000 || !s[i] || s[i + 1] ||
	    !strchr("dwmy", s[i]))
		return cu_err_set(err, CU_EINVAL,
				  "'%s' is not a retention period: use a number from 1 to 1000 followed by"
				  " d (days), w (weeks), m (months) or y (years), like 30d, 6m, 10y", s);
	out->n = (uint32_t)n;
	out->unit = s[i];
	return 0;
}

void ret_duration_format(const struct ret_duration *d, char *out, size_t outlen)
{
	snprintf(out, outlen, "%u%c", d->n, d->unit);
}

/* Floor division for negative times (before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t ret_duration_add(int64_t ts_ms, const struct ret_duration *d)
{
	int64_t secs = floor_div(ts_ms, 1000), ms = ts_ms - secs * 1000;
	int64_t months, total;
	struct tm tm;
	time_t t = (time_t)secs;

	switch (d->unit) {
	/* saturating: a ts near INT64_MAX is never due, not due at once */
	case 'd': return time_add_sat(ts_ms, (int64_t)d->n * 86400000);
	case 'w': return time_add_sat(ts_ms, (int64_t)d->n * 7 * 86400000);
	case 'm': months = d->n; break;
	default: months = (int64_t)d->n * 12; break;
	}
	if (!gmtime_r(&t, &tm))
		return INT64_MAX; /* out of range: never due */
	total = (int64_t)tm.tm_year * 12 + tm.tm_mon + months;
	tm.tm_year = (int)floor_div(total, 12);
	tm.tm_mon = (int)(total - (int64_t)tm.tm_year * 12);
	if (tm.tm_mday > time_days_in_month((int64_t)tm.tm_year + 1900, tm.tm_mon + 1))
		tm.tm_mday = time_days_in_month((int64_t)tm.tm_year + 1900, tm.tm_mon + 1);
	t = timegm(&tm);
	if (t == (time_t)-1 && tm.tm_year > 0)
		return INT64_MAX; /* past what timegm can hold: never due */
	return time_add_sat(time_mul_sat((int64_t)t, 1000), ms);
}

const char *ret_action_name(enum ret_action a)
{
	switch (a) {
	case RET_DESTROY: return "destroy";
	case RET_TRANSFER: return "transfer";
	case RET_REVIEW: return "review";
	}
	return "?";
}

enum ret_action ret_action_from_name(const char *s)
{
	if (!s)
		return 0;
	if (!strcmp(s, "destroy"))
		return RET_DESTROY;
	if (!strcmp(s, "transfer"))
		return RET_TRANSFER;
	if (!strcmp(s, "review"))
		return RET_REVIEW;
	return 0;
}

int ret_parse_date(const char *s, int64_t *ms, int *date_only, struct cu_err *err)
{
	if (!s || time_parse_rfc3339(s, ms) != 0)
		return cu_err_set(err, CU_EINVAL, "'%s' is not a date: use YYYY-MM-DD or RFC 3339"
				  " (2024-05-01T12:00:00Z)", s ? s : "");
	if (date_only)
		*date_only = strlen(s) == 10;
	return 0;
}

int ret_check_text(const char *what, const char *s, size_t max, int optional, struct cu_err *err)
{
	size_t i, n;

	if (!s || !*s) {
		if (optional)
			return 0;
		return cu_err_set(err, CU_EINVAL, "%s is required", what);
	}
	n = strlen(s);
	if (n > max)
		return cu_err_set(err, CU_ETOOBIG, "%s is longer than %zu bytes", what, max);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return cu_err_set(err, CU_EINVAL, "%s contains a control character", what);
	}
	if (!utf8_check(s, n, 0, &i))
		return cu_err_set(err, CU_EINVAL, "%s is not valid UTF-8 (byte %zu)", what, i);
	return 0;
}

int ret_check_person(const char *by, struct cu_err *err)
{
	const char *p;
	int rc = ret_check_text("the acting person (--by)", by, RET_NAME_MAX, 0, err);

	if (rc)
		return rc;
	for (p = by; *p; p++)
		if (!isspace((unsigned char)*p))
			break;
	if (!*p || strchr(by, '\n') || strchr(by, '\t'))
		return cu_err_set(err, CU_EINVAL, "the acting person (--by) must be a name on one line");
	return 0;
}

/* Trims spaces off both ends: [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

int ret_same_person(const char *a, const char *b)
{
	size_t na, nb;

	if (!a || !b)
		return 0;
	na = strlen(a);
	nb = strlen(b);
	trim(&a, &na);
	trim(&b, &nb);
	return na == nb && strncasecmp(a, b, na) == 0;
}

int ret_grow(void **p, size_t *alloc, size_t n, size_t el)
{
	size_t na;
	void *q;

	if (n < *alloc)
		return 0;
	na = *alloc ? *alloc * 2 : 16;
	if (na > SIZE_MAX / el)
		return CU_ENOMEM;
	q = realloc(*p, na * el);
	if (!q)
		return CU_ENOMEM;
	memset((char *)q + *alloc * el, 0, (na - *alloc) * el);
	*p = q;
	*alloc = na;
	return 0;
}

int ret_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ret_u64_has(const uint64_t *v, size_t n, uint64_t x)
{
	return v && n && bsearch(&x, v, n, sizeof(*v), ret_u64_cmp) != NULL;
}

int ret_json_seqs(const json_t *arr, uint64_t **out, size_t *n)
{
	size_t i, cnt = json_array_size(arr);
	uint64_t *v;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return CU_ECORRUPT;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		return CU_ENOMEM;
	for (i = 0; i < cnt; i++) {
		json_t *x = json_array_get(arr, i);
		if (!json_is_integer(x) || json_integer_value(x) < 0) {
			free(v);
			return CU_ECORRUPT;
		}
		v[i] = (uint64_t)json_integer_value(x);
	}
	qsort(v, cnt, sizeof(*v), ret_u64_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

char *ret_meta_text(json_t *meta)
{
	/* Sorted keys and compact: one content has one text, the text that
	 * is stored (and, for certificates, signed). */
	return json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

int ret_append_text(struct store *st, unsigned kind, const char *meta_text, const char *body, const char *by,
		    int64_t now_ms, const char *auth, uint64_t *seq_out, struct cu_err *err)
{
	struct store_input in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.rec.kind = (uint8_t)kind;
	in.rec.origin_ts = now_ms;
	in.rec.received_ts = now_ms;
	rec_set(&in.rec, RF_PLATFORM, RET_PLATFORM);
	rec_set(&in.rec, RF_SOURCE, RET_SOURCE);
	rec_set(&in.rec, RF_SENDER, by);
	rec_set(&in.rec, RF_BODY, body);
	rec_set(&in.rec, RF_META, meta_text);
	if (auth)
		rec_set(&in.rec, RF_AUTH, auth);
	rc = store_append(st, &in, 1, err);
	if (rc == 0 && seq_out)
		*seq_out = in.seq;
	return rc;
}

int ret_append(struct store *st, unsigned kind, json_t *meta, const char *body, const char *by,
	       int64_t now_ms, const char *auth, uint64_t *seq_out, struct cu_err *err)
{
	char *text = NULL;
	int rc;

	if (json_object_set_new(meta, "v", json_integer(RET_FORMAT)) != 0 || !(text = ret_meta_text(meta)))
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	else
		rc = ret_append_text(st, kind, text, body, by, now_ms, auth, seq_out, err);
	free(text);
	return rc;
}

int ret_digest(const uint64_t *seqs, const uint8_t (*leaves)[HASH_LEN], size_t n, char hex[2 * HASH_LEN + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[HASH_LEN];
	char line[2 * HASH_LEN + 32], lh[2 * HASH_LEN + 1];
	unsigned int mdlen = 0;
	size_t i;
	int ok;

	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < n; i++) {
		int len;

		hex_encode(leaves[i], HASH_LEN, lh);
		len = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)seqs[i], lh);
		ok = EVP_DigestUpdate(ctx, line, (size_t)len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return CU_ECRYPTO;
	hex_encode(md, HASH_LEN, hex);
	return 0;
}
