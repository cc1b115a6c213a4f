"""Who is online: the Presence interface and its implementations."""
