"""Who may call and how much: API keys and tokens, rate limits, the request-body limit."""
