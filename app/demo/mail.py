"""Demo mail: a Maildir of realistic Amazon relay emails tied to the demo orders.

The demo store's mailbox is a local Maildir (``MailboxKind.MAILDIR``).  It is seeded once
with about sixty buyer messages (:func:`seed_demo_mailbox`) and, while the demo runs,
:class:`DemoMailFeed` drops in a new one every few minutes (:func:`deliver_one`).

The emails follow Amazon's relay format (``../shared/samples/emails``): From an alias
``<14 chars>@marketplace.amazon.<tld>`` with the display name ``"<first name> - Amazon
Marketplace"``, localized subjects with the order id, the buyer's text between the
``Begin message``/``End message`` markers, then the "no response needed" link, the
privacy footer and a ``[commMgrTok:…]`` token.  Bodies come as quoted-printable,
base64, HTML-only, multipart/alternative, other charsets (ISO-8859-1, ISO-2022-JP) and
multipart/mixed with a photo (a small generated PNG).

Threads cover US, CA, UK, DE, FR, ES, IT and JP (JP: pre-sale questions only, the demo
seller has no JP orders), the usual intents, follow-ups with two or three buyer
messages, threads already answered (a copy of the seller's reply in the Maildir++
``.Sent`` folder, To the alias, ``In-Reply-To``/``References`` set), and unanswered
threads placed on the 24-hour clock relative to ``now``: overdue, under 2 h left, under
6 h left, more time left.  Everything is deterministic for a ``(seed, now, orders)``
except the Maildir file names (``mailbox.Maildir`` picks them; it writes each file in
``tmp/`` and renames it, so a reader never sees half a message).

Buyers are fictional placeholder names ("Alex Sample", "Max Mustermann", "Mario
Rossi" …); no text here is real buyer data.  Nothing here logs message content.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import random
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.demo.fake_spapi_catalog import CATALOG, Product

if TYPE_CHECKING:
    from app.clock import Clock
    from app.demo.seed_orders import OrderStore

log = logging.getLogger("muttefik.demo")

DEMO_SELLER_ADDRESS = "seller@demo-shop.example"
DEMO_MAILDIR_NAME = "demo-mail"
SENT_FOLDER = "Sent"  # Maildir++: the ``.Sent`` subfolder
FEED_INTERVAL_SECONDS = 240.0

BEGIN = "------------- Begin message -------------"
END = "------------- End message -------------"

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


# --- orders the messages refer to ------------------------------------------------------


@dataclass(frozen=True)
class DemoOrder:
    """What a buyer message needs to know of one demo order (no buyer data)."""

    order_id: str
    country: str  # the marketplace's country code: US, CA, GB, DE, FR, IT, ES
    status: str  # fulfilment status (UNSHIPPED, SHIPPED, CANCELLED …)
    delivered: bool
    created: datetime  # aware
    asin: str
    product_title: str


def demo_orders(store: OrderStore, *, limit: int = 400) -> list[DemoOrder]:
    """The ``limit`` most recent orders of the fake seller, newest first."""
    out: list[DemoOrder] = []
    for order_id in reversed(store.order_ids()[-limit:]):
        rec = store.get(order_id)
        if rec is None:  # removed meanwhile
            continue
        rendered = store.render(rec, frozenset())
        product = rendered["orderItems"][0]["product"]
        out.append(
            DemoOrder(
                order_id=order_id,
                country=rec.mkt.country,
                status=rec.status,
                delivered=rec.pkg_status == "DELIVERED",
                created=datetime.fromtimestamp(rec.created, UTC),
                asin=str(product["asin"]),
                product_title=str(product["title"]),
            )
        )
    return out


# --- marketplaces and languages -----------------------------------------------------


@dataclass(frozen=True)
class _Market:
    country: str  # as in DemoOrder.country
    tld: str  # amazon.<tld>
    lang: str


_MARKETS = {
    m.country: m
    for m in (
        _Market("US", "com", "en"),
        _Market("CA", "ca", "en"),
        _Market("GB", "co.uk", "en"),
        _Market("DE", "de", "de"),
        _Market("FR", "fr", "fr"),
        _Market("ES", "es", "es"),
        _Market("IT", "it", "it"),
        _Market("JP", "co.jp", "ja"),
    )
}

# Clearly fictional placeholder names ("John Doe" in each language); Amazon shows the
# buyer's first name (JP: the family name).
_NAMES = {
    "en": (
        "Alex Sample",
        "Jordan Example",
        "Sam Placeholder",
        "Taylor Testbuyer",
        "Robin Fictional",
        "Chris Demo",
        "Casey Specimen",
        "Morgan Mockup",
    ),
    "de": ("Max Mustermann", "Erika Musterfrau", "Otto Normalverbraucher", "Lieschen Müller"),
    "fr": ("Jean Dupont", "Marie Durand", "Camille Exemple", "Lucien Lambda"),
    "es": ("Fulano Detal", "Mengana Pérez", "Zutano Ejemplo"),
    "it": ("Mario Rossi", "Tizio Caio", "Giulia Esempio"),
    "ja": ("山田 太郎", "山田 花子", "佐藤 例子"),
}


def _shown_name(full: str, lang: str) -> str:
    parts = full.split()
    return parts[0] if parts else full


# Subject kinds: delivery, return, product, inquiry, message.
_SUBJECTS = {
    "en": {
        "delivery": "Order delivery inquiry from Amazon customer {name}",
        "return": "Return policy inquiry from Amazon customer {name}",
        "product": "Product details inquiry from Amazon customer {name}",
        "inquiry": "Inquiry from Amazon customer {name}",
        "message": "Message from Amazon customer {name}",
        "order": " (Order: {order_id})",
    },
    "de": {
        "delivery": "Anfrage zur Lieferung von Amazon-Kunde {name}",
        "return": "Anfrage zu den Rücksendebedingungen von Amazon-Kunde {name}",
        "product": "Anfrage zu Produktdetails von Amazon-Kunde {name}",
        "inquiry": "Anfrage von Amazon-Kunde {name}",
        "message": "Nachricht von Amazon-Kunde {name}",
        "order": " (Bestellung: {order_id})",
    },
    "fr": {
        "delivery": "Demande de renseignements sur la livraison du client Amazon {name}",
        "return": "Demande concernant la politique de retour du client Amazon {name}",
        "product": "Demande de détails sur le produit du client Amazon {name}",
        "inquiry": "Demande de renseignements du client Amazon {name}",
        "message": "Message du client Amazon {name}",
        "order": " (Commande : {order_id})",
    },
    "es": {
        "delivery": "Consulta sobre la entrega del cliente de Amazon {name}",
        "return": "Consulta sobre la política de devoluciones del cliente de Amazon {name}",
        "product": "Consulta sobre detalles del producto del cliente de Amazon {name}",
        "inquiry": "Consulta del cliente de Amazon {name}",
        "message": "Mensaje del cliente de Amazon {name}",
        "order": " (Pedido: {order_id})",
    },
    "it": {
        "delivery": "Richiesta di informazioni sulla consegna dal cliente Amazon {name}",
        "return": "Richiesta sulla politica di reso dal cliente Amazon {name}",
        "product": "Richiesta di dettagli sul prodotto dal cliente Amazon {name}",
        "inquiry": "Richiesta dal cliente Amazon {name}",
        "message": "Messaggio dal cliente Amazon {name}",
        "order": " (Ordine: {order_id})",
    },
    "ja": {
        "delivery": "Amazonのお客様 {name} 様から配送に関するお問い合わせ",
        "return": "Amazonのお客様 {name} 様から返品に関するお問い合わせ",
        "product": "Amazonのお客様 {name} 様から商品詳細に関するお問い合わせ",
        "inquiry": "Amazonのお客様 {name} 様からのお問い合わせ",
        "message": "Amazonのお客様 {name} 様からのメッセージ",
        "order": " (注文番号: {order_id})",
    },
}

_FOOTERS = {
    "en": (
        "Resolve case: no response needed",
        "To mark this message as no response needed, click here:",
        "Important: To protect your privacy, Amazon keeps your e-mail address confidential "
        "when you contact a seller. Amazon retains all messages sent and received for two "
        "years.",
    ),
    "de": (
        "Fall lösen: Keine Antwort erforderlich",
        "Um diese Nachricht als 'Keine Antwort erforderlich' zu markieren, klicken Sie hier:",
        "Wichtig: Zum Schutz Ihrer Privatsphäre hält Amazon Ihre E-Mail-Adresse vertraulich, "
        "wenn Sie einen Verkäufer kontaktieren. Amazon bewahrt alle gesendeten und "
        "empfangenen Nachrichten zwei Jahre lang auf.",
    ),
    "fr": (
        "Résoudre le cas : aucune réponse nécessaire",
        "Pour marquer ce message comme ne nécessitant pas de réponse, cliquez ici :",
        "Important : pour protéger votre vie privée, Amazon garde votre adresse e-mail "
        "confidentielle lorsque vous contactez un vendeur. Amazon conserve tous les messages "
        "envoyés et reçus pendant deux ans.",
    ),
    "es": (
        "Resolver caso: no es necesario responder",
        "Para marcar este mensaje como que no necesita respuesta, haz clic aquí:",
        "Importante: para proteger tu privacidad, Amazon mantiene tu dirección de correo "
        "electrónico confidencial cuando te pones en contacto con un vendedor. Amazon "
        "conserva todos los mensajes enviados y recibidos durante dos años.",
    ),
    "it": (
        "Risolvi caso: nessuna risposta necessaria",
        "Per contrassegnare questo messaggio come non necessita di risposta, fai clic qui:",
        "Importante: per proteggere la tua privacy, Amazon mantiene riservato il tuo "
        "indirizzo e-mail quando contatti un venditore. Amazon conserva tutti i messaggi "
        "inviati e ricevuti per due anni.",
    ),
    "ja": (
        "ケースの解決: 返信不要",
        "このメッセージを返信不要としてマークするには、こちらをクリックしてください:",
        "重要: お客様のプライバシーを保護するため、出品者に連絡する際、Amazonはお客様の"
        "Eメールアドレスを非公開にしています。Amazonは送受信されたすべてのメッセージを2年間"
        "保管します。",
    ),
}

# The buyer's words per language and intent ({product}, {asin}, {name} are filled in).
_INTENT_KIND = {
    "where": "delivery",
    "address": "delivery",
    "return": "return",
    "damaged": "inquiry",
    "invoice": "message",
    "cancel": "message",
    "question": "product",
    "presale": "product",
}

_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "where": (
            "Hi, my order was supposed to arrive two days ago and the tracking has not "
            "moved since. Can you check where it is?\nThanks, {name}",
            "Hello, I haven't received the {product} yet. Is it still on its way?",
        ),
        "return": (
            "Hi, the {product} is not what I expected. How do I return it for a refund?",
            "Hello, I ordered the wrong size. Can I send it back and get a replacement?",
        ),
        "damaged": (
            "The {product} arrived damaged, the box was crushed. Photo attached. What should I do?",
            "Photo of the broken item attached. Can you send a replacement please?",
        ),
        "invoice": (
            "Hello, could you please send me a VAT invoice for this order? I need it for "
            "my business expenses.",
            "Hi, I need an invoice with my company name for this order. Thank you.",
        ),
        "address": (
            "Hi, I just noticed I used my old address. Can you change the delivery address "
            "before it ships?",
        ),
        "cancel": (
            "Please cancel this order, I ordered it twice by mistake.",
            "Hi, can I still cancel? I found I don't need the {product} anymore.",
        ),
        "question": (
            "Hi, I received the {product}. Is it dishwasher safe? The manual doesn't say.",
            "Does the {product} come with a warranty? Where do I register it?",
        ),
        "presale": (
            "Hello, does the {product} (ASIN {asin}) come in another colour?",
            "Before I order: what are the exact dimensions of the {product} (ASIN {asin})?",
            "Do you ship the {product} (ASIN {asin}) to Alaska, and how long does it take?",
        ),
        "followup": (
            "Any update on this? I haven't heard back.",
            "Thanks for getting back to me. When can I expect to hear more?",
            "Thank you. Just to confirm: do I need to do anything else on my side?",
        ),
    },
    "de": {
        "where": (
            "Hallo, meine Bestellung sollte vorgestern ankommen, die Sendungsverfolgung "
            "zeigt seit Tagen nichts Neues. Können Sie nachsehen?\nViele Grüße, {name}",
            "Guten Tag, wo bleibt mein Paket? Ich warte schon eine Woche.",
        ),
        "return": (
            "Hallo, der Artikel gefällt mir leider nicht. Wie kann ich ihn zurücksenden?",
            "Guten Tag, ich möchte von meinem Widerrufsrecht Gebrauch machen. Bitte "
            "schicken Sie mir ein Rücksendeetikett.",
        ),
        "damaged": (
            "Der Artikel ist beschädigt angekommen, die Verpackung war eingedrückt. Foto im "
            "Anhang. Was nun?",
        ),
        "invoice": (
            "Guten Tag, bitte senden Sie mir eine Rechnung mit ausgewiesener Mehrwertsteuer "
            "für diese Bestellung. Danke!",
            "Hallo, ich brauche eine Rechnung auf meine Firma. Ist das möglich?",
        ),
        "address": (
            "Hallo, ich bin umgezogen. Können Sie die Lieferadresse noch ändern, bevor das "
            "Paket verschickt wird?",
        ),
        "cancel": (
            "Bitte stornieren Sie die Bestellung, ich habe versehentlich doppelt bestellt.",
        ),
        "question": (
            "Hallo, ist der Artikel spülmaschinenfest? In der Anleitung steht dazu nichts.",
        ),
        "presale": (
            "Guten Tag, ist {product} (ASIN {asin}) auch in Schwarz erhältlich?",
            "Hallo, wie lange dauert der Versand nach Österreich für {product} (ASIN {asin})?",
        ),
        "followup": (
            "Gibt es schon Neuigkeiten? Ich habe noch keine Antwort bekommen.",
            "Danke. Muss ich meinerseits noch etwas tun?",
        ),
    },
    "fr": {
        "where": (
            "Bonjour, ma commande devait arriver avant-hier et le suivi n'a pas bougé depuis "
            "trois jours. Pouvez-vous vérifier ?\nMerci, {name}",
        ),
        "return": ("Bonjour, l'article ne me convient pas. Comment puis-je le retourner ?",),
        "damaged": (
            "Bonjour, le colis est arrivé abîmé et l'article est cassé. Photo en pièce jointe. "
            "Que dois-je faire ?",
        ),
        "invoice": (
            "Bonjour, pourriez-vous m'envoyer une facture avec la TVA pour cette commande ?",
        ),
        "address": (
            "Bonjour, je me suis trompé d'adresse. Est-il possible de la modifier avant "
            "l'expédition ?",
        ),
        "cancel": ("Bonjour, je souhaite annuler cette commande, merci.",),
        "question": ("Bonjour, l'article est-il compatible avec les plaques à induction ?",),
        "presale": ("Bonjour, le produit {product} (ASIN {asin}) est-il garanti deux ans ?",),
        "followup": (
            "Bonjour, avez-vous des nouvelles ? Je n'ai pas eu de réponse.",
            "Merci. Dois-je faire quelque chose de mon côté ?",
        ),
    },
    "es": {
        "where": (
            "Hola, mi pedido tenía que llegar hace dos días y el seguimiento no se ha "
            "actualizado. ¿Pueden revisarlo?\nGracias, {name}",
        ),
        "return": ("Hola, quiero devolver el artículo. ¿Cómo lo hago?",),
        "damaged": ("Hola, el artículo llegó roto. Adjunto una foto. ¿Me pueden enviar otro?",),
        "invoice": ("Hola, ¿me pueden enviar la factura con IVA de este pedido?",),
        "address": ("Hola, ¿puedo cambiar la dirección de entrega? Me he mudado.",),
        "cancel": ("Hola, por favor cancelen este pedido. Gracias.",),
        "question": ("Hola, ¿el producto se puede lavar en el lavavajillas?",),
        "presale": ("Hola, ¿el producto {product} (ASIN {asin}) viene con garantía?",),
        "followup": ("¿Hay alguna novedad? Todavía no he recibido respuesta.",),
    },
    "it": {
        "where": (
            "Buongiorno, il mio ordine doveva arrivare due giorni fa e il tracciamento è "
            "fermo. Potete verificare?\nGrazie, {name}",
        ),
        "return": ("Buongiorno, vorrei restituire l'articolo. Come devo fare?",),
        "damaged": (
            "Buongiorno, l'articolo è arrivato danneggiato. Allego una foto. Cosa devo fare?",
        ),
        "invoice": ("Buongiorno, potete inviarmi la fattura con partita IVA per questo ordine?",),
        "address": ("Buongiorno, posso cambiare l'indirizzo di consegna prima della spedizione?",),
        "cancel": ("Buongiorno, vorrei annullare l'ordine, grazie.",),
        "question": ("Buongiorno, il prodotto è compatibile con il piano a induzione?",),
        "presale": ("Buongiorno, il prodotto {product} (ASIN {asin}) è disponibile in nero?",),
        "followup": ("Ci sono novità? Non ho ancora ricevuto risposta.",),
    },
    "ja": {
        "presale": (
            "こんにちは。{product}（ASIN {asin}）は日本へ発送できますか？お届けまでの日数も"
            "教えてください。",
            "{product}（ASIN {asin}）の保証期間を教えてください。",
        ),
        "followup": ("お返事をお待ちしております。よろしくお願いいたします。",),
    },
}

_REPLIES = {
    "en": (
        "Hello {name},\n\nThank you for your message. We have looked into it and will take "
        "care of it today. We will send you an update as soon as we have one.\n\n"
        "Kind regards,\nDemo Shop"
    ),
    "de": (
        "Hallo {name},\n\nvielen Dank für Ihre Nachricht. Wir kümmern uns heute darum und "
        "melden uns, sobald es Neuigkeiten gibt.\n\nFreundliche Grüße\nDemo Shop"
    ),
    "fr": (
        "Bonjour {name},\n\nMerci pour votre message. Nous nous en occupons aujourd'hui et "
        "revenons vers vous rapidement.\n\nCordialement,\nDemo Shop"
    ),
    "es": (
        "Hola {name}:\n\nGracias por tu mensaje. Lo revisamos hoy mismo y te escribimos en "
        "cuanto sepamos más.\n\nUn saludo,\nDemo Shop"
    ),
    "it": (
        "Buongiorno {name},\n\ngrazie per il messaggio. Ce ne occupiamo oggi stesso e la "
        "aggiorneremo al più presto.\n\nCordiali saluti,\nDemo Shop"
    ),
    "ja": (
        "{name} 様\n\nお問い合わせいただきありがとうございます。本日確認のうえ、改めてご連絡"
        "いたします。\n\nDemo Shop"
    ),
}

# Which orders suit an intent (checked in this order; the first with candidates wins).
_ORDER_FIT: dict[str, Callable[[DemoOrder], bool]] = {
    "where": lambda o: o.status in ("SHIPPED", "PARTIALLY_SHIPPED") and not o.delivered,
    "address": lambda o: o.status in ("UNSHIPPED", "PENDING", "PENDING_AVAILABILITY"),
    "cancel": lambda o: o.status in ("UNSHIPPED", "PENDING", "PENDING_AVAILABILITY"),
    "return": lambda o: o.delivered,
    "damaged": lambda o: o.delivered,
    "invoice": lambda o: o.status in ("SHIPPED", "PARTIALLY_SHIPPED"),
    "question": lambda o: o.delivered,
}


def _any_order(order: DemoOrder) -> bool:
    return True


# --- one relay email ----------------------------------------------------------------


class Encoding:
    """How a buyer email's body is written (the relay uses all of these)."""

    QP = "qp"  # text/plain, UTF-8, quoted-printable (most messages)
    BASE64 = "base64"  # text/plain, UTF-8, base64
    HTML = "html"  # text/html only
    ALTERNATIVE = "alternative"  # multipart/alternative: text + HTML
    LEGACY = "legacy"  # text/plain in the language's legacy charset


