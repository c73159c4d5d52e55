/* readme.c - the two files every package has: README.txt (what is in it,
 * how to verify it) and custody.txt (the chain-of-custody statement).
 * docs/EXPORTS.md shows both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "export/export_int.h"

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
