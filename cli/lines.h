/* lines.h - a line reader with a cap on line length, for JSON Lines input
 * (getline() would grow without bound on a line without a newline). */
#ifndef CUSTOS_CLI_LINES_H
#define CUSTOS_CLI_LINES_H

#include <stddef.h>
#include <stdio.h>

struct line_reader {
	FILE *f;           /* input */
	char *buf;         /* read buffer */
	size_t cap;        /* its size: max line length + 1 */
	size_t start, end; /* unread bytes are buf[start..end) */
	int eof;           /* 1 once f reported end of file */
	unsigned long long lineno; /* number of the line last returned */
};

int lines_init(struct line_reader *r, FILE *f, size_t max_line);
void lines_release(struct line_reader *r);
/* Returns 1 with line and len set (no newline; valid until the next call),
 * 0 at end of input, -1 on a read error, -2 if a line exceeds max_line. */
int lines_next(struct line_reader *r, const char **line, size_t *len);

#endif
