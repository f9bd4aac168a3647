import pytest

from cases.choices import Stage, Tier
from tests.factories import CaseFactory


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [s for s in Stage.values])
def test_factory_reaches_every_stage(stage):
    case = CaseFactory(stage=stage, tier=Tier.URGENT if stage == Stage.CLOSED else Tier.ROUTINE)
    assert case.stage == stage
    assert case.reference.startswith("TS-")
