/* mime.h - writing the RFC 5322 / MIME parts of an RSMF file (rsmf.c).
 * Output only: custos never parses MIME. Lines end in CRLF. Threads: no
 * state; the functions write to the caller's exp_file. */
#ifndef CUSTOS_EXPORT_MIME_H
#define CUSTOS_EXPORT_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "export/export_int.h"

/* "Name: value\r\n": printable ASCII is folded at spaces near 76 columns;
 * anything else (or a word over 900 characters) is written as RFC 2047
 * UTF-8 "B" encoded-words on folded lines. */
void mime_header(struct exp_file *f, const char *name, const char *value);
/* A mailbox with a display name and an empty address, as RSMF files carry
 * chat participants: "\"@anna:example.org\" <>" (or an encoded-word). */
void mime_address(struct exp_file *f, const char *display);
/* RFC 5322 date in UTC: "Mon, 01 Jan 2024 10:00:00 +0000". */
void mime_date(int64_t ms, char out[40]);
/* n bytes as base64 in 76-character lines, each ending in CRLF. */
void mime_base64_body(struct exp_file *f, const uint8_t *p, size_t n);

#endif
