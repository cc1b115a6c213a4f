"""Email for missed mentions and direct messages (``--smtp-url``): what is due comes from the
store (:meth:`~parley.store.base.Store.claim_emails`), ``compose.py`` writes the email (no
I/O), ``smtp.py`` says where and how to send it, ``mailer.py`` runs the loop."""
