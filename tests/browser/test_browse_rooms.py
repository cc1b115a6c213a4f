"""The "Browse rooms" dialog asks the server for pages of rooms (issue 14, finding 2).

The welcome no longer lists every public room, so the dialog cannot filter a list it already
has: it asks `rooms` with the filter, page by page, and offers "More rooms" while there are.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.chatpage import OpenChat, SyncChat, sign_in, sign_up
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


def test_browse_rooms_pages_filters_and_joins_by_keyboard(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    admin = SyncChat(server.http_url, "admin")  # the first account: no room quota
    for n in range(120):
        admin.command("create", room=f"room-{n:03d}", topic=f"topic {n}")
    admin.command("create", room="secret", private=True)
    chat = open_chat(server)
    page = chat.new(viewport=DESKTOP)
    sign_up(page, "bob")
    expect(page.locator("#room-name")).to_have_text("#lobby")
    # The sidebar holds bob's rooms only: the 120 public rooms are not in his welcome.
    expect(page.locator("#room-list li")).to_have_count(1)

    page.get_by_role("button", name="Browse public rooms").click()
    dialog = page.locator("#browse-dialog")
    rows = dialog.locator(".browse-row")
    expect(rows).to_have_count(50)  # a page: lobby, room-000 ... room-048
    expect(rows.first).to_have_attribute("data-room", "lobby")
    more = dialog.get_by_role("button", name="More rooms")
    more.click()
    expect(rows).to_have_count(100)
    more.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(121)
    expect(more).to_be_hidden()  # the end of the list
    expect(dialog.get_by_role("button", name="Join #secret")).to_have_count(0)

    # The filter is the server's: any case, part of the name.
    dialog.get_by_label("Filter rooms").fill("ROOM-11")
    expect(rows).to_have_count(10)
    expect(more).to_be_hidden()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Join #room-110")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#room-name")).to_have_text("#room-110")
    expect(page.locator("#room-list li")).to_have_count(2)

    # A filter no room name can hold finds nothing, and says so (no request, no error).
    page.get_by_role("button", name="Browse public rooms").click()
    dialog.get_by_label("Filter rooms").fill("50%")
    expect(dialog.locator(".empty")).to_have_text("No room matches.")
    expect(dialog.locator("#browse-error")).to_be_hidden()
    dialog.get_by_label("Filter rooms").fill("room-110")
    expect(dialog.get_by_role("button", name="Open #room-110")).to_be_visible()
    admin.close()


def test_a_welcome_in_pages_shows_every_room_of_a_busy_user(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    admin = SyncChat(server.http_url, "admin")
    topic = "\N{GRINNING FACE}" * 250  # 1,000 bytes: 260 rooms pass the reply budget
    for n in range(260):
        admin.command("create", room=f"room-{n:03d}", topic=topic)
    welcome = SyncChat(server.http_url, "admin", new=False).welcome
    assert welcome["more"] is True  # the server did cut it
    admin.close()
    page = open_chat(server).new(viewport=DESKTOP)
    sign_in(page, "admin")
    expect(page.locator("#room-name")).to_have_text("#lobby")
    expect(page.locator("#room-list li")).to_have_count(261)
    page.locator("#room-list").get_by_text("room-259").click()
    expect(page.locator("#room-name")).to_have_text("#room-259")
