/* gen_messages.c - deterministic generator of realistic chat messages, for
 * the benchmarks and the integration tests.
 *
 * Writes JSON Lines of the generic ingest envelope, one message a line:
 *   {"platform":"matrix"|"xmpp"|"threema","conversation":...,"sender":...,
 *    "ts":<ms>,"id":...,"body":...,["reply_to":...,]["thread":...,]
 *    ["recipients":[...],]"kind":"message"}
 *
 * Why it looks the way it does:
 * - Search and storage figures only mean something on text with the
 *   statistics of real chat, so words come from a German vocabulary
 *   (administrative language with umlauts, ß, inflections and compounds)
 *   and an English one, each a few thousand words ranked by frequency and
 *   drawn with a Zipf distribution; message lengths follow a log-normal
 *   core with a heavy tail; case numbers, phone numbers, addresses, URLs
 *   and messenger ids are sprinkled in as officers would type them.
 * - Conversations and senders have Zipf-distributed activity, timestamps
 *   follow office hours with bursts inside one conversation, and some
 *   messages reply to or continue threads of earlier ones.
 * - Same options and seed -> byte-identical output: everything is drawn
 *   from one seeded xoshiro256** stream (not crypto; it does not need to be).
 * - It must write a million messages in a couple of seconds: sampling uses
 *   alias tables (O(1) per draw) and output goes through one big buffer.
 *
 * The vocabulary ranking does not depend on the seed, so "Antrag" is a
 * frequent word in every run; the seed changes everything else.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Word lists. The order of each list is its frequency rank.           */

/* German function words, particles and chat words, most frequent first. */
static const char *const de_function =
	"die der und ich das in zu nicht ist den sie es du wir ein eine dem mit auf für von an "
	"bei noch auch schon mal bitte danke ja nein aber oder wenn dass so wie was wer wo wann "
	"warum kann können muss müssen soll sollen sollte sollten will wollen möchte möchten darf "
	"dürfen könnte könnten müsste habe hast hat haben bin bist sind war waren wird werden "
	"wurde wurden würde würden wäre hätte hätten gibt gab geht ging heute morgen gestern jetzt "
	"gleich später dann da hier dort nur doch eben kurz gern gerne gut genau klar okay ok "
	"super prima leider vielleicht eigentlich natürlich bereits sofort bis zum zur im am vom "
	"beim über unter nach vor seit ohne gegen durch um aus als also denn weil ob sowie bzw. "
	"ggf. evtl. z.B. u.a. dazu davon dafür damit darüber darum deshalb trotzdem außerdem "
	"allerdings jedoch sondern sowohl einen einem einer eines kein keine keinen keiner mein "
	"meine meinen meiner dein deine sein seine seinen ihr ihre ihren ihrer unser unsere unseren "
	"euer Ihnen Ihr Ihre uns euch mich dich mir dir ihm ihn man jemand niemand alle alles "
	"etwas nichts viel viele mehr wenig einige beide andere anderen diese dieser dieses diesen "
	"jede jeder jeden welche welcher welches sehr ganz wieder immer nie oft manchmal fast etwa "
	"ungefähr rund circa mindestens höchstens zwei drei vier fünf sechs zehn zwölf zwanzig "
	"hundert Uhr Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag Januar Februar "
	"März April Mai Juni Juli August September Oktober November Dezember Frau Herr Herrn Hallo "
	"Moin Servus Grüße Gruß Dank Vielen Liebe Kollegen Kolleginnen zusammen dabei daher somit "
	"insbesondere nochmals bezüglich gemäß laut hinsichtlich aufgrund wegen innerhalb "
	"außerhalb zwischen neben hinter statt während per je pro sobald solange nachdem bevor "
	"obwohl falls damit selbst selber wohl eher lieber halt ja mal eh schon nun erst zuerst "
	"zuletzt danach vorher nachher inzwischen mittlerweile demnächst bald übermorgen vorgestern "
	"nachmittags vormittags abends morgens täglich heutige morgige";

/* German nouns: singular/plural/gender (m, f, n; w = weak masculine;
 * "-" = no plural). Administrative and office words first. */
static const char *const de_nouns =
	"Antrag/Anträge/m Bescheid/Bescheide/m Behörde/Behörden/f Termin/Termine/m "
	"Unterlage/Unterlagen/f Akte/Akten/f Frist/Fristen/f Straße/Straßen/f Amt/Ämter/n "
	"Formular/Formulare/n Verfahren/Verfahren/n Vorgang/Vorgänge/m Schreiben/Schreiben/n "
	"Stellungnahme/Stellungnahmen/f Genehmigung/Genehmigungen/f Zuständigkeit/Zuständigkeiten/f "
	"Widerspruch/Widersprüche/m Gebühr/Gebühren/f Rechnung/Rechnungen/f Zahlung/Zahlungen/f "
	"Nachweis/Nachweise/m Bescheinigung/Bescheinigungen/f Ausweis/Ausweise/m "
	"Anmeldung/Anmeldungen/f Abmeldung/Abmeldungen/f Meldung/Meldungen/f "
	"Mitteilung/Mitteilungen/f Entscheidung/Entscheidungen/f Prüfung/Prüfungen/f "
	"Vorlage/Vorlagen/f Sitzung/Sitzungen/f Besprechung/Besprechungen/f Protokoll/Protokolle/n "
	"Entwurf/Entwürfe/m Vermerk/Vermerke/m Verfügung/Verfügungen/f Weisung/Weisungen/f "
	"Anordnung/Anordnungen/f Verordnung/Verordnungen/f Gesetz/Gesetze/n Satzung/Satzungen/f "
	"Richtlinie/Richtlinien/f Vorschrift/Vorschriften/f Paragraf/Paragrafen/w Absatz/Absätze/m "
	"Ziffer/Ziffern/f Anlage/Anlagen/f Anhang/Anhänge/m Datei/Dateien/f Dokument/Dokumente/n "
	"Ordner/Ordner/m Postfach/Postfächer/n Nachricht/Nachrichten/f Anruf/Anrufe/m "
	"Rückruf/Rückrufe/m Rückfrage/Rückfragen/f Frage/Fragen/f Antwort/Antworten/f "
	"Auskunft/Auskünfte/f Hinweis/Hinweise/m Bitte/Bitten/f Auftrag/Aufträge/m "
	"Aufgabe/Aufgaben/f Referat/Referate/n Abteilung/Abteilungen/f Dezernat/Dezernate/n "
	"Sachgebiet/Sachgebiete/n Stelle/Stellen/f Dienststelle/Dienststellen/f Leitung/Leitungen/f "
	"Sachbearbeiter/Sachbearbeiter/m Sachbearbeiterin/Sachbearbeiterinnen/f "
	"Kollege/Kollegen/w Kollegin/Kolleginnen/f Mitarbeiter/Mitarbeiter/m "
	"Mitarbeiterin/Mitarbeiterinnen/f Bürger/Bürger/m Bürgerin/Bürgerinnen/f "
	"Antragsteller/Antragsteller/m Antragstellerin/Antragstellerinnen/f Empfänger/Empfänger/m "
	"Absender/Absender/m Vertreter/Vertreter/m Vertretung/Vertretungen/f Leiter/Leiter/m "
	"Leiterin/Leiterinnen/f Bürgermeister/Bürgermeister/m Bürgermeisterin/Bürgermeisterinnen/f "
	"Minister/Minister/m Ministerium/Ministerien/n Landkreis/Landkreise/m Gemeinde/Gemeinden/f "
	"Stadt/Städte/f Rathaus/Rathäuser/n Gericht/Gerichte/n Richter/Richter/m Anwalt/Anwälte/m "
	"Rechtsanwältin/Rechtsanwältinnen/f Klage/Klagen/f Urteil/Urteile/n Beschluss/Beschlüsse/m "
	"Einspruch/Einsprüche/m Beschwerde/Beschwerden/f Haushalt/Haushalte/m Mittel/Mittel/n "
	"Betrag/Beträge/m Summe/Summen/f Konto/Konten/n Steuer/Steuern/f Förderung/Förderungen/f "
	"Zuschuss/Zuschüsse/m Vertrag/Verträge/m Angebot/Angebote/n Ausschreibung/Ausschreibungen/f "
	"Vergabe/Vergaben/f Lieferung/Lieferungen/f Bestellung/Bestellungen/f "
	"Beschaffung/Beschaffungen/f Gebäude/Gebäude/n Raum/Räume/m Büro/Büros/n Zimmer/Zimmer/n "
	"Flur/Flure/m Schlüssel/Schlüssel/m Drucker/Drucker/m Rechner/Rechner/m Laptop/Laptops/m "
	"Bildschirm/Bildschirme/m Telefon/Telefone/n Handy/Handys/n Passwort/Passwörter/n "
	"Zugang/Zugänge/m Server/Server/m System/Systeme/n Fehler/Fehler/m Störung/Störungen/f "
	"Problem/Probleme/n Lösung/Lösungen/f Ticket/Tickets/n Update/Updates/n Version/Versionen/f "
	"Liste/Listen/f Tabelle/Tabellen/f Übersicht/Übersichten/f Bericht/Berichte/m "
	"Statistik/Statistiken/f Zahl/Zahlen/f Datum/Daten/n Uhrzeit/Uhrzeiten/f "
	"Zeitraum/Zeiträume/m Monat/Monate/m Woche/Wochen/f Tag/Tage/m Jahr/Jahre/n "
	"Urlaub/Urlaube/m Krankheit/Krankheiten/f Dienstreise/Dienstreisen/f "
	"Fortbildung/Fortbildungen/f Schulung/Schulungen/f Veranstaltung/Veranstaltungen/f "
	"Einladung/Einladungen/f Tagesordnung/Tagesordnungen/f Punkt/Punkte/m Thema/Themen/n "
	"Ergebnis/Ergebnisse/n Beispiel/Beispiele/n Grund/Gründe/m Fall/Fälle/m Stand/Stände/m "
	"Sache/Sachen/f Teil/Teile/m Weg/Wege/m Ort/Orte/m Adresse/Adressen/f "
	"Hausnummer/Hausnummern/f Postleitzahl/Postleitzahlen/f Wohnung/Wohnungen/f "
	"Grundstück/Grundstücke/n Baugenehmigung/Baugenehmigungen/f Bauplan/Baupläne/m "
	"Fläche/Flächen/f Nutzung/Nutzungen/f Parkplatz/Parkplätze/m Fahrzeug/Fahrzeuge/n "
	"Führerschein/Führerscheine/m Kennzeichen/Kennzeichen/n Reisepass/Reisepässe/m "
	"Personalausweis/Personalausweise/m Geburtsurkunde/Geburtsurkunden/f Urkunde/Urkunden/f "
	"Unterschrift/Unterschriften/f Stempel/Stempel/m Siegel/Siegel/n Kopie/Kopien/f "
	"Original/Originale/n Ausdruck/Ausdrucke/m Brief/Briefe/m Paket/Pakete/n Eingang/Eingänge/m "
	"Ausgang/Ausgänge/m Aktenzeichen/Aktenzeichen/n Geschäftszeichen/Geschäftszeichen/n "
	"Vorschlag/Vorschläge/m Änderung/Änderungen/f Ergänzung/Ergänzungen/f Korrektur/Korrekturen/f "
	"Freigabe/Freigaben/f Zustimmung/Zustimmungen/f Ablehnung/Ablehnungen/f "
	"Bearbeitung/Bearbeitungen/f Erledigung/Erledigungen/f Wiedervorlage/Wiedervorlagen/f "
	"Abstimmung/Abstimmungen/f Rückmeldung/Rückmeldungen/f Erinnerung/Erinnerungen/f "
	"Mahnung/Mahnungen/f Verzögerung/Verzögerungen/f Ausnahme/Ausnahmen/f Regel/Regeln/f "
	"Regelung/Regelungen/f Pflicht/Pflichten/f Recht/Rechte/n Datenschutz/-/m "
	"Aufbewahrung/-/f Löschung/Löschungen/f Archiv/Archive/n Akteneinsicht/Akteneinsichten/f "
	"Einsicht/Einsichten/f Schutz/-/m Sicherheit/Sicherheiten/f Gefahr/Gefahren/f "
	"Einsatz/Einsätze/m Feuerwehr/Feuerwehren/f Polizei/-/f Schule/Schulen/f Kita/Kitas/f "
	"Kind/Kinder/n Familie/Familien/f Person/Personen/f Mensch/Menschen/w Name/Namen/w "
	"Vorname/Vornamen/w Nachname/Nachnamen/w Größe/Größen/f Höhe/Höhen/f Maßnahme/Maßnahmen/f "
	"Maß/Maße/n Fuß/Füße/m Kenntnis/Kenntnisse/f Zeugnis/Zeugnisse/n Erlaubnis/Erlaubnisse/f "
	"Bedürfnis/Bedürfnisse/n Verständnis/-/n Bewerbung/Bewerbungen/f "
	"Stellenausschreibung/Stellenausschreibungen/f Einstellung/Einstellungen/f "
	"Kündigung/Kündigungen/f Gehalt/Gehälter/n Zulage/Zulagen/f Überstunde/Überstunden/f "
	"Arbeitszeit/Arbeitszeiten/f Homeoffice/-/n Kaffee/Kaffees/m Mittag/Mittage/m "
	"Pause/Pausen/f Feierabend/Feierabende/m Wochenende/Wochenenden/n Feiertag/Feiertage/m "
	"Haus/Häuser/n Tür/Türen/f Schluss/Schlüsse/m Beginn/-/m Ende/Enden/n Anfang/Anfänge/m "
	"Zeit/Zeiten/f Stunde/Stunden/f Minute/Minuten/f Landesamt/Landesämter/n "
	"Bundesamt/Bundesämter/n Ausländerbehörde/Ausländerbehörden/f Jobcenter/Jobcenter/n "
	"Finanzamt/Finanzämter/n Ordnungsamt/Ordnungsämter/n Bürgeramt/Bürgerämter/n "
	"Standesamt/Standesämter/n Jugendamt/Jugendämter/n Sozialamt/Sozialämter/n "
	"Gesundheitsamt/Gesundheitsämter/n Bauamt/Bauämter/n "
	"Einwohnermeldeamt/Einwohnermeldeämter/n Müll/-/m Abfall/Abfälle/m Lärm/-/m "
	"Baustelle/Baustellen/f Umleitung/Umleitungen/f Sperrung/Sperrungen/f Brücke/Brücken/f "
	"Übergabe/Übergaben/f Übernahme/Übernahmen/f Überprüfung/Überprüfungen/f "
	"Übersetzung/Übersetzungen/f Äußerung/Äußerungen/f Öffnungszeit/Öffnungszeiten/f "
	"Öffentlichkeit/-/f Meeting/Meetings/n Call/Calls/m Deadline/Deadlines/f "
	"Videokonferenz/Videokonferenzen/f Link/Links/m Kalender/Kalender/m Einladungslink/Einladungslinks/m "
	"Dienstausweis/Dienstausweise/m Dienstwagen/Dienstwagen/m Fahrtkosten/-/f "
	"Reisekosten/-/f Erstattung/Erstattungen/f Abrechnung/Abrechnungen/f Quittung/Quittungen/f "
	"Beleg/Belege/m Kasse/Kassen/f Überweisung/Überweisungen/f Kassenzeichen/Kassenzeichen/n "
	"Bußgeld/Bußgelder/n Verwarnung/Verwarnungen/f Anhörung/Anhörungen/f "
	"Zeuge/Zeugen/w Zeugin/Zeuginnen/f Ortstermin/Ortstermine/m Begehung/Begehungen/f "
	"Gutachten/Gutachten/n Gutachter/Gutachter/m Sachverständige/Sachverständigen/f "
	"Planfeststellung/Planfeststellungen/f Bebauungsplan/Bebauungspläne/m "
	"Flächennutzungsplan/Flächennutzungspläne/m Auflage/Auflagen/f Nebenbestimmung/Nebenbestimmungen/f "
	"Vollmacht/Vollmachten/f Einwilligung/Einwilligungen/f Datenschutzerklärung/Datenschutzerklärungen/f "
	"Auskunftsersuchen/Auskunftsersuchen/n Amtshilfe/-/f Zuständigkeitsbereich/Zuständigkeitsbereiche/m "
	"Einbürgerung/Einbürgerungen/f Aufenthaltstitel/Aufenthaltstitel/m Visum/Visa/n "
	"Duldung/Duldungen/f Wohngeld/-/n Elterngeld/-/n Kindergeld/-/n Bürgergeld/-/n "
	"Leistung/Leistungen/f Bedarf/-/m Bewilligung/Bewilligungen/f Rückforderung/Rückforderungen/f "
	"Ratenzahlung/Ratenzahlungen/f Stundung/Stundungen/f Säumniszuschlag/Säumniszuschläge/m "
	"Grundsteuer/-/f Gewerbesteuer/-/f Hundesteuer/-/f Gewerbe/Gewerbe/n Betrieb/Betriebe/m "
	"Firma/Firmen/f Unternehmen/Unternehmen/n Verein/Vereine/m Träger/Träger/m "
	"Kreistag/Kreistage/m Stadtrat/Stadträte/m Gemeinderat/Gemeinderäte/m Ausschuss/Ausschüsse/m "
	"Fraktion/Fraktionen/f Anfrage/Anfragen/f Beschlussvorlage/Beschlussvorlagen/f "
	"Pressemitteilung/Pressemitteilungen/f Presse/-/f Öffentlichkeitsarbeit/-/f "
	"Webseite/Webseiten/f Portal/Portale/n Onlinedienst/Onlinedienste/m Schnittstelle/Schnittstellen/f "
	"Digitalisierung/-/f E-Akte/E-Akten/f Scan/Scans/m Posteingang/Posteingänge/m "
	"Wartung/Wartungen/f Ausfall/Ausfälle/m Neustart/Neustarts/m Zugriff/Zugriffe/m "
	"Berechtigung/Berechtigungen/f Rolle/Rollen/f Benutzer/Benutzer/m Kennung/Kennungen/f "
	"Straßenbahn/Straßenbahnen/f Bus/Busse/m Zug/Züge/m Bahnhof/Bahnhöfe/m Stau/Staus/m "
	"Wetter/-/n Regen/-/m Schnee/-/m Hitze/-/f Kälte/-/f Heizung/Heizungen/f "
	"Fenster/Fenster/n Küche/Küchen/f Kantine/Kantinen/f Essen/-/n Geburtstag/Geburtstage/m "
	"Kuchen/Kuchen/m Glückwunsch/Glückwünsche/m Abschied/Abschiede/m Vertragsverlängerung/Vertragsverlängerungen/f";

