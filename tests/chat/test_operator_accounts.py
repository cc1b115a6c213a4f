"""The operator's account actions (``parley user disable|enable|set-password``) go through
``ServerAdmin`` as the admin page does: the rules live there, not in whatever calls them. And a
sign-in that upgrades a password's hash to today's cost signs nobody out."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.backends import open_store
from parley.chat.admin import ServerAdmin
from parley.chat.auth import AccountError, Accounts, HashCost
from parley.model import OPERATOR, AuditFilter
from tests.helpers.chat import PASSWORD

CHEAP = HashCost(time_cost=1, memory_kib=8192)


async def test_operator_rules_end_sessions(tmp_path: Path) -> None:
    """The rules `parley user` applies, as the admin page does: a new password is checked and
    ends the account's sessions; disabling ends them too; an unknown name is `not_found`."""
    store = open_store(tmp_path / "parley.db")
    await store.start()
    try:
        accounts = Accounts(store, cost=CHEAP)
        admin = ServerAdmin(accounts)
        await accounts.create_user("erin", PASSWORD)
        _, token = await accounts.login("erin", PASSWORD)
        with pytest.raises(AccountError) as weak:
            await admin.reset_password("erin", "erin's password", OPERATOR)
        assert weak.value.code == "weak_password"
        assert await accounts.authenticate(token) is not None  # a refused change changes nothing

        assert (await admin.reset_password("ERIN", "a new passphrase", OPERATOR)).name == "erin"
        assert await accounts.authenticate(token) is None
        with pytest.raises(AccountError, match="wrong user name or password"):
            await accounts.login("erin", PASSWORD)
        _, token = await accounts.login("erin", "a new passphrase")

        assert (await admin.set_disabled("erin", True, OPERATOR)).disabled
        assert await accounts.authenticate(token) is None
        with pytest.raises(AccountError, match="disabled"):
            await accounts.login("erin", "a new passphrase")
        assert not (await admin.set_disabled("erin", False, OPERATOR)).disabled
        await accounts.login("erin", "a new passphrase")

        with pytest.raises(AccountError) as missing:
            await admin.set_disabled("nobody", True, OPERATOR)
        assert missing.value.code == "not_found"
        assert missing.value.message == "no user named 'nobody'"
        with pytest.raises(AccountError) as missing:
            await admin.reset_password("nobody", "a new passphrase", OPERATOR)
        assert missing.value.code == "not_found"
        actions = [e.action for e in reversed(await store.audit_log(AuditFilter(limit=20)))]
        assert actions == [
            "user.set_password",
            "session.revoke",
            "user.disable",
            "session.revoke",
            "user.enable",
        ]
    finally:
        await store.close()


async def test_a_sign_in_that_upgrades_the_hash_keeps_the_sessions(tmp_path: Path) -> None:
    store = open_store(tmp_path / "parley.db")
    await store.start()
    try:
        old = Accounts(store, cost=CHEAP)
        await old.create_user("erin", PASSWORD)
        _, first = await old.login("erin", PASSWORD)
        before = await store.get_user("erin")
        assert before is not None
        # The server restarted with a higher cost: the next sign-in rehashes the password.
        new = Accounts(store, cost=HashCost(time_cost=2, memory_kib=8192))
        _, second = await new.login("erin", PASSWORD)
        after = await store.get_user("erin")
        assert after is not None
        assert after.password_hash != before.password_hash
        assert after.password_hash.startswith("$argon2id$v=19$m=8192,t=2,")
        assert await new.authenticate(first) is not None  # nobody was signed out
        assert await new.authenticate(second) is not None
        await new.login("erin", PASSWORD)  # the new hash holds the same password
        assert await store.audit_log(AuditFilter(limit=20)) == []
    finally:
        await store.close()
