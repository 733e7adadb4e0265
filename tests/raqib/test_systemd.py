"""Deployment: the systemd unit, the README's install commands, file permissions, SSRF.

- `systemd/raqib.service` passes `systemd-analyze verify` without a single warning (a
  temporary copy whose ExecStart points at this venv's `raqib`, since verify wants the
  binary to exist), and carries what the issue asks of it.
- The README's five install commands agree with the unit: the paths they create are
  the ones the unit reads.
- The database, its -wal and -shm files are 0600 and a state folder Raqib creates is
  0700.
- `raqib feeds import` refuses feeds on loopback, private and link-local addresses
  unless --allow-private or `allow_private_feeds: true` says otherwise.
"""
from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import Store

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "raqib.service"


def unit_settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify_without_warnings(tmp_path):
    raqib = Path(sys.executable).with_name("raqib")
    assert raqib.exists(), "the venv's raqib entry point"
    text = UNIT.read_text(encoding="utf-8")
    assert "/opt/raqib/.venv/bin/raqib" in text
    copy = tmp_path / "raqib.service"
    copy.write_text(text.replace("/opt/raqib/.venv/bin/raqib", str(raqib)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if "raqib.service" in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


def test_the_unit_has_what_an_unattended_server_needs():
    s = unit_settings()
    one = {k: v[-1] for k, v in s.items()}
    assert one["Type"] == "notify" and one["Restart"] == "on-failure"
    assert one["DynamicUser"] == "yes" and one["StateDirectory"] == "raqib"
    assert one["ConfigurationDirectory"] == "raqib"
    assert re.match(r"^\d+s?$", one["WatchdogSec"])
    assert {v.split(":")[0] for v in s["LoadCredential"]} == {"telegram_token", "smtp_password"}
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "NoNewPrivileges": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
                       "CapabilityBoundingSet": ""}.items():
        assert one[key] == value, key
    assert "@system-service" in s["SystemCallFilter"]
    assert "MemoryMax" in one
    # stop budget: the daemon's own shutdown bounds fit inside TimeoutStopSec
    from raqib.daemon import FINAL_ROUND, STOP_GRACE
    assert float(one["TimeoutStopSec"].rstrip("s")) >= STOP_GRACE + FINAL_ROUND + 5


def test_readme_install_commands_agree_with_the_unit():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running under systemd", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert len(commands) == 5
    text = "\n".join(commands)
    s = {k: v[-1] for k, v in unit_settings().items()}
    exec_start = s["ExecStart"].split()
    clone = re.search(r"git clone .*? (/\S+) &&", text).group(1)
    assert exec_start[0] == f"{clone}/.venv/bin/raqib"
    assert (ROOT / ".venv" / ".installed-stamp").relative_to(ROOT).as_posix() in text  # the make target
    assert re.search(r"^\.venv/\.installed-stamp|^\$\(STAMP\):", (ROOT / "Makefile").read_text(), re.M)
    config = exec_start[exec_start.index("--config") + 1]
    assert config == "/etc/raqib/raqib.yaml" and f"cp -r {clone}/raqib.yaml" in text
    assert "/var/lib/raqib/raqib.db" in text  # the database in StateDirectory
    for cred in unit_settings()["LoadCredential"]:
        path = cred.split(":", 1)[1]
        assert path.startswith("/etc/raqib/credentials/") and path in text  # the install creates them
    # the dynamic user must be able to read the config folder; credentials stay root's
    mode = re.search(r"install -d -m (\d+) /etc/raqib(?= )", text).group(1)
    assert int(mode, 8) & 0o005 == 0o005 and s["ConfigurationDirectoryMode"] == mode
    assert re.search(r"install -d -m 0700 /etc/raqib/credentials", text)
    assert f"cp {clone}/systemd/raqib.service /etc/systemd/system/" in text
    assert "systemctl enable --now raqib" in text
    for path in ("systemd/raqib.service", "raqib.yaml", "watchlists"):
        assert (ROOT / path).exists()


def test_database_wal_shm_and_state_folder_are_private(tmp_path):
    db = tmp_path / "new-state" / "raqib.db"
    store = Store(db)
    store.ping()
    try:
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        for path in (db, db.with_name("raqib.db-wal"), db.with_name("raqib.db-shm")):
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        store.backup(tmp_path / "b" / "copy.db")
        assert stat.S_IMODE((tmp_path / "b" / "copy.db").stat().st_mode) == 0o600
    finally:
        store.close()


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>feeds</title></head><body>
<outline text="public" xmlUrl="http://93.184.216.34/rss.xml"/>
<outline text="loopback" xmlUrl="http://127.0.0.1:8080/admin"/>
<outline text="metadata" xmlUrl="http://169.254.169.254/latest/meta-data/"/>
<outline text="lan" xmlUrl="http://10.1.2.3/feed"/>
<outline text="local-name" xmlUrl="http://localhost/feed"/>
<outline text="v6-loop" xmlUrl="http://[::1]/feed"/>
</body></opml>
"""


def _import(config: Path, opml: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "raqib.cli", "feeds", "--config", str(config), "import",
                           str(opml), *extra], capture_output=True, text=True, cwd=str(ROOT), timeout=60)


def _feeds(db: Path) -> set[str]:
    store = Store(db)
    try:
        return {f.name for f in store.feeds.all()}
    finally:
        store.close()


@pytest.mark.parametrize("allow", ["none", "flag", "config"])
def test_feeds_import_refuses_private_addresses_unless_allowed(tmp_path, allow):
    opml = tmp_path / "feeds.opml"
    opml.write_text(OPML, encoding="utf-8")
    (tmp_path / "wl").mkdir()
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'state' / 'raqib.db'}\nwatchlists: {tmp_path / 'wl'}\n"
                      + ("allow_private_feeds: true\n" if allow == "config" else ""), encoding="utf-8")
    done = _import(config, opml, *(["--allow-private"] if allow == "flag" else []))
    assert done.returncode == 0, done.stderr
    names = _feeds(tmp_path / "state" / "raqib.db")
    if allow == "none":
        assert names == {"public"}
        assert "imported 1 feeds, skipped 5" in done.stdout
        for name in ("loopback", "metadata", "lan", "local-name", "v6-loop"):
            assert re.search(rf"skipped {name} <[^>]+>: .*(private|loopback)", done.stderr), done.stderr
    else:
        assert names == {"public", "loopback", "metadata", "lan", "local-name", "v6-loop"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_node_template_passes_verify_and_differs_from_the_unit_only_in_naming_the_node(tmp_path):
    raqib = Path(sys.executable).with_name("raqib")
    template = (ROOT / "systemd" / "raqib@.service").read_text(encoding="utf-8")
    copy = tmp_path / "raqib@desk-1.service"  # an instance: %i is desk-1
    copy.write_text(template.replace("/opt/raqib/.venv/bin/raqib", str(raqib)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if "raqib@" in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr
    settings = [line for line in template.splitlines() if "=" in line and not line.startswith("#")]
    plain = [line for line in UNIT.read_text(encoding="utf-8").splitlines() if "=" in line and not line.startswith("#")]
    changed = {line.partition("=")[0] for line in set(settings) ^ set(plain)}
    assert changed == {"Description", "After", "StateDirectory", "WorkingDirectory", "Environment", "EnvironmentFile"}
    assert "RAQIB_NODE=%i" in template  # node.name reads it
