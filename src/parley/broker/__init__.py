"""Fan-out between server processes: the Broker interface and its implementations."""
