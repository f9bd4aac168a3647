"""The import mapping language (issue 20 item 3): conditional template parts, prefix and
regex maps, a default per field, the valid codes in errors, unknown keys refused with the
nearest name, and every fallback counted (value, count) in the dry run and the report; the
shipped mappings against small files in their formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.choices import Category, ChannelKind
from cases.models import Case
from channels.import_mapping import MappingError, parse_mapping
from channels.import_rules import Fallbacks, RowContext, evaluate, parse_template, render
from channels.importing import import_complaints, load_mapping

pytestmark = pytest.mark.django_db
MAPPINGS = Path(__file__).resolve().parent.parent / "channels" / "mappings"
BASE = {
    "external_id": {"column": "id"},
    "category": {"column": "type"},
    "subject": {"column": "title"},
    "description": {"value": "legacy"},
    "customer.name": {"value": "someone"},
}


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def command(data: Path, mapping: Path | dict, *extra: str, tmp_path: Path | None = None,
            ) -> tuple[str, int]:
    if isinstance(mapping, dict):
        folder = tmp_path or data.parent
        path = folder / "mapping.json"
        path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
        mapping = path
    out = io.StringIO()
    code = 0
    try:
        call_command("import_complaints", str(data), "--mapping", str(mapping), *extra,
                     stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
        code = exc.returncode
    return out.getvalue(), code


def cell_of(values: dict[str, str]):
    return lambda column: values.get(column, "")


# --- templates ------------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "expected"), [
    ({"addr": "1 Main St", "city": "BROOKLYN"}, "1 Main St, BROOKLYN"),
    ({"addr": "1 Main St", "city": ""}, "1 Main St"),
    ({"addr": "", "city": "BROOKLYN"}, ""),
    ({}, ""),
])
def test_a_conditional_part_disappears_when_its_column_is_empty(values, expected):
    text, _any = render(parse_template("[{addr}[, {city}]]"), cell_of(values))
    assert text == expected


def test_conditional_parts_around_text_and_literal_brackets():
    part = parse_template("Order \\[{no}\\][ - Company: {Company}]")
    assert render(part, cell_of({"no": "7", "Company": "ACME"}))[0] == "Order [7] - Company: ACME"
    assert render(part, cell_of({"no": "7"}))[0] == "Order [7]"


@pytest.mark.parametrize("template", ["[{a}", "{a}]", "x {} y"])
def test_unreadable_templates_are_refused_naming_the_template(template):
    with pytest.raises(MappingError, match="fields.subject"):
        parse_mapping({"fields": {**BASE, "subject": {"template": template}}})


# --- maps -------------------------------------------------------------------------------------
def field_value(spec, row: dict[str, str]):
    mapping = parse_mapping({"fields": {**BASE, "category": spec}})
    return evaluate(mapping.fields["category"], RowContext(row, mapping.empty_values),
                    mapping.defaults.get("category"))


def test_prefix_rules_take_the_longest_prefix_in_any_letter_case():
    spec = {"column": "type", "prefix": {"closed": "other", "Closed with money": "billing"}}
    assert field_value(spec, {"type": "CLOSED WITH MONEY back"}).value == "billing"
    assert field_value(spec, {"type": "Closed with explanation"}).value == "other"


def test_regex_rules_apply_in_order_after_exact_and_prefix_entries():
    spec = {"column": "type", "map": {"Parcel lost": "delivery"},
            "regex": {"(?i)parcel|courier": "delivery", "fee|charge": "billing"}}
    assert field_value(spec, {"type": "Parcel lost"}).value == "delivery"
    assert field_value(spec, {"type": "the COURIER was rude"}).value == "delivery"
    assert field_value(spec, {"type": "late fee"}).value == "billing"
    assert field_value(spec, {"type": "noise"}).value == ""


def test_a_bad_regular_expression_is_refused():
    with pytest.raises(MappingError, match="regular expression '\\(unclosed' is not valid"):
        parse_mapping({"fields": {**BASE, "category": {"column": "type",
                                                       "regex": {"(unclosed": "billing"}}}})


def test_default_is_taken_when_the_rules_give_nothing_and_is_counted():
    spec = [{"column": "type", "map": {"Billing": "billing"}}, {"column": "kind"}]
    spec[-1]["default"] = "other"
    assert field_value(spec, {"type": "", "kind": ""}).value == "other"
    assert field_value(spec, {"type": "", "kind": ""}).fell_back_from == ""
    missed = field_value(spec, {"type": "Lost parcel", "kind": ""})
    assert (missed.value, missed.fell_back_from) == ("other", "Lost parcel")
    assert field_value(spec, {"type": "billing", "kind": ""}).fell_back_from is None


def test_a_default_given_twice_is_refused():
    with pytest.raises(MappingError, match="default once"):
        parse_mapping({"fields": {**BASE, "category": [{"column": "type", "default": "other"},
                                                       {"value": "other", "default": "other"}]}})


# --- valid codes and unknown keys -------------------------------------------------------------
@pytest.mark.parametrize(("spec", "bad"), [
    ({"column": "type", "map": {"Fees": "billin"}}, "billin"),
    ({"column": "type", "prefix": {"Fee": "fees"}}, "fees"),
    ({"value": "misc"}, "misc"),
    ({"column": "type", "default": "Other"}, "Other"),
])
def test_a_code_the_target_does_not_have_is_refused_with_the_valid_codes(spec, bad):
    with pytest.raises(MappingError) as caught:
        parse_mapping({"fields": {**BASE, "category": spec}})
    assert f"Unknown category '{bad}': expected one of {', '.join(Category.values)}" in str(
        caught.value)


def test_stage_tier_and_channel_codes_are_checked_too():
    for name, value, codes in (
        ("stage", "done", "received, in_progress, resolved, closed, invalid"),
        ("tier", 4, "1, 2, 3"),
        ("channel", "phone", ", ".join(ChannelKind.values)),
    ):
        with pytest.raises(MappingError, match=f"Unknown {name} '{value}': expected one of "
                                               f"{codes}"):
            parse_mapping({"fields": {**BASE, name: {"value": value}}})
    parse_mapping({"fields": {**BASE, "tier": {"value": 2}, "stage": {"value": "closed"},
                              "channel": {"value": "hotline"}}})


@pytest.mark.parametrize(("raw", "message"), [
    ({"encodng": "gb18030", "fields": BASE}, 'unknown key "encodng" (did you mean "encoding"?)'),
    ({"fields": {**BASE, "categroy": {"value": "other"}}},
     'unknown target field "categroy" (did you mean "category"?)'),
    ({"fields": {**BASE, "subject": {"colum": "title"}}},
     'fields.subject: unknown key "colum" (did you mean "column"?)'),
    ({"fields": {**BASE, "subject": {"column": "title", "mapp": {}}}},
     'unknown key "mapp" (did you mean "map"?)'),
    ({"fields": BASE, "xyz": 1}, 'the mapping: unknown key "xyz"; valid keys:'),
])
def test_unknown_keys_are_refused_with_the_nearest_valid_name(raw, message):
    with pytest.raises(MappingError) as caught:
        parse_mapping(raw)
    assert message in str(caught.value)


def test_time_zones_are_accepted_at_the_top_and_per_field():
    mapping = parse_mapping({"timezone": "America/New_York", "fields": {
        **BASE, "received_at": {"column": "d", "timezone": "Asia/Shanghai"}}})
    assert str(mapping.timezone) == "America/New_York"
    assert str(mapping.fields["received_at"][0]["zone"]) == "Asia/Shanghai"
    with pytest.raises(MappingError, match="is not a time zone"):
        parse_mapping({"timezone": "New York", "fields": BASE})


def test_an_unknown_value_in_a_row_names_the_value_and_the_valid_codes(tmp_path):
    data = write_csv(tmp_path / "a.csv", ["id", "type", "title"],
                     [["A-1", "billing", "ok"], ["A-2", "foo", "bad"]])
    out, code = command(data, {"fields": BASE})
    assert (f"line 3 [A-2]: category: Unknown category 'foo': expected one of "
            f"{', '.join(Category.values)}") in out
    assert code == 1 and Case.objects.count() == 1


# --- fallbacks --------------------------------------------------------------------------------
FALLBACK_ROWS = [["F-1", "Billing", "a"], ["F-2", "Struggling to pay your loan", "b"],
                 ["F-3", "Struggling to pay your loan", "c"], ["F-4", "Renamed label", "d"],
                 ["F-5", "", "e"]]
FALLBACK_MAPPING = {"fields": {**BASE, "category": [
    {"column": "type", "map": {"Billing": "billing"}}, {"value": "other"}]}}


def test_every_fallback_is_counted_and_listed_in_the_dry_run_and_the_report(tmp_path):
    data = write_csv(tmp_path / "f.csv", ["id", "type", "title"], FALLBACK_ROWS)
    expected = ("category: 4 rows fell back to 'other': 'Struggling to pay your loan' x2, "
                "'Renamed label' x1, (empty) x1")
    dry, code = command(data, FALLBACK_MAPPING, "--dry-run")
    assert expected in dry and code == 0
    real, code = command(data, FALLBACK_MAPPING)
    assert expected in real and code == 0
    assert Case.objects.filter(category=Category.OTHER).count() == 4
    again, _code = command(data, FALLBACK_MAPPING)
    assert "fell back" not in again  # nothing was created the second time


def test_fallback_counts_of_the_report_object(tmp_path):
    data = write_csv(tmp_path / "f.csv", ["id", "type", "title"], FALLBACK_ROWS)
    report = import_complaints(data, parse_mapping(FALLBACK_MAPPING), dry_run=True)
    assert dict(report.fallbacks.counts["category"]) == {
        ("other", "Struggling to pay your loan"): 2, ("other", "Renamed label"): 1,
        ("other", ""): 1}


def test_the_fallback_summary_shows_the_most_frequent_values_first_and_how_many_more():
    tally = Fallbacks()
    for i in range(12):
        for _n in range(i + 1):
            tally.add("category", "other", f"label {i}")
    line = tally.summary(limit=3)[0]
    assert line.startswith("category: 78 rows fell back to 'other': 'label 11' x12, "
                           "'label 10' x11, 'label 9' x10, 9 more")


# --- the shipped mappings ---------------------------------------------------------------------
CFPB_HEADER = ["Date received", "Product", "Sub-product", "Issue", "Sub-issue",
               "Consumer complaint narrative", "Company public response", "Company", "State",
               "ZIP code", "Tags", "Consumer consent provided?", "Submitted via",
               "Date sent to company", "Company response to consumer", "Timely response?",
               "Consumer disputed?", "Complaint ID"]
CFPB_ROWS = [
    ["2024-03-12", "Credit card", "General-purpose credit card or charge card",
     "Getting a credit card", "Card opened without my consent or knowledge", "They opened it.",
     "", "BANK A", "NY", "10001", "Older American", "Consent provided", "Web", "2024-03-12",
     "Closed with monetary relief", "Yes", "N/A", "9000001"],
    ["2024-03-13", "Debt collection", "I do not know", "A label renamed in 2026", "", "", "",
     "COLLECTOR B", "", "", "", "", "Phone", "2024-03-13", "In progress", "Yes", "N/A",
     "9000002"],
    ["2024-03-14", "Some new product", "", "Another new label", "", "", "", "C", "TX", "", "",
     "", "Postal mail", "2024-03-15", "Untimely response", "No", "N/A", "9000003"],
]


def test_every_shipped_mapping_loads():
    names = sorted(p.name for p in MAPPINGS.glob("*.json"))
    assert names == ["cfpb.json", "cfpb_2012.json", "nyc311.json"]
    for name in names:
        load_mapping(MAPPINGS / name)


def test_the_cfpb_mapping_on_the_current_column_set(tmp_path):
    data = write_csv(tmp_path / "cfpb.csv", CFPB_HEADER, CFPB_ROWS)
    out, code = command(data, MAPPINGS / "cfpb.json")
    assert code == 0 and "3 rows: created 3" in out
    assert "category: 1 row fell back to 'billing': 'A label renamed in 2026' x1" in out
    assert "category: 1 row fell back to 'other': 'Another new label' x1" in out
    first = Case.objects.get(external_id="CFPB-9000001")
    assert first.category == Category.BILLING
    assert first.subject == "Credit card: Getting a credit card"
    assert "Product: Credit card / General-purpose credit card or charge card" in (
        first.description)
    assert "State / ZIP: NY 10001" in first.description
    third = Case.objects.get(external_id="CFPB-9000003")
    assert "State / ZIP: TX" in third.description and "Tags" not in third.description
    again, _code = command(data, MAPPINGS / "cfpb.json")
    assert "created 0, already imported 3" in again


def test_the_cfpb_mapping_of_the_first_column_set(tmp_path):
    header = ["Complaint ID", "Product", "Sub-product", "Issue", "Sub-issue", "State",
              "ZIP code", "Submitted via", "Date received", "Date sent to company", "Company",
              "Company response", "Timely response?", "Consumer disputed?"]
    rows = [["1290516", "Mortgage", "Conventional fixed mortgage",
             "Loan modification,collection,foreclosure", "", "CA", "95991", "Referral",
             "03/19/2015", "03/20/2015", "BANK D", "Closed with explanation", "Yes", "No"]]
    data = write_csv(tmp_path / "old.csv", header, rows)
    out, code = command(data, MAPPINGS / "cfpb_2012.json")
    assert code == 0 and "1 rows: created 1" in out and "fell back" not in out
    case = Case.objects.get(external_id="CFPB-1290516")
    assert case.category == Category.AFTER_SALES
    assert "Product: Mortgage / Conventional fixed mortgage" in case.description
    # the current mapping refuses the old header, naming what it lacks
    out, code = command(data, MAPPINGS / "cfpb.json")
    assert code == 2 and ('Company response to consumer (did you mean "Company response"?)'
                          in out)


NYC_HEADER = [
    "Unique Key", "Created Date", "Closed Date", "Agency", "Agency Name", "Complaint Type",
    "Descriptor", "Location Type", "Incident Zip", "Incident Address", "Street Name",
    "Cross Street 1", "Cross Street 2", "Intersection Street 1", "Intersection Street 2",
    "Address Type", "City", "Landmark", "Facility Type", "Status", "Due Date",
    "Resolution Description", "Resolution Action Updated Date", "Community Board", "BBL",
    "Borough", "X Coordinate (State Plane)", "Y Coordinate (State Plane)",
    "Open Data Channel Type", "Park Facility Name", "Park Borough", "Vehicle Type",
    "Taxi Company Borough", "Taxi Pick Up Location", "Bridge Highway Name",
    "Bridge Highway Direction", "Road Ramp", "Bridge Highway Segment", "Latitude",
    "Longitude", "Location"]


def nyc_row(key: str, kind: str, descriptor: str, address: str, city: str, status: str,
            channel: str, cross: tuple[str, str] = ("", "")) -> list[str]:
    row = dict.fromkeys(NYC_HEADER, "")
    row.update({
        "Unique Key": key, "Created Date": "01/15/2024 12:20:33 AM",
        "Closed Date": "01/16/2024 09:00:00 AM" if status == "Closed" else "",
        "Agency": "HPD", "Agency Name": "Department of Housing Preservation and Development",
        "Complaint Type": kind, "Descriptor": descriptor, "Incident Address": address,
        "City": city, "Status": status, "Open Data Channel Type": channel,
        "Intersection Street 1": cross[0], "Intersection Street 2": cross[1],
        "Resolution Description": "The Department inspected the condition.",
        "Borough": "BROOKLYN",
    })
    return [row[c] for c in NYC_HEADER]


def test_the_nyc311_mapping(tmp_path):
    assert len(NYC_HEADER) == 41
    rows = [
        nyc_row("59000001", "HEAT/HOT WATER", "ENTIRE BUILDING", "100 MAIN STREET", "BROOKLYN",
                "Closed", "PHONE"),
        nyc_row("59000002", "Noise - Residential", "Loud Music/Party", "", "BROOKLYN", "Open",
                "ONLINE"),
        nyc_row("59000003", "Illegal Parking", "Blocked Hydrant", "", "BROOKLYN", "Pending",
                "MOBILE", cross=("AVENUE A", "EAST 5 STREET")),
        nyc_row("59000004", "Brand New Complaint Type", "x", "1 PARK PLACE", "Unspecified",
                "Closed", "UNKNOWN"),
    ]
    data = write_csv(tmp_path / "311.csv", NYC_HEADER, rows)
    out, code = command(data, MAPPINGS / "nyc311.json")
    assert code == 0 and "4 rows: created 4" in out, out
    assert "category: 1 row fell back to 'other': 'Brand New Complaint Type' x1" in out
    cases = {c.external_id: c for c in Case.objects.all()}
    heat = cases["NYC311-59000001"]
    assert heat.category == Category.PRODUCT_QUALITY
    assert heat.location == "100 MAIN STREET, BROOKLYN"
    assert heat.subject == "HEAT/HOT WATER: ENTIRE BUILDING"
    assert cases["NYC311-59000002"].location == ""  # never ", BROOKLYN"
    assert cases["NYC311-59000002"].category == Category.OTHER
    assert cases["NYC311-59000003"].location == "AVENUE A & EAST 5 STREET, BROOKLYN"
    assert cases["NYC311-59000004"].location == "1 PARK PLACE"  # "Unspecified" is empty
    assert not any(c.location.startswith(",") for c in cases.values())


def test_a_regex_result_may_take_the_match_groups():
    spec = {"template": "{type}|{title}", "regex": {"^Closed[^|]*[|](.+)$": "\\1"},
            "map_default": ""}
    mapping = parse_mapping({"fields": {**BASE, "resolution": spec}})
    rules = mapping.fields["resolution"]
    closed = RowContext({"type": "Closed with relief", "title": "2024-03-12"}, frozenset({""}))
    assert evaluate(rules, closed).value == "2024-03-12"
    open_row = RowContext({"type": "In progress", "title": "2024-03-12"}, frozenset({""}))
    assert evaluate(rules, open_row).value == ""


def test_the_shipped_mappings_carry_the_legacy_outcome(tmp_path):
    data = write_csv(tmp_path / "cfpb.csv", CFPB_HEADER, CFPB_ROWS)
    out, code = command(data, MAPPINGS / "cfpb.json")
    assert code == 0 and "in stage: closed 2, in_progress 1" in out
    cases = {c.external_id: c for c in Case.objects.all()}
    relief = cases["CFPB-9000001"]
    assert (relief.stage, relief.channel, relief.company) == ("closed", "web", "BANK A")
    assert relief.closed_at.date().isoformat() == "2024-03-12"
    assert cases["CFPB-9000002"].stage == "in_progress"
    assert cases["CFPB-9000002"].closed_at is None
    assert cases["CFPB-9000002"].channel == ChannelKind.HOTLINE
    untimely = cases["CFPB-9000003"]
    assert (untimely.stage, untimely.channel) == ("closed", ChannelKind.LETTER)
    rows = [nyc_row("59000011", "HEAT/HOT WATER", "ENTIRE BUILDING", "1 MAIN ST", "BRONX",
                    "Closed", "PHONE"),
            nyc_row("59000012", "PLUMBING", "LEAK", "2 MAIN ST", "BRONX", "Weird status",
                    "ONLINE")]
    data = write_csv(tmp_path / "311.csv", NYC_HEADER, rows)
    out, code = command(data, MAPPINGS / "nyc311.json")
    assert code == 1
    assert "line 3 [NYC311-59000012]: stage: 'Weird status' is not in the map" in out
    heat = Case.objects.get(external_id="NYC311-59000011")
    assert (heat.stage, heat.channel) == ("closed", ChannelKind.HOTLINE)
    assert heat.company == "Department of Housing Preservation and Development"
    assert heat.received_at.isoformat() == "2024-01-15T05:20:33+00:00"  # 00:20:33 in New York
