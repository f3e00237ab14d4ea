"""The label preview (ui/dialogs/label_preview.py): true size (a 4x6 in PDF at X dpi is
4X × 6X pixels; on screen inches × the screen's dpi), PNG at its own dpi, ZPL as text,
the printers offered per format, an offline printer's "Try again" printing the same
bytes with nothing bought again, and the preset that only an admin can save."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, QSizeF
from PySide6.QtGui import QImage

from app.amazon.spapi.shipping import LabelDocument, LabelFormat
from app.auth.models import Actor
from app.auth.rbac import Role
from app.fulfillment.models import Bought, DocumentSpec
from app.fulfillment.printers import (
    Paper,
    PrinterInfo,
    PrinterKind,
    PrinterOffline,
    PrinterState,
    PrintSettings,
)
from app.services import Core, Services
from tests.helpers.label_dialogs import (
    ORDER,
    RATES,
    TRACKING,
    ScriptedShipping,
    label_pdf,
    label_world,
)
from tests.helpers.orders import ADMIN
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.dialogs.label_preview import (
    ZPL_NOTE,
    LabelPreviewDialog,
    render_pdf,
    screen_dpi,
    true_size,
)
from ui.printing import PrintTarget

AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT, store_ids=frozenset({1}))
ZPL = b"^XA^CI28^FO40,40^FDSHIP TO: Jane Tester^FS^BCN,200^FD" + TRACKING.encode() + b"^FS^XZ"


def _printers() -> list[PrinterInfo]:
    return [
        PrinterInfo("Office", PrinterKind.CUPS, PrinterState.IDLE, True, True, "Office", False),
        PrinterInfo("ZebraRaw", PrinterKind.CUPS, PrinterState.IDLE, True, False, "Zebra", True),
    ]


@pytest.fixture
def world(core: Core) -> tuple[Services, ScriptedShipping]:
    return label_world(core, AGENT)


def _bought(
    services: Services, fmt: LabelFormat = LabelFormat.PDF, dpi: int | None = None
) -> Bought:
    quote = services.labels.get_rates(ADMIN, ORDER.order_id, _preset(services))
    return services.labels.buy(
        ADMIN, ORDER.order_id, quote, RATES[1].rate_id, spec=DocumentSpec(format=fmt, dpi=dpi)
    )


def _preset(services: Services) -> Any:
    found = services.labels.shippable(ADMIN, [ORDER.order_id]).result(timeout=5)
    return found[0].preset


def _preview(qtbot: Any, services: Services, bought: Bought, **kw: Any) -> LabelPreviewDialog:
    kw.setdefault("list_printers", _printers)
    dialog = LabelPreviewDialog(
        labels=services.labels,
        actor=kw.pop("actor", ADMIN),
        shipment=bought.shipment,
        documents=bought.documents,
        items=((("LANTERN-2", "Trail lantern", 2),)),
        **kw,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.printer.isEnabled() or dialog.answer.isVisible(), timeout=5000)
    return dialog


@pytest.mark.parametrize("dpi", [96, 110, 203])
def test_a_4x6_pdf_at_x_dpi_renders_4x_by_6x(qapp: Any, dpi: int) -> None:
    assert true_size(QSizeF(288, 432), dpi) == QSize(4 * dpi, 6 * dpi)
    image = render_pdf(label_pdf("Order 1"), dpi)
    assert (image.width(), image.height()) == (4 * dpi, 6 * dpi)


def test_true_size_is_inches_times_the_screen_dpi_and_fit_window_shrinks(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    dialog = _preview(qtbot, services, _bought(services))
    dpi = screen_dpi(dialog)
    assert dialog.display_size() == QSize(round(4 * dpi), round(6 * dpi))
    assert dialog.picture.size() == dialog.display_size()
    dialog.resize(700, 420)
    dialog.zoom.setCurrentIndex(1)  # fit window
    fitted = dialog.display_size()
    assert fitted.height() <= dialog.scroll_area.viewport().height()
    assert abs(fitted.width() / fitted.height() - 4 / 6) < 0.02
    assert dialog.picture.size() == fitted


def test_a_png_label_is_shown_at_its_own_dpi(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    image = QImage(812, 1218, QImage.Format.Format_RGB32)  # 4x6 in at 203 dpi
    image.fill(0xFFFFFF)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    client.label = bytes(data.data())
    dialog = _preview(qtbot, services, _bought(services, LabelFormat.PNG, 203))
    dpi = screen_dpi(dialog)
    assert dialog.display_size() == QSize(round(812 * dpi / 203), round(1218 * dpi / 203))


def test_a_zpl_label_shows_its_text_and_only_zpl_printers(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    client.label = ZPL
    dialog = _preview(qtbot, services, _bought(services, LabelFormat.ZPL, 203))
    assert dialog.zpl_note.text() == ZPL_NOTE
    text = dialog.zpl_box.toPlainText()
    assert "SHIP TO: Jane Tester" in text and f"[barcode] {TRACKING}" in text
    assert dialog.current_target() == PrintTarget("ZebraRaw", PrinterKind.CUPS, raw=True)
    office = dialog.printer.findData("Office")
    assert not dialog.printer.model().item(office).isEnabled()  # type: ignore[attr-defined]
    assert "cannot print ZPL" in dialog.printer.itemText(office)


def test_an_offline_printer_gets_try_again_with_the_same_label_and_no_second_purchase(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    bought = _bought(services)
    sent: list[tuple[str, bytes, str]] = []

    def print_fn(
        target: PrintTarget, doc: LabelDocument, settings: PrintSettings, title: str
    ) -> str:
        sent.append((target.name, doc.data, title))
        if len(sent) == 1:
            raise PrinterOffline()
        return "Office-7"

    dialog = _preview(qtbot, services, bought, print_fn=print_fn)
    assert dialog.current_target() is not None and dialog.current_target().name == "Office"  # type: ignore[union-attr]
    dialog.print_button.click()
    qtbot.waitUntil(lambda: dialog.retry_button.isVisible(), timeout=5000)
    assert "Printer not ready" in dialog.answer.text()
    with qtbot.waitSignal(dialog.label_printed, timeout=5000):
        dialog.retry_button.click()
    assert [s[1] for s in sent] == [bought.label.data, bought.label.data]
    assert {s[2] for s in sent} == {f"Order {ORDER.order_id}"}
    assert client.purchases == 1 and client.document_calls == 0
    assert "Office-7" in dialog.answer.text() and not dialog.retry_button.isVisible()
    shipment = services.labels.shipments(ADMIN, [ORDER.order_id]).result(timeout=5)[0]
    assert shipment.printed == 1
    last = services.labels.read(ADMIN, lambda r: r.last_printers()).result(timeout=5)
    assert last["PDF"] == "Office"


def test_the_printer_preset_is_saved_by_an_admin_and_preselected(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    bought = _bought(services)
    agent_view = _preview(qtbot, services, bought, actor=AGENT)
    assert not agent_view.save_preset_button.isEnabled()
    assert "administrator" in agent_view.save_preset_button.toolTip()

    dialog = _preview(qtbot, services, bought)
    assert dialog.save_preset_button.isEnabled()
    dialog.paper.setCurrentIndex(dialog.paper.findData(Paper.LETTER_2UP))
    dialog.scale_to_fit.setChecked(True)
    dialog.save_preset_button.click()
    qtbot.waitUntil(lambda: "Saved" in dialog.answer.text(), timeout=5000)
    again = _preview(qtbot, services, bought)
    assert again.settings() == PrintSettings(paper=Paper.LETTER_2UP, scale_to_fit=True)


def test_the_packing_slip_goes_to_a_regular_printer_with_the_items(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    slips: list[tuple[str, str, tuple[Any, ...], str | None]] = []
    asked: list[str] = []

    class Names:  # the Orders API, asked only when the name is wanted on the slip
        def recipient_name(self, order_id: str) -> str | None:
            asked.append(order_id)
            return "Marigold Quintanilla"

        def close(self) -> None:
            pass

    services.labels.orders_client_factory = lambda store, creds: Names()

    def slip_fn(
        target: PrintTarget, order_id: str, items: Any, settings: PrintSettings, name: str | None
    ) -> str:
        slips.append((target.name, order_id, tuple(items), name))
        return f"Office-{len(slips)}"

    dialog = _preview(qtbot, services, _bought(services), slip_fn=slip_fn)
    assert [dialog.slip_printer.itemText(i) for i in range(dialog.slip_printer.count())] == [
        "Office"
    ]
    dialog.slip_button.click()
    qtbot.waitUntil(lambda: "Office-1" in dialog.answer.text(), timeout=5000)
    items = (("LANTERN-2", "Trail lantern", 2),)
    assert slips == [("Office", ORDER.order_id, items, None)]
    assert asked == []  # off by default: Amazon is not asked for the name
    last = services.labels.read(ADMIN, lambda r: r.last_printers()).result(timeout=5)
    assert last["SLIP"] == "Office"

    defaults = services.labels.read(ADMIN, lambda r: r.defaults(1)).result(timeout=5)
    services.labels.save_defaults(ADMIN, replace(defaults, slip_shows_name=True))
    dialog.slip_button.click()
    qtbot.waitUntil(lambda: "Office-2" in dialog.answer.text(), timeout=5000)
    assert slips[1] == ("Office", ORDER.order_id, items, "Marigold Quintanilla")
    assert asked == [ORDER.order_id]
