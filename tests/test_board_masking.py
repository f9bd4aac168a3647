"""Masking of customer contact data for liaisons."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.masking import contact_for, mask_email, mask_phone


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138 1234 1234", "138****1234"),
        ("+86 138-1234-1234", "+86 138****1234"),
        ("+8613812341234", "+86 138****1234"),
        ("010-88886666", "010****6666"),
        ("12345", "***45"),
        ("12", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("wang.fang@example.com", "w***@example.com"),
        ("a@b.cn", "a***@b.cn"),
        ("not-an-email", "****"),
        ("@example.com", "****"),
        ("", ""),
    ],
)
def test_mask_email(raw, masked):
    assert mask_email(raw) == masked


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_masked_mobile_never_shows_the_middle_digits(phone):
    masked = mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[-4:]
    assert phone[3:7] not in masked.replace("****", "")[3:-4]


@settings(max_examples=50, deadline=None)
@given(st.emails())
def test_a_masked_email_keeps_only_the_first_letter_and_the_domain(email):
    local, _, domain = email.rpartition("@")
    assert mask_email(email) == f"{local[0]}***@{domain}"


@pytest.mark.django_db
def test_contact_for_masks_for_liaisons_only(frontline, liaison):
    data = {"phone": "13812341234", "email": "wang@example.com"}
    assert contact_for(frontline, **data) == ("13812341234", "wang@example.com")
    assert contact_for(liaison, **data) == ("138****1234", "w***@example.com")
