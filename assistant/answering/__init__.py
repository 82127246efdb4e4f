"""Answering: a question in, a checked and cited `Answer` out (retrieval, prompting,
grounding, responsiveness, verification, and the `Assistant` that runs them)."""
