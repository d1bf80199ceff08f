from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from portal.audit.models import AuditEvent
from portal.catalog.services import tape_create
from tests.personas import PASSWORD, make_user


def test_login_logout_and_password_change(client, archivist):
    response = client.post(
        reverse("accounts:login"), {"username": "archivist", "password": "wrong"}
    )
    assert response.status_code == 200 and b"correct username and password" in response.content
    response = client.post(
        reverse("accounts:login"), {"username": "archivist", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("catalog:tape_list")).status_code == 200
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    archivist.refresh_from_db()
    assert archivist.check_password("a-new-long-passphrase-42")
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("catalog:tape_list")).status_code == 302


def test_user_switches_between_their_institutions(
    client, institution, other_institution, archivist, outsider
):
    both = make_user("both", institution, Role.ARCHIVIST)
    Membership.objects.create(user=both, institution=other_institution, role=Role.ARCHIVIST)
    ours = tape_create(actor=archivist, institution=institution, identifier="OURS-1")
    theirs = tape_create(actor=outsider, institution=other_institution, identifier="THEIRS-1")
    client.force_login(both)
    client.post(reverse("accounts:switch_institution"), {"institution": institution.pk})
    page = client.get(reverse("catalog:tape_list")).content
    assert b"OURS-1" in page and b"THEIRS-1" not in page
    assert client.get(reverse("catalog:tape_detail", args=[theirs.pk])).status_code == 404
    client.post(reverse("accounts:switch_institution"), {"institution": other_institution.pk})
    page = client.get(reverse("catalog:tape_list")).content
    assert b"THEIRS-1" in page and b"OURS-1" not in page
    assert client.get(reverse("catalog:tape_detail", args=[ours.pk])).status_code == 404
    assert b"institution-switch" in page  # the switcher is shown to members of several


def test_switching_to_a_foreign_institution_is_404(archivist_client, other_institution):
    response = archivist_client.post(
        reverse("accounts:switch_institution"), {"institution": other_institution.pk}
    )
    assert response.status_code == 404


def test_user_without_membership_gets_an_explanation(client, db):
    client.force_login(make_user("lonely"))
    response = client.get(reverse("catalog:tape_list"))
    assert response.status_code == 403


def test_members_page_is_for_managers_only(archivist_client, reviewer_client, manager_client):
    url = reverse("accounts:members")
    assert archivist_client.get(url).status_code == 403
    assert reviewer_client.get(url).status_code == 403
    response = manager_client.get(url)
    assert response.status_code == 200
    # The page title is plain text; the settings have their own page, linked from here.
    assert b"<title>Members" in response.content
    assert response.content.count(b'href="/accounts/institution/"') >= 1


def test_institution_settings_page_is_for_managers(archivist_client, manager_client, institution):
    url = reverse("accounts:institution_settings")
    assert archivist_client.get(url).status_code == 403
    page = manager_client.get(url).content.decode()
    assert 'id="public-access"' in page and "Allow self-approval" in page
    response = manager_client.post(url, {"name": "Renamed", "public_access": "on"})
    assert response.status_code == 302 and response["Location"] == url
    institution.refresh_from_db()
    assert institution.name == "Renamed" and institution.public_access
    refused = manager_client.post(url, {"name": ""})
    assert refused.status_code == 200 and b"errorlist" in refused.content


def test_manager_adds_changes_and_removes_members_with_audit(
    manager_client, institution, manager, db
):
    newcomer = make_user("newcomer")
    response = manager_client.post(
        reverse("accounts:members"), {"username": "newcomer", "role": "archivist"}
    )
    assert response.status_code == 302
    # The newcomer joins by accepting the invitation (tests/accounts/test_invitations.py).
    invitation = Invitation.objects.get(username="newcomer")
    invitee = Client()
    invitee.force_login(newcomer)
    invitee.post(reverse("accounts:invitation_accept", args=[invitation.pk]))
    membership = Membership.objects.get(user=newcomer, institution=institution)
    manager_client.post(reverse("accounts:member_role", args=[membership.pk]), {"role": "reviewer"})
    membership.refresh_from_db()
    assert membership.role == Role.REVIEWER
    manager_client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    events = list(
        AuditEvent.objects.order_by("id").values_list("action", "target_label", "changes")
    )
    assert events == [
        ("invitation.created", "newcomer", {"role": [None, "archivist"]}),
        ("invitation.accepted", "newcomer", {}),
        ("membership.created", "newcomer", {"role": [None, "archivist"]}),
        ("membership.role_changed", "newcomer", {"role": ["archivist", "reviewer"]}),
        ("membership.deleted", "newcomer", {"role": ["reviewer", None]}),
    ]


def test_last_manager_cannot_be_demoted_or_removed(manager_client, manager, institution):
    own = Membership.objects.get(user=manager, institution=institution)
    response = manager_client.post(
        reverse("accounts:member_role", args=[own.pk]), {"role": "archivist"}, follow=True
    )
    assert b"last manager" in response.content
    manager_client.post(reverse("accounts:member_remove", args=[own.pk]))
    own.refresh_from_db()
    assert own.role == Role.MANAGER


def test_outsider_cannot_touch_our_memberships(outsider_client, archivist, institution):
    membership = Membership.objects.get(user=archivist, institution=institution)
    assert (
        outsider_client.post(
            reverse("accounts:member_role", args=[membership.pk]), {"role": "manager"}
        ).status_code
        == 404
    )
    assert (
        outsider_client.post(reverse("accounts:member_remove", args=[membership.pk])).status_code
        == 404
    )
    membership.refresh_from_db()
    assert membership.role == Role.ARCHIVIST
    page = outsider_client.get(reverse("accounts:members")).content
    assert b"archivist@example.org" not in page and b"outsider@example.org" in page


def test_manager_changes_institution_settings_with_audit(
    manager_client, archivist_client, institution
):
    url = reverse("accounts:institution_settings")
    assert archivist_client.post(url, {"name": "X", "allow_self_approval": "on"}).status_code == 403
    response = manager_client.post(url, {"name": "Test Archive", "allow_self_approval": "on"})
    assert response.status_code == 302
    institution.refresh_from_db()
    assert institution.allow_self_approval and not institution.public_access
    event = AuditEvent.objects.get(action="institution.updated")
    assert event.changes == {"allow_self_approval": [False, True]}


def test_error_pages_tell_the_user_what_to_do(archivist_client, outsider, other_institution):
    from portal.catalog.services import tape_create as create

    theirs = create(actor=outsider, institution=other_institution, identifier="THEIRS")
    response = archivist_client.get(reverse("catalog:tape_detail", args=[theirs.pk]))
    assert response.status_code == 404 and b"belongs to another institution" in response.content
    response = archivist_client.get(reverse("accounts:members"))
    assert response.status_code == 403 and b"needs the manager role" in response.content


def test_every_navigation_link_works_for_each_role(
    archivist_client, reviewer_client, manager_client
):
    for client, hidden in (
        (archivist_client, {"History", "Members"}),
        (reviewer_client, {"History", "Members"}),
        (manager_client, set()),
    ):
        response = client.get(reverse("catalog:tape_list"))
        links = response.context["nav_links"]
        labels = {link["label"] for link in links}
        assert {"Catalog", "Collections"} <= labels and not (hidden & labels)
        for link in links:
            assert client.get(link["url"]).status_code == 200, link
