"""Parley's chat page (served at ``/`` by ``parley serve``) in a real browser, as users see it.

Every test fails on a script error, a Content-Security-Policy violation, a console error or a
request to another origin (``ChatPages.check``). Other users are either other browser contexts
or ``SyncChat`` clients.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from tests.browser.chatpage import (
    OpenChat,
    SyncChat,
    api_logout,
    composer,
    message,
    messages,
    open_room,
    save_screenshot,
    send,
    sign_in,
    sign_up,
)
from tests.conftest import TEST_ENV
from tests.helpers.chat import register
from tests.helpers.process import ServerProcess

MINE = re.compile(r"\bmine\b")
ONLINE = re.compile(r"\bonline\b")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def member(page: Page, name: str) -> Any:
    return page.locator(f'#member-list [data-user="{name}"]')


# -- accounts -------------------------------------------------------------------------------------


def test_sign_up_and_sign_in_errors_are_inline_and_the_session_survives_a_reload(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    register(server.http_url, "taken")
    page = open_chat(server).new()
    auth = page.locator("#auth")
    expect(auth).to_be_visible()
    expect(auth.get_by_label("User name")).to_be_focused()

    sign_up(page, "taken")
    expect(page.locator("#auth-username-error")).to_contain_text("is taken")
    expect(auth.get_by_label("User name")).to_have_attribute("aria-invalid", "true")
    sign_up(page, "alice", "short")
    expect(page.locator("#auth-password-error")).to_contain_text("at least 8 characters")
    expect(page.locator("#auth-username-error")).to_be_hidden()
    sign_up(page, "alice", "password123")
    expect(page.locator("#auth-password-error")).to_contain_text("too easy to guess")
    sign_up(page, "alice")
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#room-name")).to_have_text("#lobby")
    expect(page.locator("#me-name")).to_have_text("alice")
    # The session cookie is HttpOnly: no script on the page can read (or steal) it.
    assert page.evaluate("document.cookie") == ""

    page.reload()
    expect(page.locator("#room-name")).to_have_text("#lobby")
    expect(page.locator("#me-status")).to_have_text("online")

    page.get_by_role("button", name="Sign out").click()
    expect(auth).to_be_visible()
    expect(page.locator("#auth-lead")).to_have_text("You have signed out.")
    # The notice starts where the card's other lines start (it once took the timeline's
    # notice indentation).
    notice = page.locator("#auth-lead").evaluate(INK)
    form = page.locator("#auth-form").bounding_box()
    assert form is not None
    assert abs(notice["left"] - form["x"]) < 1, (notice, form)
    page.reload()
    expect(auth).to_be_visible()  # the session ended on the server too

    sign_in(page, "alice", "not the password")
    expect(page.locator("#auth-error")).to_have_text("Wrong user name or password.")
    sign_in(page, "alice")
    expect(page.locator("#me-name")).to_have_text("alice")
    expect(page.locator("#room-name")).to_have_text("#lobby")


def test_a_visitor_who_is_not_signed_in_is_not_an_error(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.new()
    expect(page.locator("#auth")).to_be_visible()
    with page.expect_response(re.compile(r"/api/me$")) as me:
        page.reload()
    assert me.value.status == 200
    assert me.value.json() == {"user": None}
    expect(page.locator("#auth")).to_be_visible()
    assert chat.problems == []  # no error in the console (the check at the end, made explicit)


def test_signing_out_in_another_tab_returns_this_tab_to_sign_in(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.signed_in("alice")
    expect(page.locator("#me-status")).to_have_text("online")
    # Another tab of the same session signs out: the server closes this tab's socket (1008).
    api_logout(page, server.http_url)
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#auth-lead")).to_have_text("Your session has ended. Please sign in again.")
    expect(page.locator("#chat")).to_be_hidden()


def test_a_session_that_ended_while_offline_returns_the_tab_to_sign_in(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    page = open_chat(server).signed_in("alice")
    expect(page.locator("#me-status")).to_have_text("online")
    page.context.set_offline(True)
    expect(page.locator("#banner")).to_contain_text("offline")
    # The cookie no longer names a live session (as after an expiry): the handshake is refused
    # with 401, which a page only sees as a failed WebSocket; /api/me then says "no user".
    page.context.add_cookies([{"name": "parley_session", "value": "ended", "url": server.http_url}])
    page.context.set_offline(False)
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#auth-lead")).to_have_text("Your session has ended. Please sign in again.")


# -- chatting -------------------------------------------------------------------------------------


def test_two_users_join_a_room_chat_both_ways_and_see_each_other_typing_and_online(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.new(viewport=DESKTOP)
    sign_up(alice, "alice")
    bob = chat.new(viewport=DESKTOP)
    sign_up(bob, "bob")
    for page in (alice, bob):
        expect(page.locator("#room-name")).to_have_text("#lobby")

    # alice creates a room; bob finds it among the public rooms and joins it.
    alice.get_by_role("button", name="Create a room").click()
    dialog = alice.locator("#create-dialog")
    dialog.get_by_label("Name").fill("team")
    dialog.get_by_label("Topic").fill("Shipping Parley 1.0")
    dialog.get_by_role("button", name="Create").click()
    expect(alice.locator("#room-name")).to_have_text("#team")
    expect(alice.locator("#room-topic")).to_have_text("Shipping Parley 1.0")
    bob.get_by_role("button", name="Browse public rooms").click()
    # The whole row joins, its name included (not only the small Join button).
    row = bob.locator("#browse-dialog").get_by_role("button", name="Join #team")
    expect(row).to_contain_text("Shipping Parley 1.0")
    row.locator(".browse-name").click()
    expect(bob.locator("#browse-dialog")).to_be_hidden()
    expect(bob.locator("#room-name")).to_have_text("#team")
    expect(bob.locator("#room-topic")).to_have_text("Shipping Parley 1.0")
    expect(alice.locator("#messages .notice").last).to_contain_text("bob joined")

    # Both are online, and each sees it.
    expect(member(alice, "bob")).to_have_class(ONLINE)
    expect(member(bob, "alice")).to_have_class(ONLINE)

    # bob types: alice sees it; bob sends: the indicator goes, the message comes.
    composer(bob).press_sequentially("hello alice")
    expect(alice.locator("#typing")).to_have_text("bob is typing…")
    composer(bob).press("Enter")
    expect(messages(alice)).to_have_text(["hello alice"])
    expect(alice.locator("#typing")).to_have_text("")

    composer(alice).press_sequentially("hi bob")
    expect(bob.locator("#typing")).to_have_text("alice is typing…")
    composer(alice).press("Enter")
    expect(composer(alice)).to_have_value("")
    send(alice, "two lines:\nShift+Enter makes the second one")
    send(bob, "got both")
    expected = ["hello alice", "hi bob", "two lines:\nShift+Enter makes the second one", "got both"]
    for page in (alice, bob):
        expect(messages(page)).to_have_text(expected)
        expect(page.locator("#pending li")).to_have_count(0)
    # My own messages are marked as mine; the others' are not.
    expect(message(alice, "hi bob")).to_have_class(MINE)
    expect(message(bob, "hi bob")).not_to_have_class(MINE)
    expect(message(bob, "got both")).to_have_class(MINE)
    expect(message(alice, "hi bob").locator(".author")).to_have_text("alice")
    alice.screenshot(path=tmp_path / "two-users-alice.png")
    bob.screenshot(path=tmp_path / "two-users-bob.png")

    # bob goes away: alice sees him offline.
    bob.close()
    expect(member(alice, "bob")).not_to_have_class(ONLINE)
    expect(member(alice, "alice")).to_have_class(ONLINE)


def test_unread_counts_and_direct_messages(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = chat.signed_in("bob", viewport=DESKTOP)
    carol = SyncChat(server.http_url, "carol")
    carol.command("create", room="news", private=True)
    carol.say("news", "said before bob came")
    carol.command("invite", room="news", user="bob")
    # The invitation reaches bob's page at once: a notice says who added him, and the room
    # appears in his list marked as new (what was said before he came is history, not unread).
    toast = bob.locator("#toasts .toast").filter(has_text="carol added you to #news")
    expect(toast).to_be_visible()
    news = bob.locator("#sidebar").get_by_role("link", name="news")
    expect(news).to_have_attribute("aria-label", "news, private, new")
    expect(news.locator(".badge")).to_have_text("new")
    expect(news).to_have_class(re.compile(r"\bunread\b"))
    carol.say("news", "first", "second")
    expect(news).to_have_attribute("aria-label", "news, private, 2 unread")
    expect(news.locator(".badge")).to_have_text("2")
    expect(bob.locator("#total-unread")).to_have_text("2")
    expect(bob).to_have_title("(2) #lobby · Parley")
    # News is read at a glance: the notice goes by itself, well before an error would.
    expect(toast).to_be_hidden(timeout=7_000)
    news.click()
    # A private room's header has the sidebar's lock icon (an SVG): no emoji, which Debian's
    # Chromium cannot draw (it has no emoji font).
    expect(bob.locator("#room-name")).to_have_text("news")
    expect(bob.locator("#room-name svg.icon-lock")).to_be_visible()
    expect(news.locator("svg.icon-lock")).to_be_visible()
    expect(messages(bob)).to_have_text(["said before bob came", "first", "second"])
    expect(bob.locator("#messages .notice")).to_contain_text(["You joined, invited by carol"])
    expect(news.locator(".badge")).to_have_count(0)
    expect(bob).to_have_title("#news · Parley")
    # Seen: after a reload the room is an ordinary room of the list.
    bob.reload()
    expect(news).to_have_attribute("aria-label", "news, private")

    # alice starts a direct message with bob; it appears in bob's list, with a count.
    alice.get_by_role("button", name="New direct message").click()
    dialog = alice.locator("#dm-dialog")
    dialog.get_by_label("User name").fill("nobody")
    dialog.get_by_role("button", name="Open").click()
    expect(dialog.locator("#dm-user-error")).to_have_text("There is no user named “nobody”.")
    dialog.get_by_label("User name").fill("bob")
    dialog.get_by_role("button", name="Open").click()
    expect(alice.locator("#room-name")).to_have_text("bob")
    send(alice, "psst, bob")
    dm = bob.locator("#dm-list").get_by_role("link", name="alice")
    expect(dm).to_have_attribute("aria-label", "alice, online, 1 unread")
    dm.click()
    expect(bob.locator("#room-name")).to_have_text("alice")
    expect(messages(bob)).to_have_text(["psst, bob"])
    send(bob, "hi alice")
    expect(messages(alice)).to_have_text(["psst, bob", "hi alice"])
    expect(alice.locator("#dm-list .presence")).to_have_class(ONLINE)
    carol.close()


def test_a_direct_room_shows_the_same_presence_in_header_sidebar_and_panel_after_a_reload(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    alice = open_chat(server).signed_in("alice", viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    bob.command("dm", user="alice")
    open_room(alice, "bob")
    header = alice.locator("#room-name .presence")
    sidebar = alice.locator("#dm-list .presence")

    def agree(online: bool) -> None:
        for dot in (header, sidebar, member(alice, "bob")):
            if online:
                expect(dot).to_have_class(ONLINE)
            else:
                expect(dot).not_to_have_class(ONLINE)

    agree(online=True)
    # After a reload the header is drawn before the server said who is online: it must
    # follow the presence that arrives later, like the room list and the member panel.
    alice.reload()
    expect(alice.locator("#room-name")).to_have_text("bob")
    agree(online=True)
    bob.close()
    agree(online=False)


def test_edits_and_deletes_appear_live_and_after_a_resume(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = chat.signed_in("bob", viewport=DESKTOP)
    for text in ("first draft", "typo", "keep me", "last one"):
        send(alice, text)
    expect(messages(bob)).to_have_text(["first draft", "typo", "keep me", "last one"])
    seq = {
        text: message(alice, text).get_attribute("data-seq")
        for text in ("first draft", "typo", "keep me", "last one")
    }

    def on(page: Page, text: str) -> Any:
        return page.locator(f'#messages li[data-seq="{seq[text]}"]')

    # Live: edit with the mouse ...
    on(alice, "first draft").hover()
    on(alice, "first draft").get_by_role("button", name="Edit message").click()
    editor = on(alice, "first draft").get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value("first draft")
    editor.fill("final text")
    editor.press("Enter")
    expect(on(bob, "first draft").locator(".text")).to_have_text("final text")
    expect(on(bob, "first draft").locator(".edited")).to_have_text("(edited)")
    expect(on(alice, "first draft").locator(".edited")).to_have_text("(edited)")
    expect(composer(alice)).to_be_focused()
    # ... and delete, after confirming.
    on(alice, "typo").hover()
    on(alice, "typo").get_by_role("button", name="Delete message").click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    for page in (alice, bob):
        expect(on(page, "typo").locator(".text")).to_have_text("This message was deleted.")
    # Only my own messages can be changed.
    on(bob, "keep me").hover()
    expect(on(bob, "keep me").get_by_role("button", name="Edit message")).to_have_count(0)
    expect(on(bob, "keep me").get_by_role("button", name="Delete message")).to_have_count(0)

    # bob loses the network; meanwhile alice edits (↑ in the empty composer edits her last
    # message, as in Slack) and deletes.
    bob.context.set_offline(True)
    expect(bob.locator("#banner")).to_contain_text("offline")
    composer(alice).press("ArrowUp")
    editor = on(alice, "last one").get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    editor.fill("last one, edited while bob was away")
    editor.press("Enter")
    expect(on(alice, "last one").locator(".text")).to_have_text(
        "last one, edited while bob was away"
    )
    on(alice, "keep me").hover()
    on(alice, "keep me").get_by_role("button", name="Delete message").click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(on(alice, "keep me").locator(".text")).to_have_text("This message was deleted.")
    # Not yet on bob's page ...
    expect(on(bob, "last one").locator(".text")).to_have_text("last one")

    # ... until the network is back: the resumed stream brings both changes.
    bob.context.set_offline(False)
    expect(bob.locator("#banner")).to_be_hidden()
    final = [
        "final text",
        "This message was deleted.",
        "This message was deleted.",
        "last one, edited while bob was away",
    ]
    expect(messages(bob)).to_have_text(final)
    expect(on(bob, "last one").locator(".edited")).to_have_text("(edited)")
    # And history (a reload) shows the same.
    bob.reload()
    expect(messages(bob)).to_have_text(final)
    expect(messages(alice)).to_have_text(final)

    # The first account is the server's admin: alice may delete bob's message, not edit it.
    send(bob, "spam")
    spam = message(alice, "spam")
    spam.hover()
    expect(spam.get_by_role("button", name="Edit message")).to_have_count(0)
    spam.get_by_role("button", name="Delete message").click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(messages(bob)).to_have_text([*final, "This message was deleted."])


# -- network trouble ------------------------------------------------------------------------------


def test_a_page_that_lost_the_network_shows_every_message_once_in_order(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    before = bob.say("lobby", "before 1", "before 2", "before 3")
    expect(messages(alice)).to_have_text(["before 1", "before 2", "before 3"])

    alice.context.set_offline(True)
    banner = alice.locator("#banner")
    expect(alice.locator("#banner-text")).to_have_text(
        "You are offline. Parley reconnects when the network is back."
    )
    send(alice, "written offline")
    pending = alice.locator("#pending li")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("Failed")
    expect(pending.locator(".text")).to_have_text("written offline")

    away = [f"while away {i}" for i in range(1, 21)]
    bob.say("lobby", *away)
    bob.command("edit", room="lobby", mid=before[0]["mid"], text="before 1, edited")
    bob.command("delete", room="lobby", mid=before[1]["mid"])
    expect(messages(alice)).to_have_text(["before 1", "before 2", "before 3"])

    alice.context.set_offline(False)
    expect(banner).to_be_hidden()
    expected = ["before 1, edited", "This message was deleted.", "before 3", *away]
    expect(messages(alice)).to_have_text(expected)

    # The message written offline is still there, failed, even after a reload of the tab;
    # a retry sends it, once.
    expect(pending).to_contain_text("Failed")
    alice.reload()
    expect(messages(alice)).to_have_text(expected)
    expect(pending).to_contain_text("Failed")
    expect(pending.locator(".text")).to_have_text("written offline")
    pending.get_by_role("button", name="Retry").click()
    expect(messages(alice)).to_have_text([*expected, "written offline"])
    expect(pending).to_have_count(0)
    assert bob.next("event", text="written offline")["user"] == "alice"
    bob.say("lobby", "after")
    expect(messages(alice)).to_have_text([*expected, "written offline", "after"])
    assert [m for m in bob.inbox if m.get("text") == "written offline"] == []
    bob.close()


def test_after_a_server_restart_the_page_reconnects_by_itself_and_misses_nothing(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    port = server.port
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    bob.say("lobby", "one", "two")
    expect(messages(alice)).to_have_text(["one", "two"])
    bob.close()

    server.stop()  # SIGTERM: the server closes every WebSocket with 1001 (going away)
    banner = alice.locator("#banner")
    expect(banner).to_contain_text("Reconnecting")
    expect(alice.locator("#me-status")).not_to_have_text("online")
    send(alice, "said during the restart")
    expect(alice.locator("#pending li")).to_contain_text("Failed")

    server = server_factory("serve", "--port", str(port))  # same folder: same database
    bob = SyncChat(server.http_url, "bob", new=False)
    bob.say("lobby", "three", "four")
    # Backoff: the page comes back by itself within a few attempts (no reload, no click).
    expect(banner).to_be_hidden(timeout=60_000)
    expect(messages(alice)).to_have_text(["one", "two", "three", "four"])
    alice.locator("#pending").get_by_role("button", name="Retry").click()
    expect(messages(alice)).to_have_text(["one", "two", "three", "four", "said during the restart"])
    bob.say("lobby", "five")
    expect(messages(alice)).to_have_text(
        ["one", "two", "three", "four", "said during the restart", "five"]
    )
    bob.close()


class SocketCutter:
    """Sits between a page and the server (Playwright's WebSocket routing) and cuts the
    connection at the worst moments: after the server stored a message but before its ack
    reached the page, or before the message reached the server."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []  # every `send` command the page sent
        self.lose_ack_of: str | None = None
        self.lose: str | None = None
        self.connections = 0

    def route(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()
        self.connections += 1

        def cut() -> None:
            page_side.close(code=4000, reason="network trouble")
            server_side.close()

        def to_server(frame: str | bytes) -> None:
            command = json.loads(frame)
            if command.get("type") == "send":
                self.sent.append(command)
                if command["text"] == self.lose:
                    self.lose = None
                    cut()
                    return
            server_side.send(frame)

        def to_page(frame: str | bytes) -> None:
            reply = json.loads(frame)
            if self.lose_ack_of is not None and reply.get("type") in ("event", "ack"):
                if reply.get("text") == self.lose_ack_of:
                    return  # the message itself, streamed back: lost too
                if reply["type"] == "ack":
                    self.lose_ack_of = None
                    cut()
                    return
            page_side.send(frame)

        page_side.on_message(to_server)
        server_side.on_message(to_page)


def test_a_message_whose_ack_was_lost_is_shown_once_and_a_retry_reuses_its_id(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    cutter = SocketCutter()
    alice = chat.new(viewport=DESKTOP)
    alice.context.route_web_socket(re.compile(r"/ws$"), cutter.route)
    sign_up(alice, "alice")
    bob = SyncChat(server.http_url, "bob")
    send(alice, "hello")
    expect(messages(alice)).to_have_text(["hello"])

    # Stored, but the ack (and the message on the stream) never arrive: the connection drops.
    # After reconnecting, the resumed stream brings the message, with our cid: shown once.
    cutter.lose_ack_of = "stored, ack lost"
    send(alice, "stored, ack lost")
    expect(messages(alice)).to_have_text(["hello", "stored, ack lost"])
    expect(alice.locator("#pending li")).to_have_count(0)
    assert cutter.connections == 2

    # Lost on the way: "Failed — retry"; the retry sends the same client message id.
    cutter.lose = "lost on the way"
    send(alice, "lost on the way")
    pending = alice.locator("#pending li")
    expect(pending).to_contain_text("Failed")
    expect(alice.locator("#banner")).to_be_hidden()  # reconnected (the message stays failed)
    pending.get_by_role("button", name="Retry").click()
    expect(messages(alice)).to_have_text(["hello", "stored, ack lost", "lost on the way"])
    expect(pending).to_have_count(0)
    attempts = [c for c in cutter.sent if c["text"] == "lost on the way"]
    assert len(attempts) == 2
    assert attempts[0]["cid"] == attempts[1]["cid"]

    # The other user got each message exactly once.
    send(alice, "done")
    bob.next("event", text="done")
    texts = [
        m["text"] for m in bob.inbox if m.get("type") == "event" and m.get("kind") == "message"
    ]
    assert texts == ["hello", "stored, ack lost", "lost on the way"]
    bob.close()


STORE_RULES = """
async () => {
  const { Store } = await import("/static/store.js");
  const { renderText } = await import("/static/richtext.js");
  const store = new Store();
  const rooms = [{ name: "r", kind: "public", seq: 3, member: true }];
  store.welcome({ user: { name: "me" }, rooms });
  const room = store.room("r");
  const event = (seq, kind, fields) =>
    store.event({ type: "event", room: "r", seq, kind, user: "you", ts: 1, ...fields });
  event(4, "message", { mid: 4, text: "a" });
  event(5, "message", { mid: 5, text: "b" });
  event(4, "message", { mid: 4, text: "a, again" }); // duplicates: dropped
  event(5, "message", { mid: 5, text: "b, again" });
  event(6, "message", { mid: 6, text: "c" });
  event(7, "edit", { mid: 5, text: "b, edited" });
  event(8, "delete", { mid: 4 });
  event(9, "edit", { mid: 2, text: "old, edited" }); // a message not loaded yet
  let gaps = 0;
  store.on("gap", () => (gaps += 1));
  event(11, "message", { mid: 11, text: "after a gap" }); // 10 is missing: refill, drop
  event(12, "message", { mid: 12, text: "after a gap too" });
  store.history(room, [
    { seq: 1, kind: "join", user: "you", ts: 0 },
    { seq: 2, kind: "message", user: "you", ts: 0, mid: 2, text: "old" },
    { seq: 3, kind: "edit", user: "you", ts: 0, mid: 2, text: "old, edited before" },
  ], false);
  const paragraph = (text) => renderText(text).firstChild;
  const links = (text) => [...paragraph(text).childNodes].map((node) => node.nodeName === "A"
    ? `<${node.getAttribute("href")}|${node.textContent}>`
    : node.textContent);
  return {
    items: room.items.map((i) => [i.seq, i.kind, i.text, i.edited, i.deleted]),
    unread: room.unread,
    gaps,
    range: [room.oldestSeq, room.lastSeq, room.hasMore],
    links: [
      links("see https://example.org/a."),
      links("(https://en.wikipedia.org/wiki/Foo_(bar))"),
      links("javascript:alert(1) http:// ftp://example.org <https://x.org>"),
    ],
  };
}
"""


def test_timeline_rules_duplicates_edits_of_unloaded_messages_and_links(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    """The page's own modules, run in the browser: what the timeline keeps, and what a link is."""
    server = server_factory("serve")
    page = open_chat(server).new()
    result = page.evaluate(STORE_RULES)
    assert result["items"] == [
        [1, "join", "", False, False],
        [2, "message", "old, edited", True, False],
        [4, "message", "", False, True],
        [5, "message", "b, edited", True, False],
        [6, "message", "c", False, False],
    ]
    assert result["unread"] == 3
    assert result["gaps"] == 1  # one refill asked for, however many events came after the gap
    assert result["range"] == [1, 9, False]
    assert result["links"] == [
        ["see ", "<https://example.org/a|https://example.org/a>", "."],
        [
            "(",
            "<https://en.wikipedia.org/wiki/Foo_(bar)|https://en.wikipedia.org/wiki/Foo_(bar)>",
            ")",
        ],
        ["javascript:alert(1) http:// ftp://example.org <", "<https://x.org/|https://x.org>", ">"],
    ]


def test_a_message_in_another_script_keeps_its_direction_and_cannot_reorder_its_neighbours(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    page = open_chat(server).signed_in("alice")
    arabic = "\u0645\u0631\u062d\u0628\u0627 hello \u200f!"  # Arabic, English, an RLM
    send(page, arabic)
    send(page, "after it")
    shown = message(page, arabic)
    expect(shown).to_be_visible()
    styles = shown.evaluate(
        """m => [getComputedStyle(m.querySelector('.text')).unicodeBidi,
                 getComputedStyle(m.querySelector('.author')).unicodeBidi]"""
    )
    assert styles == ["plaintext", "isolate"]
    # Laid out right to left: its first (Arabic) letter is at the right of its last one.
    first_x, last_x = shown.locator(".text").evaluate(
        """t => { const r = document.createRange(); const n = t.firstChild;
                  r.setStart(n, 0); r.setEnd(n, 1); const a = r.getBoundingClientRect().x;
                  r.setStart(n, n.length - 1); r.setEnd(n, n.length);
                  return [a, r.getBoundingClientRect().x]; }"""
    )
    assert first_x > last_x
    expect(messages(page)).to_have_text([arabic, "after it"])


def test_the_operator_archives_renames_and_deletes_a_room_and_the_page_follows(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    server = server_factory("serve")  # its database: tmp_path / "parley.db"
    page = open_chat(server).signed_in("alice", viewport=DESKTOP)
    carol = SyncChat(server.http_url, "carol")
    carol.command("create", room="plans")
    page.locator("#sidebar").get_by_role("link", name="lobby").first.wait_for()
    SyncChat(server.http_url, "alice", new=False).command("join", room="plans")
    open_room(page, "plans")
    send(page, "before the archive")
    expect(message(page, "before the archive")).to_be_visible()

    def operator(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "parley", "room", *args, "--db", str(tmp_path / "parley.db")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **TEST_ENV},
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr

    operator("archive", "plans")
    notices = page.locator("#messages .notice .notice-text")
    expect(notices.last).to_have_text(re.compile(r"^The room was archived"), timeout=30_000)
    box = composer(page)
    expect(box).to_be_disabled()
    expect(box).to_have_attribute("placeholder", "#plans is archived: it can be read, not written")
    expect(message(page, "before the archive")).to_be_visible()  # the history stays

    operator("unarchive", "plans")
    expect(notices.last).to_have_text(re.compile(r"^The room is open again"), timeout=30_000)
    expect(box).to_be_enabled()

    operator("rename", "plans", "roadmap")
    expect(notices.last).to_have_text(
        re.compile(r"^The room was renamed from #plans to #roadmap"), timeout=30_000
    )
    expect(page.locator("#room-name")).to_have_text("#roadmap")
    expect(page).to_have_url(re.compile(r"#roadmap$"))
    send(page, "under the new name")
    expect(message(page, "under the new name")).to_be_visible()
    expect(message(page, "under the new name").locator(".state")).to_have_count(0)  # acked

    operator("delete", "roadmap", "--yes")
    expect(page.locator("#toasts .toast").filter(has_text="#roadmap was deleted.")).to_be_visible(
        timeout=30_000
    )
    expect(page.locator("#room-name")).to_have_text("#lobby")
    expect(page.locator("#sidebar").get_by_role("link", name="roadmap")).to_have_count(0)


# -- history --------------------------------------------------------------------------------------


def test_scrolling_up_loads_older_history_and_new_messages_keep_the_view_pinned(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    # Seeding 500 messages at once is over the default rate limit (10 per second).
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    seeder = SyncChat(server.http_url, "seeder")
    texts = [f"message {i:03d}" for i in range(1, 501)]
    seeder.say("lobby", *texts)
    alice = open_chat(server).signed_in("alice", viewport=DESKTOP)

    # The newest page of history, scrolled to the bottom.
    expect(message(alice, "message 500")).to_be_in_viewport()

    # Scrolling to the top loads the page before it; what was on screen stays on screen.
    # (Scroll and read the top message in one step: a page may be arriving at any moment.)
    top, count = alice.locator("#timeline").evaluate(
        """timeline => {
            timeline.scrollTop = 0;
            const all = document.querySelectorAll("#messages .msg .text");
            return [all[0].textContent, all.length];
        }"""
    )
    expect(messages(alice)).not_to_have_count(count)
    expect(message(alice, top)).to_be_in_viewport()
    alice.locator("#timeline").hover()

    # Keep scrolling up until the beginning.
    beginning = alice.locator("#history-status")
    for _ in range(60):
        if "very beginning" in (beginning.text_content() or ""):
            break
        alice.mouse.wheel(0, -20_000)
        alice.wait_for_timeout(200)  # the pace of a user's scrolling; correctness is below
    expect(beginning).to_have_text("This is the very beginning of #lobby.")
    expect(messages(alice)).to_have_text(texts)  # all 500, each once, in order

    # Back at the bottom, a new message keeps the view pinned to it ...
    alice.mouse.wheel(0, 1_000_000)
    expect(message(alice, "message 500")).to_be_in_viewport()
    seeder.say("lobby", "live one")
    expect(message(alice, "live one")).to_be_in_viewport()
    # ... but not after scrolling up: then a "new messages" button appears.
    alice.mouse.wheel(0, -2000)
    expect(message(alice, "live one")).not_to_be_in_viewport()
    seeder.say("lobby", "live two")
    jump = alice.get_by_role("button", name="1 new message")
    expect(jump).to_be_visible()
    expect(message(alice, "live two")).to_be_attached()
    expect(message(alice, "live two")).not_to_be_in_viewport()
    jump.click()
    expect(message(alice, "live two")).to_be_in_viewport()
    expect(jump).to_be_hidden()
    seeder.close()


# -- layout, keyboard, themes ---------------------------------------------------------------------


def test_on_a_phone_the_room_list_and_the_member_list_are_drawers(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    carol = SyncChat(server.http_url, "carol")
    carol.command("create", room="design", topic="Colours and icons")
    alice = open_chat(server).signed_in("alice", viewport=PHONE, has_touch=True, is_mobile=True)
    rooms = alice.get_by_role("button", name="Rooms", exact=True)
    carol.command("invite", room="design", user="alice")
    # The drawer's button says there is a new room in it, then counts its messages.
    expect(alice.locator("#toasts")).to_contain_text("carol added you to #design")
    expect(rooms.locator(".badge")).to_have_text("new")
    carol.say("design", "welcome to design")

    sidebar = alice.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()
    expect(alice.locator("#members-panel")).to_be_hidden()
    expect(rooms.locator(".badge")).to_have_text("1")
    rooms.click()
    expect(sidebar).to_be_in_viewport()
    expect(sidebar.get_by_role("link", name="lobby")).to_be_focused()
    sidebar.get_by_role("link", name="design").click()
    expect(alice.locator("#room-name")).to_contain_text("design")
    expect(sidebar).not_to_be_in_viewport()
    expect(messages(alice)).to_have_text(["welcome to design"])

    alice.locator("#toggle-members").click()
    panel = alice.locator("#members-panel")
    expect(panel).to_be_visible()
    expect(member(alice, "carol")).to_have_class(ONLINE)
    alice.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    send(alice, "hello from my phone")
    expect(messages(alice)).to_have_text(["welcome to design", "hello from my phone"])
    carol.close()


WATCH_HEADING = """
() => {
  const heading = document.getElementById("members-heading");
  window.__headings = [heading.textContent];
  new MutationObserver(() => window.__headings.push(heading.textContent)).observe(
    heading, { childList: true, subtree: true, characterData: true });
}
"""

HEADING_LINES = """
() => {
  const heading = document.getElementById("members-heading");
  const lineHeight = parseFloat(getComputedStyle(heading).lineHeight);
  return heading.getBoundingClientRect().height / lineHeight;
}
"""

HEADING = re.compile(r"^(Members|Conversation) \d+ online$")


def test_the_member_panel_heading_keeps_one_format_on_one_line(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    alice = open_chat(server).signed_in("alice", viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    bob.command("create", room="design", topic="Colours")
    bob.command("invite", room="design", user="alice")
    bob.command("dm", user="alice")
    heading = alice.locator("#members-heading")
    expect(heading).to_have_text("Members 2 online")
    alice.evaluate(WATCH_HEADING)

    # Everything that redraws the header or the list (switching rooms, unread counts, a
    # topic, presence) leaves the heading in its one format.
    open_room(alice, "design")
    expect(heading).to_have_text("Members 2 online")
    bob.say("lobby", "an unread message")
    expect(alice.locator("#room-list .badge")).to_have_text("1")
    bob.command("topic", room="design", topic="Colours and icons")
    expect(alice.locator("#room-topic")).to_have_text("Colours and icons")
    open_room(alice, "bob")
    expect(heading).to_have_text("Conversation 2 online")
    texts = alice.evaluate("window.__headings")
    assert [text for text in texts if not HEADING.match(text)] == [], texts

    # One line, in the side panel of a wide screen and in the drawer of a narrow one.
    panel = alice.locator("#members-panel")
    for size in (DESKTOP, {"width": 1100, "height": 800}, {"width": 1000, "height": 800}, PHONE):
        alice.set_viewport_size(size)
        drawer = size["width"] < 1100
        if drawer:  # below 1100 px the panel is a drawer, closed when the screen narrows
            expect(panel).to_be_hidden()
            alice.locator("#toggle-members").click()
        expect(panel).to_be_visible()
        lines = alice.evaluate(HEADING_LINES)
        assert lines < 1.5, (size, lines)
        if drawer:
            alice.keyboard.press("Escape")
            expect(panel).to_be_hidden()
    bob.close()


def zone_where_it_is(hour: int) -> str:
    """A time zone in which it is ``hour`` o'clock now (``Etc/GMT-N`` is UTC+N)."""
    offset = (hour - datetime.datetime.now(datetime.UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}"


INK = """
(node) => {
  const range = document.createRange();
  range.selectNodeContents(node);
  const box = range.getBoundingClientRect();
  return { left: box.left, right: box.right, top: box.top, bottom: box.bottom };
}
"""


def test_on_a_phone_the_time_of_a_continuation_does_not_overlap_its_text(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    # 10 o'clock in a 12-hour locale: the widest times ("10:47 PM") are drawn.
    alice = open_chat(server).signed_in(
        "alice",
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        locale="en-US",
        timezone_id=zone_where_it_is(10),
    )
    send(alice, "first from a phone")
    send(alice, "sent from a phone")
    second = message(alice, "sent from a phone")
    expect(second).to_have_class(re.compile(r"\bcont\b"))
    # A tap shows a message's actions and its time; it is not taken by the actions bar that
    # floats over the message's right half (the tap's emulated hover once showed the bar
    # while the tap was hit-tested: it pressed "Add a reaction" about one time in two).
    second.tap()
    expect(alice.get_by_role("dialog", name="Pick a reaction")).to_be_hidden()
    gutter = second.locator(".gutter-time")
    expect(gutter).to_be_visible()
    expect(gutter).to_have_text(re.compile(r"^1\d:\d\d"))
    time_box = gutter.evaluate(INK)
    text_box = second.locator(".text").evaluate(INK)
    assert time_box["right"] <= text_box["left"], (time_box, text_box)
    assert time_box["left"] >= 0, time_box  # not cut off by the screen's edge either


def overlap(a: Locator, b: Locator) -> bool:
    box_a, box_b = a.bounding_box(), b.bounding_box()
    assert box_a is not None
    assert box_b is not None
    return not (
        box_a["x"] + box_a["width"] <= box_b["x"]
        or box_b["x"] + box_b["width"] <= box_a["x"]
        or box_a["y"] + box_a["height"] <= box_b["y"]
        or box_b["y"] + box_b["height"] <= box_a["y"]
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_toasts_never_cover_the_composer(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, viewport: dict[str, int]
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.new(viewport=viewport)
    to_page: list[WebSocketRoute] = []

    def route(page_side: WebSocketRoute) -> None:
        page_side.connect_to_server()  # frames pass through both ways
        to_page.append(page_side)

    page.context.route_web_socket(re.compile(r"/ws$"), route)
    sign_up(page, "alice")
    expect(page.locator("#room-name")).to_have_text("#lobby")
    # Errors the server might send (an error toast each): a full stack of them.
    for n in (1, 2, 3):
        frame = {"type": "error", "code": "internal", "message": f"Something failed ({n})."}
        to_page[-1].send(json.dumps(frame))
    toasts = page.locator("#toasts .toast")
    expect(toasts).to_have_count(3)
    for toast in toasts.all():
        expect(toast).to_be_visible()
        for target in ("#send", "#composer-text", "#room-name", "#toggle-members"):
            assert not overlap(toast, page.locator(target)), target
    send(page, "typed while the toasts are shown")
    expect(messages(page)).to_have_text(["typed while the toasts are shown"])
    # They are about the chat: signing out takes them away with it.
    if page.locator("#open-sidebar").is_visible():  # a phone: the button is in the drawer
        page.locator("#open-sidebar").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#auth")).to_be_visible()
    expect(toasts).to_have_count(0)


def test_keyboard_only_sign_in_chat_switch_rooms_and_dialogs(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    register(server.http_url, "alice")
    page = open_chat(server).new(viewport=DESKTOP)
    keyboard = page.keyboard
    expect(page.locator("#auth").get_by_label("User name")).to_be_focused()
    keyboard.type("alice")
    keyboard.press("Tab")
    expect(page.locator("#auth").get_by_label("Password")).to_be_focused()
    keyboard.type("correct horse battery")
    keyboard.press("Enter")
    expect(page.locator("#room-name")).to_have_text("#lobby")
    expect(composer(page)).to_be_focused()
    keyboard.type("typed, never clicked")
    keyboard.press("Enter")
    expect(messages(page)).to_have_text(["typed, never clicked"])
    expect(composer(page)).to_be_focused()

    # Shift+Tab walks back from the composer to my message's actions, shown when focused.
    mine = message(page, "typed, never clicked")
    keyboard.press("Shift+Tab")
    expect(mine.get_by_role("button", name="Delete message")).to_be_focused()
    keyboard.press("Shift+Tab")
    expect(mine.get_by_role("button", name="Edit message")).to_be_focused()
    assert mine.locator(".msg-actions").evaluate("a => getComputedStyle(a).opacity") == "1"
    keyboard.press("Enter")
    editor = page.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(composer(page)).to_be_focused()
    # Back past Delete, Edit, Pin, Reply in thread and React to the list itself.
    for _ in range(6):
        keyboard.press("Shift+Tab")
    expect(page.locator("#timeline")).to_be_focused()  # the list itself scrolls with the keys

    # Tab goes through the room list's buttons in reading order, with a visible focus ring.
    page.locator("#rooms-heading").click()  # where the next Tab starts from
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Browse public rooms")).to_be_focused()
    keyboard.press("Tab")
    create = page.get_by_role("button", name="Create a room")
    expect(create).to_be_focused()
    assert create.evaluate("b => getComputedStyle(b).outlineStyle") != "none"
    keyboard.press("Enter")
    dialog = page.locator("#create-dialog")
    expect(dialog.get_by_label("Name")).to_be_focused()
    keyboard.type("second")
    keyboard.press("Enter")
    expect(page.locator("#room-name")).to_have_text("#second")
    expect(composer(page)).to_be_focused()

    # Alt+↑ / Alt+↓ go through the rooms of the list.
    keyboard.press("Alt+ArrowUp")
    expect(page.locator("#room-name")).to_have_text("#lobby")
    keyboard.press("Alt+ArrowDown")
    expect(page.locator("#room-name")).to_have_text("#second")

    # Escape closes a dialog and gives the focus back to the button that opened it.
    browse = page.get_by_role("button", name="Browse public rooms")
    browse.focus()
    keyboard.press("Enter")
    expect(page.locator("#browse-dialog")).to_be_visible()
    expect(page.locator("#browse-dialog").get_by_label("Filter rooms")).to_be_focused()
    keyboard.press("Escape")
    expect(page.locator("#browse-dialog")).to_be_hidden()
    expect(browse).to_be_focused()
    # A room of the list is one Tab away from the filter, and Enter opens it.
    keyboard.press("Enter")
    keyboard.type("lobby")
    # The server filters (after a short pause in typing): Tab once the list shows the match.
    expect(page.locator("#browse-dialog .browse-row")).to_have_count(1)
    keyboard.press("Tab")
    expect(page.locator("#browse-dialog").get_by_role("button", name="Open #lobby")).to_be_focused()
    keyboard.press("Enter")
    expect(page.locator("#browse-dialog")).to_be_hidden()
    expect(page.locator("#room-name")).to_have_text("#lobby")


CONTRAST = """
(more) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const selectors = [".msg .text", ".msg .author", ".msg-time", ".you", ".notice-text",
    ".history-status", ".day span", "#room-name", "#room-topic", ".room-link",
    ".room-link.active", ".room-link .badge", ".group-head h2", "#me-name", "#me-status",
    ".member-name", ".composer-help", ".panel-actions button", ".members-button",
    ".panel-count", "#sign-out", ...(more || [])];
  const out = [];
  for (const s of selectors) {
    const el = document.querySelector(s);
    if (!el) { out.push([s, 0]); continue; }
    const fg = lum(parse(getComputedStyle(el).color));
    const bg = lum(background(el));
    out.push([s, (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)]);
  }
  return out;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa_in_both_themes(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, scheme: str
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP, color_scheme=scheme)
    bob = SyncChat(server.http_url, "bob")
    bob.command("create", room="other", topic="A topic")
    bob.command("invite", room="other", user="alice")
    bob.say("other", "unread")
    send(alice, "a message")
    bob.say("lobby", "a reply")
    expect(messages(alice)).to_have_text(["a message", "a reply"])
    expect(alice.locator(".room-link .badge")).to_have_text("1")
    ratios = alice.evaluate(CONTRAST)
    low = [(selector, round(ratio, 2)) for selector, ratio in ratios if ratio < 4.5]
    assert low == [], low
    bob.close()


# -- screenshots ----------------------------------------------------------------------------------


def test_screenshots_of_the_main_views(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    """Desktop and phone, light and dark; with PARLEY_UPDATE_SCREENSHOTS=1 the README's
    pictures (docs/screenshot-chat-*.png) are written from here."""
    server = server_factory("serve")
    chat = open_chat(server)
    signin = chat.new(viewport={"width": 1280, "height": 720})
    expect(signin.locator("#auth")).to_be_visible()
    save_screenshot(signin, tmp_path, "sign-in")

    register(server.http_url, "alice")
    bob = SyncChat(server.http_url, "bob")
    carol = SyncChat(server.http_url, "carol")
    dave = SyncChat(server.http_url, "dave")
    bob.command("create", room="release", topic="Parley 1.0 ships on Friday: checklist pinned")
    bob.command("create", room="design", topic="Colours, icons and the new logo")
    bob.command("create", room="ops", private=True, topic="Deploys and on-call")
    for room in ("release", "design", "ops"):
        bob.command("invite", room=room, user="alice")
    carol.command("join", room="release")
    dave.command("join", room="release")
    dave.close()
    bob.say("release", "Morning! The release branch is cut.")
    carol.say(
        "release",
        "Nice. I'm going through the checklist now: https://example.com/parley/checklist",
        "Docs are **done**, screenshots included.",
    )
    alice_tab = SyncChat(server.http_url, "alice", new=False)
    [_, review] = alice_tab.say(
        "release",
        "Great work, both of you. I'll run the load tests this afternoon.",
        "Can someone review the *reconnect* logic before we tag?\n"
        "It resumes every room from its last seen `seq`.",
    )
    alice_tab.close()
    acks = bob.say("release", "Numbers from yesterday: 2.1 M deliveries per second on fan-out")
    bob.command(
        "edit",
        room="release",
        mid=acks[0]["mid"],
        text="Numbers from yesterday: 2.15 M deliveries per second on fan-out",
    )
    carol.say("release", "On it. Looks solid so far.")
    # Formatting, a thread and reactions, as the README shows them.
    bob.command("react", room="release", mid=acks[0]["mid"], emoji="🚀")
    carol.command("react", room="release", mid=acks[0]["mid"], emoji="🚀")
    carol.command("react", room="release", mid=acks[0]["mid"], emoji="🎉")
    bob.command(
        "send",
        room="release",
        thread=review["mid"],
        cid="t1",
        text="I'll take it. The `resume` path looks right to me.",
    )
    carol.command(
        "send",
        room="release",
        thread=review["mid"],
        cid="t2",
        text="> every room from its last seen seq\n\nand the tests drop it **mid-send**",
    )
    bob.say(
        "design", "New logo drafts are up", "Which one do you like?", "I vote for the round one"
    )
    carol.say("lobby", "Welcome, everyone!")
    bob_dm = bob.command("dm", user="alice")["room"]["name"]
    bob.say(bob_dm, "Lunch at noon?")
    carol.command("dm", user="alice")

    desktop = chat.signed_in("alice", new=False, viewport=DESKTOP)
    open_room(desktop, "release")
    expect(messages(desktop)).to_have_count(7)
    bob.typing("release")
    expect(desktop.locator("#typing")).to_have_text("bob is typing…")
    expect(member(desktop, "carol")).to_have_class(ONLINE)
    expect(desktop.locator('.reaction[data-emoji="🚀"] .reaction-count')).to_have_text("2")
    message(
        desktop,
        "Can someone review the reconnect logic before we tag?\n"
        "It resumes every room from its last seen seq.",
    ).locator(".thread-summary").click()
    expect(desktop.locator("#thread-panel .thread-replies .msg")).to_have_count(2)
    desktop.mouse.move(0, 0)  # no message hovered: its menu hidden
    save_screenshot(desktop, tmp_path, "chat-desktop", publish=True)

    phone = chat.signed_in("alice", new=False, viewport=PHONE, has_touch=True, is_mobile=True)
    open_room(phone, "release")
    expect(messages(phone)).to_have_count(7)
    expect(phone.locator("#sidebar")).not_to_be_in_viewport()
    save_screenshot(phone, tmp_path, "chat-phone", publish=True)
    phone.get_by_role("button", name="Rooms", exact=True).click()
    expect(phone.locator("#sidebar")).to_be_in_viewport()
    save_screenshot(phone, tmp_path, "chat-phone-rooms")

    dark = chat.signed_in("alice", new=False, viewport=DESKTOP, color_scheme="dark")
    open_room(dark, "release")
    expect(messages(dark)).to_have_count(7)
    save_screenshot(dark, tmp_path, "chat-dark", publish=True)
    dark_phone = chat.signed_in(
        "alice", new=False, viewport=PHONE, color_scheme="dark", has_touch=True, is_mobile=True
    )
    open_room(dark_phone, "release")
    expect(messages(dark_phone)).to_have_count(7)
    expect(dark_phone.locator("#sidebar")).not_to_be_in_viewport()
    save_screenshot(dark_phone, tmp_path, "chat-phone-dark")
    for client in (bob, carol):
        client.close()
