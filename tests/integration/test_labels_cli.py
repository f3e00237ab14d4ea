"""``muttefik labels …`` run in-process on a temp profile against the fake SP-API over
HTTP and the real print system: rates as JSON lines, a label bought and printed through
CUPS (cups-pdf: the tracking number read back out of the PDF), a reprint after the
process ended (downloaded again) to a thermal printer's raw port, void; never twice.

Then the store-nothing scan: after buying and printing, no label bytes and no recipient
string in the profile folder (the data file read through the vault too), the temp
folder, or the log files."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap, paths
from app.amazon.spapi import clear_token_cache
from app.auth import totp
from app.auth.store import load_actor
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.fulfillment.models import ShippingDefaults
from app.paths import Profile
from app.secrets import SecretStore
from app.services import Core, build_services
from tests.helpers.cli import add_store, answer_prompts, cli_profile, run  # noqa: F401
from tests.helpers.cups import Cups, ZplListener, pdf_text, wait_for_pdf
from tests.helpers.labels import BOX, SHIP_FROM, assert_nothing_kept, every_value, fake_label
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration


class Terminal:
    """Signs each command in with a fresh authenticator code (a code is taken once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
        self.monkeypatch = monkeypatch
        self.secret = secret
        self.step = 0
        self.real_now = SystemClock.now

    def __call__(self, profile: Profile, *args: str) -> int:
        self.step += 1
        shift = timedelta(seconds=60 * self.step)
        real = self.real_now
        self.monkeypatch.setattr(SystemClock, "now", lambda clock: real(clock) + shift)
        code = totp.code_at(self.secret, datetime.now(UTC) + shift)
        answer_prompts(self.monkeypatch, "admin", ADMIN_PW, code)
        return run(profile, *args)


@pytest.fixture
def shop(
    cli_profile: tuple[Profile, str],  # noqa: F811
    secrets: SecretStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Profile, str, FakeSpApi, str]]:
    """Store "Main" on the fake SP-API with its orders synced, a ship-from address and a
    default box; an unshipped merchant-fulfilled order to ship.  The temp folder is one
    of the test's own, so the scan sees everything written there."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    clear_token_cache()
    profile, secret = cli_profile
    with FakeSpApi(orders=60, seed=11, speed=None, settle_seconds=0) as server:
        server.add_orders(12)  # new orders: some unshipped and merchant-fulfilled
        add_store(profile, secrets, server)
        vault, _ = bootstrap.open_vault(profile, secrets)
        core = Core(profile=profile, vault=vault, secrets=secrets)
        try:
            services = build_services(core)
            admin = vault.call(lambda c: load_actor(c, 1))
            assert admin is not None
            services.sync.sync_store(admin, 1, __import__("threading").Event())
            services.labels.save_defaults(admin, ShippingDefaults(store_id=1, ship_from=SHIP_FROM))
            services.labels.save_preset(admin, BOX)
            stored = set(
                vault.call(lambda c: [r[0] for r in c.execute("SELECT order_id FROM orders")])
            )
        finally:
            core.close()
        eligible = [o for o in server.shipping.eligible_order_ids() if o in stored]
        assert eligible, "the fake has no unshipped merchant-fulfilled order"
        yield profile, secret, server, eligible[0]
    clear_token_cache()


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_rates_buy_print_reprint_void_and_nothing_of_the_label_kept(
    shop: tuple[Profile, str, FakeSpApi, str],
    cups: Cups,
    zpl_listener: ZplListener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    profile, secret, server, order_id = shop
    terminal = Terminal(monkeypatch, secret)
    recipient = server.recipient(order_id)
    started = time.time()

    assert terminal(profile, "labels", "rates", "--order", order_id) == 0
    rates = _lines(capsys.readouterr().out)
    assert len(rates) >= 3
    assert [Decimal(r["price"]) for r in rates] == sorted(Decimal(r["price"]) for r in rates)
    assert {"rate_id", "service_id", "carrier", "price", "protected"} <= set(rates[0])
    cheapest = rates[0]

    # Bought with the service id (a rate id lives only in the process that asked).
    code = terminal(
        profile, "labels", "buy", "--order", order_id, "--rate", cheapest["service_id"],
        "--printer", cups.pdf_queue,
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (record,) = _lines(captured.out)
    assert record["order_id"] == order_id and record["state"] == "bought"
    assert record["tracking_id"] and record["printed"] == 0
    assert server.purchase_count(order_id) == 1
    printed = wait_for_pdf(started, f"Order {order_id}")
    assert record["tracking_id"] in pdf_text(printed)
    printed.unlink()  # the printer's output, not ours

    # Never twice: the same command again is refused in words, Amazon not asked.
    assert terminal(
        profile, "labels", "buy", "--order", order_id, "--rate", cheapest["service_id"],
        "--printer", cups.pdf_queue,
    ) == 2  # fmt: skip
    assert "already" in capsys.readouterr().err
    assert server.purchase_count(order_id) == 1

    # A reprint in a new process downloads the label again, as ZPL to a raw port: the
    # label was bought as PDF, so the thermal printer refuses it in words...
    assert terminal(
        profile, "labels", "reprint", "--shipment", record["shipment_id"],
        "--zpl-host", zpl_listener.address,
    ) == 2  # fmt: skip
    assert "ZPL" in capsys.readouterr().err
    # ... and a CUPS raw queue... no: PDF again to cups-pdf, counted as a reprint.
    started = time.time()
    assert terminal(
        profile, "labels", "reprint", "--shipment", record["shipment_id"],
        "--printer", cups.pdf_queue,
    ) == 0  # fmt: skip
    capsys.readouterr()
    again = wait_for_pdf(started, f"Order {order_id}")
    assert record["tracking_id"] in pdf_text(again)
    again.unlink()

    assert terminal(profile, "labels", "list", "--order", order_id) == 0
    (listed,) = _lines(capsys.readouterr().out)
    assert listed["printed"] == 2

    label = fake_label(server, order_id)
    assert recipient.name.encode() in label  # the label does carry the buyer's name
    _assert_nothing_kept(profile, tmp_path, recipient.strings(), label, record["tracking_id"])

    assert terminal(profile, "labels", "track", "--shipment", record["shipment_id"]) == 0
    tracked = _lines(capsys.readouterr().out)[0]
    assert tracked["tracking_status"] == "PreTransit" and tracked["delivered_at"] is None

    assert terminal(profile, "labels", "void", "--shipment", record["shipment_id"]) == 0
    voided = _lines(capsys.readouterr().out)[0]
    assert voided["state"] == "voided" and voided["voided"] is True
    assert [s.voided for s in server.shipments] == [True]


def test_a_zpl_label_goes_to_a_thermal_printer_byte_for_byte(
    shop: tuple[Profile, str, FakeSpApi, str],
    zpl_listener: ZplListener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret, server, order_id = shop
    terminal = Terminal(monkeypatch, secret)
    code = terminal(
        profile, "labels", "buy", "--order", order_id, "--rate", _cheapest(server, order_id),
        "--format", "ZPL", "--dpi", "203", "--zpl-host", zpl_listener.address,
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (record,) = _lines(captured.out)
    job = zpl_listener.next_job(timeout=30)
    assert job.startswith(b"^XA") and job.rstrip().endswith(b"^XZ")
    assert record["tracking_id"].encode() in job
    assert order_id.encode() in job
    assert server.recipient(order_id).name.encode() in job  # Amazon's label, as it came


def test_a_printer_that_is_off_leaves_the_label_bought_and_says_how_to_reprint(
    shop: tuple[Profile, str, FakeSpApi, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret, server, order_id = shop
    terminal = Terminal(monkeypatch, secret)
    closed = _closed_port()
    code = terminal(
        profile, "labels", "buy", "--order", order_id, "--rate", _cheapest(server, order_id),
        "--format", "ZPL", "--zpl-host", closed,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "bought but was not printed" in err and "muttefik labels reprint" in err
    assert server.purchase_count(order_id) == 1


def _cheapest(server: FakeSpApi, order_id: str) -> str:
    """A service id the fake offers for the order (the rates command is tested above)."""
    from app.demo.fake_spapi_shipping import services_for

    return services_for("US")[0].service_id


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"127.0.0.1:{port}"


def _assert_nothing_kept(
    profile: Profile, tmp_path: Path, recipient: tuple[str, ...], label: bytes, tracking: str
) -> None:
    logs = list(paths.log_dir().rglob("*.log*"))
    assert logs, "the commands wrote no log file to scan"
    secrets = bootstrap.secret_store_for(profile)
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        dump = vault.call(every_value)
    finally:
        vault.close()
    assert tracking in dump  # the shipment record is there, without the label
    assert_nothing_kept(
        [profile.root, Path(tempfile.gettempdir()), paths.log_dir()],
        recipient,
        label=label,
        data_file_text=dump,
    )
    assert os.environ["TMPDIR"].startswith(str(tmp_path))
