"""Files people send: what they are (``sniff.py``), images made safe to show and their
thumbnails (``images.py``), where the bytes live (``blobs.py`` and its two stores), and the
collector that removes what nothing refers to (``collector.py``). The HTTP side is
``server/uploads.py`` and ``server/files.py``; the rows are ``store/sql/file_ops.py``."""
