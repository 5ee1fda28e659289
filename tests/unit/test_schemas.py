import json
from pathlib import Path

import pytest

from theeye.events import Event, validate_event
from theeye.schemas import SchemaFileError, SchemaRegistry, check_schema

ROOT = Path(__file__).parents[2]
SCHEMA_FILES = sorted((ROOT / "schemas").glob("*.json"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_schema_file_is_valid_json_schema(path: Path) -> None:
    check_schema(json.loads(path.read_text()))


def test_the_registry_knows_the_three_briefing_types() -> None:
    registry = SchemaRegistry.from_directory(ROOT / "schemas")
    registry.compile_all()
    assert set(registry.schemas) == {
        ("page interaction", "pageview"),
        ("page interaction", "cta click"),
        ("form interaction", "submit"),
    }


def test_the_sample_events_validate_against_their_schemas() -> None:
    registry = SchemaRegistry.from_directory(ROOT / "schemas")
    samples = json.loads((ROOT / "events" / "briefing_events.json").read_text())
    for raw in samples:
        event = validate_event(raw, "app")
        assert isinstance(event, Event)
        assert registry.knows((event.category, event.name))
        assert registry.validate((event.category, event.name), event.data) == []


def test_a_broken_schema_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x-event-type": {"category": "c", "name": "n"}, "type": 12}')
    registry = SchemaRegistry.from_directory(tmp_path)
    with pytest.raises(SchemaFileError, match="not valid"):
        registry.compile_all()
    with pytest.raises(SchemaFileError):
        check_schema(registry.schemas[("c", "n")])


def test_two_files_claiming_one_type_are_refused(tmp_path: Path) -> None:
    body = '{"x-event-type": {"category": "c", "name": "n"}, "type": "object"}'
    (tmp_path / "a.json").write_text(body)
    (tmp_path / "b.json").write_text(body)
    with pytest.raises(SchemaFileError, match="already defined"):
        SchemaRegistry.from_directory(tmp_path)


def test_a_schema_without_a_type_declaration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"type": "object"}')
    with pytest.raises(SchemaFileError, match="x-event-type"):
        SchemaRegistry.from_directory(tmp_path)


def test_every_violation_is_listed_with_a_dotted_path() -> None:
    registry = SchemaRegistry.from_directory(ROOT / "schemas")
    problems = registry.validate(("form interaction", "submit"), {"host": 3, "form": {"a": 1, "b": ["x"]}})
    assert {p.field for p in problems} == {"data.host", "data.path", "data.form.a", "data.form.b"}


def test_each_missing_property_is_listed_once() -> None:
    registry = SchemaRegistry.from_directory(ROOT / "schemas")
    problems = registry.validate(("page interaction", "cta click"), {"path": "/"})
    assert sorted((p.field, p.message) for p in problems) == [
        ("data.element", "is required"),
        ("data.host", "is required"),
    ]
