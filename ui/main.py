"""Entry point: a staged, logged startup.

arguments → logging → paths → QApplication → single instance → crash hook → keychain →
open vault → sign-in → main window.  Each stage that fails shows a clear dialog and
exits cleanly; none shows a raw traceback.  Disk, D-Bus and Argon2 work runs on worker
threads; the GUI thread only shows dialogs and windows.

``MUTTEFIK_STARTUP_MARKER=FILE`` writes the wall time at which the main window was shown
to FILE (for bench/startup.py); ``MUTTEFIK_QUIT_AFTER_START=1`` then quits.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app.errors import DataFileMissing, OperationCancelled, PassphraseWrong, PermissionDenied
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import keys
from app.vault.keys import KeyPlan
from app.vault.lock import ProfileLock
from ui import ops
from ui.dialogs.data_file_missing import ask_start_new_profile
from ui.dialogs.startup_error import show_startup_error

if TYPE_CHECKING:
    from app.services import Core, Services

log = logging.getLogger("muttefik.ui")

ErrorPresenter = Callable[[BaseException], bool]
# (error) -> True if the seller confirmed starting a new, empty profile instead.
MissingFilePresenter = Callable[[DataFileMissing], bool]
# (window_parent, services, on_signed_in(session), on_cancelled()) -> None
Authenticator = Callable[["Services", Callable[[Any], None], Callable[[], None]], None]

# Imported on a worker while the keychain stage waits on D-Bus and disk, instead of
# before the first stage (the service layer is ~60 modules, ~0.25 s).
_PREFETCH = ("app.services", "ui.main_window", "ui.views.orders")


def _prefetch(job: ops.Job) -> None:
    import importlib

    for name in _PREFETCH:
        importlib.import_module(name)


class Startup(QObject):
    """Runs the stages after the QApplication exists.

    Signals: ``window_shown(MainWindow)``; ``finished(int)`` when startup gave up (exit code).
    Thread: GUI.
    """

    window_shown = Signal(object)
    finished = Signal(int)

    def __init__(
        self,
        profile: Profile,
        *,
        secrets: SecretStore | None = None,
        present_error: ErrorPresenter = show_startup_error,
        authenticate: Authenticator | None = None,
        ask_passphrase: Callable[[bool, str], str | None] | None = None,
        integrity_check: bool = True,
        data_file_missing: MissingFilePresenter = ask_start_new_profile,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.secrets = secrets or SecretStore.for_profile(profile)
        self.present_error = present_error
        self.data_file_missing = data_file_missing
        self.authenticate = authenticate or default_authenticate
        self.ask_passphrase = ask_passphrase or _ask_passphrase_dialog
        self.integrity_check = integrity_check
        self.services: Services | None = None
        self.window: Any = None
        self.runtime: Any = None
        self._qt_events: Any = None
        self._profile_lock: ProfileLock | None = None
        self._prefetched: Future[None] | None = None
        self._audit_report: Any = None  # app.audit.OpenReport of this open
        self._audit_key_read: Future[tuple[str, str | None]] | None = None

    # stage: keychain ----------------------------------------------------------------
    def start(self, *, new_profile: bool = False) -> None:
        """``new_profile``: the seller confirmed starting a new, empty profile where the
        data file is missing (the old key is kept; see keys.start_new_profile)."""
        log.info("startup: keychain (%s)", "demo" if self.profile.demo else "profile")
        # Between stages no window may be open (a dialog closed, a worker running): the
        # app must not quit then.  Every way out of startup emits ``finished``; closing
        # the main window quits again once it is shown (_after_shown).
        QApplication.setQuitOnLastWindowClosed(False)

        def plan(job: ops.Job) -> KeyPlan:
            from app.cli.handoff import take_profile_lock

            self.profile.ensure()
            # Held from before the key is resolved until the vault closes: resolving may
            # adopt or drop a pending key, which must not race another process's rotation.
            if self._profile_lock is None:
                # A `muttefik sync` holding it is asked to stop (bounded wait, this worker).
                self._profile_lock = take_profile_lock(self.profile)
            if new_profile:
                keys.start_new_profile(self.profile, self.secrets)
            # A data file that is missing raises DataFileMissing: never a new key over one.
            return keys.plan(self.profile, self.secrets)

        if self._prefetched is None:
            self._prefetched = ops.Op(None, _prefetch).run()
        if self._audit_key_read is None and not new_profile:
            # Read beside the database key, not after it (each read is a D-Bus round trip
            # with a key exchange, ~25 ms).  Only read: creating it waits for the plan.
            def read_key(job: ops.Job) -> tuple[str, str | None]:
                # The service first: key resolution may switch the folder's id meanwhile.
                return self.secrets.service, self.secrets.get(keys.AUDIT_KEY)

            read = ops.Op(None, read_key).run()
            read.add_done_callback(lambda f: f.exception())  # a failure is retried in _open
            self._audit_key_read = read
        ops.Op(None, plan).on_success(self._have_plan).on_failure(self._fail).run()

    def _keychain_audit_key(self) -> bytes | None:
        """On a worker: the audit key read at start if it is there, else (a new profile,
        a read that failed) the keychain's, created if absent."""
        read, self._audit_key_read = self._audit_key_read, None
        if read is not None and read.exception() is None:
            service, value = read.result()
            key = keys.decode_key(value)
            if service == self.secrets.service and key is not None:
                return key
        return keys.keychain_audit_key(self.secrets)

    def _have_plan(self, plan: KeyPlan, error: str = "") -> None:
        if not plan.needs_passphrase:
            key = plan.key
            assert key is not None
            self._open(lambda: (key, self._keychain_audit_key()), plan)
            return
        passphrase = self.ask_passphrase(plan.new_profile, error)
        if passphrase is None:
            self._fail(OperationCancelled("No passphrase was entered."), quiet=True)
            return

        def derive() -> tuple[bytes, bytes | None]:
            return keys.unlock_with_passphrase(
                self.profile, passphrase, new_profile=plan.new_profile
            )

        self._open(derive, plan)

    # stage: open vault ---------------------------------------------------------------
    def _open(self, key_fn: Callable[[], tuple[bytes, bytes | None]], plan: KeyPlan) -> None:
        """``key_fn`` (run on a worker): the database key and the audit key."""
        log.info("startup: open vault")

        def work(job: ops.Job) -> Core:
            from app.bootstrap import open_with_keys
            from app.services import Core

            key, audit_key = key_fn()
            lock, self._profile_lock = self._profile_lock, None
            # What the audit comparison found is told after the window (_after_shown).
            vault, self._audit_report = open_with_keys(
                self.profile, self.secrets, lock, plan.mode, key, audit_key, create=True
            )
            if self._prefetched is not None:
                self._prefetched.result()  # here, so the GUI thread never waits on imports
            # The job host that ran the stages so far becomes the open vault's (Core.close).
            return Core(profile=self.profile, vault=vault, secrets=self.secrets, jobs=ops.host())

        def failed(exc: BaseException) -> None:
            if isinstance(exc, PassphraseWrong):
                self._have_plan(plan, error=exc.message)
            else:
                self._fail(exc)

        ops.Op(None, work).on_success(self._vault_open).on_failure(failed).run()

    def _vault_open(self, core: Core) -> None:
        from app.services import build_services

        self.services = build_services(core)
        # The PII purge runs as the system from the moment the data file is open, signed
        # in or not (at once, then on its schedule; it stops with the job host).
        self.services.privacy_job.start()
        from ui.events import QtEvents

        self._qt_events = QtEvents(core.notices)
        log.info("startup: sign-in")
        try:
            self.authenticate(self.services, self._signed_in, self._sign_in_cancelled)
        except Exception as exc:  # e.g. the sign-in flow failed to import: no session, no window
            self._fail(exc)

    def _sign_in_cancelled(self) -> None:
        log.info("startup: sign-in cancelled")
        self._shutdown()
        self.finished.emit(0)

    # stage: main window -----------------------------------------------------------------
    def _signed_in(self, session: Any) -> None:
        from ui.main_window import MainWindow

        assert self.services is not None
        if session is None:  # fail closed: no operator, no window
            self._fail(PermissionDenied(detail="the sign-in stage returned no session"))
            return
        log.info("startup: main window")
        window = MainWindow(self.services, self._qt_events, session)
        self.window = window
        window.closing.connect(self._shutdown)
        window.show()
        window.raise_()
        self._after_shown(window)
        self._start_session(window)

    def _start_session(self, window: Any) -> None:
        """Background work and the idle lock for the signed-in operator."""
        from ui.idle_lock import install_idle_lock
        from ui.runtime import SessionRuntime

        assert self.services is not None
        self.runtime = SessionRuntime(window)
        self.runtime.start()

        def lock_installed(lock: Any) -> None:
            lock.unlocked.connect(lambda _session: self.runtime and self.runtime.switch())

        install_idle_lock(
            window, self.services.auth, self.services.settings, on_installed=lock_installed
        )

    def _after_shown(self, window: Any) -> None:
        marker = os.environ.get("MUTTEFIK_STARTUP_MARKER")
        if marker:
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write(f"{time.time():.6f}\n")
            if os.environ.get("MUTTEFIK_QUIT_AFTER_START") == "1":
                QTimer.singleShot(0, window.close)
        from ui.runtime import freeze_long_lived_objects

        freeze_long_lived_objects()
        QApplication.setQuitOnLastWindowClosed(True)
        self.window_shown.emit(window)
        if self.integrity_check:
            from ui.startup_checks import start_integrity_check

            # After the first paint: the check reads every page but never delays the window.
            QTimer.singleShot(1500, lambda: _if_alive(window, start_integrity_check))
        if self._audit_report:
            from ui.startup_checks import show_audit_findings

            show_audit_findings(window)

    # a command's sync, handed over -----------------------------------------------------
    def hand_off_sync(self, store_name: str, reply: Callable[[bool, str], None]) -> None:
        """``muttefik sync`` found us holding the profile: the scheduled sync job syncs
        the store now, as the system (the command's operator never signed in here).
        ``reply`` once, from the GUI thread; the store is read without waiting."""
        services = self.services
        if services is None or self.runtime is None:
            reply(
                False,
                "Müttefik Desk is open on this profile but nobody has signed in there yet. "
                "Sign in to the app (it syncs by itself), or close it and run this again.",
            )
            return
        from app import access
        from app.amazon.stores import MAX_NAME_LENGTH

        def found(store: Any) -> None:
            if store is None:
                long = len(store_name) > MAX_NAME_LENGTH  # no store has such a name
                shown = " with that name" if long else f" named {store_name!r}"
                reply(False, f"There is no store{shown}. `muttefik stores list` lists them.")
                return
            services.sync_job.run_now(store.id)
            reply(True, store.name)

        def failed(exc: BaseException) -> None:
            log.error("a handed-over sync could not be started: %s", type(exc).__name__)
            reply(False, "Müttefik Desk is open on this profile and could not start the sync.")

        ops.when_done(services.stores.find_store(access.SYSTEM, store_name), found, failed)

    def hand_off_history(
        self, store_name: str, days: int, reply: Callable[[bool, str], None]
    ) -> None:
        """``muttefik sync --history-days`` found us holding the profile: the app loads
        the store's order history (as the system; the status bar shows it).  ``days`` 0:
        resume, or the setting.  ``reply`` once, from the GUI thread."""
        services = self.services
        if services is None or self.runtime is None:
            reply(
                False,
                "Müttefik Desk is open on this profile but nobody has signed in there yet. "
                "Sign in to the app, or close it and run this again.",
            )
            return
        from app import access
        from app.amazon.history import HistoryRunning
        from app.amazon.stores import MAX_NAME_LENGTH

        def found(store: Any) -> None:
            if store is None:
                long = len(store_name) > MAX_NAME_LENGTH
                shown = " with that name" if long else f" named {store_name!r}"
                reply(False, f"There is no store{shown}. `muttefik stores list` lists them.")
                return
            try:
                services.history.start(access.SYSTEM, store.id, days or None)
            except HistoryRunning as exc:
                reply(False, exc.message)
                return
            reply(True, store.name)

        def failed(exc: BaseException) -> None:
            log.error("a handed-over history load could not start: %s", type(exc).__name__)
            reply(False, "Müttefik Desk is open on this profile and could not start the load.")

        ops.when_done(services.stores.find_store(access.SYSTEM, store_name), found, failed)

    def hand_off_purge(self, reply: Callable[[bool, str], None]) -> None:
        """``muttefik purge`` found us holding the profile: the scheduled purge job runs
        now (as the system; it runs from the moment the data file is open, signed in or
        not).  ``reply`` at once, from the GUI thread."""
        if self.services is None:
            reply(
                False,
                "Müttefik Desk is opening this profile. Run this again in a moment, or "
                "close the app first.",
            )
            return
        self.services.privacy_job.run_now()
        reply(
            True,
            "it erases the buyer data past its retention now; its Privacy tab shows the result",
        )

    # failures and shutdown ------------------------------------------------------------
    def _fail(self, exc: BaseException, *, quiet: bool = False) -> None:
        log.error("startup failed: %s", type(exc).__name__)
        if isinstance(exc, DataFileMissing):
            if self.data_file_missing(exc):
                log.info("startup: the seller chose a new, empty profile")
                self.start(new_profile=True)
                return
            self._shutdown()  # the seller chose Quit: nothing was changed
            self.finished.emit(1)
            return
        if not quiet and self.present_error(exc):
            self.start()
            return
        self._shutdown()
        self.finished.emit(0 if quiet else 1)

    def _shutdown(self) -> None:
        if self._profile_lock is not None:  # startup stopped before the vault opened
            self._profile_lock.release()
            self._profile_lock = None
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None
        if self._qt_events is not None:
            self._qt_events.close()
            self._qt_events = None
        if self.services is not None:
            closer = getattr(self.services, "close", None)
            if callable(closer):
                closer()
            else:
                self.services.core.close()
            self.services = None


