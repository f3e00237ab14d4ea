"""Search benchmark for the inbox (prints figures; not a timed test).

Builds a profile with 500,000 buyer messages and replies (relay-like texts in six
languages, 2-3 messages per thread, most threads tied to an order whose ASINs and SKUs
are stored) in the encrypted vault, then an unencrypted copy of the same file
(``sqlcipher_export``), and times the inbox's search as the UI runs it: one DB job of
``thread_ids(ThreadQuery(text=...))`` plus the first 60 ``thread_rows``, for typical
queries (an order id, part of one, an ASIN, a SKU, a word, two words, a 2-letter prefix,
a name).  Prints p50/p95 per kind on each file and the encrypted/plain ratio.
Targets: p95 <= 30 ms, ratio <= 1.5.

The build (one transaction, ``executemany``) is cached under ``/tmp`` by size and
tokenizer; ``--rebuild`` builds again.  ``--tokenizer unicode61`` builds the index with
``unicode61`` + prefix indexes instead of ``trigram`` and searches it with prefix
queries, to compare the two (the app ships the one in ``v0010_mail.py``).

Hook for ``bench/search_gui.py``: :func:`build` returns the profile's paths and key.

Measured 2026-11-30 (500,000 messages, 155,427 threads, 2 shared cores, p95 ms):

    tokenizer, page cache      worst p95   worst ratio   file
    trigram, 2 MiB (default)   34 (SKU)    2.30          836 MiB
    trigram, 16 MiB            27 (SKU)    1.42
    trigram, 64 MiB            19 (SKU)    1.07
    unicode61+prefix, 64 MiB   42 (2 words) 1.07         623 MiB

Trigram is kept: it meets both targets for every kind of query (given a page cache of
16-64 MiB: with SQLite's default 2 MiB an encrypted search decrypts the same pages
again and again), and it finds substrings -- the middle of an order id or SKU, a part
of a German compound ("helm" in "Fahrradhelm"), Japanese text of three characters or
more -- where unicode61 finds only word prefixes and cannot split Japanese at all.
unicode61 was faster for rare tokens (a SKU 3 ms) but slower for common words ANDed.
Searches are capped at the threads of the newest 1,000 matching messages
(``repo.SEARCH_CAP``); a two-character Japanese word is not found (trigram needs three).

Run: ``.venv/bin/python -m bench.search [--messages 500000] [--tokenizer trigram]``
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlcipher3

from app.amazon.orders_repo import to_db_time
from app.bootstrap import open_vault
from app.mail import clock, repo
from app.mail.repo import ThreadFilter, ThreadQuery
from app.paths import Profile
from app.secrets import SecretStore
from app.vault.connection import CACHE_KIB, open_connection
from tests.support import MemoryKeyring

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CACHE = Path(tempfile.gettempdir()) / "muttefik-bench-search"
FIRST_PAGE = 60  # rows the thread list shows first

# --- realistic relay texts ------------------------------------------------------------

_NAMES = (
    "Cherri Alisa Lukas Zeynep Mehmet Sophie Jonas Marie Pierre Camille Lucía Javier "
    "Giulia Marco Hiroshi Yuki Emma Oliver Hannah Felix Chloé Mateo Aylin Emre Nora "
    "Liam Olivia Noah Ava Ethan Mia Lena Paul Clara Hugo Inès Sofia Diego Elena Luca"
)
NAMES = _NAMES.split()

# (buyer sentences, seller reply sentences, subject template, pre-sale subject, domain)
LANGS: dict[str, tuple[list[str], list[str], str, str, str]] = {
    "en": (
        [
            "Hi, my package has not arrived yet.",
            "The tracking says delivered but I cannot find the parcel anywhere.",
            "The item arrived broken, the glass is cracked.",
            "Can I return this? It is the wrong size.",
            "Does this {product} fit a standard bike helmet?",
            "I ordered two but only received one {product}.",
            "When will my order ship? I need it before Friday.",
            "The colour is different from the picture.",
            "Please cancel my order, I bought it by mistake.",
            "Is the {product} waterproof?",
            "The charger stopped working after three days.",
            "Could you send me an invoice with VAT for my company?",
            "The box was open and the manual is missing.",
            "Thank you, everything arrived in perfect condition.",
        ],
        [
            "Thank you for your message.",
            "We are sorry to hear that the item arrived damaged.",
            "Your parcel is on its way and should arrive within two days.",
            "We have sent a replacement at no cost to you.",
            "You can return the item through your Amazon account.",
            "Yes, the {product} is fully waterproof.",
            "We issued a full refund today.",
            "Kind regards, the Acme Kitchen team",
        ],
        "Inquiry from Amazon customer {name} (Order: {order})",
        "Product details inquiry from Amazon customer {name}",
        "amazon.com",
    ),
    "de": (
        [
            "Hallo, mein Paket ist noch nicht angekommen.",
            "Laut Sendungsverfolgung zugestellt, aber ich finde es nicht.",
            "Der Artikel ist kaputt angekommen, das Glas hat einen Sprung.",
            "Kann ich das zurückschicken? Die Größe passt nicht.",
            "Passt die {product} auch an einen Fahrradhelm?",
            "Ich habe zwei bestellt, aber nur eine {product} erhalten.",
            "Wann wird meine Bestellung versendet?",
            "Die Farbe weicht vom Bild ab.",
            "Bitte stornieren Sie meine Bestellung.",
            "Ist die {product} wasserdicht?",
            "Bitte senden Sie mir eine Rechnung mit ausgewiesener Mehrwertsteuer.",
            "Vielen Dank, alles ist gut angekommen.",
        ],
        [
            "Vielen Dank für Ihre Nachricht.",
            "Es tut uns leid, dass der Artikel beschädigt angekommen ist.",
            "Wir haben Ihnen kostenlos Ersatz geschickt.",
            "Die Erstattung wurde heute veranlasst.",
            "Mit freundlichen Grüßen, Ihr Acme Kitchen Team",
        ],
        "Anfrage von Amazon-Kunde {name} (Bestellung: {order})",
        "Anfrage zu Produktdetails von Amazon-Kunde {name}",
        "amazon.de",
    ),
    "fr": (
        [
            "Bonjour, mon colis n'est toujours pas arrivé.",
            "L'article est arrivé cassé.",
            "Puis-je retourner cet article ? La taille ne convient pas.",
            "La {product} est-elle étanche ?",
            "Quand ma commande sera-t-elle expédiée ?",
            "Merci de m'envoyer une facture.",
            "Merci, tout est arrivé en parfait état.",
        ],
        [
            "Merci pour votre message.",
            "Nous sommes désolés que l'article soit arrivé endommagé.",
            "Nous avons procédé au remboursement aujourd'hui.",
            "Cordialement, l'équipe Acme Kitchen",
        ],
        "Demande de renseignements de la part du client Amazon {name} (Commande : {order})",
        "Demande de détails sur le produit de la part du client Amazon {name}",
        "amazon.fr",
    ),
    "es": (
        [
            "Hola, mi paquete todavía no ha llegado.",
            "El artículo llegó roto.",
            "¿Puedo devolver este artículo? La talla no es correcta.",
            "¿La {product} es resistente al agua?",
            "¿Cuándo se enviará mi pedido?",
            "Gracias, todo llegó perfectamente.",
        ],
        [
            "Gracias por su mensaje.",
            "Sentimos que el artículo haya llegado dañado.",
            "Hemos emitido el reembolso hoy.",
            "Saludos cordiales, el equipo de Acme Kitchen",
        ],
        "Consulta del cliente de Amazon {name} (Pedido: {order})",
        "Consulta sobre detalles del producto del cliente de Amazon {name}",
        "amazon.es",
    ),
    "it": (
        [
            "Buongiorno, il mio pacco non è ancora arrivato.",
            "L'articolo è arrivato rotto.",
            "Posso restituire questo articolo? La taglia non va bene.",
            "La {product} è impermeabile?",
            "Quando verrà spedito il mio ordine?",
            "Grazie, tutto è arrivato in perfette condizioni.",
        ],
        [
            "Grazie per il suo messaggio.",
            "Ci dispiace che l'articolo sia arrivato danneggiato.",
            "Abbiamo emesso il rimborso oggi.",
            "Cordiali saluti, il team di Acme Kitchen",
        ],
        "Richiesta dal cliente Amazon {name} (Ordine: {order})",
        "Richiesta di dettagli sul prodotto dal cliente Amazon {name}",
        "amazon.it",
    ),
    "ja": (
        [
            "こんにちは、荷物がまだ届いていません。",
            "商品が壊れた状態で届きました。",
            "サイズが合わないので返品できますか？",
            "この{product}は防水ですか？",
            "注文はいつ発送されますか？",
            "ありがとうございます、無事に届きました。",
        ],
        [
            "ご連絡ありがとうございます。",
            "商品が破損していたとのこと、大変申し訳ございません。",
            "本日返金の手続きをいたしました。",
            "Acme Kitchen チーム",
        ],
        "Amazonのお客様 {name} からのお問い合わせ (注文番号: {order})",
        "Amazonのお客様 {name} からの商品詳細に関するお問い合わせ",
        "amazon.co.jp",
    ),
}
LANG_WEIGHTS = {"en": 50, "de": 20, "fr": 10, "es": 8, "it": 7, "ja": 5}
PRODUCTS = [
    "headlamp",
    "water bottle",
    "cutting board",
    "coffee mug",
    "tote bag",
    "charging cable",
    "lunch box",
    "kettle",
    "thermos",
    "frying pan",
]


@dataclass(frozen=True)
class Built:
    """A built profile: the encrypted vault file, its key, and the plain copy."""

    encrypted: Path
    key: bytes
    plain: Path
    tokenizer: str
    messages: int
    samples: dict[str, list[str]]  # query kind -> values taken from the data


def _order_id(rnd: random.Random) -> str:
    head = rnd.choice((111, 112, 113, 302, 171))
    return f"{head}-{rnd.randrange(10**7):07d}-{rnd.randrange(10**7):07d}"


def _alias(rnd: random.Random, domain: str) -> str:
    local = "".join(rnd.choices(string.ascii_lowercase + string.digits, k=14))
    return f"{local}@marketplace.{domain}"


def _generate(n_messages: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """Threads (dicts with their messages) until ``n_messages`` messages are made."""
    rnd = random.Random(seed)
    langs = list(LANG_WEIGHTS)
    weights = list(LANG_WEIGHTS.values())
    made = 0
    thread_no = 0
    while made < n_messages:
        thread_no += 1
        lang = rnd.choices(langs, weights)[0]
        buyer_lines, reply_lines, subject_t, presale_t, domain = LANGS[lang]
        name = rnd.choice(NAMES)
        has_order = rnd.random() < 0.8
        order_id = _order_id(rnd) if has_order else None
        subject = (subject_t if has_order else presale_t).format(name=name, order=order_id)
        count = min(n_messages - made, rnd.choice((1, 2, 2, 3, 3, 3, 4, 5, 6)))
        # The newest threads are recent (some due, some overdue); older ones spread over
        # two years (Amazon keeps messages two years).
        age_hours = rnd.expovariate(1 / 2000) if thread_no % 7 else rnd.uniform(0, 30)
        start = NOW - timedelta(hours=age_hours)
        messages = []
        at = start
        for k in range(count):
            direction = "in" if k % 2 == 0 else "out"
            product = rnd.choice(PRODUCTS)
            lines = buyer_lines if direction == "in" else reply_lines
            text = " ".join(
                rnd.choice(lines).format(product=product) for _ in range(rnd.randint(1, 3))
            )
            if direction == "in" and rnd.random() < 0.2:
                text += f" Tracking {rnd.choice(('1Z', 'JD', 'TBA'))}{rnd.randrange(10**12):012d}."
            messages.append(
                (direction, at, subject if direction == "in" else "Re: " + subject, text)
            )
            at = min(NOW, at + timedelta(minutes=rnd.randint(20, 3000)))
        made += count
        yield {
            "alias": _alias(rnd, domain),
            "order_id": order_id,
            "name": name,
            "domain": domain,
            "subject": subject,
            "messages": messages,
            "stored_order": has_order and rnd.random() < 0.9,
            "product": rnd.choice(PRODUCTS),
        }


def _create_fts(conn: Any, tokenizer: str) -> None:
    if tokenizer == "trigram":
        return  # as the migration made it
    conn.execute("DROP TABLE messages_fts")
    conn.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body, refs, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', 1)")


def _fill(conn: Any, n_messages: int, tokenizer: str) -> dict[str, list[str]]:
    """Insert the generated data in one transaction; returns sample query values."""
    _create_fts(conn, tokenizer)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO stores(id, name, created_at) VALUES (?, ?, ?)",
        [(1, "Acme US", "2026-01-01T00:00:00Z"), (2, "Acme EU", "2026-01-01T00:00:00Z")],
    )
    threads: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    fts: list[tuple[Any, ...]] = []
    orders: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    samples: dict[str, list[str]] = {k: [] for k in ("order", "part", "asin", "sku", "name")}
    rnd = random.Random(5)
    message_id = 0
    for thread_id, t in enumerate(_generate(n_messages), start=1):
        store_id = 1 if t["domain"] == "amazon.com" else 2
        refs = [t["order_id"]] if t["order_id"] else []
        if t["stored_order"]:
            order_rowid = len(orders) + 1
            purchase = to_db_time(t["messages"][0][1] - timedelta(days=3))
            orders.append(
                (
                    order_rowid,
                    t["order_id"],
                    store_id,
                    "ATVPDKIKX0DER",
                    "Shipped",
                    purchase,
                    purchase,
                    "DELIVERED",
                    purchase,
                )
            )
            for pos in range(1 + (rnd.random() < 0.3)):
                asin = "B0" + "".join(rnd.choices(string.ascii_uppercase + string.digits, k=8))
                kind = rnd.choice(("LAMP", "MUG", "BTL", "PAN", "BAG"))
                sku = f"AK-{kind}-{rnd.randrange(10**4):04d}"
                items.append((order_rowid, pos, f"{order_rowid}{pos}", asin, sku, t["product"], 1))
                refs += [asin, sku]
                if rnd.random() < 0.001:
                    samples["asin"].append(asin)
                    samples["sku"].append(sku)
            if rnd.random() < 0.001:
                samples["order"].append(t["order_id"])
                samples["part"].append(t["order_id"][4:11])
        refs.append(t["name"])
        ref_text = " ".join(refs)
        clock_start = None
        last_buyer = None
        for direction, at, subject, text in t["messages"]:
            message_id += 1
            stamp = to_db_time(at)
            messages.append(
                (
                    message_id,
                    thread_id,
                    store_id,
                    direction,
                    f"m{message_id}@bench",
                    f"m{message_id}@bench",
                    stamp,
                    subject,
                    text,
                    "sent" if direction == "out" else None,
                    stamp,
                )
            )
            fts.append((message_id, subject, text, ref_text))
            if direction == "in":
                last_buyer = at
                clock_start = clock_start or at
            else:
                clock_start = None
        due = clock.due_at(clock_start)
        last = t["messages"][-1][1]
        state = "needs_reply" if clock_start else "replied"
        threads.append(
            (
                thread_id,
                store_id,
                t["alias"],
                t["order_id"],
                t["domain"],
                t["name"],
                t["subject"],
                state,
                to_db_time(clock_start),
                to_db_time(due),
                to_db_time(last_buyer),
                to_db_time(last),
                len(t["messages"]),
                int(clock_start is not None),
                0,
                to_db_time(last),
                to_db_time(last),
            )
        )
        if rnd.random() < 0.0005:
            samples["name"].append(t["name"])
    conn.executemany(
        "INSERT INTO orders(id, order_id, store_id, marketplace_id, status, purchase_date, "
        "last_updated, delivery_state, synced_at) VALUES (?,?,?,?,?,?,?,?,?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO order_items(order_rowid, position, order_item_id, asin, sku, title, "
        "quantity) VALUES (?,?,?,?,?,?,?)",
        items,
    )
    conn.executemany(
        "INSERT INTO threads(id, store_id, alias, order_id, marketplace_domain, "
        "buyer_display_name, subject, state, clock_start, due_at, last_buyer_at, "
        "last_message_at, message_count, unread, flagged, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        threads,
    )
    conn.executemany(
        "INSERT INTO messages(id, thread_id, store_id, direction, message_id, dedup_key, "
        "received_at, subject, body, send_state, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        messages,
    )
    conn.executemany("INSERT INTO messages_fts(rowid, subject, body, refs) VALUES (?,?,?,?)", fts)
    conn.execute("COMMIT")
    return samples


def build(n_messages: int = 500_000, *, tokenizer: str = "trigram", rebuild: bool = False) -> Built:
    """The benchmark profile (cached under /tmp): the encrypted vault and a plain copy."""
    folder = CACHE / f"{tokenizer}-{n_messages}-v3"  # v3: the schema with the search indexes
    meta = folder / "meta.json"
    if meta.exists() and not rebuild:
        data = json.loads(meta.read_text())
        return Built(
            Path(data["encrypted"]),
            bytes.fromhex(data["key"]),
            Path(data["plain"]),
            tokenizer,
            n_messages,
            data["samples"],
        )
    shutil.rmtree(folder, ignore_errors=True)
    profile = Profile(folder / "profile")
    profile.ensure()
    secrets = SecretStore(service="bench-search", backend=MemoryKeyring(), enforce_policy=False)
    began = time.perf_counter()
    vault, key = open_vault(profile, secrets)
    try:
        samples = vault.call(lambda conn: _fill(conn, n_messages, tokenizer))
        vault.checkpoint().result()
    finally:
        vault.close()
    built_s = time.perf_counter() - began
    plain = folder / "plain.db"
    began = time.perf_counter()
    conn = open_connection(profile.db_path, key)
    try:
        conn.execute(f"ATTACH DATABASE '{plain}' AS plaintext KEY ''")
        conn.execute("SELECT sqlcipher_export('plaintext')")
        conn.execute("DETACH DATABASE plaintext")
    finally:
        conn.close()
    print(
        f"built {n_messages} messages ({tokenizer}) in {built_s:.1f} s, plain copy in "
        f"{time.perf_counter() - began:.1f} s; {profile.db_path.stat().st_size / 2**20:.0f} MiB"
    )
    meta.write_text(
        json.dumps(
            {
                "encrypted": str(profile.db_path),
                "key": key.hex(),
                "plain": str(plain),
                "samples": samples,
            }
        )
    )
    return Built(profile.db_path, key, plain, tokenizer, n_messages, samples)


# --- the queries ------------------------------------------------------------------------


def _unicode61_text_sql(conn: Any, text: str, stores: Any) -> tuple[str, list[Any]]:
    """The search condition for a unicode61 index: every term a prefix query; the rest
    (an order id typed whole, one or two letters) as the app does it."""
    terms = text.split()
    whole = (
        repo._ORDER_ID.fullmatch(text)
        and conn.execute("SELECT 1 FROM threads WHERE order_id = ? LIMIT 1", (text,)).fetchone()
    )
    if whole or not any(len(t) >= 3 for t in terms):
        return _TRIGRAM_TEXT_SQL(conn, text, stores)
    parts = []
    for term in terms:
        words = "".join(c if c.isalnum() else " " for c in term).split()
        if words:
            parts.append('"' + " ".join(words).replace('"', '""') + '"*')
    sub = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
    return (
        "t.id IN (SELECT m.thread_id FROM messages m INDEXED BY messages_thread_of "
        f"WHERE m.id IN ({sub}))",
        [" AND ".join(parts), repo.SEARCH_CAP],
    )


_TRIGRAM_TEXT_SQL = repo._text_sql


def queries(built: Built) -> dict[str, list[str]]:
    s = built.samples
    return {
        "order id": s["order"][:20],
        "part of an order id": s["part"][:20],
        "ASIN": s["asin"][:20],
        "SKU": s["sku"][:20],
        "a word": [
            "broken",
            "kaputt",
            "refund",
            "waterproof",
            "invoice",
            "Rechnung",
            "colis",
            "paquete",
            "rimborso",
            "届いていません",
        ],
        "two words": [
            "arrived broken",
            "parcel delivered",
            "kaputt angekommen",
            "wrong size",
            "colis arrivé",
            "full refund",
        ],
        "2-letter prefix": ["11", "30", "Lu", "Ze", "In", "An"],
        "a name": sorted(set(s["name"]))[:10] or ["Zeynep"],
    }


def search_once(conn: Any, text: str, kind: ThreadFilter = ThreadFilter.ALL) -> int:
    """The UI's search hop: thread ids in inbox order and the first rows."""
    ids = repo.thread_ids(conn, [1, 2], ThreadQuery(text=text, filter=kind), now=NOW)
    repo.thread_rows(conn, ids[:FIRST_PAGE], now=NOW)
    return len(ids)


