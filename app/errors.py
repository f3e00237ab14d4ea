"""Errors the seller can act on.

Everything that is not a :class:`UserError` is a bug and is shown as one (with a
traceback offered for a report).  A ``UserError`` carries a message written for a
seller: what happened and what to do.  Messages never contain secrets or buyer PII.
"""

from __future__ import annotations

from datetime import datetime


class VaultClosed(RuntimeError):
    """The data file was closed (the app is quitting) while work still wanted it: not a
    fault to show anyone; late callbacks drop their result."""

    def __init__(self) -> None:
        super().__init__("vault is closed")


class UserError(Exception):
    """An error with a message for the seller.  ``title`` is a short heading."""

    title = "Something went wrong"
    message = "The operation could not be completed."

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message = message or type(self).message
        # ``detail`` is for the log and the "Details" box: technical, still no PII/secrets.
        self.detail = detail
        super().__init__(self.message)


# --- keychain and vault -------------------------------------------------------------


class KeychainUnavailable(UserError):
    title = "No usable keychain"
    message = (
        "Müttefik Desk could not reach your system keychain, where it keeps the key to "
        "your encrypted data. Make sure your desktop's keyring (GNOME Keyring, KWallet, "
        "macOS Keychain or Windows Credential Manager) is running, then start again."
    )


class KeychainRefused(KeychainUnavailable):
    title = "Insecure keychain refused"
    message = (
        "The only keychain available stores secrets in a plain file (or stores nothing). "
        "Müttefik Desk does not keep your keys there. Install or start your desktop's "
        "keyring, or use passphrase mode."
    )


class KeychainLocked(UserError):
    title = "Keychain is locked"
    message = (
        "Your system keychain is locked. Unlock it (your desktop usually asks for your "
        "login password), then choose Retry."
    )


class DatabaseKeyMissing(UserError):
    title = "Database key not found"
    message = (
        "Your data file exists, but its key is no longer in your system keychain. Without "
        "the key the data cannot be opened. If you moved to a new computer or reset your "
        "keychain, restore the keychain from a backup. Müttefik Desk did not change "
        "the data file."
    )


class DatabaseKeyWrong(UserError):
    title = "Database key does not match"
    message = (
        "The key in your keychain does not open this data file (or the file's first page "
        "is damaged). Müttefik Desk did not change the file. Restore the keychain entry or "
        "the data file from a backup."
    )


class PassphraseWrong(UserError):
    title = "Wrong passphrase"
    message = "That passphrase does not open your data. Check it and try again."


class PassphraseRequired(UserError):
    title = "Passphrase needed"
    message = "This profile's data is protected by a passphrase. Enter it to continue."


class DatabaseCorrupted(UserError):
    title = "Data file is damaged"
    message = (
        "Part of your data file is damaged. Close Müttefik Desk, restore the file from a "
        "backup, and keep the damaged copy for support."
    )


class KeyChangeUnfinished(UserError):
    title = "Key change not finished yet"
    message = (
        "Your data was re-encrypted with the new key, but it could not yet be confirmed "
        "that every part of the data file was written under it (another program may be "
        "reading the file). Nothing was lost, and both keys are kept. Close Müttefik Desk "
        "and start it again: it finishes the change then."
    )


class DatabaseInUse(UserError):
    title = "Already open"
    message = (
        "This profile is already open in another Müttefik Desk window or command. Close "
        "it first, or use a different profile."
    )


class DiskFull(UserError):
    title = "Disk is full"
    message = (
        "There is no free space left where Müttefik Desk keeps its data. Free some space, "
        "then try again. Nothing was lost: the last change was not saved."
    )


class ProfileReadOnly(UserError):
    title = "Cannot write the data folder"
    message = (
        "Müttefik Desk cannot write to its data folder (it is read-only or belongs to "
        "another user). Check the folder's permissions, or choose another profile."
    )


