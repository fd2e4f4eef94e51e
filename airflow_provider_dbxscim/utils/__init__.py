"""Helpers shared by the synchronous hook and the asynchronous client: retry policy, rate limits, masking."""
