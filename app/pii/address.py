"""Street addresses nobody told us about: US (usaddress), UK, DE, FR, ES, IT, NL, CA, JP.

Patterns find street lines, postcodes with their city, PO boxes and Apt/Flat/Unit; spans
with only a city, state or country between them are merged into one address block, and
a postcode takes the place name just before it (``London SW1A 1AA``).  US street lines
are confirmed and measured by usaddress (a CRF tagger), which is imported on first use.
"""

from __future__ import annotations

import re

from app.pii.detect import LOWER as _LOW
from app.pii.detect import UPPER as _UP
from app.pii.detect import Span, mask, overlaps, protected_spans
from app.pii.normalise import fold


def _alt(words: str) -> str:
    """``"a b c"`` → ``"a|b|c"`` (regex alternatives written as a word list)."""
    return "|".join(words.split())


_W = rf"[\w{_UP}{_LOW}'’.-]"
_PARTICLES = _alt(
    "de du des la le les del della dei degli delle di da dos das do los las el y e "
    "von van der den am an of the on"
)
# a capitalised word (or a number) inside a street or place name; _PNL: no number
_PN = rf"(?:(?:(?:{_PARTICLES})\s+)*(?:[ldLD]['’])?[{_UP}0-9]{_W}*)"
_PNL = rf"(?:(?:(?:{_PARTICLES})\s+)*(?:[ldLD]['’])?[{_UP}][\w{_LOW}'’-]*\.?)"
_PNLSEQ = rf"{_PNL}(?:[ \t]+{_PNL}){{0,4}}"
_CITY = rf"[{_UP}][\w{_UP}{_LOW}'’-]*"

