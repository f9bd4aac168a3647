import pytest

from cases.models import User


@pytest.mark.django_db
def test_switcher_saves_the_signed_in_users_language(client, frontline):
    frontline.language = "zh-hans"
    frontline.save()
    client.force_login(frontline)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/desk/"})
    assert response.status_code == 302
    assert User.objects.get(pk=frontline.pk).language == "en"
    page = client.get("/desk/")
    assert page.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_switcher_for_anonymous_visitors_sets_the_cookie_only(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/complain/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert client.get("/complain/").headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_switcher_ignores_unknown_languages(client, frontline):
    client.force_login(frontline)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/desk/"})
    assert User.objects.get(pk=frontline.pk).language == ""
