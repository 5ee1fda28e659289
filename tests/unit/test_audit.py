"""tools/audit.py: what pip-audit could not audit is never reported as a pass."""

from __future__ import annotations

from tools.audit import Audit, probe_url, verdict

SKIP = "Dependency not found on PyPI and could not be audited"


def report(*dependencies: dict[str, object]) -> Audit:
    return Audit.from_report({"dependencies": list(dependencies), "fixes": []})


def test_every_dependency_audited_and_clean_passes() -> None:
    status, lines = verdict(
        report({"name": "boto3", "version": "1.0", "vulns": []}),
        allow_unreachable=False,
        reachable=lambda _pin: True,
    )
    assert status == 0 and lines == ["audited: 1 of 1"]


def test_a_vulnerable_dependency_fails() -> None:
    status, lines = verdict(
        report({"name": "jinja2", "version": "2.0", "vulns": [{"id": "PYSEC-1"}]}),
        allow_unreachable=True,
        reachable=lambda _pin: False,
    )
    assert status == 1 and "VULNERABLE jinja2==2.0: PYSEC-1" in lines


def test_dependencies_that_could_not_be_audited_fail_and_say_how_many() -> None:
    audit = report(
        {"name": "boto3", "version": "1.0", "skip_reason": SKIP},
        {"name": "moto", "version": "5.0", "skip_reason": SKIP},
        {"name": "pytest", "version": "8.0", "vulns": []},
    )
    status, lines = verdict(audit, allow_unreachable=False, reachable=lambda _pin: False)
    assert status == 1
    assert f"not audited: 2 of 3 ({SKIP})" in lines
    assert "FAILED: dependencies that were not audited are not a pass" in lines


def test_not_audited_is_allowed_only_when_asked_and_the_service_is_unreachable() -> None:
    audit = report({"name": "boto3", "version": "1.0", "skip_reason": SKIP})
    assert verdict(audit, allow_unreachable=True, reachable=lambda _pin: False)[0] == 0
    assert (
        verdict(audit, allow_unreachable=True, reachable=lambda _pin: True)[0] == 1
    )  # reachable: a real gap
    assert verdict(audit, allow_unreachable=False, reachable=lambda _pin: False)[0] == 1


def test_an_empty_report_is_no_pass() -> None:
    assert verdict(report(), allow_unreachable=True, reachable=lambda _pin: False)[0] == 1


def test_the_probe_asks_for_a_skipped_pin_itself() -> None:
    """A stand-in index can answer for ``pip`` and not for our pins: the probe names the pin."""
    asked: list[str] = []
    audit = Audit(audited=[], skipped={"zeta==2.0": "not found", "annotated-types==0.8.0": "not found"})
    verdict(audit, allow_unreachable=True, reachable=lambda pin: asked.append(pin) or False)
    assert asked == ["annotated-types==0.8.0"]
    assert probe_url("annotated-types==0.8.0") == "https://pypi.org/pypi/annotated-types/0.8.0/json"
    assert probe_url("annotated-types==?") == "https://pypi.org/pypi/annotated-types/json"


def test_a_skipped_dependency_keeps_the_version_its_reason_states() -> None:
    reason = "Dependency not found on PyPI and could not be audited: annotated-types (0.8.0)"
    audit = Audit.from_report({"dependencies": [{"name": "annotated-types", "skip_reason": reason}]})
    assert list(audit.skipped) == ["annotated-types==0.8.0"]