def _if_alive(window: Any, fn: Callable[[Any], None]) -> None:
    import shiboken6

    if shiboken6.isValid(window) and window.isVisible():
        fn(window)


def default_authenticate(
    services: Services, signed_in: Callable[[Any], None], cancelled: Callable[[], None]
) -> None:
    """Sign-in stage: the operator sign-in flow (:mod:`ui.auth_flow`).  If it cannot be
    imported the error propagates and startup stops with an error dialog: there is no
    way in without a session."""
    from ui import auth_flow

    auth_flow.authenticate(services, signed_in, cancelled)


def _ask_passphrase_dialog(new_profile: bool, error: str) -> str | None:
    from ui.dialogs.passphrase import PassphraseDialog

    dialog = PassphraseDialog(new_profile=new_profile, error=error)
    if dialog.exec() != PassphraseDialog.DialogCode.Accepted:
        return None
    return dialog.value()


def _qt_message_handler(mode: QtMsgType, context: Any, message: str) -> None:
    qt_log = logging.getLogger("muttefik.qt")
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    qt_log.log(level, "%s", message)


def app_icon() -> Any:
    from pathlib import Path

    from PySide6.QtGui import QIcon

    return QIcon(str(Path(__file__).resolve().parent.parent / "resources/icons/muttefik.svg"))


