#!/usr/bin/env python3
"""search_queries.py - the fixed query set of bench/bench_search.sh.

    search_queries.py MESSAGES.jsonl > queries.tsv

The words are fixed (the generator's vocabulary ranking does not depend on
the seed); what depends on the data is read from it: the most active and a
middling sender and conversation, a time window of a tenth of the span in
the middle, and a case number that occurs. Output, one query a line:

    name TAB category TAB custos query TAB PostgreSQL condition TAB tsquery

The PostgreSQL condition is the same question asked of the peer's table
(body, sender, conversation, ts columns; T stands for the indexed
expression to_tsvector('german', body)); the tsquery, empty for
metadata-only queries, feeds ts_headline for the snippets.
"""
import collections
import json
import re
import sys


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    senders = collections.Counter()
    convs = collections.Counter()
    ts_min, ts_max = None, None
    case_no = None
    case_re = re.compile(r"\bAZ \d{2}-\d{3}/\d{4}\b")
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            senders[m["sender"]] += 1
            convs[m["conversation"]] += 1
            ts = m["ts"]
            ts_min = ts if ts_min is None or ts < ts_min else ts_min
            ts_max = ts if ts_max is None or ts > ts_max else ts_max
            if case_no is None:
                hit = case_re.search(m.get("body", ""))
                if hit:
                    case_no = hit.group(0)
    top_sender = senders.most_common(1)[0][0]
    mid_sender = senders.most_common(len(senders))[len(senders) // 20][0]
    top_conv = convs.most_common(1)[0][0]
    mid_conv = convs.most_common(len(convs))[len(convs) // 10][0]
    span = ts_max - ts_min
    w0 = ts_min + span * 45 // 100
    w1 = w0 + span // 10

    def iso(ms):
        import datetime
        return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    T = "to_tsvector('german', body)"

    def plain(words):
        return "plainto_tsquery('german', %s)" % sql_str(words)

    def tsq(expr):
        return "to_tsquery('german', %s)" % sql_str(expr)

    def phrase(words):
        return "phraseto_tsquery('german', %s)" % sql_str(words)

    q = []

    def add(name, cat, custos, pg_cond, pg_tsq):
        q.append((name, cat, custos, pg_cond, pg_tsq))

    for name, word in (("common_word", "danke"), ("frequent_word", "Verwaltung"),
                       ("medium_word", "Bürgermeisterin"), ("rare_word", "Einbürgerungsausweis")):
        add(name, "word", word, "%s @@ %s" % (T, plain(word)), plain(word))
    add("two_words", "words", "Antrag Frist", "%s @@ %s" % (T, plain("Antrag Frist")), plain("Antrag Frist"))
    add("phrase", "phrase", '"vielen Dank"', "%s @@ %s" % (T, phrase("vielen Dank")), phrase("vielen Dank"))
    add("prefix", "prefix", "Antr*", "%s @@ %s" % (T, tsq("Antr:*")), tsq("Antr:*"))
    add("or", "or", "Antrag OR Bescheid", "%s @@ %s" % (T, tsq("Antrag | Bescheid")), tsq("Antrag | Bescheid"))
    add("not", "not", "Antrag -Frist", "%s @@ %s" % (T, tsq("Antrag & !Frist")), tsq("Antrag & !Frist"))
    if case_no:
        add("case_number", "identifier", '"%s"' % case_no, "%s @@ %s" % (T, phrase(case_no)), phrase(case_no))
    for name, s in (("sender_top", top_sender), ("sender_mid", mid_sender)):
        add(name + "_word", "sender", "from:%s danke" % s,
            "sender = %s AND %s @@ %s" % (sql_str(s), T, plain("danke")), plain("danke"))
        add(name + "_only", "sender", "from:%s" % s, "sender = %s" % sql_str(s), "")
    for name, c in (("conv_top", top_conv), ("conv_mid", mid_conv)):
        add(name + "_word", "conversation", "in:%s Antrag" % c,
            "conversation = %s AND %s @@ %s" % (sql_str(c), T, plain("Antrag")), plain("Antrag"))
        add(name + "_only", "conversation", "in:%s" % c, "conversation = %s" % sql_str(c), "")
    add("date_word", "date", "after:%s before:%s Antrag" % (iso(w0), iso(w1)),
        "ts >= %d AND ts < %d AND %s @@ %s" % (w0, w1, T, plain("Antrag")), plain("Antrag"))
    add("date_only", "date", "after:%s before:%s" % (iso(w0), iso(w1)), "ts >= %d AND ts < %d" % (w0, w1), "")
    add("platform_word", "platform", "platform:xmpp Verwaltung",
        "platform = 'xmpp' AND %s @@ %s" % (T, plain("Verwaltung")), plain("Verwaltung"))
    for row in q:
        for col in row:
            assert "\t" not in col and "\n" not in col
        print("\t".join(row))


if __name__ == "__main__":
    main()
