"""The PrivyLoop agent: a LangGraph graph over the user's privacy state and the platforms' policies."""
