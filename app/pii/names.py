"""Names nobody told us about: in introductions, greetings, sign-offs, after titles,
on a message's last line or after a dash (EN, DE, FR, ES, IT).

A name is one to three capitalised words (particles such as ``van der`` or ``de la``
between); words that are capitalised but are no names (``Team``, ``Kunde``, weekdays,
``Amazon``) stop it.  After "my name is" and a sign-off line the name may be lowercase.
"""

from __future__ import annotations

import re

from app.pii.detect import LOWER as _LOW
from app.pii.detect import UPPER as _UP
from app.pii.detect import Span
from app.pii.normalise import fold, lower_same_length


def _longest_first(alternatives: str) -> str:
    """``a|a b`` → ``a b|a``: re takes the first alternative that matches, and "thanks"
    must not hide "thanks in advance"."""
    return "|".join(sorted(set(alternatives.split("|")), key=lambda a: (-len(a), a)))


# a name: 1-3 capitalised words with particles between (van der, de la, O'Brien, Jean-Luc)
_NAME_WORD = rf"[{_UP}](?:\.|[{_LOW}{_UP}'’-]+)"
_PARTICLE = r"(?i:van|von|der|den|de|del|della|di|da|du|dos|la|le|ter|ten|zu|y|bin|al|el)"
_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_NAME_WORD}){{0,2}}"
_ANY_WORD = r"[^\W\d_][\w'’-]*"
_ANY_NAME = rf"{_ANY_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_ANY_WORD}){{0,2}}"

_STRONG_INTRO = _longest_first(
    r"my name is|my name's|name:|i am called|mein name ist|ich heiße|ich heisse|mein name:|"
    r"je m'appelle|je m’appelle|mon nom est|me llamo|mi nombre es|mi chiamo|il mio nome è|"
    r"il mio nome e'|mi nome è|nome:|nom:|nombre:"
)
_WEAK_INTRO = _longest_first(
    r"i'm|i’m|i am|im|this is|it's|it’s|here is|ich bin die|ich bin der|ich bin|hier ist|"
    r"hier spricht|hier schreibt|"
    r"je suis|moi c'est|c'est|ici|soy|aquí|aqui|le escribe|sono|qui è|qui e'|vi scrive"
)
_GREETING = _longest_first(
    r"hi|hello|hey|dear|good morning|good afternoon|good evening|hallo|hi|liebe|lieber|"
    r"guten tag|guten morgen|moin|servus|grüß gott|bonjour|bonsoir|salut|cher|chère|"
    r"hola|buenos días|buenos dias|buenas tardes|buenas|estimado|estimada|querido|"
    r"querida|ciao|salve|buongiorno|buonasera|gentile|gentilissimo|gentilissima|caro|cara"
)
_TITLE = _longest_first(
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Herrn|Frau|M\.|Mme|Mlle|Monsieur|Madame|Mademoiselle|"
    r"Sr|Sra|Srta|Señor|Señora|Señorita|Don|Doña|Sig|Sig\.ra|Signor|Signora|Signorina|Dott|Dott\.ssa|Ing"
)
_SIGNOFF = _longest_first(
    r"thanks|thank you|thanks again|thanks in advance|thank you in advance|many thanks|"
    r"thanks so much|thank you very much|thx|ty|regards|best regards|kind regards|warm regards|"
    r"warmest regards|best wishes|all the best|best|cheers|sincerely|yours sincerely|"
    r"yours faithfully|yours truly|respectfully|take care|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|mit freundlichem gruß|freundliche grüße|"
    r"freundliche grüsse|mfg|viele grüße|viele grüsse|beste grüße|beste grüsse|liebe grüße|"
    r"lg|vg|gruß|grüße|gruss|danke|vielen dank|danke schön|herzliche grüße|schöne grüße|"
    r"cordialement|bien cordialement|bien à vous|salutations|sincères salutations|merci|"
    r"merci beaucoup|merci d'avance|bonne journée|amicalement|bises|"
    r"saludos|un saludo|saludos cordiales|atentamente|gracias|muchas gracias|un abrazo|"
    r"cordiali saluti|saluti|distinti saluti|grazie|grazie mille|grazie in anticipo|"
    r"un saluto|buona giornata"
)
# Trigger words are found in the lowercased text without IGNORECASE (five times faster in
# re); the name after them is matched in the original text, where capitals tell.
_INTRO_RE = re.compile(rf"(?<![\w'’])(?:(?P<strong>{_STRONG_INTRO})|(?P<weak>{_WEAK_INTRO}))(?!\w)")
_AFTER_STRONG_RE = re.compile(rf"[ \t]*(?P<name>{_ANY_NAME})")
_AFTER_WEAK_RE = re.compile(rf"[ \t]+(?P<name>{_NAME})")
# "Priya here." at the start of the message or of a sentence
_HERE_RE = re.compile(rf"(?m:(?:^|(?<=[,.!:;]))[ \t]*(?P<name>{_NAME})[ \t]+here\b)")
_GREETING_RE = re.compile(rf"(?m:^[ \t]*(?:{_GREETING}))(?!\w)")
_AFTER_GREETING_RE = re.compile(
    rf"[ \t]*,?[ \t]+(?:(?:{_TITLE})\.?[ \t]+)?(?P<name>{_NAME})[ \t]*(?=[,!.:\n]|$)"
)
_TITLE_RE = re.compile(rf"\b(?:{_TITLE})\.?[ \t]+(?P<name>{_NAME})")
_SIGNOFF_RE = re.compile(rf"(?m:^[ \t]*(?:{_SIGNOFF}))(?!\w)")
_AFTER_SIGNOFF_RE = re.compile(
    # "Thanks, John" on one line
    rf"(?m:[ \t]*[,.!:]*[ \t]*(?:,[ \t]*|[ \t])(?P<inline>{_NAME})[ \t]*[.!]?[ \t]*$)"
    # "Kind regards,\njohn" (the line after the sign-off, maybe after a blank line)
    rf"|(?m:[^\n]{{0,30}}?[ \t]*[,.!:]*[ \t]*\n(?:[ \t]*\n)?[ \t]*"
    rf"(?P<next>{_ANY_NAME})[ \t]*[.!]?[ \t]*$)"
)
_DASH_RE = re.compile(rf"(?m:(?:^|[ \t])(?:--?|—|–|~)[ \t]*(?P<name>{_NAME})[ \t]*$)")
_LINE_NAME_RE = re.compile(rf"^[ \t]*(?:(?:--?|—|–|~)[ \t]*)?(?P<name>{_NAME})[ \t]*[.!]?[ \t]*$")