_LEGACY_CHARSET = {"de": "iso-8859-1", "fr": "iso-8859-1", "es": "iso-8859-1",
                   "it": "iso-8859-1", "ja": "iso-2022-jp", "en": "us-ascii"}  # fmt: skip


@dataclass(frozen=True)
class RelayEmail:
    """One buyer message as the relay would deliver it (input to :func:`build_relay_email`)."""

    alias: str  # full relay address, e.g. "ab12…@marketplace.amazon.de"
    buyer_name: str  # shown first name
    subject: str
    date: datetime  # aware
    text: str  # the buyer's words
    lang: str
    message_id: str  # without <>
    msg_token: str  # the no-response-needed "msg" parameter (20 chars)
    to: str = DEMO_SELLER_ADDRESS
    encoding: str = Encoding.QP
    photo: tuple[str, bytes] | None = None  # (filename, PNG bytes)
    in_reply_to: str | None = None  # without <>
    references: tuple[str, ...] = ()
    quoted: str | None = None  # earlier text the buyer's mail client quoted


def _sellercentral(alias: str) -> str:
    domain = alias.rpartition("@")[2]  # marketplace.amazon.<tld>
    return "sellercentral." + domain.removeprefix("marketplace.")


def relay_body(mail: RelayEmail) -> str:
    """The plain text body: markers, buyer text, no-response link, footer, token."""
    resolve, click, privacy = _FOOTERS[mail.lang]
    url = (
        f"https://{_sellercentral(mail.alias)}/gp/communication-manager/"
        f"no-response-needed.html?msg={mail.msg_token}"
    )
    inner = mail.text
    if mail.quoted:
        quoted = "\n".join("> " + line if line else ">" for line in mail.quoted.splitlines())
        inner = f"{inner}\n\n{quoted}"
    return (
        f"{BEGIN}\n\n{inner}\n\n{END}\n\n\n{resolve}\n{click}\n{url}\n\n{privacy}\n"
        f"[commMgrTok:A{mail.msg_token[:12]}]\n"
    )


