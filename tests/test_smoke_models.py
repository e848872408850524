from sessions.models import AlertSession
from tests.factories import add_children, make_session


def test_child_reaches_soft_deleted_session(db):
    from django.utils import timezone

    session = make_session(deleted_at=timezone.now())
    rows = add_children(session)
    assert AlertSession.objects.filter(pk=session.pk).count() == 0
    assert rows["stage"].__class__.objects.get(pk=rows["stage"].pk).session == session