_ADDRESS_LABEL_RE = re.compile(
    r"^[ \t]*(?i:ship to|deliver to|send to|address|adresse|dirección|indirizzo|"
    r"lieferadresse|lieferanschrift|an)[ \t]*:?[ \t]*"
)
# capitalised words that are not names (folded)
NOT_NAMES = frozenset(
    """
    amazing awesome great terrible horrible awful excellent perfect ridiculous unacceptable
    the a an and or team seller sellers support customer customers service services sir
    madam sirs madams all there everyone everybody folks guys amazon thanks thank
    regards hello hi hey dear ok okay yes no not sorry happy very so also just still
    really writing contacting here please order orders item items product products i we
    you it this that my your our their german french english spanish italian american
    british canadian japanese buyer buyers prime kunde kundin kunden zusammen damen
    herren madame monsieur messieurs mesdames senor senora signore signora signori
    vendedor vendedora venditore vendeur vendeuse verkaufer verkauferin leute tutti
    todos equipo equipe dame client cliente clienti cordialement merci grazie gracias
    danke gruss grusse gruß grüße saludos saluti best kind many warm sent from iphone
    android mobile monday tuesday wednesday thursday friday saturday sunday january
    february march june july august september october november december montag dienstag
    mittwoch donnerstag freitag samstag sonntag lundi mardi mercredi jeudi vendredi
    samedi dimanche lunes martes miercoles jueves viernes sabado domingo lunedi martedi
    mercoledi giovedi venerdi sabato today tomorrow yesterday again already waiting
    unable looking interested disappointed enttauscht leider bitte hallo ich sie wir
    mein meine ihr je vous nous moi yo usted io lei noi sehr desole desolee going trying
    having getting contact concerned confused glad sure afraid hoping wondering unhappy
    upset frustrated back new still fine good great well ready inc ltd llc gmbh co corp
    shop store mail email phone tel address street road delivery package parcel paket
    colis paquete pacco box return refund size color colour black white red blue green
    grey gray pink small medium large xl xxl xs hilfe help question frage neu nicht noch
    auch schon wieder nur aber und oder mit bei fur für von vom zum zur gerne gern
    leider enttäuscht verärgert un une le la les del de du des et est sono il lo gli mio
    mia yours sincerely faithfully truly respectfully cheers care all best wishes
    greetings absolutely totally completely definitely certainly actually currently now
    then
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
NOT_NAMES_FOLDED = frozenset(fold(w) for w in NOT_NAMES)


# I'm, it's, we're, c'est: an apostrophe and one or two letters (O'Neil, D'Angelo pass)
_CONTRACTION_RE = re.compile(r"['’][a-z]{1,2}$|^[a-z]{1,2}['’](?:est|ai|s|m|re|ve|ll|d)$")


def _name_tokens(value: str, *, strict: bool) -> tuple[int, int] | None:
    """The part of ``value`` that is a name: leading words until a non-name; None if none.

    ``strict``: every word must be capitalised (a weak trigger)."""
    words = list(re.finditer(r"[^\s]+", value))
    keep_end = None
    first_start = None
    capitalised: bool | None = None  # how the name's first word is written
    for w in words:
        word = w.group().strip(",.!:;")
        if not word:
            break
        f = fold(word.strip("'’-"))
        if re.fullmatch(_PARTICLE, word) and (first_start is not None or word[:1].isupper()):
            if first_start is None:  # "De Luca": a capitalised particle starts the name
                first_start = w.start()
            continue
        if f in NOT_NAMES_FOLDED or any(c.isdigit() for c in word) or _CONTRACTION_RE.search(f):
            break
        if strict and not word[:1].isupper():
            break
        if capitalised is not None and capitalised and not word[:1].isupper():
            break  # "Rubén Castaño y el reloj": a capitalised name ends at a lowercase word
        initial = re.fullmatch(r"[^\W\d_]\.", w.group()) is not None  # "H."
        if len(f) < 2 and not initial:
            break
        if first_start is None:
            first_start = w.start()
        if capitalised is None:
            capitalised = word[:1].isupper()
        keep_end = w.start() + (2 if initial else len(w.group().rstrip(",.!:;")))
    if first_start is None or keep_end is None:
        return None
    return first_start, keep_end


def find_names(text: str) -> list[Span]:
    """Names in introductions, greetings, sign-offs, after titles, on a last line."""
    spans: list[Span] = []

    def add(m: re.Match[str], group: str, *, strict: bool) -> None:
        value = m.group(group)
        if value is None:
            return
        part = _name_tokens(value, strict=strict)
        if part:
            base = m.start(group)
            spans.append((base + part[0], base + part[1]))

    lowered = lower_same_length(text)
    for m in _INTRO_RE.finditer(lowered):
        if m.group("strong") is not None:
            after = _AFTER_STRONG_RE.match(text, m.end())
            if after:
                add(after, "name", strict=False)
        else:
            after = _AFTER_WEAK_RE.match(text, m.end())
            if after:
                add(after, "name", strict=True)
    for here in _HERE_RE.finditer(text):
        add(here, "name", strict=True)
    for m in _GREETING_RE.finditer(lowered):
        after = _AFTER_GREETING_RE.match(text, m.end())
        if after:
            add(after, "name", strict=True)
    for m in _TITLE_RE.finditer(text):
        add(m, "name", strict=True)
    for m in _SIGNOFF_RE.finditer(lowered):
        after = _AFTER_SIGNOFF_RE.match(text, m.end())
        if after is None:
            continue
        if after.group("inline") is not None:
            add(after, "inline", strict=True)
        else:
            add(after, "next", strict=False)
    for m in _DASH_RE.finditer(text):
        add(m, "name", strict=True)
    last = _last_line(text)
    if last is not None:
        start, line = last
        line_match = _LINE_NAME_RE.match(line)
        if line_match:
            part = _name_tokens(line_match.group("name"), strict=True)
            if part:
                base = start + line_match.start("name")
                spans.append((base + part[0], base + part[1]))
    return spans


def _last_line(text: str) -> tuple[int, str] | None:
    stripped = text.rstrip()
    if not stripped:
        return None
    start = stripped.rfind("\n") + 1
    if start == 0:
        return None  # a one-line message is not a signature
    return start, stripped[start:]


def name_line_before(text: str, start: int) -> Span | None:
    """The line just before an address block, when it is a name (``John Smith``)."""
    line_end = text.rfind("\n", 0, start)
    if line_end < 0 or text[line_end + 1 : start].strip():
        return None
    line_start = text.rfind("\n", 0, line_end) + 1
    line = text[line_start:line_end]
    label = _ADDRESS_LABEL_RE.match(line)
    offset = label.end() if label else 0
    m = _LINE_NAME_RE.match(line[offset:])
    if not m:
        return None
    part = _name_tokens(m.group("name"), strict=True)
    if not part:
        return None
    base = line_start + offset + m.start("name")
    return base + part[0], base + part[1]
