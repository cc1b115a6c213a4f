"""Threads, reactions, pins and edit history in the browser (issue 17), as a person uses them:
with the mouse and with the keyboard, in the light theme on a desktop and in the dark theme
at phone width. The other person is a ``SyncChat`` (parley.v1 outside the browser)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chatpage import (
    OpenChat,
    SyncChat,
    composer,
    message,
    open_room,
    save_screenshot,
    send,
)
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LAYOUTS = {
    "desktop-light": {"viewport": DESKTOP, "color_scheme": "light"},
    "phone-dark": {"viewport": PHONE, "color_scheme": "dark"},
}


def action(page: Page, msg: Locator, name: str) -> Locator:
    """A button of a message's menu, shown (hover on a desktop, a tap on a phone)."""
    msg.hover()
    msg.click(position={"x": 60, "y": 10})
    return msg.locator(".msg-actions").get_by_role("button", name=name)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_person_replies_in_a_thread_reacts_pins_and_reads_an_edit_history(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path, layout: str
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = chat.signed_in("alice", **LAYOUTS[layout])
    bob = SyncChat(server.http_url, "bob")
    open_room(page, "lobby")

    # -- a thread: bob's question gets a reply; the count under it opens the panel ----------------
    [root] = bob.say("lobby", "Which **release** do we ship?")
    bob.command("send", room="lobby", text="the `2.1` one, I think", thread=root["mid"], cid="b1")
    question = message(page, "Which release do we ship?")
    expect(question.locator("strong")).to_have_text("release")
    summary = question.locator(".thread-summary")
    expect(summary).to_contain_text("1 reply")
    # The reply stays in its thread: not in the room's timeline.
    expect(page.locator("#messages .msg")).to_have_count(1)
    summary.click()
    panel = page.locator("#thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".thread-root-msg .text")).to_have_text("Which release do we ship?")
    expect(panel.locator(".thread-replies .msg .text code")).to_have_text("2.1")
    box = panel.get_by_role("textbox", name="Reply")
    expect(box).to_be_focused()
    box.fill("Agreed: *2.1* it is")
    panel.get_by_label("Also send to #lobby").check()
    box.press("Enter")
    sent = bob.next("event", kind="message", user="alice")
    assert (sent["text"], sent["thread"], sent["broadcast"]) == (
        "Agreed: *2.1* it is",
        root["mid"],
        True,
    )
    expect(panel.locator(".thread-replies .msg")).to_have_count(2)
    expect(panel.locator(".thread-replies .msg").last.locator("em")).to_have_text("2.1")
    # Sent to the room too: it is in the timeline, and the root counts two replies.
    expect(message(page, "Agreed: 2.1 it is")).to_be_visible()
    expect(summary).to_contain_text("2 replies")
    expect(panel.get_by_role("button", name="Unfollow")).to_be_visible()
    # My reply can be edited in the panel (the copy in the room follows).
    agreed = panel.locator(".thread-replies .msg").nth(1)
    action(page, agreed, "Edit message").click()
    editor = panel.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    editor.fill("Agreed: **2.1** it is")
    editor.press("Enter")
    expect(agreed.locator("strong")).to_have_text("2.1")
    expect(agreed.get_by_role("button", name="Edited: show the edit history")).to_be_visible()
    expect(message(page, "Agreed: 2.1 it is").locator("strong")).to_have_text("2.1")
    expect(box).to_be_focused()
    # A reply of mine can be deleted from the panel (after a confirmation).
    confirm_box = page.locator("#confirm-dialog")
    box.fill("a typo, to delete")
    box.press("Enter")
    typo = panel.locator(".thread-replies .msg").filter(has_text="a typo, to delete")
    typo = panel.locator(f'.thread-replies .msg[data-mid="{typo.get_attribute("data-mid")}"]')
    action(page, typo, "Delete reply").click()
    expect(confirm_box).to_be_visible()
    confirm_box.locator("#confirm-yes").click()
    expect(typo.locator(".text.deleted")).to_have_text("This reply was deleted.")
    expect(summary).to_contain_text("2 replies")
    # Escape closes the panel.
    box.press("Escape")
    expect(panel).to_be_hidden()

    # A reply to a thread alice follows shows in her Threads list, unread.
    bob.command("send", room="lobby", text="shipping now", thread=root["mid"], cid="b2")
    threads_button = page.locator("#open-threads")
    expect(threads_button).to_have_attribute("aria-label", "Threads, 1 unread")
    threads_button.click()
    followed = page.locator("#threads-dialog .followed-thread")
    expect(followed).to_have_count(1)
    expect(followed).to_have_class(re.compile(r"\bunread\b"))
    expect(followed.locator(".thread-meta")).to_contain_text("3 replies")
    followed.get_by_role("button").click()
    # Three replies, and the deleted one shown as deleted (as the timeline shows them).
    expect(panel.locator(".thread-replies .msg")).to_have_count(4)
    expect(panel.locator(".thread-replies .text.deleted")).to_have_count(1)
    expect(threads_button).to_have_attribute("aria-label", "Threads")
    panel.get_by_role("button", name="Close the thread").click()
    expect(panel).to_be_hidden()

    # -- reactions: with the keyboard, through the picker's search --------------------------
    react = action(page, question, "Add a reaction")
    react.focus()
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Pick a reaction")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    page.keyboard.type("thumbs up")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    reacted = bob.next("event", kind="reaction", user="alice")
    assert (reacted["mid"], reacted["emoji"], reacted["count"]) == (root["mid"], "👍", 1)
    thumbs = question.locator('.reaction[data-emoji="👍"]')
    expect(thumbs).to_have_attribute("aria-pressed", "true")
    bob.command("react", room="lobby", mid=root["mid"], emoji="👍")
    bob.command("react", room="lobby", mid=root["mid"], emoji="🎉")
    expect(thumbs.locator(".reaction-count")).to_have_text("2")
    expect(thumbs).to_have_attribute("aria-label", re.compile(r"^👍 2: you and bob"))
    # The names show on keyboard focus, not only on hover.
    thumbs.focus()
    expect(thumbs.locator(".reaction-who")).to_be_visible()
    expect(thumbs.locator(".reaction-who")).to_have_text("you and bob")
    # Pressing mine takes it away; pressing bob's 🎉 adds mine.
    thumbs.press("Enter")
    expect(thumbs.locator(".reaction-count")).to_have_text("1")
    expect(thumbs).to_have_attribute("aria-pressed", "false")
    expect(thumbs).to_be_focused()  # the message was drawn again: the focus stayed on it
    question.locator('.reaction[data-emoji="🎉"]').click()
    expect(question.locator('.reaction[data-emoji="🎉"] .reaction-count')).to_have_text("2")
    # The picker remembers what I used last.
    question.get_by_role("button", name="Add a reaction").first.click()
    expect(picker.locator(".picker-recent .picker-emoji").first).to_have_attribute(
        "data-emoji", "👍"
    )
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()

    # -- a formatted message of mine, pinned, edited, and its history ------------------------------
    send(page, "Release notes: **bold** and `code`")
    mine = message(page, "Release notes: bold and code")
    expect(mine.locator("strong")).to_have_text("bold")
    action(page, mine, "Pin message").click()
    expect(mine.locator(".pinned-mark")).to_be_visible()
    page.locator("#open-pins").click()
    pins = page.locator("#pins-dialog")
    expect(pins.locator(".pin")).to_have_count(1)
    expect(pins.locator(".pin .text")).to_have_text("Release notes: bold and code")
    pins.get_by_role("button", name="Close").click()
    sent_mine = bob.next(
        "event", kind="message", user="alice", text="Release notes: **bold** and `code`"
    )
    bob_sees_edit = "Release notes: **bold**, `code` and ~~typos~~"
    composer(page).press("ArrowUp")
    edit_box = page.get_by_role("textbox", name="Edit message")
    edit_box.fill(bob_sees_edit)
    edit_box.press("Enter")
    edited = message(page, "Release notes: bold, code and typos")
    expect(edited.locator("s")).to_have_text("typos")
    edited.get_by_role("button", name="Edited: show the edit history").click()
    history = page.locator("#versions-dialog")
    expect(history.locator(".version")).to_have_count(2)
    expect(history.locator(".version .text")).to_have_text(
        ["Release notes: bold and code", "Release notes: bold, code and typos"]
    )
    expect(history.locator(".version").last.locator("s")).to_have_text("typos")
    assert bob.next("event", kind="edit", mid=sent_mine["mid"])["text"] == bob_sees_edit
    save_screenshot(page, tmp_path, f"issue17-{layout}")
    history.get_by_role("button", name="Close").click()
    # Nothing overflows sideways at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]  # type: ignore[index]
    bob.close()


def test_refusals_are_shown_never_dropped(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    """bob may not pin alice's message: the server says no, and the page says why."""
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    page = chat.signed_in("bob", viewport=DESKTOP)
    open_room(page, "lobby")
    alice.say("lobby", "not yours to pin")
    msg = message(page, "not yours to pin")
    action(page, msg, "Pin message").click()
    expect(page.locator("#toasts")).to_contain_text("Could not pin the message")
    expect(msg.locator(".pinned-mark")).to_have_count(0)
    alice.close()


STORE_RULES = """
async () => {
  const { Store } = await import("/static/store.js");
  const store = new Store();
  const rooms = [{ name: "r", kind: "public", seq: 0, member: true }];
  store.welcome({ user: { name: "me" }, rooms });
  const room = store.room("r");
  const threads = [];
  store.on("thread", ({ kind, item }) => threads.push([kind, item.mid]));
  const event = (seq, kind, fields) =>
    store.event({ type: "event", room: "r", seq, kind, user: "you", ts: 1, ...fields });
  event(1, "message", { mid: 1, text: "root" });
  const summary = { replies: 1, last_reply_ts: 5, repliers: ["you"] };
  event(2, "message", { mid: 2, text: "in the thread", thread: 1, ...summary });
  event(3, "message", { mid: 3, text: "to the room too", thread: 1, broadcast: true,
                        replies: 2, last_reply_ts: 6, repliers: ["you"] });
  event(4, "reaction", { mid: 2, emoji: "👍", count: 1 });
  event(5, "reaction", { mid: 1, emoji: "🎉", count: 1 });
  store.event({ type: "event", room: "r", seq: 6, kind: "reaction", user: "me", ts: 1,
                mid: 1, emoji: "🎉", count: 2 });
  store.event({ type: "event", room: "r", seq: 7, kind: "reaction", user: "you", ts: 1,
                mid: 1, emoji: "🎉", count: 1, removed: true });
  event(8, "pin", { mid: 1 });
  event(9, "edit", { mid: 2, text: "in the thread, edited" });
  event(10, "delete", { mid: 3, thread: 1, replies: 1, last_reply_ts: 5, repliers: ["you"] });
  const root = room.byMid.get(1);
  return {
    timeline: room.items.map((i) => [i.mid, i.text, i.deleted]),
    unread: room.unread,
    root: [root.replies, root.lastReplyTs, root.pinned, root.reactions],
    reply: [room.replies.get(2).text, room.replies.get(2).reactions],
    threads,
  };
}
"""


def test_the_page_keeps_replies_in_their_thread_and_applies_reactions_and_pins(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    """The page's store, run in the browser: a reply stays out of the room's timeline (and its
    unread count) unless broadcast; the root's summary, reactions and pin follow the events."""
    page = open_chat(server_factory("serve")).new()
    result = page.evaluate(STORE_RULES)
    assert result["timeline"] == [[1, "root", False], [3, "", True]]
    assert (
        result["unread"] == 2
    )  # the root and the broadcast reply (deleted since: the server recounts)
    assert result["root"] == [1, 5, 8, [{"emoji": "🎉", "count": 1, "users": ["me"]}]]
    assert result["reply"] == [
        "in the thread, edited",
        [{"emoji": "👍", "count": 1, "users": ["you"]}],
    ]
    assert ["reply", 2] in result["threads"]
    assert ["reply", 3] in result["threads"]
    assert ["update", 2] in result["threads"]
