"""Line input and output for the terminal client, in a terminal or in a pipe.

In a terminal, :class:`TerminalConsole` reads with prompt_toolkit: lines printed while the user
types appear above the prompt and the half-typed line stays intact, and Tab completes. When
standard input or output is not a terminal (``parley connect --raw ws://... < lines.txt``),
:class:`PipeConsole` reads plain lines and prints plain lines, so the same modes work in
scripts.

Text that came from the network is passed through :func:`safe` before it reaches a terminal:
a message must not be able to move the cursor, retitle the window, clear the screen or write
the clipboard (OSC 52). Whether a stream is a terminal is decided for each stream, in every
mode: ``parley connect --raw < lines.txt`` still prints to a terminal, and so may standard
error while standard output is a pipe (:func:`for_terminal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Protocol

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.completion import Completer
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from parley.client.sanitize import for_terminal, safe


class Console(Protocol):
    def write(self, text: str, style: str = "") -> None:
        """Print one line (or several, joined by newlines)."""

    def note(self, text: str) -> None:
        """Print a remark of the client itself (dimmed in a terminal, on stderr in a pipe)."""

    async def read_line(self, prompt: str) -> str | None:
        """The next line typed, or ``None`` at end of input (Ctrl-D, Ctrl-C, EOF)."""

    def interrupt(self) -> None:
        """Make a pending :meth:`read_line` return ``None`` (the connection is gone)."""

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Wrap the whole session (prompt_toolkit redirects stray prints above the prompt)."""


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


class TerminalConsole:
    """prompt_toolkit: output above the prompt, history, completion."""

    def __init__(self, completer: Completer | None = None) -> None:
        self._prompt: PromptSession[str] = PromptSession(
            history=InMemoryHistory(),
            completer=completer,
            complete_while_typing=False,
        )
        self._interrupted = False

    def write(self, text: str, style: str = "") -> None:
        print_formatted_text(FormattedText([(style, safe(text))]))

    def note(self, text: str) -> None:
        self.write(text, "ansibrightblack")

    async def read_line(self, prompt: str) -> str | None:
        if self._interrupted:
            return None
        try:
            return await self._prompt.prompt_async(prompt)
        except (EOFError, KeyboardInterrupt):
            return None

    def interrupt(self) -> None:
        self._interrupted = True
        app = self._prompt.app
        if app.is_running and not app.future.done():  # type: ignore[union-attr]
            app.exit(exception=EOFError())

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with patch_stdout(raw=True):
            yield


class PipeConsole:
    """Plain lines: standard input read by a daemon thread (so that exiting never waits for
    a blocked read), output on standard output, remarks on standard error."""

    def __init__(self) -> None:
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._started = False
        self._out = for_terminal(sys.stdout)
        self._err = for_terminal(sys.stderr)

    def _start(self) -> None:
        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self._lines.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(self._lines.put_nowait, None)

        threading.Thread(target=pump, name="parley-stdin", daemon=True).start()
        self._started = True

    def write(self, text: str, style: str = "") -> None:
        print(self._out(text), flush=True)

    def note(self, text: str) -> None:
        print(self._err(text), file=sys.stderr, flush=True)

    async def read_line(self, prompt: str) -> str | None:
        if not self._started:
            self._start()
        line = await self._lines.get()
        if line is None:
            self._lines.put_nowait(None)
        return line

    def interrupt(self) -> None:
        self._lines.put_nowait(None)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        yield