_EN_SUFFIX_LONG = _alt(
    "Street Road Avenue Boulevard Lane Drive Court Place Terrace Circle Parkway Highway "
    "Close Crescent Gardens Grove Square Mews Trail Alley Plaza Parade Broadway "
    "Causeway Embankment Quay Way"
)
_EN_SUFFIX_SHORT = _alt(
    "St Rd Ave Av Blvd Ln Dr Ct Pl Ter Cir Pkwy Hwy Cres Gdns Gr Sq Row Walk Hill "
    "Park Trl Loop Path Pike Green Rise View Vale Wynd Pde"
)
_UNIT_WORDS = _alt(
    "Apt Apartment Flat Unit Suite Ste Wohnung Whg Appartement Appt Bâtiment Bât Escalier "
    "Esc Étage Etage Piso Puerta Pta Interno Scala Bloque Escalera"
)
_UNIT = rf"(?i:{_UNIT_WORDS})\.?[ \t]*(?:No\.?[ \t]*|#[ \t]*)?\d{{1,5}}[A-Za-z]?\b"
_STATES = _alt(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE "
    "NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR "
    "AB BC MB NB NL NS NT NU ON PE QC SK YT"
)
_DE_SUFFIX = _alt(
    r"straße strasse str\. weg gasse platz allee ring damm ufer chaussee steig pfad markt "
    "stieg zeile graben kamp wall"
)
_DE_WORD = _alt(r"Straße Strasse Str\. Weg Gasse Platz Allee Ring Damm Ufer Chaussee")
_DE_PREP = r"Am|An der|An den|Im|In der|In den|Auf der|Auf dem|Zum|Zur|Hinter der|Unter den"
_FR_TYPE = _alt(
    r"rue avenue av\. bd boulevard place pl\. allée allee impasse imp\. chemin route rte quai "
    "cours square passage résidence residence lotissement hameau faubourg voie sentier "
    "promenade esplanade cité cite"
)
_ES_IT_TYPE = _alt(
    r"Calle Avenida Avda\.? Av\. Plaza Pza\.? Paseo Camino Carrer Carretera Ctra\.? Ronda "
    r"Travesía Glorieta Rambla Passeig Vía Via Viale V\.le Piazza P\.za P\.zza Piazzale "
    r"Corso C\.so Largo Vicolo Strada Contrada Lungomare Lungotevere Borgo Salita Traversa "
    r"Località Loc\."
)
_PO_BOX = (
    r"P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]+Office[ \t]+Box|Postfach|Boîte[ \t]+postale|B\.?P\.?|"
    r"Apartado(?:[ \t]+de[ \t]+Correos)?|Casella[ \t]+Postale"
)
_CITY_PARTS = _alt(r"am an der im in bei sur sous en de del la le les di")
_CEDEX = r"Cedex(?:[ \t]\d{1,2})?"
_CITY_TAIL = rf"\([A-Z]{{2}}\)|[A-Z]{{2}}\b|{_CEDEX}|{_CITY}"  # (RM), Cedex 02, am Main
_HOUSE = r"\b\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
_FUNCTION_WORDS = _alt(
    "and or in on at to but near please for with is was which where instead since as so then "
    "if because not by from the this that it its my our your apt apartment suite unit flat "
    "ste fl floor building bldg"
)
_NOT_A_NOUN = rf"(?![ \t]+(?!(?:{_FUNCTION_WORDS})\b)[a-z])"
_QUADRANT = r"(?:[ \t]+(?:NE|NW|SE|SW|N|S|E|W)\b)?"
_ES_FLOOR = (
    r"(?:[ \t]*[,-]?[ \t]*\d{1,2}[ \t]*[º°ªoa]\.?(?:[ \t]*[A-Z]\b)?)*"
    r"(?:[ \t]*(?:izq(?:uierda)?|dcha|derecha)\.?)?"
)
_JP_PLACE = r"(?:東京都|北海道|大阪府|京都府|[^\s、。,]{2,3}県)[^\s、。,]{1,20}?(?:市|区|郡|町|村)"
_ADDRESS_PATTERNS = [
    # EN street line: 12 High Street / 1600 N. Pennsylvania Ave NW / 221b Baker St
    # (a name between number and street word; not followed by a noun: "2 Park Avenue notebooks")
    rf"{_HOUSE},?[ \t]+(?:[NSEW]\.?[ \t]+)?(?:[{_UP}0-9]{_W}*[ \t]+){{1,4}}?"
    rf"(?:{_EN_SUFFIX_SHORT})\b\.?{_QUADRANT}{_NOT_A_NOUN}",
    rf"(?i:{_HOUSE},?[ \t]+(?:[a-z0-9]{_W}*[ \t]+){{1,3}}?(?:{_EN_SUFFIX_LONG})\b)"
    rf"{_QUADRANT}{_NOT_A_NOUN}",
    rf"{_HOUSE}[ \t]+Broadway\b",
    # DE: Hauptstraße 5 / Berliner Str. 12a / Am Markt 3
    rf"\b[{_UP}]{_W}*?(?i:{_DE_SUFFIX})[ \t]+\d{{1,4}}[ \t]?[a-zA-Z]?"
    r"(?:[ \t]?[-/][ \t]?\d{1,4}[a-z]?)?\b",
    rf"\b(?:[{_UP}]{_W}*[ \t]+){{1,3}}(?:{_DE_WORD})[ \t]+\d{{1,4}}[a-zA-Z]?\b",
    rf"\b(?:{_DE_PREP})[ \t]+[{_UP}]{_W}+[ \t]+\d{{1,4}}[a-zA-Z]?\b",
    # FR: 12 rue de la Paix / 3 bis, avenue Foch
    rf"{_HOUSE}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?i:{_FR_TYPE})\b[ \t]+{_PNLSEQ}",
    # ES / IT: Calle Mayor 12, 3º B / C/ de Alcalá, 45 / Via Roma 15/A
    rf"(?:\b(?:{_ES_IT_TYPE})|\bC/)[ \t]*{_PNLSEQ},?[ \t]*(?:n[ºo°]?\.?[ \t]*)?\d{{1,4}}[A-Za-z]?"
    rf"(?:[ \t]*/[ \t]*[A-Za-z0-9]+)?{_ES_FLOOR}",
    # PO boxes
    rf"\b(?i:{_PO_BOX})[ \t]*\d{{1,6}}\b",
    # apartment / flat / unit
    rf"\b{_UNIT}",
    # UK and Canadian postcodes
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2})\b",
    r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d\b",
    # US state + ZIP (with the city before it)
    rf"(?:\b[{_UP}][{_LOW}]+(?:[ \t][{_UP}][{_LOW}]+){{0,2}},?[ \t]+)?"
    rf"\b(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?\b",
    # DE/FR/ES/IT postcode + city: 10115 Berlin, 75002 Paris Cedex 02, 00184 Roma (RM)
    rf"(?<![\d.,/-])\b(?:[DFEI]-|DE-|FR-)?\d{{5}}[ \t]+{_CITY}"
    rf"(?:[ \t-](?:(?:{_CITY_PARTS})[ \t-])?(?:{_CITY_TAIL})){{0,3}}",
    r"\b\d{4}[ \t]?[A-Z]{2}\b(?=[ \t]+[A-Z])",  # NL 1012 AB Amsterdam
    # Japan: 〒100-0001, 東京都千代田区千代田1-1
    r"〒[ \t]?\d{3}-?\d{4}",
    rf"{_JP_PLACE}[^\s、。,]{{0,20}}?\d{{1,4}}(?:[-−ー－丁目番地号の]+\d{{1,4}})*(?:[番地号])?",
]
ADDRESS_RE = re.compile("|".join(f"(?:{p})" for p in _ADDRESS_PATTERNS))
_NOT_CITY = {
    "stuck",
    "stk",
    "euro",
    "eur",
    "units",
    "pieces",
    "pcs",
    "mal",
    "teile",
    "punkte",
    "points",
    "items",
    "exemplaires",
    "unidades",
    "pezzi",
    "mah",
    "rpm",
    "lumen",
    "lux",
    "btu",
    "led",
    "usb",
    "watt",
    "volt",
    "kw",
    "gb",
    "tb",
    "mb",
    "ml",
    "mm",
    "cm",
    "kg",
    "lbs",
    "hz",
}
_POSTCODE_CITY_RE = re.compile(rf"^(?:[DFEI]-|DE-|FR-)?\d{{5}}[ \t]+({_CITY})")
# merge two address spans when only a city / state / country sits between them
_GAP_RE = re.compile(rf"^[\s,;]*(?:{_PN}[ \t]*,?[ \t]*(?:\([A-Z]{{2}}\))?[\s,;]*){{0,4}}$")
_CITY_BEFORE_RE = re.compile(
    rf"(?:^|[,:\n]|\s-\s|(?<=[ \t]))[ \t]*((?:[{_UP}][\w{_LOW}'’.-]*[ \t]*,?[ \t]+){{1,3}})$"
)
_US_CANDIDATE_RE = re.compile(r"\b\d{1,6}[ \t]+[A-Za-z]")
_US_LABELS = {
    "AddressNumber",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetNamePostDirectional",
    "StreetName",
    "OccupancyIdentifier",
    "SubaddressIdentifier",
}
_ABBREVIATED = {"StreetNamePostType", "StreetNamePreDirectional", "OccupancyType"}
_SUFFIX_WORDS = frozenset(fold(w) for w in (_EN_SUFFIX_LONG + "|" + _EN_SUFFIX_SHORT).split("|"))
_NOT_A_NOUN_RE = re.compile(_NOT_A_NOUN)
# UK and Canadian postcodes, which follow their town
_POSTCODE_FIRST_RE = re.compile(
    r"(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2})\b"
    r"|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d\b"
)
_ZIP_RE = re.compile(r"\b\d{5}(?:-\d{4})?\b")
_UNIT_WORD_RE = re.compile(r"(?i:apt|apartment|flat|unit|suite|ste|room|rm|fl|floor|#|bldg)")