class DataFileMissing(UserError):
    """The profile has a key (or KDF file, or id file) but its data file is gone or empty.

    Nothing is created and no key is replaced: the file may come back (a disk mounted
    late, a restore or sync still copying).  Starting a new empty profile instead is a
    separate, explicit choice (the GUI dialog's button, ``muttefik profile new``).
    """

    title = "Data file is missing"

    def __init__(self, path: object = None, *, detail: str | None = None) -> None:
        where = f" It was expected at {path}." if path is not None else ""
        super().__init__(
            f"The data file is missing or empty.{where} Its key is still kept. If the file "
            "is on a disk that is not connected, or is still being restored or copied, put "
            "it back there and start again. To start a new, empty profile in this folder "
            "instead (the old key stays in the keychain), choose it explicitly: in the app's "
            "dialog, or with `muttefik --profile FOLDER profile new` on the command line.",
            detail=detail,
        )
        self.path = path


class NotAProfile(UserError):
    """The folder holds no profile (commands that only read never create one), or holds
    other files and so is refused as a new profile's folder."""

    title = "Not a Müttefik Desk profile"

    def __init__(
        self, path: object = None, *, non_empty: bool = False, detail: str | None = None
    ) -> None:
        if non_empty:
            text = (
                f"{path} is not a Müttefik Desk profile: it holds other files, and "
                "Müttefik Desk does not put its data into a folder already in use. Choose an "
                "empty or new folder, or an existing profile's folder."
            )
        else:
            text = (
                f"{path} is not a Müttefik Desk profile (there is no data file). This "
                "command only works on an existing profile. Check the folder name; to "
                "create a profile there, start the app with it, or run `muttefik --profile "
                "FOLDER profile new`."
            )
        super().__init__(text, detail=detail)
        self.path = path


class ProfileExists(UserError):
    title = "Profile already exists"
    message = (
        "This folder already holds a profile with its data file. A new profile is only "
        "started where the data file is missing or in an empty folder."
    )


class ProfilePathInvalid(UserError):
    title = "Not a profile folder"
    message = "That path cannot be used as a profile folder."


class ProfileIdUnreadable(UserError):
    title = "Profile file unreadable"

    def __init__(self, path: object = None, *, detail: str | None = None) -> None:
        super().__init__(
            f"The profile's identity file {path} cannot be read or is damaged. Müttefik "
            "Desk did not change anything. Restore the file from a backup of the folder.",
            detail=detail,
        )


class DatabaseTooNew(UserError):
    title = "Data from a newer version"
    message = (
        "This data file was written by a newer version of Müttefik Desk. Install that "
        "version (or newer) to open it."
    )


# --- operators and permissions ----------------------------------------------------------


class PermissionDenied(UserError):
    title = "Not allowed"
    message = "Your account is not allowed to do this. Ask an administrator."


class AuthenticationFailed(UserError):
    title = "Sign-in failed"
    message = "Wrong username or password."


class AccountLocked(UserError):
    title = "Account locked"
    message = (
        "This account is locked after too many failed sign-ins. Try again later or ask an "
        "administrator to unlock it."
    )

    def __init__(self, message: str | None = None, *, until: datetime | None = None) -> None:
        super().__init__(message)
        self.until = until  # end of the lockout, when known


class PasswordRejected(UserError):
    title = "Password not accepted"


class CodeRejected(UserError):
    title = "Code not accepted"
    message = (
        "That code is not right, or it was already used. Enter the current 6-digit code "
        "from your authenticator app, or one of your recovery codes."
    )


class LastAdmin(UserError):
    title = "Last administrator"
    message = (
        "This is the only active administrator. Make another operator an administrator "
        "first, so someone can still manage the app."
    )


class InvalidOperatorInput(UserError):
    title = "Check the operator's details"
    message = "Some of the operator's details are not valid."


# --- Amazon ---------------------------------------------------------------------------