/* German verbs: "inf" is regular; "pre-inf" is separable; "=1sg,2sg,3sg,
 * past,past-pl,pp" gives the forms of an irregular verb (without the
 * separable prefix). */
static const char *const de_verbs =
	"prüfen machen sagen fragen brauchen schicken klären melden bearbeiten erledigen erstellen "
	"bestätigen genehmigen beantragen beantworten benötigen bezahlen ergänzen ändern speichern "
	"drucken scannen kopieren informieren weiter-leiten ab-stimmen vor-bereiten fest-legen "
	"kontrollieren organisieren reservieren telefonieren diskutieren korrigieren archivieren "
	"digitalisieren veröffentlichen verlängern vereinbaren versuchen verwenden vermerken "
	"verteilen erinnern erwarten erklären ermitteln entschuldigen bestellen berichten beachten "
	"berücksichtigen bewerten bewilligen hoffen glauben kaufen warten arbeiten planen regeln "
	"zahlen zählen wählen aus-füllen hören gehören kümmern lösen öffnen überprüfen übermitteln "
	"übersetzen erläutern erfassen löschen nach-reichen ein-reichen an-melden ab-melden "
	"um-melden zu-stellen zurück-melden nach-fragen an-fragen mit-teilen fest-stellen "
	"her-stellen dar-stellen zu-ordnen auf-teilen ein-planen ab-sagen zu-sagen "
	"legen stellen suchen zeigen holen lernen leben wohnen nutzen teilen einigen "
	"gehen=gehe,gehst,geht,ging,gingen,gegangen "
	"kommen=komme,kommst,kommt,kam,kamen,gekommen "
	"sehen=sehe,siehst,sieht,sah,sahen,gesehen "
	"geben=gebe,gibst,gibt,gab,gaben,gegeben "
	"nehmen=nehme,nimmst,nimmt,nahm,nahmen,genommen "
	"finden=finde,findest,findet,fand,fanden,gefunden "
	"schreiben=schreibe,schreibst,schreibt,schrieb,schrieben,geschrieben "
	"lesen=lese,liest,liest,las,lasen,gelesen "
	"sprechen=spreche,sprichst,spricht,sprach,sprachen,gesprochen "
	"bringen=bringe,bringst,bringt,brachte,brachten,gebracht "
	"denken=denke,denkst,denkt,dachte,dachten,gedacht "
	"wissen=weiß,weißt,weiß,wusste,wussten,gewusst "
	"halten=halte,hältst,hält,hielt,hielten,gehalten "
	"lassen=lasse,lässt,lässt,ließ,ließen,gelassen "
	"liegen=liege,liegst,liegt,lag,lagen,gelegen "
	"stehen=stehe,stehst,steht,stand,standen,gestanden "
	"bleiben=bleibe,bleibst,bleibt,blieb,blieben,geblieben "
	"fahren=fahre,fährst,fährt,fuhr,fuhren,gefahren "
	"tragen=trage,trägst,trägt,trug,trugen,getragen "
	"helfen=helfe,hilfst,hilft,half,halfen,geholfen "
	"treffen=treffe,triffst,trifft,traf,trafen,getroffen "
	"beginnen=beginne,beginnst,beginnt,begann,begannen,begonnen "
	"verstehen=verstehe,verstehst,versteht,verstand,verstanden,verstanden "
	"erhalten=erhalte,erhältst,erhält,erhielt,erhielten,erhalten "
	"entscheiden=entscheide,entscheidest,entscheidet,entschied,entschieden,entschieden "
	"empfehlen=empfehle,empfiehlst,empfiehlt,empfahl,empfahlen,empfohlen "
	"besprechen=bespreche,besprichst,bespricht,besprach,besprachen,besprochen "
	"betreffen=betreffe,betriffst,betrifft,betraf,betrafen,betroffen "
	"verschieben=verschiebe,verschiebst,verschiebt,verschob,verschoben,verschoben "
	"unterschreiben=unterschreibe,unterschreibst,unterschreibt,unterschrieb,unterschrieben,unterschrieben "
	"übernehmen=übernehme,übernimmst,übernimmt,übernahm,übernahmen,übernommen "
	"überweisen=überweise,überweist,überweist,überwies,überwiesen,überwiesen "
	"schließen=schließe,schließt,schließt,schloss,schlossen,geschlossen "
	"bekommen=bekomme,bekommst,bekommt,bekam,bekamen,bekommen "
	"vergessen=vergesse,vergisst,vergisst,vergaß,vergaßen,vergessen "
	"bitten=bitte,bittest,bittet,bat,baten,gebeten "
	"rufen=rufe,rufst,ruft,rief,riefen,gerufen "
	"an-rufen=rufe,rufst,ruft,rief,riefen,gerufen "
	"zurück-rufen=rufe,rufst,ruft,rief,riefen,gerufen "
	"ein-tragen=trage,trägst,trägt,trug,trugen,getragen "
	"vor-liegen=liege,liegst,liegt,lag,lagen,gelegen "
	"ab-geben=gebe,gibst,gibt,gab,gaben,gegeben "
	"an-geben=gebe,gibst,gibt,gab,gaben,gegeben "
	"frei-geben=gebe,gibst,gibt,gab,gaben,gegeben "
	"weiter-geben=gebe,gibst,gibt,gab,gaben,gegeben "
	"nach-sehen=sehe,siehst,sieht,sah,sahen,gesehen "
	"auf-nehmen=nehme,nimmst,nimmt,nahm,nahmen,genommen "
	"teil-nehmen=nehme,nimmst,nimmt,nahm,nahmen,genommen "
	"an-bieten=biete,bietest,bietet,bot,boten,geboten "
	"aus-fallen=falle,fällst,fällt,fiel,fielen,gefallen "
	"ein-laden=lade,lädst,lädt,lud,luden,geladen "
	"vor-schlagen=schlage,schlägst,schlägt,schlug,schlugen,geschlagen "
	"fest-halten=halte,hältst,hält,hielt,hielten,gehalten";

/* German adjectives (uninflected stem; endings are generated). */
static const char *const de_adjs =
	"zuständig wichtig dringend neu alt aktuell richtig falsch möglich nötig notwendig "
	"erforderlich vollständig unvollständig offen erledigt gültig ungültig öffentlich "
	"dienstlich privat persönlich schriftlich mündlich elektronisch digital zusätzlich nächst "
	"letzt erst zweit gleich ähnlich verschieden einfach schwierig klar unklar kurz lang groß "
	"klein niedrig schnell langsam früh spät rechtzeitig pünktlich fristgerecht zeitnah "
	"vorläufig endgültig bisherig künftig jährlich monatlich wöchentlich allgemein besonder "
	"sicher unsicher frei belegt verfügbar erreichbar krank gesund schön schlecht besser voll "
	"leer rechtlich fachlich technisch organisatorisch finanziell personell städtisch kommunal "
	"staatlich zentral regional örtlich förmlich formlos kostenlos kostenpflichtig "
	"gebührenpflichtig rechtskräftig bestandskräftig zulässig unzulässig begründet unbegründet "
	"berechtigt verantwortlich beteiligt betroffen vertraulich geheim intern extern eigen fremd "
	"deutsch europäisch ausländisch müde froh dankbar freundlich höflich ärgerlich schwer leicht "
	"günstig billig wahr nett lieb genehmigt abgelehnt geprüft unterschrieben eingegangen "
	"übermittelt gespeichert gelöscht verschoben abgesagt zugestellt fällig überfällig gesamt "
	"übrig gemeinsam verbindlich unverbindlich ausführlich kurzfristig langfristig mittelfristig "
	"grundsätzlich ordnungsgemäß sachlich inhaltlich zügig umgehend ausreichend unklar";

/* Parts of German compounds: modifiers (with linking s where German uses
 * one) and heads (lower case, with plural or "-"). */
static const char *const de_comp_mods =
	"Bau Steuer Personal Haushalts Verwaltungs Bürger Melde Wohn Gewerbe Kinder Eltern Fahrzeug "
	"Sozial Jugend Gesundheits Ordnungs Umwelt Verkehrs Schul Kita Sitzungs Antrags Akten Frist "
	"Daten Rechts Dienst Fach Landes Bundes Stadt Kreis Gemeinde Grund Miet Arbeits Urlaubs Reise "
	"Förder Vergabe Prüf Zahlungs Einwohner Ausländer Aufenthalts Einbürgerungs Wahl Straßen "
	"Müll Wasser Energie Haus Termin Post Zustell Widerspruchs Genehmigungs Gebühren Ausweis "
	"Pass Führungs Sicherheits Brand Kontroll Lösch Archiv Vorgangs Geschäfts Sach Mitarbeiter "
	"Beschwerde Öffentlichkeits Büro Rats Ausschuss Jahres Monats Wochen Haupt Neben Sonder";
static const char *const de_comp_heads =
	"antrag/anträge bescheid/bescheide amt/ämter stelle/stellen verfahren/verfahren "
	"frist/fristen unterlage/unterlagen akte/akten ordnung/ordnungen recht/rechte "
	"gesetz/gesetze plan/pläne planung/planungen leiter/leiter leiterin/leiterinnen "
	"nummer/nummern kosten/- vertrag/verträge behörde/behörden bericht/berichte "
	"prüfung/prüfungen genehmigung/genehmigungen verordnung/verordnungen formular/formulare "
	"termin/termine gebühr/gebühren zeit/zeiten wesen/- bereich/bereiche referat/referate "
	"abteilung/abteilungen konzept/konzepte vorlage/vorlagen protokoll/protokolle liste/listen "
	"übersicht/übersichten änderung/änderungen verlängerung/verlängerungen erhöhung/erhöhungen "
	"ausschuss/ausschüsse sitzung/sitzungen mittel/mittel bescheinigung/bescheinigungen "
	"nachweis/nachweise pflicht/pflichten schutz/- daten/- register/register kasse/kassen "
	"verwaltung/verwaltungen angelegenheit/angelegenheiten vorgang/vorgänge sache/sachen "
	"fall/fälle beitrag/beiträge zuschuss/zuschüsse bedarf/- kontrolle/kontrollen "
	"system/systeme postfach/postfächer gebäude/gebäude raum/räume ausweis/ausweise "
	"karte/karten schein/scheine zeugnis/zeugnisse gespräch/gespräche anfrage/anfragen "
	"meldung/meldungen team/teams gruppe/gruppen";

