"""Operators tab (admins only): the team's accounts and what an admin can do to them.

Every action runs through ``OperatorService`` off the GUI thread; the service checks the
permission and protects the last active admin; its refusals are shown in plain words
above the table.  Secrets shown once (setup codes, temporary passwords) appear in a
:class:`OneTimeSecretDialog` and are never kept by the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Actor, Operator, SetupCode, StoreRef
from app.auth.rbac import Role
from app.auth.service import OperatorService
from app.clock import Clock
from app.errors import UserError
from app.notices import OperatorsChanged, StoresChanged
from ui.dialogs.forms import ask_confirm
from ui.dialogs.mfa import mono_font
from ui.events import QtEvents
from ui.models.operators_model import OperatorsModel
from ui.ops import Op, when_done

T = TypeVar("T")

ERROR_STYLE = (
    "background: #fdecea; color: #8a1c14; border: 1px solid #f3b8b2; border-radius: 4px;"
    " padding: 6px;"
)
INFO_STYLE = (
    "background: #e8f3ea; color: #1b4d20; border: 1px solid #b5dcb9; border-radius: 4px;"
    " padding: 6px;"
)


def _store_list(stores: list[StoreRef], selected: frozenset[int]) -> QListWidget:
    widget = QListWidget()
    widget.setObjectName("storeList")
    for store in stores:
        item = QListWidgetItem(store.name)
        item.setData(Qt.ItemDataRole.UserRole, store.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        checked = store.id in selected
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        widget.addItem(item)
    widget.setMaximumHeight(140)
    return widget


def _checked_ids(widget: QListWidget) -> frozenset[int]:
    ids = set()
    for i in range(widget.count()):
        item = widget.item(i)
        if item.checkState() == Qt.CheckState.Checked:
            ids.add(int(item.data(Qt.ItemDataRole.UserRole)))
    return frozenset(ids)


class AddOperatorDialog(QDialog):
    """Username, name, email, role, stores.  ``values()`` after Accepted."""

    def __init__(self, stores: list[StoreRef], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add operator")
        self.setObjectName("addOperatorDialog")
        self.setMinimumWidth(420)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.display_name = QLineEdit()
        self.display_name.setObjectName("displayName")
        self.email = QLineEdit()
        self.email.setObjectName("email")
        self.role = QComboBox()
        self.role.setObjectName("role")
        self.role.addItem("Agent: only the stores below", Role.AGENT)
        self.role.addItem("Administrator: everything", Role.ADMIN)
        self.stores = _store_list(stores, frozenset())
        self.role.currentIndexChanged.connect(self._role_changed)
        form = QFormLayout()
        form.addRow("Username:", self.username)
        form.addRow("Name:", self.display_name)
        form.addRow("Email:", self.email)
        form.addRow("Role:", self.role)
        form.addRow("Stores:", self.stores)
        note = QLabel(
            "They choose their own password and set up two-step sign-in the first time "
            "they sign in, with a one-time setup code you will see next."
        )
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.username, self.display_name, self.email):
            edit.textChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self._update_ok()

    def _role_changed(self) -> None:
        self.stores.setEnabled(Role(self.role.currentData()) == Role.AGENT)

    def _update_ok(self) -> None:
        ok = all(e.text().strip() for e in (self.username, self.display_name, self.email))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> dict[str, Any]:
        role = Role(self.role.currentData())  # Qt hands the enum back as a plain str
        return {
            "username": self.username.text().strip(),
            "display_name": self.display_name.text().strip(),
            "email": self.email.text().strip(),
            "role": role,
            "store_ids": _checked_ids(self.stores) if role == Role.AGENT else frozenset(),
        }


class AssignStoresDialog(QDialog):
    def __init__(
        self, operator: Operator, stores: list[StoreRef], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Stores of {operator.username}")
        self.setObjectName("assignStoresDialog")
        self.stores = _store_list(stores, operator.store_ids)
        label = QLabel(f"Which stores may <b>{_esc(operator.display_name)}</b> work on?")
        label.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.stores)
        layout.addWidget(buttons)

    def store_ids(self) -> frozenset[int]:
        return _checked_ids(self.stores)


class OneTimeSecretDialog(QDialog):
    """Shows a setup code or temporary password once, with a copy button."""

    def __init__(self, title: str, text: str, secret: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("oneTimeSecretDialog")
        self.setMinimumWidth(440)
        label = QLabel(text)
        label.setWordWrap(True)
        self.secret_label = QLabel(secret)
        self.secret_label.setObjectName("secret")
        font = mono_font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.secret_label.setFont(font)
        self.secret_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.secret_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.secret_label.setStyleSheet("padding: 10px; border: 1px dashed palette(mid);")
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(secret))
        copy.clicked.connect(lambda: copy.setText("Copied"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.secret_label)
        layout.addWidget(QLabel("<i>This is shown only now. Closing this window forgets it.</i>"))
        layout.addWidget(buttons)

    def secret(self) -> str:
        return self.secret_label.text()


class OperatorsView(QWidget):
    """Signals: ``operator_changed(Operator)`` after an action succeeded; ``loaded`` after
    a (re)load.  ``confirm`` is replaceable (tests).  Thread: GUI."""

    operator_changed = Signal(object)
    loaded = Signal()

    def __init__(
        self,
        *,
        service: OperatorService,
        actor: Actor,
        clock: Clock,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._actor = actor
        self._clock = clock
        self._stores: list[StoreRef] = []
        self.confirm: Callable[[str, str], bool] = lambda t, x: ask_confirm(self, t, x)
        self.open_dialog: QDialog | None = None  # the dialog an action opened (tests)
        self.setObjectName("operatorsView")

        self.model = OperatorsModel(service=service, actor=actor, clock=clock, parent=self)
        self._keep_selected: int | None = None  # the operator selected across a reset
        self.model.modelAboutToBeReset.connect(self._save_selection)
        self.model.search_finished.connect(self._loaded)
        self.model.search_failed.connect(self._failed)
        self.table = QTableView()
        self.table.setObjectName("operatorsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.table.doubleClicked.connect(lambda _i: self.assign_stores())

        self.message = QLabel()
        self.message.setObjectName("operatorsMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for key, text, slot in (
            ("add", "Add operator…", self.add_operator),
            ("disable", "Disable", self.toggle_disabled),
            ("reset_password", "Reset password", self.reset_password),
            ("reset_mfa", "Reset two-step", self.reset_mfa),
            ("unlock", "Unlock", self.unlock),
            ("stores", "Stores…", self.assign_stores),
            ("role", "Make administrator", self.toggle_role),
            ("setup_code", "New setup code", self.new_setup_code),
        ):
            button = QPushButton(text)
            button.setObjectName(f"op_{key}")
            button.clicked.connect(slot)
            self.buttons[key] = button
            bar.addWidget(button)
        bar.addStretch(1)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.reload)
        bar.addWidget(refresh)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        self._update_actions()
        if qt_events is not None:  # changes made elsewhere: another admin, sign-in attempts
            qt_events.on(OperatorsChanged, self._operators_changed, owner=self)
            qt_events.on(StoresChanged, lambda _n: self._reload_stores(), owner=self)
        self.reload()

    # --- loading ----------------------------------------------------------------------

    def reload(self) -> None:
        """Read the stores (for the dialogs), then every operator row again."""
        self.message.hide()
        self._reload_stores()
        self.model.refresh()

    def _reload_stores(self) -> None:
        stores = self._service.list_stores(self._actor)
        when_done(stores, self._stores_loaded, self._failed, parent=self)

    def _operators_changed(self, notice: OperatorsChanged) -> None:
        self.model.refresh(changed=notice.operator_ids or None)

    def _stores_loaded(self, stores: list[StoreRef]) -> None:
        self._stores = stores

    def _save_selection(self) -> None:
        op = self.selected()
        self._keep_selected = op.id if op is not None else None

    def _loaded(self, _count: int) -> None:
        if self._keep_selected is not None and not self.table.selectionModel().hasSelection():
            self.select(self._keep_selected)
        self._keep_selected = None
        self._update_actions()
        self.loaded.emit()

    # --- selection --------------------------------------------------------------------

    def selected(self) -> Operator | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.operator_at(rows[0].row()) if rows else None

    def select(self, operator_id: int) -> None:
        row = self.model.row_of(operator_id)
        if row is not None:
            self.table.selectRow(row)

    def _update_actions(self) -> None:
        op = self.selected()
        has = op is not None
        for key, button in self.buttons.items():
            if key != "add":
                button.setEnabled(has)
        if op is None:
            return
        now = self._clock.now()
        self.buttons["disable"].setText("Enable" if op.disabled else "Disable")
        self.buttons["role"].setText(
            "Make agent" if op.role == Role.ADMIN else "Make administrator"
        )
        self.buttons["unlock"].setEnabled(op.is_locked(now) or op.failed_attempts > 0)
        self.buttons["stores"].setEnabled(op.role == Role.AGENT)
        self.buttons["setup_code"].setEnabled(op.setup_pending)
        self.buttons["reset_mfa"].setEnabled(op.mfa_enrolled)

    # --- running ----------------------------------------------------------------------

    def _run(self, fn: Callable[[Any], T], success: Callable[[T], None]) -> None:
        self.message.hide()
        Op(self, fn).on_success(success).on_failure(self._failed).run()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            self.show_message(exc.message, error=True)
            return
        from ui.errors import show_error

        show_error(self, exc)

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet(ERROR_STYLE if error else INFO_STYLE)
        self.message.show()

    def _changed(self, done: str) -> Callable[[Operator], None]:
        def apply(op: Operator) -> None:
            def shown(_answer: object) -> None:
                self._update_actions()
                self.show_message(done.format(name=op.username))
                self.operator_changed.emit(op)

            # Only its row reloads; the answer is placed before ``shown`` runs.
            # (A failure reaches _failed once, through search_failed.)
            when_done(self.model.refresh(changed=[op.id]), shown, lambda _e: None, parent=self)

        return apply

    def _simple(
        self,
        call: Callable[[OperatorService, Actor, int], Operator],
        done: str,
        confirm: tuple[str, str] | None = None,
    ) -> None:
        op = self.selected()
        if op is None:
            return
        if confirm is not None and not self.confirm(
            confirm[0], confirm[1].format(name=op.display_name, username=op.username)
        ):
            return
        service, actor, oid = self._service, self._actor, op.id
        self._run(lambda job: call(service, actor, oid), self._changed(done))

    def _open(self, dialog: QDialog, accepted: Callable[[], None]) -> None:
        self.open_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            if self.open_dialog is dialog:
                self.open_dialog = None
            if result == QDialog.DialogCode.Accepted:
                accepted()

        dialog.finished.connect(finished)
        dialog.open()

    def _show_secret(self, title: str, text: str, secret: str) -> None:
        self._open(OneTimeSecretDialog(title, text, secret, self), lambda: None)

    # --- actions ----------------------------------------------------------------------

    def add_operator(self) -> None:
        dialog = AddOperatorDialog(self._stores, self)

        def accepted() -> None:
            values = dialog.values()
            service, actor = self._service, self._actor
            self._run(lambda job: service.add_operator(actor, **values), self._added)

        self._open(dialog, accepted)

    def _added(self, code: SetupCode) -> None:
        self.reload()
        self.show_message(f"Added {code.username}.")
        self._show_setup_code(code)

    def _show_setup_code(self, code: SetupCode) -> None:
        expires = code.expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
        self._show_secret(
            "One-time setup code",
            f"Give this code to <b>{_esc(code.username)}</b> in person or by phone. At the "
            "sign-in window they choose “I have a setup code”, enter it, pick their own "
            f"password and set up two-step sign-in. It works once, until {expires}.",
            code.code,
        )

    def new_setup_code(self) -> None:
        op = self.selected()
        if op is None:
            return
        service, actor, oid = self._service, self._actor, op.id
        self._run(lambda job: service.new_setup_code(actor, oid), self._show_setup_code)

    def toggle_disabled(self) -> None:
        op = self.selected()
        if op is None:
            return
        if op.disabled:
            self._simple(lambda s, a, i: s.enable(a, i), "{name} can sign in again.")
        else:
            self._simple(
                lambda s, a, i: s.disable(a, i),
                "{name} is disabled and cannot sign in.",
                ("Disable operator", "Disable {name} ({username})? They can no longer sign in."),
            )

    def reset_password(self) -> None:
        op = self.selected()
        if op is None:
            return
        if not self.confirm(
            "Reset password",
            f"Give {op.display_name} ({op.username}) a temporary password? Their current "
            "password stops working; they must choose a new one at their next sign-in.",
        ):
            return
        service, actor, oid, username = self._service, self._actor, op.id, op.username

        def shown(temporary: str) -> None:
            self.reload()
            self.show_message(f"Password of {username} reset.")
            self._show_secret(
                "Temporary password",
                f"Give this temporary password to <b>{_esc(username)}</b>. They must "
                "change it when they next sign in.",
                temporary,
            )

        self._run(lambda job: service.reset_password(actor, oid), shown)

    def reset_mfa(self) -> None:
        self._simple(
            lambda s, a, i: s.reset_mfa(a, i),
            "Two-step sign-in of {name} reset: they set it up again at their next sign-in.",
            (
                "Reset two-step sign-in",
                "Remove the authenticator key and recovery codes of {name} ({username})? "
                "Use this when they lost their phone.",
            ),
        )

    def unlock(self) -> None:
        self._simple(lambda s, a, i: s.unlock(a, i), "{name} is unlocked.")

    def toggle_role(self) -> None:
        op = self.selected()
        if op is None:
            return
        new = Role.AGENT if op.role == Role.ADMIN else Role.ADMIN
        words = "an agent" if new is Role.AGENT else "an administrator"
        self._simple(
            lambda s, a, i: s.set_role(a, i, new),
            f"{{name}} is now {words}.",
            ("Change role", f"Make {{name}} ({{username}}) {words}?"),
        )

    def assign_stores(self) -> None:
        op = self.selected()
        if op is None or op.role != Role.AGENT:
            return
        dialog = AssignStoresDialog(op, self._stores, self)
        service, actor, oid = self._service, self._actor, op.id

        def accepted() -> None:
            ids = dialog.store_ids()
            self._run(
                lambda job: service.assign_stores(actor, oid, ids),
                self._changed("Store access of {name} changed."),
            )

        self._open(dialog, accepted)


def make_tab(window: Any) -> QWidget:
    """Tab factory for ``ui.tabs`` (admins only)."""
    return OperatorsView(
        service=window.services.operators,
        actor=window.session.actor,
        clock=window.services.core.clock,
        qt_events=window.qt_events,
    )


def _esc(text: str) -> str:
    from html import escape

    return escape(text)
