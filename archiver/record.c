/* record.c - encoding and decoding of record bytes (docs/FORMAT.md
 * "Record"): a fixed 60-byte header, then the present fields in ascending
 * tag order as tag (1 byte), length (LEB128 varint, shortest form only),
 * bytes. A field whose bytes lie inside the payload (a generic envelope's
 * unescaped strings) is written as a reference instead: the tag with
 * REC_TAG_REF set, then the offset and length in the payload as varints.
 * The body and ids would otherwise be stored, hashed and compressed twice.
 * Which form a field takes follows from where the view points, so decoding
 * and encoding again gives back the same bytes. */
#include "archiver/record.h"

#include <stdint.h>
#include <string.h>

#include "common/bytes.h"

/* Writes v as an unsigned LEB128 varint; returns its length (<= 5). */
static size_t varint_put(uint8_t *p, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads a shortest-form varint of at most 5 bytes; 0 on malformed input. */
static size_t varint_get(const uint8_t *p, size_t avail, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < avail && i < 5; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if ((i > 0 && p[i] == 0) || x > UINT32_MAX)
				return 0; /* not the shortest form, or too large */
			*v = (uint32_t)x;
			return i + 1;
		}
	}
	return 0;
}

/* The offset of f in the payload when its bytes lie inside it, else -1. */
static long payload_offset(const struct rec_view *v, unsigned f)
{
	uintptr_t q = (uintptr_t)v->f[f].ptr, lo = (uintptr_t)v->f[RF_PAYLOAD].ptr;
	size_t plen = v->f[RF_PAYLOAD].len;

	if (f == RF_PAYLOAD || !plen || q < lo || q - lo >= plen || v->f[f].len > plen - (q - lo))
		return -1;
	return (long)(q - lo);
}

#define REC_REF_LEN 11 /* a reference field: tag, length, offset */

size_t rec_encoded_size(const struct rec_view *v)
{
	size_t total = REC_HEADER_LEN;
	unsigned i;

	for (i = 1; i < RF_MAX_; i++)
		if (v->f[i].len) {
			if (v->f[i].len > REC_MAX_BYTES)
				return SIZE_MAX;
			total += payload_offset(v, i) >= 0 ? REC_REF_LEN : 6 + v->f[i].len;
		}
	return total;
}

int rec_encode(const struct rec_view *v, struct buf *out)
{
	uint8_t hdr[REC_HEADER_LEN];
	uint8_t tl[REC_REF_LEN];
	size_t start = out->len, total = rec_encoded_size(v), n;
	unsigned i;
	long off;
	int rc;

	if (total > REC_MAX_BYTES)
		return CU_ETOOBIG;
	hdr[0] = REC_VERSION;
	hdr[1] = v->kind;
	put_be16(hdr + 2, v->flags);
	put_be64(hdr + 4, v->seq);
	put_be64(hdr + 12, (uint64_t)v->origin_ts);
	put_be64(hdr + 20, (uint64_t)v->received_ts);
	memcpy(hdr + 28, v->salt, REC_SALT_LEN);
	rc = buf_reserve(out, total);
	if (rc)
		return rc;
	rc = buf_append(out, hdr, sizeof(hdr));
	for (i = 1; rc == 0 && i < RF_MAX_; i++) {
		if (!v->f[i].len)
			continue;
		off = payload_offset(v, i);
		if (off >= 0) {
			tl[0] = (uint8_t)(i | REC_TAG_REF);
			n = 1 + varint_put(tl + 1, (uint32_t)off);
			n += varint_put(tl + n, (uint32_t)v->f[i].len);
			rc = buf_append(out, tl, n);
			continue;
		}
		tl[0] = (uint8_t)i;
		rc = buf_append(out, tl, 1 + varint_put(tl + 1, (uint32_t)v->f[i].len));
		if (rc == 0)
			rc = buf_append(out, v->f[i].ptr, v->f[i].len);
	}
	if (rc)
		out->len = start;
	return rc;
}

