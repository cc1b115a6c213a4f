"""Who may create an account, decided at runtime and the same on every node.

The mode is ``open`` (anyone), ``invite`` (only with an invitation: ``chat/invites.py``) or
``closed`` (only the operator, ``parley user add``; invitations are refused too). ``parley
serve --registration`` gives the default; an admin's choice (the /admin page, the admin API,
``parley registration MODE``) is stored in ``server_settings`` (migration 0010) and wins from
then on. Every node reads the stored row when someone registers (one primary-key lookup, paid
by sign-ups only), so a change takes effect everywhere with the next registration: no
broadcast to miss, no restart. To go back to the flag's mode, an admin sets that mode.

``member_invites`` (``on``/``off``, default off) says whether members, not only admins, may
create invitations for new people.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from parley.model import Actor
from parley.store.base import Store

#: The ``server_settings`` names.
REGISTRATION: Final = "registration"
MEMBER_INVITES: Final = "member_invites"


#: What a refused invitation says (by :attr:`~parley.store.base.InviteRefused.reason`), for
#: people; its error code is ``invite_invalid``.
INVITE_REFUSALS: Final = {
    "unknown": "this invitation link is not valid (check that it was copied whole)",
    "used": "this invitation link was already used",
    "expired": "this invitation link has expired",
    "revoked": "this invitation link was revoked",
}


class RegistrationMode(StrEnum):
    OPEN = "open"
    INVITE = "invite"
    CLOSED = "closed"


class Registration:
    """The registration policy of one server (see the module docstring)."""

    def __init__(self, store: Store, default: str = RegistrationMode.OPEN) -> None:
        self.store = store
        self.default = RegistrationMode(default)

    async def mode(self) -> RegistrationMode:
        stored = await self.store.get_setting(REGISTRATION)
        try:
            return RegistrationMode(stored) if stored is not None else self.default
        except ValueError:  # written by a newer Parley: the flag decides
            return self.default

    async def set_mode(self, mode: RegistrationMode, actor: Actor) -> None:
        await self.store.set_setting(REGISTRATION, mode.value, actor=actor)

    async def member_invites(self) -> bool:
        return await self.store.get_setting(MEMBER_INVITES) == "on"

    async def set_member_invites(self, allowed: bool, actor: Actor) -> None:
        await self.store.set_setting(MEMBER_INVITES, "on" if allowed else "off", actor=actor)