def _html(text: str) -> str:
    from html import escape

    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.split("\n"))
    return f"<html><body>{paragraphs}</body></html>"


def build_relay_email(mail: RelayEmail) -> EmailMessage:
    """The relay email for ``mail`` (headers as Amazon sends them)."""
    msg = EmailMessage(policy=policy.default)
    local, _, domain = mail.alias.partition("@")
    msg["From"] = Address(f"{mail.buyer_name} - Amazon Marketplace", local, domain)
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.date.astimezone(UTC))
    msg["Message-ID"] = f"<{mail.message_id}>"
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        msg["References"] = " ".join(f"<{ref}>" for ref in mail.references)
    body = relay_body(mail)
    if mail.encoding == Encoding.HTML:
        msg.set_content(_html(body), subtype="html", charset="utf-8", cte="quoted-printable")
    elif mail.encoding == Encoding.ALTERNATIVE:
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        msg.add_alternative(_html(body), subtype="html", charset="utf-8", cte="quoted-printable")
    elif mail.encoding == Encoding.BASE64:
        msg.set_content(body, charset="utf-8", cte="base64")
    elif mail.encoding == Encoding.LEGACY:
        charset = _LEGACY_CHARSET[mail.lang]
        if charset == "iso-2022-jp":
            msg.set_content(body.encode(charset), "text", "plain", cte="7bit")
            msg.set_param("charset", charset)
        else:
            msg.set_content(body, charset=charset, cte="quoted-printable")
    else:
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
    if mail.photo is not None:
        filename, data = mail.photo
        msg.add_attachment(data, "image", "png", filename=filename)
    # Boundaries from the Message-ID, not random: the same seed writes the same bytes.
    for index, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        digest = hashlib.sha256(f"{mail.message_id}/{index}".encode()).hexdigest()[:20]
        part.set_boundary(f"==============={digest}==")
    return msg