int rec_decode(const uint8_t *p, size_t len, struct rec_view *v, struct cu_err *err)
{
	size_t off = REC_HEADER_LEN, vl, ol;
	unsigned last = 0, tag, refs = 0, i;
	uint32_t flen, roff[RF_MAX_];
	const struct rec_str *pl = &v->f[RF_PAYLOAD];

	memset(v, 0, sizeof(*v));
	if (len < REC_HEADER_LEN)
		return cu_err_set(err, CU_ECORRUPT, "record too short (%zu bytes)", len);
	if (p[0] != REC_VERSION)
		return cu_err_set(err, CU_ECORRUPT, "record version %u unknown", p[0]);
	v->kind = p[1];
	v->flags = get_be16(p + 2);
	v->seq = get_be64(p + 4);
	v->origin_ts = (int64_t)get_be64(p + 12);
	v->received_ts = (int64_t)get_be64(p + 20);
	memcpy(v->salt, p + 28, REC_SALT_LEN);
	while (off < len) {
		tag = p[off] & ~REC_TAG_REF;
		if (tag <= last || tag >= RF_MAX_ || ((p[off] & REC_TAG_REF) && tag == RF_PAYLOAD))
			return cu_err_set(err, CU_ECORRUPT, "record %llu: field tag %u out of order",
					  (unsigned long long)v->seq, p[off]);
		if (p[off] & REC_TAG_REF) { /* offset and length in the payload, checked below */
			ol = varint_get(p + off + 1, len - off - 1, &roff[tag]);
			vl = ol ? varint_get(p + off + 1 + ol, len - off - 1 - ol, &flen) : 0;
			if (!vl || flen == 0)
				return cu_err_set(err, CU_ECORRUPT, "record %llu: malformed reference in field %u",
						  (unsigned long long)v->seq, tag);
			v->f[tag].len = flen;
			refs |= 1u << tag;
			last = tag;
			off += 1 + ol + vl;
			continue;
		}
		vl = varint_get(p + off + 1, len - off - 1, &flen);
		if (!vl)
			return cu_err_set(err, CU_ECORRUPT, "record %llu: malformed field length",
					  (unsigned long long)v->seq);
		if (flen == 0 || flen > len - off - 1 - vl)
			return cu_err_set(err, CU_ECORRUPT, "record %llu: field %u length %u invalid",
					  (unsigned long long)v->seq, tag, flen);
		v->f[tag].ptr = (const char *)p + off + 1 + vl;
		v->f[tag].len = flen;
		last = tag;
		off += 1 + vl + flen;
	}
	for (i = 1; i < RF_MAX_; i++) {
		if (!(refs & (1u << i)))
			continue;
		if (roff[i] > pl->len || v->f[i].len > pl->len - roff[i])
			return cu_err_set(err, CU_ECORRUPT, "record %llu: field %u refers past the payload",
					  (unsigned long long)v->seq, i);
		v->f[i].ptr = pl->ptr + roff[i];
	}
	return 0;
}

void rec_set(struct rec_view *v, enum rec_field f, const char *s)
{
	v->f[f].ptr = s;
	v->f[f].len = s ? strlen(s) : 0;
}

static const char *const kind_names[64] = {
	[REC_MESSAGE] = "message",     [REC_EDIT] = "edit",
	[REC_REDACTION] = "redaction", [REC_REACTION] = "reaction",
	[REC_MEMBERSHIP] = "membership", [REC_STATE] = "state",
	[REC_ATTACHMENT] = "attachment", [REC_REJECTED] = "rejected",
	[REC_AUDIT] = "audit",
	[REC_HOLD] = "hold",           [REC_POLICY] = "policy",
	[REC_PLAN] = "plan",           [REC_APPROVAL] = "approval",
	[REC_DELETION] = "deletion",   [REC_EXPORT] = "export",
	[REC_CHECKPOINT] = "checkpoint", [REC_ADMIN] = "admin",
	[REC_OTHER] = "other",
};

const char *rec_kind_name(unsigned kind)
{
	if (kind < 64 && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

unsigned rec_kind_from_name(const char *name)
{
	unsigned i;

	for (i = 1; i < 64; i++)
		if (kind_names[i] && !strcmp(kind_names[i], name))
			return i;
	return 0;
}

static const char *const field_names[RF_MAX_] = {
	[RF_PLATFORM] = "platform", [RF_SOURCE] = "source",
	[RF_CONVERSATION] = "conversation", [RF_SENDER] = "sender",
	[RF_RECIPIENTS] = "recipients", [RF_EVENT_ID] = "id",
	[RF_REPLY_TO] = "reply_to", [RF_THREAD] = "thread",
	[RF_TARGET] = "target", [RF_BODY] = "body",
	[RF_PAYLOAD_TYPE] = "payload_type", [RF_PAYLOAD] = "payload",
	[RF_AUTH] = "auth", [RF_META] = "meta",
};

const char *rec_field_name(unsigned field)
{
	return field > 0 && field < RF_MAX_ ? field_names[field] : "?";
}
