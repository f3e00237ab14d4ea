"""Tools → Drafting… (admins), and the template picker of the conversation pane.

:class:`DraftingDialog` has three tabs:

- "Provider": the default provider (the built-in templates, offline, or an AI model),
  whether a draft starts when a thread is opened, and the AI providers: add, edit or
  remove an OpenAI-compatible one (OpenAI, Azure OpenAI, Ollama, LM Studio, vLLM,
  llama.cpp server) or Anthropic.  :class:`ProviderDialog` is the form (name, base URL,
  model, API key, timeout) with "Test"; the key goes to the drafting service (the
  keychain) only, an empty key field when editing keeps the stored key.
- "Tone and policies": the seller's tone and policies, given to AI providers.
- "Templates": the reply templates, filtered by intent and language; a template's title,
  intent, language, tags and body, with its variables inserted by a click.  Built-in
  templates can be copied, not edited.

:class:`TemplatePicker` ("Use template…" in the conversation pane) lists the templates
for the thread's intent and language with a preview.

Signals: ``ProviderDialog.provider_saved(object)`` (the saved
:class:`~app.drafting.models.ProviderConfig`), ``TemplatesTab.template_saved(object)``,
``KnowledgeTab.knowledge_saved()``, ``TemplatePicker.template_chosen(str)`` (its id).
Thread: GUI only; reads through the service's Futures, writes through ``ui.ops.Op``
(tests of a provider on the network lane).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.auth.models import Actor
from app.drafting.models import Intent, ProviderConfig, ProviderKind
from app.drafting.prompt import LANGUAGE_NAMES, Knowledge
from app.drafting.templates import VARIABLES, Template
from app.errors import UserError
from ui.dialogs.forms import BAD_FIELD, BUSY_STYLE, ERR_STYLE, OK_STYLE, esc, result_label
from ui.ops import Job, Lane, Op, when_done

TEMPLATES_PROVIDER = "Templates"

INTENT_LABELS: dict[Intent, str] = {
    Intent.WHERE_IS_MY_ORDER: "Where is my order",
    Intent.DELIVERY_PROBLEM: "Delivery problem",
    Intent.DAMAGED: "Damaged or defective",
    Intent.RETURN_REFUND: "Return or refund",
    Intent.EXCHANGE_SIZE: "Exchange or size",
    Intent.PRODUCT_QUESTION: "Product question",
    Intent.CANCELLATION: "Cancellation",
    Intent.ADDRESS_CHANGE: "Address change",
    Intent.INVOICE_VAT: "Invoice or VAT",
    Intent.OTHER: "Other",
}

#: The languages a draft is written in (those the language detector knows).
LANGUAGES: dict[str, str] = LANGUAGE_NAMES

KIND_LABELS: dict[ProviderKind, str] = {
    ProviderKind.OPENAI: "OpenAI-compatible (OpenAI, Azure, Ollama, LM Studio, vLLM, …)",
    ProviderKind.ANTHROPIC: "Anthropic",
}
DEFAULT_URLS: dict[ProviderKind, str] = {
    ProviderKind.OPENAI: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
}

#: What each template variable holds (the editor's tooltips).
VARIABLE_HELP: dict[str, str] = {
    "order_id": "The order number",
    "item_title": "The item's title (and how many more items)",
    "ship_date": "The day the order shipped",
    "carrier": "The carrier, such as UPS or DHL",
    "tracking": "The tracking number",
    "delivery_window": "The expected delivery date",
    "buyer_first_name": "The buyer's first name: filled only when you click Personalise",
}
#: The languages offered for a template (the starter library's locales first).
TEMPLATE_LANGUAGES = ("en-US", "en-GB", "de-DE", "en", "de", "fr", "es", "it", "ja", "nl")

_MUTED = "color: #555;"


def intent_label(intent: Any) -> str:
    try:
        return INTENT_LABELS[Intent(str(intent))]
    except ValueError:
        return str(intent)


def language_of(code: str) -> str:
    """The language of a locale: en-GB → en."""
    return code.split("-")[0].split("_")[0].lower()


def language_label(code: str) -> str:
    base = LANGUAGES.get(language_of(code), code)
    region = code[len(language_of(code)) + 1 :]
    return f"{base} ({region.upper()})" if region else base


def matches(template: Template, intent: str | None, language: str | None) -> bool:
    """``template`` passes the intent and language filters (None: any)."""
    if intent and str(template.intent) != intent:
        return False
    return not (language and language_of(template.language) != language_of(language))


def describe_provider(config: ProviderConfig) -> str:
    """One line about a provider for the list (no key)."""
    if config.kind is ProviderKind.TEMPLATES or config.name == TEMPLATES_PROVIDER:
        return f"{config.name}\nBuilt in: your reply templates, offline, nothing sent"
    kind = "Anthropic" if config.kind is ProviderKind.ANTHROPIC else "OpenAI-compatible"
    return f"{config.name}\n{kind} · {config.model} · {config.base_url}"


def _combo(name: str, items: list[tuple[str, str | None]], current: str | None) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for label, data in items:
        combo.addItem(label, data)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    return combo


def _intent_items(any_label: str | None) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = [(any_label, None)] if any_label else []
    return items + [(label, str(intent)) for intent, label in INTENT_LABELS.items()]


def _language_items(
    any_label: str | None, codes: tuple[str, ...] | None = None
) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = [(any_label, None)] if any_label else []
    return items + [(language_label(code), code) for code in codes or tuple(LANGUAGES)]


def _status(label: QLabel, text: str, style: str) -> None:
    if not shiboken6.isValid(label):
        return  # the dialog closed before the answer came
    label.setStyleSheet(style)
    label.setText(text)
    label.setVisible(bool(text))


def _error_text(exc: UserError) -> str:
    return f"<b>✖ {esc(exc.title)}</b><br>{esc(exc.message)}"


class DraftingDialog(QDialog):
    """Tools → Drafting… (admins): providers, tone and policies, templates."""

    def __init__(
        self,
        *,
        drafting: Any,
        settings_service: Any,
        actor: Actor,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("draftingDialog")
        self.setWindowTitle("Drafting")
        self.setMinimumSize(880, 600)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("draftingTabs")
        self.providers_tab = ProvidersTab(
            drafting=drafting, settings_service=settings_service, actor=actor
        )
        self.knowledge_tab = KnowledgeTab(drafting=drafting, actor=actor)
        self.templates_tab = TemplatesTab(drafting=drafting, actor=actor)
        self.tabs.addTab(self.providers_tab, "Provider")
        self.tabs.addTab(self.knowledge_tab, "Tone and policies")
        self.tabs.addTab(self.templates_tab, "Templates")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)


# --- providers --------------------------------------------------------------------------


class ProvidersTab(QWidget):
    def __init__(self, *, drafting: Any, settings_service: Any, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("providersTab")
        self._drafting = drafting
        self._settings = settings_service
        self._actor = actor
        self._loading = False
        self.configs: list[ProviderConfig] = []
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Drafts come from your reply templates (offline: nothing leaves this computer) "
            "or from an AI model you choose. An AI provider receives the buyer's messages "
            "with names, addresses, phone numbers and email addresses replaced by "
            "placeholders, and the order's details without personal data. A draft is "
            "never sent without you."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.default_combo = QComboBox()
        self.default_combo.setObjectName("defaultProvider")
        self.default_combo.activated.connect(lambda _i: self._default_chosen())
        form.addRow("Draft with:", self.default_combo)
        self.draft_on_open = QCheckBox("Draft a reply when I open a conversation that needs one")
        self.draft_on_open.setObjectName("draftOnOpen")
        self.draft_on_open.toggled.connect(self._draft_on_open_toggled)
        form.addRow("", self.draft_on_open)
        layout.addLayout(form)

        body = QHBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("providersList")
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemDoubleClicked.connect(lambda _item: self.edit_selected())
        body.addWidget(self.list, 1)
        buttons = QVBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setObjectName("addProvider")
        self.add_button.clicked.connect(self.add_provider)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("editProvider")
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeProvider")
        self.remove_button.clicked.connect(self.remove_selected)
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body.addLayout(buttons)
        layout.addLayout(body, 1)
        self.status = QLabel()
        self.status.setObjectName("providersStatus")
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        layout.addWidget(self.status)
        self._update_buttons()
        self.reload()

    def reload(self) -> None:
        providers = self._drafting.providers(self._actor)
        values = self._settings.all(self._actor)

        def got(configs: list[ProviderConfig]) -> None:
            when_done(values, lambda v: self._show(configs, v), self._failed, parent=self)

        when_done(providers, got, self._failed, parent=self)

    def _show(self, configs: list[ProviderConfig], values: dict[str, Any]) -> None:
        self.configs = list(configs)
        keep = self.selected()
        self._loading = True
        self.list.clear()
        self.default_combo.clear()
        for config in self.configs:
            item = QListWidgetItem(describe_provider(config))
            item.setData(Qt.ItemDataRole.UserRole, config.name)
            self.list.addItem(item)
            if keep is not None and keep.name == config.name:
                self.list.setCurrentItem(item)
            self.default_combo.addItem(config.name, config.name)
        chosen = str(values.get(settings.DRAFT_PROVIDER.key) or TEMPLATES_PROVIDER)
        self.default_combo.setCurrentIndex(max(self.default_combo.findData(chosen), 0))
        self.draft_on_open.setChecked(bool(values.get(settings.DRAFT_ON_OPEN.key, True)))
        self._loading = False
        if self.list.currentItem() is None and self.configs:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected(self) -> ProviderConfig | None:
        item = self.list.currentItem()
        name = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        return next((c for c in self.configs if c.name == name), None)

    def _update_buttons(self) -> None:
        config = self.selected()
        editable = config is not None and not _builtin(config)
        self.edit_button.setEnabled(editable)
        self.remove_button.setEnabled(editable)

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        if isinstance(exc, UserError):
            _status(self.status, _error_text(exc), ERR_STYLE)
        else:
            from ui.errors import show_error

            show_error(self, exc)

    def _set(self, setting: Any, value: Any, done_text: str) -> None:
        service, actor = self._settings, self._actor
        Op(self, lambda _job: service.set(actor, setting, value)).on_success(
            lambda _r: _status(self.status, esc(done_text), OK_STYLE)
        ).on_failure(self._failed).run()

    def _default_chosen(self) -> None:
        name = self.default_combo.currentData()
        if not self._loading and name:
            self._set(settings.DRAFT_PROVIDER, str(name), f"Drafts now come from {name}.")

    def _draft_on_open_toggled(self, on: bool) -> None:
        if not self._loading:
            self._set(
                settings.DRAFT_ON_OPEN,
                on,
                "A draft starts when you open a conversation."
                if on
                else "Drafts start only when you ask (Regenerate or Use template…).",
            )

    def add_provider(self) -> ProviderDialog:
        return self._open(None)

    def edit_selected(self) -> ProviderDialog | None:
        config = self.selected()
        if config is None or _builtin(config):
            return None
        return self._open(config)

    def _open(self, config: ProviderConfig | None) -> ProviderDialog:
        dialog = ProviderDialog(
            drafting=self._drafting,
            actor=self._actor,
            config=config,
            taken={c.name for c in self.configs} - ({config.name} if config else set()),
            parent=self,
        )
        dialog.provider_saved.connect(lambda _c: self.reload())
        self.provider_dialog = dialog
        dialog.open()
        return dialog

    def remove_selected(self) -> None:
        config = self.selected()
        if config is None or _builtin(config):
            return
        answer = QMessageBox.question(
            self,
            "Remove provider",
            f"Remove “{config.name}”? Its API key is deleted from your keychain. If it was "
            "the provider drafts come from, they come from your templates again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service, actor, name = self._drafting, self._actor, config.name
        Op(self, lambda _job: service.remove_provider(actor, name)).on_success(
            lambda _r: self.reload() if shiboken6.isValid(self) else None
        ).on_failure(self._failed).run()


def _builtin(config: ProviderConfig) -> bool:
    return config.kind is ProviderKind.TEMPLATES or config.name == TEMPLATES_PROVIDER


class ProviderDialog(QDialog):
    """Add or edit an AI provider: the key is masked; empty when editing keeps it."""

    provider_saved = Signal(object)

    def __init__(
        self,
        *,
        drafting: Any,
        actor: Actor,
        config: ProviderConfig | None = None,
        taken: set[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("providerDialog")
        self.setWindowTitle(f"Provider {config.name}" if config else "Add an AI provider")
        self.setMinimumWidth(620)
        self._drafting = drafting
        self._actor = actor
        self._config = config
        self._taken = taken or set()
        self._busy = False
        self._attempt = 0
        self.last_error: UserError | None = None
        self.last_result: str | None = None

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.setObjectName("providerKind")
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, str(kind))
        self.kind.setCurrentIndex(
            max(self.kind.findData(str(config.kind if config else ProviderKind.OPENAI)), 0)
        )
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        form.addRow("Type:", self.kind)
        self.name = self._line("providerName", config.name if config else "", "e.g. OpenAI")
        form.addRow("Name:", self.name)
        self.base_url = self._line("baseUrl", config.base_url if config else "", "")
        form.addRow("Base URL:", self.base_url)
        self.model = self._line("model", config.model if config else "", "e.g. gpt-4o-mini")
        form.addRow("Model:", self.model)
        self.api_key = self._line(
            "apiKey",
            "",
            "stored in your keychain: empty keeps it"
            if config
            else "empty for a local server (Ollama, LM Studio)",
        )
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("API key:", self.api_key)
        self.timeout = QDoubleSpinBox()
        self.timeout.setObjectName("timeout")
        self.timeout.setRange(5, 600)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(config.timeout_seconds if config else 60)
        form.addRow("Timeout:", self.timeout)
        self.api_version = self._line(
            "apiVersion",
            (config.extra.get("api-version", "") if config else ""),
            "Azure OpenAI only, e.g. 2024-06-01",
        )
        form.addRow("API version:", self.api_version)
        layout.addLayout(form)
        self.hint = QLabel()
        self.hint.setObjectName("providerHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(_MUTED)
        layout.addWidget(self.hint)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("testProvider")
        self.test_button.setAutoDefault(False)
        self.test_button.setToolTip("Send a one-word request (no buyer data) to check the setup")
        self.test_button.clicked.connect(self.test)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        layout.addLayout(test_row)
        self.result_label = result_label("providerResult")
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name.setReadOnly(config is not None)  # the name is the key's name
        self._kind_changed()
        for edit in self.findChildren(QLineEdit):
            edit.textEdited.connect(lambda _t: self._stale())

    def _line(self, name: str, text: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(text)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def provider_kind(self) -> ProviderKind:
        return ProviderKind(str(self.kind.currentData()))

    def _kind_changed(self) -> None:
        kind = self.provider_kind()
        current = self.base_url.text().strip()
        if not current or current in DEFAULT_URLS.values():
            self.base_url.setText(DEFAULT_URLS[kind])
        self.base_url.setPlaceholderText(DEFAULT_URLS[kind])
        openai = kind is ProviderKind.OPENAI
        self.api_version.setEnabled(openai)
        self.hint.setText(
            "Any server that speaks OpenAI's chat completions: OpenAI, Azure OpenAI (the "
            "deployment's URL and an API version), Ollama (http://localhost:11434/v1), "
            "LM Studio (http://localhost:1234/v1), vLLM, llama.cpp server. Plain http is "
            "allowed only to this computer."
            if openai
            else "Anthropic's Messages API, for example the model claude-3-5-haiku-latest."
        )

    def config(self) -> ProviderConfig:
        """The provider as the form shows it."""
        extra = dict(self._config.extra) if self._config else {}
        version = self.api_version.text().strip()
        if self.provider_kind() is ProviderKind.OPENAI and version:
            extra["api-version"] = version
        else:
            extra.pop("api-version", None)
        return ProviderConfig(
            name=self.name.text().strip(),
            kind=self.provider_kind(),
            base_url=self.base_url.text().strip().rstrip("/"),
            model=self.model.text().strip(),
            timeout_seconds=float(self.timeout.value()),
            extra=extra,
        )

    def _checked(self) -> ProviderConfig | None:
        config = self.config()
        problem: tuple[QLineEdit, str] | None = None
        if not config.name:
            problem = (self.name, "Give the provider a name.")
        elif config.name == TEMPLATES_PROVIDER or config.name in self._taken:
            problem = (self.name, f"There is already a provider called “{config.name}”.")
        elif not config.base_url.startswith(("https://", "http://")):
            problem = (self.base_url, "The base URL starts with https:// (or http://).")
        elif not config.model:
            problem = (self.model, "Enter the model's name.")
        for edit in (self.name, self.base_url, self.model):
            edit.setStyleSheet(BAD_FIELD if problem and problem[0] is edit else "")
        if problem is not None:
            problem[0].setFocus()
            _status(self.result_label, f"<b>✖ Check the form</b><br>{esc(problem[1])}", ERR_STYLE)
            return None
        return config

    def _key(self) -> str | None:
        return self.api_key.text() or None

    def test(self) -> None:
        if self._busy:
            return
        config = self._checked()
        if config is None:
            return
        service, actor, key = self._drafting, self._actor, self._key()
        self._attempt += 1
        attempt = self._attempt

        def work(_job: Job) -> str:
            return str(service.test_provider(actor, config, key))

        self._set_busy(True, f"Testing: asking {config.model} at {config.base_url}…")
        Op(self, work, lane=Lane.NET).on_success(
            lambda text: self._tested(attempt, text)
        ).on_failure(lambda exc: self._failed(attempt, exc)).run()

    def _current(self, attempt: int) -> bool:
        return shiboken6.isValid(self) and attempt == self._attempt

    def _tested(self, attempt: int, text: str) -> None:
        if not self._current(attempt):
            return
        self._set_busy(False)
        self.last_error = None
        self.last_result = text
        _status(self.result_label, f"<b>✔ The provider answered</b><br>{esc(text)}", OK_STYLE)

    def _failed(self, attempt: int, exc: BaseException) -> None:
        if not self._current(attempt):
            return
        self._set_busy(False)
        if isinstance(exc, UserError):
            self.last_error = exc
            self.last_result = None
            _status(self.result_label, _error_text(exc), ERR_STYLE)
        else:
            from ui.errors import show_error

            show_error(self, exc)

    def _stale(self) -> None:
        if not self._busy and self.last_result is not None:
            self.last_result = None
            self.result_label.setVisible(False)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.test_button.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not busy)
        if busy:
            _status(self.result_label, esc(text), BUSY_STYLE)

    def reject(self) -> None:
        self._attempt += 1  # a test still running is not shown
        self._busy = False
        super().reject()

    def save(self) -> None:
        if self._busy:
            return
        config = self._checked()
        if config is None:
            return
        service, actor, key = self._drafting, self._actor, self._key()
        self._attempt += 1
        attempt = self._attempt

        def work(_job: Job) -> ProviderConfig:
            service.save_provider(actor, config, key)
            return config

        self._set_busy(True, "Saving…")
        Op(self, work).on_success(lambda saved: self._saved(attempt, saved)).on_failure(
            lambda exc: self._failed(attempt, exc)
        ).run()

    def _saved(self, attempt: int, config: ProviderConfig) -> None:
        if not self._current(attempt):
            return
        self._set_busy(False)
        self.provider_saved.emit(config)
        self.accept()


# --- tone and policies ------------------------------------------------------------------


class KnowledgeTab(QWidget):
    knowledge_saved = Signal()

    def __init__(self, *, drafting: Any, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("knowledgeTab")
        self._drafting = drafting
        self._actor = actor
        self._knowledge: Knowledge | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "An AI provider writes in this tone and follows these policies. Write them as "
            "you would brief a new colleague. No buyer data here: it is sent with every "
            "AI draft."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Tone:"))
        self.tone = QPlainTextEdit()
        self.tone.setObjectName("tone")
        self.tone.setPlaceholderText(
            "e.g. Friendly and brief. Apologise once. Sign as “The Acme Kitchen team”."
        )
        layout.addWidget(self.tone, 1)
        layout.addWidget(QLabel("Policies:"))
        self.policies = QPlainTextEdit()
        self.policies.setObjectName("policies")
        self.policies.setPlaceholderText(
            "e.g. Returns within 30 days, free for damaged items. Replacements ship the next "
            "working day. We do not ship to PO boxes."
        )
        layout.addWidget(self.policies, 2)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("knowledgeStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        row.addWidget(self.status, 1)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveKnowledge")
        self.save_button.clicked.connect(self.save)
        self.save_button.setEnabled(False)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        when_done(self._drafting.knowledge(actor), self._show, self._failed, parent=self)

    def _show(self, knowledge: Knowledge) -> None:
        self._knowledge = knowledge
        self.tone.setPlainText(knowledge.tone)
        self.policies.setPlainText(knowledge.policies)
        self.save_button.setEnabled(True)

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self.save_button.setEnabled(self._knowledge is not None)
        if isinstance(exc, UserError):
            _status(self.status, _error_text(exc), ERR_STYLE)
        else:
            from ui.errors import show_error

            show_error(self, exc)

    def save(self) -> None:
        if self._knowledge is None:
            return
        knowledge = replace(
            self._knowledge,
            tone=self.tone.toPlainText().strip(),
            policies=self.policies.toPlainText().strip(),
        )
        service, actor = self._drafting, self._actor
        self.save_button.setEnabled(False)

        def saved(_r: Any) -> None:
            if not shiboken6.isValid(self):
                return
            self._knowledge = knowledge
            self.save_button.setEnabled(True)
            _status(self.status, "Saved.", "color: #1e6b34;")
            self.knowledge_saved.emit()

        Op(self, lambda _job: service.save_knowledge(actor, knowledge)).on_success(
            saved
        ).on_failure(self._failed).run()


# --- templates --------------------------------------------------------------------------


class _TemplateList(QWidget):
    """Filters (intent, language) over a list of templates; shared by the editor tab
    and the picker."""

    selection_changed = Signal()

    def __init__(self, intent: str | None = None, language: str | None = None) -> None:
        super().__init__()
        self.templates: list[Template] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        self.intent_filter = _combo("intentFilter", _intent_items("Any intent"), intent)
        self.language_filter = _combo(
            "languageFilter",
            _language_items("Any language"),
            language_of(language) if language else None,
        )
        self.intent_filter.currentIndexChanged.connect(lambda _i: self.refill())
        self.language_filter.currentIndexChanged.connect(lambda _i: self.refill())
        filters.addWidget(self.intent_filter, 1)
        filters.addWidget(self.language_filter, 1)
        layout.addLayout(filters)
        self.list = QListWidget()
        self.list.setObjectName("templatesList")
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(lambda *_: self.selection_changed.emit())
        layout.addWidget(self.list, 1)
        self.empty = QLabel("No template for this choice: widen the filters.")
        self.empty.setObjectName("templatesEmpty")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(_MUTED)
        self.empty.setVisible(False)
        layout.addWidget(self.empty)

    def set_templates(self, templates: list[Template], keep: str | None = None) -> None:
        self.templates = list(templates)
        self.refill(keep)

    def refill(self, keep: str | None = None) -> None:
        current = self.selected()
        keep = keep or (current.id if current is not None else None)
        intent = self.intent_filter.currentData()
        language = self.language_filter.currentData()
        self.list.blockSignals(True)
        self.list.clear()
        for template in self.templates:
            if not matches(template, intent, language):
                continue
            tags = f" · {', '.join(template.tags)}" if template.tags else ""
            origin = "built in" if template.builtin else "yours"
            item = QListWidgetItem(
                f"{template.title}\n{intent_label(template.intent)} · "
                f"{language_label(template.language)} · {origin}{tags}"
            )
            item.setData(Qt.ItemDataRole.UserRole, template.id)
            self.list.addItem(item)
            if template.id == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self.empty.setVisible(self.list.count() == 0)
        self.selection_changed.emit()

    def selected(self) -> Template | None:
        item = self.list.currentItem()
        wanted = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        return next((t for t in self.templates if t.id == wanted), None)

    def widen_if_empty(self) -> str:
        """No template for the filters: drop the language, then the intent; says what
        was dropped ("" if nothing)."""
        notes = []
        for combo, what in ((self.language_filter, "language"), (self.intent_filter, "intent")):
            if self.list.count() or combo.currentData() is None:
                continue
            notes.append(f"No template for {combo.currentText()} yet: showing every {what}.")
            combo.setCurrentIndex(0)  # refills
        return " ".join(notes)

    def select(self, template_id: str) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == template_id:
                self.list.setCurrentItem(item)
                return


class TemplatesTab(QWidget):
    template_saved = Signal(object)

    def __init__(self, *, drafting: Any, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("templatesTab")
        self._drafting = drafting
        self._actor = actor
        self._editing: Template | None = None  # None with the form enabled: a new one
        self._new = False
        layout = QHBoxLayout(self)
        splitter = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.browser = _TemplateList()
        self.browser.selection_changed.connect(self._selected)
        left_layout.addWidget(self.browser, 1)
        list_buttons = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.new_button.setObjectName("newTemplate")
        self.new_button.clicked.connect(self.new_template)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copyTemplate")
        self.copy_button.setToolTip("A copy of this template that you can edit")
        self.copy_button.clicked.connect(self.copy_template)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("deleteTemplate")
        self.delete_button.clicked.connect(self.delete_template)
        for button in (self.new_button, self.copy_button, self.delete_button):
            list_buttons.addWidget(button)
        left_layout.addLayout(list_buttons)
        splitter.addWidget(left)
        splitter.addWidget(self._editor())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([380, 520])  # titles readable from the start
        layout.addWidget(splitter)
        self._show_template(None)
        self.reload()

    def _editor(self) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        self.builtin_note = QLabel(
            "A built-in template: copy it to make your own version (yours are used first)."
        )
        self.builtin_note.setObjectName("builtinNote")
        self.builtin_note.setWordWrap(True)
        self.builtin_note.setStyleSheet(_MUTED)
        v.addWidget(self.builtin_note)
        form = QFormLayout()
        self.title = QLineEdit()
        self.title.setObjectName("templateTitle")
        form.addRow("Title:", self.title)
        self.intent = _combo("templateIntent", _intent_items(None), None)
        form.addRow("Intent:", self.intent)
        self.language = _combo("templateLanguage", _language_items(None, TEMPLATE_LANGUAGES), "en")
        form.addRow("Language:", self.language)
        self.tags = QLineEdit()
        self.tags.setObjectName("templateTags")
        self.tags.setPlaceholderText("comma separated, e.g. kettles, fragile")
        form.addRow("Tags:", self.tags)
        v.addLayout(form)
        v.addWidget(QLabel("Text (click a variable to insert it at the cursor):"))
        grid = QGridLayout()
        self.variable_buttons: dict[str, QPushButton] = {}
        for index, name in enumerate(VARIABLES):
            button = QPushButton("{" + name + "}")
            button.setObjectName(f"variable_{name}")
            button.setToolTip(VARIABLE_HELP.get(name, ""))
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, n=name: self.insert_variable(n))
            grid.addWidget(button, index // 4, index % 4)
            self.variable_buttons[name] = button
        v.addLayout(grid)
        self.body = QPlainTextEdit()
        self.body.setObjectName("templateBody")
        v.addWidget(self.body, 1)
        note = QLabel(
            "{buyer_first_name} is filled only when you click Personalise. A value the "
            "order does not have shows as a placeholder, such as [tracking number]. No "
            "links, email addresses or emoji: Amazon blocks them."
        )
        note.setWordWrap(True)
        note.setStyleSheet(_MUTED)
        v.addWidget(note)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("templateStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        row.addWidget(self.status, 1)
        self.save_button = QPushButton("Save template")
        self.save_button.setObjectName("saveTemplate")
        self.save_button.clicked.connect(self.save)
        row.addWidget(self.save_button)
        v.addLayout(row)
        return box

    def reload(self, keep: str | None = None) -> None:
        def got(templates: list[Template]) -> None:
            self.browser.set_templates(templates, keep)
            if keep:
                self.browser.select(keep)

        when_done(self._drafting.templates(self._actor), got, self._failed, parent=self)

    def _selected(self) -> None:
        self._new = False
        self._show_template(self.browser.selected())

    def _show_template(self, template: Template | None, *, editable: bool | None = None) -> None:
        self._editing = template
        if editable is None:
            editable = template is not None and not template.builtin
        can_edit = editable
        self.title.setText(template.title if template else "")
        self.intent.setCurrentIndex(
            max(self.intent.findData(str(template.intent) if template else "other"), 0)
        )
        code = template.language if template else "en"
        if self.language.findData(code) < 0:
            self.language.addItem(language_label(code), code)
        self.language.setCurrentIndex(self.language.findData(code))
        self.tags.setText(", ".join(template.tags) if template else "")
        self.body.setPlainText(template.body if template else "")
        for widget in (self.title, self.tags):
            widget.setReadOnly(not can_edit)
        self.body.setReadOnly(not can_edit)
        for combo in (self.intent, self.language):
            combo.setEnabled(can_edit)
        for button in self.variable_buttons.values():
            button.setEnabled(can_edit)
        self.save_button.setEnabled(can_edit)
        self.builtin_note.setVisible(template is not None and template.builtin and not can_edit)
        selected = self.browser.selected()
        self.copy_button.setEnabled(selected is not None)
        self.delete_button.setEnabled(selected is not None and not selected.builtin)
        self.status.setText("")

    def insert_variable(self, name: str) -> None:
        if self.body.isReadOnly():
            return
        self.body.insertPlainText("{" + name + "}")
        self.body.setFocus()

    def new_template(self) -> None:
        self._new = True
        intent = self.browser.intent_filter.currentData() or "other"
        language = self.browser.language_filter.currentData() or "en-US"
        self._show_template(
            Template(
                id="",
                title="",
                intent=Intent(intent),
                language=language,
                body="",
                tags=(),
                builtin=False,
            ),
            editable=True,
        )
        self.title.setFocus()

    def copy_template(self) -> None:
        template = self.browser.selected()
        if template is None:
            return
        self._new = True
        copy = replace(template, id="", title=f"{template.title} (copy)", builtin=False)
        self._show_template(copy, editable=True)
        self.title.setFocus()
        self.title.selectAll()

    def template(self) -> Template | None:
        """The template as the form shows it (None: nothing being edited)."""
        base = self._editing
        if base is None:
            return None
        tags = tuple(t.strip() for t in self.tags.text().split(",") if t.strip())
        return replace(
            base,
            title=self.title.text().strip(),
            intent=Intent(str(self.intent.currentData())),
            language=str(self.language.currentData()),
            tags=tags,
            body=self.body.toPlainText().strip(),
            builtin=False,
        )

    def save(self) -> None:
        template = self.template()
        if template is None or (self._editing is not None and self._editing.builtin):
            return
        if not template.title or not template.body:
            _status(
                self.status,
                _error_text(UserError("Give the template a title and a text.")),
                ERR_STYLE,
            )
            return
        service, actor = self._drafting, self._actor
        self.save_button.setEnabled(False)

        def saved(result: Template) -> None:
            if not shiboken6.isValid(self):
                return
            self._new = False
            self.reload(keep=result.id)
            _status(self.status, f"Saved “{esc(result.title)}”.", "color: #1e6b34;")
            self.template_saved.emit(result)

        Op(self, lambda _job: service.save_template(actor, template)).on_success(saved).on_failure(
            self._failed
        ).run()

    def delete_template(self) -> None:
        template = self.browser.selected()
        if template is None or template.builtin:
            return
        answer = QMessageBox.question(
            self,
            "Delete template",
            f"Delete the template “{template.title}”?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service, actor, template_id = self._drafting, self._actor, template.id
        Op(self, lambda _job: service.remove_template(actor, template_id)).on_success(
            lambda _r: self.reload() if shiboken6.isValid(self) else None
        ).on_failure(self._failed).run()

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self.save_button.setEnabled(self._editing is not None and not self._editing.builtin)
        if isinstance(exc, UserError):
            _status(self.status, _error_text(exc), ERR_STYLE)
        else:
            from ui.errors import show_error

            show_error(self, exc)


class TemplatePicker(QDialog):
    """Use template…: the templates for the thread's intent and language, a preview,
    and "Use"."""

    template_chosen = Signal(str)

    def __init__(
        self,
        *,
        drafting: Any,
        actor: Actor,
        intent: str | None = None,
        language: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("templatePicker")
        self.setWindowTitle("Use a template")
        self.resize(780, 480)
        layout = QVBoxLayout(self)
        body = QSplitter()
        self.browser = _TemplateList(str(intent) if intent else None, language)
        self.browser.selection_changed.connect(self._preview)
        self.browser.list.itemDoubleClicked.connect(lambda _i: self.use())
        body.addWidget(self.browser)
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("templatePreview")
        self.preview.setReadOnly(True)
        body.addWidget(self.preview)
        body.setStretchFactor(0, 2)
        body.setStretchFactor(1, 3)
        body.setSizes([340, 440])
        layout.addWidget(body, 1)
        note = QLabel(
            "The order's details are filled in when the draft is made; the buyer's name "
            "only when you click Personalise."
        )
        note.setWordWrap(True)
        note.setStyleSheet(_MUTED)
        layout.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setObjectName("useTemplate")
        self.use_button.setEnabled(False)
        self.buttons.accepted.connect(self.use)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.widened = QLabel()
        self.widened.setObjectName("pickerWidened")
        self.widened.setWordWrap(True)
        self.widened.setStyleSheet("color: #6b4a00;")
        self.widened.setVisible(False)
        layout.insertWidget(1, self.widened)
        when_done(drafting.templates(actor), self._show, self._failed, parent=self)

    def _show(self, templates: list[Template]) -> None:
        self.browser.set_templates(templates)
        note = self.browser.widen_if_empty()
        self.widened.setText(note)
        self.widened.setVisible(bool(note))

    def _preview(self) -> None:
        template = self.browser.selected()
        self.preview.setPlainText(template.body if template else "")
        self.use_button.setEnabled(template is not None)

    def _failed(self, exc: BaseException) -> None:
        from ui.errors import show_error

        if shiboken6.isValid(self):
            show_error(self, exc)

    def use(self) -> None:
        template = self.browser.selected()
        if template is None:
            return
        self.template_chosen.emit(template.id)
        self.accept()
