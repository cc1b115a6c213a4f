"""Every node's live figures, where every node can read them: the FigureBoard interface,
its implementations, and the figures each node publishes."""
