"""The /admin page in a real browser: every operation, with the keyboard, at phone width, and
who may open it; and accepting invitations: a new person registers through a link and lands
in its rooms, a used, expired or revoked link is refused in words."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.broker.redis_support import PrivateRedis
from tests.browser.chatpage import ChatPages, OpenChat, SyncChat, save_screenshot
from tests.conftest import TEST_ENV
from tests.helpers.chat import PASSWORD, http_json, login, register
from tests.helpers.process import ServerProcess
from tests.store.conftest import postgres_database

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
NEW_PASSWORD = "another long secret"
#: Refusals the page shows in words (the browser logs each 4xx as a console error).
ANSWERED = ("/api/admin/users/password", "/api/invites/check", "/api/register")


def expect_answers(chat: ChatPages) -> None:
    chat.form_answers += tuple(chat.base_url + path for path in ANSWERED)


def press(page: Page, name: str) -> None:
    """Activate a button with the keyboard: focus it, press Enter."""
    page.get_by_role("button", name=name, exact=True).focus()
    page.keyboard.press("Enter")


def audit_actions(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "parley.db") as db:
        rows = db.execute("SELECT actor, action, COALESCE(target, room) FROM audit_log ORDER BY id")
        return [(a, b, c) for a, b, c in rows]


def admin_page(chat: ChatPages, context: dict[str, object]) -> Page:
    page = chat.signed_in("alice", **context)
    page.goto(chat.base_url + "/admin")
    expect(page.locator("#admin")).to_be_visible()
    return page


def test_every_admin_operation_with_the_keyboard(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    expect_answers(chat)
    page = admin_page(chat, DESKTOP)
    bob = SyncChat(server.http_url, "bob")
    bob.command("create", room="plans")
    users = page.locator("#user-list")

    # Search, with the keyboard: the search field has the focus from the start.
    expect(page.locator("#user-query")).to_be_focused()
    page.keyboard.type("BO")
    page.keyboard.press("Enter")
    expect(users.locator(".admin-name")).to_have_text(["bob"])

    # Disable: bob is signed out; the focus moves to the button that undoes it.
    token = login(server.http_url, "bob")
    press(page, "Disable bob")
    expect(page.get_by_role("button", name="Enable bob")).to_be_focused()
    expect(users.locator(".admin-tag")).to_have_text(["disabled"])
    expect(page.locator("#admin-status")).to_have_text("bob is disabled and signed out everywhere.")
    assert http_json(f"{server.http_url}/api/me", token=token)[1] == {"user": None}
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Disable bob")).to_be_focused()

    # Make admin, and back.
    press(page, "Make bob an administrator")
    expect(page.get_by_role("button", name="Remove admin right of bob")).to_be_focused()
    expect(users.locator(".admin-tag")).to_have_text(["admin"])
    page.keyboard.press("Enter")
    expect(users.locator(".admin-tag")).to_have_count(0)

    # Reset the password: a weak one is refused in words, a good one works.
    press(page, "Reset the password of bob")
    field = page.get_by_label("New password for bob")
    expect(field).to_be_focused()
    page.keyboard.type("short")
    page.keyboard.press("Enter")
    expect(page.locator("#admin-error")).to_contain_text("at least")
    expect(field).to_be_focused()
    field.fill(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#admin-status")).to_have_text(
        "The password of bob was changed; their sessions were ended."
    )
    expect(page.locator("#admin-error")).to_be_hidden()
    login(server.http_url, "bob", NEW_PASSWORD)
    login(server.http_url, "bob", NEW_PASSWORD)

    # Sessions: both listed; end one.
    press(page, "Sessions of bob")
    ends = page.get_by_role("list", name="Sessions of bob").get_by_role("button")
    expect(ends).to_have_count(2)
    expect(ends.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(ends).to_have_count(1)

    # Rooms: archive, then delete, asked twice.
    rooms = page.locator("#room-list")
    page.locator("#room-query").focus()
    page.keyboard.type("pla")
    page.keyboard.press("Enter")
    expect(rooms.locator(".admin-name")).to_have_text(["plans"])
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, tmp_path, "admin-desktop", publish=True)  # the README's picture
    carol = SyncChat(server.http_url, "carol")
    carol.command("join", room="plans")
    press(page, "Change the owner of plans")
    owner = page.get_by_label("New owner of plans")
    expect(owner).to_be_focused()
    page.keyboard.type("carol")
    page.keyboard.press("Enter")
    expect(page.locator("#admin-status")).to_have_text("carol now owns plans.")
    expect(page.get_by_role("button", name="Change the owner of plans")).to_be_focused()
    press(page, "Archive plans")
    expect(page.get_by_role("button", name="Unarchive plans")).to_be_focused()
    expect(rooms.locator(".admin-tag").last).to_have_text("archived")
    press(page, "Delete plans")
    expect(
        page.get_by_role("button", name="Confirm deleting plans and its history")
    ).to_be_focused()
    page.keyboard.press("Enter")
    expect(rooms.locator(".admin-name")).to_have_count(0)
    expect(page.locator("#admin-status")).to_have_text("plans was deleted with its history.")

    # Registration mode and member invitations, stored by the server.
    page.locator("#registration-mode").select_option("invite")
    page.locator("#member-invites").focus()
    page.keyboard.press("Space")
    press(page, "Save settings")
    expect(page.locator("#admin-status")).to_have_text("Saved: registration is invite.")
    status, answer, _ = http_json(
        f"{server.http_url}/api/register", {"username": "zed", "password": PASSWORD}
    )
    assert (status, answer["error"]) == (403, "invite_required")

    # Live figures: the totals and one row per server process (here the only one), whose
    # region the keyboard reaches.
    expect(page.locator("#figure-connections")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#figure-messages")).to_have_text(re.compile(r"^\d+\.\d$"))
    expect(page.locator("#figure-latency")).to_have_text(re.compile(r"^(\d+\.\d\d ms|no commits)$"))
    expect(page.locator("#figure-nodes")).to_have_text("1")
    expect(page.locator("#figure-partial")).to_be_hidden()
    nodes = page.get_by_role("table", name="Per process")
    expect(nodes.locator("tbody tr")).to_have_count(1)
    expect(nodes.get_by_role("rowheader")).to_have_text(
        re.compile(rf":{server.port} \(this one\)$")
    )
    expect(nodes.locator("tbody td").first).to_have_text(re.compile(r"^\d+$"))
    page.get_by_role("region", name="Per process").focus()
    expect(page.get_by_role("region", name="Per process")).to_be_focused()

    # Invitations: create a link, see it listed, revoke it.
    page.locator("#invite-rooms").fill("lobby")
    press(page, "Create invitation link")
    link = page.locator("#invite-link")
    expect(link).to_be_focused()
    expect(link).to_have_value(re.compile(re.escape(server.http_url) + r"/\?invite=[\w-]{43}$"))
    invites = page.locator("#invite-list")
    expect(invites.locator(".admin-row")).to_have_count(1)
    expect(invites.locator(".admin-tag").first).to_have_text("valid")
    press(page, "Revoke invitation 1")
    expect(invites.locator(".admin-tag").first).to_have_text("revoked")
    status, answer, _ = http_json(
        f"{server.http_url}/api/invites/check", {"token": link.input_value().split("=")[-1]}
    )
    assert (status, answer["error"]) == (410, "invite_invalid")

    assert audit_actions(tmp_path) == [
        ("alice", "user.disable", "bob"),
        ("alice", "session.revoke", "bob"),
        ("alice", "user.enable", "bob"),
        ("alice", "user.make_admin", "bob"),
        ("alice", "user.drop_admin", "bob"),
        ("alice", "user.set_password", "bob"),
        ("alice", "session.revoke", "bob"),
        ("alice", "room.role", "carol"),
        ("alice", "room.role", "bob"),
        ("alice", "room.archive", "plans"),
        ("alice", "room.delete", "plans"),
        ("alice", "settings.change", None),
        ("alice", "settings.change", None),
        ("alice", "invite.create", None),
        ("alice", "invite.revoke", None),
    ]
    bob.close()
    carol.close()


def test_the_admin_page_at_phone_width_and_who_may_open_it(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    page = admin_page(chat, PHONE)
    register(server.http_url, "bob")
    page.locator("#user-search").get_by_role("button", name="Search").tap()
    expect(page.locator("#user-list .admin-name")).to_have_text(["alice", "bob"])
    # Nothing wider than the screen; every action can be reached and used.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Disable bob").tap()
    expect(page.get_by_role("button", name="Enable bob")).to_be_visible()
    # The per-process table fits the screen too.
    page.get_by_role("link", name="Server").tap()
    expect(page.get_by_role("table", name="Per process").get_by_role("rowheader")).to_have_text(
        re.compile(rf":{server.port} \(this one\)$")
    )
    table = page.get_by_role("region", name="Per process")
    assert table.evaluate("(node) => node.scrollWidth <= node.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="Invitations").tap()
    page.get_by_role("button", name="Create invitation link").tap()
    expect(page.locator("#invite-link")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    member = chat.signed_in("carol", **PHONE)
    member.goto(server.http_url + "/admin")
    expect(member.locator("#admin-refused")).to_have_text(
        "Only server administrators can use this page."
    )
    expect(member.locator("#admin")).to_be_hidden()
    visitor = chat.new(server.http_url + "/admin", **PHONE)
    expect(visitor.locator("#admin-refused")).to_have_text(
        "Sign in on the chat page first, then come back to /admin."
    )


@contextmanager
def shared_backends(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A PostgreSQL database and a private Redis of the test's own, as several processes
    need (``tests/cluster/conftest.py`` has the asynchronous kind); yields their URLs."""
    database = postgres_database()
    # Playwright's loop runs in this thread: the database's runs in another, kept open from
    # creating the database to dropping it.
    loop = asyncio.new_event_loop()
    with ThreadPoolExecutor(1) as thread:
        db_url = thread.submit(loop.run_until_complete, database.__aenter__()).result()
        redis = PrivateRedis(tmp_path)
        try:
            redis.start()
            yield db_url, redis.url
        finally:
            redis.kill()
            exit_ = database.__aexit__(None, None, None)
            thread.submit(loop.run_until_complete, exit_).result()
            thread.submit(loop.close).result()


