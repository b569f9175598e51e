"""Plain keyword-only functions on a session. Never import reflex here."""
