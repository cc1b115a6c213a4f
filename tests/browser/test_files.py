"""Files, images and profiles in the browser (docs/protocol.md, section 12): a pasted screenshot
with its progress, thumbnail and lightbox, seen live, after a reload and after a resume; a file
that is not an image as a card that downloads; the reasons an upload fails; a profile's avatar
and display name reaching another user's page live.

Every file is made here, in memory: PNGs by :func:`png` (no image library needed), other files
as bytes. Uploads are slowed down with the DevTools protocol's network throttling where a test
must see them in progress (never with a sleep).
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from collections.abc import Callable

import pytest
from playwright.sync_api import CDPSession, Locator, Page, expect

from tests.browser.chatpage import OpenChat, composer, message, messages, send
from tests.browser.test_chat_client import CONTRAST
from tests.helpers.process import ServerProcess

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def png(width: int, height: int, *, noise: bool = False) -> bytes:
    """A valid RGB PNG: a gradient, or (``noise``) bytes that do not compress, for a big file."""
    seed = 12345
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            if noise:
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                row += seed.to_bytes(4, "little")[:3]
            else:
                row += bytes(((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), 128))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


# Dispatch a paste of a file, as the clipboard gives a screenshot: a ClipboardEvent whose
# DataTransfer holds an image/png File named "image.png" (as Chromium names every one).
PASTE = """(box, data) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
  box.focus();
  const init = { clipboardData: transfer, bubbles: true, cancelable: true };
  box.dispatchEvent(new ClipboardEvent("paste", init));
}"""


def paste_png(page: Page, data: bytes) -> None:
    composer(page).evaluate(PASTE, base64.b64encode(data).decode())


# Drop a file on the timeline, as a file dragged from the desktop: dragenter, dragover, drop.
DROP = """(timeline, [name, type, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type }));
  for (const kind of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    timeline.dispatchEvent(new DragEvent(kind, init));
  }
}"""


def drop_file(page: Page, name: str, mime: str, text: str) -> None:
    page.locator("#timeline").evaluate(DROP, [name, mime, text])


def throttle(page: Page, bytes_per_second: int) -> CDPSession:
    """Slow down what the page sends (its uploads) to ``bytes_per_second``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return cdp


