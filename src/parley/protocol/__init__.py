"""The parley.v1 chat protocol without I/O: messages, codec, errors, name rules."""
