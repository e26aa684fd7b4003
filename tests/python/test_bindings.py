"""Drives the generated Python bindings of doorstep-core against the real library.

The module and libdoorstep_core.so are generated into target/bindings/python by scripts/test.d/10-core-bindings.sh;
DOORSTEP_PY_BINDINGS points there. What passes here is what the Android and iOS apps rely on through their own
generated bindings: open an encrypted store, save a household and a visit, list, and read typed errors.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, os.environ.get("DOORSTEP_PY_BINDINGS", str(ROOT / "target" / "bindings" / "python")))

import doorstep_core as ds  # noqa: E402  (the path is set just above)

KEY = bytes(range(32))
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def national_id(region: str, birth: str, seq: str) -> str:
    """A valid 18-character resident ID number (GB 11643) for the given region, birth date and sequence."""
    first17 = region + birth.replace("-", "") + seq
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return first17 + "10X98765432"[total % 11]


def assurances(status):
    check = lambda: ds.AssuranceCheck(status=status, note="")  # noqa: E731
    return ds.Assurances(
        food=check(), clothing=check(), education=check(), medical=check(), housing=check(), water=check()
    )


def member(name, sex, birth, relation):
    return ds.Member(
        id="",
        name=name,
        sex=sex,
        birth_date=birth,
        relation=relation,
        national_id=national_id("430621", birth, "001" if sex == ds.Sex.MALE else "002"),
        events=[],
        insured=True,
        chronic_certificate=False,
        disability=None,
        conditions=[],
        pregnant=False,
        contract=None,
        employment=ds.Employment.FARMING,
    )


def household():
    head = member("王德明", ds.Sex.MALE, "1958-04-21", ds.Relation.HEAD)
    wife = member("陈桂兰", ds.Sex.FEMALE, "1960-09-03", ds.Relation.SPOUSE)
    return ds.Household(
        id="",
        number="4306210020007",
        township="石门镇",
        village="青山村",
        hamlet="下屯",
        address="青山村下屯3号",
        head_name=head.name,
        phone="13900004321",
        gps=None,
        poverty_status=ds.PovertyStatus.MONITORED,
        status_history=[],
        risk_causes=[ds.RiskCause.ILLNESS],
        alert_level=ds.AlertLevel.YELLOW,
        relocation=None,
        income_per_person=7300.0,
        income_year=2025,
        assurances=assurances(ds.AssuranceStatus.OK),
        measures={},
        helper_ids=["helper7"],
        doctor_team="青山村家医团队",
        # Members without an id get one from the core; the keys only need to be distinct here.
        members={"a": head, "b": wife},
        deleted=False,
    )


def visit(household_id):
    return ds.Visit(
        id="",
        household_id=household_id,
        member_id=None,
        visitor="helper7",
        visitor_role=ds.Role.HELPER,
        date="2026-11-20",
        time="09:45",
        kind=ds.VisitKind.MONTHLY,
        findings=assurances(ds.AssuranceStatus.OK),
        income_note="",
        risk_note="",
        problems={},
        measures_delivered=[],
        policy_explained=True,
        satisfaction=ds.Satisfaction.SATISFIED,
        note="医保已续缴",
        gps=None,
        signed_by_household=True,
        deleted=False,
    )


def no_filter(**kw):
    args = dict(village=None, status=None, alert=None, text=None, helper=None)
    args.update(kw)
    return ds.HouseholdFilter(**args)


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "field.db")


def test_open_save_list_and_typed_errors(store_path):
    app = ds.Doorstep.open(store_path, KEY, "python-test")

    household_id = app.save_household(household())
    assert household_id
    saved = app.get_household(household_id)
    assert saved.head_name == "王德明"
    assert len(saved.members) == 2
    assert all(key == m.id and m.id for key, m in saved.members.items())

    visit_id = app.save_visit(visit(household_id))
    assert [v.id for v in app.visits_of_household(household_id)] == [visit_id]

    listed = app.list_households(no_filter())
    assert [h.id for h in listed] == [household_id]
    assert listed[0].members == 2
    assert listed[0].last_visit == "2026-11-20"
    assert listed[0].alert == ds.AlertLevel.YELLOW
    assert [h.id for h in app.list_households(no_filter(text="陈桂兰"))] == [household_id]
    assert app.list_households(no_filter(village="别的村")) == []

    # A bad field: the error is typed and names the field, and nothing is written.
    bad = visit(household_id)
    bad.date = "2026-13-45"
    bad.visitor = ""
    pending = app.pending_changes()
    with pytest.raises(ds.DoorstepError.Validation) as err:
        app.save_visit(bad)
    fields = {e.field for e in err.value.errors}
    assert fields == {"date", "visitor"}, fields
    assert all(e.message_en and e.message_zh for e in err.value.errors)
    assert app.pending_changes() == pending
    assert len(app.visits_of_household(household_id)) == 1

    with pytest.raises(ds.DoorstepError.NotFound):
        app.get_household("no-such-household")

    del app
    # The same file with another key: a typed WrongKey, not a crash or a misleading storage error.
    with pytest.raises(ds.DoorstepError.WrongKey):
        ds.Doorstep.open(store_path, bytes(32), "python-test")
    # And the right key still opens it with everything in place.
    again = ds.Doorstep.open(store_path, KEY, "python-test")
    assert [h.id for h in again.list_households(no_filter())] == [household_id]


def test_attach_list_open_and_a_refused_attachment(store_path, tmp_path):
    app = ds.Doorstep.open(store_path, KEY, "python-test")
    visit_id = app.save_visit(visit(app.save_household(household())))
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    photo = jfif + bytes(range(256)) * 20
    path = tmp_path / "house.jpg"
    path.write_bytes(photo)
    ref = app.attach_file(visit_id, str(path), ds.AttachmentKind.PHOTO, "房屋", None)
    assert ref.media_type == "image/jpeg" and ref.size == len(photo)
    listed = app.list_attachments(visit_id)
    assert [(a.reference.hash, a.local, a.upload) for a in listed] == [(ref.hash, True, ds.UploadState.PENDING)]
    assert app.open_attachment(ref.hash) == photo
    with pytest.raises(ds.DoorstepError.AttachmentRefused) as err:
        app.attach_bytes(visit_id, photo, ds.AttachmentKind.SIGNATURE, "", None)
    assert err.value.code == "media_type"
    assert len(app.list_attachments(visit_id)) == 1
    # The file beside the store holds no plaintext JPEG header (the whole header: three bytes occur by chance).
    blobs = Path(store_path + ".blobs")
    files = [f.read_bytes() for f in blobs.iterdir() if f.is_file()]
    assert len(files) == 1
    assert all(not raw.startswith(b"\xff\xd8\xff") and jfif not in raw for raw in files)


def test_classification_and_masking_without_a_store():
    s = ds.Screening(
        id="",
        household_id="h",
        member_id="m",
        date="2026-11-20",
        screener="doctor1",
        visit_id=None,
        campaign=None,
        systolic=186.0,
        diastolic=112.0,
        heart_rate=80.0,
        glucose=17.2,
        glucose_kind=ds.GlucoseKind.FASTING,
        height_cm=160.0,
        weight_kg=75.0,
        waist_cm=None,
        findings="",
        referral=ds.Referral(level=ds.ReferralLevel.NONE, destination=""),
        deleted=False,
    )
    c = ds.classify_screening(s)
    assert c.bp_grade == ds.BpGrade.GRADE3
    assert c.suggested_referral == ds.ReferralLevel.URGENT
    assert c.bmi_band == ds.BmiBand.OBESE
    assert ds.mask_national_id("11010519491231002X") == "1101************2X"
