"""Followed threads in the browser, as the server says them: the thread panel's Follow button
(from ``history``'s ``following`` and the ``follow`` notices, in every tab, also when a reply
made one follow), and desktop notifications for replies in followed threads by the room's
level, once across tabs, a click opening the thread at the reply."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.chatpage import OpenChat, SyncChat, message, open_room
from tests.browser.test_mentions import expect_notes, notes, notified_page, notified_tabs
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}


def open_thread(page: Page, root_text: str) -> Locator:
    """Open the thread of the timeline's message ``root_text`` from its reply count."""
    open_room(page, "lobby")
    message(page, root_text).locator(".thread-summary").click()
    panel = page.locator("#thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".thread-root-msg .text")).to_have_text(root_text)
    return panel


def follow_button(panel: Locator, label: str) -> None:
    """The panel's button says ``label`` ("Follow" or "Unfollow"), and only that."""
    button = panel.locator(".panel-head").get_by_role("button", name=label, exact=True)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "true" if label == "Unfollow" else "false")


def test_the_follow_button_says_what_the_server_says_in_every_tab(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    first = chat.signed_in("alice", viewport=DESKTOP)
    second = first.context.new_page()
    chat.console[second] = []
    second.goto(chat.base_url + "/#lobby")
    expect(second.locator("#chat")).to_be_visible()
    bob = SyncChat(server.http_url, "bob")
    [root] = bob.say("lobby", "plans for friday?")
    bob.command("send", room="lobby", text="a draft", thread=root["mid"])
    panels = [open_thread(page, "plans for friday?") for page in (first, second)]
    for panel in panels:
        follow_button(panel, "Follow")  # neither the root's author nor a replier
    # A mention makes alice follow: both tabs hear it from the server.
    bob.command("send", room="lobby", text="@alice your view?", thread=root["mid"])
    for panel in panels:
        follow_button(panel, "Unfollow")
    panels[0].locator(".panel-head").get_by_role("button", name="Unfollow").click()
    for panel in panels:
        follow_button(panel, "Follow")
    # Her own reply makes her follow again, in the other tab too.
    box = panels[0].get_by_role("textbox", name="Reply")
    box.fill("friday works")
    box.press("Enter")
    expect(
        panels[1].locator(".thread-replies .msg").filter(has_text="friday works")
    ).to_be_visible()
    for panel in panels:
        follow_button(panel, "Unfollow")
    # Unfollowed after replying: reopened, and after a reload, the panel says Follow (she is
    # among the repliers, which is no longer taken for following).
    panels[1].locator(".panel-head").get_by_role("button", name="Unfollow").click()
    for panel in panels:
        follow_button(panel, "Follow")
    box.press("Escape")
    expect(panels[0]).to_be_hidden()
    follow_button(open_thread(first, "plans for friday?"), "Follow")
    second.reload()
    expect(second.locator("#chat")).to_be_visible()
    follow_button(open_thread(second, "plans for friday?"), "Follow")
    # Her own message, with no reply yet: she follows it from the start; Follow and Unfollow
    # from the panel are the server's.
    alice = SyncChat(server.http_url, "alice", new=False)
    [own] = alice.say("lobby", "my own question")
    alice.command("send", room="lobby", text="answer", thread=own["mid"])
    panel = open_thread(first, "my own question")
    follow_button(panel, "Unfollow")
    panel.locator(".panel-head").get_by_role("button", name="Unfollow").click()
    follow_button(panel, "Follow")
    assert alice.next("follow", thread=own["mid"])["following"] is False
    # Followed again while the page was offline: the notice is lost, the reconnection asks.
    first.context.set_offline(True)
    expect(first.locator("#banner-text")).to_have_text(
        "You are offline. Parley reconnects when the network is back."
    )
    alice.command("follow", room="lobby", mid=own["mid"])
    follow_button(panel, "Follow")
    first.context.set_offline(False)
    expect(first.locator("#banner")).to_be_hidden()
    follow_button(panel, "Unfollow")
    bob.close()
    alice.close()


def test_a_reply_in_a_followed_thread_notifies_by_the_level_once_and_opens_the_thread(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    alice.command("create", room="side")
    bob = SyncChat(server.http_url, "bob")
    [followed] = bob.say("lobby", "the followed one")
    [other] = bob.say("lobby", "someone else's")
    # Followed before the pages load: they know it only by asking the server.
    alice.command("follow", room="lobby", mid=followed["mid"])

    first, second = notified_tabs(chat, "alice")

    def reply(root: dict[str, object], text: str, **fields: object) -> dict[str, object]:
        return bob.command("send", room="lobby", text=text, thread=root["mid"], **fields)

    def shown() -> dict[str, str]:
        """tag → title of every notification made, in either tab."""
        return {n["tag"]: n["title"] for n in notes(first) + notes(second)}

    # Level "mentions" (the default): a plain reply in a followed thread says nothing; one
    # that mentions her does.
    reply(followed, "plain words")
    mention = reply(followed, "@alice look")
    expect_notes(first, second, 1)
    assert shown() == {f"lobby:{mention['mid']}": "bob mentioned you in #lobby"}
    # Level "all" (set in another client: the tabs follow it): every reply in a followed
    # thread, once across the tabs; none in a thread she does not follow.
    alice.command("notify", room="lobby", level="all")
    open_room(first, "lobby")
    expect(first.get_by_label("Notify me about")).to_have_value("all")
    open_room(first, "side")
    reply(other, "not hers")
    news = reply(followed, "all hands")
    expect_notes(first, second, 2)
    assert shown()[f"lobby:{news['mid']}"] == "bob replied in a thread in #lobby"
    # "none", then muted: never.
    alice.command("notify", room="lobby", level="none")
    reply(followed, "@alice and now?")
    alice.command("notify", room="lobby", level="all", until=4_102_444_800_000)
    reply(followed, "muted words")
    alice.command("notify", room="lobby", level="all")
    last = reply(followed, "heard again")
    expect_notes(first, second, 3)
    assert f"lobby:{last['mid']}" in shown()
    # Unfollowed (in another client): silent again at "all".
    alice.command("unfollow", room="lobby", mid=followed["mid"])
    reply(followed, "after unfollow")
    broadcast = reply(followed, "to everyone", broadcast=True)  # the room's: notifies
    expect_notes(first, second, 4)
    assert shown()[f"lobby:{broadcast['mid']}"] == "bob in #lobby"

    # Clicking the notification of a reply opens its thread at the reply.
    page = first if any(n["tag"] == f"lobby:{news['mid']}" for n in notes(first)) else second
    index = [n["tag"] for n in notes(page)].index(f"lobby:{news['mid']}")
    page.evaluate(f"window.__notes[{index}].note.dispatchEvent(new Event('click'))")
    expect(page.locator("#room-name")).to_contain_text("lobby")
    panel = page.locator("#thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".thread-root-msg .text")).to_have_text("the followed one")
    shown = panel.locator(f'.thread-replies .msg[data-seq="{news["seq"]}"]')
    expect(shown).to_be_focused()
    expect(shown).to_be_in_viewport()
    bob.close()
    alice.close()


def test_a_reply_notifies_while_its_room_is_open_unless_its_thread_is_shown(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    """A reply shown only in its thread is not in the room's timeline: with the room open (and
    the page visible) it still notifies a follower; with that thread open in the panel it
    does not, and with another thread open it does again."""
    server = server_factory("serve")
    chat = open_chat(server)
    alice = SyncChat(server.http_url, "alice")
    bob = SyncChat(server.http_url, "bob")
    [followed] = bob.say("lobby", "the followed one")
    [second] = bob.say("lobby", "the second one")
    for root in (followed, second):
        alice.command("follow", room="lobby", mid=root["mid"])
        bob.command("send", room="lobby", text="first reply", thread=root["mid"])
    alice.command("notify", room="lobby", level="all")

    page = notified_page(chat, "alice")
    open_room(page, "lobby")
    assert page.evaluate("document.visibilityState") == "visible"

    def reply(root: dict[str, object], text: str) -> str:
        sent = bob.command("send", room="lobby", text=text, thread=root["mid"])
        return f"lobby:{sent['mid']}"

    def tags_after(count: int) -> list[str]:
        """The tags of the page's notifications once it made ``count``, and no more came
        within half a second."""
        for _ in range(100):
            if len(notes(page)) >= count:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(500)
        tags = [note["tag"] for note in notes(page)]
        assert len(tags) == count, tags
        return tags

    # The room is open, the thread is not: the reply is nowhere on screen, so it notifies.
    unseen = reply(followed, "while the room is open")
    assert tags_after(1) == [unseen]
    # That thread open in the panel: the reply appears there, no notification.
    panel = open_thread(page, "the followed one")
    reply(followed, "while the thread is open")
    expect(panel.locator(".thread-replies .msg .text").last).to_have_text(
        "while the thread is open"
    )
    assert tags_after(1) == [unseen]
    # Another thread open: a reply in the first one notifies again.
    open_thread(page, "the second one")
    again = reply(followed, "while another thread is open")
    assert tags_after(2) == [unseen, again]
    bob.close()
    alice.close()
