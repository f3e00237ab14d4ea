"""Intent detection on a labelled set of buyer messages in EN/DE/FR/ES/IT/JA (written
for this test, in the words buyers use, with typos and missing accents), the subject's
hint, ties by specificity, and "other" when nothing is clear."""

from __future__ import annotations

import pytest

from app.drafting.intents import detect_intent, detect_thread_intent, scores
from app.drafting.models import Intent

W, D, B = Intent.WHERE_IS_MY_ORDER, Intent.DELIVERY_PROBLEM, Intent.DAMAGED
R, X, P = Intent.RETURN_REFUND, Intent.EXCHANGE_SIZE, Intent.PRODUCT_QUESTION
C, A, V, N = Intent.CANCELLATION, Intent.ADDRESS_CHANGE, Intent.INVOICE_VAT, Intent.OTHER

#: (language, text, intent).  Accuracy over the whole set is asserted below.
LABELLED: tuple[tuple[str, str, Intent], ...] = (
    # --- English
    ("en", "Hi, where is my order? I ordered it a week ago.", W),
    ("en", "My package still hasn't arrived. Can you check?", W),
    ("en", "When will it be shipped? I need it by Friday.", W),
    ("en", "Has my order been shipped yet? No tracking info on my side.", W),
    ("en", "Could you give me an update on the status of my order?", W),
    ("en", "It says delivered but I never got it. Nothing at the door.", D),
    ("en", "Tracking shows delivered to the wrong address, not my house.", D),
    ("en", "The parcel was returned to sender, why?", D),
    ("en", "USPS says they left it but it is not here, I think it was stolen.", D),
    ("en", "The mug arrived broken, the handle is cracked.", B),
    ("en", "The blender doesn't work, it won't turn on at all.", B),
    ("en", "Item is defective, it stopped working after two days.", B),
    ("en", "Box was crushed and the lamp inside is damaged", B),
    ("en", "I'd like to return this, how do I return it?", R),
    ("en", "Please refund me, I don't want it anymore.", R),
    ("en", "Changed my mind, can I send it back for my money back?", R),
    ("en", "The shoes are too small, can I exchange them for a bigger size?", X),
    ("en", "You sent the wrong color, I ordered blue. Can I swap it?", X),
    ("en", "Doesn't fit, I need a different size please.", X),
    ("en", "Is this kettle dishwasher safe?", P),
    ("en", "What are the dimensions of the table? Will it fit a small kitchen?", P),
    ("en", "Is it compatible with the iPhone 15?", P),
    ("en", "Before I buy: what material is the strap made of?", P),
    ("en", "Please cancel my order, I ordered by mistake.", C),
    ("en", "Can I cancel this? Found it cheaper elsewhere.", C),
    ("en", "I need to change the shipping address, I moved last week.", A),
    ("en", "Can you ship it to a different address? I entered the wrong address.", A),
    ("en", "Can I get an invoice with VAT for my company?", V),
    ("en", "Please send me a receipt for this purchase.", V),
    ("en", "Thanks a lot, great seller!", N),
    ("en", "Hello", N),
    ("en", "Do you sell wholesale?", N),
    # --- German
    ("de", "Hallo, wo ist meine Bestellung? Ich warte schon seit einer Woche.", W),
    ("de", "Mein Paket ist noch nicht angekommen.", W),
    ("de", "Wann kommt die Lieferung? Ist sie schon versandt?", W),
    (
        "de",
        "Laut Sendungsverfolgung zugestellt, aber ich habe nichts erhalten. Angeblich zugestellt!",
        D,
    ),
    ("de", "Das Paket ist verloren gegangen, DHL sagt es ist zurück an den Absender.", D),
    ("de", "Der Wasserkocher ist kaputt angekommen.", B),
    ("de", "Das Gerät funktioniert nicht, lässt sich nicht einschalten.", B),
    ("de", "Die Tasse war beschädigt, der Henkel ist abgebrochen.", B),
    ("de", "Ich möchte den Artikel zurücksenden und mein Geld zurück.", R),
    ("de", "Wie bekomme ich eine Rückerstattung?", R),
    ("de", "Die Schuhe sind zu klein, kann ich sie in eine größere Größe umtauschen?", X),
    ("de", "Passt nicht, ich brauche eine andere Größe.", X),
    ("de", "Ist die Pfanne spülmaschinenfest?", P),
    ("de", "Welche Maße hat der Tisch genau?", P),
    ("de", "Bitte stornieren Sie meine Bestellung.", C),
    ("de", "Ich habe versehentlich bestellt, bitte Stornierung.", C),
    ("de", "Können Sie bitte die Lieferadresse ändern? Ich bin umgezogen.", A),
    ("de", "Ich brauche eine Rechnung mit ausgewiesener MwSt.", V),
    ("de", "Bitte senden Sie mir die Rechnung zu.", V),
    ("de", "Vielen Dank, alles bestens!", N),
    # --- French
    ("fr", "Bonjour, où est ma commande ? Je ne l'ai toujours pas reçue.", W),
    ("fr", "Quand vais-je recevoir mon colis ?", W),
    ("fr", "Le colis est indiqué livré mais je n'ai rien reçu.", D),
    ("fr", "Colis perdu selon le transporteur.", D),
    ("fr", "L'article est arrivé cassé.", B),
    ("fr", "La lampe ne fonctionne pas, elle ne s'allume pas.", B),
    ("fr", "Je voudrais retourner l'article et être remboursé.", R),
    ("fr", "Comment obtenir un remboursement ?", R),
    ("fr", "C'est trop petit, puis-je échanger contre une autre taille ?", X),
    (
        "fr",
        "Est-ce que ce produit est compatible avec mon lave-vaisselle ? Quelles dimensions ?",
        P,
    ),
    ("fr", "Merci d'annuler ma commande.", C),
    ("fr", "Je dois changer l'adresse de livraison.", A),
    ("fr", "Pouvez-vous m'envoyer une facture avec TVA ?", V),
    ("fr", "Merci beaucoup !", N),
    # --- Spanish
    ("es", "Hola, ¿dónde está mi pedido? Todavía no ha llegado.", W),
    ("es", "¿Cuándo llegará mi paquete?", W),
    ("es", "Aparece como entregado pero no lo he recibido.", D),
    ("es", "El paquete fue devuelto al remitente.", D),
    ("es", "El producto llegó roto.", B),
    ("es", "No funciona, no enciende.", B),
    ("es", "Quiero devolver el producto y recibir un reembolso.", R),
    ("es", "Me queda pequeño, ¿puedo cambiarlo por otra talla?", X),
    ("es", "¿Es compatible con el modelo anterior? ¿Qué medidas tiene?", P),
    ("es", "Por favor, cancelar mi pedido.", C),
    ("es", "Necesito cambiar la dirección de entrega.", A),
    ("es", "¿Me pueden enviar la factura con IVA?", V),
    ("es", "Muchas gracias por todo.", N),
    # --- Italian
    ("it", "Buongiorno, dov'è il mio ordine? Non è ancora arrivato.", W),
    ("it", "Quando arriverà il pacco?", W),
    ("it", "Risulta consegnato ma non ho ricevuto nulla.", D),
    ("it", "Il prodotto è arrivato rotto.", B),
    ("it", "Non funziona, non si accende.", B),
    ("it", "Vorrei restituire l'articolo e avere il rimborso.", R),
    ("it", "È troppo piccolo, posso cambiare con una taglia più grande?", X),
    ("it", "È compatibile con la lavastoviglie? Che dimensioni ha?", P),
    ("it", "Vorrei annullare l'ordine.", C),
    ("it", "Devo cambiare l'indirizzo di consegna.", A),
    ("it", "Potete inviarmi la fattura?", V),
    ("it", "Grazie mille!", N),
    # --- Japanese
    ("ja", "注文した商品がまだ届いていません。いつ届きますか？", W),
    ("ja", "追跡番号を教えてください。発送されましたか？", W),
    ("ja", "配達済みになっていますが、受け取っていません。", D),
    ("ja", "商品が壊れていました。", B),
    ("ja", "電源が入らない初期不良です。", B),
    ("ja", "返品して返金してほしいです。", R),
    ("ja", "サイズが小さいので交換できますか？", X),
    ("ja", "この商品は食洗機に対応していますか？", P),
    ("ja", "注文をキャンセルしたいです。", C),
    ("ja", "お届け先の住所を変更したいです。", A),
    ("ja", "領収書を発行してください。", V),
    ("ja", "ありがとうございました。", N),
)

