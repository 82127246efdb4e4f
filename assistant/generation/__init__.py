"""Generation: the models (the catalogue that fetches and verifies them, llama.cpp in-
process, an OpenAI-compatible server)."""
