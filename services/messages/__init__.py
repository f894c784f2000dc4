"""The user's side of outbound messages: inbox, notification preferences, subscribe consents."""
