"""LLM routing over OpenAI-compatible providers, and the features built on it.

``LLMRouter`` (router), ``LLMSettings`` (settings), the error hierarchy (errors), metrics and
usage (metrics), the market brief (brief) and signal explanations (explain). Import from the
submodules: this package imports nothing eagerly, so the realtime service can count LLM usage
without loading the openai client until an explanation is first asked for.
"""