/* English function and chat words, most frequent first. */
static const char *const en_function =
	"the to I and a you it is of for that on in we this be have with are can not will just so "
	"do at if but or me my your our they he she it's I'm don't can't we're that's there here "
	"what when where who how why which all any some no yes ok okay thanks thank please pls "
	"sorry hi hey hello morning today tomorrow yesterday now later soon already still also too "
	"very really quite maybe probably sure great good fine cool np btw fyi asap lol up out about "
	"from by as an was were been has had did does would could should might must need get got "
	"go going let know think see look make take send check like want one two three four five "
	"ten first next last new other more most much many few each every both again then than "
	"only even back over after before until since because while through into around during "
	"without within between against same own such these those them him her his its their us "
	"am let's I'll we'll you'll I've we've isn't aren't wasn't doesn't didn't won't couldn't "
	"shouldn't there's here's what's Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
	"January February March April May June July August September October November December "
	"everyone anyone someone something anything nothing everything guys folks team all";

/* English nouns: "sing" (regular plural) or "sing/plural" or "sing/-". */
static const char *const en_nouns =
	"meeting document file report request application form deadline case issue ticket update "
	"email message call phone number address account password access system server team office "
	"department manager colleague customer citizen client user member person/people child/children "
	"agenda note draft version copy letter package payment invoice fee budget cost contract "
	"offer order delivery approval decision review feedback question answer problem solution "
	"plan project task schedule calendar appointment room building desk printer laptop screen "
	"link folder attachment signature stamp record archive policy rule regulation law court "
	"judge lawyer complaint appeal permit licence notice reminder summary list table chart "
	"figure data/- database backup log error bug feature release test result status progress "
	"change week month year day hour minute afternoon evening night weekend holiday vacation "
	"trip conference training workshop session presentation slide handout lunch coffee break "
	"time place city council mayor minister ministry agency authority staff/- employee applicant "
	"recipient sender reference topic point item detail example reason way thing part side group "
	"step process procedure workflow template format page section paragraph line word name "
	"surname date extension exception car vehicle parking street road bridge school kid family "
	"house home flat apartment stuff/- info/- information/- guy/guys boss/bosses lead director "
	"head unit division board committee hearing evidence witness statement certificate card "
	"badge key lock door floor kitchen canteen cake birthday party farewell welcome inbox "
	"outbox thread channel chat video camera microphone headset network wifi vpn login "
	"account/accounts session/sessions browser website portal service interface integration "
	"migration outage incident alert warning risk audit audit/audits compliance retention "
	"deletion hold matter custodian export import request/requests budget/budgets quarter "
	"target goal priority status/statuses milestone sprint backlog roadmap estimate quote "
	"supplier vendor partner stakeholder citizen/citizens resident visitor guest caller "
	"volunteer intern trainee newbie contractor consultant expert specialist officer clerk "
	"secretary assistant receptionist driver technician admin administrator developer "
	"tester analyst auditor inspector counsel advisor spokesperson press journalist article "
	"post comment reply thumbs emoji photo picture scan pdf spreadsheet doc slide/slides "
	"deck memo minutes/- transcript recording invite invitation reminder/reminders "
	"morning/mornings afternoon/afternoons lunchtime weekday town village district county "
	"region state country government parliament election vote voter candidate campaign "
	"party/parties union association charity club church hospital clinic doctor nurse patient "
	"ambulance police/- officer/officers firefighter fire emergency accident injury insurance "
	"claim benefit pension salary wage tax/taxes refund receipt bill debt loan grant fund "
	"account/accounts bank transfer/transfers card/cards cash/- check/checks price discount "
	"sale shop store market supermarket restaurant cafe hotel airport station train bus/buses "
	"taxi bike ticket/tickets flight luggage passport visa border permit/permits licence/licences "
	"registration birth marriage death divorce adoption certificate/certificates identity "
	"citizenship residence tenant landlord rent lease property land plot construction "
	"renovation repair maintenance heating water electricity gas waste garbage recycling "
	"noise traffic jam road/roads lane sidewalk crossing light signal sign/signs bridge/bridges "
	"tunnel park playground garden tree river lake beach weather rain snow storm flood heat "
	"summer winter spring autumn season month/months year/years decade century history "
	"future past present moment second/seconds while/- period phase stage level degree "
	"amount total average percentage rate share majority minority number/numbers digit "
	"size length width height weight volume area space distance speed direction north south "
	"east west centre center corner edge top bottom middle front inside outside surface "
	"shape color colour font style layout design draft/drafts sketch idea concept proposal "
	"suggestion recommendation opinion view comment/comments remark objection concern doubt "
	"fact truth lie mistake error/errors fault failure success win loss gain advantage "
	"benefit/benefits disadvantage chance opportunity option choice alternative solution/solutions "
	"answer/answers response reaction effect impact consequence cause source origin purpose "
	"aim intention interest attention effort energy power force pressure stress tension "
	"conflict dispute argument discussion debate negotiation agreement deal arrangement "
	"commitment promise guarantee warranty condition requirement standard/standards quality "
	"quantity value/values cost/costs expense expenditure income revenue profit budget/- "
	"finance finances/- economy industry business company firm organisation organization "
	"institution foundation network/networks community society public/- population people/- "
	"crowd audience participant attendee speaker host chair chairperson secretary/secretaries "
	"treasurer president vice deputy substitute replacement successor predecessor colleague/colleagues "
	"friend neighbour neighbor partner/partners husband wife parent mother father son daughter "
	"brother sister baby teenager adult student teacher pupil class lesson course exam grade "
	"degree/degrees university college library museum theatre cinema concert festival event "
	"game match sport football team/teams player coach fan ticket/- seat row queue line/lines "
	"number/- keyboard mouse monitor cable charger battery plug socket adapter device gadget "
	"app application/applications tool/tools program software/- hardware/- firmware/- patch "
	"fix/fixes upgrade downgrade setting/settings option/options preference profile avatar "
	"notification alert/alerts badge/badges icon button menu tab window page/pages site/sites "
	"domain address/addresses port host hostname certificate/- token secret key/keys "
	"encryption signature/signatures hash checksum proof/proofs seal checkpoint segment "
	"index query search filter result/results hit/hits match/matches";

/* English verbs: "base" regular, "base+" doubles its final consonant,
 * "base=3sg,past,pp,ing" irregular. */
static const char *const en_verbs =
	"ask call check confirm email file finish fix forward handle help join look move need open "
	"print sign start submit+ talk update upload download wait want work add approve attach book "
	"cancel change close complete contact create delete discuss edit explain fill follow hand "
	"include inform invite list mention miss note offer order pass post prepare process provide "
	"receive remember remind report save scan+ share solve suggest try turn use visit agree "
	"answer apply arrange assign clarify collect compare consider decide deliver expect extend "
	"happen hope like love manage notice organize prefer+ push reach record register reject "
	"remove rename replace require reschedule respond return sort stay store support test track "
	"transfer+ verify escalate plan+ stop+ drop+ chat+ log+ ship+ fit+ review archive export "
	"import approve block unblock restart reboot install configure deploy migrate backup "
	"restore monitor notify ping mute text print scan delay postpone confirm appreciate "
	"apologize welcome thank travel attend present prepare summarize document schedule "
	"send=sends,sent,sent,sending get=gets,got,gotten,getting go=goes,went,gone,going "
	"make=makes,made,made,making take=takes,took,taken,taking see=sees,saw,seen,seeing "
	"know=knows,knew,known,knowing think=thinks,thought,thought,thinking "
	"come=comes,came,come,coming give=gives,gave,given,giving find=finds,found,found,finding "
	"tell=tells,told,told,telling say=says,said,said,saying write=writes,wrote,written,writing "
	"read=reads,read,read,reading leave=leaves,left,left,leaving meet=meets,met,met,meeting "
	"pay=pays,paid,paid,paying forget=forgets,forgot,forgotten,forgetting "
	"understand=understands,understood,understood,understanding "
	"bring=brings,brought,brought,bringing buy=buys,bought,bought,buying "
	"hold=holds,held,held,holding keep=keeps,kept,kept,keeping put=puts,put,put,putting "
	"set=sets,set,set,setting run=runs,ran,run,running begin=begins,began,begun,beginning "
	"mean=means,meant,meant,meaning show=shows,showed,shown,showing "
	"speak=speaks,spoke,spoken,speaking feel=feels,felt,felt,feeling lose=loses,lost,lost,losing "
	"sit=sits,sat,sat,sitting stand=stands,stood,stood,standing lead=leads,led,led,leading "
	"build=builds,built,built,building spend=spends,spent,spent,spending "
	"choose=chooses,chose,chosen,choosing break=breaks,broke,broken,breaking "
	"drive=drives,drove,driven,driving eat=eats,ate,eaten,eating drink=drinks,drank,drunk,drinking "
	"sleep=sleeps,slept,slept,sleeping wake=wakes,woke,woken,waking fly=flies,flew,flown,flying "
	"grow=grows,grew,grown,growing draw=draws,drew,drawn,drawing hear=hears,heard,heard,hearing "
	"sell=sells,sold,sold,selling teach=teaches,taught,taught,teaching catch=catches,caught,caught,catching "
	"fight=fights,fought,fought,fighting win=wins,won,won,winning feed=feeds,fed,fed,feeding "
	"cut=cuts,cut,cut,cutting hit=hits,hit,hit,hitting shut=shuts,shut,shut,shutting "
	"let=lets,let,let,letting quit=quits,quit,quit,quitting lend=lends,lent,lent,lending "
	"deal=deals,dealt,dealt,dealing rise=rises,rose,risen,rising fall=falls,fell,fallen,falling "
	"hang=hangs,hung,hung,hanging throw=throws,threw,thrown,throwing "
	"wear=wears,wore,worn,wearing tear=tears,tore,torn,tearing "
	"accept access achieve act adapt adjust admit adopt advise affect afford aim allow alter "
	"analyse announce anticipate appear appoint assess assist assume assure attempt authorize "
	"avoid balance base bear believe belong benefit borrow bother brief browse calculate care "
	"carry cause celebrate challenge charge chase clean clear climb coordinate comment commit+ "
	"communicate compile complain concern conclude conduct connect consult contain continue "
	"contribute control+ convert convince copy correct count cover cross cry damage debug "
	"declare decline decrease define demand deny depend describe deserve design desire detect "
	"determine develop differ discover display distribute divide double doubt drag+ dress earn "
	"edit+ emphasize employ enable encourage end enjoy ensure enter establish estimate evaluate "
	"examine exchange exclude exist expand experience explore express face fail fear figure "
	"finalize flag+ focus force form frame gather generate grant greet guarantee guess guide "
	"hate head hide identify ignore illustrate imagine implement imply improve increase "
	"indicate influence insist inspect install+ instruct intend introduce investigate involve "
	"issue jump justify kick kill knock label land last laugh launch lack lift limit link "
	"listen live locate lock maintain mark matter measure mind mix modify name negotiate nod+ "
	"object observe obtain occur operate oppose own paint participate perform permit+ pick "
	"place play point possess predict present preserve press pretend prevent print proceed "
	"produce promise promote propose protect prove publish pull purchase pursue qualify query "
	"question quote raise rate realize recognize recommend recover reduce refer+ reflect refuse "
	"regard relate relax release rely repeat represent request rescue reserve resolve rest "
	"result retain retire reveal revise ring risk rush satisfy search secure seek select "
	"separate serve settle shape shift sit slip+ smile specify split+ spread stand state step+ "
	"stick strike study succeed suffer suit supply suppose surprise survive suspect switch "
	"tackle target tend thank threaten tick touch train transform translate treat trust "
	"undergo unite unlock vary view vote walk warn wash watch wish wonder worry wrap+";

/* English adjectives and adverbs: "adj" uninflected, "adj^" compared
 * regularly (-er, -est), "adj=comparative,superlative" irregular. */
static const char *const en_adjs =
	"new^ old^ good=better,best bad=worse,worst great^ big=bigger,biggest small^ short^ long^ quick^ fast^ slow^ early^ late^ urgent important "
	"final current next previous available busy^ free open closed ready done complete missing "
	"wrong right correct clear^ possible necessary required official internal external public "
	"private personal legal formal simple^ easy^ hard^ difficult happy^ nice^ latest updated pending "
	"approved rejected signed valid invalid due overdue local general special main major minor "
	"recent monthly weekly daily annual yearly digital online offline secure safe^ confidential "
	"sensitive standard specific different similar whole entire additional extra separate "
	"actual real likely unlikely helpful useful quiet^ broken responsible relevant outdated "
	"temporary permanent manual automatic quickly exactly currently finally recently usually "
	"actually basically hopefully unfortunately apparently directly separately officially "
	"already definitely absolutely totally completely briefly shortly again otherwise instead "
	"awesome perfect fantastic terrible weird^ strange^ funny^ tired sick glad "
	"able aware absent present active passive acceptable accurate adequate administrative "
	"advanced alternative angry anonymous apparent appropriate approximate average basic "
	"beautiful blank blue red green yellow black white grey brief bright^ brilliant busy "
	"calm^ careful central certain cheap^ civil clean^ clever close^ cold^ comfortable common "
	"competent complex comprehensive concerned consistent constant correct critical "
	"crucial curious dangerous dark^ dead dear decent deep^ defective democratic dependent "
	"desperate detailed direct dirty distinct double dry dull eager electronic eligible "
	"empty equal essential eventual exact excellent excited exclusive expensive explicit "
	"fair^ false familiar famous federal fine firm flexible foreign fresh^ friendly frequent "
	"full fundamental funny generous gentle genuine global grateful guilty handy harsh "
	"healthy heavy^ hidden high^ historic honest hot=hotter,hottest huge^ human ideal illegal immediate "
	"incomplete incorrect independent individual informal initial innocent instant "
	"intelligent interested interesting international irrelevant joint junior key kind "
	"large^ lazy light^ limited live logical loose loud^ lovely low^ lucky^ mandatory marginal "
	"mental mere military minimal mobile modern modest municipal mutual narrow^ national "
	"native natural neat^ negative nervous neutral normal notable numerous obvious occasional "
	"odd opposite optional ordinary original outstanding overall painful parallel partial "
	"particular patient peaceful physical plain^ pleasant polite political poor^ popular "
	"positive powerful practical precise pregnant preliminary premium pretty^ primary prior "
	"productive professional proper proud provisional punctual pure rapid rare^ rational raw "
	"reasonable regional regular related reliable remote rich^ rough^ routine rude rural sad "
	"satisfied scared senior serious severe sharp^ significant silent silly^ similar sincere "
	"single slight smart^ smooth social soft^ solid sorry sound spare stable steady strict^ "
	"strong^ stupid subsequent substantial sudden sufficient suitable super suspicious "
	"technical terrific thick^ thin^ tight^ tiny^ tough^ traditional transparent tricky^ typical "
	"ugly unable unaware uncertain unclear unexpected unfair unhappy unknown unusual upset "
	"urban usual various vast visible vital voluntary warm^ weak^ wide^ wild^ wise wonderful "
	"worried worth young^";

