import pytest

from dixian.core.audit import Actor
from dixian.core.deployment import current, jurisdiction_code, set_jurisdiction
from dixian.core.errors import ValidationError
from dixian.core.models import AuditEvent, Deployment

pytestmark = pytest.mark.django_db


def test_set_jurisdiction_happy_path_and_audit():
    dep = set_jurisdiction(actor=Actor.cli(), code="140702000000")
    assert dep.name == "榆次区" and jurisdiction_code() == "140702000000"
    event = AuditEvent.objects.get(action="deployment.set_jurisdiction")
    assert [(c.old, c.new) for c in event.changes.all()] == [("140724000000", "140702000000")]
    set_jurisdiction(actor=Actor.cli(), code="140702000000")  # unchanged: no second event
    assert AuditEvent.objects.filter(action="deployment.set_jurisdiction").count() == 1


def test_unknown_code_refused():
    with pytest.raises(ValidationError, match="不存在"):
        set_jurisdiction(actor=Actor.cli(), code="149999999999")
    assert current().jurisdiction_code == "140724000000"


def test_no_deployment_yet():
    Deployment.objects.all().delete()
    with pytest.raises(ValidationError, match="dixian init"):
        jurisdiction_code()
