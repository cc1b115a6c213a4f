"""Room roles and moderation in the browser (``web/views/moderation.js``): the member menu
(mute, remove, ban, make moderator) and the room-settings dialog, with the keyboard, in both
themes; the removed member's page leaves the room; moderation events read in the timeline."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chatpage import OpenChat, SyncChat, open_room
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


_refusals = itertools.count(1)


def refusal(sync: SyncChat, type_: str, **fields: object) -> str:
    """The error code the server answers a command it refuses."""
    ident = f"refused-{next(_refusals)}"
    sync.ws.send(json.dumps({"type": type_, "id": ident, **fields}))
    return str(sync.next("error", re=ident)["code"])


def notice(page: Page, text: str) -> Locator:
    """The timeline's notice (a room event that is not a message) holding ``text``."""
    return page.locator("#messages .notice").filter(has_text=text)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_owner_moderates_from_the_member_menu_and_the_settings_dialog(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, scheme: str
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    SyncChat(server.http_url, "root").close()  # the first account: a server admin
    owner = chat.signed_in("owner", viewport=DESKTOP, color_scheme=scheme)
    carol = SyncChat(server.http_url, "carol")
    dave = SyncChat(server.http_url, "dave")
    carol.command("create", room="scratch")  # carol owns another room: no menu for owner there
    owner_chat = SyncChat(server.http_url, "owner", new=False)
    owner_chat.command("create", room="club")
    for member in (carol, dave):
        member.command("join", room="club")
    dave_page = chat.signed_in("dave", new=False, viewport=DESKTOP, color_scheme=scheme)
    open_room(dave_page, "club")
    open_room(owner, "club")

    # Dave (a plain member) gets no menu; the owner gets one on each member but herself.
    members = owner.locator("#member-list")
    expect(members.get_by_role("button", name="Moderate carol")).to_be_visible()
    expect(members.get_by_role("button", name="Moderate owner")).to_have_count(0)
    expect(dave_page.locator("#member-list .member-menu")).to_have_count(0)

    # Make carol a moderator, from the keyboard.
    members.get_by_role("button", name="Moderate carol").focus()
    owner.keyboard.press("Enter")
    dialog = owner.locator("#member-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Moderate carol in #club")
    dialog.get_by_role("button", name="Make moderator").click()
    expect(dialog).to_be_hidden()
    expect(notice(owner, "You made carol a moderator")).to_be_visible()
    expect(notice(dave_page, "owner made carol a moderator")).to_be_visible()
    role = carol.next("event", kind="role")
    assert (role["user"], role["by"], role["text"]) == ("carol", "owner", "moderator")

    # Mute dave for an hour: his page shows it, the server refuses his posts.
    members.get_by_role("button", name="Moderate dave").click()
    dialog.get_by_label("Mute for").select_option("3600000")
    dialog.get_by_role("button", name="Mute", exact=True).click()
    expect(notice(dave_page, "owner muted you until")).to_be_visible()
    assert refusal(dave, "send", room="club", text="hello?") == "muted"

    # The settings dialog: announcements only; Escape closes it, the keyboard reaches it all.
    owner.locator("#room-settings").click()
    settings = owner.locator("#settings-dialog")
    expect(settings).to_be_visible()
    expect(settings.locator("#settings-post")).to_be_focused()
    expect(settings.locator("#settings-roles li")).to_have_text(["carolmoderator", "ownerowner"])
    settings.locator("#settings-post").select_option("moderators")
    settings.get_by_role("button", name="Save").click()
    expect(settings).to_be_hidden()
    expect(notice(dave_page, "only moderators may post")).to_be_visible()
    assert carol.command("send", room="club", text="news")["type"] == "ack"
    owner.locator("#room-settings").click()
    expect(settings.locator("#settings-post")).to_have_value("moderators")
    owner.keyboard.press("Escape")
    expect(settings).to_be_hidden()

    # A member sees the settings, read-only.
    dave_page.locator("#room-settings").click()
    dave_settings = dave_page.locator("#settings-dialog")
    expect(dave_settings.locator("#settings-post")).to_be_disabled()
    expect(dave_settings.get_by_role("button", name="Save")).to_be_hidden()
    dave_page.keyboard.press("Escape")

    # Ban dave for good: his page leaves the room at once.
    members.get_by_role("button", name="Moderate dave").click()
    dialog.get_by_label("Ban for").select_option("0")
    dialog.get_by_role("button", name="Ban", exact=True).click()
    expect(notice(owner, "You banned dave")).to_be_visible()
    expect(dave_page.locator("#room-name")).to_have_text("#lobby")
    expect(dave_page.locator("#sidebar").get_by_role("link", name="club")).to_have_count(0)
    assert refusal(dave, "join", room="club") == "banned"

    # A refusal from the server shows in the dialog: carol (moderator) cannot remove owner.
    carol_page = chat.signed_in("carol", new=False, viewport=DESKTOP, color_scheme=scheme)
    open_room(carol_page, "club")
    expect(
        carol_page.locator("#member-list").get_by_role("button", name="Moderate owner")
    ).to_be_visible()
    carol_page.locator("#member-list").get_by_role("button", name="Moderate owner").click()
    carol_dialog = carol_page.locator("#member-dialog")
    expect(carol_dialog.get_by_role("button", name="Make moderator")).to_be_hidden()
    carol_dialog.get_by_role("button", name="Remove from the room").click()
    expect(carol_dialog.locator("#member-error")).to_have_text(
        "You cannot do this to a room owner."
    )
    for sync in (carol, dave, owner_chat):
        sync.close()