def build_seller_reply(
    original: RelayEmail, text: str, *, date: datetime, message_id: str, seller: str
) -> EmailMessage:
    """The seller's reply as it sits in Sent: To the alias, threaded on ``original``."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = seller
    msg["To"] = original.alias
    msg["Subject"] = "Re: " + original.subject
    msg["Date"] = format_datetime(date.astimezone(UTC))
    msg["Message-ID"] = f"<{message_id}>"
    msg["In-Reply-To"] = f"<{original.message_id}>"
    msg["References"] = " ".join(f"<{ref}>" for ref in (*original.references, original.message_id))
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    return msg


# --- a small photo ------------------------------------------------------------------


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        for x in range(width):
            raw.extend(pixel(x, y))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + chunk(b"IEND", b"")
    )


def damage_photo(rng: random.Random, width: int = 240, height: int = 180) -> bytes:
    """A PNG "photo" of a dented cardboard box with a crack (generated, deterministic)."""
    x0, y0, x1, y1 = width // 5, height // 4, width * 4 // 5, height * 7 // 8
    crack_x = rng.randrange(x0 + 20, x1 - 20)
    dent = (rng.randrange(x0, x1), rng.randrange(y0, y1))
    noise = rng.randrange(1 << 16)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        grain = ((x * 73856093) ^ (y * 19349663) ^ noise) % 17 - 8
        if not (x0 <= x < x1 and y0 <= y < y1):
            base = 205 + grain  # grey floor
            return base, base, base - 6
        if abs(x - crack_x - (y - y0) // 3 % 7) < 2:
            return 60, 40, 25  # the crack
        if (x - dent[0]) ** 2 + (y - dent[1]) ** 2 < 300:
            return 120 + grain, 85 + grain, 50  # dent shadow
        if y - y0 < 6 or abs(x - (x0 + x1) // 2) < 3:
            return 200, 180, 120  # tape
        return 176 + grain, 134 + grain, 85 + grain  # cardboard

    return _png(width, height, pixel)


# --- threads on the clock -------------------------------------------------------------


class Bucket:
    """Where an unanswered thread stands relative to ``now`` (due = oldest unanswered
    buyer message + 24 h)."""

    OVERDUE = "overdue"  # due 1–70 h ago
    URGENT = "urgent"  # under 2 h left
    SOON = "soon"  # 2–6 h left
    OK = "ok"  # more than 6 h left
    ANSWERED = "answered"  # the last buyer message has a reply


@dataclass(frozen=True)
class _Plan:
    country: str
    intent: str
    buyer_messages: int  # 1–3
    bucket: str
    encoding: str = Encoding.QP


# The seeded threads (~60 buyer messages).  Threads with several buyer messages that are
# not answered have the later ones minutes after the first, so the clock reads the same
# from the oldest or the newest unanswered message.
_SEED_PLANS: tuple[_Plan, ...] = (
    # US
    _Plan("US", "where", 1, Bucket.OVERDUE),
    _Plan("US", "where", 2, Bucket.URGENT),
    _Plan("US", "damaged", 1, Bucket.SOON),
    _Plan("US", "return", 3, Bucket.OK),
    _Plan("US", "invoice", 1, Bucket.ANSWERED, Encoding.ALTERNATIVE),
    _Plan("US", "cancel", 1, Bucket.URGENT),
    _Plan("US", "question", 2, Bucket.ANSWERED),
    _Plan("US", "address", 1, Bucket.OK, Encoding.BASE64),
    _Plan("US", "presale", 1, Bucket.SOON),
    _Plan("US", "presale", 2, Bucket.OVERDUE),
    _Plan("US", "damaged", 2, Bucket.ANSWERED),
    # CA
    _Plan("CA", "where", 1, Bucket.SOON),
    _Plan("CA", "return", 1, Bucket.ANSWERED),
    _Plan("CA", "presale", 1, Bucket.OK),
    # UK
    _Plan("GB", "return", 1, Bucket.URGENT, Encoding.HTML),
    _Plan("GB", "damaged", 2, Bucket.OVERDUE),
    _Plan("GB", "invoice", 1, Bucket.SOON),
    _Plan("GB", "where", 3, Bucket.ANSWERED),
    _Plan("GB", "cancel", 1, Bucket.OK, Encoding.LEGACY),
    _Plan("GB", "presale", 1, Bucket.ANSWERED, Encoding.HTML),
    # DE
    _Plan("DE", "where", 2, Bucket.SOON, Encoding.LEGACY),
    _Plan("DE", "invoice", 1, Bucket.OVERDUE),
    _Plan("DE", "damaged", 1, Bucket.URGENT),
    _Plan("DE", "return", 2, Bucket.ANSWERED),
    _Plan("DE", "address", 1, Bucket.OK, Encoding.HTML),
    _Plan("DE", "presale", 1, Bucket.OK),
    _Plan("DE", "cancel", 1, Bucket.ANSWERED),
    # FR
    _Plan("FR", "where", 1, Bucket.OVERDUE, Encoding.LEGACY),
    _Plan("FR", "invoice", 2, Bucket.SOON),
    _Plan("FR", "damaged", 1, Bucket.OK),
    _Plan("FR", "question", 1, Bucket.ANSWERED, Encoding.BASE64),
    # ES
    _Plan("ES", "return", 1, Bucket.URGENT),
    _Plan("ES", "address", 2, Bucket.OK, Encoding.ALTERNATIVE),
    _Plan("ES", "presale", 1, Bucket.ANSWERED),
    # IT
    _Plan("IT", "damaged", 1, Bucket.SOON, Encoding.BASE64),
    _Plan("IT", "invoice", 1, Bucket.OK),
    _Plan("IT", "cancel", 2, Bucket.OVERDUE),
    _Plan("US", "where", 3, Bucket.ANSWERED),
    _Plan("CA", "damaged", 1, Bucket.OVERDUE),
    _Plan("DE", "question", 2, Bucket.OK),
    _Plan("FR", "presale", 1, Bucket.URGENT),
    _Plan("IT", "where", 2, Bucket.ANSWERED, Encoding.LEGACY),
    # JP (pre-sale only: the demo seller has no JP orders)
    _Plan("JP", "presale", 1, Bucket.SOON, Encoding.LEGACY),
    _Plan("JP", "presale", 2, Bucket.ANSWERED, Encoding.BASE64),
)

_LIVE = "live"  # received just now
_LIVE_PLANS: tuple[_Plan, ...] = tuple(
    _Plan(p.country, p.intent, 1, _LIVE, p.encoding) for p in _SEED_PLANS
)


def _age_for(bucket: str, rng: random.Random) -> timedelta:
    """Age of the oldest unanswered buyer message for ``bucket``, with margins so a few
    minutes between seeding and looking do not move a thread to another bucket."""
    minutes = {
        Bucket.OVERDUE: (25 * 60, 94 * 60),
        Bucket.URGENT: (22 * 60 + 15, 23 * 60 + 5),
        Bucket.SOON: (18 * 60 + 30, 21 * 60 + 30),
        Bucket.OK: (20, 16 * 60),
        _LIVE: (0, 0),
    }[bucket]
    return timedelta(minutes=rng.randint(*minutes))


_ALPHANUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _Writer:
    """Turns plans into emails, drawing everything from one random stream."""

    def __init__(
        self, orders: Sequence[DemoOrder], rng: random.Random, seller: str, serial: int = 0
    ) -> None:
        self.rng = rng
        self.seller = seller
        self.used: set[str] = set()
        self.serial = serial
        self.by_country: dict[str, list[DemoOrder]] = {}
        for order in sorted(orders, key=lambda o: o.created, reverse=True):
            self.by_country.setdefault(order.country, []).append(order)
        self.all = sorted(orders, key=lambda o: o.created, reverse=True)

    def alias(self, market: _Market) -> str:
        local = "".join(self.rng.choice(_ALPHANUM) for _ in range(14))
        return f"{local}@marketplace.amazon.{market.tld}"

    def message_id(self, domain: str) -> str:
        self.serial += 1
        return f"{self.rng.getrandbits(40)}.{self.serial}.{self.rng.getrandbits(52)}@{domain}"

    def token(self) -> str:
        return "".join(self.rng.choice(_TOKEN) for _ in range(20))

    def order_for(self, plan: _Plan, before: datetime) -> DemoOrder | None:
        if plan.intent == "presale":
            return None
        fit = _ORDER_FIT.get(plan.intent, _any_order)
        pools = (
            [o for o in self.by_country.get(plan.country, []) if fit(o)],
            self.by_country.get(plan.country, []),
            [o for o in self.all if fit(o)],
            self.all,
        )
        for pool in pools:
            fresh = [o for o in pool if o.order_id not in self.used and o.created < before]
            if fresh:
                order = self.rng.choice(fresh[:25])  # among the most recent
                self.used.add(order.order_id)
                return order
        return None

    def text(self, lang: str, intent: str, **fields: str) -> str:
        texts = _TEXTS[lang]
        choices = texts.get(intent) or _TEXTS["en"][intent]
        return self.rng.choice(choices).format(**fields)

    def thread(self, plan: _Plan, now: datetime) -> list[tuple[str, EmailMessage, datetime]]:
        """The emails of one thread: ("in" | "sent", message, date), oldest first."""
        rng = self.rng
        market = _MARKETS[plan.country]
        lang = market.lang
        full_name = rng.choice(_NAMES[lang])
        name = _shown_name(full_name, lang)
        n = plan.buyer_messages
        replies = n if plan.bucket == Bucket.ANSWERED else n - 1
        # Times: the last buyer message's age decides the bucket; earlier exchanges sit
        # a day or more before it.
        if plan.bucket == Bucket.ANSWERED:
            last_in = now - timedelta(minutes=rng.randint(4 * 60, 70 * 60))
        else:
            last_in = now - _age_for(plan.bucket, rng)
        quick_follow_up = plan.bucket != Bucket.ANSWERED and n >= 2 and rng.random() < 0.5
        times: list[datetime] = []
        moment = last_in
        for i in range(n):
            times.insert(0, moment)
            moment -= (
                timedelta(minutes=rng.randint(5, 15))
                if (quick_follow_up and i == 0)
                else timedelta(hours=rng.randint(20, 40))
            )
        if quick_follow_up:
            replies = n - 2  # the last two buyer messages wait together
        order = self.order_for(plan, times[0])
        product: Product = rng.choice(CATALOG)
        title = order.product_title if order else product.title
        asin = order.asin if order else product.asin
        kind = _INTENT_KIND[plan.intent]
        subjects = _SUBJECTS[lang]
        subject = subjects[kind].format(name=name)
        if order is not None:
            subject += subjects["order"].format(order_id=order.order_id)
        alias = self.alias(market)
        domain = alias.rpartition("@")[2]
        out: list[tuple[str, EmailMessage, datetime]] = []
        references: tuple[str, ...] = ()
        previous_reply: str | None = None
        previous_reply_text: str | None = None
        for i, when in enumerate(times):
            intent = plan.intent if i == 0 else "followup"
            photo = None
            if plan.intent == "damaged" and i == 0:
                photo = (f"IMG_{rng.randint(1000, 9999)}.png", damage_photo(rng))
            mail = RelayEmail(
                alias=alias,
                buyer_name=name,
                subject=subject,
                date=when,
                text=self.text(lang, intent, product=title, asin=asin, name=name),
                lang=lang,
                message_id=self.message_id(domain),
                msg_token=self.token(),
                to=self.seller,
                encoding=plan.encoding if i == 0 else Encoding.QP,
                photo=photo,
                in_reply_to=previous_reply,
                references=references,
                quoted=previous_reply_text if previous_reply and rng.random() < 0.5 else None,
            )
            out.append(("in", build_relay_email(mail), when))
            if i < replies:
                reply_at = when + timedelta(minutes=rng.randint(25, 9 * 60))
                reply_at = min(reply_at, times[i + 1] - MINUTE if i + 1 < n else now - MINUTE)
                reply_id = self.message_id(self.seller.rpartition("@")[2])
                text = _REPLIES[lang].format(name=name)
                reply = build_seller_reply(
                    mail, text, date=reply_at, message_id=reply_id, seller=self.seller
                )
                out.append(("sent", reply, reply_at))
                references = (*mail.references, mail.message_id, reply_id)
                previous_reply, previous_reply_text = reply_id, text
            else:
                references = (*mail.references, mail.message_id)
                previous_reply, previous_reply_text = None, None
        return out


def _store(
    box: mailbox.Maildir, sent: mailbox.Maildir, item: tuple[str, EmailMessage, datetime]
) -> str:
    direction, message, when = item
    # Bytes, not the object: mailbox writes a Message with the compat32 policy.
    md = mailbox.MaildirMessage(message.as_bytes(policy=policy.default))
    md.set_date(when.timestamp())  # the file's mtime: the delivery time
    if direction == "sent":
        md.set_subdir("cur")
        md.set_flags("S")
        return sent.add(md)
    return box.add(md)  # new/: not read yet


def _open(maildir: Path) -> tuple[mailbox.Maildir, mailbox.Maildir]:
    maildir.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(maildir, factory=None, create=True)
    sent = box.get_folder(SENT_FOLDER) if SENT_FOLDER in box.list_folders() else None
    if sent is None:
        sent = box.add_folder(SENT_FOLDER)
    return box, sent


def seed_demo_mailbox(
    maildir: Path,
    orders: Sequence[DemoOrder],
    *,
    now: datetime,
    seed: int,
    seller_address: str = DEMO_SELLER_ADDRESS,
) -> int:
    """Fill ``maildir`` (created if missing, with a ``.Sent`` folder) with the seeded
    buyer threads; returns the number of buyer messages written.

    A Maildir that already holds messages is left as it is (returns 0): the demo seeds
    once, later runs only add new mail (:func:`deliver_one`).
    """
    box, sent = _open(maildir)
    if len(box) or len(sent):
        return 0
    writer = _Writer(orders, random.Random(seed), seller_address)
    written = 0
    for plan in _SEED_PLANS:
        for item in writer.thread(plan, now):
            _store(box, sent, item)
            written += item[0] == "in"
    log.info("demo mailbox seeded: %d buyer messages", written)
    return written


def deliver_one(
    maildir: Path,
    orders: Sequence[DemoOrder],
    *,
    now: datetime,
    rng: random.Random,
    seller_address: str = DEMO_SELLER_ADDRESS,
) -> str:
    """Write one new buyer message (a new thread, received at ``now``) into ``maildir``;
    returns its Maildir key."""
    box, sent = _open(maildir)
    plan = rng.choice(_LIVE_PLANS)
    writer = _Writer(orders, rng, seller_address, serial=rng.getrandbits(20))
    [item] = writer.thread(plan, now)
    return _store(box, sent, item)


class DemoMailFeed:
    """While the demo runs: one new buyer message every ``interval`` seconds (a daemon
    thread; :meth:`close` stops it)."""

    def __init__(
        self,
        maildir: Path,
        orders: Sequence[DemoOrder],
        clock: Clock,
        *,
        interval: float = FEED_INTERVAL_SECONDS,
        seed: int = 1,
        on_delivered: Callable[[str], None] | None = None,
    ) -> None:
        self.maildir = maildir
        self.orders = tuple(orders)
        self.clock = clock
        self.interval = interval
        self.on_delivered = on_delivered
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-mail", daemon=True)

    def start(self) -> DemoMailFeed:
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                key = deliver_one(self.maildir, self.orders, now=self.clock.now(), rng=self._rng)
            except OSError as exc:  # a full disk or a removed folder: try again later
                log.warning("the demo could not deliver a message: %s", type(exc).__name__)
                continue
            if self.on_delivered is not None:
                self.on_delivered(key)


__all__ = [
    "DEMO_MAILDIR_NAME",
    "DEMO_SELLER_ADDRESS",
    "SENT_FOLDER",
    "Bucket",
    "DemoMailFeed",
    "DemoOrder",
    "Encoding",
    "RelayEmail",
    "build_relay_email",
    "build_seller_reply",
    "damage_photo",
    "deliver_one",
    "demo_orders",
    "relay_body",
    "seed_demo_mailbox",
]