/* Person names: German and other names common in German offices, and
 * English ones. Used for sender ids, mentions and e-mail addresses. */
static const char *const first_names =
	"Anna Maria Julia Laura Lena Sarah Lisa Katharina Johanna Sophie Hannah Lea Marie "
	"Christina Sabine Petra Claudia Andrea Susanne Stefanie Nicole Birgit Ute Monika Jürgen "
	"Thomas Michael Andreas Stefan Frank Peter Klaus Wolfgang Uwe Jörg Jens Markus Matthias "
	"Christian Tobias Florian Jan Lukas Felix Jonas Paul Maximilian Alexander Daniel Sebastian "
	"Tim Björn Sören Günter Dieter Horst Renate Gisela Ingrid Bärbel Jörn Ömer Ayşe Mehmet "
	"Elif Fatma Ali Olga Natalia Piotr Agnieszka Ivana Luca Giulia Helga Käthe Gerd Heinz "
	"Torsten Kerstin Anja Silke Heike Dörte Maik Sven Nils Malte Frauke Wiebke Jutta "
	"James John Robert David William Richard Joseph Emma Olivia Sophia Emily Grace Chloe "
	"Jessica Kate Tom Ben Sam Alex Chris Rachel Megan Liam Noah Ethan Zoe Ruth";
static const char *const last_names =
	"Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
	"Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
	"Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler "
	"Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn "
	"Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann "
	"Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt "
	"Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich "
	"Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer "
	"Yılmaz Kaya Demir Şahin Nowak Kowalski Rossi Petrović Öztürk Großmann Strauß Weißenborn "
	"Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
	"Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis Mitchell Cooper";

/* Short chat replies that make up a share of all messages. */
static const char *const de_canned[] = {
	"ok", "Ok, danke!", "Danke!", "Danke dir", "Vielen Dank!", "Passt.", "Mach ich.",
	"Bin dran.", "Erledigt.", "Ja", "Nein", "Gern!", "Super, danke!", "\xf0\x9f\x91\x8d",
	"Bis gleich", "Bin gleich da", "Kurze Frage:", "Moin!", "Guten Morgen!", "Mahlzeit!",
	"Schönes Wochenende!", "Alles klar.", "Verstanden.", "Kein Problem.",
	"Sorry, bin im Termin.", "Rufe gleich zurück.", "Bin heute im Homeoffice.",
	"Ich schau's mir an.", "Gute Besserung!", "Stimmt.", "Genau so.", "Hab's gefunden.",
	"Bin raus für heute.", "Wer übernimmt?", "Ist das schon raus?", "Läuft.", "Jup",
};
static const char *const en_canned[] = {
	"ok", "Thanks!", "thx", "Sounds good.", "Will do.", "Done.", "On it.", "Yes", "No",
	"Sure!", "\xf0\x9f\x91\x8d", "brb", "Good morning!", "lol", "Got it.", "No problem.",
	"Sorry, in a meeting.", "Call you back in 5.", "Working from home today.",
	"I'll take a look.", "Get well soon!", "True.", "Exactly.", "Found it.",
	"Heading out for today.", "Who's taking this?", "Has this gone out yet?", "yep",
};
static const char *const emojis[] = {
	"\xf0\x9f\x91\x8d", "\xf0\x9f\x99\x82", "\xf0\x9f\x98\x8a", "\xf0\x9f\x99\x8f",
	"\xf0\x9f\x91\x8c", "\xf0\x9f\x98\x85", "\xe2\x9c\x85", "\xe2\x9d\x97",
	"\xf0\x9f\x8e\x89", "\xe2\x98\x95", "\xf0\x9f\x98\x82", "\xf0\x9f\xa4\x94",
};
/* Lower-case ASCII words for URL paths and room names. */
static const char *const url_words[] = {
	"formulare", "antrag", "service", "download", "dokumente", "wiki", "intranet", "akten",
	"termine", "buergerservice", "vorlagen", "protokolle", "projekte", "hilfe", "faq",
	"datenschutz", "kontakt", "news", "display", "share", "docs", "meeting", "tickets",
	"browse", "files", "sitzungen", "haushalt", "personal", "bauamt", "ordnungsamt",
};
static const char *const room_names[] = {
	"bauamt", "referat-21", "buergerbuero", "it-service", "leitung", "pressestelle",
	"haushalt", "personalrat", "krisenstab", "ordnungsamt", "digitalisierung", "support",
	"team-nord", "team-sued", "poststelle", "standesamt", "jugendamt", "kaemmerei",
	"rechtsamt", "vergabestelle", "registratur", "stadtrat", "ausschuss-bau", "it-sicherheit",
	"datenschutz", "gebaeudemanagement", "fuhrpark", "kita-verwaltung", "wahlamt", "kantine",
};
static const char *const matrix_domains[] = {
	"example.org", "stadt.example", "bund.example", "verwaltung.example",
};
static const char *const xmpp_domains[] = {
	"example.org", "xmpp.example.com", "land.example", "kreis.example",
};
static const char *const mail_domains[] = {
	"example.org", "stadt.example", "example.com", "verwaltung.example", "mail.example.net",
};
static const char *const url_hosts[] = {
	"www.example.org", "service.example.org", "wiki.example.org", "meet.example.org",
	"intranet.stadt.example", "portal.verwaltung.example", "cloud.example.com",
};
static const char *const area_codes[] = {
	"30", "40", "89", "221", "69", "711", "211", "341", "351", "511", "228", "331",
};

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64 seeds xoshiro256**.                      */

struct gen_rng {
	uint64_t s[4]; /* xoshiro256** state, never all zero */
};

static uint64_t gen_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The splitmix64 finaliser: a bijection on 64-bit values, so distinct
 * inputs give distinct outputs. Ids are built on it to be unique. */
static uint64_t gen_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t gen_next(struct gen_rng *r)
{
	uint64_t result = gen_rotl(r->s[1] * 5, 7) * 9;
	uint64_t t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = gen_rotl(r->s[3], 45);
	return result;
}

static void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = gen_splitmix64(&x);
}

