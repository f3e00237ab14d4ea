"""Tools → Mailboxes through the real mail and store services on a temp profile: a
Maildir mailbox saved and shown again, fields at fault marked with nothing saved, Test
connection on a Maildir, a plain connection to a remote host refused, disconnecting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLineEdit, QMessageBox

from app.mail.models import MailAccount, MailboxKind, Security
from app.mail.service import secret_name
from app.notices import MailAccountsChanged
from app.services import Core, Services, build_services
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui.dialogs.mailbox import MailboxDialog, MailboxesDialog

FROM = "orders@acme-kitchen.example"


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


@pytest.fixture
def services(core: Core) -> Services:
    put_operator(core.vault, ADMIN)
    add_store(core.vault, 1, "Acme Kitchen")
    return build_services(core)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "Mail" / "acme"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


def _list(qtbot: Any, services: Services) -> MailboxesDialog:
    dialog = MailboxesDialog(store_service=services.stores, mail_service=services.mail, actor=ADMIN)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=5000)
    return dialog


def _form(qtbot: Any, listing: MailboxesDialog) -> MailboxDialog:
    form = listing.open_selected()
    assert form is not None
    qtbot.addWidget(form)
    return form


def _accounts(services: Services) -> list[MailAccount]:
    return services.mail.accounts(ADMIN).result(timeout=5)


def _fill_maildir(form: MailboxDialog, path: Path) -> None:
    form.from_address.setText(FROM)
    form.maildir_choice.setChecked(True)
    form.maildir_path.setText(str(path))


def _fill_imap(form: MailboxDialog, host: str = "imap.example.com") -> None:
    form.from_address.setText(FROM)
    form.imap_choice.setChecked(True)
    form.imap_host.setText(host)
    form.imap_password.setText("imap-pass-1")
    form.smtp_host.setText("smtp.example.com")


def _save(qtbot: Any, form: MailboxDialog) -> MailAccount:
    with qtbot.waitSignal(form.mailbox_saved, timeout=5000) as saved:
        form.buttons.button(form.buttons.StandardButton.Save).click()
    account = saved.args[0]
    assert isinstance(account, MailAccount)
    return account


def _error_under(form: MailboxDialog, field: str) -> str:
    label = form.field_errors[field]
    assert label.isVisibleTo(form), f"no message under {field}"
    shown = [name for name, other in form.field_errors.items() if other.isVisibleTo(form)]
    assert shown == [field]
    return label.text()


def test_maildir_mailbox_is_saved_and_shown_again(
    qtbot: Any, services: Services, maildir: Path
) -> None:
    heard: list[MailAccountsChanged] = []
    services.core.notices.subscribe(MailAccountsChanged, heard.append)
    listing = _list(qtbot, services)
    assert "not connected" in listing.list.item(0).text()
    assert listing.connect_button.isEnabled() and not listing.edit_button.isEnabled()
    form = _form(qtbot, listing)
    assert form.windowTitle() == "Connect a mailbox"
    _fill_maildir(form, maildir)
    form.smtp_host.setText("smtp.example.com")
    form.smtp_security.setCurrentIndex(form.smtp_security.findData(Security.STARTTLS))
    form.smtp_password.setText("smtp-pass-1")
    saved = _save(qtbot, form)

    assert saved.kind is MailboxKind.MAILDIR and saved.maildir_path == str(maildir.resolve())
    assert _accounts(services) == [saved]
    assert services.core.secrets.get(secret_name(1, "smtp-password")) == "smtp-pass-1"
    assert heard == [MailAccountsChanged(frozenset({1}))]
    qtbot.waitUntil(lambda: "Maildir folder" in listing.list.item(0).text(), timeout=5000)
    assert listing.edit_button.isEnabled() and not listing.connect_button.isEnabled()

    again = _form(qtbot, listing)
    assert again.windowTitle() == "Mailbox of Acme Kitchen"
    assert again.maildir_choice.isChecked() and again.incoming_stack.currentIndex() == 1
    assert again.from_address.text() == FROM
    assert again.maildir_path.text() == str(maildir.resolve())
    assert again.smtp_host.text() == "smtp.example.com"
    assert again.smtp_port.text() == "587"
    assert again.smtp_security.currentData() == Security.STARTTLS
    assert again.smtp_password.text() == ""  # never read back from the keychain


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda f: f.from_address.setText("not an address"), "from_address", "registered"),
        (lambda f: f.imap_host.setText(""), "imap_host", "server's name"),
        (lambda f: f.imap_port.setText(""), "imap_port", "1 to 65535"),
        (lambda f: f.imap_port.setText("70000"), "imap_port", "1 to 65535"),
        (lambda f: f.imap_password.setText(""), "imap_password", "password"),
        (lambda f: f.smtp_host.setText(""), "smtp_host", "outgoing (SMTP)"),
        (lambda f: f.smtp_port.setText(""), "smtp_port", "SMTP port"),
        (lambda f: f.inbox_folder.setText(" "), "inbox_folder", "inbox folder"),
    ],
)
def test_a_field_at_fault_gets_its_message_under_it_and_nothing_is_saved(
    qtbot: Any, services: Services, change: Any, field: str, words: str
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    form.show()
    _fill_imap(form)
    change(form)
    form.save()
    assert words in _error_under(form, field)
    assert "c62828" in form._field_widgets[field].styleSheet()
    assert form.test_button.isEnabled()  # nothing started in the background
    assert _accounts(services) == []
    assert services.core.secrets.get(secret_name(1, "imap-password")) is None


def test_a_folder_that_is_no_maildir_is_refused_under_the_folder(
    qtbot: Any, services: Services, tmp_path: Path
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    form.show()
    _fill_maildir(form, tmp_path)
    form.save()
    assert "not a Maildir folder" in _error_under(form, "maildir_path")
    assert _accounts(services) == []


def test_a_corrected_field_clears_its_message_and_saves(
    qtbot: Any, services: Services, maildir: Path
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    form.show()
    _fill_maildir(form, maildir)
    form.from_address.setText("")
    form.save()
    _error_under(form, "from_address")
    form.from_address.setText(FROM)
    _save(qtbot, form)
    assert not form.field_errors["from_address"].isVisibleTo(form)
    assert [a.from_address for a in _accounts(services)] == [FROM]


def test_connection_to_a_maildir_reports_success_in_words(
    qtbot: Any, services: Services, maildir: Path
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    _fill_maildir(form, maildir)
    form.test_connection()
    assert not form.test_button.isEnabled()  # runs in the background
    qtbot.waitUntil(form.test_button.isEnabled, timeout=5000)
    assert form.last_error is None
    assert "Connected" in form.result_label.text() and "inbox" in form.result_label.text()
    assert _accounts(services) == []  # a test saves nothing
    qtbot.keyClicks(form.from_address, "x")  # the answer was about the old values
    assert not form.result_label.isVisibleTo(form) and form.last_result is None


def test_plain_connection_to_a_remote_host_is_refused_with_the_reason(
    qtbot: Any, services: Services
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    form.show()
    _fill_imap(form, "mail.example.com")
    form.imap_security.setCurrentIndex(form.imap_security.findData(Security.PLAIN))
    form.test_connection()
    message = _error_under(form, "imap_security")
    assert "TLS or STARTTLS" in message and "only to this computer" in message
    lines = form.field_errors["imap_security"].minimumHeight() // form.fontMetrics().lineSpacing()
    assert lines >= 3  # the whole message, not the first two lines of it
    assert "TLS or STARTTLS" in form.result_label.text()
    assert form.test_button.isEnabled()  # refused before any connection
    form.save()
    assert _accounts(services) == []


def test_plain_to_this_computer_is_allowed(qtbot: Any, services: Services) -> None:
    form = _form(qtbot, _list(qtbot, services))
    _fill_imap(form, "127.0.0.1")
    form.imap_security.setCurrentIndex(form.imap_security.findData(Security.PLAIN))
    form.smtp_host.setText("localhost")
    form.smtp_security.setCurrentIndex(form.smtp_security.findData(Security.PLAIN))
    saved = _save(qtbot, form)
    assert saved.imap_security is Security.PLAIN and saved.imap_port == 143
    assert saved.smtp_port == 25


def test_ports_follow_the_security_until_typed_and_user_defaults_to_from(
    qtbot: Any, services: Services
) -> None:
    form = _form(qtbot, _list(qtbot, services))
    assert (form.imap_port.text(), form.smtp_port.text()) == ("993", "465")
    form.imap_security.setCurrentIndex(form.imap_security.findData(Security.STARTTLS))
    form.smtp_security.setCurrentIndex(form.smtp_security.findData(Security.STARTTLS))
    assert (form.imap_port.text(), form.smtp_port.text()) == ("143", "587")
    form.imap_port.setText("10993")
    form.imap_security.setCurrentIndex(form.imap_security.findData(Security.TLS))
    assert form.imap_port.text() == "10993"  # the seller's own port stays
    _fill_imap(form)
    assert form.account().imap_user == FROM
    assert form.inbox_folder.text() == "INBOX"


def test_passwords_are_masked_and_empty_on_edit_keeps_the_stored_one(
    qtbot: Any, services: Services
) -> None:
    listing = _list(qtbot, services)
    form = _form(qtbot, listing)
    for field in (form.imap_password, form.smtp_password):
        assert field.echoMode() == QLineEdit.EchoMode.Password
    _fill_imap(form)
    _save(qtbot, form)
    qtbot.waitUntil(lambda: listing.edit_button.isEnabled(), timeout=5000)

    edit = _form(qtbot, listing)
    assert edit.imap_host.text() == "imap.example.com" and edit.imap_password.text() == ""
    edit.imap_host.setText("imap2.example.com")
    _save(qtbot, edit)
    assert [a.imap_host for a in _accounts(services)] == ["imap2.example.com"]
    assert services.core.secrets.get(secret_name(1, "imap-password")) == "imap-pass-1"


def test_closing_during_a_test_drops_its_answer(
    qtbot: Any, services: Services, maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = services.mail.test_account

    def slow(*args: Any) -> str:
        release.wait(5)
        return str(real(*args))

    monkeypatch.setattr(services.mail, "test_account", slow)
    form = _form(qtbot, _list(qtbot, services))
    _fill_maildir(form, maildir)
    form.test_connection()
    form.reject()  # Cancel while the test is still connecting
    release.set()
    qtbot.waitUntil(form.test_future.done, timeout=5000)
    QCoreApplication.processEvents()  # the answer's queued delivery
    assert form.last_result is None and "Connected" not in form.result_label.text()
    assert _accounts(services) == []


def test_disconnect_after_confirmation_removes_the_mailbox_and_its_passwords(
    qtbot: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = _list(qtbot, services)
    form = _form(qtbot, listing)
    _fill_imap(form)
    _save(qtbot, form)
    qtbot.waitUntil(lambda: listing.disconnect_button.isEnabled(), timeout=5000)

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    listing.disconnect_mailbox()
    assert len(_accounts(services)) == 1

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    listing.disconnect_mailbox()
    qtbot.waitUntil(lambda: "not connected" in listing.list.item(0).text(), timeout=5000)
    assert _accounts(services) == []
    assert services.core.secrets.get(secret_name(1, "imap-password")) is None
