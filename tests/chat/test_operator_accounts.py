"""The operator's account actions (``parley user disable|enable|set-password``, later an admin
page) as ``Accounts`` methods: the rules live there, not in whatever calls them."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.backends import open_store
from parley.chat.auth import AccountError, Accounts, HashCost
from tests.helpers.chat import PASSWORD


async def test_operator_rules_end_sessions(tmp_path: Path) -> None:
    """The rules `parley user` applies (and an admin page will): a new password is checked and
    ends the account's sessions; disabling ends them too; an unknown name is `not_found`."""
    store = open_store(tmp_path / "parley.db")
    await store.start()
    try:
        accounts = Accounts(store, cost=HashCost(time_cost=1, memory_kib=8192))
        await accounts.create_user("erin", PASSWORD)
        _, token = await accounts.login("erin", PASSWORD)
        with pytest.raises(AccountError) as weak:
            await accounts.set_password("erin", "erin's password")
        assert weak.value.code == "weak_password"
        assert await accounts.authenticate(token) is not None  # a refused change changes nothing

        assert (await accounts.set_password("ERIN", "a new passphrase")).name == "erin"
        assert await accounts.authenticate(token) is None
        with pytest.raises(AccountError, match="wrong user name or password"):
            await accounts.login("erin", PASSWORD)
        _, token = await accounts.login("erin", "a new passphrase")

        assert (await accounts.set_disabled("erin", True)).disabled
        assert await accounts.authenticate(token) is None
        with pytest.raises(AccountError, match="disabled"):
            await accounts.login("erin", "a new passphrase")
        assert not (await accounts.set_disabled("erin", False)).disabled
        await accounts.login("erin", "a new passphrase")

        with pytest.raises(AccountError) as missing:
            await accounts.set_disabled("nobody", True)
        assert missing.value.code == "not_found"
        assert missing.value.message == "no user named 'nobody'"
        with pytest.raises(AccountError) as missing:
            await accounts.set_password("nobody", "a new passphrase")
        assert missing.value.code == "not_found"
    finally:
        await store.close()