#: Written after the rules were tuned on :data:`LABELLED`, and never tuned on: how the
#: rules do on words they were not written for.
HELD_OUT: tuple[tuple[str, str, Intent], ...] = (
    ("en", "Any idea when my stuff will show up? It's been 10 days.", W),
    ("en", "Driver claims he delivered it yesterday, but nothing was left here.", D),
    ("en", "Screen came cracked right out of the box", B),
    ("en", "How long do I have to send this back for a full refund?", R),
    ("en", "Can I swap the medium for a large?", X),
    ("en", "Does the charger come with a UK plug?", P),
    ("en", "Please stop the shipment, I want to cancel.", C),
    ("en", "Oops, typed my old address. Please update the delivery address.", A),
    ("en", "Need a proper invoice for my accountant.", V),
    ("de", "Die Bestellung ist immer noch nicht da, wann kommt sie?", W),
    ("de", "Der Bote hat das Paket an den falschen Nachbarn gegeben, es ist weg.", D),
    ("de", "Leider ist das Glas zerbrochen angekommen.", B),
    ("de", "Kann ich das zurückschicken? Gefällt mir nicht.", R),
    ("de", "Die Jacke ist zu eng, gibt es einen Umtausch?", X),
    ("de", "Ist der Akku austauschbar?", P),
    ("de", "Ich möchte die Bestellung stornieren.", C),
    ("fr", "Toujours pas reçu ma commande, c'est normal ?", W),
    ("fr", "Le produit est arrivé endommagé, la boîte était ouverte.", B),
    ("fr", "Je souhaite un remboursement, l'article ne me convient pas.", R),
    ("fr", "Le pantalon est trop grand, je voudrais une taille plus petite.", X),
    ("fr", "Je voudrais annuler, j'ai commandé deux fois.", C),
    ("es", "Todavía no he recibido nada, ¿cuándo llega?", W),
    ("es", "El reloj está rayado y no funciona bien.", B),
    ("es", "¿Cómo hago la devolución?", R),
    ("es", "Quiero cancelar el pedido, me equivoqué.", C),
    ("es", "¿Tiene garantía este producto?", P),
    ("it", "Il pacco non è ancora arrivato, è già stato spedito?", W),
    ("it", "La tazza è arrivata rotta.", B),
    ("it", "Come posso fare il reso?", R),
    ("it", "Mi serve la fattura per la partita IVA.", V),
    ("it", "Posso annullare l'ordine?", C),
    ("ja", "まだ商品が届きません。", W),
    ("ja", "箱が潰れていて、中の商品が破損していました。", B),
    ("ja", "返品の方法を教えてください。", R),
    ("ja", "別のサイズに交換してください。", X),
    ("ja", "請求書をお願いします。", V),
)
#: Measured when written (see the report); a floor well under it.
MIN_HELD_OUT_ACCURACY = 0.8

