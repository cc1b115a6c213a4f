"""Mentions in the browser: the badge apart from the unread count, the highlight, the title,
and ``@`` completing the room's members; the counts follow edits that retract a mention."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.chatpage import (
    ChatPages,
    OpenChat,
    SyncChat,
    composer,
    message,
    open_room,
    send,
)
from tests.helpers.chat import PASSWORD
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


def test_a_mention_has_its_own_badge_is_highlighted_and_completed(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    alice.command("create", room="side")
    page = chat.signed_in("alice", new=False, viewport=DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    open_room(page, "side")

    # Away from the lobby: one mention and one plain message.
    [mention, _] = bob.say("lobby", "hey @Alice, look", "plain words")
    lobby = page.locator("#sidebar").get_by_role("link", name="lobby")
    expect(lobby).to_have_attribute("aria-label", "lobby, 1 mentioning you, 2 unread")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    expect(lobby.locator(".badge:not(.mention-badge)")).to_have_text("2")
    expect(page).to_have_title("(@1) (2) #side · Parley")

    # Opened: the message that mentions me stands out, and the name in it.
    open_room(page, "lobby")
    expect(message(page, "hey @Alice, look")).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(message(page, "hey @Alice, look").locator(".mention.me")).to_have_text("@Alice")
    expect(message(page, "plain words")).not_to_have_class(re.compile(r"\bmentions-me\b"))
    expect(lobby.locator(".badge")).to_have_count(0)
    expect(page).to_have_title("#lobby · Parley")

    # `@` suggests the room's members (not me) and @room; Tab takes the first.
    box = composer(page)
    box.click()
    page.keyboard.insert_text("thanks @b")
    suggestions = page.locator("#mention-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_text(["@bob"])
    box.press("Tab")
    expect(suggestions).to_be_hidden()
    expect(box).to_have_value("thanks @bob ")
    page.keyboard.insert_text("too")
    box.press("Enter")
    said = bob.next("event", kind="message", user="alice")
    assert (said["text"], said["mentions"]) == ("thanks @bob too", ["bob"])
    # Escape closes the list; an address is not a mention.
    page.keyboard.insert_text("@")
    expect(suggestions.get_by_role("option")).to_have_text(["@bob", "@room — everyone here"])
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    box.fill("")
    send(page, "mail me at alice@example.com")
    mailed = bob.next("event", kind="message", text="mail me at alice@example.com")
    assert "mentions" not in mailed

    # An edit that removes the mention takes the badge away; one that adds it brings it back.
    open_room(page, "side")
    [again] = bob.say("lobby", "@alice again")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    bob.command("edit", room="lobby", mid=again["mid"], text="again")
    expect(lobby.locator(".mention-badge")).to_have_count(0)
    expect(lobby.locator(".badge")).to_have_text("1")
    bob.command("edit", room="lobby", mid=again["mid"], text="again, @alice")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    # A reload agrees with what the page counted.
    page.reload()
    expect(lobby.locator(".mention-badge")).to_have_text("@1")
    assert mention["mid"] < again["mid"]
    alice.close()
    bob.close()


# A wrapper around the page's Notification: every notification made is recorded (and still
# made), so a test can count them, read them, and click one as the system would.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notes = [];
  window.__asked = 0;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options.body, tag: options.tag, note: this });
    }
    static requestPermission(...args) {
      window.__asked += 1;
      return Real.requestPermission(...args);
    }
    static get permission() {
      return Real.permission;
    }
  }
  window.Notification = Recorded;
})();
"""


def notified_page(chat: ChatPages, user: str, *, new: bool = False) -> Page:
    """A page of ``user`` (registered first if ``new``) whose notifications are granted and
    recorded (``notes``), its chat shown."""
    page = chat.signed_in(user, new=new, viewport=DESKTOP)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    page.context.grant_permissions(["notifications"], origin=chat.base_url)
    page.reload()
    expect(page.locator("#chat")).to_be_visible()
    return page


def notified_tabs(chat: ChatPages, user: str) -> tuple[Page, Page]:
    """Two tabs of one browser as :func:`notified_page`, both showing #side (not the lobby)."""
    first = notified_page(chat, user)
    second = first.context.new_page()
    chat.console[second] = []
    second.goto(chat.base_url + "/#side")
    expect(second.locator("#chat")).to_be_visible()
    for page in (first, second):
        open_room(page, "side")
    return first, second


def notes(page: Page) -> list[dict[str, str]]:
    result: list[dict[str, str]] = page.evaluate(
        "(window.__notes || []).map(({ title, body, tag }) => ({ title, body, tag }))"
    )
    return result