class AmazonError(UserError):
    title = "Amazon error"
    message = "Amazon returned an error."


class AmazonAuthFailed(AmazonError):
    title = "Amazon sign-in failed"
    message = (
        "Amazon did not accept the app's credentials. Check the LWA client id and client "
        "secret in the store's settings."
    )


class AmazonGrantInvalid(AmazonError):
    title = "Amazon authorisation no longer valid"
    message = (
        "Amazon rejected the refresh token: it was revoked, expired, or belongs to another "
        "region. Authorise the app again in Seller Central and paste the new token."
    )


class AmazonRoleMissing(AmazonError):
    title = "Missing Amazon permission"
    message = (
        "Amazon refused this request because the app lacks a required role. In Seller "
        "Central, edit the app's authorisation and grant the role, then authorise again."
    )


class AmazonThrottled(AmazonError):
    title = "Amazon is busy"
    message = "Amazon asked us to slow down. The sync waits and continues by itself."


class AmazonServerError(AmazonError):
    title = "Amazon had a problem"
    message = "Amazon's servers returned an error. The sync will try again shortly."


class AmazonBadResponse(AmazonError):
    title = "Unexpected answer from Amazon"
    message = (
        "Amazon sent an answer Müttefik Desk could not read. Nothing was lost; the sync "
        "will try again."
    )


class InternalError(UserError):
    """Our own bug (a ``TypeError`` and the like), recorded as such, never as Amazon's."""

    title = "Müttefik Desk hit a bug"
    message = (
        "The sync stopped because of an error in Müttefik Desk itself, not at Amazon. "
        "Nothing was lost; the next sync continues from here. Please report it with the "
        "latest file of the log folder."
    )


class InsecureEndpoint(AmazonError):
    title = "Endpoint not allowed"
    message = (
        "That address is not a secure (https) address. Müttefik Desk only sends your "
        "Amazon credentials over https; plain http is allowed only to this computer."
    )

    def __init__(
        self, message: str | None = None, *, field: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.field = field  # the store setting at fault, as in StoreSettingsInvalid


class StoreCredentialsMissing(AmazonError):
    title = "Store not connected"
    message = (
        "This store has no Amazon credentials yet. Open the store's settings and enter "
        "the LWA client secret and the refresh token."
    )


class StoreNameTaken(UserError):
    title = "Name already used"
    message = "Another store already has this name. Choose a different one."


class StoreSettingsInvalid(UserError):
    title = "Check the store's settings"
    message = "Some of the store's settings are missing or not valid."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        # The setting at fault, so the store dialog can mark it: a StoreDraft field name
        # ("name", "region", "marketplace_ids", "lwa_client_id", "sp_api_endpoint",
        # "lwa_endpoint"), "client_secret" or "refresh_token"; None for the store as a whole.
        self.field = field


class SyncAlreadyRunning(UserError):
    title = "Sync already running"
    message = "Orders of this store are being synced right now. This sync continues."


class NetworkDown(UserError):
    title = "No connection"
    message = "Could not reach the server. Check your internet connection; we will retry."


class TlsFailure(UserError):
    title = "Secure connection failed"
    message = (
        "The secure connection could not be verified (certificate problem). This can mean "
        "a proxy or network is intercepting traffic. Nothing was sent."
    )


class ExportNotWritten(UserError):
    title = "Export not written"
    message = "The export file could not be written. Choose another place and try again."


class OperationCancelled(UserError):
    title = "Cancelled"
    message = "The operation was cancelled."


class NoInput(OperationCancelled):
    """A terminal prompt got end of input (stdin closed, Ctrl-D) instead of an answer."""

    title = "No input"
    message = (
        "The command needed an answer, but its input ended. Run it in a terminal and type "
        "the answers, or give them on standard input, one per line."
    )


class SettingInvalid(UserError):
    title = "Check the setting"
    message = "That setting or value is not valid."