_DIGITS_RE = re.compile(r"\d+")
_REACH = 70  # how far an address pattern reaches from its digits (a long street name)


def _windowed(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """``pattern.finditer`` only near digits: every address pattern holds one, and most of
    a message has none (the protected values are masked by then)."""
    segments: list[list[int]] = []
    for m in _DIGITS_RE.finditer(text):
        start, end = max(0, m.start() - _REACH), min(len(text), m.end() + _REACH)
        if segments and start <= segments[-1][1]:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    return [m for start, end in segments for m in pattern.finditer(text, start, end)]


def _us_extent(text: str, start: int) -> int | None:
    """usaddress on the rest of the line from a house number: the end of the address."""
    line_end = text.find("\n", start)
    if line_end == -1:
        line_end = len(text)
    segment = text[start:line_end]
    # the tagger costs ~0.3 ms a call: only where a street word or a ZIP code follows
    words = {w.lower().rstrip(".") for w in segment[:80].split()}
    if not (words & _SUFFIX_WORDS or _ZIP_RE.search(segment[:80])):
        return None
    import usaddress  # its tagger loads a model: only when an address may be there

    try:
        parts = usaddress.parse(segment)
    except Exception:  # the tagger raises on odd input; then there is no address here
        return None
    labels = [label for _, label in parts]
    if not labels or labels[0] != "AddressNumber" or "StreetName" not in labels:
        return None
    pos = 0
    end = None
    street_words = 0
    has_type = False
    for token, label in parts:
        found = segment.find(token, pos)
        if found < 0:
            break
        pos = found + len(token)
        word = token.strip(",.")
        if label == "StreetName":
            street_words += 1
            if street_words > 4:
                return None
        elif label == "StreetNamePostType":
            if fold(word) not in _SUFFIX_WORDS:
                return None
            has_type = True
        elif label in ("OccupancyType", "SubaddressType"):
            if not _UNIT_WORD_RE.fullmatch(word):
                break
        elif label in ("PlaceName",):
            if not word[:1].isupper():
                break
        elif label in ("StateName",):
            if not word.isupper():
                break
        elif label in ("ZipCode",):
            if not re.fullmatch(r"\d{5}(?:-\d{4})?", word):
                break
            has_type = True
        elif label not in _US_LABELS:
            break
        end = pos
        if token.endswith((".", ";")) and label not in _ABBREVIATED:
            break
    if end is None or not has_type or not _NOT_A_NOUN_RE.match(segment, end):
        return None  # "2 Park Avenue notebooks"
    return start + len(segment[:end].rstrip(",. "))


def find_addresses(text: str, masked: str | None = None, *, us: bool = True) -> list[Span]:
    source = masked if masked is not None else mask(text, protected_spans(text))
    spans: list[Span] = []
    for m in _windowed(ADDRESS_RE, source):
        start, end = m.span()
        value = m.group()
        city = _POSTCODE_CITY_RE.match(value)
        if city and fold(city.group(1)) in _NOT_CITY:
            continue
        spans.append((start, end))
    if us:
        for m in _US_CANDIDATE_RE.finditer(source):
            if overlaps((m.start(), m.start() + 1), spans):
                continue
            us_end = _us_extent(source, m.start())
            if us_end is not None and us_end - m.start() >= 8:
                spans.append((m.start(), us_end))
    spans = _merge(sorted(spans), text, _GAP_RE, max_gap=60)
    return [_with_city_before(text, s) for s in spans]


def _with_city_before(text: str, span: Span) -> Span:
    """``London SW1A 1AA``: a postcode takes the place name just before it."""
    start, end = span
    if not _POSTCODE_FIRST_RE.match(text, start):
        return span
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    m = _CITY_BEFORE_RE.search(prefix)
    if m and len(prefix) - m.start(1) <= 40 and not _looks_like_sentence(m.group(1)):
        return line_start + m.start(1), end
    return span


_SENTENCE_WORDS = {"i", "my", "please", "the", "we", "our", "hello", "hi", "dear", "thanks"}


def _looks_like_sentence(words: str) -> bool:
    return any(fold(w.strip(",.")) in _SENTENCE_WORDS for w in words.split())


def _merge(spans: list[Span], text: str, gap_re: re.Pattern[str], max_gap: int) -> list[Span]:
    out: list[Span] = []
    for start, end in spans:
        if out:
            p_start, p_end = out[-1]
            if start <= p_end:
                out[-1] = (p_start, max(p_end, end))
                continue
            gap = text[p_end:start]
            if len(gap) <= max_gap and gap.count("\n") <= 3 and gap_re.match(gap):
                out[-1] = (p_start, end)
                continue
        out.append((start, end))
    return out