def main(argv: list[str] | None = None) -> int:
    from app.cli import build_parser, global_options, profile_from_args
    from app.cli import run as run_command
    from app.logsetup import setup_logging
    from app.paths import log_dir

    # stage: arguments (the commands' modules load only when a command is given)
    args = global_options(argv)
    if args is None:
        args = build_parser().parse_args(argv)
    level = getattr(logging, args.log_level)
    if args.command:
        setup_logging(None, level=level)
        return run_command(args)

    # stage: logging (file in the platform log dir; a failure there is not fatal)
    try:
        setup_logging(log_dir(), level=level)
    except OSError:
        setup_logging(None, level=level)
    log.info("Müttefik Desk starting")

    # stage: paths
    profile = profile_from_args(args)

    # stage: QApplication
    qInstallMessageHandler(_qt_message_handler)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Müttefik Desk")
    app.setOrganizationName("Muttefik")
    app.setDesktopFileName("muttefik-desk")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(True)
    ops.install()

    # stage: single instance
    from ui.single_instance import SingleInstance

    instance = SingleInstance(profile)
    if instance.notify_running():
        log.info("another window for this profile is running; raised it")
        return 0
    instance.listen()

    # stage: crash hook
    from ui.errors import install_crash_hook

    install_crash_hook()

    # stages: keychain → vault → sign-in → window
    startup = Startup(profile)
    exit_code: list[int] = []

    def give_up(code: int) -> None:
        exit_code.append(code)
        app.exit(code)

    startup.finished.connect(give_up)

    def raise_window() -> None:
        if startup.window is not None:
            startup.window.showNormal()
            startup.window.raise_()
            startup.window.activateWindow()

    instance.raise_requested.connect(raise_window)
    instance.sync_requested.connect(startup.hand_off_sync)
    instance.purge_requested.connect(startup.hand_off_purge)
    instance.history_requested.connect(startup.hand_off_history)
    QTimer.singleShot(0, startup.start)
    code = app.exec()
    startup._shutdown()
    log.info("Müttefik Desk stopped (%s)", code)
    return exit_code[0] if exit_code else int(code)


if __name__ == "__main__":
    sys.exit(main())
