import pytest
from django.urls import reverse
from cases.choices import Stage
from tests.factories import CaseFactory

@pytest.mark.django_db
def test_smoke(client, supervisor):
    CaseFactory(stage=Stage.CLOSED)
    CaseFactory(stage=Stage.IN_PROGRESS)
    client.force_login(supervisor)
    for name in ["reports:dashboard", "reports:root_causes", "reports:reviews", "reports:actions"]:
        r = client.get(reverse(name))
        assert r.status_code == 200, (name, r.content[:3000])
    r = client.get(reverse("reports:dashboard") + "?period=last_12_months")
    assert r.status_code == 200
    open("/tmp/dash.html","wb").write(r.content)
    r = client.post(reverse("reports:review_build"))
    print(r.status_code, r.get("Location"))
    r = client.get(r["Location"])
    assert r.status_code == 200, r.content[:3000]
    open("/tmp/review.html","wb").write(r.content)
    for f in ("csv","xlsx"):
        r = client.get(reverse("reports:export_kpis", args=[f]))
        assert r.status_code == 200
        r = client.get(reverse("reports:export_cases", args=[f]) + "?queue=all")
        assert r.status_code == 200
        body = b"".join(r.streaming_content)
        print(f, len(body))
        if f == "csv": print(body.decode()[:600])