/* Uniform in [0, n). */
static uint32_t gen_below(struct gen_rng *r, uint32_t n)
{
	return (uint32_t)(((gen_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static double gen_unit(struct gen_rng *r)
{
	return (double)(gen_next(r) >> 11) * 0x1.0p-53;
}

static int gen_chance(struct gen_rng *r, double p)
{
	return gen_unit(r) < p;
}

/* ------------------------------------------------------------------ */
/* Alias tables (Walker/Vose): O(1) draws from a fixed distribution.  */

struct gen_alias {
	uint32_t n;       /* outcomes 0 .. n-1 */
	uint32_t *keep;   /* keep outcome i when the low 32 random bits are below keep[i] */
	uint32_t *alias;  /* else take alias[i] */
};

static void gen_alias_free(struct gen_alias *a)
{
	free(a->keep);
	free(a->alias);
	a->keep = NULL;
	a->alias = NULL;
	a->n = 0;
}

/* Builds the table for weights w[0..n-1] (n >= 1, all >= 0, sum > 0).
 * Returns 0 or -1 on allocation failure. */
static int gen_alias_build(struct gen_alias *a, const double *w, uint32_t n)
{
	double *p = NULL, sum = 0;
	uint32_t *small = NULL, *large = NULL, ns = 0, nl = 0, i;
	int rc = -1;

	a->n = n;
	a->keep = malloc(n * sizeof(*a->keep));
	a->alias = malloc(n * sizeof(*a->alias));
	p = malloc(n * sizeof(*p));
	small = malloc(n * sizeof(*small));
	large = malloc(n * sizeof(*large));
	if (!a->keep || !a->alias || !p || !small || !large)
		goto out;
	for (i = 0; i < n; i++)
		sum += w[i];
	for (i = 0; i < n; i++) {
		p[i] = w[i] * n / sum;
		if (p[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns > 0 && nl > 0) {
		uint32_t s = small[--ns], l = large[nl - 1];

		a->keep[s] = (uint32_t)(p[s] * 4294967296.0);
		a->alias[s] = l;
		p[l] = (p[l] + p[s]) - 1.0;
		if (p[l] < 1.0) {
			nl--;
			small[ns++] = l;
		}
	}
	/* What is left has probability 1 up to rounding: always keep. */
	while (nl > 0) {
		uint32_t l = large[--nl];
		a->keep[l] = UINT32_MAX;
		a->alias[l] = l;
	}
	while (ns > 0) {
		uint32_t s = small[--ns];
		a->keep[s] = UINT32_MAX;
		a->alias[s] = s;
	}
	rc = 0;
out:
	free(p);
	free(small);
	free(large);
	if (rc)
		gen_alias_free(a);
	return rc;
}

/* Zipf-Mandelbrot over ranks 0..n-1: weight 1/(rank+1+q)^s (q = 0: Zipf). */
static int gen_alias_zipfq(struct gen_alias *a, uint32_t n, double s, double q)
{
	double *w = malloc(n * sizeof(*w));
	uint32_t i;
	int rc;

	if (!w)
		return -1;
	for (i = 0; i < n; i++)
		w[i] = pow((double)(i + 1) + q, -s);
	rc = gen_alias_build(a, w, n);
	free(w);
	return rc;
}

static int gen_alias_zipf(struct gen_alias *a, uint32_t n, double s)
{
	return gen_alias_zipfq(a, n, s, 0.0);
}

static uint32_t gen_alias_draw(const struct gen_alias *a, struct gen_rng *r)
{
	uint64_t x = gen_next(r);
	uint32_t i = (uint32_t)(((x >> 32) * (uint64_t)a->n) >> 32);

	return (uint32_t)x < a->keep[i] ? i : a->alias[i];
}

/* ------------------------------------------------------------------ */
/* Vocabulary: words ranked by frequency, drawn with Zipf.             */

#define VOCAB_MAX_WORDS 16384     /* cap on distinct words in one language */
#define VOCAB_POOL_MAX (512u << 10) /* cap on the bytes of all words */
#define VOCAB_WORD_MAX 96         /* cap on one word, bytes */
#define VOCAB_ZIPF_S 1.05         /* Zipf exponent of word frequency */
#define VOCAB_ZIPF_Q 2.7          /* Mandelbrot offset: a few thousand words stand in for a
				   * vocabulary of millions, so without it the top words
				   * would be twice as frequent as in real text */

/* Tiers order the ranking: function words, base forms, inflected forms,
 * compounds. Inside a tier words of different lists interleave. */
enum vocab_tier { TIER_FUNCTION = 0, TIER_BASE = 1, TIER_INFLECTED = 2, TIER_COMPOUND = 3 };

struct vocab_entry {
	uint32_t off;     /* start of the word in pool */
	uint16_t len;     /* bytes */
	uint8_t tier;     /* enum vocab_tier */
	uint32_t order;   /* position inside the tier (interleaving key) */
	uint32_t seqno;   /* insertion order, the last tie-breaker */
};

struct vocab {
	char *pool;                 /* all words back to back, no separators */
	size_t pool_len;            /* bytes used in pool (cap VOCAB_POOL_MAX) */
	struct vocab_entry *w;      /* words; sorted by rank after vocab_finish */
	uint32_t n;                 /* words in w (cap VOCAB_MAX_WORDS) */
	uint32_t *slots;            /* open-addressing set of word index + 1, for dedupe */
	uint32_t nslots;            /* power of two, > 2 * VOCAB_MAX_WORDS */
	struct gen_alias zipf;      /* rank distribution after vocab_finish */
};

static uint32_t vocab_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static int vocab_init(struct vocab *v)
{
	memset(v, 0, sizeof(*v));
	v->nslots = 65536;
	v->pool = malloc(VOCAB_POOL_MAX);
	v->w = calloc(VOCAB_MAX_WORDS, sizeof(*v->w));
	v->slots = calloc(v->nslots, sizeof(*v->slots));
	return v->pool && v->w && v->slots ? 0 : -1;
}

static void vocab_release(struct vocab *v)
{
	free(v->pool);
	free(v->w);
	free(v->slots);
	gen_alias_free(&v->zipf);
	memset(v, 0, sizeof(*v));
}

/* Adds a word unless it is already there or a cap is reached (the lists
 * are fixed and far below the caps; the check keeps that true). */
static void vocab_add(struct vocab *v, int tier, uint32_t order, const char *s, size_t n)
{
	uint32_t h, i;

	if (n == 0 || n > VOCAB_WORD_MAX || v->n >= VOCAB_MAX_WORDS || v->pool_len + n > VOCAB_POOL_MAX)
		return;
	h = vocab_hash(s, n);
	for (i = h & (v->nslots - 1); v->slots[i]; i = (i + 1) & (v->nslots - 1)) {
		const struct vocab_entry *e = &v->w[v->slots[i] - 1];
		if (e->len == n && !memcmp(v->pool + e->off, s, n))
			return;
	}
	v->slots[i] = v->n + 1;
	memcpy(v->pool + v->pool_len, s, n);
	v->w[v->n].off = (uint32_t)v->pool_len;
	v->w[v->n].len = (uint16_t)n;
	v->w[v->n].tier = (uint8_t)tier;
	v->w[v->n].order = order;
	v->w[v->n].seqno = v->n;
	v->pool_len += n;
	v->n++;
}

static int vocab_cmp(const void *a, const void *b)
{
	const struct vocab_entry *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->seqno < y->seqno ? -1 : x->seqno > y->seqno;
}

/* Sorts by rank and builds the Zipf table. The dedupe set is no longer
 * valid afterwards (indices changed); nothing is added after this. */
static int vocab_finish(struct vocab *v)
{
	qsort(v->w, v->n, sizeof(*v->w), vocab_cmp);
	free(v->slots);
	v->slots = NULL;
	return gen_alias_zipfq(&v->zipf, v->n, VOCAB_ZIPF_S, VOCAB_ZIPF_Q);
}

/* Calls fn for every space-separated token of list. */
static void each_token(const char *list, void (*fn)(void *ctx, uint32_t idx, const char *tok, size_t n),
		       void *ctx)
{
	const char *p = list;
	uint32_t idx = 0;

	while (*p) {
		const char *q;
		while (*p == ' ')
			p++;
		q = p;
		while (*q && *q != ' ')
			q++;
		if (q > p)
			fn(ctx, idx++, p, (size_t)(q - p));
		p = q;
	}
}

/* Splits tok at sep into up to max parts; returns the number of parts. */
static int split_tok(const char *tok, size_t n, char sep, const char **part, size_t *plen, int max)
{
	int k = 0;
	size_t i, start = 0;

	for (i = 0; i <= n && k < max; i++) {
		if (i == n || tok[i] == sep) {
			part[k] = tok + start;
			plen[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

/* A small string builder for word forms (cap VOCAB_WORD_MAX + slack). */
struct form {
	char s[160];
	size_t n;
};

static void form_set(struct form *f, const char *a, size_t an)
{
	f->n = 0;
	if (an >= sizeof(f->s))
		an = sizeof(f->s) - 1;
	memcpy(f->s, a, an);
	f->n = an;
}

static void form_cat(struct form *f, const char *a, size_t an)
{
	if (f->n + an >= sizeof(f->s))
		an = sizeof(f->s) - 1 - f->n;
	memcpy(f->s + f->n, a, an);
	f->n += an;
}

static void form_cats(struct form *f, const char *a)
{
	form_cat(f, a, strlen(a));
}

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

static int starts_with(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && !memcmp(s, pre, k);
}

static void tok_function(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	vocab_add(ctx, TIER_FUNCTION, idx, tok, n);
}

/* --- German --- */

static void de_noun(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct vocab *v = ctx;
	const char *part[3];
	size_t plen[3];
	struct form f;
	int k = split_tok(tok, n, '/', part, plen, 3);
	int has_plural = k >= 2 && !(plen[1] == 1 && part[1][0] == '-');
	char g = k >= 3 && plen[2] ? part[2][0] : 'f';

	vocab_add(v, TIER_BASE, idx * 8 + 0, part[0], plen[0]);
	if (has_plural) {
		vocab_add(v, TIER_INFLECTED, idx * 8 + 0, part[1], plen[1]);
		/* dative plural: -n unless the plural ends in n or s */
		if (!ends_with(part[1], plen[1], "n") && !ends_with(part[1], plen[1], "s")) {
			form_set(&f, part[1], plen[1]);
			form_cats(&f, "n");
			vocab_add(v, TIER_INFLECTED, idx * 8 + 0, f.s, f.n);
		}
	}
	/* genitive singular of masculine and neuter nouns */
	form_set(&f, part[0], plen[0]);
	if (g == 'm' || g == 'n') {
		if (ends_with(f.s, f.n, "nis"))
			form_cats(&f, "ses");
		else if (ends_with(f.s, f.n, "s") || ends_with(f.s, f.n, "\xc3\x9f") ||
			 ends_with(f.s, f.n, "z") || ends_with(f.s, f.n, "x") || ends_with(f.s, f.n, "sch"))
			form_cats(&f, "es");
		else
			form_cats(&f, "s");
		vocab_add(v, TIER_INFLECTED, idx * 8 + 1, f.s, f.n);
	} else if (g == 'w' && !ends_with(f.s, f.n, "n")) {
		form_cats(&f, ends_with(f.s, f.n, "e") ? "n" : "en");
		vocab_add(v, TIER_INFLECTED, idx * 8 + 1, f.s, f.n);
	}
}

static int de_inseparable(const char *s, size_t n)
{
	static const char *const pre[] = {"be", "ge", "er", "ver", "zer", "ent", "emp", "miss",
					  "\xc3\xbc" "ber", "unter", "hinter", "wider"};
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (starts_with(s, n, pre[i]))
			return 1;
	return 0;
}

static void de_verb(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct vocab *v = ctx;
	const char *vp[2], *forms[6], *sp[2];
	size_t vlen[2], flen[6], slen[2];
	const char *pre = "", *inf;
	size_t pre_n = 0, inf_n;
	struct form f, stem;
	int nf = 0, i, k;

	k = split_tok(tok, n, '=', vp, vlen, 2);
	if (k == 2)
		nf = split_tok(vp[1], vlen[1], ',', forms, flen, 6);
	if (split_tok(vp[0], vlen[0], '-', sp, slen, 2) == 2) {
		pre = sp[0];
		pre_n = slen[0];
		inf = sp[1];
		inf_n = slen[1];
	} else {
		inf = vp[0];
		inf_n = vlen[0];
	}
	/* infinitive, with the separable prefix attached */
	form_set(&f, pre, pre_n);
	form_cat(&f, inf, inf_n);
	vocab_add(v, TIER_BASE, idx * 8, f.s, f.n);
	if (pre_n) { /* "anzumelden" */
		form_set(&f, pre, pre_n);
		form_cats(&f, "zu");
		form_cat(&f, inf, inf_n);
		vocab_add(v, TIER_INFLECTED, idx * 8 + 6, f.s, f.n);
	}
	if (nf == 6) {
		for (i = 0; i < 5; i++)
			vocab_add(v, TIER_INFLECTED, idx * 8 + (uint32_t)i, forms[i], flen[i]);
		form_set(&f, pre, pre_n);
		form_cat(&f, forms[5], flen[5]);
		vocab_add(v, TIER_INFLECTED, idx * 8 + 5, f.s, f.n);
		return;
	}
	/* regular: stem = infinitive without -en (or -n after -el/-er) */
	if (ends_with(inf, inf_n, "eln") || ends_with(inf, inf_n, "ern"))
		form_set(&stem, inf, inf_n - 1);
	else if (ends_with(inf, inf_n, "en"))
		form_set(&stem, inf, inf_n - 2);
	else
		return;
	{
		char last = stem.n ? stem.s[stem.n - 1] : 0;
		char prev = stem.n > 1 ? stem.s[stem.n - 2] : 0;
		int needs_e = last == 't' || last == 'd' ||
			((last == 'm' || last == 'n') && prev && !strchr("lrhmnaeiouy", prev) &&
			 (unsigned char)prev < 0x80);
		int sibilant = last == 's' || last == 'z' || last == 'x' || ends_with(stem.s, stem.n, "\xc3\x9f");
		int no_ge = ends_with(inf, inf_n, "ieren") || de_inseparable(inf, inf_n);
		const char *suf[5];

		suf[0] = "e";
		suf[1] = needs_e ? "est" : sibilant ? "t" : "st";
		suf[2] = needs_e ? "et" : "t";
		suf[3] = needs_e ? "ete" : "te";
		suf[4] = needs_e ? "eten" : "ten";
		for (i = 0; i < 5; i++) {
			form_set(&f, stem.s, stem.n);
			form_cats(&f, suf[i]);
			vocab_add(v, TIER_INFLECTED, idx * 8 + (uint32_t)i, f.s, f.n);
		}
		form_set(&f, pre, pre_n);
		if (!no_ge)
			form_cats(&f, "ge");
		form_cat(&f, stem.s, stem.n);
		form_cats(&f, needs_e ? "et" : "t");
		vocab_add(v, TIER_INFLECTED, idx * 8 + 5, f.s, f.n);
	}
}

static void de_adj(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	static const char *const end[] = {"e", "en", "er", "es", "em"};
	struct vocab *v = ctx;
	struct form f;
	size_t i;

	vocab_add(v, TIER_BASE, idx * 8, tok, n);
	for (i = 0; i < 5; i++) {
		form_set(&f, tok, n);
		form_cats(&f, end[i]);
		vocab_add(v, TIER_INFLECTED, idx * 8 + (uint32_t)i + 1, f.s, f.n);
	}
}

/* Compounds: a fixed pseudo-random subset of modifier x head, so the
 * vocabulary holds about a third of all pairs (and no seed changes it). */
struct comp_ctx {
	struct vocab *v;
	const char *mod;  /* the current modifier */
	size_t mod_n;
	uint32_t mod_idx;
};

static void de_comp_head(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct comp_ctx *c = ctx;
	const char *part[2];
	size_t plen[2];
	struct form f;
	uint64_t h = gen_mix64(((uint64_t)c->mod_idx << 32) | idx | 0x5eed0000000000ULL);
	int k = split_tok(tok, n, '/', part, plen, 2);
	uint32_t order = (uint32_t)(h >> 40);

	if (h % 100 >= 33)
		return;
	form_set(&f, c->mod, c->mod_n);
	form_cat(&f, part[0], plen[0]);
	vocab_add(c->v, TIER_COMPOUND, order, f.s, f.n);
	if (k == 2 && !(plen[1] == 1 && part[1][0] == '-')) {
		form_set(&f, c->mod, c->mod_n);
		form_cat(&f, part[1], plen[1]);
		vocab_add(c->v, TIER_COMPOUND, order + 1, f.s, f.n);
	}
}

static void de_comp_mod(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct comp_ctx *c = ctx;

	c->mod = tok;
	c->mod_n = n;
	c->mod_idx = idx;
	each_token(de_comp_heads, de_comp_head, c);
}

static int vocab_build_de(struct vocab *v)
{
	struct comp_ctx c;

	if (vocab_init(v))
		return -1;
	each_token(de_function, tok_function, v);
	each_token(de_nouns, de_noun, v);
	each_token(de_verbs, de_verb, v);
	each_token(de_adjs, de_adj, v);
	memset(&c, 0, sizeof(c));
	c.v = v;
	each_token(de_comp_mods, de_comp_mod, &c);
	return vocab_finish(v);
}

/* --- English --- */

static int en_vowel(char c)
{
	return c && strchr("aeiou", c) != NULL;
}

static void en_noun(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct vocab *v = ctx;
	const char *part[2];
	size_t plen[2];
	struct form f;
	int k = split_tok(tok, n, '/', part, plen, 2);

	vocab_add(v, TIER_BASE, idx * 8, part[0], plen[0]);
	if (k == 2) {
		if (!(plen[1] == 1 && part[1][0] == '-'))
			vocab_add(v, TIER_INFLECTED, idx * 8, part[1], plen[1]);
		return;
	}
	form_set(&f, part[0], plen[0]);
	if (f.n > 1 && f.s[f.n - 1] == 'y' && !en_vowel(f.s[f.n - 2])) {
		f.n--;
		form_cats(&f, "ies");
	} else if (ends_with(f.s, f.n, "s") || ends_with(f.s, f.n, "x") || ends_with(f.s, f.n, "z") ||
		   ends_with(f.s, f.n, "ch") || ends_with(f.s, f.n, "sh")) {
		form_cats(&f, "es");
	} else {
		form_cats(&f, "s");
	}
	vocab_add(v, TIER_INFLECTED, idx * 8, f.s, f.n);
}

static void en_verb(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct vocab *v = ctx;
	const char *vp[2], *forms[4];
	size_t vlen[2], flen[4];
	struct form base, f;
	int k = split_tok(tok, n, '=', vp, vlen, 2), i, dbl = 0;

	if (k == 2 && split_tok(vp[1], vlen[1], ',', forms, flen, 4) == 4) {
		vocab_add(v, TIER_BASE, idx * 8, vp[0], vlen[0]);
		for (i = 0; i < 4; i++)
			vocab_add(v, TIER_INFLECTED, idx * 8 + (uint32_t)i, forms[i], flen[i]);
		return;
	}
	form_set(&base, vp[0], vlen[0]);
	if (base.n && base.s[base.n - 1] == '+') {
		dbl = 1;
		base.n--;
	}
	vocab_add(v, TIER_BASE, idx * 8, base.s, base.n);
	/* 3rd person singular */
	form_set(&f, base.s, base.n);
	if (f.n > 1 && f.s[f.n - 1] == 'y' && !en_vowel(f.s[f.n - 2])) {
		f.n--;
		form_cats(&f, "ies");
	} else if (ends_with(f.s, f.n, "s") || ends_with(f.s, f.n, "x") || ends_with(f.s, f.n, "z") ||
		   ends_with(f.s, f.n, "ch") || ends_with(f.s, f.n, "sh") || ends_with(f.s, f.n, "o")) {
		form_cats(&f, "es");
	} else {
		form_cats(&f, "s");
	}
	vocab_add(v, TIER_INFLECTED, idx * 8, f.s, f.n);
	/* past = past participle */
	form_set(&f, base.s, base.n);
	if (ends_with(f.s, f.n, "e")) {
		form_cats(&f, "d");
	} else if (f.n > 1 && f.s[f.n - 1] == 'y' && !en_vowel(f.s[f.n - 2])) {
		f.n--;
		form_cats(&f, "ied");
	} else {
		if (dbl)
			form_cat(&f, &f.s[f.n - 1], 1);
		form_cats(&f, "ed");
	}
	vocab_add(v, TIER_INFLECTED, idx * 8 + 1, f.s, f.n);
	/* -ing */
	form_set(&f, base.s, base.n);
	if (ends_with(f.s, f.n, "ie")) {
		f.n -= 2;
		form_cats(&f, "ying");
	} else if (ends_with(f.s, f.n, "e") && !ends_with(f.s, f.n, "ee")) {
		f.n--;
		form_cats(&f, "ing");
	} else {
		if (dbl)
			form_cat(&f, &f.s[f.n - 1], 1);
		form_cats(&f, "ing");
	}
	vocab_add(v, TIER_INFLECTED, idx * 8 + 2, f.s, f.n);
}

static void en_adj(void *ctx, uint32_t idx, const char *tok, size_t n)
{
	struct vocab *v = ctx;
	const char *vp[2], *forms[2];
	size_t vlen[2], flen[2];
	struct form f;
	int k = split_tok(tok, n, '=', vp, vlen, 2), i;

	if (k == 2 && split_tok(vp[1], vlen[1], ',', forms, flen, 2) == 2) {
		vocab_add(v, TIER_BASE, idx * 8 + 1, vp[0], vlen[0]);
		for (i = 0; i < 2; i++)
			vocab_add(v, TIER_INFLECTED, idx * 8 + 3 + (uint32_t)i, forms[i], flen[i]);
		return;
	}
	if (n < 2 || tok[n - 1] != '^') {
		vocab_add(v, TIER_BASE, idx * 8 + 1, tok, n);
		return;
	}
	n--;
	vocab_add(v, TIER_BASE, idx * 8 + 1, tok, n);
	for (i = 0; i < 2; i++) {
		const char *suf = i ? "est" : "er";
		form_set(&f, tok, n);
		if (ends_with(f.s, f.n, "e")) {
			suf++;
		} else if (f.n > 1 && f.s[f.n - 1] == 'y' && !en_vowel(f.s[f.n - 2])) {
			f.n--;
			form_cats(&f, "i");
		}
		form_cats(&f, suf);
		vocab_add(v, TIER_INFLECTED, idx * 8 + 3 + (uint32_t)i, f.s, f.n);
	}
}

static int vocab_build_en(struct vocab *v)
{
	if (vocab_init(v))
		return -1;
	each_token(en_function, tok_function, v);
	each_token(en_nouns, en_noun, v);
	each_token(en_verbs, en_verb, v);
	each_token(en_adjs, en_adj, v);
	return vocab_finish(v);
}

/* ------------------------------------------------------------------ */
/* Names, ids, conversations, senders.                                 */

#define NAMES_MAX 256               /* cap on names in one list */
#define GEN_MAX_MEMBERS 32          /* cap on members of one conversation */
#define GEN_RECENT 8                /* earlier messages a reply can point at */
#define GEN_MAX_CONVERSATIONS 100000
#define GEN_MAX_SENDERS 1000000
#define GEN_MAX_COUNT 10000000000ULL
#define TEXT_CAP 32768              /* cap on one body before escaping */
#define LINE_CAP (6 * TEXT_CAP + 16384) /* cap on one output line */
#define OUT_CAP (8u << 20)          /* output buffer */
#define MAX_WORDS 400               /* longest body, in words */
#define NO_MSG UINT64_MAX

enum gen_platform { P_MATRIX = 0, P_XMPP = 1, P_THREEMA = 2, P_COUNT = 3 };
static const char *const platform_name[P_COUNT] = {"matrix", "xmpp", "threema"};
enum gen_lang { LANG_DE = 0, LANG_EN = 1, LANG_MIXED = 2 };

struct gen_names {
	const char *p[NAMES_MAX];  /* name i starts here (inside a static list) */
	uint8_t n[NAMES_MAX];      /* its length in bytes */
	uint32_t count;            /* names in the list */
};

struct gen_sender {
	uint8_t platform;   /* enum gen_platform */
	uint16_t first;     /* index into the first names */
	uint16_t last;      /* index into the last names */
	uint16_t id_len;    /* bytes of the id */
	uint32_t id_off;    /* the platform's user id in the string pool */
};

struct gen_conv {
	uint8_t platform;                  /* enum gen_platform */
	uint8_t lang;                      /* LANG_DE or LANG_EN: its usual language */
	uint8_t nmembers;                  /* 1 .. GEN_MAX_MEMBERS */
	uint8_t nrecent;                   /* valid entries in recent */
	uint8_t recent_pos;                /* slot the next message goes to */
	uint16_t id_len;                   /* bytes of the conversation id */
	uint32_t id_off;                   /* conversation id in the string pool */
	uint32_t last_member;              /* member who wrote last, UINT32_MAX none */
	uint64_t thread_root;              /* message number of the open thread, NO_MSG none */
	uint32_t members[GEN_MAX_MEMBERS]; /* sender numbers, most active first */
	uint64_t recent[GEN_RECENT];       /* message numbers of the latest messages, a ring */
};

/* Sender and conversation ids, back to back. Grows up to its cap. */
struct spool {
	char *p;
	size_t len;
	size_t cap;
};
#define SPOOL_MAX (256u << 20)

struct gen {
	struct gen_rng rng;                /* the one random stream */
	uint64_t seed;                     /* --seed */
	int lang_mode;                     /* enum gen_lang from --lang */
	struct vocab voc[2];               /* LANG_DE, LANG_EN */
	struct gen_names first, last;      /* person names */
	struct spool pool;                 /* id strings */
	struct gen_sender *senders;        /* nsenders entries */
	uint32_t nsenders;
	uint32_t *plat_senders[P_COUNT];   /* sender numbers per platform, ascending */
	uint32_t nplat[P_COUNT];
	struct gen_alias plat_alias[P_COUNT]; /* Zipf over plat_senders: who joins rooms */
	struct gen_conv *convs;            /* nconvs entries */
	uint32_t nconvs;
	struct gen_alias conv_alias;       /* Zipf over conversations: where people talk */
	struct gen_alias member_alias[GEN_MAX_MEMBERS + 1]; /* Zipf over k members, k = index */
	struct gen_alias len_alias;        /* body length in words, minus one */
	uint64_t id_key[P_COUNT];          /* per-platform keys of the id bijection */
	char text[TEXT_CAP];               /* the body being written */
	size_t text_n;                     /* bytes in text */
};

static void names_load(struct gen_names *nl, const char *list)
{
	const char *p = list;

	nl->count = 0;
	while (*p && nl->count < NAMES_MAX) {
		const char *q;
		while (*p == ' ')
			p++;
		q = p;
		while (*q && *q != ' ')
			q++;
		if (q > p && q - p < 64) {
			nl->p[nl->count] = p;
			nl->n[nl->count] = (uint8_t)(q - p);
			nl->count++;
		}
		p = q;
	}
}

/* Lower-case ASCII spelling of a name for user ids and e-mail addresses:
 * ä -> ae, ß -> ss, ş -> s; other non-ASCII letters are dropped. */
static size_t translit(const char *s, size_t n, char *out, size_t cap)
{
	static const struct { const char *from, *to; } map[] = {
		{"\xc3\xa4", "ae"}, {"\xc3\xb6", "oe"}, {"\xc3\xbc", "ue"}, {"\xc3\x84", "ae"},
		{"\xc3\x96", "oe"}, {"\xc3\x9c", "ue"}, {"\xc3\x9f", "ss"}, {"\xc5\x9f", "s"},
		{"\xc5\x9e", "s"}, {"\xc4\xb1", "i"}, {"\xc4\x87", "c"}, {"\xc4\x9f", "g"},
	};
	size_t i = 0, o = 0, k;

	while (i < n && o + 3 < cap) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			i++;
			continue;
		}
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
			if (i + 1 < n && !memcmp(s + i, map[k].from, 2))
				break;
		if (k < sizeof(map) / sizeof(map[0])) {
			size_t tl = strlen(map[k].to);
			memcpy(out + o, map[k].to, tl);
			o += tl;
		}
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
	}
	out[o] = 0;
	return o;
}

static int spool_add(struct spool *sp, const char *s, size_t n, uint32_t *off)
{
	if (sp->len + n > sp->cap) {
		size_t ncap = sp->cap ? sp->cap * 2 : 65536;
		char *np;
		while (ncap < sp->len + n)
			ncap *= 2;
		if (ncap > SPOOL_MAX)
			return -1;
		np = realloc(sp->p, ncap);
		if (!np)
			return -1;
		sp->p = np;
		sp->cap = ncap;
	}
	memcpy(sp->p + sp->len, s, n);
	*off = (uint32_t)sp->len;
	sp->len += n;
	return 0;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* An 8-character Threema id: base 36 of a bijection on [0, 36^8), so
 * distinct numbers give distinct ids. */
static void threema_id(uint64_t num, uint64_t key, char out[9])
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const uint64_t m = 2821109907456ULL;   /* 36^8 */
	const uint64_t a = 25214903917ULL;     /* coprime to 2 and 3 */
	uint64_t v = (uint64_t)(((unsigned __int128)a * (num % m) + key % m) % m);
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = digits[v % 36];
		v /= 36;
	}
	out[8] = 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hexdig[] = "0123456789abcdef";

/* The platform's id of message number m, unique per platform: it is built
 * on mix64(m + key), a bijection in m. Returns the length. */
static size_t msg_id(const struct gen *g, int platform, uint64_t m, char *out)
{
	uint64_t v = gen_mix64(m + g->id_key[platform]);
	uint64_t w = gen_mix64(v ^ 0x243f6a8885a308d3ULL);
	size_t o = 0;
	int i;

	if (platform == P_MATRIX) {
		/* "$" + 43 base64url characters, like a room v4+ event id */
		uint64_t x = v;
		out[o++] = '$';
		for (i = 0; i < 11; i++, x >>= 6)
			out[o++] = b64url[x & 63];
		for (i = 0; i < 32; i++) {
			if (i % 10 == 0 && i)
				w = gen_mix64(w + 0x9e3779b97f4a7c15ULL);
			out[o++] = b64url[(w >> (6 * (i % 10))) & 63];
		}
	} else if (platform == P_XMPP) {
		/* a UUID-shaped string, as most XMPP clients use */
		char h[32];
		for (i = 0; i < 16; i++)
			h[i] = hexdig[(v >> (60 - 4 * i)) & 15];
		for (i = 0; i < 16; i++)
			h[16 + i] = hexdig[(w >> (60 - 4 * i)) & 15];
		for (i = 0; i < 32; i++) {
			if (i == 8 || i == 12 || i == 16 || i == 20)
				out[o++] = '-';
			out[o++] = h[i];
		}
	} else {
		/* Threema: 8 bytes as 16 hex digits */
		for (i = 0; i < 16; i++)
			out[o++] = hexdig[(v >> (60 - 4 * i)) & 15];
	}
	out[o] = 0;
	return o;
}

static int make_senders(struct gen *g)
{
	uint64_t m = (uint64_t)g->first.count * g->last.count;
	uint64_t a = 7919, key = gen_mix64(g->seed ^ 0x5e17de75ULL);
	uint32_t i, p;
	char buf[192], loc[128], fn[48], ln[48];

	while (gcd_u64(a, m) != 1)
		a += 2;
	g->senders = calloc(g->nsenders, sizeof(*g->senders));
	if (!g->senders)
		return -1;
	for (p = 0; p < P_COUNT; p++) {
		g->plat_senders[p] = malloc(g->nsenders * sizeof(uint32_t));
		if (!g->plat_senders[p])
			return -1;
	}
	for (i = 0; i < g->nsenders; i++) {
		struct gen_sender *s = &g->senders[i];
		uint64_t h = gen_mix64(key + i);
		uint64_t pair = (a * (i % m) + key) % m;
		int n;

		s->platform = (uint8_t)(i < P_COUNT ? i : h % 100 < 50 ? P_MATRIX : h % 100 < 75 ? P_XMPP : P_THREEMA);
		s->first = (uint16_t)(pair % g->first.count);
		s->last = (uint16_t)(pair / g->first.count);
		translit(g->first.p[s->first], g->first.n[s->first], fn, sizeof(fn));
		translit(g->last.p[s->last], g->last.n[s->last], ln, sizeof(ln));
		if (i >= m)
			snprintf(loc, sizeof(loc), "%s.%s%" PRIu64, fn, ln, (uint64_t)(i / m) + 1);
		else
			snprintf(loc, sizeof(loc), "%s.%s", fn, ln);
		if (s->platform == P_MATRIX) {
			n = snprintf(buf, sizeof(buf), "@%s:%s", loc,
				     matrix_domains[(h >> 16) % (sizeof(matrix_domains) / sizeof(matrix_domains[0]))]);
		} else if (s->platform == P_XMPP) {
			n = snprintf(buf, sizeof(buf), "%s@%s", loc,
				     xmpp_domains[(h >> 16) % (sizeof(xmpp_domains) / sizeof(xmpp_domains[0]))]);
		} else {
			threema_id(i, key, buf);
			n = 8;
		}
		if (n < 0 || (size_t)n >= sizeof(buf) || spool_add(&g->pool, buf, (size_t)n, &s->id_off))
			return -1;
		s->id_len = (uint16_t)n;
		g->plat_senders[s->platform][g->nplat[s->platform]++] = i;
	}
	for (p = 0; p < P_COUNT; p++)
		if (g->nplat[p] && gen_alias_zipf(&g->plat_alias[p], g->nplat[p], 0.8))
			return -1;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int make_conversations(struct gen *g)
{
	uint64_t key = gen_mix64(g->seed ^ 0xc0ffee11ULL);
	uint32_t j, k;
	char buf[160];

	g->convs = calloc(g->nconvs, sizeof(*g->convs));
	if (!g->convs)
		return -1;
	for (j = 0; j < g->nconvs; j++) {
		struct gen_conv *c = &g->convs[j];
		uint32_t r = gen_below(&g->rng, 100), want, tries, p;
		int n;

		p = r < 50 ? P_MATRIX : r < 80 ? P_XMPP : P_THREEMA;
		if (!g->nplat[p])
			p = P_MATRIX; /* sender 0 is always on Matrix */
		c->platform = (uint8_t)p;
		if (g->lang_mode == LANG_MIXED)
			c->lang = gen_chance(&g->rng, 0.65) ? LANG_DE : LANG_EN;
		else
			c->lang = (uint8_t)g->lang_mode;
		c->last_member = UINT32_MAX;
		c->thread_root = NO_MSG;
		if ((p == P_MATRIX && gen_chance(&g->rng, 0.3)) || (p == P_THREEMA && gen_chance(&g->rng, 0.6)))
			want = 2;
		else
			want = 3 + (uint32_t)(-log(1.0 - gen_unit(&g->rng)) * 8.0);
		if (want > GEN_MAX_MEMBERS)
			want = GEN_MAX_MEMBERS;
		if (want > g->nplat[p])
			want = g->nplat[p];
		for (tries = 0; c->nmembers < want && tries < 64 * want; tries++) {
			uint32_t s = g->plat_senders[p][gen_alias_draw(&g->plat_alias[p], &g->rng)];
			for (k = 0; k < c->nmembers && c->members[k] != s; k++)
				;
			if (k == c->nmembers)
				c->members[c->nmembers++] = s;
		}
		qsort(c->members, c->nmembers, sizeof(c->members[0]), cmp_u32);

		if (p == P_MATRIX) {
			uint64_t v = gen_mix64(key + j), w = gen_mix64(v ^ key);
			char *o = buf;
			*o++ = '!';
			for (k = 0; k < 12; k++, v /= 52)
				*o++ = b64url[v % 52];
			for (k = 0; k < 6; k++, w /= 52)
				*o++ = b64url[w % 52];
			n = (int)(o - buf);
			n += snprintf(o, sizeof(buf) - (size_t)n, ":%s",
				      matrix_domains[j % (sizeof(matrix_domains) / sizeof(matrix_domains[0]))]);
		} else if (p == P_XMPP) {
			const size_t nr = sizeof(room_names) / sizeof(room_names[0]);
			const char *dom = xmpp_domains[(j / nr) % (sizeof(xmpp_domains) / sizeof(xmpp_domains[0]))];
			if (j < nr)
				n = snprintf(buf, sizeof(buf), "%s@conference.%s", room_names[j], dom);
			else
				n = snprintf(buf, sizeof(buf), "%s-%u@conference.%s", room_names[j % nr],
					     (unsigned)(j / nr + 1), dom);
		} else {
			threema_id((1ULL << 31) + j, key, buf);
			n = 8;
		}
		if (n < 0 || (size_t)n >= sizeof(buf) || spool_add(&g->pool, buf, (size_t)n, &c->id_off))
			return -1;
		c->id_len = (uint16_t)n;
	}
	if (gen_alias_zipf(&g->conv_alias, g->nconvs, 1.1))
		return -1;
	for (k = 1; k <= GEN_MAX_MEMBERS; k++)
		if (gen_alias_zipf(&g->member_alias[k], k, 1.0))
			return -1;
	return 0;
}

/* Body length in words: a log-normal core (median 9, most messages 3-25
 * words) mixed with a Pareto tail that reaches a few hundred words. */
static int make_lengths(struct gen *g)
{
	double w[MAX_WORDS], core = 0, tail = 0;
	uint32_t i;

	for (i = 0; i < MAX_WORDS; i++) {
		double l = i + 1, z = (log(l) - log(9.0)) / 0.75;
		w[i] = exp(-0.5 * z * z) / l;
		core += w[i];
	}
	for (i = 19; i < MAX_WORDS; i++)
		tail += pow(i + 1.0, -2.3);
	for (i = 0; i < MAX_WORDS; i++)
		w[i] = 0.96 * w[i] / core + (i >= 19 ? 0.04 * pow(i + 1.0, -2.3) / tail : 0);
	return gen_alias_build(&g->len_alias, w, MAX_WORDS);
}

/* ------------------------------------------------------------------ */
/* Bodies.                                                             */

static void tx(struct gen *g, const char *s, size_t n)
{
	if (n > TEXT_CAP - g->text_n)
		n = TEXT_CAP - g->text_n;
	memcpy(g->text + g->text_n, s, n);
	g->text_n += n;
}

static void txs(struct gen *g, const char *s)
{
	tx(g, s, strlen(s));
}

static void txf(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void txf(struct gen *g, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		tx(g, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* Appends a word, upper-casing its first letter when cap is set
 * (ASCII and the German umlauts). */
static void tx_word(struct gen *g, const char *s, size_t n, int cap)
{
	size_t at = g->text_n;

	tx(g, s, n);
	if (!cap || at >= g->text_n)
		return;
	if (g->text[at] >= 'a' && g->text[at] <= 'z') {
		g->text[at] = (char)(g->text[at] - 32);
	} else if ((unsigned char)g->text[at] == 0xc3 && at + 1 < g->text_n) {
		unsigned char c = (unsigned char)g->text[at + 1];
		if (c == 0xa4 || c == 0xb6 || c == 0xbc)
			g->text[at + 1] = (char)(c - 0x20);
	}
}

static void tx_vocab_word(struct gen *g, int lang, int cap)
{
	const struct vocab *v = &g->voc[lang];
	const struct vocab_entry *e = &v->w[gen_alias_draw(&v->zipf, &g->rng)];

	tx_word(g, v->pool + e->off, e->len, cap);
}

#define PICK(arr) (arr)[gen_below(&g->rng, (uint32_t)(sizeof(arr) / sizeof((arr)[0])))]

static const struct gen_sender *random_sender(struct gen *g, int platform)
{
	if (!g->nplat[platform])
		return NULL;
	return &g->senders[g->plat_senders[platform][gen_alias_draw(&g->plat_alias[platform], &g->rng)]];
}

static void tx_last_name(struct gen *g)
{
	uint32_t i = gen_below(&g->rng, g->last.count);
	tx(g, g->last.p[i], g->last.n[i]);
}

static void tx_first_name(struct gen *g)
{
	uint32_t i = gen_below(&g->rng, g->first.count);
	tx(g, g->first.p[i], g->first.n[i]);
}

/* One "special" token: the identifiers and numbers officers search for,
 * and the characters a JSON writer must escape. */
static void tx_special(struct gen *g, int lang)
{
	static const char *const roman[] = {"I", "II", "III", "IV", "V", "VI"};
	static const char *const mobile[] = {"151", "152", "157", "160", "170", "171", "176", "177"};
	uint32_t r = gen_below(&g->rng, 140);
	char a[64], b[64];

	if (r < 25) { /* case numbers */
		uint32_t k = gen_below(&g->rng, lang == LANG_DE ? 5 : 4);
		uint32_t year = 2019 + gen_below(&g->rng, 7);
		if (k == 0)
			txf(g, "AZ %u-%03u/%u", 1 + gen_below(&g->rng, 99), gen_below(&g->rng, 1000), year);
		else if (lang == LANG_EN && k == 1)
			txf(g, "case no. %u-%05u", year, gen_below(&g->rng, 100000));
		else if (lang == LANG_EN && k == 2)
			txf(g, "ref. %c%c%c-%04u", 'A' + gen_below(&g->rng, 26), 'A' + gen_below(&g->rng, 26),
			    'A' + gen_below(&g->rng, 26), gen_below(&g->rng, 10000));
		else if (lang == LANG_EN)
			txf(g, "ticket #%u", 1000 + gen_below(&g->rng, 99000));
		else if (k == 1)
			txf(g, "Az. %u %c %u/%02u", 1 + gen_below(&g->rng, 40), "KLEABS"[gen_below(&g->rng, 6)],
			    100 + gen_below(&g->rng, 9900), year % 100);
		else if (k == 2)
			txf(g, "Gz. %s-%u-%04u/%u", PICK(roman), 1 + gen_below(&g->rng, 9),
			    gen_below(&g->rng, 10000), year);
		else if (k == 3)
			txf(g, "Vorgangsnummer %07u", gen_below(&g->rng, 10000000));
		else
			txf(g, "Kassenzeichen %u.%04u.%06u", 1 + gen_below(&g->rng, 9), gen_below(&g->rng, 10000),
			    gen_below(&g->rng, 1000000));
	} else if (r < 35) { /* phone numbers */
		uint32_t k = gen_below(&g->rng, 5);
		if (k == 0)
			txf(g, "+49 %s %u", PICK(area_codes), 100000 + gen_below(&g->rng, 9900000));
		else if (k == 1)
			txf(g, "0%s %u", PICK(area_codes), 100000 + gen_below(&g->rng, 9900000));
		else if (k == 2)
			txf(g, "0%s/%u-%u", PICK(area_codes), 1000 + gen_below(&g->rng, 9000), gen_below(&g->rng, 1000));
		else if (k == 3)
			txf(g, "+49 %s %07u", PICK(mobile), gen_below(&g->rng, 10000000));
		else
			txf(g, "0%s %08u", PICK(mobile), gen_below(&g->rng, 100000000));
	} else if (r < 45) { /* e-mail addresses */
		uint32_t f = gen_below(&g->rng, g->first.count), l = gen_below(&g->rng, g->last.count);
		if (gen_chance(&g->rng, 0.2)) {
			txf(g, "%s@%s", PICK(url_words), PICK(mail_domains));
		} else {
			translit(g->first.p[f], g->first.n[f], a, sizeof(a));
			translit(g->last.p[l], g->last.n[l], b, sizeof(b));
			txf(g, "%s.%s@%s", a, b, PICK(mail_domains));
		}
	} else if (r < 57) { /* URLs */
		txf(g, "https://%s/%s", PICK(url_hosts), PICK(url_words));
		if (gen_chance(&g->rng, 0.5))
			txf(g, "/%s", PICK(url_words));
		r = gen_below(&g->rng, 4);
		if (r == 0)
			txf(g, "/%u.pdf", gen_below(&g->rng, 100000));
		else if (r == 1)
			txf(g, "?id=%u&lang=%s", gen_below(&g->rng, 1000000), lang == LANG_DE ? "de" : "en");
	} else if (r < 65) { /* Matrix user ids */
		const struct gen_sender *s = random_sender(g, P_MATRIX);
		if (s)
			tx(g, g->pool.p + s->id_off, s->id_len);
		else
			txs(g, "@admin:example.org");
	} else if (r < 70) { /* XMPP JIDs */
		const struct gen_sender *s = random_sender(g, P_XMPP);
		if (s)
			tx(g, g->pool.p + s->id_off, s->id_len);
		else
			txs(g, "support@example.org");
	} else if (r < 90) { /* people */
		uint32_t k = gen_below(&g->rng, 5);
		if (lang == LANG_DE)
			txs(g, k == 0 ? "Frau " : k == 1 ? "Herr " : k == 2 ? "Frau Dr. " : "");
		else
			txs(g, k == 0 ? "Ms. " : k == 1 ? "Mr. " : k == 2 ? "Dr. " : "");
		if (k == 4)
			tx_first_name(g);
		else
			tx_last_name(g);
	} else if (r < 105) { /* dates */
		uint32_t y = 2023 + gen_below(&g->rng, 3), m = 1 + gen_below(&g->rng, 12), d = 1 + gen_below(&g->rng, 28);
		if (lang == LANG_DE)
			txf(g, gen_chance(&g->rng, 0.7) ? "%02u.%02u.%u" : "%u.%u.", d, m, y);
		else
			txf(g, "%u-%02u-%02u", y, m, d);
	} else if (r < 115) { /* times */
		uint32_t h = 7 + gen_below(&g->rng, 11), m = 15 * gen_below(&g->rng, 4);
		if (lang == LANG_DE)
			txf(g, "%u:%02u Uhr", h, m);
		else
			txf(g, "%u:%02u", h, m);
	} else if (r < 123) { /* amounts */
		uint32_t e = gen_below(&g->rng, 5000), c = gen_below(&g->rng, 100);
		if (lang == LANG_DE)
			txf(g, gen_chance(&g->rng, 0.5) ? "%u,%02u \xe2\x82\xac" : "%u,%02u EUR", e, c);
		else
			txf(g, "\xe2\x82\xac%u.%02u", e, c);
	} else if (r < 131) { /* quotations */
		int german = lang == LANG_DE && gen_chance(&g->rng, 0.6);
		txs(g, german ? "\xe2\x80\x9e" : "\"");
		tx_vocab_word(g, lang, 0);
		if (gen_chance(&g->rng, 0.5)) {
			txs(g, " ");
			tx_vocab_word(g, lang, 0);
		}
		txs(g, german ? "\xe2\x80\x9c" : "\"");
	} else if (r < 134) { /* backslashes: file shares and paths */
		uint32_t k = gen_below(&g->rng, 3);
		if (k == 0)
			txf(g, "\\\\fileserver\\%s\\%s", PICK(url_words), PICK(url_words));
		else if (k == 1)
			txf(g, "C:\\Users\\%s\\Documents\\%s.docx", PICK(url_words), PICK(url_words));
		else
			txs(g, "\\o/");
	} else if (r < 139) {
		txs(g, PICK(emojis));
	} else { /* a tab-separated pair pasted from a spreadsheet */
		tx_vocab_word(g, lang, 1);
		txf(g, "\t%u", gen_below(&g->rng, 10000));
	}
}

static void tx_greeting(struct gen *g, int lang)
{
	uint32_t k = gen_below(&g->rng, 6);

	if (lang == LANG_DE) {
		if (k == 0) { txs(g, "Hallo Frau "); tx_last_name(g); txs(g, ","); }
		else if (k == 1) { txs(g, "Hallo Herr "); tx_last_name(g); txs(g, ","); }
		else if (k == 2) { txs(g, "Hallo zusammen,"); }
		else if (k == 3) { txs(g, "Hi "); tx_first_name(g); txs(g, ","); }
		else if (k == 4) { txs(g, PICK(((const char *const[]){"Moin,", "Guten Morgen,", "Liebe Kolleginnen und Kollegen,"}))); }
		else { txs(g, "Sehr geehrte Frau "); tx_last_name(g); txs(g, ","); }
	} else {
		if (k <= 1) { txs(g, "Hi "); tx_first_name(g); txs(g, ","); }
		else if (k == 2) { txs(g, "Hello all,"); }
		else if (k == 3) { txs(g, "Dear Mr. "); tx_last_name(g); txs(g, ","); }
		else { txs(g, PICK(((const char *const[]){"Hey,", "Morning!", "Hi team,"}))); }
	}
}

static void tx_signoff(struct gen *g, int lang, const char *nl)
{
	txs(g, nl);
	txs(g, nl);
	if (lang == LANG_DE)
		txs(g, PICK(((const char *const[]){"Viele Grüße", "Beste Grüße", "VG", "LG", "Mit freundlichen Grüßen"})));
	else
		txs(g, PICK(((const char *const[]){"Best,", "Cheers", "Thanks,", "Regards,", "Kind regards,"})));
	txs(g, nl);
	tx_first_name(g);
}

/* Writes the body of one message into g->text. */
static void make_body(struct gen *g, int lang)
{
	uint32_t nwords, done = 0, in_par = 0, par_len;
	const char *nl;

	g->text_n = 0;
	if (gen_chance(&g->rng, 0.07)) {
		if (lang == LANG_DE)
			txs(g, PICK(de_canned));
		else
			txs(g, PICK(en_canned));
		return;
	}
	nwords = 1 + gen_alias_draw(&g->len_alias, &g->rng);
	nl = gen_chance(&g->rng, 0.1) ? "\r\n" : "\n";
	par_len = 3 + gen_below(&g->rng, 3);
	if (nwords >= 5 && gen_chance(&g->rng, 0.12)) {
		tx_greeting(g, lang);
		txs(g, nwords > 40 ? nl : " ");
	}
	while (done < nwords && g->text_n + 1024 < TEXT_CAP) {
		uint32_t slen = 3 + gen_below(&g->rng, 11), j, r;

		if (slen > nwords - done)
			slen = nwords - done;
		for (j = 0; j < slen; j++) {
			if (j)
				txs(g, " ");
			if (gen_chance(&g->rng, 0.025))
				tx_special(g, lang);
			else
				tx_vocab_word(g, lang, j == 0);
			if (j + 1 < slen && gen_chance(&g->rng, 0.05))
				txs(g, ",");
		}
		done += slen;
		r = gen_below(&g->rng, 100);
		txs(g, r < 55 ? "." : r < 75 ? "?" : r < 83 ? "!" : r < 86 ? "..." : r < 88 ? " :)" : "");
		if (done < nwords) {
			if (nwords > 60 && ++in_par >= par_len) {
				txs(g, nl);
				txs(g, nl);
				in_par = 0;
			} else {
				txs(g, " ");
			}
		}
	}
	if (gen_chance(&g->rng, 0.04)) {
		txs(g, " ");
		txs(g, PICK(emojis));
	}
	if (nwords > 40 && gen_chance(&g->rng, 0.5))
		tx_signoff(g, lang, nl);
}

/* ------------------------------------------------------------------ */
/* Output.                                                             */

struct gen_out {
	FILE *f;       /* where the lines go */
	char *buf;     /* OUT_CAP bytes */
	size_t n;      /* bytes waiting in buf */
	int err;       /* errno of the first failed write, 0 if none */
};

static void out_flush(struct gen_out *o)
{
	if (o->n && !o->err && fwrite(o->buf, 1, o->n, o->f) != o->n)
		o->err = errno ? errno : EIO;
	o->n = 0;
}

static char *put_mem(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

#define PUT_LIT(w, lit) put_mem((w), (lit), sizeof(lit) - 1)

/* JSON string contents: escapes quote, backslash and control characters;
 * everything else, UTF-8 included, passes through unchanged. Writes at
 * most 6 bytes per input byte. */
static char *put_esc(char *w, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*w++ = (char)c;
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		default:
			w = PUT_LIT(w, "u00");
			*w++ = hexdig[c >> 4];
			*w++ = hexdig[c & 15];
		}
	}
	return w;
}

static char *put_quoted(char *w, const char *s, size_t n)
{
	*w++ = '"';
	w = put_esc(w, s, n);
	*w++ = '"';
	return w;
}

static char *put_u64(char *w, uint64_t v)
{
	char t[24];
	int i = 0;

	do {
		t[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		*w++ = t[--i];
	return w;
}

/* ------------------------------------------------------------------ */
/* Time: office hours in Germany (CET, summer time ignored).           */

static double mean_gap_ms(int64_t ts)
{
	int64_t local = ts + 3600000, day = local / 86400000;
	int dow = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
	int hour = (int)((local % 86400000) / 3600000);
	int weekend = dow == 0 || dow == 6;

	if (!weekend && hour >= 8 && hour < 17)
		return 2500;
	if (!weekend && hour >= 7 && hour < 19)
		return 12000;
	if (!weekend && hour >= 6 && hour < 23)
		return 45000;
	if (weekend && hour >= 9 && hour < 21)
		return 60000;
	return 300000;
}

/* ------------------------------------------------------------------ */
/* Messages.                                                           */

static void emit_message(struct gen *g, struct gen_out *o, uint64_t m, int64_t ts,
			 struct gen_conv *c, uint32_t member, uint64_t reply_to, uint64_t thread)
{
	const struct gen_sender *s = &g->senders[c->members[member]];
	char id[64];
	size_t idn;
	char *w;
	uint32_t k;
	int any = 0;

	if (OUT_CAP - o->n < LINE_CAP)
		out_flush(o);
	w = o->buf + o->n;
	w = PUT_LIT(w, "{\"platform\":\"");
	w = put_mem(w, platform_name[c->platform], strlen(platform_name[c->platform]));
	w = PUT_LIT(w, "\",\"conversation\":");
	w = put_quoted(w, g->pool.p + c->id_off, c->id_len);
	w = PUT_LIT(w, ",\"sender\":");
	w = put_quoted(w, g->pool.p + s->id_off, s->id_len);
	w = PUT_LIT(w, ",\"ts\":");
	w = put_u64(w, (uint64_t)ts);
	idn = msg_id(g, c->platform, m, id);
	w = PUT_LIT(w, ",\"id\":");
	w = put_quoted(w, id, idn);
	w = PUT_LIT(w, ",\"body\":");
	w = put_quoted(w, g->text, g->text_n);
	if (reply_to != NO_MSG) {
		idn = msg_id(g, c->platform, reply_to, id);
		w = PUT_LIT(w, ",\"reply_to\":");
		w = put_quoted(w, id, idn);
	}
	if (thread != NO_MSG) {
		idn = msg_id(g, c->platform, thread, id);
		w = PUT_LIT(w, ",\"thread\":");
		w = put_quoted(w, id, idn);
	}
	/* Threema messages and direct chats name who they went to. */
	if (c->nmembers > 1 && (c->platform == P_THREEMA || c->nmembers == 2)) {
		w = PUT_LIT(w, ",\"recipients\":[");
		for (k = 0; k < c->nmembers; k++) {
			const struct gen_sender *rs = &g->senders[c->members[k]];
			if (k == member)
				continue;
			if (any++)
				*w++ = ',';
			w = put_quoted(w, g->pool.p + rs->id_off, rs->id_len);
		}
		*w++ = ']';
	}
	w = PUT_LIT(w, ",\"kind\":\"message\"}\n");
	o->n = (size_t)(w - o->buf);
}

static int generate(struct gen *g, struct gen_out *o, uint64_t count, int64_t start_ts)
{
	int64_t ts = start_ts;
	struct gen_conv *prev = NULL;
	uint64_t m;

	for (m = 0; m < count && !o->err; m++) {
		int sticky = prev && gen_chance(&g->rng, 0.4);
		struct gen_conv *c = sticky ? prev : &g->convs[gen_alias_draw(&g->conv_alias, &g->rng)];
		double mean = mean_gap_ms(ts);
		uint64_t reply_to = NO_MSG, thread = NO_MSG;
		uint32_t member;
		int lang = c->lang;

		if (sticky && mean > 20000)
			mean = 20000;
		ts += 1 + (int64_t)(-log(1.0 - gen_unit(&g->rng)) * mean);

		member = gen_alias_draw(&g->member_alias[c->nmembers], &g->rng);
		if (member == c->last_member && c->nmembers > 1 && gen_chance(&g->rng, 0.7))
			member = gen_alias_draw(&g->member_alias[c->nmembers], &g->rng);
		c->last_member = member;

		if (g->lang_mode == LANG_MIXED && gen_chance(&g->rng, 0.08))
			lang = lang == LANG_DE ? LANG_EN : LANG_DE;
		make_body(g, lang);

		if (c->nrecent && gen_chance(&g->rng, 0.12)) {
			uint32_t back = 0;
			while (back + 1 < c->nrecent && gen_chance(&g->rng, 0.45))
				back++;
			reply_to = c->recent[(c->recent_pos + GEN_RECENT - 1 - back) % GEN_RECENT];
		}
		if (c->platform != P_THREEMA && c->nrecent) {
			if (c->thread_root != NO_MSG && gen_chance(&g->rng, 0.02))
				c->thread_root = NO_MSG; /* the thread went quiet */
			if (c->thread_root != NO_MSG && gen_chance(&g->rng, 0.1)) {
				thread = c->thread_root;
			} else if (gen_chance(&g->rng, 0.015)) {
				c->thread_root = c->recent[(c->recent_pos + GEN_RECENT - 1 -
							    gen_below(&g->rng, c->nrecent)) % GEN_RECENT];
				thread = c->thread_root;
			}
		}
		emit_message(g, o, m, ts, c, member, reply_to, thread);

		c->recent[c->recent_pos] = m;
		c->recent_pos = (uint8_t)((c->recent_pos + 1) % GEN_RECENT);
		if (c->nrecent < GEN_RECENT)
			c->nrecent++;
		prev = c;
	}
	out_flush(o);
	return o->err ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Command line.                                                       */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen_messages -n COUNT [--seed S] [--start-ts MS] [--conversations N]\n"
		"                    [--senders N] [--lang de|en|mixed] [-o FILE]\n"
		"Writes COUNT chat messages as JSON Lines (generic ingest envelope) to stdout\n"
		"or FILE. The same options and seed give byte-identical output.\n"
		"  --seed S           random seed (default 1)\n"
		"  --start-ts MS      first timestamp floor, ms since epoch (default 2024-01-01T00:00:00Z)\n"
		"  --conversations N  rooms, MUCs and Threema chats (default 300, max %u)\n"
		"  --senders N        people (default 1500, max %u)\n"
		"  --lang L           de, en or mixed (default mixed)\n",
		GEN_MAX_CONVERSATIONS, GEN_MAX_SENDERS);
}

/* Parses an unsigned decimal number in [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct gen *g = NULL;
	struct gen_out o;
	uint64_t count = 0, seed = 1, start = 1704067200000ULL, nconv = 300, nsend = 1500;
	const char *outfile = NULL, *opt, *val;
	int have_n = 0, lang = LANG_MIXED, i, rc = 1;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		const char *eq;
		char name[32];

		opt = argv[i];
		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			usage(stdout);
			return 0;
		}
		/* "--opt=value" or "--opt value" */
		eq = strncmp(opt, "--", 2) ? NULL : strchr(opt, '=');
		if (eq && (size_t)(eq - opt) < sizeof(name)) {
			memcpy(name, opt, (size_t)(eq - opt));
			name[eq - opt] = 0;
			opt = name;
			val = eq + 1;
		} else {
			val = i + 1 < argc ? argv[++i] : NULL;
		}
		if (!val) {
			fprintf(stderr, "gen_messages: %s needs a value\n", opt);
			goto usage;
		}
		if (!strcmp(opt, "-n") || !strcmp(opt, "--count")) {
			if (parse_u64(val, 0, GEN_MAX_COUNT, &count))
				goto bad;
			have_n = 1;
		} else if (!strcmp(opt, "--seed")) {
			if (parse_u64(val, 0, UINT64_MAX, &seed))
				goto bad;
		} else if (!strcmp(opt, "--start-ts")) {
			if (parse_u64(val, 0, 253402300799999ULL, &start))
				goto bad;
		} else if (!strcmp(opt, "--conversations")) {
			if (parse_u64(val, 1, GEN_MAX_CONVERSATIONS, &nconv))
				goto bad;
		} else if (!strcmp(opt, "--senders")) {
			if (parse_u64(val, 1, GEN_MAX_SENDERS, &nsend))
				goto bad;
		} else if (!strcmp(opt, "--lang")) {
			if (!strcmp(val, "de"))
				lang = LANG_DE;
			else if (!strcmp(val, "en"))
				lang = LANG_EN;
			else if (!strcmp(val, "mixed"))
				lang = LANG_MIXED;
			else
				goto bad;
		} else if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
			outfile = val;
		} else {
			fprintf(stderr, "gen_messages: unknown option %s\n", opt);
			goto usage;
		}
		continue;
bad:
		fprintf(stderr, "gen_messages: bad value for %s: %s\n", opt, val);
		goto usage;
	}
	if (!have_n) {
		fprintf(stderr, "gen_messages: -n COUNT is required\n");
		goto usage;
	}

	g = calloc(1, sizeof(*g));
	o.buf = malloc(OUT_CAP);
	if (!g || !o.buf)
		goto nomem;
	g->seed = seed;
	g->lang_mode = lang;
	g->nsenders = (uint32_t)nsend;
	g->nconvs = (uint32_t)nconv;
	gen_rng_seed(&g->rng, seed);
	for (i = 0; i < P_COUNT; i++)
		g->id_key[i] = gen_mix64(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(i + 1) * 0xd1b54a32d192ed03ULL);
	names_load(&g->first, first_names);
	names_load(&g->last, last_names);
	if (vocab_build_de(&g->voc[LANG_DE]) || vocab_build_en(&g->voc[LANG_EN]) || make_lengths(g) ||
	    make_senders(g) || make_conversations(g))
		goto nomem;

	if (getenv("GEN_VOCAB_DUMP")) { /* for checking the word lists by eye */
		int l;
		for (l = 0; l < 2; l++) {
			uint32_t k;
			for (k = 0; k < g->voc[l].n; k++)
				printf("%s %u %.*s\n", l ? "en" : "de", k, (int)g->voc[l].w[k].len,
				       g->voc[l].pool + g->voc[l].w[k].off);
		}
		rc = 0;
		goto out;
	}

	o.f = outfile ? fopen(outfile, "wb") : stdout;
	if (!o.f) {
		fprintf(stderr, "gen_messages: %s: %s\n", outfile, strerror(errno));
		goto out;
	}
	if (generate(g, &o, count, (int64_t)start) == 0)
		rc = 0;
	if (fflush(o.f) && !o.err)
		o.err = errno ? errno : EIO;
	if (outfile && fclose(o.f) && !o.err)
		o.err = errno ? errno : EIO;
	if (o.err) {
		fprintf(stderr, "gen_messages: write failed: %s\n", strerror(o.err));
		rc = 1;
	}
	goto out;
nomem:
	fprintf(stderr, "gen_messages: out of memory\n");
	goto out;
usage:
	usage(stderr);
	rc = 2;
out:
	if (g) {
		int p;
		vocab_release(&g->voc[0]);
		vocab_release(&g->voc[1]);
		for (p = 0; p < P_COUNT; p++) {
			free(g->plat_senders[p]);
			gen_alias_free(&g->plat_alias[p]);
		}
		for (p = 0; p <= GEN_MAX_MEMBERS; p++)
			gen_alias_free(&g->member_alias[p]);
		gen_alias_free(&g->conv_alias);
		gen_alias_free(&g->len_alias);
		free(g->senders);
		free(g->convs);
		free(g->pool.p);
		free(g);
	}
	free(o.buf);
	return rc;
}