def test_desktop_notifications_follow_the_level_once_per_message_across_tabs(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    alice.command("create", room="side")
    alice.close()
    bob = SyncChat(server.http_url, "bob")

    # Never asked on page load: the control asks, and only when pressed.
    asking = chat.new(viewport=DESKTOP)
    asking.context.add_init_script(RECORD_NOTIFICATIONS)
    asking.context.request.post(
        chat.base_url + "/api/login", data={"username": "alice", "password": PASSWORD}
    )
    asking.reload()
    expect(asking.locator("#chat")).to_be_visible()
    offer = asking.get_by_role("button", name="Enable desktop notifications")
    expect(offer).to_be_visible()
    assert asking.evaluate("window.__asked") == 0
    asking.context.close()

    # Two tabs of one browser, with the permission granted.
    first, second = notified_tabs(chat, "alice")
    for page in (first, second):
        expect(page.get_by_role("button", name="Enable desktop notifications")).to_be_hidden()

    # A mention in another room: one notification, whichever tab shows it.
    [mention] = bob.say("lobby", "@alice lunch?")
    tag = f"lobby:{mention['mid']}"
    expect(first.locator("#sidebar .mention-badge")).to_have_text("@1")
    expect(second.locator("#sidebar .mention-badge")).to_have_text("@1")
    expect_notes(first, second, 1)
    shown = notes(first) + notes(second)
    assert [(n["title"], n["body"], n["tag"]) for n in shown] == [
        ("bob mentioned you in #lobby", "@alice lunch?", tag)
    ]
    # A plain message at the default level (mentions and direct messages): nothing.
    bob.say("lobby", "plain words")
    expect(first.locator("#sidebar .badge:not(.mention-badge)")).to_have_text("2")
    # A direct message: yes.
    bob.command("dm", user="alice")
    [direct] = bob.say("dm:alice:bob", "psst")
    expect_notes(first, second, 2)
    assert sorted(n["title"] for n in notes(first) + notes(second)) == [
        "bob",
        "bob mentioned you in #lobby",
    ]

    # Level "all" set in one tab: the other follows, and a plain message notifies.
    open_room(first, "lobby")
    first.get_by_label("Notify me about").select_option("all")
    open_room(first, "side")
    open_room(second, "lobby")
    expect(second.get_by_label("Notify me about")).to_have_value("all")
    open_room(second, "side")
    bob.say("lobby", "anyone?")
    expect_notes(first, second, 3)
    assert "bob in #lobby" in [n["title"] for n in notes(first) + notes(second)]
    # Muted: nothing, whatever the level.
    open_room(first, "lobby")
    first.get_by_label("Mute").select_option("3600000")
    expect(first.get_by_label("Mute")).to_have_value("until")
    open_room(first, "side")
    bob.say("lobby", "@alice muted?")
    lobby = first.locator("#sidebar").get_by_role("link", name="lobby")
    expect(lobby.locator(".mention-badge")).to_have_text("@1")  # counted, not notified
    first.wait_for_timeout(700)
    assert len(notes(first) + notes(second)) == 3
    # The room open and the page visible: no notification for it.
    open_room(first, "lobby")
    first.get_by_label("Mute").select_option("0")
    open_room(second, "lobby")
    bob.say("lobby", "seen here")
    expect(message(first, "seen here")).to_be_visible()
    first.wait_for_timeout(700)
    assert len(notes(first) + notes(second)) == 3

    # Clicking a notification opens its room at the message.
    open_room(first, "side")
    index = 0 if notes(first) and notes(first)[0]["tag"] == tag else None
    page = first if index is not None else second
    if index is None:
        index = [n["tag"] for n in notes(second)].index(tag)
    open_room(page, "side")
    page.evaluate(f"window.__notes[{index}].note.dispatchEvent(new Event('click'))")
    expect(page.locator("#room-name")).to_contain_text("lobby")
    expect(message(page, "@alice lunch?")).to_be_in_viewport()
    assert direct["mid"] > mention["mid"]
    bob.close()


def expect_notes(first: Page, second: Page, count: int) -> None:
    """Wait until the two tabs together made ``count`` notifications, then check none more
    come within half a second."""
    for _ in range(100):
        if len(notes(first) + notes(second)) >= count:
            break
        first.wait_for_timeout(100)
    first.wait_for_timeout(500)
    assert len(notes(first) + notes(second)) == count, notes(first) + notes(second)


def test_email_settings_are_read_and_saved_from_the_page(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.signed_in("dora", viewport=DESKTOP)
    page.get_by_role("button", name="Email notifications…").click()
    dialog = page.locator("#email-dialog")
    expect(dialog.get_by_label("Email address")).to_have_value("")
    expect(dialog.get_by_label("Email me about what I miss")).to_be_checked()
    dialog.get_by_label("Email address").fill("dora@mail <x>")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#email-error")).to_have_text(
        "That is not an email address Parley can use."
    )
    dialog.get_by_label("Email address").fill("dora@mail.test")
    dialog.get_by_label("Email me about what I miss").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    page.reload()
    page.get_by_role("button", name="Email notifications…").click()
    expect(dialog.get_by_label("Email address")).to_have_value("dora@mail.test")
    expect(dialog.get_by_label("Email me about what I miss")).not_to_be_checked()