def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    """Choose a file with the composer's attach button (its file chooser)."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def chip(page: Page, name: str | re.Pattern[str]) -> Locator:
    return page.locator("#attachments .attachment").filter(has_text=name)


def loaded(image: Locator) -> None:
    """The image was fetched and decoded (it is not a broken image)."""
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_pasted_screenshot_shows_progress_a_thumbnail_and_a_lightbox_live_after_reload_and_resume(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = chat.signed_in("bob", viewport=PHONE)

    # A screenshot pasted into the composer, sent slowly: its chip shows the progress.
    screenshot = png(400, 300, noise=True)  # ~360 kB: a few seconds at 100 kB/s
    cdp = throttle(alice, 100_000)
    paste_png(alice, screenshot)
    pasted = chip(alice, re.compile(r"^Pasted image"))
    expect(pasted.locator("progress")).to_be_visible()
    expect(pasted.locator(".attachment-meta")).to_have_text(
        re.compile(r"^Uploading… [1-9]\d*% of 3\d\d kB$")
    )
    expect(
        pasted.get_by_role("button", name=re.compile(r"^Cancel the upload of Pasted image"))
    ).to_be_visible()
    # Done: the chip shows the server's thumbnail and the size; the progress bar is gone.
    expect(pasted.locator("progress")).to_have_count(0)
    loaded(pasted.locator("img.attachment-preview"))
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    composer(alice).press("Enter")  # files alone, no text
    expect(alice.locator("#attachments")).to_be_hidden()

    # In alice's timeline and, live, in bob's: a thumbnail whose box has the thumbnail's size.
    for page in (alice, bob):
        thumb = page.locator("#messages .msg .file-thumb img")
        expect(thumb).to_have_count(1)
        expect(thumb).to_have_attribute("width", "320")
        expect(thumb).to_have_attribute("height", "240")
        loaded(thumb)
    expect(alice.locator("#messages .msg .text")).to_have_count(0)  # no empty text line

    # The lightbox, by keyboard: Enter opens it, the focus is inside, Escape closes it and the
    # focus is back on the thumbnail.
    button = alice.locator("#messages .file-thumb")
    button.focus()
    button.press("Enter")
    box = alice.locator("#lightbox")
    expect(box).to_be_visible()
    full = box.locator("img.lightbox-image")
    expect(full).to_have_attribute("src", re.compile(r"^/files/[A-Za-z0-9_-]{22}/Pasted%20image"))
    loaded(full)
    assert full.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [400, 300]
    expect(box.locator(".lightbox-caption")).to_have_text(
        re.compile(r"^Pasted image .*\.png · \d+(\.\d)? kB$")
    )
    assert box.evaluate("d => d.contains(document.activeElement)")
    alice.keyboard.press("Tab")
    alice.keyboard.press("Tab")
    assert box.evaluate("d => d.contains(document.activeElement)")  # the page behind is inert
    alice.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(button).to_be_focused()

    # After a reload (history) bob still sees it, and opens it with a tap.
    bob.reload()
    thumb = bob.locator("#messages .file-thumb img")
    loaded(thumb)
    bob.locator("#messages .file-thumb").click()
    expect(bob.locator("#lightbox")).to_be_visible()
    bob.locator("#lightbox").get_by_role("button", name="Close").click()
    expect(bob.locator("#lightbox")).to_be_hidden()

    # bob is away while alice sends a second image with a caption: the resumed stream brings it,
    # and the lightbox steps from one image to the other with the arrow keys.
    bob.context.set_offline(True)
    expect(bob.locator("#banner")).to_contain_text("offline")
    paste_png(alice, png(64, 48))
    expect(
        chip(alice, re.compile(r"^Pasted image")).locator("img.attachment-preview")
    ).to_be_visible()
    send(alice, "a small one")
    expect(message(alice, "a small one").locator(".file-thumb img")).to_have_attribute(
        "width", "64"
    )
    bob.context.set_offline(False)
    expect(bob.locator("#banner")).to_be_hidden()
    small = message(bob, "a small one").locator(".file-thumb")
    loaded(small.locator("img"))
    small.click()
    lightbox = bob.locator("#lightbox")
    expect(lightbox.locator(".lightbox-position")).to_have_text("2 of 2")
    bob.keyboard.press("ArrowLeft")
    expect(lightbox.locator(".lightbox-position")).to_have_text("1 of 2")
    expect(lightbox.locator("img.lightbox-image")).to_have_attribute("width", "400")
    bob.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()


def test_cancelled_uploads_are_gone_and_sending_waits_for_uploads(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    throttle(alice, 20_000)  # 360 kB each: long enough to act while they go
    # Four at once: three go, the fourth waits its turn (the server takes four per user).
    for _ in range(4):
        paste_png(alice, png(400, 300, noise=True))
    chips = alice.locator("#attachments .attachment")
    expect(chips).to_have_count(4)
    expect(chips.locator("progress")).to_have_count(4)
    waiting = chips.filter(has_text="Waiting to upload…")
    expect(waiting).to_have_count(1)
    # Enter while they upload sends nothing and says why.
    box = composer(alice)
    box.fill("with the pictures")
    box.press("Enter")
    expect(alice.locator("#attach-status")).to_have_text(
        "A file is still uploading: send when it is done, or cancel it."
    )
    expect(box).to_have_value("with the pictures")
    expect(alice.locator("#pending .msg")).to_have_count(0)
    # Cancel the waiting one, then the others, from the keyboard: each chip goes, and the
    # keyboard is back in the composer.
    for left in (3, 2, 1, 0):
        target = waiting if left == 3 else chips.first
        cancel = target.get_by_role(
            "button", name=re.compile(r"^Cancel the upload of Pasted image")
        )
        cancel.focus()
        cancel.press("Enter")
        expect(chips).to_have_count(left)
        expect(box).to_be_focused()
    box.press("Enter")
    expect(messages(alice)).to_have_text(["with the pictures"])
    expect(message(alice, "with the pictures").locator(".msg-files")).to_have_count(0)


def test_a_file_that_is_not_an_image_is_a_card_that_downloads(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = chat.signed_in("bob", viewport=PHONE)
    notes = "Meeting notes\nline two, café\n".encode()
    fake = b"<html><script>alert(1)</script></html>"
    sizes = f"{len(notes)} bytes", f"{len(fake)} bytes"
    attach(alice, "notes.txt", "text/plain", notes)
    expect(chip(alice, "notes.txt").locator(".attachment-meta")).to_have_text(sizes[0])
    # HTML named .png: the server finds it is text, so it is a card, never an image.
    attach(alice, "fake.png", "image/png", fake)
    expect(chip(alice, "fake.png").locator(".attachment-meta")).to_have_text(sizes[1])
    # Remove one, keep the other; the same file again, dropped on the room this time.
    chip(alice, "fake.png").get_by_role("button", name="Remove fake.png").click()
    expect(chip(alice, "fake.png")).to_have_count(0)
    drop_file(alice, "fake.png", "image/png", fake.decode())
    expect(chip(alice, "fake.png").locator(".attachment-meta")).to_have_text(sizes[1])
    expect(alice.locator("#attachments .attachment")).to_have_count(2)
    send(alice, "two files")

    for page in (alice, bob):
        cards = message(page, "two files").locator(".file-card")
        expect(cards).to_have_count(2)
        expect(cards.locator(".file-name")).to_have_text(["notes.txt", "fake.png"])
        expect(cards.locator(".file-meta")).to_have_text([f"Text · {size}" for size in sizes])
        expect(message(page, "two files").locator(".file-thumb")).to_have_count(0)
    card = message(bob, "two files").get_by_role(
        "link", name=f"Download notes.txt, Text, {sizes[0]}"
    )
    with bob.expect_download() as download:
        card.click()
    assert download.value.suggested_filename == "notes.txt"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == notes

    # alice deletes the message: its files go from bob's page with it.
    sent = message(alice, "two files")
    sent.hover()
    sent.get_by_role("button", name="Delete message").click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(bob.locator("#messages .msg .text")).to_have_text(["This message was deleted."])
    expect(bob.locator("#messages .file-card")).to_have_count(0)


def test_an_upload_that_fails_says_why(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve", "--max-upload", "100000", "--upload-quota", "50000")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=PHONE)
    attach(alice, "big.png", "image/png", png(400, 300, noise=True))
    failed = chip(alice, "big.png")
    expect(failed).to_have_class(re.compile(r"\bis-failed\b"))
    expect(failed.locator(".attachment-meta")).to_have_text(re.compile(r"^The file is too large"))
    expect(alice.locator("#attach-status")).to_have_text(
        re.compile(r"^big\.png: The file is too large")
    )
    # A failed file is not sent: the message goes without it, the chip stays until removed.
    send(alice, "no file")
    expect(messages(alice)).to_have_text(["no file"])
    expect(message(alice, "no file").locator(".msg-files")).to_have_count(0)
    expect(failed).to_be_visible()
    failed.get_by_role("button", name="Remove big.png").click()
    expect(alice.locator("#attachments")).to_be_hidden()
    # An empty file: the server's refusal is shown too.
    attach(alice, "empty.txt", "text/plain", b"")
    expect(chip(alice, "empty.txt").locator(".attachment-meta")).to_have_text(
        re.compile(r"^The server refused the file")
    )
    # Under the upload limit but over what is left of the quota.
    attach(alice, "sixty.bin", "application/octet-stream", bytes(60_000))
    expect(chip(alice, "sixty.bin").locator(".attachment-meta")).to_have_text(
        re.compile(r"^This file would go over your storage quota")
    )
    # No network.
    alice.context.set_offline(True)
    attach(alice, "offline.txt", "text/plain", b"written on a train")
    expect(chip(alice, "offline.txt").locator(".attachment-meta")).to_have_text(
        "The connection to the server failed."
    )
    alice.context.set_offline(False)
    expect(alice.locator("#banner")).to_be_hidden()
    # Each failed file stays, with its reason, until removed; what succeeds still goes.
    expect(alice.locator("#attachments .attachment.is-failed")).to_have_count(3)
    attach(alice, "small.txt", "text/plain", b"fits")
    expect(chip(alice, "small.txt").locator(".attachment-meta")).to_have_text("4 bytes")
    send(alice, "the small one")
    expect(message(alice, "the small one").locator(".file-name")).to_have_text("small.txt")
    expect(alice.locator("#attachments .attachment.is-failed")).to_have_count(3)


def test_an_avatar_and_display_name_change_shows_in_another_users_page(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat
) -> None:
    server = server_factory("serve")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP)
    bob = chat.signed_in("bob", viewport=DESKTOP)
    send(bob, "hello from bob")
    expect(message(alice, "hello from bob").locator(".author")).to_have_text("bob")
    expect(message(alice, "hello from bob").locator(".avatar")).to_have_text("B")  # initials

    # bob opens his profile (the button with his name), picks a wide picture: the preview is
    # the server's square crop of it.
    bob.locator("#edit-profile").click()
    dialog = bob.locator("#profile-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Display name")).to_be_focused()
    # Not an image: refused, with the reason.
    with bob.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Choose a picture…").click()
    chooser.value.set_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": b"not a picture"}]
    )
    expect(dialog.locator("#profile-picture-error")).to_have_text(
        re.compile(r"^This is not an image that can be used")
    )
    with bob.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Choose a picture…").click()
    chooser.value.set_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": png(300, 150)}]
    )
    preview = dialog.locator(".profile-preview img")
    loaded(preview)
    assert preview.evaluate("img => img.naturalWidth === img.naturalHeight")
    # A name that would reorder what is around it is refused, next to the field.
    dialog.get_by_label("Display name").fill("Bob\u202eyppah")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#profile-name-error")).to_contain_text("U+202E")
    expect(dialog.get_by_label("Display name")).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Display name").fill("  Bobby Tables  ")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # alice's page follows at once: the message, the member list; bob's own sidebar too.
    said = message(alice, "hello from bob")
    expect(said.locator(".author")).to_have_text("Bobby Tables")
    expect(said.locator(".handle")).to_have_text("@bob")
    loaded(said.locator(".avatar img"))
    member = alice.locator('#member-list [data-user="bob"]')
    expect(member.locator(".member-name")).to_have_text("Bobby Tables")
    expect(member.locator(".handle")).to_have_text("@bob")
    loaded(member.locator(".avatar img"))
    expect(bob.locator("#me-name")).to_have_text("Bobby Tables")
    loaded(bob.locator("#me-avatar img"))
    # In a direct room: the sidebar entry has his picture.
    alice.locator("#new-dm").click()
    alice.locator("#dm-user").fill("bob")
    alice.locator("#dm-form").get_by_role("button", name="Open").click()
    loaded(alice.locator("#dm-list .dm-avatar img"))
    # After a reload, from the server (welcome and who).
    alice.reload()
    expect(alice.locator("#room-name")).to_contain_text("bob")
    loaded(alice.locator("#dm-list .dm-avatar img"))
    expect(alice.locator('#member-list [data-user="bob"] .member-name')).to_have_text(
        "Bobby Tables"
    )

    # The picture removed and the name cleared: initials and the user name come back, live.
    bob.locator("#edit-profile").click()
    dialog.get_by_role("button", name="Remove picture").click()
    dialog.get_by_label("Display name").fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(alice.locator('#member-list [data-user="bob"] .member-name')).to_have_text("bob")
    expect(alice.locator('#member-list [data-user="bob"] .avatar img')).to_have_count(0)
    expect(alice.locator('#member-list [data-user="bob"] .avatar')).to_have_text("B")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_file_cards_chips_and_names_meet_wcag_aa_contrast_in_both_themes(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, scheme: str
) -> None:
    server = server_factory("serve", "--max-upload", "1000")
    chat = open_chat(server)
    alice = chat.signed_in("alice", viewport=DESKTOP, color_scheme=scheme)
    alice.locator("#edit-profile").click()
    alice.get_by_label("Display name").fill("Alice Liddell")
    alice.locator("#profile-dialog").get_by_role("button", name="Save").click()
    expect(alice.locator("#profile-dialog")).to_be_hidden()
    attach(alice, "notes.txt", "text/plain", b"notes")
    expect(chip(alice, "notes.txt").locator(".attachment-meta")).to_have_text("5 bytes")
    send(alice, "the notes")
    attach(alice, "ready.txt", "text/plain", b"ready")
    attach(alice, "big.bin", "application/octet-stream", bytes(2000))
    expect(chip(alice, "big.bin")).to_have_class(re.compile(r"\bis-failed\b"))
    expect(chip(alice, "ready.txt").locator(".attachment-meta")).to_have_text("5 bytes")
    ours = [".file-name", ".file-meta", ".file-download", ".msg .handle", ".member .handle",
            ".attachment-name", ".attachment:not(.is-failed) .attachment-meta",
            ".attachment-error"]  # fmt: skip
    ratios = dict(alice.evaluate(CONTRAST, ours))
    assert all(ratios[selector] > 0 for selector in ours), ratios  # each one was found
    low = [(selector, round(ratios[selector], 2)) for selector in ours if ratios[selector] < 4.5]
    assert low == [], low