def _plain_connection(path: Path) -> Any:
    """The plain copy with the same settings as the app's connection (page cache too)."""
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


def measure(built: Built, repeat: int = 5, cache_mib: int | None = None) -> None:
    enc = open_connection(built.encrypted, built.key)
    plain = _plain_connection(built.plain)
    if cache_mib is not None:  # both as the app's connection otherwise (CACHE_KIB)
        for conn in (enc, plain):
            conn.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")
    patch: Callable[..., tuple[str, list[Any]]] | None = None
    if built.tokenizer != "trigram":
        patch = _unicode61_text_sql
    original = repo._text_sql
    if patch is not None:
        repo._text_sql = patch
    try:
        print(
            f"\n{built.messages} messages, tokenizer {built.tokenizer}; "
            f"ms per search (thread ids + first {FIRST_PAGE} rows), {repeat} runs each"
        )
        print(
            f"{'query':<22}{'hits':>8}{'enc p50':>9}{'enc p95':>9}{'plain p50':>11}"
            f"{'plain p95':>11}{'ratio':>7}"
        )
        worst95 = 0.0
        ratios: list[float] = []
        for kind, values in queries(built).items():
            for conn in (enc, plain):  # warm both caches as a running app would be
                for v in values:
                    search_once(conn, v)
            times: dict[str, list[float]] = {"enc": [], "plain": []}
            hits = []
            for _ in range(repeat):
                for v in values:
                    for name, conn in (("enc", enc), ("plain", plain)):
                        began = time.perf_counter()
                        n = search_once(conn, v)
                        times[name].append((time.perf_counter() - began) * 1000)
                        hits.append(n)
            e50, e95 = _pct(times["enc"], 50), _pct(times["enc"], 95)
            p50, p95 = _pct(times["plain"], 50), _pct(times["plain"], 95)
            ratio = e95 / p95 if p95 else float("nan")
            worst95 = max(worst95, e95)
            ratios.append(ratio)
            print(
                f"{kind:<22}{int(statistics.median(hits)):>8}{e50:>9.1f}{e95:>9.1f}"
                f"{p50:>11.1f}{p95:>11.1f}{ratio:>7.2f}"
            )
        for label, kind in (
            ("(inbox, no search)", ThreadFilter.ALL),
            ("(needs reply filter)", ThreadFilter.NEEDS_REPLY),
        ):
            took = {}
            for name, conn in (("enc", enc), ("plain", plain)):
                search_once(conn, "", kind)
                runs = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    n = search_once(conn, "", kind)
                    runs.append((time.perf_counter() - began) * 1000)
                took[name] = _pct(runs, 50)
            print(f"{label:<22}{n:>8}{took['enc']:>9.1f}{'':>9}{took['plain']:>11.1f}")
        print(
            f"worst p95 {worst95:.1f} ms (target <= 30); worst ratio {max(ratios):.2f} "
            f"(target <= 1.5)"
        )
    finally:
        repo._text_sql = original
        enc.close()
        plain.close()


def _pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--tokenizer", choices=("trigram", "unicode61"), default="trigram")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--cache-mib", type=int, default=None, help="PRAGMA cache_size")
    args = parser.parse_args()
    built = build(args.messages, tokenizer=args.tokenizer, rebuild=args.rebuild)
    measure(built, args.repeat, args.cache_mib)


if __name__ == "__main__":
    main()
