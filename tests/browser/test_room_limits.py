"""What a person sees when a room name is taken by a room they cannot see, and when they
have created as many rooms as the server allows (``tests/chat/test_room_safety.py`` has the
protocol's side)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.chatpage import OpenChat, SyncChat
from tests.helpers.process import ServerProcess


def create(page: Page, name: str) -> None:
    page.get_by_role("button", name="Create a room").click()
    dialog = page.locator("#create-dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create").click()


def test_a_taken_name_and_the_daily_limit_in_the_create_dialog(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--rooms-per-day", "1")
    owner = SyncChat(server.http_url, "owner")  # the first account: an admin
    owner.command("create", room="Hidden", private=True)
    chat = open_chat(server)
    page = chat.signed_in("alice")

    create(page, "hidden")
    error = page.locator("#create-name-error")
    expect(error).to_have_text("The name “hidden” is not available. Choose another.")
    expect(page.locator("#create-dialog")).to_be_visible()
    page.keyboard.press("Escape")

    create(page, "mine")
    expect(page.locator("#room-name")).to_have_text("#mine")
    create(page, "another")
    refusal = page.locator("#create-error")
    expect(refusal).to_contain_text("You have created 1 room in the last 24 hours")
    expect(refusal).to_contain_text("you can create another in")
    expect(page.locator("#room-name")).to_have_text("#mine")
    owner.close()
