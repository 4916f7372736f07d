"""LLM providers: plugins that answer chat completions with tool calls, for the agent loop."""
