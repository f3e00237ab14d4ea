"""What a buyer wants, offline: keyword and phrase scoring in EN/DE/FR/ES/IT/JA.

Each intent has weighted patterns per language; a message scores every pattern of every
language (buyers mix languages, and the words rarely collide), the subject counts at
a small weight (Amazon's subjects say "Order delivery inquiry", "Return policy inquiry"),
and the highest score wins.  Ties go to the more specific intent (:data:`_PRIORITY`):
"the parcel arrived broken, I want a refund" is about the damage first.  Nothing found:
:attr:`Intent.OTHER`.  Pure functions; no state; any thread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from app.drafting.models import Intent

# (pattern, weight): patterns are regexes over the folded text (lower case, accents
# kept for the regexes to stay readable; ``_fold`` also gives an accent-free copy that
# is searched too).  ``\b`` is not used for Japanese.
_Rules = dict[Intent, tuple[tuple[str, float], ...]]

_RULES: _Rules = {
    Intent.WHERE_IS_MY_ORDER: (
        # en
        (r"\bwhere is my (order|package|parcel|item|delivery|shipment)", 3),
        (
            r"\b(not|never|still not|hasn'?t|has not|haven'?t|"
            r"have not) (yet )?(arrived|received|got|come|been delivered)",
            2.5,
        ),
        (r"\bwhen will (it|my|the)\b.*\b(arrive|ship|be delivered|be sent|come)", 2.5),
        (
            r"\b(has|have) (it|my order|the order|my package|"
            r"the item) (been )?(shipped|dispatched|sent)",
            2.5,
        ),
        (r"\btrack(ing)?( number| info| information| link)?\b", 1.5),
        (r"\b(still )?waiting (for|on) (my|the) (order|package|parcel|item|delivery)", 2.5),
        (r"\b(status|update) (of|on) (my|the) (order|shipment|delivery|package)", 2),
        (r"\b(shipped|dispatched) yet\b", 2),
        (r"\bestimated delivery\b", 1),
        (r"\bdelivery date\b", 1),
        # de
        (r"\bwo (ist|bleibt) (meine|mein|die|das) (bestellung|paket|sendung|lieferung|artikel)", 3),
        (r"\b(noch )?nicht (angekommen|erhalten|geliefert|zugestellt|eingetroffen)", 2.5),
        (r"\bwann (kommt|wird|erhalte|bekomme|ist)\b", 2),
        (r"\b(sendungsverfolgung|sendungsnummer|trackingnummer|tracking-nummer)", 1.5),
        (r"\bschon (versandt|verschickt|versendet|unterwegs)", 2.5),
        (r"\bwarte (noch )?(auf|immer noch auf)", 2),
        (r"\blieferstatus|\bstatus (meiner|der) bestellung", 2),
        # fr
        (r"\bo[uù] (est|en est) (ma|mon|la|le) (commande|colis|livraison|article)", 3),
        (r"\b(pas encore|toujours pas|jamais) (re[cç]u|arriv[ée]|livr[ée])", 2.5),
        (r"\bquand (vais-je|est-ce que je vais|sera|arrivera|recevrai)", 2.5),
        (r"\bnum[ée]ro de suivi|\bsuivi (de|du) (colis|commande)", 1.5),
        (r"\b(d[ée]j[àa] )?(exp[ée]di[ée]e?|envoy[ée]e?) \?", 1.5),
        (r"\bj'?attends (toujours )?(ma|mon)", 2),
        # es
        (r"\bd[óo]nde est[áa] (mi|el) (pedido|paquete|env[íi]o|art[íi]culo)", 3),
        (r"\b(todav[íi]a|a[úu]n) no (ha llegado|he recibido|lleg[óo]|me ha llegado)", 2.5),
        (r"\bno (me )?ha llegado\b", 2.5),
        (r"\bcu[áa]ndo (llegar[áa]|recibir[ée]|se enviar[áa]|va a llegar)", 2.5),
        (r"\bn[úu]mero de seguimiento|\bseguimiento del (pedido|env[íi]o|paquete)", 1.5),
        (r"\bestado de mi pedido", 2),
        # it
        (r"\bdov'?[èe] (il mio|la mia) (ordine|pacco|spedizione|articolo)", 3),
        (r"\b(ancora )?non ([èe] )?(ancora )?(arrivato|ricevuto|stato consegnato|consegnato)", 2.5),
        (r"\bquando (arriver[àa]|ricever[òo]|verr[àa] (spedito|consegnato))", 2.5),
        (r"\bnumero di tracciamento|\btracking\b|\bstato (del|dell'?) ordine", 1.5),
        (r"\b[èe] gi[àa] stato spedito", 2.5),
        # ja
        (r"(まだ)?(届いて|届か|届きません|到着して(い)?ません|受け取って(い)?ません)", 2.5),
        (r"いつ(届|発送|到着)", 2.5),
        (r"(追跡番号|配送状況|発送状況|発送され(まし)?たか)", 2),
    ),
    Intent.DELIVERY_PROBLEM: (
        # en
        (r"\b(marked|shows|says|showing) (as )?delivered\b", 3),
        (r"\bdelivered to (the )?wrong (address|house|person|door)", 3),
        (r"\b(wrong|incorrect) (address|house)\b", 1.5),
        (r"\b(lost|stolen|missing) (package|parcel|in transit|delivery)", 3),
        (r"\b(package|parcel) (was )?(lost|stolen|missing|returned to sender)", 3),
        (r"\breturned to sender\b", 2.5),
        (r"\bnever (got|received) it\b", 1.5),
        (
            r"\b(courier|driver|carrier|postman|usps|ups|fedex|dhl|royal mail|hermes|evri|dpd|gls) "
            r"(left|lost|did not|didn'?t|never|failed|says|claims)",
            2.5,
        ),
        (r"\bfailed delivery|delivery (attempt )?failed|\bcould not be delivered", 3),
        (r"\b(missing|one of the|only (got|received)) (item|part|piece|box)", 1.5),
        # de
        (r"\bals zugestellt (markiert|angezeigt|vermerkt)|\bangeblich (zugestellt|geliefert)", 3),
        (
            r"\b(paket|sendung) (ist )?(verloren|verschwunden|"
            r"gestohlen|zur[üu]ck an (den )?absender)",
            3,
        ),
        (r"\bfalsche(n)? (adresse|hausnummer)|\ban (den|die) falsche(n)? (nachbarn|adresse)", 2.5),
        (r"\bzustellung (ist )?fehlgeschlagen|\bzustellversuch", 2.5),
        (r"\b(nicht|kein) (beim )?nachbarn", 1.5),
        # fr
        (r"\bindiqu[ée] (comme )?livr[ée]|\bmarqu[ée] (comme )?livr[ée]", 3),
        (r"\bcolis (perdu|vol[ée]|[ée]gar[ée]|retourn[ée] [àa] l'exp[ée]diteur)", 3),
        (r"\bmauvaise adresse|\blivr[ée] (chez|[àa]) (un voisin|la mauvaise)", 2.5),
        (r"\b[ée]chec de (la )?livraison", 3),
        # es
        (r"\b(aparece|figura|marcado) como entregado", 3),
        (r"\bpaquete (perdido|robado|extraviado|devuelto al remitente)", 3),
        (r"\bdirecci[óo]n (equivocada|incorrecta)", 2),
        (r"\bentrega fallida|\bno pudo ser entregado", 3),
        (r"\bdevuelt[oa] al remitente", 3),
        # it
        (r"\brisulta (gi[àa] )?consegnato|\bsegnato come consegnato", 3),
        (r"\bpacco (perso|smarrito|rubato|restituito al mittente)", 3),
        (r"\bindirizzo sbagliato|\bconsegnato (a|al) (un vicino|indirizzo sbagliato)", 2.5),
        (r"\bconsegna fallita|\bmancata consegna", 3),
        # ja
        (r"(配達済み|配達完了)(となって|になって|と表示)", 3),
        (r"(紛失|盗難|誤配|違う住所)", 3),
    ),
    Intent.DAMAGED: (
        # en
        (
            r"\b(arrived|came|was|is|were|are|received it|got it) (completely |totally )?"
            r"(broken|damaged|cracked|smashed|shattered|dented|torn|scratched|leaking|crushed)",
            3,
        ),
        (r"\b(broken|damaged|cracked|smashed|shattered|dented|scratched|leaking|crushed)\b", 2),
        (
            r"\b(doesn'?t|does not|didn'?t|did not|won'?t|will not|stopped|no longer) "
            r"(work|working|turn on|switch on|charge|power on|start)",
            3,
        ),
        (
            r"\b(defective|faulty|not working|dead on arrival|malfunction(ing|s)?|stopped working)",
            3,
        ),
        (r"\b(missing|no) (parts?|pieces?|screws?|charger|cable|instructions)\b", 1.5),
        (r"\bquality (is|was) (poor|bad|terrible)", 1),
        (r"\bphotos?\b.*\b(damage|broken)", 1),
        # de
        (
            r"\b(kaputt|besch[äa]digt|defekt|zerbrochen|gebrochen|"
            r"zerkratzt|ausgelaufen|eingedr[üu]ckt|gerissen)",
            3,
        ),
        (r"\b(funktioniert|geht|l[äa]dt|startet) (nicht|nicht mehr|gar nicht)", 3),
        (r"\bl[äa]sst sich nicht (einschalten|laden|öffnen)", 3),
        # fr
        (
            r"\b(cass[ée]e?s?|endommag[ée]e?s?|ab[îi]m[ée]e?s?|"
            r"d[ée]fectueu(x|se)|fissur[ée]e?|bris[ée]e?|ray[ée]e?)",
            3,
        ),
        (r"\bne (fonctionne|marche|s'allume|charge) (pas|plus)", 3),
        (r"\bhors service|\ben panne", 2.5),
        # es
        (
            r"\b(roto|rota|da[ñn]ado|da[ñn]ada|defectuos[oa]|estropead[oa]|rayad[oa]|agrietad[oa])",
            3,
        ),
        (r"\bno (funciona|enciende|carga|arranca)", 3),
        # it
        (
            r"\b(rott[oaie]|danneggiat[oaie]|difettos[oaie]|"
            r"graffiat[oaie]|ammaccat[oaie]|crepat[oaie])",
            3,
        ),
        (r"\bnon (funziona|si accende|si carica|parte)", 3),
        # ja
        (
            r"(壊れ|破損|割れ|傷が|へこみ|初期不良|不良品|動かな|作動しな|電源が入らな|充電できな)",
            3,
        ),
    ),
    Intent.RETURN_REFUND: (
        # en
        (r"\b(return|send back|send it back|ship it back)\b", 2),
        (r"\b(refund|money back|reimburse(ment)?)\b", 2.5),
        (r"\breturn (label|policy|window|request)", 2),
        (r"\bhow (do|can) i return", 3),
        (r"\b(don'?t|do not|no longer) (want|need|like) (it|this|them|the)", 1.5),
        (r"\bchanged my mind\b", 1.5),
        # de
        (
            r"\b(zur[üu]cksenden|zur[üu]ckschicken|r[üu]cksendung|"
            r"retoure|retournieren|zur[üu]ckgeben)",
            2.5,
        ),
        (r"\b(erstattung|r[üu]ckerstattung|geld zur[üu]ck|erstatten|gutschrift)", 2.5),
        (r"\bwiderruf|\br[üu]cksendeetikett", 2.5),
        # fr
        (r"\b(retourner|retour|renvoyer|renvoi)\b", 2),
        (r"\b(rembourse(ment|r|z)?|rembours[ée])", 2.5),
        (r"\b[ée]tiquette de retour", 2.5),
        # es
        (r"\b(devolver|devoluci[óo]n|devuelvo)", 2.5),
        (r"\b(reembolso|reembolsar|me devuelvan el dinero)", 2.5),
        # it
        (r"\b(restituire|reso|restituzione|rimandare indietro)", 2.5),
        (r"\b(rimborso|rimborsare|rimborsato)", 2.5),
        # ja
        (r"(返品|返金|払い戻し|返送)", 3),
    ),
    Intent.EXCHANGE_SIZE: (
        # en
        (r"\b(exchange|swap|replace(ment)?)\b", 2.5),
        (
            r"\b(too (small|big|large|tight|loose|short|"
            r"long)|doesn'?t fit|does not fit|didn'?t fit)",
            2.5,
        ),
        (r"\b(different|another|bigger|smaller|larger) (size|colou?r)\b", 3),
        (r"\bsize (up|down)\b|\bwrong (size|colou?r|item|model|product)\b", 2.5),
        (r"\bsent (me )?the wrong\b", 2),
        # de
        (r"\b(umtausch|umtauschen|tauschen|austausch|ersatz(lieferung)?)", 2.5),
        (r"\b(zu (klein|gro[ßs]|eng|weit|kurz|lang)|passt nicht)", 2.5),
        (
            r"\b(andere|gr[öo][ßs]ere|kleinere) (gr[öo][ßs]e|"
            r"farbe)|\bfalsche (gr[öo][ßs]e|farbe|artikel)",
            3,
        ),
        # fr
        (r"\b([ée]changer|[ée]change|remplacement|remplacer)\b", 2.5),
        (r"\b(trop (petit|grand|serr[ée]|large|court|long)e?|ne (me )?va pas)", 2.5),
        (r"\b(autre|plus grande|plus petite) (taille|couleur)|\bmauvaise (taille|couleur)", 3),
        # es
        (r"\b(cambiar|cambio|reemplazo|sustituir)\b", 2),
        (r"\b(me queda|es) (peque[ñn]o|grande|pequeña|estrecho|corto|largo)|\bno me queda", 2.5),
        (
            r"\b(otra|otro) (talla|color)|\btalla (m[áa]s )?(grande|peque[ñn]a)|\btalla equivocada",
            3,
        ),
        # it
        (r"\b(cambiare|cambio|sostituire|sostituzione)\b", 2),
        (r"\b(troppo (piccol|grand|stretto|cort|lung)[oaie]?|non mi va|non mi sta)", 2.5),
        (
            r"\b(altra|un'?altra) (taglia|misura|colore)|"
            r"\btaglia (pi[ùu] )?(grande|piccola)|\btaglia sbagliata",
            3,
        ),
        # ja
        (r"(交換|サイズ違い|サイズが(合わ|小さ|大き)|別のサイズ|色違い)", 3),
    ),
    Intent.PRODUCT_QUESTION: (
        # en
        (r"\b(is|does|can|will|are|do) (it|this|the|these|they)\b.*\?", 1.5),
        (
            r"\b(compatible|compatibility|dimensions?|material|made of|dishwasher|waterproof|"
            r"weight|size chart|warranty|battery|voltage|"
            r"instructions|manual|how to use|ingredients)\b",
            2,
        ),
        (r"\b(do you have|is there) (it|this|a|an|any)\b", 1.5),
        (r"\b(in stock|restock|available in)\b", 2),
        (r"\bbefore (i )?(buy|order|purchas)", 2.5),
        # de
        (r"\b(passt|ist|hat|kann) (das|der|die|es)\b.*\?", 1.5),
        (
            r"\b(kompatibel|ma[ßs]e|abmessungen|material|sp[üu]lmaschinenfest|wasserdicht|gewicht|"
            r"garantie|bedienungsanleitung|anleitung|akku)",
            2,
        ),
        (r"\bvor dem kauf|\bbevor ich (bestelle|kaufe)", 2.5),
        # fr
        (
            r"\b(compatible|dimensions|mat[ée]riau|taille|lave-vaisselle|"
            r"[ée]tanche|poids|garantie|notice|mode d'emploi)\b",
            2,
        ),
        (r"\best-ce que (le|la|ce|cet|cette|il|elle)\b", 1.5),
        (r"\bavant (d'acheter|de commander)", 2.5),
        # es
        (
            r"\b(compatible|dimensiones|medidas|material|lavavajillas|"
            r"impermeable|peso|garant[íi]a|manual|instrucciones)\b",
            2,
        ),
        (r"\bantes de (comprar|pedir)", 2.5),
        # it
        (
            r"\b(compatibile|dimensioni|misure|materiale|lavastoviglie|"
            r"impermeabile|peso|garanzia|manuale|istruzioni)\b",
            2,
        ),
        (r"\bprima di (acquistare|ordinare|comprare)", 2.5),
        # ja
        (r"(対応して|互換|サイズ|寸法|素材|材質|食洗機|防水|重さ|保証|説明書|使い方|在庫)", 2),
        (r"(ですか|ますか)[？?]", 1),
    ),
    Intent.CANCELLATION: (
        # en
        (r"\bcancel+(ation|ed|ing)?\b", 3),
        (r"\b(stop|withdraw) (the|my) (order|shipment)", 2.5),
        (r"\bordered (it )?by (mistake|accident)|\baccidentally (ordered|bought)", 2.5),
        # de
        (r"\b(stornieren|stornierung|storno|storniere|abbestellen|abbrechen)", 3),
        (r"\bversehentlich (bestellt|gekauft)", 2.5),
        # fr
        (r"\b(annuler|annulation|annulez|annul[ée]e?)", 3),
        (r"\bcommand[ée] par erreur", 2.5),
        # es
        (r"\b(cancelar|cancelaci[óo]n|anular)", 3),
        (r"\bped[íi] por error|\bcomprado por error", 2.5),
        # it
        (r"\b(annullare|annullamento|cancellare|disdire)", 3),
        (r"\bordinato per errore", 2.5),
        # ja
        (r"(キャンセル|取り消し|取消)", 3),
    ),
    Intent.ADDRESS_CHANGE: (
        # en
        (r"\b(change|update|correct|fix|modify) (the |my )?(shipping |delivery )?address", 4),
        (r"\b(wrong|old|incorrect) address\b.*\b(entered|put|typed|used|gave)", 3),
        (r"\b(ship|send|deliver) it to (a )?(different|another|new) address", 4),
        (r"\bnew address\b", 2),
        (r"\b(i )?moved\b", 1),
        # de
        (r"\b(adresse|lieferadresse|anschrift) ([äa]ndern|korrigieren|aktualisieren)", 4),
        (
            r"\b([äa]ndern|korrigieren) (sie )?(bitte )?(die|"
            r"meine) (adresse|lieferadresse|anschrift)",
            4,
        ),
        (r"\b(neue|andere) (adresse|lieferadresse|anschrift)", 3),
        (r"\bumgezogen", 2),
        # fr
        (r"\b(changer|modifier|corriger) (l'|mon |ma )?(adresse)", 4),
        (r"\b(nouvelle|autre) adresse", 3),
        (r"\bd[ée]m[ée]nag[ée]", 2),
        # es
        (r"\b(cambiar|modificar|corregir) (la |mi )?direcci[óo]n", 4),
        (r"\b(nueva|otra) direcci[óo]n", 3),
        (r"\bme he mudado|\bme mud[ée]", 2),
        # it
        (r"\b(cambiare|modificare|correggere) (l'|il mio |la mia )?indirizzo", 4),
        (r"\b(nuovo|altro) indirizzo", 3),
        (r"\btraslocato|\bcambiato casa", 2),
        # ja
        (r"(住所|お届け先|配送先)(を|の)?(変更|修正|間違)", 4),
    ),
    Intent.INVOICE_VAT: (
        # en
        (r"\b(invoice|vat|receipt|tax (invoice|receipt)|billing document|bill)\b", 3),
        # de
        (r"\b(rechnung|mwst|mehrwertsteuer|ust|umsatzsteuer|quittung|beleg)", 3),
        # fr
        (r"\b(facture|tva|un re[çc]u)\b", 3),
        # es
        (r"\b(factura|iva|recibo)\b", 3),
        # it
        (r"\b(fattura|iva|ricevuta|scontrino)\b", 3),
        # ja
        (r"(領収書|請求書|インボイス|適格請求書)", 3),
    ),
}

#: Tie-breaker: the more specific intent wins an equal score.
_PRIORITY = (
    Intent.ADDRESS_CHANGE,
    Intent.CANCELLATION,
    Intent.DAMAGED,
    Intent.EXCHANGE_SIZE,
    Intent.RETURN_REFUND,
    Intent.INVOICE_VAT,
    Intent.DELIVERY_PROBLEM,
    Intent.WHERE_IS_MY_ORDER,
    Intent.PRODUCT_QUESTION,
)

#: Amazon's subject lines (all marketplaces): a hint at half weight.
_SUBJECT_HINTS: tuple[tuple[str, Intent], ...] = (
    (
        r"delivery inquiry|lieferanfrage|demande de livraison|consulta de entrega|"
        r"richiesta (di|sulla) consegna|配送に関する",
        Intent.WHERE_IS_MY_ORDER,
    ),
    (r"return|rücksendung|retour|devoluci|reso|返品", Intent.RETURN_REFUND),
    (
        r"product details|produktdetails|détails du produit|detalles del producto|"
        r"dettagli (del|sul) prodotto|商品の詳細",
        Intent.PRODUCT_QUESTION,
    ),
    (r"cancel|stornier|annul|cancelaci|annullament|キャンセル", Intent.CANCELLATION),
)


@cache
def _compiled() -> tuple[
    tuple[tuple[Intent, tuple[tuple[re.Pattern[str], float], ...]], ...],
    tuple[tuple[re.Pattern[str], Intent], ...],
]:
    """The rules compiled once, on first use (not at import: it is on the app's startup
    path through the services)."""
    rules = tuple(
        (intent, tuple((re.compile(p, re.IGNORECASE), w) for p, w in patterns))
        for intent, patterns in _RULES.items()
    )
    hints = tuple((re.compile(p, re.IGNORECASE), i) for p, i in _SUBJECT_HINTS)
    return rules, hints


#: Amazon's subject alone is enough when the text says nothing clear; any clear words
#: in the text outweigh it.
_SUBJECT_WEIGHT = 1.5
#: Below this nothing is said clearly enough: OTHER.
_THRESHOLD = 1.5


def _fold(text: str) -> str:
    """Lower case with accents removed (buyers often type without them)."""
    lowered = text.lower().replace("’", "'")
    return "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )


def scores(text: str, subject: str = "") -> dict[Intent, float]:
    """Each intent's score for ``text`` (and the subject's hint); for tests and tuning."""
    result: dict[Intent, float] = {}
    variants = _variants(text)
    compiled, hints = _compiled()
    for intent, rules in compiled:
        total = 0.0
        for pattern, weight in rules:
            if any(pattern.search(v) for v in variants):
                total += weight
        if total:
            result[intent] = total
    for pattern, intent in hints:
        if subject and pattern.search(subject):
            result[intent] = result.get(intent, 0.0) + _SUBJECT_WEIGHT
    return result


def _variants(text: str) -> tuple[str, ...]:
    lowered = text.lower().replace("’", "'")
    folded = _fold(text)
    return (lowered,) if folded == lowered else (lowered, folded)


def detect_intent(text: str, subject: str = "", language: str | None = None) -> Intent:
    """The buyer's intent in ``text`` (placeholders such as ``[NAME]`` are fine).

    ``language`` is accepted for callers that know it; the rules of every language are
    scored anyway (a German buyer writing "refund" still wants one)."""
    del language  # every language's rules apply; kept for the callers' signature
    found = scores(text, subject)
    return best(found)


def best(found: dict[Intent, float]) -> Intent:
    """The winning intent of :func:`scores` (ties by specificity), OTHER below the bar."""
    if not found:
        return Intent.OTHER
    top = max(found.values())
    if top < _THRESHOLD:
        return Intent.OTHER
    for intent in _PRIORITY:
        if found.get(intent) == top:
            return intent
    return Intent.OTHER


def detect_thread_intent(buyer_texts: Iterable[str], subject: str = "") -> Intent:
    """The intent of a conversation: the newest buyer message decides; when it says
    nothing clear ("any news?"), the earlier ones do."""
    texts = list(buyer_texts)
    for text in reversed(texts):
        intent = detect_intent(text, subject)
        if intent is not Intent.OTHER:
            return intent
    return detect_intent(" ".join(texts), subject)
