"""The MemGPT agent: core memory, the functions it calls, its prompt and the loop (``memgpt run``)."""
