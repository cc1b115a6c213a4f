"""Display names everywhere a person is named in the browser: a direct room's entry in the
room list and its header, join notices, the typing line, desktop notification titles, the
thread panel's authors, search results (with their files as chips) and their context, the
list of followed threads, pins and edit history; each with the @handle beside a display name,
so a name chosen to look like someone else's gives itself away; and all of it redrawn live
when the name changes.

Other users act outside the browser (``SyncChat``): their display names are set with the
``profile`` command and their files uploaded over HTTP, as any client does.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.chatpage import OpenChat, SyncChat, message, open_room
from tests.browser.test_mentions import notes, notified_page
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


def upload(chat: SyncChat, name: str, data: bytes) -> dict[str, Any]:
    """Upload ``data`` as ``chat``'s user; the server's description of it (a FileInfo)."""
    request = urllib.request.Request(
        f"{chat.base_url}/api/uploads?name={name}",
        data=data,
        method="POST",
        headers={
            "Authorization": f"Bearer {chat.token}",
            "Content-Type": "application/octet-stream",
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        info: dict[str, Any] = json.load(response)["upload"]
    return info


def named(page: Page, selector: str, shown: str, handle: str | None) -> None:
    """The element at ``selector`` names someone as ``shown``, with ``@handle`` beside it (or,
    for ``None``, no handle: their user name alone)."""
    node = page.locator(selector)
    expect(node.locator(".handle")).to_have_count(0 if handle is None else 1)
    if handle is not None:
        expect(node.locator(".handle")).to_have_text(f"@{handle}")
    expect(node).to_contain_text(shown)


def test_display_names_in_every_view_with_the_handle_beside_them(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    chat = open_chat(server)
    bob = SyncChat(server.http_url, "bob")
    bob.command("profile", display_name="Bobby Tables")
    bob.command("create", room="ops")
    [root] = bob.say("ops", "the quarterly root")
    bob.command("send", room="ops", text="a reply in the thread", thread=root["mid"], cid="r1")

    page = notified_page(chat, "alice", new=True)

    # The page knows bob's profile once the lobby's members are read (welcome and `who` carry
    # profiles); a notice about him before that names him by his user name.
    expect(page.locator('#member-list [data-user="bob"] .member-name')).to_have_text("Bobby Tables")
    # Added to #ops by bob: the toast and the join notice name him by his display name.
    bob.command("invite", room="ops", user="alice")
    expect(page.locator(".toast").last).to_contain_text("Bobby Tables (@bob) added you to #ops")
    open_room(page, "ops")
    notice = page.locator("#messages .notice-text")
    expect(notice.last).to_have_text("You joined, invited by Bobby Tables (@bob)")

    # The typing line.
    bob.typing("ops")
    expect(page.locator("#typing")).to_have_text("Bobby Tables is typing…")

    # The thread panel's authors (the root and its reply).
    message(page, "the quarterly root").locator(".thread-summary").click()
    panel = page.locator("#thread-panel")
    expect(panel.locator(".thread-root-msg .author")).to_have_text("Bobby Tables")
    expect(panel.locator(".thread-root-msg .handle")).to_have_text("@bob")
    expect(panel.locator(".thread-replies .msg .author")).to_have_text("Bobby Tables")
    expect(panel.locator(".thread-replies .msg .handle")).to_have_text("@bob")

    # A direct message: the notification's title, the room list, the header.
    bob.command("dm", user="alice")
    bob.say("dm:alice:bob", "psst, quarterly")
    # (Polled from here: wait_for_function evaluates a string, which the page's CSP refuses.)
    for _ in range(200):
        if notes(page):
            break
        page.wait_for_timeout(100)
    assert [n["title"] for n in notes(page)] == ["Bobby Tables (@bob)"]
    entry = page.locator("#dm-list .room-link")
    expect(entry.locator(".dm-name")).to_have_text("Bobby Tables")
    expect(entry.locator(".handle")).to_have_text("@bob")
    expect(entry).to_have_attribute("aria-label", "Bobby Tables (@bob), online, 1 unread")
    entry.click()
    named(page, "#room-name", "Bobby Tables", "bob")
    expect(page.locator("#room-name .room-title")).to_have_text("Bobby Tables")
    expect(page).to_have_title("Bobby Tables · Parley")

    # Search: the author as in the timeline, the file as a chip, in the context too.
    report = upload(bob, "report.pdf", b"%PDF-1.4 quarterly figures")
    bob.command("send", room="ops", text="quarterly report attached", files=[report["id"]])
    page.keyboard.press("Control+k")
    page.get_by_role("searchbox", name="Search messages").fill("quarterly")
    hit = page.locator(".search-hit").filter(has_text="quarterly report attached")
    expect(hit.locator(".search-user")).to_have_text("Bobby Tables")
    expect(hit.locator(".handle")).to_have_text("@bob")
    chip = hit.locator(".file-chip")
    expect(chip).to_have_text("report.pdf")
    expect(chip).to_have_attribute("title", "report.pdf, PDF document, 26 bytes")
    # Rooms in the order of their newest result; a direct room named by the other person.
    expect(page.locator(".search-group h3")).to_have_text(["#ops", "Bobby Tables (@bob)"])
    root_hit = page.locator(".search-hit").filter(has_text="the quarterly root")
    expect(root_hit.locator(".file-chip")).to_have_count(0)  # a message without files
    hit.click()
    target = page.locator(".context-item.target")
    expect(target.locator(".search-user")).to_have_text("Bobby Tables")
    expect(target.locator(".file-chip-name")).to_have_text("report.pdf")
    page.keyboard.press("Escape")
    expect(page.locator("#search-dialog")).to_be_hidden()

    # A display name chosen to pass for someone else gives itself away by its handle, and
    # every view follows the change live: here "alice", in alice's own page.
    open_room(page, "ops")
    message(page, "the quarterly root").locator(".thread-summary").click()
    expect(panel.locator(".thread-root-msg .author")).to_have_text("Bobby Tables")
    bob.command("profile", display_name="alice")
    expect(panel.locator(".thread-root-msg .author")).to_have_text("alice")
    expect(panel.locator(".thread-root-msg .handle")).to_have_text("@bob")
    expect(panel.locator(".thread-replies .msg .author")).to_have_text("alice")
    expect(notice.last).to_have_text("You joined, invited by alice (@bob)")
    expect(message(page, "the quarterly root").locator(".msg-head")).to_contain_text("alice @bob")
    expect(entry.locator(".dm-name")).to_have_text("alice")
    expect(entry.locator(".handle")).to_have_text("@bob")
    # Text, never markup; and with no display name, the user name alone, without a handle.
    bob.command("profile", display_name="<b>Bob</b>")
    expect(panel.locator(".thread-root-msg .author")).to_have_text("<b>Bob</b>")
    assert panel.locator(".thread-root-msg b").count() == 0
    bob.command("profile", display_name="")
    named(page, "#thread-panel .thread-root-msg .msg-head", "bob", None)
    expect(notice.last).to_have_text("You joined, invited by bob")
    expect(entry.locator(".room-link-name")).to_have_text("bob")
    entry.click()
    named(page, "#room-name", "bob", None)
    bob.close()
