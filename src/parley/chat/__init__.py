"""The chat application: sessions, rooms, fan-out. No sockets or HTTP here."""
