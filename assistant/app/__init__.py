"""The front ends: the command line, the chat UI and the Markdown export; they display what
the core returns."""
