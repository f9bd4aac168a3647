"""Personal data typed into case text (phones, e-mail addresses, resident ID and bank-card
numbers) is masked for liaisons on every page that shows them case text; agents see it all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.choices import Role, Stage
from cases.masking import mask_text
from cases.models import Case
from cases.services import collaboration as collab
from tests.factories import CaseFactory, UserFactory

# --- the function ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "masked"), [
    ("电话13812345678，谢谢", "电话138****5678，谢谢"),
    ("手机 138 1234 5678", "手机 138****5678"),
    ("call 139-1234-5678.", "call 139****5678."),
    ("+86 138-1234-5678", "+86 138****5678"),
    ("+8613812345678", "+86 138****5678"),
    ("0086 13812345678", "+86 138****5678"),
    ("(+86) 10 8888 6666", "+86 108****6666"),
    ("座机010-88886666转3", "座机010****6666转3"),
    ("（021）6888 1234", "021****1234"),
    ("0571 8888 6666", "057****6666"),
    ("１３８１２３４５６７８", "138****5678"),  # full-width digits
    ("邮箱 wang.fang@example.com。", "邮箱 w***@example.com。"),
    ("QQ邮箱 123456789@qq.com", "QQ邮箱 1***@qq.com"),
    ("身份证110101199003071234", "身份证110***************"),
    ("ID 11010119900307123X", "ID 110***************"),
    ("110101 19900307 123x", "110*****************"),
    ("卡号6222021234567890123", "卡号**** 0123"),
    ("6222 0212 3456 7890", "**** 7890"),
    ("6222-0212-3456-7890-123", "**** 0123"),
    ("138 1234 5678 and 13912345678", "138****5678 and 139****5678"),
    ("", ""),
    (None, ""),
])
def test_personal_data_in_text_is_masked(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize("text", [
    "订单号：SO-88812，2026年3月8日付款 ¥299.00",
    "Order SO-2026030812345678 and PO-88812-3",
    "工单 TS-2026-000123 于 2026-03-08 14:30 创建",
    "金额 12345.67 元，数量 3，单价 4115.22",
    "20260308 的快递，运费 12 元",
    "hotline 400-820-8820",
    "version 1.2.3, 95% of 1,234,567 orders",
])
def test_order_numbers_dates_and_amounts_are_left_alone(text):
    assert mask_text(text) == text


# --- the pages ---------------------------------------------------------------------------------
PLANTED = {
    "mobile": "13812345678", "spaced": "139 8765 4321", "intl": "+86 137-1111-2222",
    "landline": "010-66668888", "email": "zhang.private@example.net",
    "id": "11010519491231002X", "card": "6222 0212 3456 7890",
}
SECRETS = ["13812345678", "98765432", "87654321", "11112222", "1371111", "66668888",
           "zhang.private", "11010519491231002", "1949123100", "0212 3456", "3456 7890"]


def _text(label: str) -> str:
    return f"{label}：手机{PLANTED['mobile']}，备用 {PLANTED['spaced']}，{PLANTED['intl']}，" \
           f"座机{PLANTED['landline']}，邮箱 {PLANTED['email']}，身份证 {PLANTED['id']}，" \
           f"银行卡 {PLANTED['card']}。订单 SO-88812。"


@pytest.fixture
def planted(dept_tree):
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, description=_text("描述"))
    location = f"地址：手机{PLANTED['mobile']}，{PLANTED['email']}"  # the field holds 100
    Case.objects.filter(pk=case.pk).update(desired_outcome=_text("诉求"), location=location)
    liaison = dept_tree["logistics"].liaison
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask=_text("请求"))
    collab.todo_add(actor=liaison, request_id=req.pk, title=_text("待办")[:200])
    collab.request_add_note(actor=liaison, request_id=req.pk, body=_text("进展"))
    collab.request_answer(actor=liaison, request_id=req.pk, plan=_text("方案"))
    return {"agent": agent, "liaison": liaison, "req": req, "case": case}


def _pages(req) -> list[str]:
    return [reverse("board:index"), reverse("board:request", args=[req.pk]),
            reverse("desk:alerts") + "?show=all"]


@pytest.mark.django_db
def test_a_liaison_sees_none_of_the_planted_personal_data(client, planted):
    client.force_login(planted["liaison"])
    for url in _pages(planted["req"]):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in SECRETS:
            assert secret not in html, (url, secret)
        assert "SO-88812" in html or url.startswith(reverse("desk:alerts")), url
    detail = client.get(reverse("board:request", args=[planted["req"].pk])).content.decode()
    for label in ("描述", "诉求", "地址", "请求", "待办", "进展", "方案"):
        assert f"{label}：手机138****5678" in detail, label


@pytest.mark.django_db
def test_the_agent_still_sees_the_personal_data(client, planted):
    client.force_login(planted["agent"])
    html = client.get(reverse("board:request", args=[planted["req"].pk])).content.decode()
    for value in PLANTED.values():
        assert value in html, value
    board = client.get(reverse("board:index")).content.decode()
    assert PLANTED["mobile"] in board


@pytest.mark.django_db
def test_a_liaison_s_alert_cut_to_its_column_leaves_no_part_of_a_number(dept_tree):
    """The alert text is masked before it is cut to 300 characters: a number standing at the
    cut would otherwise be stored in part, no longer recognisable, and shown unmasked."""
    from cases.models import Alert

    agent = UserFactory(username="cs-agent2", role=Role.FRONTLINE)
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    liaison = dept_tree["logistics"].liaison
    # The alert reads "Case TS-… asks Logistics for help: <ask>": the numbers stand at the
    # alert's 300-character cut.
    ask = "请" * 245 + f"联系 {PLANTED['mobile']} 或 {PLANTED['card']}"
    collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                          ask=ask)
    stored = Alert.objects.get(recipient=liaison).message
    assert "1381234" not in stored and "6222 0212" not in stored and "****" in stored
