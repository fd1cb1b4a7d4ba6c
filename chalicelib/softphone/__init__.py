"""The rep's calls from the browser: outbound, call control, transfer, access tokens, wrap-up."""
