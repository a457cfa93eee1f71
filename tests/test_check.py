"""`casework check` names each misconfiguration with its fix and exits 1; a sound setup says OK."""

from __future__ import annotations

from conftest import run_casework


def test_a_sound_production_setup_passes(settings, database):
    result = run_casework(settings, "check", CASEWORK_HTTPS="true", CASEWORK_PROXY_COUNT="1",
                          CASEWORK_TRUSTED_HOSTS="casework.example.vn")
    assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout + result.stderr


def test_answering_any_host_in_production_is_noted(settings, database):
    result = run_casework(settings, "check", CASEWORK_HTTPS="true", CASEWORK_PROXY_COUNT="1")
    assert result.returncode == 0 and result.stdout.startswith("NOTE: CASEWORK_TRUSTED_HOSTS is empty")


def test_each_misconfiguration_is_a_problem_with_its_fix(settings, app):  # app: the index width is recorded
    # Production without TLS or a trusted proxy, several workers counting limits alone, a changed index width
    result = run_casework(settings, "check", CASEWORK_WORKERS="3", CASEWORK_BLIND_INDEX_BITS="12")
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "CASEWORK_HTTPS is false in production" in out
    assert "CASEWORK_PROXY_COUNT is 0 in production" in out
    assert "CASEWORK_WORKERS is 3 with rate limits in memory" in out
    assert "run `casework keys reindex`" in out


def test_the_example_keyring_and_a_readable_key_are_problems(settings, database):
    from casework.config import PROJECT_ROOT

    example = run_casework(settings, "check", CASEWORK_KEYS_DIR=str(PROJECT_ROOT / "keys.example"))
    assert example.returncode == 1 and "published example" in example.stdout
    key = next(settings.keys_dir.glob("data-*.key"))
    key.chmod(0o644)
    result = run_casework(settings, "check", CASEWORK_HTTPS="true", CASEWORK_PROXY_COUNT="1")
    assert result.returncode == 1 and "chmod" in result.stdout
