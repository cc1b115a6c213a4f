"""Search: the query language (:mod:`.query`) and highlights (:mod:`.highlight`). No I/O: the
stores run the searches (``store/sql/search.py``), the chat layer answers ``search``."""
