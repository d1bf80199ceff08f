"""Thin signal handlers: a saved password change revokes the user's API tokens.

Hooked on the user model's save, so every way of changing a password is covered: the password
page, the admin, ``manage.py changepassword`` and ``set_password`` in a shell.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from accounts.services import user_tokens_revoke


def remember_password_change(sender: Any, instance: Any, update_fields: Any, **_: Any) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = old is not None and old != instance.password


def revoke_tokens_after_password_change(sender: Any, instance: Any, **_: Any) -> None:
    if getattr(instance, "_password_changed", False):
        instance._password_changed = False
        user_tokens_revoke(user=instance, reason="password changed")


def connect() -> None:
    from django.db.models.signals import post_save, pre_save

    user_model = get_user_model()
    pre_save.connect(remember_password_change, sender=user_model, dispatch_uid="pw-change-pre")
    post_save.connect(
        revoke_tokens_after_password_change, sender=user_model, dispatch_uid="pw-change-post"
    )
