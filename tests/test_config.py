"""Refusing to run on a configuration that cannot be safe (docs/DESIGN.md §3, §8).

Every refusal is one line that names the setting or file to fix, with no
traceback, and no refusal or status line ever shows key material.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casework import migrate
from casework.config import PROJECT_ROOT, load_settings
from casework.crypto import Keyring
from casework.db import make_engine
from casework.errors import ConfigError, KeyringError

EXAMPLE_KEYS = PROJECT_ROOT / "keys.example"


def casework(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`casework ARGS` in a new process that sees only the given CASEWORK_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    return subprocess.run([sys.executable, "-m", "casework.cli", *args], env=clean | env,
                          capture_output=True, text=True, timeout=60)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Non-zero exit and exactly one line on stderr containing every word."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def instance(tmp_path: Path) -> dict[str, str]:
    """Given a production instance with a private keyring and a migrated SQLite database."""
    env = {"CASEWORK_MODE": "production", "CASEWORK_INSTANCE_PATH": str(tmp_path),
           "CASEWORK_KEYS_DIR": str(tmp_path / "keys"),
           "CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path / 'casework.sqlite3'}"}
    Keyring.create(tmp_path / "keys")
    engine = make_engine(env["CASEWORK_DATABASE_URL"])
    migrate.upgrade(engine)
    engine.dispose()
    return env


def _key_texts(keys_dir: Path) -> list[str]:
    return [p.read_text().strip() for p in keys_dir.glob("*.key")]


# --- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "setting"), [
    ({"CASEWORK_MODE": "prod"}, "CASEWORK_MODE"),
    ({"CASEWORK_BLIND_INDEX_BITS": "ten"}, "CASEWORK_BLIND_INDEX_BITS"),
    ({"CASEWORK_BLIND_INDEX_BITS": "40"}, "CASEWORK_BLIND_INDEX_BITS"),
    ({"CASEWORK_HTTPS": "maybe"}, "CASEWORK_HTTPS"),
    ({"CASEWORK_MODE": "production", "CASEWORK_REQUIRE_2FA": "false"}, "CASEWORK_REQUIRE_2FA"),
])
def test_unusable_settings_are_refused_naming_the_setting(tmp_path, env, setting):
    with pytest.raises(ConfigError, match=setting):
        load_settings({"CASEWORK_INSTANCE_PATH": str(tmp_path), **env})


def test_environment_overrides_the_instance_file_and_unknown_keys_are_refused(tmp_path):
    (tmp_path / "casework.toml").write_text('mode = "demo"\nblind_index_bits = 12\n', encoding="utf-8")
    settings = load_settings({"CASEWORK_INSTANCE_PATH": str(tmp_path), "CASEWORK_BLIND_INDEX_BITS": "14"})
    assert (settings.mode, settings.blind_index_bits) == ("demo", 14)
    assert settings.keys_dir == tmp_path / "keys"
    assert settings.database_url == f"sqlite:///{tmp_path / 'casework.sqlite3'}"
    (tmp_path / "casework.toml").write_text('secret_sauce = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="secret_sauce"):
        load_settings({"CASEWORK_INSTANCE_PATH": str(tmp_path)})


# --- database URL -----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "command"), [
    ("postgresql://casework:s3cret-pw@127.0.0.1:1/casework", ("db", "upgrade")),  # nothing listens on port 1
    ("postgresql://casework:s3cret-pw@127.0.0.1:1/casework", ("audit", "verify")),
    ("sqlite:////nonexistent-casework-dir/sub/casework.sqlite3", ("keys", "status")),
    ("not a database url", ("db", "upgrade")),
    ("nosuchdb://casework:s3cret-pw@localhost/casework", ("audit", "verify")),
])
def test_wrong_or_unreachable_database_is_refused_naming_the_setting(instance, url, command):
    # When the operator points casework at a database it cannot use
    result = casework(instance | {"CASEWORK_DATABASE_URL": url}, *command)
    # Then one line names CASEWORK_DATABASE_URL and never shows the password
    assert_refused(result, "CASEWORK_DATABASE_URL")
    assert "s3cret-pw" not in result.stderr + result.stdout


# --- keyring ------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "mode"), [
    ("index-root.key", 0o640), ("primary", 0o604), ("session.key", 0o644), (".", 0o750), (".", 0o705),
])
def test_keyring_readable_by_others_is_refused_with_a_chmod_hint(instance, target, mode):
    keys_dir = Path(instance["CASEWORK_KEYS_DIR"])
    (keys_dir / target).chmod(mode)
    line = assert_refused(casework(instance, "keys", "status"), "chmod 700", "chmod 600", f"{mode:o}")
    assert all(text not in line for text in _key_texts(keys_dir))


def test_the_app_refuses_to_start_on_a_readable_keyring(instance):
    (Path(instance["CASEWORK_KEYS_DIR"]) / "session.key").chmod(0o644)
    assert_refused(casework(instance, "serve", "--port", "1"), "chmod")


def test_every_data_key_file_is_checked_too(instance):
    keys_dir = Path(instance["CASEWORK_KEYS_DIR"])
    Keyring.load(keys_dir, allow_example=False).rotate()
    old = next(p for p in keys_dir.glob("data-*.key")
               if p.name != f"data-{(keys_dir / 'primary').read_text().strip()}.key")
    old.chmod(0o644)
    assert_refused(casework(instance, "keys", "status"), old.name, "chmod")


@pytest.mark.parametrize(("remove", "words"), [
    ("index-root.key", ("index-root.key", "missing", "backup")),
    ("session.key", ("session.key", "missing")),
    ("primary-data-key", ("primary data key", "missing", "backup")),
    ("primary", ("primary", "keys init")),
    ("everything", ("no keyring", "CASEWORK_KEYS_DIR")),
])
def test_missing_key_file_is_refused(instance, remove, words):
    keys_dir = Path(instance["CASEWORK_KEYS_DIR"])
    if remove == "everything":
        shutil.rmtree(keys_dir)
    elif remove == "primary-data-key":
        (keys_dir / f"data-{(keys_dir / 'primary').read_text().strip()}.key").unlink()
    else:
        (keys_dir / remove).unlink()
    assert_refused(casework(instance, "keys", "status"), *words)


def test_damaged_key_file_is_refused_without_echoing_it(instance):
    keys_dir = Path(instance["CASEWORK_KEYS_DIR"])
    (keys_dir / "session.key").write_text("not-base64!!\n")
    line = assert_refused(casework(instance, "keys", "status"), "session.key", "damaged")
    assert "not-base64" not in line
    short = base64.b64encode(b"too short").decode()
    (keys_dir / "session.key").write_text(short + "\n")
    line = assert_refused(casework(instance, "keys", "status"), "session.key", "32 bytes")
    assert short not in line


# --- the published example keyring -------------------------------------------------------


def test_example_keyring_is_refused_in_production(instance):
    result = casework(instance | {"CASEWORK_KEYS_DIR": str(EXAMPLE_KEYS)}, "keys", "status")
    assert_refused(result, "example", "keys init")
    assert_refused(casework(instance | {"CASEWORK_KEYS_DIR": str(EXAMPLE_KEYS)}, "serve", "--port", "1"),
                   "example")


@pytest.mark.parametrize("mode", ["development", "demo"])
def test_example_keyring_is_accepted_in_development_and_demo_with_a_warning(instance, mode):
    result = casework(instance | {"CASEWORK_KEYS_DIR": str(EXAMPLE_KEYS), "CASEWORK_MODE": mode},
                      "keys", "status")
    assert result.returncode == 0, result.stderr
    assert "EXAMPLE KEYS" in result.stdout


def test_example_keys_copied_without_the_marker_are_still_refused_in_production(instance, tmp_path):
    # Given the example's key files copied into a private keyring, the marker file left behind
    copied = tmp_path / "copied-keys"
    copied.mkdir(mode=0o700)
    for path in EXAMPLE_KEYS.iterdir():
        if path.name not in ("EXAMPLE-DO-NOT-USE", "README.md"):
            shutil.copyfile(path, copied / path.name)
            (copied / path.name).chmod(0o600)
    # Then production refuses them, development accepts them as example keys
    assert_refused(casework(instance | {"CASEWORK_KEYS_DIR": str(copied)}, "keys", "status"), "example")
    assert Keyring.load(copied, allow_example=True).is_example


def test_example_keyring_is_marked_and_complete():
    assert (EXAMPLE_KEYS / "EXAMPLE-DO-NOT-USE").is_file()
    keyring = Keyring.load(EXAMPLE_KEYS, allow_example=True)
    assert keyring.is_example and keyring.primary_id in keyring.data_keys
    with pytest.raises(KeyringError, match="example"):
        Keyring.load(EXAMPLE_KEYS, allow_example=False)


# --- key material never shown -----------------------------------------------------------------


def test_key_material_never_appears_in_output_or_repr(tmp_path, instance):
    # Given every command an operator runs on keys, including failing ones
    keys_dir = Path(instance["CASEWORK_KEYS_DIR"])
    outputs = [casework(instance, *args) for args in (
        ("keys", "status"), ("keys", "rotate"), ("keys", "rewrap"), ("keys", "status"), ("audit", "head"),
        ("keys", "init"), ("keys", "retire", "00000000"))]
    fresh = {"CASEWORK_KEYS_DIR": str(tmp_path / "new-keys")}
    outputs.append(casework(instance | fresh, "keys", "init"))
    keyring = Keyring.load(keys_dir, allow_example=False)
    new_keyring = Keyring.load(tmp_path / "new-keys", allow_example=False)

    # Then no key appears in any form: base64 as stored, hex, or Python bytes
    shown = "".join(r.stdout + r.stderr for r in outputs) + repr(keyring) + str(keyring) + f"{new_keyring!r}"
    secrets_ = [*keyring.data_keys.values(), keyring.index_root, keyring.session_secret,
                *new_keyring.data_keys.values(), new_keyring.index_root, new_keyring.session_secret]
    assert len(secrets_) == 7  # two data keys after the rotation, one in the new keyring
    for secret in secrets_:
        for form in (base64.b64encode(secret).decode(), secret.hex(), repr(secret)[2:-1][:16]):
            assert form not in shown
    # And the repr still says which keys exist, by id only
    assert keyring.primary_id in repr(keyring)