#: The set's accuracy must stay at least this (it was measured at the figure in the
#: report when the rules were written; a rule change that loses ground fails here).
MIN_ACCURACY = 0.95


def test_the_labelled_set_is_detected_accurately() -> None:
    wrong = [
        (lang, text, expected, got)
        for lang, text, expected in LABELLED
        if (got := detect_intent(text, language=lang)) is not expected
    ]
    accuracy = 1 - len(wrong) / len(LABELLED)
    assert accuracy >= MIN_ACCURACY, wrong


def test_messages_the_rules_were_not_tuned_on_are_mostly_right() -> None:
    wrong = [(t, i, got) for _, t, i in HELD_OUT if (got := detect_intent(t)) is not i]
    assert 1 - len(wrong) / len(HELD_OUT) >= MIN_HELD_OUT_ACCURACY, wrong


def test_the_set_covers_every_intent_in_every_language() -> None:
    for lang in ("en", "de", "fr", "es", "it", "ja"):
        assert {i for lg, _, i in LABELLED if lg == lang} == set(Intent), lang


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "ja"])
def test_each_language_is_mostly_right(language: str) -> None:
    cases = [(t, i) for lg, t, i in LABELLED if lg == language]
    right = sum(detect_intent(t) is i for t, i in cases)
    assert right / len(cases) >= 0.9


def test_accents_left_out_still_count() -> None:
    assert detect_intent("Je voudrais etre rembourse, l'article est arrive") is R
    assert (
        detect_intent("Das Geraet ist beschaedigt") is B
        or detect_intent("Der Artikel ist beschadigt") is B
    )


def test_damage_wins_over_the_refund_it_asks_for() -> None:
    text = "The glass arrived broken. I want a refund."
    assert scores(text)[B] > scores(text)[R]
    assert detect_intent(text) is B


def test_the_subject_hints_when_the_text_says_little() -> None:
    assert detect_intent("Hello, any news?") is N
    assert detect_intent("Hello, any news?", "Return policy inquiry from Amazon customer Jo") is R


def test_placeholders_do_not_disturb() -> None:
    assert detect_intent("Hi, I'm [NAME]. My parcel never arrived at [ADDRESS].") in (W, D)


def test_a_thread_is_decided_by_its_newest_clear_message() -> None:
    assert detect_thread_intent(["The lamp arrived broken.", "Any news??"]) is B
    assert detect_thread_intent(["Where is my order?", "Please cancel it then."]) is C
    assert detect_thread_intent([]) is N
