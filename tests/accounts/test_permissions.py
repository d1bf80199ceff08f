import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from accounts.models import Membership, Role
from accounts.permissions import require_role, role_at_least
from accounts.selectors import SESSION_KEY, current_membership
from tests.personas import make_user


def test_roles_are_ranked(institution, archivist, reviewer, manager):
    membership = Membership.objects.get(user=reviewer)
    assert role_at_least(membership, Role.ARCHIVIST)
    assert role_at_least(membership, Role.REVIEWER)
    assert not role_at_least(membership, Role.MANAGER)
    assert not role_at_least(None, Role.ARCHIVIST)
    with pytest.raises(ValueError):
        role_at_least(membership, "janitor")


def test_require_role_explains_what_is_missing(institution, archivist, outsider):
    with pytest.raises(PermissionDenied, match="needs the manager role.*you are archivist"):
        require_role(archivist, institution, Role.MANAGER)
    with pytest.raises(PermissionDenied, match="not a member"):
        require_role(outsider, institution, Role.ARCHIVIST)
    assert require_role(archivist, institution, Role.ARCHIVIST).user == archivist


class _Session(dict):
    pass


def test_active_institution_comes_from_the_session(institution, other_institution):
    user = make_user("both", institution, Role.ARCHIVIST)
    Membership.objects.create(user=user, institution=other_institution, role=Role.MANAGER)
    request = RequestFactory().get("/")
    request.user = user
    request.session = _Session({SESSION_KEY: other_institution.pk})
    assert current_membership(request).institution == other_institution
    assert current_membership(request).role == Role.MANAGER
    # A stale or foreign id in the session falls back to one of the user's own institutions.
    request = RequestFactory().get("/")
    request.user = user
    request.session = _Session({SESSION_KEY: 999999})
    assert current_membership(request).institution in (institution, other_institution)