def test_the_per_process_table_lists_every_process(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    """Two processes sharing PostgreSQL and Redis: the page served by one lists both, the
    other's connection included, and the totals add them up."""
    with shared_backends(tmp_path) as (db_url, broker):
        first, second = (
            server_factory("serve", "--db", db_url, "--broker", broker) for _ in range(2)
        )
        try:
            page = admin_page(open_chat(first), DESKTOP)
            bob = SyncChat(second.http_url, "bob")
            expect(page.locator("#figure-nodes")).to_have_text("2")
            table = page.get_by_role("table", name="Per process")
            expect(table.locator("tbody tr")).to_have_count(2)
            expect(table.locator("tbody tr", has_text=f":{first.port} (this one)")).to_have_count(1)
            other = table.locator("tbody tr", has_text=f":{second.port}")
            expect(other.get_by_role("rowheader")).not_to_contain_text("this one")
            expect(other.locator("td").first).to_have_text("1")  # bob's connection
            connections = [
                int(cell) for cell in table.locator("tbody td:nth-of-type(1)").all_inner_texts()
            ]
            expect(page.locator("#figure-connections")).to_have_text(str(sum(connections)))
            bob.close()
        finally:
            second.stop()  # before the database is dropped under their feet
            first.stop()


def test_users_and_rooms_come_a_page_at_a_time(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    """Both lists page by the last name shown: "More" fetches the next 100 and hides after a
    short page; a new search starts again from the first page; nothing found says so."""
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    chat = open_chat(server)
    page = admin_page(chat, DESKTOP)  # alice: the first account, an admin without room quota
    for n in range(101):
        register(server.http_url, f"u{n:03d}")
    alice = SyncChat(server.http_url, "alice", new=False)
    for n in range(100):
        alice.command("create", room=f"r-{n:03d}")

    for kind, prefix, total, last in (("user", "u", 102, "u100"), ("room", "r-", 101, "r-099")):
        names = page.locator(f"#{kind}-list .admin-name")
        more = page.get_by_role("button", name=f"More {kind}s")
        page.locator(f"#{kind}-query").focus()
        page.keyboard.press("Enter")  # the whole list again, now that it is long
        expect(names).to_have_count(100)
        more.focus()  # with the keyboard
        page.keyboard.press("Enter")
        expect(names).to_have_count(total)
        expect(names.last).to_have_text(last)
        expect(more).to_be_hidden()
        # The focus went to the first row "More" brought, not to the page's body.
        expect(page.locator(f"#{kind}-list li").nth(100).locator("button").first).to_be_focused()
        # A new search starts from its first page, with none of the previous rows.
        page.locator(f"#{kind}-query").fill(prefix.upper() + "05")
        page.keyboard.press("Enter")
        expect(names).to_have_text([f"{prefix}05{n}" for n in range(10)])
        expect(more).to_be_hidden()
        # Typed quickly, the first answer delayed to come last: only the last search's
        # answer is drawn, whatever order the answers come in.
        page.evaluate(
            f"""() => {{
                const real = window.fetch;
                window.fetch = async (url, ...rest) => {{
                    const answer = await real(url, ...rest);
                    if (new URL(url, location.href).searchParams.get("q") === "{prefix}")
                        await new Promise((done) => setTimeout(done, 700));
                    return answer;
                }};
                const form = document.getElementById("{kind}-search");
                const query = document.getElementById("{kind}-query");
                for (const typed of ["{prefix}", "{prefix}0", "{prefix}09"]) {{
                    query.value = typed;
                    form.requestSubmit();
                }}
            }}"""
        )
        expect(names).to_have_text([f"{prefix}09{n}" for n in range(10)])
        page.wait_for_timeout(1000)  # the delayed answer has come by now
        expect(names).to_have_text([f"{prefix}09{n}" for n in range(10)])
        page.locator(f"#{kind}-query").fill("%")  # a wildcard is a character like any other
        page.keyboard.press("Enter")
        expect(page.locator(f"#{kind}-list .admin-empty")).to_have_text(f"No {kind} matches.")
        expect(names).to_have_count(0)
    alice.close()


def invitation(server: ServerProcess, admin: str, **body: object) -> tuple[int, str]:
    status, made, _ = http_json(f"{server.http_url}/api/invites", dict(body), token=admin)
    assert status == 201, made
    return made["invite"]["id"], made["token"]


def test_a_new_person_registers_through_an_invitation_and_lands_in_its_rooms(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    server = server_factory("serve", "--registration", "invite")
    chat = open_chat(server)
    expect_answers(chat)
    admin = register_first_admin(server, tmp_path)
    owner = SyncChat(server.http_url, "alice", new=False)
    owner.command("create", room="projects", private=True)
    _, token = invitation(server, admin, rooms=["projects", "lobby"])

    page = chat.new(f"{server.http_url}/?invite={token}", **DESKTOP)
    lead = page.locator("#auth-lead")
    expect(lead).to_have_text(
        "alice invited you to create an account. You will join #projects, #lobby."
    )
    expect(page.locator("#auth-mode-register")).to_have_attribute("aria-pressed", "true")
    page.locator("#auth").get_by_label("User name").fill("dora")
    page.locator("#auth").get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#room-name")).to_contain_text("projects")
    assert "invite" not in page.url
    sidebar = page.locator("#sidebar")
    expect(sidebar.get_by_role("link", name="projects")).to_be_visible()
    expect(sidebar.get_by_role("link", name="lobby")).to_be_visible()

    # The same link again: used.
    again = chat.new(f"{server.http_url}/?invite={token}", **DESKTOP)
    expect(again.locator("#auth-error")).to_have_text("This invitation link was already used.")

    # Revoked.
    revoked_id, revoked = invitation(server, admin)
    http_json(f"{server.http_url}/api/admin/invites/revoke", {"id": revoked_id}, token=admin)
    page = chat.new(f"{server.http_url}/?invite={revoked}", **PHONE)
    expect(page.locator("#auth-error")).to_have_text("This invitation link was revoked.")
    # Trying anyway says why not: this server needs a (valid) invitation.
    page.locator("#auth").get_by_label("User name").fill("eve")
    page.locator("#auth").get_by_label("Password").fill(PASSWORD)
    page.locator("#auth-form").get_by_role("button", name="Create account").click()
    expect(page.locator("#auth-error")).to_have_text(
        "This server needs an invitation link to create an account."
    )

    # Expired (its end moved into the past in the database, as time would).
    expired_id, expired = invitation(server, admin)
    with sqlite3.connect(tmp_path / "parley.db") as db:
        db.execute("UPDATE invites SET expires_at = 1 WHERE id = ?", (expired_id,))
    page = chat.new(f"{server.http_url}/?invite={expired}", **DESKTOP)
    expect(page.locator("#auth-error")).to_have_text("This invitation link has expired.")
    # Garbage.
    page = chat.new(f"{server.http_url}/?invite=%3Cb%3Enot-a-token", **DESKTOP)
    expect(page.locator("#auth-error")).to_have_text(
        "This invitation link is not valid (check that it was copied whole)."
    )
    assert [a for _, a, _ in audit_actions(tmp_path)].count("invite.use") == 1
    owner.close()


def register_first_admin(server: ServerProcess, tmp_path: Path) -> str:
    """alice, the first account, made by the operator (registration is by invitation)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--db",
            str(tmp_path / "parley.db"),
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
    )
    return login(server.http_url, "alice")


def test_an_existing_user_joins_rooms_through_a_room_invitation(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    admin = register(server.http_url, "alice")
    owner = SyncChat(server.http_url, "alice", new=False)
    owner.command("create", room="secret", private=True)
    _, token = invitation(server, admin, kind="room", rooms=["secret"])
    page = chat.signed_in("bob", **DESKTOP)
    page.goto(f"{server.http_url}/?invite={token}")
    expect(page.locator("#room-name")).to_contain_text("secret")
    expect(page.locator("#toasts")).to_contain_text("You joined #secret.")
    assert "invite" not in page.url
    owner.close()
